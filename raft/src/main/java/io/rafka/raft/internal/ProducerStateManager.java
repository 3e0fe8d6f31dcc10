package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.record.RecordBatch;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The idempotent-producer state of one partition: for each producer id, its epoch and the sequence
 * numbers and offsets of its last {@link #BATCHES_PER_PRODUCER} batches. Checked and updated only by the
 * state machine's apply, in log order, so every replica holds the same state; it is part of each
 * partition snapshot, so it survives restarts and leader changes.
 *
 * <p>Rules (Kafka's): a batch whose sequence range matches a cached batch is a retry and gets the original
 * offsets; the next batch must start right after the last one; a newer epoch must start at sequence 0; an
 * older epoch is fenced. A producer id not seen before (or evicted) must start at sequence 0; a later batch of it is
 * refused UNKNOWN_PRODUCER_ID, which its producer takes as "start the sequence again" when the batch was never
 * written (a topic made again) and as a failure otherwise. At most
 * {@code maxProducers} ids are kept, least recently written evicted first.
 *
 * <p>Not thread-safe: used under the state machine's lock.
 */
public final class ProducerStateManager {
    public static final int BATCHES_PER_PRODUCER = 5;

    /** A batch remembered for de-duplication. */
    public record BatchMetadata(int firstSeq, int lastSeq, long firstOffset, long lastOffset, long timestamp) {
    }

    private static final class Entry {
        short epoch;
        final ArrayDeque<BatchMetadata> batches = new ArrayDeque<>();
    }

    /** The outcome of checking a batch. */
    public record Check(ErrorCode error, BatchMetadata duplicateOf) {
        static final Check OK = new Check(ErrorCode.NONE, null);

        public boolean isDuplicate() {
            return duplicateOf != null;
        }
    }

    private final int maxProducers;
    private final LinkedHashMap<Long, Entry> producers = new LinkedHashMap<>(16, 0.75f, true);

    public ProducerStateManager(int maxProducers) {
        this.maxProducers = maxProducers;
    }

    public int size() {
        return producers.size();
    }

    public Check check(RecordBatch batch) {
        if (!batch.hasProducerId()) {
            return Check.OK;
        }
        if (batch.baseSequence() < 0 || batch.producerEpoch() < 0) {
            return new Check(ErrorCode.INVALID_RECORD, null);
        }
        Entry e = producers.get(batch.producerId());
        if (e == null) {
            // A producer this partition has not seen starts at sequence 0. Accepting a later batch first would let it
            // overtake an earlier one that was refused for a moment (a leader not ready yet) and leave a gap the
            // earlier one can never fill: its retry would then look older than everything remembered. Told apart from
            // a gap (UNKNOWN_PRODUCER_ID, as Kafka's): a producer whose first unanswered batch gets it, with nothing
            // before it failed, knows the partition lost its state (a topic made again) and starts the sequence anew.
            return batch.baseSequence() == 0 ? Check.OK : new Check(ErrorCode.UNKNOWN_PRODUCER_ID, null);
        }
        if (batch.producerEpoch() < e.epoch) {
            return new Check(ErrorCode.INVALID_PRODUCER_EPOCH, null);
        }
        if (batch.producerEpoch() > e.epoch) {
            return batch.baseSequence() == 0 ? Check.OK : new Check(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, null);
        }
        for (BatchMetadata m : e.batches) {
            if (m.firstSeq() == batch.baseSequence() && m.lastSeq() == batch.lastSequence()) {
                return new Check(ErrorCode.NONE, m);
            }
        }
        if (!e.batches.isEmpty()) {
            int last = e.batches.peekLast().lastSeq();
            int expected = last == Integer.MAX_VALUE ? 0 : last + 1;
            if (batch.baseSequence() != expected) {
                boolean olderThanCache = behind(e.batches.peekFirst().firstSeq(), batch.baseSequence());
                return new Check(olderThanCache ? ErrorCode.DUPLICATE_SEQUENCE_NUMBER : ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, null);
            }
        }
        return Check.OK;
    }

    /**
     * Whether sequence {@code seq} comes before {@code first} in a producer's sequence, which wraps from
     * Integer.MAX_VALUE to 0: at most half the sequence space behind it. A plain comparison took a batch after a gap
     * past the wrap (20, the cache starting at MAX - 9) for an old one, DUPLICATE_SEQUENCE_NUMBER, which a producer
     * takes as written: its records were lost.
     */
    static boolean behind(int first, int seq) {
        long distance = Math.floorMod((long) first - seq, 1L << 31);
        return distance > 0 && distance < 1L << 30;
    }

    /** Records an appended batch; call only after {@link #check} said OK. */
    public void update(RecordBatch batch, long firstOffset, long lastOffset, long timestamp) {
        if (batch.hasProducerId()) {
            update(batch.producerId(), batch.producerEpoch(), batch.baseSequence(), batch.lastSequence(), firstOffset,
                    lastOffset, timestamp);
        }
    }

    /** Records an appended batch of producer {@code producerId} from its header fields. */
    public void update(long producerId, short producerEpoch, int firstSeq, int lastSeq, long firstOffset, long lastOffset,
                       long timestamp) {
        Entry e = producers.get(producerId);
        if (e == null) {
            e = new Entry();
            e.epoch = producerEpoch;
            producers.put(producerId, e);
            evictIfNeeded();
        } else if (producerEpoch > e.epoch) {
            e.epoch = producerEpoch;
            e.batches.clear();
        }
        e.batches.addLast(new BatchMetadata(firstSeq, lastSeq, firstOffset, lastOffset, timestamp));
        while (e.batches.size() > BATCHES_PER_PRODUCER) {
            e.batches.removeFirst();
        }
    }

    /**
     * An independent copy of the entries of {@code producerIds} only (never evicting): enough to check and
     * record a few batches of those producers in a row without touching this state.
     */
    public ProducerStateManager scratchFor(java.util.Collection<Long> producerIds) {
        ProducerStateManager c = new ProducerStateManager(Integer.MAX_VALUE);
        for (Long id : producerIds) {
            Entry e = producers.get(id);
            if (e != null) {
                Entry copy = new Entry();
                copy.epoch = e.epoch;
                copy.batches.addAll(e.batches);
                c.producers.put(id, copy);
            }
        }
        return c;
    }

    /** An independent copy (same entries, same eviction order). */
    public ProducerStateManager copy() {
        ProducerStateManager c = new ProducerStateManager(maxProducers);
        c.load(serialize());
        return c;
    }

    private void evictIfNeeded() {
        Iterator<Map.Entry<Long, Entry>> it = producers.entrySet().iterator();
        while (producers.size() > maxProducers && it.hasNext()) {
            it.next();
            it.remove();
        }
    }

    /** Serializes the state, least recently written producer first, so a reload keeps the eviction order. */
    public ByteBuffer serialize() {
        int size = 4;
        for (Entry e : producers.values()) {
            size += 8 + 2 + 4 + e.batches.size() * (4 + 4 + 8 + 8 + 8);
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(producers.size());
        for (Map.Entry<Long, Entry> pe : producers.entrySet()) {
            Entry e = pe.getValue();
            b.putLong(pe.getKey()).putShort(e.epoch).putInt(e.batches.size());
            for (BatchMetadata m : e.batches) {
                b.putInt(m.firstSeq()).putInt(m.lastSeq()).putLong(m.firstOffset()).putLong(m.lastOffset()).putLong(m.timestamp());
            }
        }
        return b.flip();
    }

    public void clear() {
        producers.clear();
    }

    /** Replaces the state with a serialized one. */
    public void load(ByteBuffer b) {
        producers.clear();
        int n = b.getInt();
        for (int i = 0; i < n; i++) {
            long id = b.getLong();
            Entry e = new Entry();
            e.epoch = b.getShort();
            int batches = b.getInt();
            for (int j = 0; j < batches; j++) {
                e.batches.addLast(new BatchMetadata(b.getInt(), b.getInt(), b.getLong(), b.getLong(), b.getLong()));
            }
            producers.put(id, e);
        }
    }
}
