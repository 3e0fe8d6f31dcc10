package io.rafka.server.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/** Per-call facts the API handlers need, put into the gRPC {@link Context} by {@link #INTERCEPTOR}. */
public final class ApiContext {
    private static final Context.Key<Boolean> FORWARDED = Context.key("rafka-forwarded");

    private ApiContext() {
    }

    /** Whether the current call was forwarded by another broker (so must not be forwarded again). */
    static boolean isForwarded() {
        return Boolean.TRUE.equals(FORWARDED.get());
    }

    public static final ServerInterceptor INTERCEPTOR = new ServerInterceptor() {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            if (!headers.containsKey(ControllerChannel.FORWARDED)) {
                return next.startCall(call, headers);
            }
            return Contexts.interceptCall(Context.current().withValue(FORWARDED, true), call, headers, next);
        }
    };
}
