package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.log.PartitionLog;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The partition log of a hibernated replica, opened on the first read and closed again when reads stop or the
 * replica wakes (its state machine then opens the log itself). Only reads below the frozen high watermark use
 * it, and retention. Thread-safe: reads share the log, closing waits for them.
 *
 * <p>The frozen log and the state machine's log must never be open at the same time: each instance maps the
 * active segment's indexes and resizes them on open and close, so one could cut a file under the other's mapping
 * (the JVM then fails the access with an {@link InternalError}), and a close of the frozen one would leave a
 * clean-shutdown marker beside a live log. So the log is <em>sealed</em> (closed, and it will not open) from the
 * moment the replica starts to open until it is hibernated again; a read that saw the replica hibernated and
 * arrives after the seal gets {@link Sealed} and reads the open replica instead. A replica starts sealed.
 */
public final class FrozenLog {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private PartitionLog log;
    private boolean sealed = true;
    private volatile long lastUseNanos;

    /** The replica opened (or is opening) since the caller saw it hibernated: read its open log instead. */
    public static final class Sealed extends RafkaException {
        Sealed() {
            super(ErrorCode.LEADER_NOT_AVAILABLE, "the replica is opening");
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    /**
     * Runs {@code read} on the log, opening it with {@code opener} if needed.
     *
     * @throws Sealed if the replica is no longer hibernated
     */
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
            if (sealed) {
                throw new Sealed();
            }
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

    public boolean isOpen() {
        return log != null;
    }

    /** Closes the log once no read holds it. */
    void close() {
        lock.writeLock().lock();
        try {
            closeLocked();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Closes the log once no read holds it, and keeps it closed until {@link #unseal}: the replica opens. */
    void seal() {
        lock.writeLock().lock();
        try {
            sealed = true;
            closeLocked();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** The replica is hibernated, its state machine closed: reads may open the log. */
    void unseal() {
        lock.writeLock().lock();
        try {
            sealed = false;
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void closeLocked() {
        if (log != null) {
            try {
                log.close();
            } finally {
                log = null;
            }
        }
    }

    /** Closes the log if nothing read it for {@code idleNanos}. */
    void closeIfIdle(long idleNanos) {
        if (log != null && System.nanoTime() - lastUseNanos > idleNanos) {
            close();
        }
    }
}
