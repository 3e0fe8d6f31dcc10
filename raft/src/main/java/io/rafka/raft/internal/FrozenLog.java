package io.rafka.raft.internal;

import io.rafka.log.PartitionLog;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The partition log of a hibernated replica, opened on the first read and closed again when reads stop or the
 * replica wakes (its state machine then opens the log itself). Only reads below the frozen high watermark use
 * it; nothing writes. Thread-safe: reads share the log, closing waits for them.
 */
public final class FrozenLog {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private PartitionLog log;
    private volatile long lastUseNanos;

    /** Runs {@code read} on the log, opening it with {@code opener} if needed. */
    public <T> T read(Supplier<PartitionLog> opener, Function<PartitionLog, T> read) {
        lastUseNanos = System.nanoTime();
        lock.readLock().lock();
        try {
            if (log != null) {
                return read.apply(log);
            }
        } finally {
            lock.readLock().unlock();
        }
        lock.writeLock().lock();
        try {
            if (log == null) {
                log = opener.get();
            }
            lock.readLock().lock();  // downgrade: reads may run side by side
        } finally {
            lock.writeLock().unlock();
        }
        try {
            return read.apply(log);
        } finally {
            lock.readLock().unlock();
        }
    }

    boolean isOpen() {
        return log != null;
    }

    /** Closes the log once no read holds it. */
    void close() {
        lock.writeLock().lock();
        try {
            if (log != null) {
                log.close();
                log = null;
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Closes the log if nothing read it for {@code idleNanos}. */
    void closeIfIdle(long idleNanos) {
        if (log != null && System.nanoTime() - lastUseNanos > idleNanos) {
            close();
        }
    }
}
