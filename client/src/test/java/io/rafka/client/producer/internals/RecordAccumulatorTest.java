package io.rafka.client.producer.internals;

import io.rafka.client.producer.BufferExhaustedException;
import io.rafka.client.producer.DefaultPartitioner;
import io.rafka.client.producer.ProducerConfig;
import io.rafka.client.producer.ProducerException;
import io.rafka.client.producer.RecordMetadata;
import io.rafka.common.ErrorCode;
import io.rafka.common.TopicPartition;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatch;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The accumulator alone (no sender): batching by size, memory bounds and the idempotent sequence bookkeeping. */
class RecordAccumulatorTest {
    private static final TopicPartition TP = new TopicPartition("t", 0);

    private static ProducerConfig config(int batchSize, long bufferMemory, long maxBlockMs) {
        return new ProducerConfig(List.of("h:1"), io.rafka.client.producer.Acks.ALL, 1000, batchSize, bufferMemory,
                maxBlockMs, CompressionType.NONE, true, 120_000, 30_000, 10, 100, 5, 1 << 20, 300_000,
                new DefaultPartitioner(), "");
    }

    private static CompletableFuture<RecordMetadata> append(RecordAccumulator acc, int valueBytes, boolean abort,
                                                            long maxBlockMs) throws InterruptedException {
        return acc.append(TP, 1000, null, new byte[valueBytes], List.of(), null,
                System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(maxBlockMs), abort);
    }

    @Test
    void aBatchIsSealedOnceFullAndAKeylessRecordMayAskForAnotherPartition() throws Exception {
        RecordAccumulator acc = new RecordAccumulator(config(1000, 1 << 20, 0));
        acc.setProducerId(7);
        for (int i = 0; i < 5; i++) {
            append(acc, 100, false, 0);
        }
        PartitionQueue q = acc.queues().iterator().next();
        assertTrue(q.ready.isEmpty());
        assertNull(append(acc, 500, true, 0), "would start a new batch: the caller re-partitions first");
        append(acc, 500, false, 0);
        assertEquals(1, q.ready.size());
        RecordBatch sealed = new RecordBatch(q.ready.peekFirst().data().asReadOnlyByteBuffer());
        assertEquals(5, sealed.recordCount());
        assertEquals(7, sealed.producerId());
        assertEquals(0, sealed.baseSequence());
        sealed.ensureValid();
        acc.sealAll();
        assertEquals(5, new RecordBatch(q.ready.peekLast().data().asReadOnlyByteBuffer()).baseSequence());
    }

    /** As Kafka's producer: a record that would be a request larger than max.request.size on its own is refused at once. */
    @Test
    void aRecordLargerThanARequestMayBeIsRefusedAtSend() throws Exception {
        RecordAccumulator acc = new RecordAccumulator(config(16_384, 64L << 20, 50));
        append(acc, (1 << 20) - 200, false, 50);   // just under 1 MiB with the batch's and record's overhead
        ProducerException tooLarge = assertThrows(ProducerException.class, () -> append(acc, 1 << 20, false, 50));
        assertEquals(ErrorCode.RECORD_TOO_LARGE, tooLarge.errorCode());
        assertTrue(tooLarge.getMessage().contains("max.request.size"), tooLarge.getMessage());
    }

