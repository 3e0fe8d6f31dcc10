package io.rafka.server.grpc;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.rafka.proto.v1.ErrorCode;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds client connections ({@code max.connections}). gRPC gives no hook to refuse a connection, so a
 * connection beyond the limit is marked when it opens, and every call on it fails at once with
 * RESOURCE_EXHAUSTED (code BUSY); the client sees a clear error and the broker spends nothing on it.
 */
public final class ConnectionLimiter extends ServerTransportFilter implements ServerInterceptor {
    private static final Attributes.Key<Boolean> OVER_LIMIT = Attributes.Key.create("rafka-over-connection-limit");
    private static final Attributes.Key<Boolean> COUNTED = Attributes.Key.create("rafka-counted-connection");

    private final int maxConnections;
    private final AtomicInteger open = new AtomicInteger();

    public ConnectionLimiter(int maxConnections) {
        this.maxConnections = maxConnections;
    }

    @Override
    public Attributes transportReady(Attributes attributes) {
        int n = open.incrementAndGet();
        Attributes.Builder b = attributes.toBuilder().set(COUNTED, true);
        return (n > maxConnections ? b.set(OVER_LIMIT, true) : b).build();
    }

    @Override
    public void transportTerminated(Attributes attributes) {
        // gRPC also reports connections that never became ready (a port probe, a non-HTTP/2 client): not counted.
        if (attributes != null && Boolean.TRUE.equals(attributes.get(COUNTED))) {
            open.decrementAndGet();
        }
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (Boolean.TRUE.equals(call.getAttributes().get(OVER_LIMIT))) {
            Metadata trailers = ApiErrors.trailers(ErrorCode.BUSY);
            call.close(Status.RESOURCE_EXHAUSTED.withDescription("too many connections: this broker serves at most "
                    + maxConnections + " (max.connections)"), trailers);
            return new ServerCall.Listener<>() {
            };
        }
        return next.startCall(call, headers);
    }

    public int openConnections() {
        return open.get();
    }
}
