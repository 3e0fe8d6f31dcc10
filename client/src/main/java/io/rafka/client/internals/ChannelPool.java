package io.rafka.client.internals;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One gRPC channel per broker address, opened on first use and all shut down by {@link #close()}. A
 * channel multiplexes every call to its broker over one HTTP/2 connection, so a command never needs a
 * second one; and channels own threads and sockets, so they must be closed before the JVM exits for
 * the exit to be prompt. The factory is injected so tests can connect to in-process fake brokers.
 *
 * <p>Thread-safe (the SDK producer's callers and I/O thread share one); calls on the channels may run
 * from any thread.
 */
public final class ChannelPool implements AutoCloseable {

    /**
     * Largest response accepted. A fetch asks for at most {@link PartitionFetcher#FETCH_MAX_BYTES}, but the
     * broker returns at least one whole batch per partition even when it is larger, and a batch may be as
     * large as the broker's message.max.bytes (up to 64 MiB).
     */
    public static final int MAX_INBOUND_MESSAGE_BYTES = 96 * 1024 * 1024;

    private final Function<BrokerAddress, ManagedChannel> factory;
    private final Map<BrokerAddress, ManagedChannel> channels = new LinkedHashMap<>();
    private boolean closed;

    public ChannelPool(Function<BrokerAddress, ManagedChannel> factory) {
        this.factory = factory;
    }

    /** Plaintext HTTP/2 channels over Netty: the broker's gRPC port does not speak TLS. */
    public static ChannelPool plaintext() {
        return new ChannelPool(address -> ManagedChannelBuilder.forAddress(address.host(), address.port())
                .usePlaintext()
                .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
                .build());
    }

    /** @throws IllegalStateException after {@link #close()}: a channel opened then would never be closed */
    public synchronized ManagedChannel channel(BrokerAddress address) {
        if (closed) {
            throw new IllegalStateException("channel pool closed");
        }
        return channels.computeIfAbsent(address, factory);
    }

    /**
     * Lets every channel reconnect at once instead of after gRPC's reconnect backoff, which grows to minutes while
     * a broker is down (Kafka's clients wait at most a second): a broker back from a restart, and leading again,
     * must be reachable when the client next tries it, not half a minute later.
     */
    public synchronized void resetConnectBackoff() {
        channels.values().forEach(ManagedChannel::resetConnectBackoff);
    }

    /** Drops every connection at once, calls in flight cancelled (what a killed process leaves behind). */
    public synchronized void abort() {
        channels.values().forEach(ManagedChannel::shutdownNow);
    }

    /** {@link #close(long)} waiting at most {@value #CLOSE_WAIT_MS} ms in all. */
    @Override
    public void close() {
        close(CLOSE_WAIT_MS);
    }

    /** How long {@link #close()} lets calls in flight end, over all connections together. */
    public static final long CLOSE_WAIT_MS = 2_000;

    /**
     * Shuts every connection down, letting calls in flight end for at most {@code maxWaitMs} in all (not per
     * connection: a client closing with a timeout must not wait that long once per broker), then drops the rest.
     */
    public synchronized void close(long maxWaitMs) {
        closed = true;
        for (ManagedChannel channel : channels.values()) {
            channel.shutdown();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(0, maxWaitMs));
        for (ManagedChannel channel : channels.values()) {
            try {
                if (!channel.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    channel.shutdownNow();
                }
            } catch (InterruptedException e) {
                channel.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
        channels.clear();
    }
}
