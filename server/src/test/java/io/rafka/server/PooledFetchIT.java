package io.rafka.server;

import com.google.protobuf.ByteString;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.ConsumerRecord;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchResponse;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.proto.v1.RecordSet;
import io.rafka.proto.v1.SubscribeRequest;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;
import io.rafka.server.broker.ReadBufferPool;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fetches read into buffers that the broker reuses once an answer is written ({@link ReadBufferPool}): concurrent
 * fetches over real gRPC, from random offsets with per-partition sizes in every pooled size class, must each get
 * exactly the records stored at their offsets with valid checksums, and so must subscriptions reading alongside. A buffer handed to a second fetch while the
 * first one's answer was still being written would show here as another partition's or offset's bytes.
 */
class PooledFetchIT {
    private static final String TOPIC = "pooled";
    private static final int PARTITIONS = 4;
    private static final int RECORDS = 2_400;
    private static final int PER_REQUEST = 200;
    private static final int[] PARTITION_MAX_BYTES = {64 * 1024, 100 * 1024, 300 * 1024, 1024 * 1024};

    @TempDir
    Path tmp;

    @Test
    void concurrentFetchesEachGetTheirOwnBytes() throws Exception {
        // A small pool, so that both reuse and arrays dropped beyond its capacity happen.
        try (BrokerCluster cluster = BrokerCluster.start(1, tmp, Map.of("auto.create.topics.enable", "false",
                "fetch.buffer.pool.bytes", Integer.toString(3 * 1024 * 1024)))) {
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                    NewTopic.newBuilder().setName(TOPIC).setPartitions(PARTITIONS).setReplicationFactor(1)).build())
                    .getResults(0).getErrorCode());
            cluster.awaitLeaders(0, TOPIC, 60_000);
            for (int p = 0; p < PARTITIONS; p++) {
                for (int from = 0; from < RECORDS; from += PER_REQUEST) {
                    RecordSet.Builder set = RecordSet.newBuilder();
                    for (int o = from; o < from + PER_REQUEST; o++) {
                        set.addRecords(ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8(value(p, o))));
                    }
                    assertEquals(ErrorCode.NONE, cluster.produce(0).produce(ProduceRequest.newBuilder().setAcks(Acks.ACKS_ALL)
                            .addPartitions(PartitionData.newBuilder().setTopic(TOPIC).setPartition(p).setRecords(set)).build())
                            .getResults(0).getErrorCode());
                }
            }

            ReadBufferPool pool = cluster.broker(0).replicas().readBuffers();
            ExecutorService threads = Executors.newFixedThreadPool(6);
            try {
                List<Future<Integer>> readers = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    long seed = t;
                    readers.add(threads.submit(() -> fetchAndCheck(cluster.fetch(0), new Random(seed), 120)));
                }
                for (int p = 0; p < 2; p++) {
                    int partition = p;
                    readers.add(threads.submit(() -> subscribeAndCheck(cluster.channel(0), partition)));
                }
                int records = 0;
                for (Future<Integer> r : readers) {
                    records += r.get(120, TimeUnit.SECONDS);
                }
                assertTrue(records > 10_000, "the fetches returned data: " + records + " records");
            } finally {
                threads.shutdownNow();
            }
            assertTrue(pool.reusedCount() > 100, "buffers were reused: " + pool.reusedCount() + " of "
                    + (pool.reusedCount() + pool.createdCount()));
            assertTrue(pool.keptBytes() <= 3 * 1024 * 1024, "kept within capacity: " + pool.keptBytes());
        }
    }

    /** {@code fetches} fetches of 1-4 partitions at random offsets, in either format; returns the records checked. */
    private static int fetchAndCheck(FetchServiceGrpc.FetchServiceBlockingStub fetch, Random random, int fetches) {
        int checked = 0;
        for (int i = 0; i < fetches; i++) {
            boolean encoded = random.nextInt(4) != 0;
            FetchRequest.Builder req = FetchRequest.newBuilder().setMaxBytes(8 * 1024 * 1024)
                    .setFormat(encoded ? RecordFormat.RECORD_FORMAT_ENCODED : RecordFormat.RECORD_FORMAT_DECODED);
            int first = random.nextInt(PARTITIONS);
            int count = 1 + random.nextInt(PARTITIONS);
            List<Long> asked = new ArrayList<>();
            for (int k = 0; k < count; k++) {
                long offset = random.nextInt(RECORDS);
                asked.add(offset);
                req.addPartitions(PartitionFetch.newBuilder().setTopic(TOPIC).setPartition((first + k) % PARTITIONS)
                        .setOffset(offset).setMaxBytes(PARTITION_MAX_BYTES[random.nextInt(PARTITION_MAX_BYTES.length)]));
            }
            FetchResponse resp = fetch.fetch(req.build());
            assertEquals(count, resp.getResultsCount());
            for (int k = 0; k < count; k++) {
                PartitionFetchResult r = resp.getResults(k);
                assertEquals(ErrorCode.NONE, r.getErrorCode(), r.getErrorMessage());
                int p = r.getPartition();
                long offset = asked.get(k);
                long expected = offset;
                if (encoded) {
                    List<RecordBatch> batches = RecordBatches.split(r.getEncodedBatches().asReadOnlyByteBuffer());
                    assertTrue(!batches.isEmpty(), "partition " + p + " at " + offset + ": no batch");
                    long base = batches.get(0).baseOffset();
                    assertTrue(base <= offset && offset <= batches.get(0).lastOffset(), "first batch holds " + offset);
                    expected = checkBatches(batches, p, base);
                    checked += (int) (expected - base);
                } else {
                    assertTrue(r.getRecordsCount() > 0, "partition " + p + " at " + offset + ": no record");
                    for (ConsumerRecord rec : r.getRecordsList()) {
                        assertEquals(expected, rec.getOffset());
                        assertEquals(value(p, expected), rec.getValue().toStringUtf8());
                        expected++;
                        checked++;
                    }
                }
                assertEquals(expected, r.getNextOffset(), "partition " + p + ": next offset after the last record");
            }
        }
        return checked;
    }

    /** Reads a partition from the start through subscriptions (pushed 100 KiB messages), 20 times; returns the records. */
    private static int subscribeAndCheck(io.grpc.Channel channel, int partition) {
        int checked = 0;
        for (int round = 0; round < 20; round++) {
            io.grpc.Context.CancellableContext call = io.grpc.Context.current().withCancellation();
            try {
                Iterator<FetchResponse> pushed = call.call(() -> FetchServiceGrpc.newBlockingStub(channel).subscribe(
                        SubscribeRequest.newBuilder().setTopic(TOPIC).setPartition(partition).setMaxBytes(100 * 1024)
                                .setFormat(RecordFormat.RECORD_FORMAT_ENCODED).build()));
                long expected = 0;
                while (expected < RECORDS) {
                    PartitionFetchResult r = pushed.next().getResults(0);
                    expected = checkBatches(RecordBatches.split(r.getEncodedBatches().asReadOnlyByteBuffer()), partition, expected);
                }
                checked += RECORDS;
            } catch (Exception e) {
                throw new AssertionError("subscription " + partition + " failed", e);
            } finally {
                call.cancel(null); // ends the subscription on the broker
            }
        }
        return checked;
    }

    /** Checks that {@code batches} are intact and hold the records from {@code expected} on; returns the next offset. */
    private static long checkBatches(List<RecordBatch> batches, int partition, long expected) {
        for (RecordBatch b : batches) {
            assertTrue(b.isValid(), "partition " + partition + " batch at " + b.baseOffset() + ": checksum");
            for (Record rec : b.records()) {
                assertEquals(expected, rec.offset(), "partition " + partition);
                assertEquals(value(partition, expected), new String(rec.value(), StandardCharsets.UTF_8));
                expected++;
            }
        }
        return expected;
    }

    /** ~520 bytes naming the record's partition and offset, different for each record. */
    private static String value(int partition, long offset) {
        String id = partition + "/" + offset + "/";
        return id + String.valueOf((char) ('a' + (partition * 7 + offset) % 26)).repeat(500) + id;
    }
}
