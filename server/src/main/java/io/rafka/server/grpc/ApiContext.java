package io.rafka.server.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

import io.rafka.proto.v1.GroupServiceGrpc;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.UUID;

/** Per-call facts the API handlers need, put into the gRPC {@link Context} by {@link #INTERCEPTOR}. */
public final class ApiContext {
    private static final Context.Key<Boolean> FORWARDED = Context.key("rafka-forwarded");
    private static final Context.Key<UUID> CREATE_ID = Context.key("rafka-create-id");
    private static final Context.Key<String> CLIENT_HOST = Context.key("rafka-client-host");

    private ApiContext() {
    }

    /** Whether the current call was forwarded by another broker (so must not be forwarded again). */
    static boolean isForwarded() {
        return Boolean.TRUE.equals(FORWARDED.get());
    }

    /** The id a forwarding broker gave a topic create (see {@link ControllerChannel}), or null. */
    static UUID createId() {
        return CREATE_ID.get();
    }

    /** The client's address (host only) on GroupService calls, which show it in group descriptions; "" elsewhere. */
    static String clientHost() {
        String host = CLIENT_HOST.get();
        return host == null ? "" : host;
    }

    public static final ServerInterceptor INTERCEPTOR = new ServerInterceptor() {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            if (GroupServiceGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())) {
                SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
                String host = remote instanceof InetSocketAddress a ? a.getHostString() : String.valueOf(remote);
                return Contexts.interceptCall(Context.current().withValue(CLIENT_HOST, host), call, headers, next);
            }
            if (!headers.containsKey(ControllerChannel.FORWARDED)) {
                return next.startCall(call, headers);
            }
            Context context = Context.current().withValue(FORWARDED, true);
            String createId = headers.get(ControllerChannel.CREATE_ID);
            if (createId != null) {
                try {
                    context = context.withValue(CREATE_ID, UUID.fromString(createId));
                } catch (IllegalArgumentException ignored) {
                    // not one a broker sent: the create gets a fresh id, as a client's own call does
                }
            }
            return Contexts.interceptCall(context, call, headers, next);
        }
    };
}
