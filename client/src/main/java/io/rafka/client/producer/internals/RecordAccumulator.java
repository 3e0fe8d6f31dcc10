package io.rafka.client.producer.internals;

import io.rafka.client.producer.BufferExhaustedException;
import io.rafka.client.producer.Callback;
import io.rafka.client.producer.ProducerConfig;
import io.rafka.client.producer.ProducerException;
import io.rafka.client.producer.RecordMetadata;
import io.rafka.common.ErrorCode;
import io.rafka.common.TopicPartition;
import io.rafka.record.Header;
import io.rafka.record.RecordBatch;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Per-partition batches of records waiting to be sent, bounded by {@code buffer.memory}: {@code send} appends
 * here (blocking up to {@code max.block.ms} for memory), the {@link Sender} seals and drains. Batches hold the
 * memory: reserved a batch at a time ({@link #append}), given back when the batch is answered or fails.
 *
 * <p>One monitor ({@link #lock}) guards the accumulator, the partition queues and the sender's streams: appends,
 * the sender's rounds and the answers from gRPC threads all take it. User code (callbacks, futures' dependents)
 * never runs under it: completions are queued and run by whoever finished the batch, after releasing it.
 */
public final class RecordAccumulator {
    /** Bytes a record adds to a batch beyond its key, value and headers, at most (length, attributes, deltas). */
    static final int RECORD_OVERHEAD_MAX = 28;

    final Object lock = new Object();
    final ProducerConfig config;
    private final long lingerNanos;
    private final Map<TopicPartition, PartitionQueue> queues = new LinkedHashMap<>();
    private final List<Runnable> completions = new ArrayList<>();
    /** Whether a thread is running {@link #completions} (only one at a time does). */
    private boolean completing;
    /** The thread running completions (user callbacks) now, if any. */
    private volatile Thread completer;
    /** Batches whose records are not all told yet (flush waits for them). */
    private final java.util.Set<ProducerBatch> incomplete = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private long bufferedBytes;
    int memoryWaiters;
    /**
     * Whether the sender waits on {@link #lock}, and until when ({@link System#nanoTime}): a batch opened meanwhile
     * whose linger ends before that wakes it. Under the lock.
     */
    boolean senderWaiting;
    long senderWakeNanos;
    /** The producer id batches are stamped with; -1 without idempotence. Set before the first append. */
    long producerId = -1;
    boolean closed;

    public RecordAccumulator(ProducerConfig config) {
        this.config = config;
        this.lingerNanos = TimeUnit.MILLISECONDS.toNanos(config.lingerMs());
    }

    /** Stamps batches sealed from now on with {@code id} (idempotence). */
    public void setProducerId(long id) {
        synchronized (lock) {
            producerId = id;
        }
    }

    /** No more appends: callers waiting for memory give up. */
    public void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
        }
    }

    /** A record's accounted size: at least what it adds to a batch (key, value, headers and overhead). */
    public static long sizeOf(byte[] key, byte[] value, List<Header> headers) {
        long size = RECORD_OVERHEAD_MAX + (key == null ? 0 : key.length) + (value == null ? 0 : value.length);
        for (Header h : headers) {
            size += h.key().length() * 3L + (h.value() == null ? 0 : h.value().length) + 2;
        }
        return size;
    }

    /**
     * Appends a record to its partition's open batch, waiting for memory until {@code deadlineNanos}. Returns null,
     * appending nothing, when {@code abortOnNewBatch} and the record would need a new batch: the caller lets the
     * partitioner move its sticky partition on and picks again.
     *
     * <p>Memory is taken a batch at a time, as Kafka's buffer pool does: a new batch reserves {@code batch.size}
     * (or its first record's size, if larger) and the records appended to it need no more; sealing gives back what
     * the batch did not use. So a producer that outruns the brokers waits for whole batches' worth of memory and
     * keeps filling whole batches; taken record by record, every batch answered would free room for a few records
     * only, the sender (which seals at once while someone waits for memory) would seal each batch after those few,
     * and the batches would stay small for good (seen: 9 records per 16 KiB batch of 1 KiB records).
     *
     * @throws BufferExhaustedException no room in buffer memory before the deadline
     * @throws ProducerException        RECORD_TOO_LARGE for a record larger than the whole buffer memory, or than a
     *                                  request may be (max.request.size)
     */
    public CompletableFuture<RecordMetadata> append(TopicPartition tp, long timestampMs, byte[] key,
                                                    byte[] value, List<Header> headers, Callback callback,
                                                    long deadlineNanos, boolean abortOnNewBatch) throws InterruptedException {
        long size = sizeOf(key, value, headers);
        if (size > config.bufferMemoryBytes()) {
            throw new ProducerException(ErrorCode.RECORD_TOO_LARGE, "a record of " + size + " bytes is larger than "
                    + ProducerConfig.BUFFER_MEMORY + " (" + config.bufferMemoryBytes() + ")");
        }
        if (RecordBatch.HEADER_SIZE + size > config.maxRequestBytes()) {
            // As Kafka's producer: a batch of this record alone would be a request larger than the limit.
            throw new ProducerException(ErrorCode.RECORD_TOO_LARGE, "a record of " + size + " bytes (a batch of "
                    + (RecordBatch.HEADER_SIZE + size) + ") is larger than " + ProducerConfig.MAX_REQUEST_SIZE + " ("
                    + config.maxRequestBytes() + ")");
        }
        // A batch of this record alone takes at most the batch header plus its accounted size.
        long reservation = Math.min(config.bufferMemoryBytes(),
                Math.max(config.batchSizeBytes(), RecordBatch.HEADER_SIZE + size));
        synchronized (lock) {
            while (true) {
                if (closed) {
                    throw new IllegalStateException("the producer is closed");
                }
                PartitionQueue q = queues.computeIfAbsent(tp, t -> new PartitionQueue(t, this::abandon));
                if (q.open != null && !q.open.fits(size, config.batchSizeBytes())) {
                    if (abortOnNewBatch) {
                        return null;
                    }
                    seal(q);
                }
                if (q.open == null) {
                    if (bufferedBytes + reservation > config.bufferMemoryBytes()) {
                        awaitMemory(reservation, deadlineNanos);
                        continue;  // the lock was released: the partition may have an open batch by now
                    }
                    ProducerBatch batch = new ProducerBatch(q, config.compression(), System.nanoTime(), reservation);
                    bufferedBytes += reservation;
                    incomplete.add(batch);
                    batch.done.whenComplete((v, e) -> incomplete.remove(batch));
                    q.open = batch;
                    // The sender sleeps until the lingers it knew of end (at most 50 ms when none): without a
                    // wake-up a record sent to an idle producer waited for that, not for its own linger.
                    if (senderWaiting && senderWakeNanos - (batch.createdNanos + lingerNanos) > 0) {
                        lock.notifyAll();
                    }
                }
                CompletableFuture<RecordMetadata> future = q.open.append(timestampMs, key, value, headers, callback);
                if (!q.open.fits(RECORD_OVERHEAD_MAX + 1, config.batchSizeBytes())) {
                    seal(q);
                }
                return future;
            }
        }
    }

    /** Waits (releasing the lock) until {@code bytes} could be reserved, or throws once the deadline passed. */
    private void awaitMemory(long bytes, long deadlineNanos) throws InterruptedException {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            throw new BufferExhaustedException("no room for a batch of " + bytes + " bytes in " + ProducerConfig.BUFFER_MEMORY
                    + " (" + config.bufferMemoryBytes() + " bytes, " + bufferedBytes + " in use) within "
                    + ProducerConfig.MAX_BLOCK_MS + " (" + config.maxBlockMs() + " ms)");
        }
        memoryWaiters++;
        lock.notifyAll(); // the sender seals open batches at once while someone waits for memory
        try {
            TimeUnit.NANOSECONDS.timedWait(lock, left);
        } finally {
            memoryWaiters--;
        }
    }

    /** Seals the partition's open batch (under the lock). */
    void seal(PartitionQueue q) {
        bufferedBytes -= q.open.releaseUnused();
        q.seal(producerId);
        lock.notifyAll();
    }

    /** Seals every open batch now (flush, close); returns every batch whose records are not all told yet. */
    List<ProducerBatch> sealAll() {
        synchronized (lock) {
            for (PartitionQueue q : queues.values()) {
                if (q.open != null) {
                    seal(q);
                }
            }
            return new ArrayList<>(incomplete);
        }
    }

    Collection<PartitionQueue> queues() {
        return queues.values();
    }

    boolean allIdle() {
        return queues.values().stream().allMatch(PartitionQueue::idle);
    }

    /** A batch is done: its memory is free again, its records are told (after the lock is released). */
    void finish(ProducerBatch batch, long baseOffset, long logAppendTimeMs, RuntimeException error) {
        bufferedBytes -= batch.reservedBytes;
        batch.reservedBytes = 0;
        batch.queue.completed(batch, error == null ? () -> batch.complete(baseOffset, logAppendTimeMs) : () -> batch.fail(error),
                completions);
        lock.notifyAll();
    }

    /**
     * Fails a batch whose outcome cannot be known any more: it was sent, then an earlier batch of its partition
     * failed for good, so it can be neither re-sent under its stamp (it would follow a gap) nor re-stamped (it may
     * be written already). Called under the lock.
     */
    private void abandon(ProducerBatch batch) {
        finish(batch, -1, -1, new ProducerException(ErrorCode.REQUEST_TIMED_OUT, batch.tp + ": outcome unknown: the batch "
                + "was sent, then an earlier batch of the partition failed for good; it may or may not have been written"
                + (batch.lastError == null ? "" : " (its last error: " + batch.lastErrorMessage + ")")));
    }

    /**
     * Runs the completions queued so far; call without holding the lock. One caller at a time runs them, in the
     * order the batches finished, until none are left: a caller that finds another one at it returns at once and
     * leaves its completions to it. So the callbacks of a partition's records run one after another in send order
     * (as Kafka's, which run on its I/O thread), though answers arrive on several gRPC threads.
     */
    void runCompletions() {
        synchronized (lock) {
            if (completing || completions.isEmpty()) {
                return;
            }
            completing = true;
            completer = Thread.currentThread();
        }
        boolean drained = false;
        try {
            while (true) {
                List<Runnable> run;
                synchronized (lock) {
                    if (completions.isEmpty()) {
                        completing = false;
                        completer = null;
                        drained = true;
                        return;
                    }
                    run = new ArrayList<>(completions);
                    completions.clear();
                }
                run.forEach(Runnable::run);
            }
        } finally {
            if (!drained) {
                synchronized (lock) {
                    completing = false;
                    completer = null;
                }
            }
        }
    }

    /** Whether the calling thread is running completions, i.e. is inside a user callback. */
    public boolean inCallback() {
        return completer == Thread.currentThread();
    }

    /**
     * Sends everything queued now and waits until each of those batches is answered. Must not be called from a
     * callback (the thread running it would wait for itself).
     */
    public void flush() throws InterruptedException {
        List<ProducerBatch> pending = sealAll();
        for (ProducerBatch b : pending) {
            try {
                b.done.get();
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.CancellationException failed) {
                // answered: its records' futures and callbacks tell how
            }
        }
    }
}
