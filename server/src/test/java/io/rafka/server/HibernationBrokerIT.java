package io.rafka.server;

import com.google.protobuf.ByteString;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.ConsumerRecord;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.CreateTopicsResponse;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchResponse;
import io.rafka.proto.v1.ListOffsetsRequest;
import io.rafka.proto.v1.MetadataRequest;
import io.rafka.proto.v1.MetadataResponse;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.PartitionMetadata;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.PartitionTimestamp;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.proto.v1.RecordSet;
import io.rafka.raft.PartitionStatus;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hibernation as clients see it, over gRPC on three in-process brokers with a 1 s idle threshold: a new topic
 * has leaders to send to at once although no Raft group runs; the first produce wakes it; once idle every
 * replica hibernates and still serves fetch and list offsets; a long-poll on a hibernated partition returns the
 * record a produce wakes it with (after a NOT_LEADER redirect, as a client follows it); metrics count it all.
 */
class HibernationBrokerIT {
    @TempDir
    Path tmp;

    private static PartitionProduceResult produce(BrokerCluster cluster, int via, String topic, int partition, String value) {
        return cluster.produce(via).produce(ProduceRequest.newBuilder().setAcks(Acks.ACKS_ALL)
                .addPartitions(PartitionData.newBuilder().setTopic(topic).setPartition(partition)
                        .setRecords(RecordSet.newBuilder().addRecords(ProducerRecord.newBuilder()
                                .setValue(ByteString.copyFromUtf8(value))))).build()).getResults(0);
    }

    private static String leaderOf(BrokerCluster cluster, int asking, String topic, int partition) {
        MetadataResponse md = cluster.metadata(asking).getMetadata(MetadataRequest.newBuilder().addTopics(topic).build());
        PartitionMetadata p = md.getTopics(0).getPartitions(partition);
        return p.getLeaderId();
    }

    /** Produces through whichever broker metadata names, following NOT_LEADER as a client does. */
    private static PartitionProduceResult produceAsAClient(BrokerCluster cluster, String topic, int partition, String value) {
        long deadline = System.currentTimeMillis() + 30_000;
        while (true) {
            int via = BrokerCluster.indexOf(leaderOf(cluster, 0, topic, partition));
            PartitionProduceResult r = produce(cluster, via, topic, partition, value);
            boolean retriable = io.rafka.common.ErrorCode.forCode(r.getErrorCodeValue()).retriable()
                    || r.getErrorCode() == ErrorCode.NOT_LEADER;
            if (!retriable || System.currentTimeMillis() > deadline) {
                return r;
            }
            io.rafka.raft.testing.MiniCluster.sleep(50);
        }
    }

    private static PartitionFetchResult fetch(BrokerCluster cluster, int via, String topic, int partition, long offset, int maxWaitMs) {
        FetchResponse resp = cluster.fetch(via).fetch(FetchRequest.newBuilder().setFormat(RecordFormat.RECORD_FORMAT_DECODED)
                .setMaxWaitMs(maxWaitMs).setMinBytes(1)
                .addPartitions(PartitionFetch.newBuilder().setTopic(topic).setPartition(partition).setOffset(offset)).build());
        return resp.getResults(0);
    }

    private static boolean hibernatedEverywhere(BrokerCluster cluster, TopicPartition tp) {
        for (int i = 0; i < 3; i++) {
            PartitionStatus s = cluster.broker(i).raftNode().status(tp);
            if (!s.hibernated()) {
                return false;
            }
        }
        return true;
    }

    private static String metrics(BrokerCluster cluster, int i) throws IOException, InterruptedException {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cluster.httpPort(i) + "/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void aHibernatedTopicIsServedAndWokenAsClientsUseIt() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("partition.hibernate.after.ms", "1000"))) {
            CreateTopicsResponse created = cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder()
                    .addTopics(NewTopic.newBuilder().setName("quiet").setPartitions(3).setReplicationFactor(3)).build());
            assertEquals(ErrorCode.NONE, created.getResults(0).getErrorCode(), created.toString());
            TopicPartition tp0 = new TopicPartition("quiet", 0);
            cluster.awaitTrue(() -> cluster.broker(0).raftNode().hosts(tp0) && cluster.broker(1).raftNode().hosts(tp0)
                    && cluster.broker(2).raftNode().hosts(tp0), 20_000, "replicas created");
            assertTrue(hibernatedEverywhere(cluster, tp0), "a new topic starts hibernated");
            for (int p = 0; p < 3; p++) {
                assertFalse(leaderOf(cluster, 1, "quiet", p).isEmpty(), "metadata names a broker to use for partition " + p);
            }

