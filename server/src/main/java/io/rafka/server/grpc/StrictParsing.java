package io.rafka.server.grpc;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rafka.proto.v1.ErrorCode;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Answers requests that are not valid protobuf with INVALID_ARGUMENT (code INVALID_REQUEST) and a clear
 * message. Left to itself, grpc-java parses a request before any interceptor or listener sees it and reports a
 * failure as UNKNOWN "Application error processing RPC", which tells a client nothing. So each method is
 * re-typed to take the request's raw stream, and the request is parsed here, inside {@code onMessage}, where a
 * failure can be answered properly.
 *
 * <p>Only requests are re-typed: responses keep their own marshaller, so a response is serialized once, straight
 * into gRPC's transport buffers. ({@code ServerInterceptors.useInputStreamMessages} re-types both, and then
 * every response was first serialized into a new array of its full size and copied through a buffered stream:
 * for a 1 MiB fetch answer that was 1 MiB allocated and two extra copies per partition fetched.)
 */
public final class StrictParsing {
    /** The request as the transport delivered it; parsed synchronously in {@code onMessage}, before gRPC closes it. */
    private static final MethodDescriptor.Marshaller<InputStream> RAW = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(InputStream value) {
            return value;
        }

        @Override
        public InputStream parse(InputStream stream) {
            return stream;
        }
    };

    private StrictParsing() {
    }

    /**
     * Looks at a request's raw bytes before they are parsed: returns the stream to parse (the same one, reset, or
     * a copy), or throws {@link io.rafka.common.InvalidRequestException} to refuse the request. An IOException
     * leaves the request to its parse, which says what is wrong with it.
     */
    @FunctionalInterface
    public interface RawCheck {
        InputStream check(InputStream message) throws IOException;
    }

    public static ServerServiceDefinition wrap(ServerServiceDefinition service) {
        return wrap(service, Map.of());
    }

    /** {@link #wrap(ServerServiceDefinition)}, running {@code checks} (by full method name) before the parse. */
    public static ServerServiceDefinition wrap(ServerServiceDefinition service, Map<String, RawCheck> checks) {
        ServiceDescriptor original = service.getServiceDescriptor();
        ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
                .setSchemaDescriptor(original.getSchemaDescriptor());
        List<ServerMethodDefinition<InputStream, ?>> methods = new ArrayList<>();
        for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
            ServerMethodDefinition<InputStream, ?> raw = rawRequests(method,
                    checks.get(method.getMethodDescriptor().getFullMethodName()));
            descriptor.addMethod(raw.getMethodDescriptor());
            methods.add(raw);
        }
        ServerServiceDefinition.Builder wrapped = ServerServiceDefinition.builder(descriptor.build());
        methods.forEach(wrapped::addMethod);
        return wrapped.build();
    }

    private static <Q, R> ServerMethodDefinition<InputStream, R> rawRequests(ServerMethodDefinition<Q, R> method,
                                                                          RawCheck check) {
        MethodDescriptor<Q, R> typed = method.getMethodDescriptor();
        MethodDescriptor<InputStream, R> raw = typed.toBuilder(RAW, typed.getResponseMarshaller()).build();
        ServerCallHandler<Q, R> handler = method.getServerCallHandler();
        return ServerMethodDefinition.create(raw, (call, headers) -> {
            TypedCall<Q, R> service = new TypedCall<>(call, typed);
            return new ParsingListener<>(service, typed, check, handler.startCall(service, headers));
        });
    }

    /**
     * Parses each raw request and hands it to the service's own listener; a request that does not parse ends the
     * call, and the service then hears of its end as of a cancelled call (its stream's {@code onError}, its cancel
     * handler): for the transport the call ended normally, as the server closed it, but the service did not.
     */
    private static final class ParsingListener<Q, R> extends ServerCall.Listener<InputStream> {
        private final TypedCall<Q, R> call;
        private final MethodDescriptor<Q, R> typed;
        private final RawCheck check;
        private final ServerCall.Listener<Q> delegate;

        ParsingListener(TypedCall<Q, R> call, MethodDescriptor<Q, R> typed, RawCheck check, ServerCall.Listener<Q> delegate) {
            this.call = call;
            this.typed = typed;
            this.check = check;
            this.delegate = delegate;
        }

        @Override
        public void onMessage(InputStream message) {
            if (call.refused()) {
                return;
            }
            if (check != null) {
                try {
                    message = check.check(message);
                } catch (io.rafka.common.InvalidRequestException e) {
                    call.refuse(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
                    return;
                } catch (IOException notProtobuf) {
                    // the parse below says what is wrong
                }
            }
            Q request;
            try {
                request = typed.parseRequest(message);
            } catch (StatusRuntimeException e) {
                call.refuse(Status.INVALID_ARGUMENT.withDescription("the request is not a valid "
                        + typed.getFullMethodName() + " request message: " + e.getStatus().getDescription()));
                return;
            }
            delegate.onMessage(request);
        }

        @Override
        public void onHalfClose() {
            if (!call.refused()) {
                delegate.onHalfClose();
            }
        }

        @Override
        public void onCancel() {
            delegate.onCancel();
        }

        @Override
        public void onComplete() {
            if (call.refused()) {
                delegate.onCancel();
            } else {
                delegate.onComplete();
            }
        }

        @Override
        public void onReady() {
            delegate.onReady();
        }
    }

    /**
     * The transport's call as the service sees it: its own request type; everything else passes through until a
     * request is refused. From then on the call looks cancelled to the service and what it still sends is dropped
     * (its threads may be answering an earlier request at that moment), so it never meets the transport's "call is
     * closed". Sending and closing are serialized with the refusal, which comes from the transport's thread.
     */
    private static final class TypedCall<Q, R> extends ServerCall<Q, R> {
        private final ServerCall<InputStream, R> call;
        private final MethodDescriptor<Q, R> typed;
        private volatile boolean refused;

        TypedCall(ServerCall<InputStream, R> call, MethodDescriptor<Q, R> typed) {
            this.call = call;
            this.typed = typed;
        }

        boolean refused() {
            return refused;
        }

        synchronized void refuse(Status status) {
            if (refused) {
                return;
            }
            refused = true;
            try {
                call.close(status, ApiErrors.trailers(ErrorCode.INVALID_REQUEST));
            } catch (IllegalStateException alreadyClosed) {
                // the service ended the call first: nothing is left to refuse
            }
        }

        @Override
        public void request(int numMessages) {
            if (!refused) {
                call.request(numMessages);
            }
        }

        @Override
        public synchronized void sendHeaders(Metadata headers) {
            if (!refused) {
                call.sendHeaders(headers);
            }
        }

        @Override
        public synchronized void sendMessage(R message) {
            if (!refused) {
                call.sendMessage(message);
            }
        }

        @Override
        public boolean isReady() {
            return !refused && call.isReady();
        }

        @Override
        public synchronized void close(Status status, Metadata trailers) {
            if (!refused) {
                call.close(status, trailers);
            }
        }

        @Override
        public boolean isCancelled() {
            return refused || call.isCancelled();
        }

        @Override
        public void setMessageCompression(boolean enabled) {
            call.setMessageCompression(enabled);
        }

        @Override
        public void setOnReadyThreshold(int numBytes) {
            call.setOnReadyThreshold(numBytes);
        }

        @Override
        public void setCompression(String compressor) {
            call.setCompression(compressor);
        }

        @Override
        public SecurityLevel getSecurityLevel() {
            return call.getSecurityLevel();
        }

        @Override
        public Attributes getAttributes() {
            return call.getAttributes();
        }

        @Override
        public String getAuthority() {
            return call.getAuthority();
        }

        @Override
        public MethodDescriptor<Q, R> getMethodDescriptor() {
            return typed;
        }
    }
}
