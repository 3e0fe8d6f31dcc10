package io.rafka.client.perf;

import com.google.protobuf.UnsafeByteOperations;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatchBuilder;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * One partition's side of the perf producer, as Kafka's accumulator and sender keep it: the batch being
 * filled, sealed batches waiting to go out (in sequence order), batches in flight (in the order sent, all on
 * one stream, so the broker sees them in sequence order) and, after a failure, the batches to send again.
 *
 * <p>Ordering rule: once one of its batches fails, the partition sends nothing until every in-flight batch
 * is answered; then the failed ones go back to the front of the queue, lowest sequence first, and are sent
 * again one at a time (nothing else in flight), as Kafka's producer does. Together with idempotence (a re-sent
 * batch that did commit gets its original offsets) this keeps each partition's records exactly once and in
 * order. One at a time matters: the broker recognises a retry only among the producer's last five batches of
 * the partition, so no more than four newer batches may ever be written before a batch that is being retried
 * (at most four went out behind it on its first attempt; none goes out behind a retry).
 * Not thread-safe: guarded by the producer's lock.
 */
final class PartitionQueue {
    /** Bytes a record adds to a batch beyond its value, at most (length, attributes, deltas, null key, headers). */
    static final int RECORD_OVERHEAD_MAX = 28;

    final int partition;
    final ArrayDeque<PerfBatch> ready = new ArrayDeque<>();
    final ArrayDeque<PerfBatch> inFlight = new ArrayDeque<>();
    final List<PerfBatch> failed = new ArrayList<>();
    /** The stream carrying {@link #inFlight}; null when nothing is in flight. */
    BrokerStream inFlightStream;
    long retryNotBeforeNanos;
    /** How many batches at the front of {@link #ready} are being re-sent. */
    private int retriesQueued;
    /** Whether a re-sent batch is in flight: nothing is sent behind it. */
    private boolean retryInFlight;
    long appended;
    long acked;
    private RecordBatchBuilder open;
    private long[] openStarts = new long[32];
    private long openCreatedNanos;
    private long openPayloadBytes;
    private int nextSequence;

    PartitionQueue(int partition) {
        this.partition = partition;
    }

    boolean hasOpen() {
        return open != null;
    }

    long openCreatedNanos() {
        return openCreatedNanos;
    }

    /** Whether a record of {@code valueBytes} fits the open batch (a first record always fits). */
    boolean fits(int valueBytes, int batchBytes) {
        return open == null || open.estimatedSizeInBytes() + valueBytes + RECORD_OVERHEAD_MAX <= batchBytes;
    }

    void append(long timestampMs, byte[] value, long startNanos) {
        if (open == null) {
            open = new RecordBatchBuilder(CompressionType.NONE);
            openCreatedNanos = startNanos;
            openPayloadBytes = 0;
        }
        int n = open.recordCount();
        if (n == openStarts.length) {
            openStarts = Arrays.copyOf(openStarts, n * 2);
        }
        openStarts[n] = startNanos;
        open.append(timestampMs, null, value);
        openPayloadBytes += value.length;
        appended++;
    }

    /** Closes the open batch: gives it the next sequence numbers and queues it. */
    void seal(long producerId, short producerEpoch) {
        int n = open.recordCount();
        open.producer(producerId, producerEpoch, nextSequence);
        PerfBatch batch = new PerfBatch(partition, nextSequence, n, openPayloadBytes,
                UnsafeByteOperations.unsafeWrap(open.build()), Arrays.copyOf(openStarts, n), openCreatedNanos);
        nextSequence += n;
        ready.addLast(batch);
        open = null;
    }

    /** Whether the next ready batch may go to {@code stream} now. */
    boolean canSend(BrokerStream stream, long nowNanos) {
        return !ready.isEmpty() && failed.isEmpty() && nowNanos >= retryNotBeforeNanos && !retryInFlight
                && (inFlight.isEmpty() || (inFlightStream == stream && retriesQueued == 0));
    }

    PerfBatch sendNext(BrokerStream stream) {
        PerfBatch batch = ready.pollFirst();
        if (retriesQueued > 0) {
            retriesQueued--;
            retryInFlight = true;
        }
        inFlight.addLast(batch);
        inFlightStream = stream;
        return batch;
    }

    /** Removes an answered batch, which must be the oldest in flight (streams answer in order). */
    void answered(PerfBatch batch) {
        PerfBatch head = inFlight.pollFirst();
        if (head != batch) {
            throw new IllegalStateException("partition " + partition + ": answer for sequence " + batch.baseSequence()
                    + " while the oldest in flight is " + (head == null ? "none" : head.baseSequence()));
        }
        if (inFlight.isEmpty()) {
            inFlightStream = null;
            retryInFlight = false;
            requeueFailed();
        }
    }

    void failed(PerfBatch batch, long retryAtNanos) {
        failed.add(batch);
        retryNotBeforeNanos = Math.max(retryNotBeforeNanos, retryAtNanos);
    }

    /** Once nothing is in flight, the failed batches go back to the front, lowest sequence first. */
    private void requeueFailed() {
        failed.sort(Comparator.comparingInt(PerfBatch::baseSequence));
        for (int i = failed.size() - 1; i >= 0; i--) {
            ready.addFirst(failed.get(i));
        }
        retriesQueued += failed.size();
        failed.clear();
    }

    /** Whether a batch of this partition failed and nothing newer may be sent yet. */
    boolean recovering() {
        return !failed.isEmpty();
    }

    boolean idle() {
        return open == null && ready.isEmpty() && inFlight.isEmpty() && failed.isEmpty();
    }
}
