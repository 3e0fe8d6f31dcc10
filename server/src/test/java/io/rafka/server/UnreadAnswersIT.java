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
}
