package io.rafka.client.consumer.internals;

import java.util.ConcurrentModificationException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Kafka's "light lock" for a single-threaded client: it does not wait, it tells a second thread it should not be
 * there. Re-entrant for the owning thread, because a rebalance listener or commit callback called from inside
 * {@code poll} may call the consumer again.
 */
public final class OwnerLock {
    private static final long NO_OWNER = -1;
    private final AtomicLong owner = new AtomicLong(NO_OWNER);
    private int depth;

    /** @throws ConcurrentModificationException another thread is inside */
    public void acquire() {
        long me = Thread.currentThread().getId();
        if (owner.get() != me && !owner.compareAndSet(NO_OWNER, me)) {
            throw new ConcurrentModificationException("RafkaConsumer is not safe for multi-threaded access");
        }
        depth++;
    }

    /** Whether the caller is the outermost call (not re-entered from a listener). */
    public boolean outermost() {
        return depth == 1;
    }

    public void release() {
        if (--depth == 0) {
            owner.set(NO_OWNER);
        }
    }
}
