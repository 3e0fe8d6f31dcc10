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

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

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

    public static ServerServiceDefinition wrap(ServerServiceDefinition service) {
        ServiceDescriptor original = service.getServiceDescriptor();
        ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
                .setSchemaDescriptor(original.getSchemaDescriptor());
        List<ServerMethodDefinition<InputStream, ?>> methods = new ArrayList<>();
        for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
            ServerMethodDefinition<InputStream, ?> raw = rawRequests(method);
            descriptor.addMethod(raw.getMethodDescriptor());
            methods.add(raw);
        }
        ServerServiceDefinition.Builder wrapped = ServerServiceDefinition.builder(descriptor.build());
        methods.forEach(wrapped::addMethod);
        return wrapped.build();
    }

    private static <Q, R> ServerMethodDefinition<InputStream, R> rawRequests(ServerMethodDefinition<Q, R> method) {
        MethodDescriptor<Q, R> typed = method.getMethodDescriptor();
        MethodDescriptor<InputStream, R> raw = typed.toBuilder(RAW, typed.getResponseMarshaller()).build();
        ServerCallHandler<Q, R> handler = method.getServerCallHandler();
        return ServerMethodDefinition.create(raw, (call, headers) ->
                new ParsingListener<>(call, typed, handler.startCall(new TypedCall<>(call, typed), headers)));
    }

    /** Parses each raw request and hands it to the service's own listener; a request that does not parse ends the call. */
    private static final class ParsingListener<Q, R> extends ServerCall.Listener<InputStream> {
        private final ServerCall<InputStream, R> call;
        private final MethodDescriptor<Q, R> typed;
        private final ServerCall.Listener<Q> delegate;
        private boolean closed;

        ParsingListener(ServerCall<InputStream, R> call, MethodDescriptor<Q, R> typed, ServerCall.Listener<Q> delegate) {
            this.call = call;
            this.typed = typed;
            this.delegate = delegate;
        }

        @Override
        public void onMessage(InputStream message) {
            if (closed) {
                return;
            }
            Q request;
            try {
                request = typed.parseRequest(message);
            } catch (StatusRuntimeException e) {
                closed = true;
                call.close(Status.INVALID_ARGUMENT.withDescription("the request is not a valid "
                        + typed.getFullMethodName() + " request message: " + e.getStatus().getDescription()),
                        ApiErrors.trailers(ErrorCode.INVALID_REQUEST));
                return;
            }
            delegate.onMessage(request);
        }

        @Override
        public void onHalfClose() {
            if (!closed) {
                delegate.onHalfClose();
            }
        }

        @Override
        public void onCancel() {
            delegate.onCancel();
        }

        @Override
        public void onComplete() {
            delegate.onComplete();
        }

        @Override
        public void onReady() {
            delegate.onReady();
        }
    }

    /** The transport's call as the service sees it: its own request type; everything else passes through. */
    private static final class TypedCall<Q, R> extends ServerCall<Q, R> {
        private final ServerCall<InputStream, R> call;
        private final MethodDescriptor<Q, R> typed;

        TypedCall(ServerCall<InputStream, R> call, MethodDescriptor<Q, R> typed) {
            this.call = call;
            this.typed = typed;
        }

        @Override
        public void request(int numMessages) {
            call.request(numMessages);
        }

        @Override
        public void sendHeaders(Metadata headers) {
            call.sendHeaders(headers);
        }

        @Override
        public void sendMessage(R message) {
            call.sendMessage(message);
        }

        @Override
        public boolean isReady() {
            return call.isReady();
        }

        @Override
        public void close(Status status, Metadata trailers) {
            call.close(status, trailers);
        }

        @Override
        public boolean isCancelled() {
            return call.isCancelled();
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
