package io.rafka.server;

import com.google.protobuf.ByteString;
import io.rafka.client.consumer.Deserializers;
import io.rafka.client.consumer.RafkaConsumer;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.ConsumerRecord;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.proto.v1.RecordSet;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A consumer of decoded records (what clients in other languages read) cannot check a batch's CRC: the broker
 * does. A bit flipped in the leader's stored bytes reaches no consumer as a wrong value: the read stops before the
 * damaged batch, a read starting at it fails with CORRUPT_MESSAGE (retriable), and the finding has the leader's
 * replica cut there and repaired from the others (the background scrub is off here, so only the read found it),
 * after which every record reads back as written. Three in-process brokers over gRPC on loopback.
 */
class DamagedReadIT {
    private static final List<String> VALUES = List.of("first-value", "second-value", "third-value");
    private static final io.rafka.common.TopicPartition TP = new io.rafka.common.TopicPartition("flipped", 0);

    @TempDir
    Path tmp;

    @Test
    void aDamagedBatchIsNeverDecodedIntoWrongValuesAndTheReplicaRepairsItself() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("log.scrub.bytes.per.second", "0"))) {
            int leader = writeThreeBatchesAndDamageTheSecondOnTheLeader(cluster);

            // A read starting at the damaged batch: a typed, retriable error, not a wrong value.
            PartitionFetchResult atDamage = fetch(cluster, leader, 1);
            assertEquals(ErrorCode.CORRUPT_MESSAGE, atDamage.getErrorCode(), atDamage.toString());
            assertEquals(0, atDamage.getRecordsCount());
            // A read before it stops there (unless the leader already handed over for its repair).
            PartitionFetchResult fromStart = fetch(cluster, leader, 0);
            if (fromStart.getErrorCode() == ErrorCode.NONE) {
                assertEquals(List.of("first-value"), decodedValues(fromStart));
                assertEquals(1, fromStart.getNextOffset());
            }
            assertTrue(cluster.broker(leader).raftNode().damagedReads() >= 1, "the read reported the damage");

            // The replica is cut at the damage and repaired from the others; then every record reads back intact.
            awaitEveryRecordReadable(cluster);
            awaitRepaired(cluster, leader);
        }
    }

    @Test
    void aDamagedBatchInAHibernatedReplicaWakesItsGroupAndIsRepaired() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("log.scrub.bytes.per.second", "0",
                "partition.hibernate.after.ms", "1000"))) {
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder()
                    .addTopics(NewTopic.newBuilder().setName("flipped").setPartitions(1).setReplicationFactor(3)).build())
                    .getResults(0).getErrorCode());
            for (String v : VALUES) {
                produce(cluster, v);
            }
            cluster.awaitTrue(() -> Set.of(0, 1, 2).stream().allMatch(i -> cluster.broker(i).raftNode().status(TP).hibernated()
                    && cluster.broker(i).raftNode().status(TP).highWatermark() == 3), 60_000, "hibernated on every replica");
            // Every replica damaged the same way would be beyond repair: damage the one that serves reads now.
            int serving = -1;
            for (int i = 0; i < 3 && serving < 0; i++) {
                if (fetch(cluster, i, 0).getErrorCode() == ErrorCode.NONE) {
                    serving = i;
                }
            }
            assertTrue(serving >= 0, "a broker serves the hibernated partition");
            flipBitInTheValueOfSecondBatch(tmp.resolve("broker-" + (serving + 1)).resolve("flipped-0")
                    .resolve("00000000000000000000.log"));

            PartitionFetchResult atDamage = fetch(cluster, serving, 1);
            assertEquals(ErrorCode.CORRUPT_MESSAGE, atDamage.getErrorCode(), atDamage.toString());
            List<String> readBack = new ArrayList<>();
            cluster.awaitTrue(() -> {
                readBack.clear();
                for (int via = 0; via < 3; via++) {
                    PartitionFetchResult r = fetch(cluster, via, 0);
                    if (r.getErrorCode() == ErrorCode.NONE) {
                        readBack.addAll(decodedValues(r));
                        return readBack.size() == 3;
                    }
                }
                return false;
            }, 60_000, "every record readable again");
            assertEquals(VALUES, readBack);
            int damaged = serving;
            cluster.awaitTrue(() -> cluster.broker(damaged).raftNode().damagedReads() >= 1, 30_000, "the open replica's read "
                    + "confirmed the damage");
        }
    }

    /**
     * The Java SDK reads stored batches and checks their CRC itself, so the broker never sees the damage it meets:
     * the consumer keeps the records before the damaged batch, reads on from it decoded (the broker checks and
     * reports, and the leader's replica is repaired), and ends with every record as written, none wrong, with no
     * error reaching the application. Without the decoded re-read the scrub (off here) would be the only way the
     * broker learns of it, and the consumer would fail with the damage until its retries ran out.
     */
    @Test
    void aJavaConsumerThatMeetsADamagedBatchHasTheBrokerCheckItAndReadsOnOnceRepaired() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("log.scrub.bytes.per.second", "0"))) {
            int leader = writeThreeBatchesAndDamageTheSecondOnTheLeader(cluster);

            List<String> got = new ArrayList<>();
            String servers = "127.0.0.1:" + cluster.grpcPort(0) + ",127.0.0.1:" + cluster.grpcPort(1);
            try (RafkaConsumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.string())
                    .bootstrap(servers).autoOffsetReset("earliest").enableAutoCommit(false).build()) {
                consumer.assign(List.of(TP));
                long deadline = System.currentTimeMillis() + 60_000;
                while (got.size() < VALUES.size() && System.currentTimeMillis() < deadline) {
                    consumer.poll(Duration.ofMillis(200)).forEach(r -> got.add(r.value()));
                }
            }
            assertEquals(VALUES, got, "every record once, none with a wrong value");
            assertTrue(cluster.broker(leader).raftNode().damagedReads() >= 1, "the broker checked its copy");
            awaitRepaired(cluster, leader);
        }
    }

    /**
     * Zeroed bytes where the leader's second batch starts: a read at that batch used to find "no batch here" and
     * answer nothing (a consumer stuck at offset 1, or, with a later segment, sent on past the rest of this one).
     */
    @Test
    void aZeroedBatchHeaderFailsTheReadAndTheReplicaRepairsItself() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("log.scrub.bytes.per.second", "0"))) {
            int leader = writeThreeBatches(cluster);
            try (FileChannel ch = FileChannel.open(tmp.resolve("broker-" + (leader + 1)).resolve("flipped-0")
                    .resolve("00000000000000000000.log"), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer header = ByteBuffer.allocate(12);
                ch.read(header, 0);
                ch.write(ByteBuffer.allocate(61), 12 + header.getInt(8));
            }
            PartitionFetchResult atDamage = fetch(cluster, leader, 1);
            assertEquals(ErrorCode.CORRUPT_MESSAGE, atDamage.getErrorCode(), atDamage.toString());
            assertTrue(cluster.broker(leader).raftNode().damagedReads() >= 1, "the read reported the damage");
            awaitEveryRecordReadable(cluster);
            awaitRepaired(cluster, leader);
        }
    }

    /** Topic "flipped" (1 partition, RF 3), {@link #VALUES} one batch each, a bit flipped in the leader's second. */
    private int writeThreeBatchesAndDamageTheSecondOnTheLeader(BrokerCluster cluster) throws IOException {
        int leader = writeThreeBatches(cluster);
        flipBitInTheValueOfSecondBatch(tmp.resolve("broker-" + (leader + 1)).resolve("flipped-0")
                .resolve("00000000000000000000.log"));
        return leader;
    }

    /** Topic "flipped" (1 partition, RF 3), {@link #VALUES} one batch each, on every replica; the leader's index. */
    private int writeThreeBatches(BrokerCluster cluster) {
        assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder()
                .addTopics(NewTopic.newBuilder().setName("flipped").setPartitions(1).setReplicationFactor(3)).build())
                .getResults(0).getErrorCode());
        for (String v : VALUES) {
            produce(cluster, v);
        }
        int leader = cluster.awaitLeaders(0, "flipped", 30_000).get(0);
        cluster.awaitTrue(() -> Set.of(0, 1, 2).stream().allMatch(i -> cluster.broker(i).raftNode().status(TP)
                .highWatermark() == 3), 30_000, "replicated");
        return leader;
    }

    /** Waits until every record reads back as written through the partition's leader. */
    private static void awaitEveryRecordReadable(BrokerCluster cluster) {
        List<String> readBack = new ArrayList<>();
        cluster.awaitTrue(() -> {
            readBack.clear();
            int via = cluster.awaitLeaders(0, "flipped", 30_000).get(0);
            PartitionFetchResult r = fetch(cluster, via, 0);
            readBack.addAll(decodedValues(r));
            return r.getErrorCode() == ErrorCode.NONE && readBack.size() == 3;
        }, 60_000, "every record readable again");
        assertEquals(VALUES, readBack);
    }

    /** Waits until the damaged replica holds every record intact in its own log (cut and copied). */
    private static void awaitRepaired(BrokerCluster cluster, int broker) {
        // A damaged leader hands its leadership over first and is cut at a later tick: wait for its log to check.
        cluster.awaitTrue(() -> cluster.broker(broker).raftNode().hosts(TP)
                && cluster.broker(broker).raftNode().status(TP).highWatermark() == 3
                && !cluster.broker(broker).raftNode().status(TP).repairing() && logChecks(cluster, broker), 60_000,
                "the damaged replica repaired");
        assertEquals(VALUES, decodedValues(readFrom(cluster, broker)), "the repaired replica's own log holds the records");
    }

    private static boolean logChecks(BrokerCluster cluster, int broker) {
        try {
            return readFrom(cluster, broker).getRecordsCount() == 3;
        } catch (RuntimeException e) {
            return false;  // still damaged (a CRC failure), or closed for its reopen meanwhile
        }
    }

    /** Reads the repaired replica's log directly (it may follow now): its records, decoded. */
    private static PartitionFetchResult readFrom(BrokerCluster cluster, int broker) {
        ByteBuffer stored = cluster.broker(broker).raftNode().read(new io.rafka.common.TopicPartition("flipped", 0), 0, 1 << 20)
                .records();
        PartitionFetchResult.Builder out = PartitionFetchResult.newBuilder();
        for (io.rafka.record.RecordBatch b : io.rafka.record.RecordBatches.split(stored)) {
            b.ensureValid();
            for (io.rafka.record.Record r : b.records()) {
                out.addRecords(ConsumerRecord.newBuilder().setOffset(r.offset()).setValue(ByteString.copyFrom(r.value())));
            }
        }
        return out.build();
    }

    private static void produce(BrokerCluster cluster, String value) {
        int via = 0;
        for (int attempt = 0; attempt < 100; attempt++) {
            PartitionProduceResult r = cluster.produce(via).produce(ProduceRequest.newBuilder().setAcks(Acks.ACKS_ALL)
                    .addPartitions(PartitionData.newBuilder().setTopic("flipped").setPartition(0)
                            .setRecords(RecordSet.newBuilder().addRecords(ProducerRecord.newBuilder()
                                    .setValue(ByteString.copyFromUtf8(value))))).build()).getResults(0);
            if (r.getErrorCode() == ErrorCode.NONE) {
                return;
            }
            if (r.getErrorCode() == ErrorCode.NOT_LEADER && r.hasLeader()) {
                via = BrokerCluster.indexOf(r.getLeader().getId());
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        throw new AssertionError("could not produce " + value);
    }

    private static PartitionFetchResult fetch(BrokerCluster cluster, int via, long offset) {
        return cluster.fetch(via).fetch(FetchRequest.newBuilder().setFormat(RecordFormat.RECORD_FORMAT_DECODED)
                .addPartitions(PartitionFetch.newBuilder().setTopic("flipped").setPartition(0).setOffset(offset)).build())
                .getResults(0);
    }

    private static List<String> decodedValues(PartitionFetchResult r) {
        return r.getRecordsList().stream().map(c -> c.getValue().toStringUtf8()).toList();
    }

    /** Flips a bit in the last byte of the second batch's record value: a byte its CRC covers. */
    private static void flipBitInTheValueOfSecondBatch(Path segment) throws IOException {
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer header = ByteBuffer.allocate(12);
            ch.read(header, 0);
            int second = 12 + header.getInt(8);
            header.clear();
            ch.read(header, second);
            int end = second + 12 + header.getInt(8);
            int at = end - 3;  // inside the value (a record ends with its value, then its header count: one 0 byte)
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x02));
            ch.write(b.rewind(), at);
        }
    }
}
