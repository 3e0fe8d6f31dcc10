package io.rafka.server.grpc;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.rafka.proto.v1.ErrorCode;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds the client connections served ({@code max.connections}). gRPC gives no hook to refuse a connection, so
 * a connection that opens while the limit is reached is left unserved: every call on it fails at once with
 * RESOURCE_EXHAUSTED (code BUSY), so the client sees a clear error and the broker spends nothing on it. An unserved
 * connection takes no place: it is served from its next call on once a served one has closed (a client retrying
 * BUSY keeps its connection, and would otherwise stay refused however many places free up).
 */
public final class ConnectionLimiter extends ServerTransportFilter implements ServerInterceptor {
    private static final Attributes.Key<AtomicBoolean> SERVED = Attributes.Key.create("rafka-served-connection");

    private final int maxConnections;
    private final AtomicInteger served = new AtomicInteger();

    public ConnectionLimiter(int maxConnections) {
        this.maxConnections = maxConnections;
    }

    @Override
    public Attributes transportReady(Attributes attributes) {
        AtomicBoolean slot = new AtomicBoolean();
        admit(slot);
        return attributes.toBuilder().set(SERVED, slot).build();
    }

    /** Gives the connection a place if one is free; true if it has one. */
    private boolean admit(AtomicBoolean slot) {
        if (slot.get()) {
            return true;
        }
        while (true) {
            int n = served.get();
            if (n >= maxConnections) {
                return false;
            }
            if (served.compareAndSet(n, n + 1)) {
                if (slot.compareAndSet(false, true)) {
                    return true;
                }
                served.decrementAndGet();   // another call of this connection took the place first
                return true;
            }
        }
    }

    @Override
    public void transportTerminated(Attributes attributes) {
        // gRPC also reports connections that never became ready (a port probe, a non-HTTP/2 client): they have no slot.
        AtomicBoolean slot = attributes == null ? null : attributes.get(SERVED);
        if (slot != null && slot.getAndSet(false)) {
            served.decrementAndGet();
        }
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        AtomicBoolean slot = call.getAttributes().get(SERVED);
        if (slot != null && !admit(slot)) {
            Metadata trailers = ApiErrors.trailers(ErrorCode.BUSY);
            call.close(Status.RESOURCE_EXHAUSTED.withDescription("too many connections: this broker serves at most "
                    + maxConnections + " (max.connections)"), trailers);
            return new ServerCall.Listener<>() {
            };
        }
        return next.startCall(call, headers);
    }

    /** Connections served now. */
    public int servedConnections() {
        return served.get();
    }
}
