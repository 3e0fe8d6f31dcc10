package io.rafka.client.producer.internals;

import io.rafka.common.TopicPartition;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
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
 * retries, go out, one at a time, before any batch of the new epoch.
 *
 * <p>A batch the broker refuses as larger than the topic allows ({@code RECORD_TOO_LARGE}) is split in two and the
 * halves are sent again as retries are ({@link #split}), until each fits or holds one record, as Kafka's producer
 * splits such batches. The halves keep the batch's sequence numbers (the first half its first ones, the second half
 * the rest) and its place in the partition's order: seal orders are {@link #ORDER_SPAN} apart, and a half takes half
 * of its batch's span. Not thread-safe: guarded by the accumulator's lock.
 */
final class PartitionQueue {
    /**
     * The seal orders two consecutive batches are apart: room for a batch to be halved 24 times (so down to single
     * records for batches of up to 16 M records) while its halves stay between it and the next batch.
     */
    static final long ORDER_SPAN = 1L << 24;

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
    /**
     * The producer id this partition's batches carry when the producer's own cannot be used any more: after
     * {@link Short#MAX_VALUE} epochs (batches failed for good) the epoch cannot grow, so the partition goes on under
     * a new producer id from the cluster, epoch 0 (as Kafka's producer does when its epoch is exhausted). -1: the
     * producer's.
     */
    private long ownProducerId = -1;
    private long nextOrder;
    /** A batch failed for good: the sequence restarts (new epoch) once nothing is in flight. */
    private boolean resetPending;
    /** Batches sealed after this one are re-stamped by the reset; older ones keep their stamps (they may be written). */
    private long resetAfterOrder = -1;
    /**
     * The oldest batch the partition has no producer state for ({@link #restartSequenceFrom}): it and every later one
     * are stamped anew at the next reset, even those before a batch given up meanwhile (which moves
     * {@code resetAfterOrder} past them); {@code Long.MAX_VALUE}: none.
     */
    private long restartFromOrder = Long.MAX_VALUE;

    /** Completions of batches that finished before an older batch of the partition did, by seal order. */
    private final Map<Long, Runnable> heldCompletions = new HashMap<>();
    /** The seal orders of the batches sealed and not yet completed (a split batch's halves instead of it). */
    private final TreeSet<Long> uncompleted = new TreeSet<>();

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
        batch.order = nextOrder;
        batch.orderSpan = ORDER_SPAN;
        nextOrder += ORDER_SPAN;
        uncompleted.add(batch.order);
        batch.seal(producerId >= 0 && ownProducerId >= 0 ? ownProducerId : producerId, epoch, nextSequence);
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

    /**
     * The partition has no state of this producer ({@code UNKNOWN_PRODUCER_ID}) and {@code batch} is the first one
     * outstanding: once nothing is in flight the sequence restarts at 0 under a new epoch from {@code batch} on (which
     * the caller queues again with {@link #failed}).
     */
    void restartSequenceFrom(ProducerBatch batch) {
        resetPending = true;
        restartFromOrder = Math.min(restartFromOrder, batch.order);
    }

    /** Once nothing is in flight, the failed batches go back to the front, in seal order; a pending reset applies. */
    private void requeueFailed() {
        failed.sort(Comparator.comparingLong(b -> b.order));
        for (int i = failed.size() - 1; i >= 0; i--) {
            ready.addFirst(failed.get(i));
        }
        retriesQueued += failed.size();
        failed.clear();
        if (resetPending && epoch < Short.MAX_VALUE) {
            epoch++;
            restampAfterGap();
        }
    }

    /** Whether the sequence must restart and the epoch cannot grow: the sender gets a new producer id. */
    boolean wantsProducerId() {
        return resetPending && epoch == Short.MAX_VALUE && inFlight.isEmpty();
    }

    /** Goes on under {@code producerId}, epoch 0: the sequence restarts as after any gap. */
    void useProducerId(long producerId) {
        if (!wantsProducerId()) {
            throw new IllegalStateException(tp + ": no new producer id wanted");
        }
        ownProducerId = producerId;
        epoch = 0;
        restampAfterGap();
    }

    /** Test hook: the epoch the partition is at (to reach the end of the epochs without 32,767 failures). */
    void epochForTest(short epoch) {
        this.epoch = epoch;
    }

    /** The sequence restarts at 0 under the current producer id and epoch, for the batches after the gap. */
    private void restampAfterGap() {
        resetPending = false;
        nextSequence = 0;
        long restartFrom = restartFromOrder;
        restartFromOrder = Long.MAX_VALUE;
        for (Iterator<ProducerBatch> it = ready.iterator(); it.hasNext(); ) {
            ProducerBatch b = it.next();
            if (b.order <= resetAfterOrder && b.order < restartFrom) {
                continue;
            }
            if (b.mayBeWritten) {
                // Sent before with no answer saying it was not written: it may be written under its old stamp,
                // so a new stamp could write it twice, and under the old one it can never follow the gap.
                it.remove();
                retriesQueued = Math.max(0, retriesQueued - 1);
                abandon.accept(b);
            } else {
                b.restamp(ownProducerId >= 0 ? ownProducerId : b.producerId, epoch, nextSequence);
                nextSequence = next(nextSequence, b.recordCount());
            }
        }
    }

    /**
     * A batch is done: its completion is released once those of every older batch of the partition are, so the
     * records' futures and callbacks of a partition complete in send order (a batch answered while an older one
     * waits for its retry is held until then). Adds what is now due to {@code due}, in order.
     */
    void completed(ProducerBatch batch, Runnable completion, List<Runnable> due) {
        if (batch.order < 0) {
            due.add(completion);  // never sealed (a forced close): no older batch can be pending behind it
            return;
        }
        heldCompletions.put(batch.order, completion);
        for (Runnable r; !uncompleted.isEmpty() && (r = heldCompletions.remove(uncompleted.first())) != null; ) {
            uncompleted.pollFirst();
            due.add(r);
        }
    }

    /**
     * An in-flight batch the broker refused as too large for the topic, not written: {@code halves} (from {@link
     * ProducerBatch#split}) take its place and are sent again, in order, once nothing is in flight, as failed batches
     * are. The caller still reports the batch answered.
     */
    void split(ProducerBatch batch, List<ProducerBatch> halves, long retryAtNanos) {
        uncompleted.remove(batch.order);
        for (ProducerBatch half : halves) {
            uncompleted.add(half.order);
            failed(half, retryAtNanos);
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
