package io.rafka.client.producer.internals;

import io.rafka.common.TopicPartition;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;

/**
 * One partition's side of the producer, as Kafka's accumulator and sender keep it: the batch being filled, sealed
 * batches waiting to go out (in sequence order), batches in flight (in the order sent, all on one stream, so the
 * broker sees them in sequence order) and, after a failure, the batches to send again.
 *
 * <p>Ordering rule: once one of its batches fails, the partition sends nothing until every in-flight batch is
 * answered; then the failed ones go back to the front of the queue, in the order they were sealed, and are sent
 * again one at a time (nothing else in flight), as Kafka's producer does. Together with idempotence (a re-sent
 * batch that did commit gets its original offsets) this keeps each partition's records exactly once and in order.
 * One at a time matters: the broker recognises a retry only among the producer's last five batches of the
 * partition, so no more than four newer batches may ever be written before a batch being retried.
 *
 * <p>A batch that fails for good (RECORD_TOO_LARGE, say) leaves a gap in the partition's sequence that the broker
 * would refuse every later batch for; so the partition then bumps its producer epoch and restarts its sequence at 0
 * (the broker accepts sequence 0 of a newer epoch), re-stamping the batches sealed after the failed one once
 * nothing is in flight. Older batches being retried keep their stamps (they may have been written) and, being
 * retries, go out, one at a time, before any batch of the new epoch. Not thread-safe: guarded by the accumulator's lock.
 */
final class PartitionQueue {
    final TopicPartition tp;
    final ArrayDeque<ProducerBatch> ready = new ArrayDeque<>();
    final ArrayDeque<ProducerBatch> inFlight = new ArrayDeque<>();
    final List<ProducerBatch> failed = new ArrayList<>();
    /** The stream carrying {@link #inFlight}; null when nothing is in flight. */
    Object inFlightStream;
    long retryNotBeforeNanos;
    /** The broker the last batch went to (to count leader changes). */
    io.rafka.client.internals.BrokerAddress lastLeader;
    ProducerBatch open;
    /** How many batches at the front of {@link #ready} are being re-sent. */
    private int retriesQueued;
    /** Whether a re-sent batch is in flight: nothing is sent behind it. */
    private boolean retryInFlight;
    private int nextSequence;
    private short epoch;
    private long nextOrder;
    /** A batch failed for good: the sequence restarts (new epoch) once nothing is in flight. */
    private boolean resetPending;
    /** Batches sealed after this one are re-stamped by the reset; older ones keep their stamps (they may be written). */
    private long resetAfterOrder = -1;

    /** Where batches go that can be neither re-sent nor re-stamped (see {@link #requeueFailed}). */
    private final Consumer<ProducerBatch> abandon;

    PartitionQueue(TopicPartition tp, Consumer<ProducerBatch> abandon) {
        this.tp = tp;
        this.abandon = abandon;
    }

    /** Closes the open batch: encodes it with the next sequence numbers and queues it. */
    ProducerBatch seal(long producerId) {
        ProducerBatch batch = open;
        open = null;
        batch.order = nextOrder++;
        batch.seal(producerId, epoch, nextSequence);
        nextSequence = producerId < 0 ? 0 : next(nextSequence, batch.recordCount());
        ready.addLast(batch);
        return batch;
    }

    /** The sequence after {@code count} records from {@code sequence}: wraps to 0 after MAX_VALUE, as Kafka's. */
    static int next(int sequence, int count) {
        long next = (long) sequence + count;
        return (int) (next > Integer.MAX_VALUE ? next - Integer.MAX_VALUE - 1 : next);
    }

    /** Whether the next ready batch may go to {@code stream} now. */
    boolean canSend(Object stream, long nowNanos) {
        return !ready.isEmpty() && failed.isEmpty() && !resetPending && nowNanos >= retryNotBeforeNanos && !retryInFlight
                && (inFlight.isEmpty() || (inFlightStream == stream && retriesQueued == 0));
    }

    ProducerBatch sendNext(Object stream) {
        ProducerBatch batch = ready.pollFirst();
        if (retriesQueued > 0) {
            retriesQueued--;
            retryInFlight = true;
        }
        batch.attempts++;
        inFlight.addLast(batch);
        inFlightStream = stream;
        return batch;
    }

    /** Takes the first ready batch off the queue without sending it (it expired). */
    ProducerBatch dropFirst() {
        if (retriesQueued > 0) {
            retriesQueued--;
        }
        return ready.pollFirst();
    }

    /** Removes an answered batch, which must be the oldest in flight (streams answer in order). */
    void answered(ProducerBatch batch) {
        ProducerBatch head = inFlight.pollFirst();
        if (head != batch) {
            throw new IllegalStateException(tp + ": answer for " + batch + " while the oldest in flight is " + head);
        }
        if (inFlight.isEmpty()) {
            inFlightStream = null;
            retryInFlight = false;
            requeueFailed();
        }
    }

    /** A batch to send again, after {@code retryAtNanos}. */
    void failed(ProducerBatch batch, long retryAtNanos) {
        failed.add(batch);
        retryNotBeforeNanos = Math.max(retryNotBeforeNanos, retryAtNanos);
    }

    /**
     * A batch that will not be written (failed for good, or expired): with idempotence the sequence restarts under
     * a new epoch once nothing is in flight.
     */
    void gaveUp(ProducerBatch batch, boolean idempotent) {
        if (idempotent) {
            resetPending = true;
            resetAfterOrder = Math.max(resetAfterOrder, batch.order);
        }
        if (inFlight.isEmpty()) {
            requeueFailed();
        }
    }

    /** Once nothing is in flight, the failed batches go back to the front, in seal order; a pending reset applies. */
    private void requeueFailed() {
        failed.sort(Comparator.comparingLong(b -> b.order));
        for (int i = failed.size() - 1; i >= 0; i--) {
            ready.addFirst(failed.get(i));
        }
        retriesQueued += failed.size();
        failed.clear();
        if (resetPending) {
            resetPending = false;
            epoch++;
            nextSequence = 0;
            for (Iterator<ProducerBatch> it = ready.iterator(); it.hasNext(); ) {
                ProducerBatch b = it.next();
                if (b.order <= resetAfterOrder) {
                    continue;
                }
                if (b.mayBeWritten) {
                    // Sent before with no answer saying it was not written: it may be written under its old stamp,
                    // so a new stamp could write it twice, and under the old one it can never follow the gap.
                    it.remove();
                    retriesQueued = Math.max(0, retriesQueued - 1);
                    abandon.accept(b);
                } else {
                    b.restamp(epoch, nextSequence);
                    nextSequence = next(nextSequence, b.recordCount());
                }
            }
        }
    }

    /** Whether a batch of this partition failed and nothing newer may be sent yet. */
    boolean recovering() {
        return !failed.isEmpty() || resetPending;
    }

    boolean idle() {
        return open == null && ready.isEmpty() && inFlight.isEmpty() && failed.isEmpty();
    }
}
