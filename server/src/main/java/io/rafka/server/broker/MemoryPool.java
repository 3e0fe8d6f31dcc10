package io.rafka.server.broker;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A byte budget shared by all requests of one kind (produce data awaiting commit). A reservation that does
 * not fit is refused at once, so callers answer BUSY instead of queueing without bound; one reservation
 * larger than the whole budget is allowed when nothing else is reserved, so a single maximum-size request
 * always goes through eventually.
 */
public final class MemoryPool {
    private final long capacity;
    private final AtomicLong used = new AtomicLong();

    public MemoryPool(long capacity) {
        this.capacity = capacity;
    }

    public boolean tryReserve(long bytes) {
        while (true) {
            long u = used.get();
            if (u > 0 && u + bytes > capacity) {
                return false;
            }
            if (used.compareAndSet(u, u + bytes)) {
                return true;
            }
        }
    }

    public void release(long bytes) {
        long after = used.addAndGet(-bytes);
        if (after < 0) {
            throw new IllegalStateException("released more than reserved: " + after);
        }
    }

    public long used() {
        return used.get();
    }

    public long capacity() {
        return capacity;
    }
}
