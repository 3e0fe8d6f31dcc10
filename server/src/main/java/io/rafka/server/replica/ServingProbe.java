package io.rafka.server.replica;

import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.io.Closeable;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Whether another broker serves: asks its gRPC health service, which answers SERVING only once that broker
 * registered and its metadata view is current (what {@code /health} reports). Its Raft server answers long
 * before that: a broker restarted on a busy machine followed its groups for 20 s before it could take a single
 * request, so handing it leaderships then left those partitions without a leader clients could reach. One
 * channel per address, kept; an unreachable or slow broker (no answer within {@code timeoutMs}) does not serve.
 *
 * <pre>{@code
 * try (ServingProbe probe = new ServingProbe(id -> Optional.of("10.0.0.2:9192"), 1_000)) {
 *     boolean ready = probe.serving("2");
 * }
 * }</pre>
 */
public final class ServingProbe implements Closeable {
    private final Function<String, Optional<String>> addressOf;
    private final long timeoutMs;
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    /** @param addressOf a broker's API address ({@code host:port}) by broker id, empty if it is not registered */
    public ServingProbe(Function<String, Optional<String>> addressOf, long timeoutMs) {
        this.addressOf = addressOf;
        this.timeoutMs = timeoutMs;
    }

    public boolean serving(String brokerId) {
        Optional<String> address = addressOf.apply(brokerId);
        if (address.isEmpty()) {
            return false;
        }
        ManagedChannel channel = channels.computeIfAbsent(address.get(),
                a -> NettyChannelBuilder.forTarget(a).usePlaintext().build());
        if (channel.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
            channel.resetConnectBackoff(); // connect now, not after gRPC's backoff, which grows to minutes
        }
        try {
            // Waits for the connection within the deadline: a channel that failed before fails a plain call at once.
            return HealthGrpc.newBlockingStub(channel).withWaitForReady().withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS)
                    .check(HealthCheckRequest.getDefaultInstance()).getStatus() == HealthCheckResponse.ServingStatus.SERVING;
        } catch (StatusRuntimeException e) {
            return false;
        }
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
        channels.clear();
    }
}
