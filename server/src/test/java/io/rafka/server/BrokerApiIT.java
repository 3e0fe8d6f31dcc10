package io.rafka.server;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.ConsumerRecord;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.CreateTopicsResponse;
import io.rafka.proto.v1.DescribeClusterRequest;
import io.rafka.proto.v1.DescribeClusterResponse;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchResponse;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.ListOffsetsRequest;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.PartitionTimestamp;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.proto.v1.RecordHeader;
import io.rafka.proto.v1.RecordSet;
import io.rafka.proto.v1.SubscribeRequest;
import io.rafka.record.CompressionType;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.record.RecordBatches;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end over real gRPC on loopback against three in-process brokers (real Ratis, real files): admin,
 * produce with each acks level (unary and streaming, structured and encoded), fetch (decoded, encoded,
 * long-poll), subscribe, list offsets, NOT_LEADER handling, and metadata after a leader change.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BrokerApiIT {
    @TempDir
    static Path tmp;
    static BrokerCluster cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false"));
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    static void createTopic(int via, String name, int partitions) {
        CreateTopicsResponse resp = cluster.admin(via).createTopics(CreateTopicsRequest.newBuilder()
                .addTopics(NewTopic.newBuilder().setName(name).setPartitions(partitions).setReplicationFactor(3)).build());
        assertEquals(ErrorCode.NONE, resp.getResults(0).getErrorCode(), resp.toString());
    }

    static ProducerRecord record(String key, String value) {
        ProducerRecord.Builder r = ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8(value))
                .addHeaders(RecordHeader.newBuilder().setKey("h").setValue(ByteString.copyFromUtf8("v-" + value)));
        if (key != null) {
            r.setKey(ByteString.copyFromUtf8(key));
        }
        return r.build();
    }

    static PartitionProduceResult produce(int via, String topic, int partition, Acks acks, ProducerRecord... records) {
        ProduceResponse resp = cluster.produce(via).produce(ProduceRequest.newBuilder().setAcks(acks)
                .addPartitions(PartitionData.newBuilder().setTopic(topic).setPartition(partition)
                        .setRecords(RecordSet.newBuilder().addAllRecords(List.of(records))))
                .build());
        return resp.getResults(0);
    }

    /** Produces as a client does: retrying retriable errors (a new leader not ready yet) for up to 15 s. */
    static PartitionProduceResult produceRetrying(int via, String topic, ProducerRecord record) {
        long deadline = System.currentTimeMillis() + 15_000;
        while (true) {
            PartitionProduceResult r = produce(via, topic, 0, Acks.ACKS_ALL, record);
            boolean retriable = io.rafka.common.ErrorCode.forCode(r.getErrorCodeValue()).retriable();
            if (!retriable || System.currentTimeMillis() > deadline) {
                return r;
            }
            io.rafka.raft.testing.MiniCluster.sleep(100);
        }
    }

    static PartitionFetchResult fetch(int via, String topic, int partition, long offset, RecordFormat format) {
        FetchResponse resp = cluster.fetch(via).fetch(FetchRequest.newBuilder().setFormat(format)
                .addPartitions(PartitionFetch.newBuilder().setTopic(topic).setPartition(partition).setOffset(offset)).build());
        return resp.getResults(0);
    }

    @Test
    @Order(1)
    void createThroughAnyBrokerAndDescribeCluster() {
        // Broker 3 is the controller only by chance; creating through every broker exercises forwarding.
        for (int via = 0; via < 3; via++) {
            createTopic(via, "created-via-" + via, 2);
        }
        for (int via = 0; via < 3; via++) {
            int asking = via;
            cluster.awaitTrue(() -> cluster.admin(asking).listTopics(io.rafka.proto.v1.ListTopicsRequest.getDefaultInstance())
                    .getNamesList().containsAll(List.of("created-via-0", "created-via-1", "created-via-2")), 10_000, "topics listed");
            List<Integer> leaders = cluster.awaitLeaders(via, "created-via-" + via, 30_000);
            assertEquals(2, leaders.size());
        }
        // Single-replica partitions live on one broker; the others learn their leaders from the metadata group.
        CreateTopicsResponse single = cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder()
                .addTopics(NewTopic.newBuilder().setName("single-replica").setPartitions(6).setReplicationFactor(1)).build());
        assertEquals(ErrorCode.NONE, single.getResults(0).getErrorCode(), single.toString());
        List<Integer> expected = cluster.awaitLeaders(0, "single-replica", 30_000);
        for (int via = 0; via < 3; via++) {
            assertEquals(expected, cluster.awaitLeaders(via, "single-replica", 10_000), "leaders as broker " + (via + 1) + " sees them");
        }
        for (int p = 0; p < 6; p++) {
            assertEquals(single.getTopics(0).getPartitions(p).getReplicas(0), Integer.toString(expected.get(p) + 1),
                    "the only replica leads");
        }
        DescribeClusterResponse c = cluster.admin(0).describeCluster(DescribeClusterRequest.getDefaultInstance());
        assertEquals(3, c.getBrokersCount());
        assertEquals(List.of("1", "2", "3"), c.getLiveBrokerIdsList().stream().sorted().toList());
        assertFalse(c.getControllerId().isEmpty());
        for (var b : c.getBrokersList()) {
            assertEquals(cluster.grpcPort(BrokerCluster.indexOf(b.getId())), b.getPort(), "advertised gRPC port of " + b.getId());
        }
    }

    @Test
    @Order(2)
    void produceWithEachAcksLevelAndFetchBack() {
        createTopic(0, "acks", 1);
        int leader = cluster.awaitLeaders(0, "acks", 30_000).get(0);
        PartitionProduceResult all = produce(leader, "acks", 0, Acks.ACKS_ALL, record("k1", "all-1"), record(null, "all-2"));
        assertEquals(ErrorCode.NONE, all.getErrorCode(), all.toString());
        assertEquals(0, all.getBaseOffset());
        assertEquals(-1, all.getLogAppendTimeMs(), "a CreateTime topic keeps the producer's timestamps, as in Kafka");
        PartitionProduceResult unspecified = produce(leader, "acks", 0, Acks.ACKS_UNSPECIFIED, record("k3", "default-3"));
        assertEquals(2, unspecified.getBaseOffset(), "unset acks means all: answered with the committed offset");
        PartitionProduceResult one = produce(leader, "acks", 0, Acks.ACKS_LEADER, record("k4", "one-4"));
        assertEquals(3, one.getBaseOffset());
        PartitionProduceResult none = produce(leader, "acks", 0, Acks.ACKS_NONE, record("k5", "none-5"));
        assertEquals(ErrorCode.NONE, none.getErrorCode());
        assertEquals(-1, none.getBaseOffset(), "acks=0 answers before the offset is known");

        List<ConsumerRecord> got = new ArrayList<>();
        cluster.awaitTrue(() -> {
            got.clear();
            got.addAll(fetch(leader, "acks", 0, 0, RecordFormat.RECORD_FORMAT_DECODED).getRecordsList());
            return got.size() == 5;
        }, 10_000, "the acks=0 record committed too");
        assertEquals(List.of("all-1", "all-2", "default-3", "one-4", "none-5"),
                got.stream().map(r -> r.getValue().toStringUtf8()).toList());
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), got.stream().map(ConsumerRecord::getOffset).toList());
        assertEquals("k1", got.get(0).getKey().toStringUtf8());
        assertFalse(got.get(1).hasKey(), "a null key stays null");
        assertEquals("v-all-1", got.get(0).getHeaders(0).getValue().toStringUtf8());

        // Fetching from offset 3 of a batch-aligned log returns records from 3 on only (decoded) ...
        PartitionFetchResult from3 = fetch(leader, "acks", 0, 3, RecordFormat.RECORD_FORMAT_DECODED);
        assertEquals(List.of(3L, 4L), from3.getRecordsList().stream().map(ConsumerRecord::getOffset).toList());
        assertEquals(5, from3.getHighWatermark());
        assertEquals(5, from3.getNextOffset());
        // ... and the encoded form is the stored batches, checksums intact.
        PartitionFetchResult encoded = fetch(leader, "acks", 0, 0, RecordFormat.RECORD_FORMAT_ENCODED);
        List<RecordBatch> batches = RecordBatches.split(encoded.getEncodedBatches().asReadOnlyByteBuffer());
        assertEquals(4, batches.size());
        batches.forEach(RecordBatch::ensureValid);
        assertEquals(0, encoded.getRecordsCount());
    }

    @Test
    @Order(3)
    void encodedBatchesAndStreamingProduceKeepOrder() throws Exception {
        createTopic(1, "stream", 1);
        int leader = cluster.awaitLeaders(1, "stream", 30_000).get(0);
        ByteBuffer batch = new RecordBatchBuilder(CompressionType.LZ4)
                .append(1000L, "k".getBytes(StandardCharsets.UTF_8), "encoded-0".getBytes(StandardCharsets.UTF_8))
                .append(1001L, null, "encoded-1".getBytes(StandardCharsets.UTF_8))
                .build();
        ProduceResponse first = cluster.produce(leader).produce(ProduceRequest.newBuilder()
                .addPartitions(PartitionData.newBuilder().setTopic("stream").setPartition(0)
                        .setEncodedBatches(ByteString.copyFrom(batch))).build());
        assertEquals(0, first.getResults(0).getBaseOffset(), first.toString());

        int requests = 300;
        LinkedBlockingQueue<ProduceResponse> responses = new LinkedBlockingQueue<>();
        CountDownLatch completed = new CountDownLatch(1);
        StreamObserver<ProduceRequest> stream = ProduceServiceGrpc.newStub(cluster.channel(leader)).produceStream(new StreamObserver<>() {
            @Override
            public void onNext(ProduceResponse value) {
                responses.add(value);
            }

            @Override
            public void onError(Throwable t) {
                completed.countDown();
            }

            @Override
            public void onCompleted() {
                completed.countDown();
            }
        });
        for (int i = 0; i < requests; i++) {
            stream.onNext(ProduceRequest.newBuilder().setRequestId(i).addPartitions(PartitionData.newBuilder()
                    .setTopic("stream").setPartition(0).setRecords(RecordSet.newBuilder().addRecords(record(null, "s-" + i)))).build());
        }
        stream.onCompleted();
        assertTrue(completed.await(60, TimeUnit.SECONDS), "stream completed");
        assertEquals(requests, responses.size());
        Iterator<ProduceResponse> it = responses.iterator();
        for (int i = 0; i < requests; i++) {
            ProduceResponse r = it.next();
            assertEquals(i, r.getRequestId(), "answers come back in request order");
            assertEquals(ErrorCode.NONE, r.getResults(0).getErrorCode(), r.toString());
            assertEquals(2 + i, r.getResults(0).getBaseOffset(), "appended in stream order");
        }
        List<ConsumerRecord> all = new ArrayList<>();
        long offset = 0;
        while (offset < 2 + requests) {
            PartitionFetchResult f = fetch(leader, "stream", 0, offset, RecordFormat.RECORD_FORMAT_DECODED);
            all.addAll(f.getRecordsList());
            offset = f.getNextOffset();
        }
        assertEquals("encoded-0", all.get(0).getValue().toStringUtf8());
        assertEquals(1000L, all.get(0).getTimestampMs());
        for (int i = 0; i < requests; i++) {
            assertEquals("s-" + i, all.get(2 + i).getValue().toStringUtf8());
        }
    }

    @Test
    @Order(4)
    void longPollWakesWhenDataArrivesAndOtherwiseWaitsMaxWait() throws Exception {
        createTopic(2, "poll", 1);
        int leader = cluster.awaitLeaders(2, "poll", 30_000).get(0);
        FetchServiceGrpc.FetchServiceBlockingStub fetch = cluster.fetch(leader);
        long t0 = System.nanoTime();
        FetchResponse empty = fetch.fetch(FetchRequest.newBuilder().setMaxWaitMs(700).setMinBytes(1)
                .addPartitions(PartitionFetch.newBuilder().setTopic("poll").setPartition(0).setOffset(0)).build());
        long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertEquals(0, empty.getResults(0).getRecordsCount());
        assertTrue(waitedMs >= 600, "an empty long-poll waits max_wait_ms, waited " + waitedMs);

        CompletableFuture<FetchResponse> waiting = CompletableFuture.supplyAsync(() -> fetch.fetch(FetchRequest.newBuilder()
                .setMaxWaitMs(20_000).setMinBytes(1)
                .addPartitions(PartitionFetch.newBuilder().setTopic("poll").setPartition(0).setOffset(0)).build()));
        Thread.sleep(500);
        assertFalse(waiting.isDone(), "no data yet: the fetch waits");
        long produced = System.nanoTime();
        assertEquals(ErrorCode.NONE, produce(leader, "poll", 0, Acks.ACKS_ALL, record(null, "wake")).getErrorCode());
        FetchResponse woke = waiting.get(10, TimeUnit.SECONDS);
        long wokeMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - produced);
        assertEquals("wake", woke.getResults(0).getRecords(0).getValue().toStringUtf8());
        assertTrue(wokeMs < 5_000, "woken by the commit, not by max_wait_ms; took " + wokeMs + " ms");
    }

    @Test
    @Order(5)
    void subscribePushesCommittedRecordsAndListOffsetsFindsThem() throws Exception {
        createTopic(0, "push", 1);
        int leader = cluster.awaitLeaders(0, "push", 30_000).get(0);
        LinkedBlockingQueue<ConsumerRecord> pushed = new LinkedBlockingQueue<>();
        io.grpc.Context.CancellableContext ctx = io.grpc.Context.current().withCancellation();
        ctx.run(() -> FetchServiceGrpc.newStub(cluster.channel(leader)).subscribe(
                SubscribeRequest.newBuilder().setTopic("push").setPartition(0).setOffset(0).build(), new StreamObserver<>() {
                    @Override
                    public void onNext(FetchResponse value) {
                        pushed.addAll(value.getResults(0).getRecordsList());
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                }));
        long t0 = System.currentTimeMillis();
        for (int i = 0; i < 20; i++) {
            ProducerRecord r = ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8("p-" + i)).setTimestampMs(t0 + i * 10L).build();
            assertEquals(ErrorCode.NONE, produce(leader, "push", 0, Acks.ACKS_ALL, r).getErrorCode());
        }
        for (int i = 0; i < 20; i++) {
            ConsumerRecord r = pushed.poll(10, TimeUnit.SECONDS);
            assertNotNull(r, "record " + i + " pushed");
            assertEquals("p-" + i, r.getValue().toStringUtf8());
            assertEquals(i, r.getOffset());
        }
        ctx.cancel(null);

        var offsets = cluster.fetch(leader).listOffsets(ListOffsetsRequest.newBuilder()
                .addPartitions(PartitionTimestamp.newBuilder().setTopic("push").setPartition(0).setTimestampMs(-2))
                .addPartitions(PartitionTimestamp.newBuilder().setTopic("push").setPartition(0).setTimestampMs(-1))
                .addPartitions(PartitionTimestamp.newBuilder().setTopic("push").setPartition(0).setTimestampMs(t0 + 55))
                .addPartitions(PartitionTimestamp.newBuilder().setTopic("push").setPartition(0).setTimestampMs(t0 + 10_000))
                .build());
        assertEquals(0, offsets.getResults(0).getOffset());
        assertEquals(20, offsets.getResults(1).getOffset());
        assertEquals(6, offsets.getResults(2).getOffset(), "first record with timestamp >= t0+55 is p-6");
        assertEquals(t0 + 60, offsets.getResults(2).getTimestampMs());
        assertEquals(-1, offsets.getResults(3).getOffset(), "no record that late");
    }

    @Test
    @Order(6)
    void followersAnswerNotLeaderWithTheLeadersAddress() {
        createTopic(1, "redirect", 1);
        int leader = cluster.awaitLeaders(1, "redirect", 30_000).get(0);
        int follower = (leader + 1) % 3;
        PartitionProduceResult r = produce(follower, "redirect", 0, Acks.ACKS_ALL, record(null, "x"));
        assertEquals(ErrorCode.NOT_LEADER, r.getErrorCode());
        assertEquals(Integer.toString(leader + 1), r.getLeader().getId());
        assertEquals(cluster.grpcPort(leader), r.getLeader().getPort());
        PartitionFetchResult f = fetch(follower, "redirect", 0, 0, RecordFormat.RECORD_FORMAT_DECODED);
        assertEquals(ErrorCode.NOT_LEADER, f.getErrorCode());
        assertEquals(cluster.grpcPort(leader), f.getLeader().getPort());
        // Following the hint works.
        assertEquals(ErrorCode.NONE, produce(BrokerCluster.indexOf(r.getLeader().getId()), "redirect", 0, Acks.ACKS_ALL,
                record(null, "x")).getErrorCode());
    }

    @Test
    @Order(6)
    void decodedFetchesStopAtMaxBytesInsideACompressedBatch() {
        createTopic(2, "squeezed", 1);
        int leader = cluster.awaitLeaders(2, "squeezed", 30_000).get(0);
        RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.ZSTD);
        for (int i = 0; i < 1000; i++) {
            b.append(1L, null, new byte[1024]); // 1 MiB of zeros: a few KiB compressed
        }
        ByteBuffer batch = b.build();
        assertTrue(batch.remaining() < 64 * 1024, "compresses well: " + batch.remaining());
        assertEquals(ErrorCode.NONE, cluster.produce(leader).produce(ProduceRequest.newBuilder().addPartitions(PartitionData.newBuilder()
                .setTopic("squeezed").setEncodedBatches(ByteString.copyFrom(batch))).build()).getResults(0).getErrorCode());
        long offset = 0;
        int fetches = 0;
        while (offset < 1000) {
            FetchResponse r = cluster.fetch(leader).fetch(FetchRequest.newBuilder().setMaxBytes(100 * 1024)
                    .addPartitions(PartitionFetch.newBuilder().setTopic("squeezed").setOffset(offset).setMaxBytes(100 * 1024)).build());
            PartitionFetchResult p = r.getResults(0);
            assertTrue(p.getRecordsCount() > 0 && p.getRecordsCount() <= 100, "about 100 KiB of 1 KiB records: " + p.getRecordsCount());
            assertTrue(r.getSerializedSize() < 120 * 1024, "response bounded: " + r.getSerializedSize());
            assertEquals(offset, p.getRecords(0).getOffset());
            offset = p.getNextOffset();
            assertEquals(p.getRecords(p.getRecordsCount() - 1).getOffset() + 1, offset, "next_offset is the first record left out");
            fetches++;
        }
        assertTrue(fetches >= 10, "1 MiB decoded needs at least 10 fetches of 100 KiB: " + fetches);
    }

    @Test
    @Order(7)
    void metadataShowsTheNewLeaderAfterTheLeaderCrashes() throws Exception {
        createTopic(0, "failover", 1);
        int oldLeader = cluster.awaitLeaders(0, "failover", 30_000).get(0);
        assertEquals(ErrorCode.NONE, produce(oldLeader, "failover", 0, Acks.ACKS_ALL, record(null, "before")).getErrorCode());
        cluster.kill(oldLeader);
        try {
            int asking = (oldLeader + 1) % 3;
            long t0 = System.nanoTime();
            int newLeader = cluster.awaitLeaders(asking, "failover", 30_000).get(0);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertNotEquals(oldLeader, newLeader);
            // Every live broker agrees, learning it from its replica or from the published leaders.
            int other = 3 - oldLeader - asking;
            assertEquals(newLeader, (int) cluster.awaitLeaders(other, "failover", 10_000).get(0));
            PartitionProduceResult after = produceRetrying(newLeader, "failover", record(null, "after"));
            assertEquals(ErrorCode.NONE, after.getErrorCode(), after.toString());
            assertEquals(1, after.getBaseOffset());
            List<String> values = fetch(newLeader, "failover", 0, 0, RecordFormat.RECORD_FORMAT_DECODED).getRecordsList()
                    .stream().map(c -> c.getValue().toStringUtf8()).toList();
            assertEquals(List.of("before", "after"), values);
            System.out.printf("metadata showed the new leader %d ms after the crash%n", ms);
        } finally {
            cluster.restart(oldLeader);
        }
        // The restarted broker catches up and serves metadata again.
        cluster.awaitLeaders(oldLeader, "failover", 30_000);
    }

    @Test
    @Order(8)
    void gracefulStopHandsLeadershipOverWithoutErrors() throws Exception {
        createTopic(2, "rolling", 1);
        int leader = cluster.awaitLeaders(2, "rolling", 30_000).get(0);
        cluster.stop(leader);
        try {
            int other = (leader + 1) % 3;
            int newLeader = cluster.awaitLeaders(other, "rolling", 10_000).get(0);
            assertNotEquals(leader, newLeader);
            assertEquals(ErrorCode.NONE, produceRetrying(newLeader, "rolling", record(null, "r")).getErrorCode());
            // It told the controller it left: not live any more, at once rather than after the session timeout.
            String stopped = Integer.toString(leader + 1);
            cluster.awaitTrue(() -> !cluster.admin(other).describeCluster(DescribeClusterRequest.getDefaultInstance())
                    .getLiveBrokerIdsList().contains(stopped), 5_000, "broker " + stopped + " no longer live");
        } finally {
            cluster.restart(leader);
        }
        cluster.awaitTrue(() -> cluster.admin(leader).describeCluster(DescribeClusterRequest.getDefaultInstance())
                .getLiveBrokerIdsList().size() == 3, 10_000, "live again after the restart");
        // The restarted broker has every committed record (its log was flushed and it caught up).
        cluster.awaitTrue(() -> {
            var status = cluster.broker(leader).raftNode().status(new io.rafka.common.TopicPartition("rolling", 0));
            return status.highWatermark() == 1;
        }, 30_000, "restarted replica caught up");
        // Stopping the controller: it hands the role over first, and the new controller hears it leave.
        int controller = BrokerCluster.indexOf(cluster.admin(0).describeCluster(DescribeClusterRequest.getDefaultInstance()).getControllerId());
        cluster.stop(controller);
        try {
            int other = (controller + 1) % 3;
            String stopped = Integer.toString(controller + 1);
            cluster.awaitTrue(() -> {
                DescribeClusterResponse c = cluster.admin(other).describeCluster(DescribeClusterRequest.getDefaultInstance());
                return !c.getControllerId().equals(stopped) && !c.getLiveBrokerIdsList().contains(stopped);
            }, 5_000, "a new controller that knows broker " + stopped + " left");
        } finally {
            cluster.restart(controller);
        }
        cluster.awaitTrue(() -> cluster.admin(controller).describeCluster(DescribeClusterRequest.getDefaultInstance())
                .getLiveBrokerIdsList().size() == 3, 10_000, "live again after the restart");
        io.rafka.common.TopicPartition tp = new io.rafka.common.TopicPartition("rolling", 0);
        Record r = RecordBatches.split(cluster.broker(leader).raftNode().read(tp, 0, 1 << 20).records()).get(0).records().get(0);
        assertEquals("r", new String(r.value(), StandardCharsets.UTF_8));
    }
}
