package io.rafka.server.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchResponse;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.server.testing.RawBytes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link StrictParsing} on a real gRPC server and channel on 127.0.0.1. */
class StrictParsingTest {
    private static final int ANSWER_BYTES = 4 * 1024 * 1024;

    private final ByteString batches = randomBytes(ANSWER_BYTES);
    private final AtomicLong heapAllocatedBySend = new AtomicLong(-1);
    private final AtomicInteger fetchesServed = new AtomicInteger();
    private final List<Long> streamedIds = new CopyOnWriteArrayList<>();
    private final LinkedBlockingQueue<String> streamEnds = new LinkedBlockingQueue<>();
    private Server server;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws IOException {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(StrictParsing.wrap(new Fetches().bindService()))
                .addService(StrictParsing.wrap(new Produces().bindService()))
                .build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext()
                .maxInboundMessageSize(2 * ANSWER_BYTES).build();
    }

    @AfterEach
    void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void onlyRequestsAreRetypedResponsesKeepTheirOwnMarshaller() {
        ServerServiceDefinition original = new Fetches().bindService();
        ServerServiceDefinition wrapped = StrictParsing.wrap(original);
        assertEquals(original.getMethods().size(), wrapped.getMethods().size());
        for (ServerMethodDefinition<?, ?> method : original.getMethods()) {
            MethodDescriptor<?, ?> before = method.getMethodDescriptor();
            MethodDescriptor<?, ?> after = wrapped.getMethod(before.getFullMethodName()).getMethodDescriptor();
            assertSame(before.getResponseMarshaller(), after.getResponseMarshaller(), before.getFullMethodName());
            assertNotSame(before.getRequestMarshaller(), after.getRequestMarshaller(), before.getFullMethodName());
            assertEquals(before.getType(), after.getType());
        }
    }

    @Test
    void aLargeAnswerIsSerializedStraightIntoTheTransportNotCopiedIntoAnArrayOfItsSize() {
        FetchResponse answer = FetchServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                .fetch(FetchRequest.newBuilder().setMaxBytes(ANSWER_BYTES).build());
        assertEquals(batches, answer.getResults(0).getEncodedBatches());
        // Sending serializes on the calling thread. Through ServerInterceptors.useInputStreamMessages it first
        // serialized the whole answer into a new array (>= 4 MiB of heap); straight into the transport's pooled
        // buffers it allocates next to nothing on the heap.
        assertTrue(heapAllocatedBySend.get() >= 0 && heapAllocatedBySend.get() < ANSWER_BYTES / 4,
                "sending a 4 MiB answer allocated " + heapAllocatedBySend.get() + " bytes of heap");
    }

    @Test
    void aRequestThatIsNotProtobufIsAnsweredInvalidArgumentAndNeverReachesTheService() {
        MethodDescriptor<byte[], byte[]> raw = FetchServiceGrpc.getFetchMethod().toBuilder(new RawBytes(), new RawBytes()).build();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ClientCalls.blockingUnaryCall(
                channel.newCall(raw, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS)),
                new byte[]{(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01}));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.toString());
        assertEquals(Integer.toString(ErrorCode.INVALID_REQUEST.getNumber()), e.getTrailers().get(ApiErrors.ERROR_CODE_TRAILER));
        assertTrue(e.getStatus().getDescription().contains("rafka.v1.FetchService/Fetch"), e.getStatus().getDescription());
        assertEquals(0, fetchesServed.get());
    }

    @Test
    void aStreamIsAnsweredMessageByMessageAndEndsAtTheFirstMalformedOne() throws InterruptedException {
        MethodDescriptor<byte[], byte[]> raw = ProduceServiceGrpc.getProduceStreamMethod().toBuilder(new RawBytes(), new RawBytes()).build();
        ClientCall<byte[], byte[]> call = channel.newCall(raw, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
        LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
        StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(call, new StreamObserver<>() {
            @Override
            public void onNext(byte[] value) {
                events.add(value);
            }

            @Override
            public void onError(Throwable t) {
                events.add(t);
            }

            @Override
            public void onCompleted() {
                events.add("completed");
            }
        });
        for (long id = 1; id <= 3; id++) {
            requests.onNext(ProduceRequest.newBuilder().setRequestId(id).build().toByteArray());
            Object answer = events.poll(10, TimeUnit.SECONDS);
            assertInstanceOf(byte[].class, answer, String.valueOf(answer));
            assertEquals(id, parse((byte[]) answer).getRequestId());
        }
        requests.onNext(new byte[]{(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01});
        Object end = events.poll(10, TimeUnit.SECONDS);
        StatusRuntimeException e = assertInstanceOf(StatusRuntimeException.class, end, String.valueOf(end));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.toString());
        assertTrue(e.getStatus().getDescription().contains("rafka.v1.ProduceService/ProduceStream"), e.getStatus().getDescription());
        assertEquals(List.of(1L, 2L, 3L), streamedIds);
        // The service hears that its stream ended (a stream bound to a group member must let the member go).
        assertEquals("error CANCELLED, cancelled true", streamEnds.poll(10, TimeUnit.SECONDS));
    }

    private static ProduceResponse parse(byte[] bytes) {
        try {
            return ProduceResponse.parseFrom(bytes);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static ByteString randomBytes(int size) {
        byte[] bytes = new byte[size];
        new Random(7).nextBytes(bytes);
        return UnsafeByteOperations.unsafeWrap(bytes);
    }

    private static long heapAllocatedByThisThread() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    private final class Fetches extends FetchServiceGrpc.FetchServiceImplBase {
        @Override
        public void fetch(FetchRequest request, StreamObserver<FetchResponse> responses) {
            fetchesServed.incrementAndGet();
            FetchResponse answer = FetchResponse.newBuilder()
                    .addResults(PartitionFetchResult.newBuilder().setTopic("t").setEncodedBatches(batches)).build();
            long before = heapAllocatedByThisThread();
            responses.onNext(answer);
            heapAllocatedBySend.set(heapAllocatedByThisThread() - before);
            responses.onCompleted();
        }
    }

    private final class Produces extends ProduceServiceGrpc.ProduceServiceImplBase {
        @Override
        public StreamObserver<ProduceRequest> produceStream(StreamObserver<ProduceResponse> responses) {
            return new StreamObserver<>() {
                @Override
                public void onNext(ProduceRequest request) {
                    streamedIds.add(request.getRequestId());
                    responses.onNext(ProduceResponse.newBuilder().setRequestId(request.getRequestId()).build());
                }

                @Override
                public void onError(Throwable t) {
                    boolean cancelled = ((io.grpc.stub.ServerCallStreamObserver<ProduceResponse>) responses).isCancelled();
                    streamEnds.add("error " + Status.fromThrowable(t).getCode() + ", cancelled " + cancelled);
                }

                @Override
                public void onCompleted() {
                    streamEnds.add("completed");
                    responses.onCompleted();
                }
            };
        }
    }
}