            // The first produce wakes the partition; a consumer reads it.
            PartitionProduceResult first = produceAsAClient(cluster, "quiet", 0, "v0");
            assertEquals(ErrorCode.NONE, first.getErrorCode(), first.toString());
            assertEquals(0, first.getBaseOffset());
            int leader = BrokerCluster.indexOf(leaderOf(cluster, 0, "quiet", 0));
            assertEquals(List.of("v0"), fetch(cluster, leader, "quiet", 0, 0, 0).getRecordsList().stream()
                    .map(r -> r.getValue().toStringUtf8()).toList());

            // Idle: every replica hibernates, and each serves what it holds.
            cluster.awaitTrue(() -> hibernatedEverywhere(cluster, tp0), 30_000, "quiet-0 hibernated on every broker");
            for (int i = 0; i < 3; i++) {
                PartitionFetchResult r = fetch(cluster, i, "quiet", 0, 0, 0);
                assertEquals(ErrorCode.NONE, r.getErrorCode(), "broker " + (i + 1) + ": " + r);
                assertEquals(List.of("v0"), r.getRecordsList().stream().map(c -> c.getValue().toStringUtf8()).toList());
                assertEquals(1, r.getHighWatermark());
                var offsets = cluster.fetch(i).listOffsets(ListOffsetsRequest.newBuilder()
                        .addPartitions(PartitionTimestamp.newBuilder().setTopic("quiet").setPartition(0).setTimestampMs(-1))
                        .addPartitions(PartitionTimestamp.newBuilder().setTopic("quiet").setPartition(0).setTimestampMs(0))
                        .build());
                assertEquals(1, offsets.getResults(0).getOffset(), "latest on broker " + (i + 1));
                assertEquals(0, offsets.getResults(1).getOffset(), "by timestamp on broker " + (i + 1));
            }
            String m = metrics(cluster, 0);
            assertTrue(m.contains("rafka_hibernated_partitions 3.0"), m.lines().filter(l -> l.contains("hibernat")).toList().toString());

            // A long-poll on the hibernated partition, then a produce that wakes it: the poll ends with the record,
            // or with NOT_LEADER when the wake-up elected another broker, which then serves it.
            int polled = BrokerCluster.indexOf(leaderOf(cluster, 2, "quiet", 0));
            CompletableFuture<PartitionFetchResult> poll = CompletableFuture.supplyAsync(() -> fetch(cluster, polled, "quiet", 0, 1, 20_000));
            Thread.sleep(300);
            assertFalse(poll.isDone(), "the poll waits");
            assertEquals(ErrorCode.NONE, produceAsAClient(cluster, "quiet", 0, "v1").getErrorCode());
            PartitionFetchResult woke = poll.get();
            List<String> got = new ArrayList<>();
            if (woke.getErrorCode() == ErrorCode.NOT_LEADER) {
                int now = BrokerCluster.indexOf(leaderOf(cluster, 0, "quiet", 0));
                woke = fetch(cluster, now, "quiet", 0, 1, 5_000);
            }
            assertEquals(ErrorCode.NONE, woke.getErrorCode(), woke.toString());
            for (ConsumerRecord r : woke.getRecordsList()) {
                got.add(r.getValue().toStringUtf8());
            }
            assertEquals(List.of("v1"), got);
            long wakeUps = 0;
            List<String> counts = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                String text = metrics(cluster, i);
                wakeUps += text.lines().filter(l -> l.startsWith("rafka_partition_wakeups_total ")).mapToLong(l -> (long) Double.parseDouble(l.split(" ")[1])).sum();
                counts.add("broker " + (i + 1) + ": " + text.lines().filter(l -> l.startsWith("rafka_partition_wakeups_total ")
                        || l.startsWith("rafka_hibernated_partitions ") || l.startsWith("rafka_partition_early_hibernations_total ")).toList());
            }
            // Counted by the broker that woke the group, whichever broker the election that followed made leader.
            assertEquals(2, wakeUps, "two wake-ups: the first write and the one after idling; " + counts);
        }
    }
}
