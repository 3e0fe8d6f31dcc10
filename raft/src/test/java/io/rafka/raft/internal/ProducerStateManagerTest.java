package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProducerStateManagerTest {

    private static RecordBatch batch(long pid, int epoch, int seq, int records) {
        RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.NONE).producer(pid, (short) epoch, seq);
        for (int i = 0; i < records; i++) {
            b.append(1L, null, new byte[] {(byte) i});
        }
        return new RecordBatch(b.build());
    }

    /** The leader's pending copy: updates from header fields act like batch updates and do not leak back. */
    @Test
    void copyIsIndependentAndHeaderUpdatesMatchBatchUpdates() {
        ProducerStateManager committed = new ProducerStateManager(100);
        committed.update(batch(7, 0, 0, 2), 0, 1, 100);
        ProducerStateManager pending = committed.copy();
        pending.update(7, (short) 0, 2, 3, 2, 3, 200);
        assertTrue(pending.check(batch(7, 0, 2, 2)).isDuplicate(), "the pending copy knows the uncommitted batch");
        assertEquals(2, pending.check(batch(7, 0, 2, 2)).duplicateOf().firstOffset());
        assertEquals(ErrorCode.NONE, committed.check(batch(7, 0, 2, 2)).error(), "the committed state does not");
        assertEquals(ErrorCode.NONE, pending.check(batch(7, 0, 4, 1)).error());
        assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, committed.check(batch(7, 0, 4, 1)).error());
    }

    @Test
    void acceptsInOrderDetectsRetriesAndRejectsGaps() {
        ProducerStateManager state = new ProducerStateManager(100);
        RecordBatch first = batch(1, 0, 0, 3);
        assertEquals(ErrorCode.NONE, state.check(first).error());
        state.update(first, 10, 12, 100);
        RecordBatch retry = batch(1, 0, 0, 3);
        ProducerStateManager.Check dup = state.check(retry);
        assertTrue(dup.isDuplicate());
        assertEquals(10, dup.duplicateOf().firstOffset());
        assertEquals(12, dup.duplicateOf().lastOffset());
        assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, state.check(batch(1, 0, 4, 1)).error());
        assertEquals(ErrorCode.NONE, state.check(batch(1, 0, 3, 1)).error());
    }

    @Test
    void epochsFenceOldProducersAndRestartSequences() {
        ProducerStateManager state = new ProducerStateManager(100);
        state.update(batch(1, 2, 0, 1), 0, 0, 1);
        assertEquals(ErrorCode.INVALID_PRODUCER_EPOCH, state.check(batch(1, 1, 1, 1)).error());
        assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, state.check(batch(1, 3, 5, 1)).error());
        RecordBatch newEpoch = batch(1, 3, 0, 1);
        assertEquals(ErrorCode.NONE, state.check(newEpoch).error());
        state.update(newEpoch, 1, 1, 2);
        assertEquals(ErrorCode.INVALID_PRODUCER_EPOCH, state.check(batch(1, 2, 1, 1)).error());
    }

    @Test
    void aProducerThePartitionHasNotSeenMustStartAtSequenceZero() {
        ProducerStateManager state = new ProducerStateManager(100);
        // Batch 0-9 was refused for a moment (leader not ready); 10-19, sent behind it, must not overtake it.
        assertEquals(ErrorCode.UNKNOWN_PRODUCER_ID, state.check(batch(7, 0, 10, 10)).error(),
                "told apart from a gap: the partition has no state of producer 7 at all");
        RecordBatch first = batch(7, 0, 0, 10);
        assertEquals(ErrorCode.NONE, state.check(first).error());
        state.update(first, 0, 9, 1);
        assertEquals(ErrorCode.NONE, state.check(batch(7, 0, 10, 10)).error());
    }

    @Test
    void sequenceWrapsAtIntMax() {
        ProducerStateManager state = new ProducerStateManager(100);
        RecordBatch last = batch(1, 0, Integer.MAX_VALUE - 1, 2);
        state.update(last, 0, 1, 1);
        assertEquals(ErrorCode.NONE, state.check(batch(1, 0, 0, 1)).error());
    }

    /** Past the wrap, a batch after a gap is out of order, not a duplicate the producer would take as written. */
    @Test
    void aGapPastTheWrapIsOutOfOrderAndAnOldBatchBeforeItADuplicate() {
        ProducerStateManager state = new ProducerStateManager(100);
        state.update(batch(1, 0, Integer.MAX_VALUE - 9, 5), 0, 4, 1);
        state.update(batch(1, 0, Integer.MAX_VALUE - 4, 5), 5, 9, 1);
        state.update(batch(1, 0, 0, 15), 10, 24, 1);
        assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, state.check(batch(1, 0, 20, 1)).error());
        assertEquals(ErrorCode.DUPLICATE_SEQUENCE_NUMBER, state.check(batch(1, 0, Integer.MAX_VALUE - 20, 5)).error(),
                "before the wrap and before the cached batches: an old retry");
        assertEquals(ErrorCode.NONE, state.check(batch(1, 0, 15, 1)).error());
        assertTrue(ProducerStateManager.behind(100, 50));
        assertTrue(ProducerStateManager.behind(5, Integer.MAX_VALUE - 5));
        assertFalse(ProducerStateManager.behind(Integer.MAX_VALUE - 5, 5));
        assertFalse(ProducerStateManager.behind(50, 50));
    }

    @Test
    void evictsLeastRecentlyWrittenBeyondTheBound() {
        ProducerStateManager state = new ProducerStateManager(2);
        state.update(batch(1, 0, 0, 1), 0, 0, 1);
        state.update(batch(2, 0, 0, 1), 1, 1, 1);
        state.update(batch(3, 0, 0, 1), 2, 2, 1);
        assertEquals(2, state.size());
        // Producer 1 was evicted: its retry can no longer be recognised (documented limit), it is accepted.
        assertEquals(ErrorCode.NONE, state.check(batch(1, 0, 0, 1)).error());
        assertTrue(state.check(batch(3, 0, 0, 1)).isDuplicate());
    }

    /**
     * Seeded simulation against a simple model: random producers send, retry, skip and reorder; the state
     * serialized and reloaded at random points behaves exactly like the one that was never reloaded.
     */
    @Test
    void matchesModelAndSurvivesSerialization() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        ProducerStateManager live = new ProducerStateManager(1000);
        ProducerStateManager reloaded = new ProducerStateManager(1000);
        Map<Long, Integer> nextSeq = new HashMap<>();
        Map<Long, List<int[]>> sent = new HashMap<>();
        long offset = 0;
        for (int step = 0; step < 5000; step++) {
            long pid = random.nextInt(20);
            int expected = nextSeq.getOrDefault(pid, 0);
            int kind = random.nextInt(10);
            int seq;
            int count = 1 + random.nextInt(3);
            if (kind == 0 && sent.containsKey(pid)) {
                List<int[]> history = sent.get(pid);
                // One of the last five batches the partition remembers.
                int[] old = history.get(history.size() - 1 - random.nextInt(Math.min(5, history.size())));
                seq = old[0];
                count = old[1];
            } else if (kind == 1) {
                seq = expected + 1 + random.nextInt(3);
            } else {
                seq = expected;
            }
            RecordBatch b = batch(pid, 0, seq, count);
            ProducerStateManager.Check a = live.check(b);
            ProducerStateManager.Check r = reloaded.check(b);
            assertEquals(a.error(), r.error(), "seed " + seed + " step " + step);
            assertEquals(a.isDuplicate(), r.isDuplicate(), "seed " + seed + " step " + step);
            boolean fresh = !sent.containsKey(pid);
            if (kind == 0 && !fresh) {
                assertTrue(a.isDuplicate(), "retry of a recent batch is a duplicate; seed " + seed + " step " + step);
            } else if (kind == 1 && !fresh) {
                assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, a.error(), "seed " + seed + " step " + step);
            } else if (kind != 0 || fresh) {
                if (seq == expected) {
                    assertEquals(ErrorCode.NONE, a.error(), "seed " + seed + " step " + step);
                    assertTrue(!a.isDuplicate());
                }
            }
            if (a.error() == ErrorCode.NONE && !a.isDuplicate()) {
                live.update(b, offset, offset + count - 1, step);
                reloaded.update(b, offset, offset + count - 1, step);
                offset += count;
                nextSeq.put(pid, seq + count);
                sent.computeIfAbsent(pid, k -> new ArrayList<>()).add(new int[] {seq, count});
            }
            if (random.nextInt(50) == 0) {
                ByteBuffer bytes = reloaded.serialize();
                reloaded = new ProducerStateManager(1000);
                reloaded.load(bytes);
            }
        }
    }
}
