package io.rafka.client.perf;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.rafka.client.internals.ChannelPool;

/**
 * What a hung client process looks like to the broker, inside one JVM: while frozen, every thread that sends on
 * the pool's channels (a member's poll thread, its heartbeat thread) blocks before its message leaves, and the
 * connections stay open with nothing on them, as with a process stopped by SIGSTOP or a long GC pause. Stopping
 * only the caller's poll loop is not a hang: the member's heartbeat thread keeps the membership alive between polls.
 */
final class Freezer implements ClientInterceptor {
    private final Object lock = new Object();
    private boolean frozen;

    /** Plaintext channels like {@link ChannelPool#plaintext()}, every call through this freezer. */
    ChannelPool channels() {
        return new ChannelPool(address -> ManagedChannelBuilder.forAddress(address.host(), address.port())
                .usePlaintext()
                .maxInboundMessageSize(ChannelPool.MAX_INBOUND_MESSAGE_BYTES)
                .intercept(this)
                .build());
    }

    void freeze() {
        synchronized (lock) {
            frozen = true;
        }
    }

    void thaw() {
        synchronized (lock) {
            frozen = false;
            lock.notifyAll();
        }
    }

    private void awaitThawed() {
        synchronized (lock) {
            while (frozen) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            @Override
            public void sendMessage(Q message) {
                awaitThawed();
                super.sendMessage(message);
            }
        };
    }
}
