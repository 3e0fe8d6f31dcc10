package io.rafka.server;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchResponse;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordSet;
import io.rafka.server.grpc.ApiErrors;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fetch answers a client does not read stay in the broker's transport buffers: past
 * max.unread.answer.bytes.per.connection a connection's next fetch (and any other call answering data) is refused
 * BUSY, other connections are served, and once the client reads what it asked for the connection is served again.
 */
class UnreadAnswersIT {
    private static final int ASK = 512 * 1024;

    @TempDir
    Path tmp;

    @Test
    void aConnectionWhoseAnswersAreNotReadIsRefusedFurtherFetchesUntilItReadsThem() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(1, tmp, Map.of("max.unread.answer.bytes.per.connection",
                Integer.toString(2 * ASK)))) {
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                    NewTopic.newBuilder().setName("big").setPartitions(1).setReplicationFactor(1)).build()).getResults(0).getErrorCode());
            cluster.awaitLeaders(0, "big", 30_000);
            for (int i = 0; i < 4; i++) {   // 2 MB: each fetch below finds its 512 KiB
                RecordSet.Builder set = RecordSet.newBuilder();
                for (int r = 0; r < 500; r++) {
                    set.addRecords(ProducerRecord.newBuilder().setValue(ByteString.copyFrom(new byte[1000])));
                }
                var result = cluster.produce(0).produce(ProduceRequest.newBuilder().addPartitions(PartitionData.newBuilder()
                        .setTopic("big").setPartition(0).setRecords(set)).build()).getResults(0);
                assertEquals(ErrorCode.NONE, result.getErrorCode(), result.toString());
            }
            FetchRequest fetch = FetchRequest.newBuilder().setMaxBytes(ASK)
                    .addPartitions(PartitionFetch.newBuilder().setTopic("big").setPartition(0).setOffset(0).setMaxBytes(ASK)).build();
            // A client with a 64 KiB window that reads nothing: what does not fit stays with the broker.
            ManagedChannel lazy = NettyChannelBuilder.forAddress("127.0.0.1", cluster.grpcPort(0)).usePlaintext()
                    .flowControlWindow(64 * 1024).build();
            try {
                List<ClientCall<FetchRequest, FetchResponse>> unread = new ArrayList<>();
                List<CompletableFuture<Status>> ended = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    ClientCall<FetchRequest, FetchResponse> call = lazy.newCall(FetchServiceGrpc.getFetchMethod(),
                            CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS));
                    CompletableFuture<Status> end = new CompletableFuture<>();
                    call.start(new ClientCall.Listener<>() {
                        @Override
                        public void onClose(Status status, Metadata trailers) {
                            end.complete(status);
                        }
                    }, new Metadata());
                    call.sendMessage(fetch);
                    call.halfClose();   // and no request(1): its answer is not read
                    unread.add(call);
                    ended.add(end);
                }
                Thread.sleep(1_000);
                StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> FetchServiceGrpc
                        .newBlockingStub(lazy).withDeadlineAfter(10, TimeUnit.SECONDS).fetch(fetch));
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode(), refused.toString());
                assertEquals(Integer.toString(ErrorCode.BUSY.getNumber()), refused.getTrailers().get(ApiErrors.ERROR_CODE_TRAILER));
                assertTrue(refused.getStatus().getDescription().contains("max.unread.answer.bytes.per.connection"),
                        refused.toString());
                // Other calls that answer with data wait for the client to read too; another connection is served.
                StatusRuntimeException metadata = assertThrows(StatusRuntimeException.class, () -> io.rafka.proto.v1
                        .MetadataServiceGrpc.newBlockingStub(lazy).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .getMetadata(io.rafka.proto.v1.MetadataRequest.getDefaultInstance()));
                assertEquals(Integer.toString(ErrorCode.BUSY.getNumber()), metadata.getTrailers().get(ApiErrors.ERROR_CODE_TRAILER));
                assertEquals(ErrorCode.NONE, cluster.fetch(0).fetch(fetch).getResults(0).getErrorCode());

                unread.forEach(call -> call.request(1));   // the client reads what it asked for
                for (CompletableFuture<Status> end : ended) {
                    assertTrue(end.get(30, TimeUnit.SECONDS).isOk());
                }
                var again = FetchServiceGrpc.newBlockingStub(lazy).withDeadlineAfter(10, TimeUnit.SECONDS).fetch(fetch);
                assertEquals(ErrorCode.NONE, again.getResults(0).getErrorCode());
                assertEquals(1, io.rafka.proto.v1.MetadataServiceGrpc.newBlockingStub(lazy).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .getMetadata(io.rafka.proto.v1.MetadataRequest.getDefaultInstance()).getBrokersCount());
            } finally {
                lazy.shutdownNow();
            }
        }
    }

    /**
     * A unary answer many times its request (FetchOffsets of 20,000 partitions: a 60 KB request, a 4 MB answer) is
     * admitted at an estimate, but counted against the limits before the transport takes it: of three such calls a
     * client does not read, one is answered and the others are refused BUSY, instead of all three being held (the probe
     * of 2026-12-05 left 2.8 GB of such answers on a broker with two 161 KB requests). A topic name no topic could
     * have is refused (INVALID_TOPIC).
     */
    @Test
    void unaryAnswersFarLargerThanTheirRequestsAreCountedBeforeTheyAreWritten() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(1, tmp, Map.of("max.unread.answer.bytes.per.connection",
                Integer.toString(1 << 20), "group.coordinator.partitions", "1"))) {
            var groups = io.rafka.proto.v1.GroupServiceGrpc.newBlockingStub(cluster.channel(0));
            cluster.awaitTrue(() -> {
                try {
                    groups.withDeadlineAfter(10, TimeUnit.SECONDS).findCoordinator(io.rafka.proto.v1.FindCoordinatorRequest
                            .newBuilder().setGroupId("g").build());
                    groups.withDeadlineAfter(10, TimeUnit.SECONDS).fetchOffsets(io.rafka.proto.v1.FetchOffsetsRequest
                            .newBuilder().setGroupId("g").build());
                    return true;
                } catch (StatusRuntimeException notYet) {
                    return false;
                }
            }, 60_000, "the group coordinator serves");
            io.rafka.proto.v1.TopicPartitions.Builder many = io.rafka.proto.v1.TopicPartitions.newBuilder().setTopic("t".repeat(200));
            for (int p = 0; p < 20_000; p++) {
                many.addPartitions(p);
            }
            var request = io.rafka.proto.v1.FetchOffsetsRequest.newBuilder().setGroupId("g").addPartitions(many).build();
            ManagedChannel lazy = NettyChannelBuilder.forAddress("127.0.0.1", cluster.grpcPort(0)).usePlaintext()
                    .flowControlWindow(64 * 1024).maxInboundMessageSize(16 << 20).build();
            try {
                List<ClientCall<io.rafka.proto.v1.FetchOffsetsRequest, io.rafka.proto.v1.FetchOffsetsResponse>> unread = new ArrayList<>();
                List<CompletableFuture<Metadata>> ended = new ArrayList<>();
                List<Status> statuses = new java.util.concurrent.CopyOnWriteArrayList<>();
                for (int i = 0; i < 3; i++) {
                    var call = lazy.newCall(io.rafka.proto.v1.GroupServiceGrpc.getFetchOffsetsMethod(),
                            CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS));
                    CompletableFuture<Metadata> end = new CompletableFuture<>();
                    call.start(new ClientCall.Listener<>() {
                        @Override
                        public void onClose(Status status, Metadata trailers) {
                            statuses.add(status);
                            end.complete(trailers);
                        }
                    }, new Metadata());
                    call.sendMessage(request);
                    call.halfClose();   // and no request(1): its answer is not read
                    unread.add(call);
                    ended.add(end);
                }
                Thread.sleep(2_000);
                unread.forEach(call -> call.request(1));   // the client reads now
                for (CompletableFuture<Metadata> end : ended) {
                    end.get(30, TimeUnit.SECONDS);
                }
                assertEquals(1, statuses.stream().filter(Status::isOk).count(), statuses.toString());
                assertEquals(2, statuses.stream().filter(st -> st.getCode() == Status.Code.RESOURCE_EXHAUSTED).count(),
                        statuses.toString());
            } finally {
                lazy.shutdownNow();
            }
            StatusRuntimeException invalid = assertThrows(StatusRuntimeException.class, () -> groups.withDeadlineAfter(10,
                    TimeUnit.SECONDS).fetchOffsets(io.rafka.proto.v1.FetchOffsetsRequest.newBuilder().setGroupId("g")
                    .addPartitions(io.rafka.proto.v1.TopicPartitions.newBuilder().setTopic("bad name!").addPartitions(0)).build()));
            assertEquals(Integer.toString(ErrorCode.INVALID_TOPIC.getNumber()), invalid.getTrailers().get(ApiErrors.ERROR_CODE_TRAILER));
        }
    }

    /**
     * ProduceStream answers can be far larger than their requests (a topic name and an error per partition): a client
     * that sends and never reads its answers is not read from past max.unread.answer.bytes.per.connection, instead of
     * the broker holding produce.stream.window answers of any size (three such connections ran a broker out of direct
     * memory). Once the client reads, every request is answered.
     */
    @Test
    void aProduceStreamWhoseAnswersAreNotReadIsNotReadFromPastTheLimit() throws Exception {
        long limit = 1 << 20;
        try (BrokerCluster cluster = BrokerCluster.start(1, tmp, Map.of("max.unread.answer.bytes.per.connection",
                Long.toString(limit)))) {
            String topic = "t".repeat(200);
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                    NewTopic.newBuilder().setName(topic).setPartitions(1).setReplicationFactor(1)).build()).getResults(0).getErrorCode());
            cluster.awaitLeaders(0, topic, 30_000);
            ProduceRequest.Builder request = ProduceRequest.newBuilder();
            for (int p = 1; p <= 5_000; p++) {   // no such partitions: each answered at once with an error
                request.addPartitions(PartitionData.newBuilder().setTopic(topic).setPartition(p)
                        .setEncodedBatches(ByteString.copyFrom(new byte[]{1})));
            }
            ManagedChannel lazy = NettyChannelBuilder.forAddress("127.0.0.1", cluster.grpcPort(0)).usePlaintext().build();
            try {
                ClientCall<ProduceRequest, ProduceResponse> call = lazy.newCall(ProduceServiceGrpc.getProduceStreamMethod(),
                        CallOptions.DEFAULT.withDeadlineAfter(120, TimeUnit.SECONDS));
                List<ProduceResponse> answers = java.util.Collections.synchronizedList(new ArrayList<>());
                CompletableFuture<Status> end = new CompletableFuture<>();
                call.start(new ClientCall.Listener<>() {
                    @Override
                    public void onMessage(ProduceResponse message) {
                        answers.add(message);
                    }

                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        end.complete(status);
                    }
                }, new Metadata());
                int sent = 30;
                for (int i = 0; i < sent; i++) {
                    call.sendMessage(request.setRequestId(i).build());   // and no request(n): nothing is read
                }
                Thread.sleep(3_000);
                long answerBytes = 5_000L * (topic.length() + 20);   // at least this much per answer
                double unread = unreadAnswerBytes(cluster);
                assertTrue(unread >= answerBytes, "some answers are written: " + unread);
                assertTrue(unread <= limit + 3 * answerBytes * 2, "unread answers held by the broker: " + unread
                        + " bytes, limit " + limit);
                call.request(sent);   // the client reads
                call.halfClose();
                assertTrue(end.get(60, TimeUnit.SECONDS).isOk(), end.toString());
                assertEquals(sent, answers.size());
                for (int i = 0; i < sent; i++) {
                    ProduceResponse answer = answers.get(i);
                    assertEquals(i, answer.getRequestId());
                    assertEquals(5_000, answer.getResultsCount());
                    assertEquals(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, answer.getResults(4_999).getErrorCode());
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (unreadAnswerBytes(cluster) > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertEquals(0.0, unreadAnswerBytes(cluster), "every answer read is no longer counted");

                // A stream the broker ends with an error (a request with no partitions) while answers are unread
                // releases what it counted too: else the broker's total would never come down again.
                ClientCall<ProduceRequest, ProduceResponse> failing = lazy.newCall(ProduceServiceGrpc.getProduceStreamMethod(),
                        CallOptions.DEFAULT.withDeadlineAfter(120, TimeUnit.SECONDS));
                CompletableFuture<Status> failed = new CompletableFuture<>();
                failing.start(new ClientCall.Listener<>() {
                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        failed.complete(status);
                    }
                }, new Metadata());
                for (int i = 0; i < 3; i++) {
                    failing.sendMessage(request.setRequestId(100 + i).build());
                }
                failing.sendMessage(ProduceRequest.newBuilder().setRequestId(200).build());
                Thread.sleep(1_000);
                failing.request(10);
                assertEquals(Status.Code.INVALID_ARGUMENT, failed.get(60, TimeUnit.SECONDS).getCode());
                deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (unreadAnswerBytes(cluster) > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertEquals(0.0, unreadAnswerBytes(cluster), "a stream that failed counts nothing any more");
            } finally {
                lazy.shutdownNow();
            }
        }
    }

    private static double unreadAnswerBytes(BrokerCluster cluster) throws java.io.IOException {
        java.net.HttpURLConnection c = (java.net.HttpURLConnection) java.net.URI.create("http://127.0.0.1:"
                + cluster.httpPort(0) + "/metrics").toURL().openConnection();
        try (java.io.InputStream in = c.getInputStream()) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^rafka_unread_answer_bytes ([0-9.eE+-]+)$")
                    .matcher(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
            assertTrue(m.find(), "rafka_unread_answer_bytes is exported");
            return Double.parseDouble(m.group(1));
        }
    }
}
