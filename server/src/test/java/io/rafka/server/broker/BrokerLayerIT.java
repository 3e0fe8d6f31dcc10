package io.rafka.server.broker;

import io.rafka.common.ErrorCode;
import io.rafka.common.InvalidRequestException;
import io.rafka.common.RafkaException;
import io.rafka.raft.Acks;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The broker layer called as a plain Java API, the way a second front end (a Kafka-protocol gateway) would:
 * {@link TopicAdmin}, {@link ReplicaManager} and {@link MetadataQuery} of one real broker, no protobuf.
 */
class BrokerLayerIT {
    @TempDir
    static Path tmp;
    static BrokerCluster cluster;
    static ReplicaManager replicas;
    static TopicAdmin admin;

    @BeforeAll
    static void start() throws Exception {
        cluster = BrokerCluster.start(1, tmp, Map.of("auto.create.topics.enable", "true"));
        replicas = cluster.broker(0).replicas();
        admin = cluster.broker(0).topicAdmin();
        CreateTopicsResult created = admin.createTopics(List.of(new NewTopic("layer", 1, 1, Map.of())), false);
        assertNull(created.results().get(0).error());
        assertEquals(1, created.created().get(0).partitions().size());
        cluster.awaitLeaders(0, "layer", 30_000);
    }

    @AfterAll
    static void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static ProducePartition records(String topic, String... values) {
        List<ProducePartition.NewRecord> records = java.util.Arrays.stream(values).map(v -> new ProducePartition.NewRecord(
                OptionalLong.empty(), null, v.getBytes(StandardCharsets.UTF_8), List.of())).toList();
        return new ProducePartition(topic, 0, new ProducePartition.Records(CompressionType.NONE.id, null, records));
    }

    private static ProduceResult produce(ProducePartition p, Acks acks) throws Exception {
        return replicas.produce(List.of(p), acks, 0).get(30, TimeUnit.SECONDS).get(0);
    }

    @Test
    void longPollFetchIsWokenByACommitAndReturnsTheStoredBytes() throws Exception {
        long end = replicas.listOffsets(List.of(new OffsetQuery("layer", 0, OffsetQuery.LATEST))).get(0).offset();
        CompletableFuture<List<PartitionRead>> waiting = replicas.fetch(List.of(new FetchPartition("layer", 0, end, 0)),
                1, 0, 1 << 20, 20_000, false, replicas.readBuffers().lease());
        Thread.sleep(200);
        assertFalse(waiting.isDone(), "nothing committed at " + end + " yet");
        ByteBuffer batch = new RecordBatchBuilder(CompressionType.NONE).append(1L, null, new byte[]{7}).build();
        ProduceResult r = produce(new ProducePartition("layer", 0, new ProducePartition.EncodedBatches(batch.asReadOnlyBuffer())), Acks.ALL);
        assertNull(r.error());
        assertEquals(end, r.baseOffset());
        PartitionRead read = waiting.get(10, TimeUnit.SECONDS).get(0);
        assertNull(read.error());
        assertEquals(end + 1, read.nextOffset());
        assertEquals(read.bytes(), read.batches().remaining());

        CompletableFuture<List<PartitionRead>> cancelled = replicas.fetch(List.of(new FetchPartition("layer", 0, end + 1, 0)),
                1, 0, 1 << 20, 20_000, true, replicas.readBuffers().lease());
        assertTrue(cancelled.cancel(false));
        assertNull(produce(records("layer", "after-cancel"), Acks.ALL).error(), "a cancelled fetch's waiter is gone quietly");
    }

    @Test
    void acksNoneAnswersAllMinusOne() throws Exception {
        ProduceResult r = produce(records("layer", "fire-and-forget"), Acks.NONE);
        assertNull(r.error());
        assertEquals(-1, r.baseOffset());
        assertEquals(-1, r.logAppendTimeMs());
        assertEquals(-1, r.logStartOffset());
    }

    @Test
    void decodedReadsAndOffsetQueries() throws Exception {
        ProduceResult r = produce(records("layer", "a", "b"), Acks.ALL);
        assertEquals(0, r.logStartOffset());
        PartitionRead read = replicas.read(new FetchPartition("layer", 0, r.baseOffset() + 1, 0), 1 << 20, true);
        assertNull(read.error());
        assertEquals("b", new String(read.records().get(0).value(), StandardCharsets.UTF_8));
        assertEquals(r.baseOffset() + 2, read.nextOffset());

        List<ListedOffset> offsets = replicas.listOffsets(List.of(new OffsetQuery("layer", 0, OffsetQuery.EARLIEST),
                new OffsetQuery("layer", 0, -7), new OffsetQuery("layer", -1, OffsetQuery.LATEST), new OffsetQuery("bad name", 0, 0)));
        assertEquals(0, offsets.get(0).offset());
        assertCode(ErrorCode.INVALID_REQUEST, offsets.get(1).error());
        assertCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, offsets.get(2).error());
        assertCode(ErrorCode.INVALID_TOPIC, offsets.get(3).error());
    }

    @Test
    void badInputIsTypedAndAutoCreateIsAPlainCall() throws Exception {
        assertThrows(InvalidRequestException.class, () -> replicas.produce(List.of(), Acks.ALL, 0));
        assertThrows(InvalidRequestException.class, () -> replicas.produce(List.of(records("layer", "x")), Acks.ALL, -1));
        RafkaException acks = assertThrows(RafkaException.class, () -> replicas.produce(List.of(records("layer", "x")), null, 0));
        assertEquals(ErrorCode.INVALID_REQUIRED_ACKS, acks.errorCode());
        assertThrows(InvalidRequestException.class, () -> replicas.fetch(List.of(), 0, 0, 1, 0, true, replicas.readBuffers().lease()));
        RafkaException size = assertThrows(RafkaException.class,
                () -> replicas.fetch(List.of(new FetchPartition("layer", 0, 0, 0)), -1, 0, 1, 0, true, replicas.readBuffers().lease()));
        assertEquals(ErrorCode.INVALID_FETCH_SIZE, size.errorCode());
        assertCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                replicas.read(new FetchPartition("layer", -3, 0, 0), 1 << 20, true).error(), "a negative partition is the client's error");
        assertCode(ErrorCode.INVALID_RECORD, produce(new ProducePartition("layer", 0, new ProducePartition.Missing()), Acks.ALL).error());

        assertCode(ErrorCode.LEADER_NOT_AVAILABLE, produce(records("auto-created", "x"), Acks.ALL).error(), "being created");
        cluster.awaitTrue(() -> new MetadataQuery(view(), admin, true).metadata(List.of("auto-created"), false)
                .topics().get(0).error() == null, 30_000, "auto-created topic");
    }

    /** A view of broker 0's cluster knowledge, built as the broker builds its own. */
    private static ClusterView view() {
        return new ClusterView(cluster.broker(0).config().nodeId(), cluster.broker(0).raftNode(), cluster.broker(0).metadata(),
                cluster.broker(0).config().logDefaults());
    }

    private static void assertCode(ErrorCode code, PartitionError error) {
        assertCode(code, error, "");
    }

    private static void assertCode(ErrorCode code, PartitionError error, String why) {
        assertTrue(error != null && error.error() instanceof RafkaException, why + ": " + error);
        assertEquals(code, ((RafkaException) error.error()).errorCode(), why + ": " + error.error().getMessage());
    }
}
