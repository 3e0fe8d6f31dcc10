package io.rafka.server;

import io.grpc.Channel;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.NewTopic;
import io.rafka.server.testing.BrokerCluster;
import io.rafka.server.testing.PipelinedProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An idempotent producer pipelining five requests over {@code ProduceStream} (acks=all) while the partition's
 * leader broker crashes: the batches in flight to it are re-sent, in order, on a stream to the new leader, as a
 * Kafka producer re-sends them. Every request must be answered within the request timeout, every batch
 * acknowledged once, and the partition must hold each batch exactly once, in sequence order (issue 12 point 8;
 * {@code IdempotentProcessFailoverIT} does the same with broker processes and kill -9).
 */
class IdempotentStreamFailoverIT {
    private static final String TOPIC = "idem-stream";
    private static final long REQUEST_TIMEOUT_MS = 5_000;
    private static final int KILLS = Integer.getInteger("idem.kills", 3);
    private static final int BATCHES_PER_ROUND = 30;

    @TempDir
    Path tmp;

    @Test
    void pipelinedStreamProducerSurvivesLeaderCrashes() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false",
                "request.timeout.ms", Long.toString(REQUEST_TIMEOUT_MS)))) {
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                    NewTopic.newBuilder().setName(TOPIC).setPartitions(1).setReplicationFactor(3)).build()).getResults(0).getErrorCode());
            PipelinedProducer producer = new PipelinedProducer(inProcess(cluster), TOPIC, 9001, 5, 2 * REQUEST_TIMEOUT_MS);
            producer.produceUntil(BATCHES_PER_ROUND, -1);
            for (int kill = 0; kill < KILLS; kill++) {
                int leader = producer.leader(30_000);
                producer.produceUntil(producer.acked().size() + BATCHES_PER_ROUND, leader);
                if (!cluster.isUp(leader)) {
                    cluster.restart(leader);
                }
                producer.produceUntil(producer.acked().size() + BATCHES_PER_ROUND, -1);
            }
            producer.assertLogHoldsExactlyTheAcknowledged(cluster.channel(producer.leader(30_000)));
            assertTrue(producer.crashes() >= 1, "no leader was killed");
        }
    }

    private static PipelinedProducer.Brokers inProcess(BrokerCluster cluster) {
        TopicPartition tp = new TopicPartition(TOPIC, 0);
        return new PipelinedProducer.Brokers() {
            @Override
            public int size() {
                return cluster.size();
            }

            @Override
            public boolean isUp(int broker) {
                return cluster.isUp(broker);
            }

            @Override
            public int leader() {
                for (int i = 0; i < cluster.size(); i++) {
                    try {
                        if (cluster.isUp(i) && cluster.broker(i).raftNode().status(tp).isLeader()) {
                            return i;
                        }
                    } catch (RuntimeException e) {
                        // starting or stopping
                    }
                }
                return -1;
            }

            @Override
            public Channel channel(int broker) {
                return cluster.channel(broker);
            }

            @Override
            public void kill(int broker) throws Exception {
                cluster.kill(broker);
            }
        };
    }
}
