package io.rafka.server;

import com.google.protobuf.ByteString;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordSet;
import io.rafka.raft.PartitionStatus;
import io.rafka.raft.RaftNode;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Issue 12 point 4: a broker whose whole data folder was wiped (metadata and partitions) comes back, re-creates
 * the replicas assigned to it and fills them from their leaders within seconds, with no operator action.
 * Before {@code StalledFollowerWatch} its replicas stayed empty for as long as their leaders led (Ratis keeps a
 * follower's match index for the whole term and never sends below it); in the issue they filled only "right
 * after another broker restarted", i.e. after leader changes.
 */
class WipedBrokerIT {
    private static final String TOPIC = "wiped";
    private static final int PARTITIONS = 6;

    @TempDir
    Path tmp;

    @Test
    void aWipedBrokerRefillsItsReplicas() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false"))) {
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
                    .setName(TOPIC).setPartitions(PARTITIONS).setReplicationFactor(3)).build()).getResults(0).getErrorCode());
            List<Integer> leaders = cluster.awaitLeaders(0, TOPIC, 30_000);
            for (int i = 0; i < 600; i++) {
                int p = i % PARTITIONS;
                cluster.produce(leaders.get(p)).produce(ProduceRequest.newBuilder().addPartitions(PartitionData.newBuilder()
                        .setTopic(TOPIC).setPartition(p).setRecords(RecordSet.newBuilder().addRecords(ProducerRecord.newBuilder()
                                .setValue(ByteString.copyFrom(new byte[1000]))))).build());
            }
            cluster.stop(1);
            deleteTree(tmp.resolve("broker-2"));
            long start = System.nanoTime();
            cluster.restart(1);
            long up = System.nanoTime();
            // Generous for a loaded machine: 5 s until the stall is recognised, then a leader change and the copy.
            cluster.awaitTrue(() -> caughtUp(cluster), 60_000, "wiped broker refilled");
            org.slf4j.LoggerFactory.getLogger(WipedBrokerIT.class).info("restart took {} ms; refilled {} ms after the restart returned",
                    (up - start) / 1_000_000, (System.nanoTime() - up) / 1_000_000);
            for (int p = 0; p < PARTITIONS; p++) {
                TopicPartition tp = new TopicPartition(TOPIC, p);
                assertEquals(cluster.broker(0).raftNode().read(tp, 0, Integer.MAX_VALUE).records(),
                        cluster.broker(1).raftNode().read(tp, 0, Integer.MAX_VALUE).records(), "partition " + p + " byte-identical");
            }
        }
    }

    private static boolean caughtUp(BrokerCluster cluster) {
        RaftNode wiped = cluster.broker(1).raftNode();
        RaftNode other = cluster.broker(0).raftNode();
        for (int p = 0; p < PARTITIONS; p++) {
            TopicPartition tp = new TopicPartition(TOPIC, p);
            try {
                PartitionStatus s = wiped.status(tp);
                if (s.highWatermark() != other.status(tp).highWatermark() || s.highWatermark() != 100) {
                    return false;
                }
            } catch (RuntimeException e) {
                return false;
            }
        }
        return true;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
