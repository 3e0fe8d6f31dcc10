package io.rafka.client.producer.internals;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;
import io.rafka.proto.v1.ProduceServiceGrpc;

import java.util.ArrayDeque;
import java.util.List;

/**
 * One {@code ProduceStream} to one broker, with the requests sent on it and not yet answered. The broker answers
 * in request order, so the oldest pending request is the one each answer belongs to. A stream that fails is
 * dropped whole; its pending requests fail with it and the sender opens a new one.
 */
final class BrokerStream implements StreamObserver<ProduceResponse> {

    /** A request on the wire: its batches, one per partition, in the request's order. */
    record Pending(long requestId, List<ProducerBatch> batches, long sentNanos) {
    }

    final BrokerAddress address;
    /** Guarded by the accumulator's lock. */
    final ArrayDeque<Pending> pending = new ArrayDeque<>();
    /** Guarded by the accumulator's lock. */
    boolean failed;
    private final Sender owner;
    private final StreamObserver<ProduceRequest> requests;

    BrokerStream(BrokerAddress address, ManagedChannel channel, Sender owner) {
        this.address = address;
        this.owner = owner;
        this.requests = ProduceServiceGrpc.newStub(channel).produceStream(this);
    }

    /** Called under the lock, by the sender thread only (a gRPC request stream is not thread-safe). */
    void send(ProduceRequest request, List<ProducerBatch> batches, long nowNanos) {
        pending.addLast(new Pending(request.getRequestId(), batches, nowNanos));
        requests.onNext(request);
    }

    /** Gives up on the stream (a request waited too long). */
    void cancel(Throwable why) {
        try {
            requests.onError(why);
        } catch (RuntimeException ignored) {
            // already closed
        }
    }

    void finish() {
        try {
            requests.onCompleted();
        } catch (RuntimeException ignored) {
            // already closed
        }
    }

    @Override
    public void onNext(ProduceResponse response) {
        owner.onResponse(this, response);
    }

    @Override
    public void onError(Throwable t) {
        owner.onStreamFailed(this, t);
    }

    @Override
    public void onCompleted() {
        owner.onStreamFailed(this, new IllegalStateException("broker " + address + " ended the produce stream"));
    }
}
