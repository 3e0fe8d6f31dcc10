package io.rafka.server;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.AlterConfigsRequest;
import io.rafka.proto.v1.CreatePartitionsRequest;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.ListOffsetsRequest;
import io.rafka.proto.v1.MetadataRequest;
import io.rafka.proto.v1.MetadataServiceGrpc;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionTimestamp;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.proto.v1.RecordSet;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.server.grpc.ApiErrors;
import io.rafka.server.testing.BrokerCluster;
import io.rafka.server.testing.RawBytes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input over the wire, each case answered with its documented error (docs/api.md), after which the
 * broker still serves a good produce and fetch ({@link #brokerStillServes}, run after every test).
 */
class BadInputIT {
    private static final int MESSAGE_MAX_BYTES = 2000;
    private static final int MAX_REQUEST_BYTES = 64 * 1024;
    private static final int MAX_CONNECTIONS = 3;
    private static final int MAX_PARTITIONS_PER_REQUEST = 100;
    private static final int MAX_PARTITIONS_PER_BROKER = 200;
    private static final int MAX_RECORDS_PER_REQUEST = 100;

    @TempDir
    static Path tmp;
    static BrokerCluster cluster;
    static long goodOffset;

    @BeforeAll
    static void start() throws Exception {
        cluster = BrokerCluster.start(1, tmp, Map.of("auto.create.topics.enable", "false",
                "message.max.bytes", Integer.toString(MESSAGE_MAX_BYTES),
                "max.request.bytes", Integer.toString(MAX_REQUEST_BYTES),
                "max.connections", Integer.toString(MAX_CONNECTIONS),
                "max.partitions.per.request", Integer.toString(MAX_PARTITIONS_PER_REQUEST),
                "max.records.per.request", Integer.toString(MAX_RECORDS_PER_REQUEST),
                "max.partitions.per.broker", Integer.toString(MAX_PARTITIONS_PER_BROKER)));
        assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder()
                .addTopics(NewTopic.newBuilder().setName("good").setPartitions(1).setReplicationFactor(1)).build())
                .getResults(0).getErrorCode());
        cluster.awaitLeaders(0, "good", 30_000);
    }

    @AfterAll
    static void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @AfterEach
    void brokerStillServes() {
        var r = produce(PartitionData.newBuilder().setTopic("good").setPartition(0)
                .setRecords(RecordSet.newBuilder().addRecords(ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8("ok")))));
        assertEquals(ErrorCode.NONE, r.getErrorCode(), r.toString());
        assertEquals(goodOffset++, r.getBaseOffset());
        var f = fetchOne("good", 0, r.getBaseOffset());
        assertEquals(ErrorCode.NONE, f.getErrorCode());
        assertEquals("ok", f.getRecords(0).getValue().toStringUtf8());
    }

    private static io.rafka.proto.v1.PartitionProduceResult produce(PartitionData.Builder data) {
        return cluster.produce(0).produce(ProduceRequest.newBuilder().addPartitions(data).build()).getResults(0);
    }

    private static io.rafka.proto.v1.PartitionFetchResult fetchOne(String topic, int partition, long offset) {
        return cluster.fetch(0).fetch(FetchRequest.newBuilder().setFormat(RecordFormat.RECORD_FORMAT_DECODED)
                .addPartitions(PartitionFetch.newBuilder().setTopic(topic).setPartition(partition).setOffset(offset)).build())
                .getResults(0);
    }

    private static PartitionData.Builder records(String topic, int partition, ProducerRecord... records) {
        return PartitionData.newBuilder().setTopic(topic).setPartition(partition)
                .setRecords(RecordSet.newBuilder().addAllRecords(List.of(records)));
    }

    private static ProducerRecord value(int bytes) {
        return ProducerRecord.newBuilder().setValue(ByteString.copyFrom(new byte[bytes])).build();
    }

    private static void assertStatus(Status.Code code, ErrorCode error, Runnable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
        assertEquals(code, e.getStatus().getCode(), e.toString());
        if (error != null) {
            assertEquals(Integer.toString(error.getNumber()), e.getTrailers().get(ApiErrors.ERROR_CODE_TRAILER), e.toString());
        }
        assertTrue(e.getStatus().getDescription() != null && !e.getStatus().getDescription().isBlank(), "a clear message");
    }

    @Test
    void malformedProtobufIsRejected() {
        MethodDescriptor<byte[], byte[]> raw = MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName("rafka.v1.ProduceService/Produce")
                .setRequestMarshaller(new RawBytes()).setResponseMarshaller(new RawBytes()).build();
        ClientCall<byte[], byte[]> call = cluster.channel(0).newCall(raw, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> ClientCalls.blockingUnaryCall(call, new byte[]{(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01}));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
        assertEquals(Integer.toString(ErrorCode.INVALID_REQUEST.getNumber()), e.getTrailers().get(ApiErrors.ERROR_CODE_TRAILER));
        assertTrue(e.getStatus().getDescription().contains("rafka.v1.ProduceService/Produce"), e.getStatus().getDescription());
    }

    @Test
    void unknownTopicsAndPartitions() {
        assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, produce(records("missing", 0, value(1))).getErrorCode());
        assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, produce(records("good", 7, value(1))).getErrorCode());
        assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, produce(records("good", -1, value(1))).getErrorCode());
        assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, fetchOne("missing", 0, 0).getErrorCode());
        assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, fetchOne("good", 1, 0).getErrorCode());
        var md = cluster.metadata(0).getMetadata(MetadataRequest.newBuilder().addTopics("missing").setAllowAutoTopicCreation(true).build());
        assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, md.getTopics(0).getErrorCode(), "auto-create is off here");
    }

    @Test
    void offsetsOutOfRange() {
        var negative = fetchOne("good", 0, -5);
        assertEquals(ErrorCode.OFFSET_OUT_OF_RANGE, negative.getErrorCode());
        assertEquals(ErrorCode.OFFSET_OUT_OF_RANGE, fetchOne("good", 0, 1_000_000).getErrorCode());
        var lo = cluster.fetch(0).listOffsets(ListOffsetsRequest.newBuilder()
                .addPartitions(PartitionTimestamp.newBuilder().setTopic("good").setPartition(0).setTimestampMs(-7)).build());
        assertEquals(ErrorCode.INVALID_REQUEST, lo.getResults(0).getErrorCode());
    }

    @Test
    void aMinimumAboveTheFetchLimitIsAnsweredOnceTheLimitsWorthIsThere() {
        var r = produce(records("good", 0, value(500)));
        assertEquals(ErrorCode.NONE, r.getErrorCode(), r.toString());
        goodOffset++;
        long start = System.nanoTime();
        // The response may hold 100 bytes, so 64 MiB could never be read: without the minimum capped at the limit
        // the fetch would wait out its 20 s.
        var f = cluster.fetch(0).withDeadlineAfter(30, TimeUnit.SECONDS).fetch(FetchRequest.newBuilder()
                .setMinBytes(64 << 20).setMaxBytes(100).setMaxWaitMs(20_000).setFormat(RecordFormat.RECORD_FORMAT_DECODED)
                .addPartitions(PartitionFetch.newBuilder().setTopic("good").setPartition(0).setOffset(r.getBaseOffset())).build());
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(ErrorCode.NONE, f.getResults(0).getErrorCode());
        assertTrue(f.getResults(0).getRecordsCount() > 0 && ms < 10_000, "answered after " + ms + " ms: " + f);
    }

    @Test
    void aRequestListingMorePartitionsThanAllowedIsRefused() {
        // The same partition over and over: each entry is read again on every commit while the fetch waits.
        FetchRequest.Builder fetch = FetchRequest.newBuilder().setMaxWaitMs(1_000);
        ProduceRequest.Builder produce = ProduceRequest.newBuilder();
        ListOffsetsRequest.Builder offsets = ListOffsetsRequest.newBuilder();
        for (int i = 0; i <= MAX_PARTITIONS_PER_REQUEST; i++) {
            fetch.addPartitions(PartitionFetch.newBuilder().setTopic("good").setPartition(0).setOffset(0));
            produce.addPartitions(records("good", 0, value(1)));
            offsets.addPartitions(PartitionTimestamp.newBuilder().setTopic("good").setPartition(0).setTimestampMs(-1));
        }
        assertStatus(Status.Code.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST, () -> cluster.fetch(0).fetch(fetch.build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST, () -> cluster.produce(0).produce(produce.build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST, () -> cluster.fetch(0).listOffsets(offsets.build()));
        io.rafka.proto.v1.CommitOffsetsRequest.Builder commit = io.rafka.proto.v1.CommitOffsetsRequest.newBuilder().setGroupId("g");
        for (int i = 0; i <= MAX_PARTITIONS_PER_REQUEST; i++) {
            commit.addOffsets(io.rafka.proto.v1.OffsetCommit.newBuilder().setTopic("good").setPartition(0).setOffset(i));
        }
        assertStatus(Status.Code.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST, () -> io.rafka.proto.v1.GroupServiceGrpc
                .newBlockingStub(cluster.channel(0)).withDeadlineAfter(10, TimeUnit.SECONDS).commitOffsets(commit.build()));
        // At the limit: served.
        FetchRequest.Builder atLimit = FetchRequest.newBuilder().setMaxWaitMs(1_000)
                .addPartitions(PartitionFetch.newBuilder().setTopic("good").setPartition(0).setOffset(0));
        for (int i = 1; i < MAX_PARTITIONS_PER_REQUEST; i++) {
            atLimit.addPartitions(PartitionFetch.newBuilder().setTopic("good").setPartition(i).setOffset(0));
        }
        assertEquals(MAX_PARTITIONS_PER_REQUEST, cluster.fetch(0).fetch(atLimit.build()).getResultsCount());
    }

    /**
     * A fetch answers each partition once: one listing a partition twice is refused. Every entry counts against
     * max_bytes, not only record bytes, and past it the remaining errors keep their codes but not their messages,
     * so a fetch of many unknown topics with long names is not answered with twice its size.
     */
    @Test
    void aFetchAnswerStaysNearItsLimit() {
        assertStatus(Status.Code.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST, () -> cluster.fetch(0).fetch(FetchRequest.newBuilder()
                .addPartitions(PartitionFetch.newBuilder().setTopic("good").setPartition(0).setOffset(0))
                .addPartitions(PartitionFetch.newBuilder().setTopic("good").setPartition(0).setOffset(0)).build()));
        FetchRequest.Builder unknown = FetchRequest.newBuilder().setMaxBytes(4_096);
        String prefix = "u".repeat(240);
        for (int i = 0; i < MAX_PARTITIONS_PER_REQUEST; i++) {
            unknown.addPartitions(PartitionFetch.newBuilder().setTopic(prefix.substring(Integer.toString(i).length()) + i)
                    .setPartition(0).setOffset(0));
        }
        var answer = cluster.fetch(0).fetch(unknown.build());
        assertEquals(MAX_PARTITIONS_PER_REQUEST, answer.getResultsCount());
        answer.getResultsList().forEach(r -> assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, r.getErrorCode(), r.getTopic()));
        assertFalse(answer.getResults(0).getErrorMessage().isEmpty(), "the first errors keep their messages");
        assertTrue(answer.getResults(MAX_PARTITIONS_PER_REQUEST - 1).getErrorMessage().isEmpty(), "the last ones do not");
        // Each entry past the limit is its topic name and offsets: about 290 bytes here; with its message, 540.
        int bound = 4_096 + 600 + (MAX_PARTITIONS_PER_REQUEST - 1) * 290;
        assertTrue(answer.getSerializedSize() <= bound, answer.getSerializedSize() + " bytes answered, more than " + bound);

        // Idle partitions listed first do not use up a small limit: the last one's record still comes.
        String idle = "i".repeat(100);
        assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder()
                .addTopics(NewTopic.newBuilder().setName(idle).setPartitions(10).setReplicationFactor(1)).build())
                .getResults(0).getErrorCode());
        cluster.awaitLeaders(0, idle, 30_000);
        assertEquals(ErrorCode.NONE, produce(records(idle, 9, value(10))).getErrorCode());
        FetchRequest.Builder small = FetchRequest.newBuilder().setMaxBytes(300).setFormat(RecordFormat.RECORD_FORMAT_DECODED);
        for (int p = 0; p < 10; p++) {
            small.addPartitions(PartitionFetch.newBuilder().setTopic(idle).setPartition(p).setOffset(0));
        }
        assertEquals(1, cluster.fetch(0).fetch(small.build()).getResults(9).getRecordsCount(), "the last partition's record");
    }

    /**
     * Structured records cost an object each to parse, from two bytes on the wire: a produce request holding more
     * (records and headers, over all its partitions) than max.records.per.request is refused before it is parsed.
     */
    @Test
    void aProduceRequestHoldingMoreStructuredRecordsThanAllowedIsRefused() {
        RecordSet.Builder half = RecordSet.newBuilder();
        for (int i = 0; i <= MAX_RECORDS_PER_REQUEST / 2; i++) {
            half.addRecords(ProducerRecord.getDefaultInstance());
        }
        ProduceRequest twoHalves = ProduceRequest.newBuilder()
                .addPartitions(PartitionData.newBuilder().setTopic("good").setPartition(0).setRecords(half))
                .addPartitions(PartitionData.newBuilder().setTopic("good").setPartition(0).setRecords(half)).build();
        assertStatus(Status.Code.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST, () -> cluster.produce(0).produce(twoHalves));
        // Compressed on the wire (a few bytes for any number of empty records), counted as it decompresses to.
        assertStatus(Status.Code.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST,
                () -> cluster.produce(0).withCompression("gzip").produce(twoHalves));
        ProducerRecord.Builder headed = ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8("h"));
        for (int i = 0; i < MAX_RECORDS_PER_REQUEST; i++) {
            headed.addHeaders(io.rafka.proto.v1.RecordHeader.newBuilder());
        }
        StatusRuntimeException headers = assertThrows(StatusRuntimeException.class,
                () -> produce(records("good", 0, headed.build())));
        assertTrue(headers.getStatus().getDescription().contains("max.records.per.request"), headers.toString());
        // At the limit: written.
        ProducerRecord[] atLimit = new ProducerRecord[MAX_RECORDS_PER_REQUEST];
        java.util.Arrays.fill(atLimit, ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8("x")).build());
        var written = produce(records("good", 0, atLimit));
        assertEquals(ErrorCode.NONE, written.getErrorCode(), written.toString());
        goodOffset += MAX_RECORDS_PER_REQUEST;
    }

    @Test
    void oversizedRecordsAndRequests() {
        var big = produce(records("good", 0, value(MESSAGE_MAX_BYTES + 100)));
        assertEquals(ErrorCode.RECORD_TOO_LARGE, big.getErrorCode());
        assertTrue(big.getErrorMessage().contains("message.max.bytes"), big.getErrorMessage());
        assertTrue(big.getErrorMessage().contains("the topic's max.message.bytes"), "names the key in effect: "
                + big.getErrorMessage());
        assertStatus(Status.Code.RESOURCE_EXHAUSTED, null, () -> produce(records("good", 0, value(MAX_REQUEST_BYTES + 1024))));
    }

    /**
     * A topic's max.message.bytes may exceed the broker's message.max.bytes (as in Kafka), but not what one Raft entry
     * holds (message.max.bytes + 63 KiB here): such a topic would refuse every larger batch with RECORD_LIST_TOO_LARGE.
     */
    @Test
    void aTopicMessageSizeAboveWhatOneRaftEntryHoldsIsRefused() {
        int limit = MESSAGE_MAX_BYTES + 64 * 1024 - 1024;
        Function<String, io.rafka.proto.v1.TopicResult> create = bytes -> cluster.admin(0).createTopics(CreateTopicsRequest
                .newBuilder().addTopics(NewTopic.newBuilder().setName("roomy").setPartitions(1).setReplicationFactor(1)
                        .putConfigs("max.message.bytes", bytes)).build()).getResults(0);
        io.rafka.proto.v1.TopicResult refused = create.apply(Integer.toString(16 * 1024 * 1024));
        assertEquals(ErrorCode.INVALID_CONFIG, refused.getErrorCode(), refused.toString());
        assertTrue(refused.getErrorMessage().contains("at most " + limit), refused.getErrorMessage());
        assertEquals(ErrorCode.INVALID_CONFIG, create.apply(Integer.toString(limit + 1)).getErrorCode());
        assertEquals(ErrorCode.NONE, create.apply(Integer.toString(limit)).getErrorCode(), "the largest that fits");
        cluster.awaitLeaders(0, "roomy", 30_000);
        var altered = cluster.admin(0).alterConfigs(AlterConfigsRequest.newBuilder()
                .setTopic("roomy").putSet("max.message.bytes", Integer.toString(limit + 1)).build()).getResult();
        assertEquals(ErrorCode.INVALID_CONFIG, altered.getErrorCode(), altered.toString());
        // What the topic allows is usable: a record of 20 times the broker's message.max.bytes.
        assertEquals(ErrorCode.NONE, produce(records("roomy", 0, value(20 * MESSAGE_MAX_BYTES))).getErrorCode());
    }

    /**
     * A record dated more than message.timestamp.after.max.ms (an hour by default, as Kafka's) ahead of the broker's
     * clock is refused: time retention goes by a segment's newest record, so it would keep its segment, and every
     * later one, that long. A topic may allow more.
     */
    @Test
    void aRecordDatedTooFarInTheFutureIsRefusedUnlessTheTopicAllowsIt() {
        for (String topic : List.of("hourly", "clocks")) {
            NewTopic.Builder t = NewTopic.newBuilder().setName(topic).setPartitions(1).setReplicationFactor(1);
            if (topic.equals("clocks")) {
                t.putConfigs("message.timestamp.after.max.ms", "86400000");
            }
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(t).build())
                    .getResults(0).getErrorCode());
            cluster.awaitLeaders(0, topic, 30_000);
        }
        long inTwoHours = System.currentTimeMillis() + 2 * 3_600_000L;
        ProducerRecord future = ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8("later"))
                .setTimestampMs(inTwoHours).build();
        var refused = produce(records("hourly", 0, future));
        assertEquals(ErrorCode.INVALID_RECORD, refused.getErrorCode(), refused.toString());
        assertTrue(refused.getErrorMessage().contains("message.timestamp.after.max.ms = 3600000"), refused.getErrorMessage());
        var soon = produce(records("hourly", 0, ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8("soon"))
                .setTimestampMs(System.currentTimeMillis() + 600_000).build()));
        assertEquals(ErrorCode.NONE, soon.getErrorCode(), "ten minutes ahead is within the hour");
        assertEquals(ErrorCode.NONE, produce(records("clocks", 0, future)).getErrorCode(), "a day allowed");
    }

    @Test
    void invalidTopicNamesAndCounts() {
        Function<NewTopic.Builder, ErrorCode> create = t -> cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder()
                .addTopics(t).build()).getResults(0).getErrorCode();
        for (String bad : List.of("", ".", "..", "has space", "slash/", "x".repeat(250), "ünicode")) {
            assertEquals(ErrorCode.INVALID_TOPIC, create.apply(NewTopic.newBuilder().setName(bad).setPartitions(1)), "name '" + bad + "'");
        }
        assertEquals(ErrorCode.INVALID_TOPIC, produce(records("has space", 0, value(1))).getErrorCode());
        assertEquals(ErrorCode.INVALID_PARTITIONS, create.apply(NewTopic.newBuilder().setName("t1").setPartitions(-1)));
        assertEquals(ErrorCode.INVALID_PARTITIONS, create.apply(NewTopic.newBuilder().setName("t1").setPartitions(1_000_000)));
        assertEquals(ErrorCode.INVALID_REPLICATION_FACTOR, create.apply(NewTopic.newBuilder().setName("t1").setPartitions(1).setReplicationFactor(2)));
        assertEquals(ErrorCode.INVALID_REPLICATION_FACTOR, create.apply(NewTopic.newBuilder().setName("t1").setPartitions(1).setReplicationFactor(-1)));
        assertEquals(ErrorCode.INVALID_CONFIG, create.apply(NewTopic.newBuilder().setName("t1").setPartitions(1).putConfigs("retention.ms", "soon")));
        assertEquals(ErrorCode.INVALID_CONFIG, create.apply(NewTopic.newBuilder().setName("t1").setPartitions(1).putConfigs("no.such.key", "1")));
        assertEquals(ErrorCode.TOPIC_ALREADY_EXISTS, create.apply(NewTopic.newBuilder().setName("good").setPartitions(1)));
        // Made by hand before any group used it, the groups' topic still gets what its records need, and the
        // coordinator's partition count and segment size.
        assertEquals(ErrorCode.NONE, create.apply(NewTopic.newBuilder().setName("__consumer_offsets").setPartitions(2)
                .setReplicationFactor(1).putConfigs("retention.ms", "60000").putConfigs("segment.ms", "60000")));
        var internalTopic = cluster.admin(0).describeTopics(io.rafka.proto.v1.DescribeTopicsRequest.newBuilder()
                .addNames("__consumer_offsets").build()).getTopics(0);
        assertEquals(Map.of("retention.ms", "-1", "retention.bytes", "-1", "segment.ms", "60000", "segment.bytes",
                Integer.toString(16 << 20)), internalTopic.getConfigsMap());
        assertEquals(16, internalTopic.getPartitionsCount(), "group.coordinator.partitions");
        var tooMany = cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
                .setName("t1").setPartitions(MAX_PARTITIONS_PER_BROKER + 1).setReplicationFactor(1)).build()).getResults(0);
        assertEquals(ErrorCode.POLICY_VIOLATION, tooMany.getErrorCode(), tooMany.toString());
        assertTrue(tooMany.getErrorMessage().contains("above max.partitions.per.broker (" + MAX_PARTITIONS_PER_BROKER + ")"),
                tooMany.getErrorMessage());
        assertEquals(ErrorCode.POLICY_VIOLATION, cluster.admin(0).createPartitions(CreatePartitionsRequest.newBuilder()
                .setTopic("good").setTotalCount(MAX_PARTITIONS_PER_BROKER + 1).build()).getResult().getErrorCode());
        assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, cluster.admin(0).createPartitions(CreatePartitionsRequest.newBuilder()
                .setTopic("t1").setTotalCount(2).build()).getResult().getErrorCode(), "the refused topic was not made");
        assertEquals(ErrorCode.INVALID_PARTITIONS, cluster.admin(0).createPartitions(CreatePartitionsRequest.newBuilder()
                .setTopic("good").setTotalCount(1).build()).getResult().getErrorCode(), "partitions can only grow");
        assertEquals(ErrorCode.INVALID_CONFIG, cluster.admin(0).alterConfigs(AlterConfigsRequest.newBuilder()
                .setTopic("good").putSet("segment.bytes", "-3").build()).getResult().getErrorCode());
        assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, cluster.admin(0).alterConfigs(AlterConfigsRequest.newBuilder()
                .setTopic("missing").putSet("retention.ms", "1000").build()).getResult().getErrorCode());
        assertEquals(ErrorCode.INVALID_REQUEST, cluster.admin(0).alterConfigs(AlterConfigsRequest.newBuilder()
                .setTopic("good").putSet("retention.ms", "1000").addDelete("retention.ms").build()).getResult().getErrorCode(),
                "a key both set and deleted");
        assertEquals(ErrorCode.INVALID_CONFIG, cluster.admin(0).alterConfigs(AlterConfigsRequest.newBuilder()
                .setTopic("good").addDelete("retention.mss").build()).getResult().getErrorCode(), "a misspelt key deleted");
        assertEquals(ErrorCode.NONE, cluster.admin(0).alterConfigs(AlterConfigsRequest.newBuilder()
                .setTopic("good").addDelete("retention.ms").build()).getResult().getErrorCode(), "a key not set, deleted");
        // A name given twice: refused, each time it appears, and nothing deleted (as Kafka's INVALID_REQUEST).
        var deleted = cluster.admin(0).deleteTopics(io.rafka.proto.v1.DeleteTopicsRequest.newBuilder()
                .addNames("good").addNames("good").build());
        assertEquals(List.of(ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST),
                deleted.getResultsList().stream().map(r -> r.getErrorCode()).toList(), deleted.toString());
        assertEquals(ErrorCode.TOPIC_ALREADY_EXISTS, create.apply(NewTopic.newBuilder().setName("good").setPartitions(1)),
                "still there");
        // A broker id far too long for an id: a typed refusal, not a transport error from the echoed id.
        io.grpc.StatusRuntimeException longId = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
                () -> cluster.admin(0).replaceBroker(io.rafka.proto.v1.ReplaceBrokerRequest.newBuilder()
                        .setBrokerId("b".repeat(10_000)).build()));
        assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, longId.getStatus().getCode(), longId.toString());
    }

    /** A client asking about more topics than one GetMetadata takes (10,000 names) asks in parts instead of failing. */
    @Test
    void aMetadataRefreshOfMoreTopicsThanARequestTakesAsksInParts() {
        List<String> topics = new java.util.ArrayList<>();
        for (int i = 0; i < 12_000; i++) {
            topics.add("m" + i);
        }
        topics.add("good");
        try (io.rafka.client.internals.ChannelPool channels = new io.rafka.client.internals.ChannelPool(address ->
                io.grpc.ManagedChannelBuilder.forAddress(address.host(), address.port()).usePlaintext().build())) {
            var client = new io.rafka.client.internals.MetadataClient(channels,
                    io.rafka.client.internals.BrokerAddress.parse("127.0.0.1:" + cluster.grpcPort(0)), io.rafka.common.Time.SYSTEM, 0);
            var metadata = client.refresh(topics, false);
            assertEquals(1, metadata.topic("good").orElseThrow().getPartitionsCount());
            assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, metadata.topic("m11999").orElseThrow().getErrorCode());
            assertTrue(client.leader(new io.rafka.common.TopicPartition("good", 0)).isPresent());
        }
    }

    @Test
    void garbageInEncodedBatches() {
        byte[] garbage = new byte[200];
        new java.util.Random(42).nextBytes(garbage);
        assertEquals(ErrorCode.CORRUPT_MESSAGE, produce(PartitionData.newBuilder().setTopic("good").setPartition(0)
                .setEncodedBatches(ByteString.copyFrom(garbage))).getErrorCode());
        ByteBuffer batch = new RecordBatchBuilder(CompressionType.NONE).append(1L, null, new byte[]{1, 2, 3}).build();
        byte[] flipped = new byte[batch.remaining()];
        batch.get(flipped);
        flipped[flipped.length - 2] ^= 0x40; // inside the record: the CRC no longer matches
        assertEquals(ErrorCode.CORRUPT_MESSAGE, produce(PartitionData.newBuilder().setTopic("good").setPartition(0)
                .setEncodedBatches(ByteString.copyFrom(flipped))).getErrorCode());
        assertEquals(ErrorCode.INVALID_RECORD, produce(PartitionData.newBuilder().setTopic("good").setPartition(0)
                .setRecords(RecordSet.getDefaultInstance())).getErrorCode(), "an empty record set");
        assertEquals(ErrorCode.INVALID_RECORD, produce(PartitionData.newBuilder().setTopic("good").setPartition(0)
                .setRecords(RecordSet.newBuilder().addRecords(value(1)).setProducer(io.rafka.proto.v1.ProducerIdentity.newBuilder()
                        .setProducerId(7).setProducerEpoch(-1)))).getErrorCode(), "a negative producer epoch");
        assertEquals(ErrorCode.INVALID_RECORD, produce(PartitionData.newBuilder().setTopic("good").setPartition(0)).getErrorCode(),
                "partition data with no records at all");
    }

    @Test
    void malformedRequestFields() {
        assertStatus(Status.Code.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST,
                () -> cluster.produce(0).produce(ProduceRequest.getDefaultInstance()));
        assertStatus(Status.Code.INVALID_ARGUMENT, ErrorCode.INVALID_REQUIRED_ACKS,
                () -> cluster.produce(0).produce(ProduceRequest.newBuilder().setAcksValue(99).addPartitions(records("good", 0, value(1))).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST,
                () -> cluster.fetch(0).fetch(FetchRequest.getDefaultInstance()));
        assertStatus(Status.Code.INVALID_ARGUMENT, ErrorCode.INVALID_FETCH_SIZE,
                () -> cluster.fetch(0).fetch(FetchRequest.newBuilder().setMaxWaitMs(-1)
                        .addPartitions(PartitionFetch.newBuilder().setTopic("good")).build()));
        var negativeSize = cluster.fetch(0).fetch(FetchRequest.newBuilder()
                .addPartitions(PartitionFetch.newBuilder().setTopic("good").setMaxBytes(-1)).build()).getResults(0);
        assertEquals(ErrorCode.INVALID_FETCH_SIZE, negativeSize.getErrorCode());
        assertEquals(ErrorCode.NONE, cluster.produce(0).produce(ProduceRequest.newBuilder().setAcks(Acks.ACKS_ALL)
                .addPartitions(records("good", 0, value(1))).build()).getResults(0).getErrorCode());
        goodOffset++;
    }

    /**
     * A client that streams produce requests and never reads the answers is, after a while, not read from either:
     * the broker's answers (here each ~100x its request: an error per partition, naming the topic) do not pile up
     * in its memory without bound.
     */
    @Test
    void aProduceStreamWhoseAnswersAreNotReadIsNotReadEither() throws Exception {
        ProduceRequest.Builder request = ProduceRequest.newBuilder();
        for (int i = 0; i < MAX_PARTITIONS_PER_REQUEST; i++) {
            request.addPartitions(PartitionData.newBuilder().setTopic("n".repeat(249)).setPartition(i));
        }
        ProduceRequest bulky = request.build();
        int toSend = 2_000;   // ~50 KB each: 100 MB if every one were read
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", cluster.grpcPort(0)).usePlaintext().build();
        try {
            ClientCall<ProduceRequest, io.rafka.proto.v1.ProduceResponse> call = ch.newCall(
                    io.rafka.proto.v1.ProduceServiceGrpc.getProduceStreamMethod(), CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS));
            Object ready = new Object();
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onReady() {
                    synchronized (ready) {
                        ready.notifyAll();
                    }
                }
            }, new io.grpc.Metadata());
            // call.request() is never called: no answer is read.
            int sent = 0;
            long stalledSince = 0;
            while (sent < toSend) {
                if (call.isReady()) {
                    call.sendMessage(bulky);
                    sent++;
                    stalledSince = 0;
                    continue;
                }
                if (stalledSince == 0) {
                    stalledSince = System.nanoTime();
                } else if (System.nanoTime() - stalledSince > TimeUnit.SECONDS.toNanos(3)) {
                    break;
                }
                synchronized (ready) {
                    ready.wait(100);
                }
            }
            assertTrue(sent < toSend / 4, "the broker read " + sent + " requests whose answers were not read");
            call.cancel("done", null);
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void tooManyConnections() throws Exception {
        // Plain TCP probes that never speak HTTP/2 must not free up connection slots when they go away.
        for (int i = 0; i < 5; i++) {
            try (java.net.Socket probe = new java.net.Socket("127.0.0.1", cluster.grpcPort(0))) {
                probe.getOutputStream().write("hello\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
        }
        Thread.sleep(500);
        List<ManagedChannel> extra = new ArrayList<>();
        int refused = 0;
        int served = 0;
        ManagedChannel firstServed = null;
        ManagedChannel firstRefused = null;
        try {
            for (int i = 0; i < MAX_CONNECTIONS + 2; i++) {
                ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", cluster.grpcPort(0)).usePlaintext().build();
                extra.add(ch);
                try {
                    MetadataServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                            .getMetadata(MetadataRequest.getDefaultInstance());
                    served++;
                    firstServed = firstServed == null ? ch : firstServed;
                } catch (StatusRuntimeException e) {
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.toString());
                    assertEquals(Integer.toString(ErrorCode.BUSY.getNumber()), e.getTrailers().get(ApiErrors.ERROR_CODE_TRAILER));
                    assertTrue(e.getStatus().getDescription().contains("max.connections"));
                    refused++;
                    firstRefused = firstRefused == null ? ch : firstRefused;
                }
            }
            // The test's own channel to the broker holds one of the connections.
            assertEquals(MAX_CONNECTIONS - 1, served);
            assertEquals(3, refused);
            // A client retrying BUSY on its connection is served once a served connection closes.
            firstServed.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            ManagedChannel retrying = firstRefused;
            cluster.awaitTrue(() -> {
                try {
                    MetadataServiceGrpc.newBlockingStub(retrying).withDeadlineAfter(5, TimeUnit.SECONDS)
                            .getMetadata(MetadataRequest.getDefaultInstance());
                    return true;
                } catch (StatusRuntimeException e) {
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.toString());
                    return false;
                }
            }, 10_000, "the refused connection served once a place freed");
        } finally {
            extra.forEach(ManagedChannel::shutdownNow);
            for (ManagedChannel ch : extra) {
                ch.awaitTermination(5, TimeUnit.SECONDS);
            }
        }
        // Once the extra connections are gone, new ones are served again.
        cluster.awaitTrue(() -> {
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", cluster.grpcPort(0)).usePlaintext().build();
            try {
                MetadataServiceGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.SECONDS).getMetadata(MetadataRequest.getDefaultInstance());
                return true;
            } finally {
                ch.shutdownNow();
            }
        }, 10_000, "connections freed");
    }
}
