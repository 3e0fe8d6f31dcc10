package io.rafka.server.grpc;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rafka.proto.v1.ErrorCode;

import java.io.InputStream;

/**
 * Answers requests that are not valid protobuf with INVALID_ARGUMENT (code INVALID_REQUEST) and a clear
 * message. Left to itself, grpc-java reports a parse failure as UNKNOWN "Application error processing
 * RPC", which tells a client nothing. The service is re-typed to take raw bytes
 * ({@link ServerInterceptors#useInputStreamMessages}), whose adapter parses inside {@code onMessage}; a
 * parse failure there is caught here and turned into the documented status.
 */
public final class StrictParsing implements ServerInterceptor {
    private static final StrictParsing INSTANCE = new StrictParsing();

    private StrictParsing() {
    }

    public static ServerServiceDefinition wrap(ServerServiceDefinition service) {
        return ServerInterceptors.intercept(ServerInterceptors.useInputStreamMessages(service), INSTANCE);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        ServerCall.Listener<Q> delegate = next.startCall(call, headers);
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
            private boolean closed;

            @Override
            public void onMessage(Q message) {
                if (closed) {
                    return;
                }
                try {
                    super.onMessage(message);
                } catch (StatusRuntimeException e) {
                    if (!(message instanceof InputStream) || e.getStatus().getCode() != Status.Code.INTERNAL) {
                        throw e;
                    }
                    closed = true;
                    Metadata trailers = ApiErrors.trailers(ErrorCode.INVALID_REQUEST);
                    call.close(Status.INVALID_ARGUMENT.withDescription("the request is not a valid "
                            + call.getMethodDescriptor().getFullMethodName() + " request message: " + e.getStatus().getDescription()),
                            trailers);
                }
            }

            @Override
            public void onHalfClose() {
                if (!closed) {
                    super.onHalfClose();
                }
            }
        };
    }
}
