package io.rafka.server.grpc;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.rafka.proto.v1.AdminServiceGrpc;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.ProduceServiceGrpc;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds the calls that may wait on the controller ({@code max.admin.calls}): every AdminService call and
 * InitProducerId. Their handlers block a thread of gRPC's executor while the controller is elected, a change commits
 * or an earlier one settles (seconds, tens of seconds when the metadata group has no majority), and that executor
 * grows a thread per blocked call: a client sending admin calls faster than they end could make the broker start
 * threads without limit. Past the bound a call is refused at once, RESOURCE_EXHAUSTED with code BUSY (retriable),
 * nothing done; produce, fetch and group calls never wait this way and are not counted.
 */
public final class AdminCallLimiter implements ServerInterceptor {
    private final int maxCalls;
    private final AtomicInteger inFlight = new AtomicInteger();

    public AdminCallLimiter(int maxCalls) {
        if (maxCalls <= 0) {
            throw new IllegalArgumentException("max.admin.calls must be positive: " + maxCalls);
        }
        this.maxCalls = maxCalls;
    }

    static boolean counted(String fullMethodName) {
        return AdminServiceGrpc.SERVICE_NAME.equals(io.grpc.MethodDescriptor.extractFullServiceName(fullMethodName))
                || ProduceServiceGrpc.getInitProducerIdMethod().getFullMethodName().equals(fullMethodName);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (!counted(call.getMethodDescriptor().getFullMethodName())) {
            return next.startCall(call, headers);
        }
        if (inFlight.incrementAndGet() > maxCalls) {
            inFlight.decrementAndGet();
            call.close(Status.RESOURCE_EXHAUSTED.withDescription("this broker is handling " + maxCalls
                    + " admin calls already (max.admin.calls): retry shortly"), ApiErrors.trailers(ErrorCode.BUSY));
            return new ServerCall.Listener<>() {
            };
        }
        AtomicBoolean released = new AtomicBoolean();
        Runnable release = () -> {
            if (released.compareAndSet(false, true)) {
                inFlight.decrementAndGet();
            }
        };
        return CallEnd.startCall(call, headers, next, release);
    }
}
