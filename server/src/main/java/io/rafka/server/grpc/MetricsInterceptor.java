package io.rafka.server.grpc;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.rafka.server.metrics.BrokerMetrics;

/**
 * Counts every call by method and status, and times it from start to close; a call the client ended first (its
 * deadline passed, it cancelled, it went away) counts once, as CANCELLED.
 */
public final class MetricsInterceptor implements ServerInterceptor {
    private final BrokerMetrics metrics;

    public MetricsInterceptor(BrokerMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        long start = System.nanoTime();
        String bare = call.getMethodDescriptor().getBareMethodName();
        String method = bare == null ? "unknown" : bare;
        java.util.concurrent.atomic.AtomicBoolean counted = new java.util.concurrent.atomic.AtomicBoolean();
        ServerCall.Listener<Q> listener = next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                if (counted.compareAndSet(false, true)) {
                    metrics.request(method, status.getCode().name(), (System.nanoTime() - start) / 1e9);
                }
                super.close(status, trailers);
            }
        }, headers);
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
            @Override
            public void onCancel() {
                if (counted.compareAndSet(false, true)) {
                    metrics.request(method, Status.Code.CANCELLED.name(), (System.nanoTime() - start) / 1e9);
                }
                super.onCancel();
            }
        };
    }
}
