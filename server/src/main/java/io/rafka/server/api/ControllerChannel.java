package io.rafka.server.api;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.rafka.common.NotControllerException;
import io.rafka.proto.v1.AdminServiceGrpc;
import io.rafka.proto.v1.Broker;
import io.rafka.metadata.MetadataNode;

import java.io.Closeable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Forwards admin calls from a broker to the controller's API port, so clients may send them to any broker
 * (as Kafka forwards them since KIP-590). A forwarded call carries {@value #FORWARDED_KEY}; a broker that
 * receives one but is not the controller (it lost the role meanwhile) answers NOT_CONTROLLER instead of
 * forwarding again, so calls never loop.
 */
public final class ControllerChannel implements Closeable {
    public static final String FORWARDED_KEY = "rafka-forwarded";
    static final Metadata.Key<String> FORWARDED = Metadata.Key.of(FORWARDED_KEY, Metadata.ASCII_STRING_MARSHALLER);

    private final ClusterView view;
    private final long timeoutMs;
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    public ControllerChannel(ClusterView view, long timeoutMs) {
        this.view = view;
        this.timeoutMs = timeoutMs;
    }

    /**
     * A stub that reaches the controller, or an exception saying why there is none reachable (retriable).
     */
    public AdminServiceGrpc.AdminServiceBlockingStub controller() {
        MetadataNode metadata = view.metadata();
        String id = metadata.controllerId().orElseThrow(() -> new NotControllerException("no controller is elected yet", null));
        if (id.equals(view.brokerId())) {
            throw new NotControllerException("this broker is becoming the controller; retry shortly", id);
        }
        Broker b = view.broker(id).orElseThrow(() -> new NotControllerException(
                "controller " + id + " has not registered its address yet", id));
        String target = b.getHost() + ":" + b.getPort();
        ManagedChannel channel = channels.computeIfAbsent(target, t -> NettyChannelBuilder.forTarget(t).usePlaintext().build());
        return AdminServiceGrpc.newBlockingStub(channel)
                .withInterceptors(new MarkForwarded())
                .withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS);
    }

    private static final class MarkForwarded implements ClientInterceptor {
        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
            return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                @Override
                public void start(Listener<R> listener, Metadata headers) {
                    headers.put(FORWARDED, "1");
                    super.start(listener, headers);
                }
            };
        }
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
        channels.clear();
    }
}
