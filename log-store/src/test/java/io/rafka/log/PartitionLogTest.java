package io.rafka.log;

import io.rafka.common.InvalidRecordException;
import io.rafka.common.OffsetOutOfRangeException;
import io.rafka.common.RecordTooLargeException;
import io.rafka.common.Time;
import io.rafka.log.internal.LogFiles;
import io.rafka.record.CompressionType;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.record.RecordBatches;
import io.rafka.record.TimestampType;
import io.rafka.testing.MockTime;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PartitionLogTest {
    @TempDir
    Path tmp;

    private static LogConfig small() {
        return LogConfig.builder().segmentBytes(4096).indexIntervalBytes(200).build();
    }

    @Test
    void assignsOffsetsStampsEpochAndReadsBack() {
        try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), LogConfig.defaults(), Time.SYSTEM)) {
            LogAppendInfo a = log.append(TestBatches.batch(CompressionType.NONE, "a", 3, 10L), 5, 1_000L);
            LogAppendInfo b = log.append(TestBatches.batch(CompressionType.LZ4, "b", 2, 20L), 6, 2_000L);
            assertEquals(0, a.firstOffset());
            assertEquals(2, a.lastOffset());
            assertEquals(3, b.firstOffset());
            assertEquals(4, b.lastOffset());
            assertEquals(5, log.logEndOffset());
            List<RecordBatch> batches = RecordBatches.split(log.read(0, 1 << 20, 5).records());
            assertEquals(2, batches.size());
            assertEquals(5, batches.get(0).partitionLeaderEpoch());
            assertEquals(6, batches.get(1).partitionLeaderEpoch());
            List<Record> records = TestBatches.records(log.read(1, 1 << 20, 5).records());
            assertEquals(List.of("a-0", "a-1", "a-2", "b-0", "b-1"), records.stream().map(TestBatches::value).toList());
        }
    }

    @Test
    void readsStopAtTheHighWatermarkAndServeEmptyAtTheEnd() {
        try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), LogConfig.defaults(), Time.SYSTEM)) {
            for (int i = 0; i < 5; i++) {
                log.append(TestBatches.batch(CompressionType.NONE, "x" + i, 2, 1L), 0, 1L);
            }
            assertEquals(2, RecordBatches.split(log.read(0, 1 << 20, 4).records()).size());
            assertEquals(0, log.read(4, 1 << 20, 4).sizeInBytes());
            assertEquals(0, log.read(10, 1 << 20, 10).sizeInBytes());
            assertThrows(OffsetOutOfRangeException.class, () -> log.read(11, 1 << 20, 11));
            assertThrows(OffsetOutOfRangeException.class, () -> log.read(-1, 1 << 20, 11));
        }
    }

    @Test
    void maxBytesReturnsWholeBatchesAndAtLeastOne() {
        try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), LogConfig.defaults(), Time.SYSTEM)) {
            int size = TestBatches.sized(1, 1000, 1L).remaining();
            for (int i = 0; i < 10; i++) {
                log.append(TestBatches.sized(1, 1000, 1L), 0, 1L);
            }
            assertEquals(3 * size, log.read(0, 3 * size + size / 2, 10).sizeInBytes());
            assertEquals(size, log.read(0, 10, 10).sizeInBytes(), "first batch whole even if over maxBytes");
            assertEquals(size, log.read(9, 1 << 20, 10).sizeInBytes());
        }
    }

    @Test
    void rejectsBadAppendsWithTypedErrors() {
        LogConfig cfg = LogConfig.builder().maxMessageBytes(500).build();
        try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), cfg, Time.SYSTEM)) {
            assertThrows(RecordTooLargeException.class, () -> log.append(TestBatches.sized(1, 1000, 1L), 0, 1L));
            ByteBuffer corrupt = TestBatches.sized(1, 10, 1L);
            corrupt.put(corrupt.limit() - 1, (byte) 7);
            assertThrows(io.rafka.common.CorruptRecordException.class, () -> log.append(corrupt, 0, 1L));
            assertThrows(InvalidRecordException.class, () -> log.append(ByteBuffer.allocate(0), 0, 1L));
            assertEquals(0, log.logEndOffset(), "nothing was appended");
            log.append(TestBatches.sized(1, 10, 1L), 0, 1L);
            assertEquals(1, log.logEndOffset());
        }
    }

    @Test
    void logAppendTimeTopicsStampTheAppendTime() {
        LogConfig cfg = LogConfig.builder().messageTimestampType(TimestampType.LOG_APPEND_TIME).build();
        try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), cfg, Time.SYSTEM)) {
            LogAppendInfo info = log.append(TestBatches.batch(CompressionType.SNAPPY, "v", 3, 5L), 0, 777L);
            assertEquals(777L, info.logAppendTimeMs());
            for (Record r : TestBatches.records(log.read(0, 1 << 20, 3).records())) {
                assertEquals(777L, r.timestamp());
            }
        }
    }

    /**
     * Reference model: random batches (codecs, sizes, timestamps out of order) into a log with tiny
     * segments and index interval; every read and every timestamp lookup is checked against a TreeMap.
     */
    @Test
    void matchesReferenceModel() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        TreeMap<Long, Record> model = new TreeMap<>();
        java.util.TreeSet<Long> batchEnds = new java.util.TreeSet<>();
        try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), small(), Time.SYSTEM)) {
            long clock = 1_000_000L;
            for (int i = 0; i < 400; i++) {
                CompressionType codec = CompressionType.values()[random.nextInt(CompressionType.values().length)];
                RecordBatchBuilder b = new RecordBatchBuilder(codec);
                int n = 1 + random.nextInt(8);
                long first = log.logEndOffset();
                for (int r = 0; r < n; r++) {
                    clock += random.nextInt(50);
                    long ts = clock - random.nextInt(300);
                    byte[] value = ("v" + (first + r) + "-" + "x".repeat(random.nextInt(200))).getBytes(StandardCharsets.UTF_8);
                    b.append(ts, null, value);
                    model.put(first + r, new Record(first + r, ts, null, value, List.of()));
                }
                LogAppendInfo info = log.append(b.build(), 1, clock);
                assertEquals(first, info.firstOffset(), "seed " + seed);
                batchEnds.add(info.lastOffset() + 1);
            }
            assertTrue(log.segmentCount() > 5, "tiny segments roll: " + log.segmentCount());
            long end = log.logEndOffset();
            assertEquals(model.size(), end);
            for (int q = 0; q < 500; q++) {
                long offset = random.nextLong(end);
                // The high watermark of a Raft partition always sits at a batch boundary.
                List<Long> ends = List.copyOf(batchEnds.tailSet(offset, false));
                long hw = ends.get(random.nextInt(ends.size()));
                int maxBytes = 1 + random.nextInt(3000);
                List<Record> got = TestBatches.records(log.read(offset, maxBytes, hw).records());
                assertFalse(got.isEmpty(), "seed " + seed);
                assertTrue(got.get(0).offset() <= offset, "first batch holds the offset; seed " + seed);
                long expectNext = got.get(0).offset();
                for (Record r : got) {
                    assertEquals(expectNext++, r.offset(), "consecutive; seed " + seed);
                    assertTrue(r.offset() < hw, "below hw; seed " + seed);
                    Record m = model.get(r.offset());
                    assertEquals(m.timestamp(), r.timestamp(), "seed " + seed);
                    assertArrayEquals(m.value(), r.value(), "seed " + seed);
                }
                assertTrue(got.get(got.size() - 1).offset() >= offset, "seed " + seed);
            }
            for (int q = 0; q < 300; q++) {
                long target = 1_000_000L - 500 + random.nextInt((int) (clock - 1_000_000L + 1000));
                Optional<Map.Entry<Long, Record>> expected = model.entrySet().stream()
                        .filter(e -> e.getValue().timestamp() >= target).findFirst();
                Optional<TimestampAndOffset> actual = log.offsetForTimestamp(target);
                assertEquals(expected.map(Map.Entry::getKey), actual.map(TimestampAndOffset::offset),
                        "timestamp " + target + "; seed " + seed);
                actual.ifPresent(a -> assertEquals(model.get(a.offset()).timestamp(), a.timestamp()));
            }
        }
    }

    @Test
    void rollsBySizeTimeAndFullIndex() {
        LogConfig bySize = LogConfig.builder().segmentBytes(1024).build();
        try (PartitionLog log = PartitionLog.open(tmp.resolve("size-0"), bySize, Time.SYSTEM)) {
            for (int i = 0; i < 10; i++) {
                log.append(TestBatches.sized(1, 300, 1L), 0, 1L);
            }
            // Three 361-byte batches never fit in 1024 bytes: two per segment.
            assertEquals(List.of(0L, 2L, 4L, 6L, 8L), log.segmentBaseOffsets());
            assertEquals(10, readAll(log).size());
        }
        LogConfig byTime = LogConfig.builder().segmentMs(1000).build();
        try (PartitionLog log = PartitionLog.open(tmp.resolve("time-0"), byTime, Time.SYSTEM)) {
            log.append(TestBatches.sized(1, 10, 10_000L), 0, 10_000L);
            log.append(TestBatches.sized(1, 10, 10_900L), 0, 10_900L);
            assertEquals(1, log.segmentCount());
            log.append(TestBatches.sized(1, 10, 11_001L), 0, 11_001L);
            assertEquals(List.of(0L, 2L), log.segmentBaseOffsets());
        }
        LogConfig byIndex = LogConfig.builder().segmentIndexBytes(24).indexIntervalBytes(0).build();
        try (PartitionLog log = PartitionLog.open(tmp.resolve("index-0"), byIndex, Time.SYSTEM)) {
            for (int i = 0; i < 10; i++) {
                log.append(TestBatches.sized(1, 10, 100L + i), 0, 100L + i);
            }
            assertTrue(log.segmentCount() >= 3, "a 24-byte index holds 2 time entries: " + log.segmentBaseOffsets());
            assertEquals(10, readAll(log).size());
        }
    }

    /**
     * Batches without timestamps (-1) add no time-index entry, as in Kafka; they used to add one pointing at
     * offset 0, which does not fit any later segment, so the first indexed append there failed.
     */
    @Test
    void batchesWithoutTimestampsRollAndIndex() {
        LogConfig cfg = LogConfig.builder().segmentBytes(1024).indexIntervalBytes(100).build();
        try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), cfg, Time.SYSTEM)) {
            for (int i = 0; i < 30; i++) {
                log.append(TestBatches.sized(2, 50, RecordBatch.NO_TIMESTAMP), 0, 1L);
            }
            assertTrue(log.segmentCount() >= 3, "segments: " + log.segmentBaseOffsets());
            assertEquals(60, readAll(log).size());
            assertEquals(Optional.empty(), log.offsetForTimestamp(0L));
        }
    }

    @Test
    void retentionDeletesWholeClosedSegmentsByTimeAndSize() {
        MockTime time = new MockTime(1_000_000L);
        LogConfig cfg = LogConfig.builder().segmentBytes(1024).retentionMs(60_000).build();
        try (PartitionLog log = PartitionLog.open(tmp.resolve("t-1"), cfg, time)) {
            long start = time.milliseconds();
            for (int i = 0; i < 10; i++) {
                log.append(TestBatches.sized(1, 300, start + 10_000L * i), 0, start + 10_000L * i);
            }
            assertEquals(List.of(0L, 2L, 4L, 6L, 8L), log.segmentBaseOffsets());
            time.sleep(10_000L * 3 + 60_001);
            // Now = start + 90.001 s: segments 0 (newest batch at 10 s) and 2 (30 s) are more than 60 s old.
            assertEquals(2, log.deleteExpiredSegments(Long.MAX_VALUE));
            assertEquals(4, log.logStartOffset());
            assertThrows(OffsetOutOfRangeException.class, () -> log.read(3, 1 << 20, 10));
            assertEquals(4, TestBatches.records(log.read(4, 1 << 20, 10).records()).get(0).offset());
            time.sleep(1_000_000);
            assertEquals(2, log.deleteExpiredSegments(Long.MAX_VALUE), "the active segment is never deleted");
            assertEquals(List.of(8L), log.segmentBaseOffsets());
            assertEquals(10, log.logEndOffset());
        }
        LogConfig bySize = LogConfig.builder().segmentBytes(1024).retentionBytes(1500).build();
        try (PartitionLog log = PartitionLog.open(tmp.resolve("t-2"), bySize, time)) {
            for (int i = 0; i < 10; i++) {
                log.append(TestBatches.sized(1, 300, 1L), 0, 1L);
            }
            int batch = TestBatches.sized(1, 300, 1L).remaining();
            assertEquals(10L * batch, log.sizeInBytes());
            // Kafka's rule: delete the oldest segment only while the log stays at least retention.bytes
            // without it. 5 segments of 2 batches (~740 bytes each): 2 go, 3 (~2200 bytes) stay.
            assertEquals(2, log.deleteExpiredSegments(Long.MAX_VALUE));
            assertEquals(6L * batch, log.sizeInBytes());
            assertTrue(log.sizeInBytes() - 2L * batch < 1500);
            assertEquals(log.segmentBaseOffsets().get(0), log.logStartOffset());
        }
    }

    @Test
    void truncationAcrossSegmentsThenAppendContinues() {
        LogConfig cfg = LogConfig.builder().segmentBytes(1024).indexIntervalBytes(100).build();
        try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), cfg, Time.SYSTEM)) {
            for (int i = 0; i < 50; i++) {
                log.append(TestBatches.batch(CompressionType.NONE, "a" + i, 3, 100L + i), 0, 100L + i);
            }
            assertTrue(log.segmentCount() > 3, "segments: " + log.segmentCount());
            assertEquals(60, log.truncateTo(61), "a straddling batch goes whole");
            assertEquals(60, log.logEndOffset());
            assertEquals(60, readAll(log).size());
            LogAppendInfo info = log.append(TestBatches.batch(CompressionType.NONE, "b", 2, 500L), 1, 500L);
            assertEquals(60, info.firstOffset());
            List<Record> all = readAll(log);
            assertEquals(62, all.size());
            assertEquals("a19-2", TestBatches.value(all.get(59)));
            assertEquals("b-1", TestBatches.value(all.get(61)));
            assertEquals(Optional.of(new TimestampAndOffset(500L, 60L)), log.offsetForTimestamp(200L));
        }
    }

    /** Every record from the log start to the log end, reading segment after segment. */
    static List<Record> readAll(PartitionLog log) {
        List<Record> all = new java.util.ArrayList<>();
        long next = log.logStartOffset();
        while (next < log.logEndOffset()) {
            List<Record> got = TestBatches.records(log.read(next, 1 << 20, log.logEndOffset()).records());
            assertFalse(got.isEmpty(), "read at " + next + " returned nothing");
            for (Record r : got) {
                if (r.offset() >= next) {
                    all.add(r);
                }
            }
            next = got.get(got.size() - 1).offset() + 1;
        }
        return all;
    }

    @Test
    void replicasFedTheSameBatchesWriteIdenticalFiles() throws IOException {
        Path a = tmp.resolve("a-0");
        Path b = tmp.resolve("b-0");
        Random random = new Random(7);
        PartitionLog logA = PartitionLog.open(a, small(), Time.SYSTEM);
        PartitionLog logB = PartitionLog.open(b, small(), Time.SYSTEM);
        for (int i = 0; i < 300; i++) {
            ByteBuffer batch = TestBatches.batch(CompressionType.values()[i % 5], "r" + i, 1 + random.nextInt(5),
                    10_000L + random.nextInt(5000));
            long appendTime = 20_000L + i;
            logA.append(batch.duplicate(), 3, appendTime);
            logB.append(RecordBatchTestCopy.copy(batch), 3, appendTime);
            if (i % 97 == 0) {
                // Replica B restarts now and then; its files must not diverge.
                logB.close();
                logB = PartitionLog.open(b, small(), Time.SYSTEM);
            }
        }
        logA.close();
        logB.close();
        List<String> names;
        try (var files = Files.list(a)) {
            names = files.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".") && !n.startsWith("recovery"))
                    .sorted().toList();
        }
        assertTrue(names.size() > 10);
        for (String name : names) {
            assertArrayEquals(Files.readAllBytes(a.resolve(name)), Files.readAllBytes(b.resolve(name)), name);
        }
    }

    /**
     * One appender, several readers and a retention thread at once: every read returns whole, valid
     * batches whose records are exactly what was appended at those offsets, or a clean out-of-range error
     * when retention removed the offset meanwhile.
     */
    @Test
    void concurrentReadersSeeConsistentDataWhileAppendingAndDeleting() throws Exception {
        LogConfig cfg = LogConfig.builder().segmentBytes(4096).indexIntervalBytes(128).retentionBytes(64 * 1024).build();
        try (PartitionLog log = PartitionLog.open(tmp.resolve("t-0"), cfg, Time.SYSTEM)) {
            java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicLong reads = new java.util.concurrent.atomic.AtomicLong();
            java.util.concurrent.ConcurrentLinkedQueue<Throwable> failures = new java.util.concurrent.ConcurrentLinkedQueue<>();
            List<Thread> threads = new java.util.ArrayList<>();
            for (int t = 0; t < 3; t++) {
                long seed = t;
                threads.add(new Thread(() -> {
                    Random random = new Random(seed);
                    while (!done.get()) {
                        long end = log.logEndOffset();
                        long start = log.logStartOffset();
                        if (end == start) {
                            continue;
                        }
                        long offset = start + random.nextLong(end - start);
                        try {
                            List<Record> got = TestBatches.records(log.read(offset, 1 + random.nextInt(8192), end).records());
                            if (got.isEmpty() || got.get(0).offset() > offset) {
                                throw new AssertionError("read at " + offset + " returned " + got.size() + " records");
                            }
                            for (Record r : got) {
                                if (!TestBatches.value(r).equals("v" + r.offset())) {
                                    throw new AssertionError("offset " + r.offset() + " holds " + TestBatches.value(r));
                                }
                            }
                            reads.incrementAndGet();
                        } catch (OffsetOutOfRangeException e) {
                            // Retention moved the log start past the offset: allowed.
                        } catch (Throwable e) {
                            failures.add(e);
                            return;
                        }
                    }
                }));
            }
            java.util.concurrent.atomic.AtomicLong lookups = new java.util.concurrent.atomic.AtomicLong();
            threads.add(new Thread(() -> {
                // Timestamp lookups (ListOffsets) race retention too: a record at or after the time, or none.
                Random random = new Random(7);
                while (!done.get()) {
                    long at = 1_000L + random.nextInt(3000);
                    try {
                        Optional<TimestampAndOffset> found = log.offsetForTimestamp(at);
                        if (found.isPresent() && found.get().timestamp() < at) {
                            throw new AssertionError("lookup of " + at + " found " + found.get());
                        }
                        lookups.incrementAndGet();
                    } catch (Throwable e) {
                        failures.add(e);
                        return;
                    }
                }
            }));
            threads.add(new Thread(() -> {
                while (!done.get()) {
                    log.deleteExpiredSegments(Long.MAX_VALUE);
                    Thread.onSpinWait();
                }
            }));
            threads.forEach(Thread::start);
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
            for (int i = 0; i < 3000 && System.nanoTime() < deadline; i++) {
                long next = log.logEndOffset();
                RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.values()[i % 5]);
                int n = 1 + i % 4;
                for (int r = 0; r < n; r++) {
                    b.append(1_000L + i, null, ("v" + (next + r)).getBytes(StandardCharsets.UTF_8));
                }
                log.append(b.build(), 0, 1_000L + i);
            }
            done.set(true);
            for (Thread t : threads) {
                t.join(10_000);
            }
            assertTrue(failures.isEmpty(), () -> "reader failed: " + failures.peek());
            assertTrue(reads.get() > 100, "readers made progress: " + reads.get());
            assertTrue(lookups.get() > 100, "timestamp lookups made progress: " + lookups.get());
            assertTrue(log.logStartOffset() > 0, "retention ran concurrently");
        }
    }

    @Test
    void cleanReopenDoesNotReadSegmentData() throws IOException {
        Path dir = tmp.resolve("t-0");
        try (PartitionLog log = PartitionLog.open(dir, small(), Time.SYSTEM)) {
            for (int i = 0; i < 100; i++) {
                log.append(TestBatches.sized(2, 100, 1_000L + i), 0, 1_000L + i);
            }
        }
        // Corrupt a batch in the middle of the first segment: a clean open must not notice (no data scan)...
        Path first = LogFiles.logFile(dir, 0);
        long sizeBefore = Files.size(first);
        byte[] bytes = Files.readAllBytes(first);
        bytes[bytes.length / 2] ^= 0x55;
        Files.write(first, bytes);
        try (PartitionLog log = PartitionLog.open(dir, small(), Time.SYSTEM)) {
            assertEquals(200, log.logEndOffset());
            assertEquals(sizeBefore, Files.size(first));
        }
        // ...while an unclean open (no marker, recovery point at 0) re-validates and cuts there.
        Files.delete(dir.resolve(LogFiles.CLEAN_SHUTDOWN_FILE));
        Files.writeString(dir.resolve(LogFiles.RECOVERY_POINT_FILE), "0\n0\n");
        try (PartitionLog log = PartitionLog.open(dir, small(), Time.SYSTEM)) {
            assertTrue(log.logEndOffset() < 200 && log.logEndOffset() > 0, "cut at the corrupt batch: " + log.logEndOffset());
            assertEquals(1, log.segmentCount());
            assertTrue(Files.size(first) < sizeBefore);
        }
    }

    @Test
    void closeWithoutFlushLeavesACrashImageAndDeleteAllRemovesTheFolder() throws IOException {
        Path dir = tmp.resolve("t-0");
        PartitionLog log = PartitionLog.open(dir, small(), Time.SYSTEM);
        for (int i = 0; i < 30; i++) {
            log.append(TestBatches.sized(2, 100, 1_000L + i), 0, 1_000L + i);
        }
        log.closeWithoutFlush();
        assertThrows(io.rafka.common.StorageException.class, () -> log.append(TestBatches.sized(1, 10, 1L), 0, 1L));
        assertFalse(Files.exists(dir.resolve(LogFiles.CLEAN_SHUTDOWN_FILE)), "no clean-shutdown marker");
        PartitionLog reopened = PartitionLog.open(dir, small(), Time.SYSTEM);
        assertEquals(60, reopened.logEndOffset(), "the OS kept what was written; recovery validated it");
        reopened.deleteAll();
        assertFalse(Files.exists(dir));
    }

    /**
     * One append of more batches than the active segment's indexes have entries left for (a small
     * segment.index.bytes, an entry per batch): the append succeeds, the next one rolls, and every record reads back
     * by offset and by timestamp, also after a crash. Before, the index threw halfway through an append whose bytes
     * were already written.
     */
    @Test
    void anAppendNeedingMoreIndexEntriesThanAreLeftSucceedsAndTheNextRolls() throws IOException {
        Path dir = tmp.resolve("idx-0");
        LogConfig cfg = LogConfig.builder().segmentIndexBytes(48).indexIntervalBytes(0).build();  // 4 time entries
        PartitionLog log = PartitionLog.open(dir, cfg, Time.SYSTEM);
        ByteBuffer many = ByteBuffer.allocate(64 * 1024);
        for (int i = 0; i < 12; i++) {
            many.put(TestBatches.batch(CompressionType.NONE, "m" + i + "-", 2, 10_000L + i));
        }
        log.append(many.flip(), 0, 1L);
        assertEquals(24, log.logEndOffset());
        log.append(TestBatches.batch(CompressionType.NONE, "after-", 2, 20_000L), 0, 2L);
        assertEquals(2, log.segmentCount(), "the next append rolled: " + log.segmentBaseOffsets());
        for (long offset = 0; offset < 26; offset++) {
            List<Record> read = TestBatches.records(log.read(offset, 1 << 20, log.logEndOffset()).records());
            long at = offset;
            assertTrue(read.stream().anyMatch(r -> r.offset() == at), "offset " + offset);
        }
        assertEquals(10L, log.offsetForTimestamp(10_005L).orElseThrow().offset());
        log.closeWithoutFlush();
        PartitionLog reopened = PartitionLog.open(dir, cfg, Time.SYSTEM);
        assertEquals(26, reopened.logEndOffset());
        assertEquals(10L, reopened.offsetForTimestamp(10_005L).orElseThrow().offset());
        reopened.close();
    }

    /** Copies a buffer so two logs do not stamp the same bytes. */
    static final class RecordBatchTestCopy {
        static ByteBuffer copy(ByteBuffer b) {
            ByteBuffer c = ByteBuffer.allocate(b.remaining());
            c.put(b.duplicate());
            return c.flip();
        }
    }
}