    @Test
    void sendBlocksForMemoryThenFailsWithATypedError() throws Exception {
        RecordAccumulator acc = new RecordAccumulator(config(16_384, 1000, 50));
        append(acc, 900, false, 50);
        long start = System.nanoTime();
        BufferExhaustedException e = assertThrows(BufferExhaustedException.class, () -> append(acc, 500, false, 50));
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(45), "waited max.block.ms first");
        assertEquals(ErrorCode.BUSY, e.errorCode());
        ProducerException tooLarge = assertThrows(ProducerException.class, () -> append(acc, 5000, false, 50));
        assertEquals(ErrorCode.RECORD_TOO_LARGE, tooLarge.errorCode());
        // Memory comes back when the batch is answered: the next send fits again.
        acc.sealAll();
        PartitionQueue q = acc.queues().iterator().next();
        ProducerBatch b = q.ready.peekFirst();
        synchronized (acc.lock) {
            q.sendNext("stream");
            q.answered(b);
            acc.finish(b, 0, -1, null);
        }
        acc.runCompletions();
        assertTrue(b.done.isDone());
        append(acc, 500, false, 50);
    }

    @Test
    void aProducerThatOutrunsItsBufferMemoryStillSendsFullBatches() throws Exception {
        // Room for two and a half batches; 210 records. The loop below plays the sender and the brokers: it seals
        // open batches at once while the producer waits for memory (as Sender does) and answers one batch a round.
        int batchSize = 800;
        int full = recordsPerFullBatch(batchSize, 100);
        RecordAccumulator acc = new RecordAccumulator(config(batchSize, batchSize * 5L / 2, 10_000));
        acc.setProducerId(1);
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread producer = new Thread(() -> {
            try {
                for (int i = 0; i < 210; i++) {
                    append(acc, 100, false, 10_000);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        producer.start();
        List<Integer> recordsPerBatch = new java.util.ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (recordsPerBatch.stream().mapToInt(Integer::intValue).sum() < 210 && System.nanoTime() < deadline) {
            synchronized (acc.lock) {
                for (PartitionQueue q : acc.queues()) {
                    if (q.open != null && (acc.memoryWaiters > 0 || !producer.isAlive())) {
                        acc.seal(q);
                    }
                    if (!q.ready.isEmpty()) {
                        ProducerBatch b = q.sendNext("s");
                        q.answered(b);
                        acc.finish(b, 0, -1, null);
                        recordsPerBatch.add(b.recordCount());
                    }
                }
                acc.lock.wait(1);
            }
            acc.runCompletions();
        }
        producer.join(5_000);
        assertNull(failure.get());
        assertEquals(210, recordsPerBatch.stream().mapToInt(Integer::intValue).sum());
        // Only the last batch may be short (sealed when the producer is done).
        List<Integer> allButLast = recordsPerBatch.subList(0, recordsPerBatch.size() - 1);
        assertEquals(List.of(full), allButLast.stream().distinct().toList(),
                "every batch full, though the producer waited for memory all along: " + recordsPerBatch);
    }

    /** How many records of {@code valueBytes} a batch takes with memory to spare. */
    private static int recordsPerFullBatch(int batchSize, int valueBytes) throws InterruptedException {
        RecordAccumulator acc = new RecordAccumulator(config(batchSize, 1 << 20, 0));
        for (int i = 0; i < 2 * batchSize / valueBytes; i++) {
            append(acc, valueBytes, false, 0);
        }
        PartitionQueue q = acc.queues().iterator().next();
        int n = q.ready.peekFirst().recordCount();
        assertTrue(n > 1);
        return n;
    }

    @Test
    void aBatchThatFailsForGoodRestartsTheSequenceUnderANewEpochForLaterBatches() throws Exception {
        RecordAccumulator acc = new RecordAccumulator(config(100, 1 << 20, 0));
        acc.setProducerId(3);
        for (int i = 0; i < 3; i++) {
            append(acc, 90, false, 0);  // one record per batch: sequences 0, 1, 2
        }
        PartitionQueue q = acc.queues().iterator().next();
        ProducerBatch first = q.sendNext("s");
        ProducerBatch second = q.sendNext("s");
        q.gaveUp(first, true);    // RECORD_TOO_LARGE, say
        q.answered(first);
        assertTrue(!q.canSend("s", System.nanoTime()), "nothing new while the gap is unresolved");
        q.failed(second, 0);      // OUT_OF_ORDER behind the failure: to be sent again
        q.answered(second);
        assertEquals(2, q.ready.size());
        for (int seq = 0; seq < 2; seq++) {
            ByteBuffer data = q.ready.stream().toList().get(seq).data().asReadOnlyByteBuffer();
            RecordBatch b = new RecordBatch(data);
            b.ensureValid();  // CRC recomputed
            assertEquals(1, b.producerEpoch());
            assertEquals(seq, b.baseSequence());
        }
    }

    @Test
    void aBatchThatMayBeWrittenIsNeitherResentNorRestampedWhenAnEarlierOneFailsForGood() throws Exception {
        RecordAccumulator acc = new RecordAccumulator(config(100, 1 << 20, 0));
        acc.setProducerId(3);
        List<CompletableFuture<RecordMetadata>> futures = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            futures.add(append(acc, 90, false, 0));  // one record per batch: sequences 0, 1, 2
        }
        acc.sealAll();
        PartitionQueue q = acc.queues().iterator().next();
        ProducerBatch first = q.sendNext("s");
        ProducerBatch second = q.sendNext("s");
        synchronized (acc.lock) {
            // The stream broke with both in flight: either may have been written.
            first.mayBeWritten = true;
            second.mayBeWritten = true;
            q.failed(first, 0);
            q.answered(first);
            q.failed(second, 0);
            q.answered(second);
            // The first is re-sent alone and then given up (retries used up): a gap, so a new epoch.
            ProducerBatch again = q.sendNext("s");
            assertEquals(first, again);
            q.gaveUp(first, true);
            q.answered(first);
            acc.finish(first, -1, -1, new ProducerException(ErrorCode.REQUEST_TIMED_OUT, "retries used up"));
        }
        acc.runCompletions();
        assertThrows(java.util.concurrent.ExecutionException.class, () -> futures.get(0).get(1, TimeUnit.SECONDS));
        ProducerException e = (ProducerException) assertThrows(java.util.concurrent.ExecutionException.class,
                () -> futures.get(1).get(1, TimeUnit.SECONDS)).getCause();
        assertEquals(ErrorCode.REQUEST_TIMED_OUT, e.errorCode(), "the second's outcome is unknown: " + e.getMessage());
        assertTrue(e.getMessage().contains("outcome unknown"), e.getMessage());
        assertEquals(1, q.ready.size(), "only the never-sent third is left");
        RecordBatch third = new RecordBatch(q.ready.peekFirst().data().asReadOnlyByteBuffer());
        third.ensureValid();
        assertEquals(1, third.producerEpoch());
        assertEquals(0, third.baseSequence(), "the never-sent batch starts the new epoch's sequence");
    }

    @Test
    void aPartitionWhoseEpochsAreUsedUpGoesOnUnderANewProducerId() throws Exception {
        RecordAccumulator acc = new RecordAccumulator(config(100, 1 << 20, 0));
        acc.setProducerId(3);
        PartitionQueue q;
        synchronized (acc.lock) {
            append(acc, 90, false, 0);
            q = acc.queues().iterator().next();
            q.epochForTest(Short.MAX_VALUE);
        }
        for (int i = 0; i < 2; i++) {
            append(acc, 90, false, 0);  // one record per batch: sequences 0, 1, 2 at the last epoch
        }
        synchronized (acc.lock) {
            ProducerBatch first = q.sendNext("s");
            q.gaveUp(first, true);    // RECORD_TOO_LARGE, say: the sequence must restart, the epoch cannot grow
            q.answered(first);
            assertTrue(q.wantsProducerId());
            assertTrue(!q.canSend("s", System.nanoTime()), "nothing goes out under a stamp the broker would refuse");
            q.useProducerId(99);
            assertTrue(!q.wantsProducerId());
        }
        acc.sealAll();
        assertEquals(2, q.ready.size());
        for (int seq = 0; seq < 2; seq++) {
            RecordBatch b = new RecordBatch(q.ready.stream().toList().get(seq).data().asReadOnlyByteBuffer());
            b.ensureValid();
            assertEquals(99, b.producerId());
            assertEquals(0, b.producerEpoch());
            assertEquals(seq, b.baseSequence());
        }
        append(acc, 90, false, 0);
        acc.sealAll();
        RecordBatch later = new RecordBatch(q.ready.peekLast().data().asReadOnlyByteBuffer());
        assertEquals(99, later.producerId(), "batches sealed later carry the new id too");
        assertEquals(2, later.baseSequence());
    }

    /**
     * A batch refused as too large for its topic goes out again in halves: the halves keep its sequence numbers and
     * its place before the next batch, and the records' callbacks still run in send order, whatever order the
     * answers come in.
     */
    @Test
    void aBatchSplitInHalvesKeepsItsSequencesItsPlaceAndItsRecordsOrder() throws Exception {
        RecordAccumulator acc = new RecordAccumulator(config(1000, 1 << 20, 0));
        acc.setProducerId(5);
        List<Integer> told = new java.util.ArrayList<>();
        List<CompletableFuture<RecordMetadata>> futures = new java.util.ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int n = i;
            futures.add(acc.append(TP, 1000 + i, new byte[]{(byte) i}, new byte[100], List.of(), (m, e) -> told.add(n),
                    System.nanoTime(), false));
            if (i == 4) {
                acc.sealAll();  // a batch of records 0-4 (sequences 0-4), then one of record 5 (sequence 5)
            }
        }
        acc.sealAll();
        PartitionQueue q = acc.queues().iterator().next();
        ProducerBatch refused;
        ProducerBatch next;
        List<ProducerBatch> halves;
        synchronized (acc.lock) {
            refused = q.sendNext("s");
            next = q.sendNext("s");
            assertTrue(refused.splittable());
            halves = refused.split();
            q.split(refused, halves, 0);
            q.answered(refused);
            q.failed(next, 0);  // OUT_OF_ORDER_SEQUENCE_NUMBER behind the refused batch: sent again after it
            q.answered(next);
            assertEquals(List.of(halves.get(0), halves.get(1), next), List.copyOf(q.ready), "the halves go first");
        }
        int[][] expected = {{0, 2}, {2, 3}};  // base sequence, records
        for (int h = 0; h < 2; h++) {
            RecordBatch b = new RecordBatch(halves.get(h).data().asReadOnlyByteBuffer());
            b.ensureValid();
            assertEquals(5, b.producerId());
            assertEquals(expected[h][0], b.baseSequence());
            assertEquals(expected[h][1], b.recordCount());
            List<io.rafka.record.Record> records = b.records();
            for (int i = 0; i < records.size(); i++) {
                int n = expected[h][0] + i;
                assertEquals(n, records.get(i).key()[0], "records keep their order");
                assertEquals(1000 + n, records.get(i).timestamp(), "and their timestamps");
            }
        }
        assertEquals(refused.orderSpan / 2, halves.get(1).orderSpan, "a half can be halved again");
        assertTrue(halves.get(1).order < next.order && halves.get(1).splittable());
        synchronized (acc.lock) {
            // Answered in reverse: nothing is told before record 0's batch is.
            acc.finish(next, 5, -1, null);
            acc.finish(halves.get(1), 2, -1, null);
        }
        acc.runCompletions();
        assertEquals(List.of(), told);
        assertTrue(!refused.done.isDone(), "flush waits for both halves");
        synchronized (acc.lock) {
            acc.finish(halves.get(0), 0, -1, null);
        }
        acc.runCompletions();
        assertEquals(List.of(0, 1, 2, 3, 4, 5), told);
        assertTrue(refused.done.isDone());
        for (int i = 0; i < 6; i++) {
            assertEquals(i, futures.get(i).join().offset());
        }
    }

    /**
     * A partition with no state of the producer (UNKNOWN_PRODUCER_ID: a topic made again) for batch A, and the batch
     * behind it refused for itself and given up: A and every batch after it are stamped anew under the next epoch from
     * sequence 0, A included although the given-up batch comes after it.
     */
    @Test
    void aRestartedSequenceStampsItsFirstBatchAgainPastABatchGivenUp() throws Exception {
        RecordAccumulator acc = new RecordAccumulator(config(1000, 1 << 20, 0));
        acc.setProducerId(5);
        for (int i = 0; i < 4; i++) {
            acc.append(TP, 1000 + i, new byte[]{(byte) i}, new byte[10], List.of(), null, System.nanoTime(), false);
            acc.sealAll();   // one batch per record: sequences 0, 1, 2, 3
        }
        PartitionQueue q = acc.queues().iterator().next();
        ProducerBatch a;
        ProducerBatch c;
        synchronized (acc.lock) {
            ProducerBatch written = q.sendNext("s");
            q.answered(written);
            a = q.sendNext("s");
            ProducerBatch b = q.sendNext("s");
            c = q.ready.peekFirst();
            q.restartSequenceFrom(a);   // UNKNOWN_PRODUCER_ID for a (sequence 1), never written
            q.failed(a, 0);
            q.answered(a);
            q.gaveUp(b, true);          // b refused for itself (too large for the new topic)
            q.answered(b);
            assertEquals(List.of(a, c), List.copyOf(q.ready));
        }
        RecordBatch first = new RecordBatch(a.data().asReadOnlyByteBuffer());
        RecordBatch after = new RecordBatch(c.data().asReadOnlyByteBuffer());
        assertEquals(List.of(1, 0), List.of((int) first.producerEpoch(), first.baseSequence()), "a: next epoch, sequence 0");
        assertEquals(List.of(1, 1), List.of((int) after.producerEpoch(), after.baseSequence()), "c: right after it");
    }

    @Test
    void sequencesWrapAfterMaxValueAsTheBrokerExpects() {
        assertEquals(5, PartitionQueue.next(0, 5));
        assertEquals(0, PartitionQueue.next(Integer.MAX_VALUE, 1));
        assertEquals(2, PartitionQueue.next(Integer.MAX_VALUE - 1, 4));
    }
}
