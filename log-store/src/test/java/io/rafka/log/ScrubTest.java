package io.rafka.log;

import io.rafka.common.CorruptRecordException;
import io.rafka.log.internal.LogFiles;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatch;
import io.rafka.testing.MockTime;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scrub: it reads back what recovery trusts (closed segments, the active segment before its recovery point),
 * finds a flipped bit anywhere in it, and {@link PartitionLog#revalidateFrom} makes the next open cut the log at
 * the damage however the process ends, where without it the damaged bytes would be trusted for good. Real files.
 */
class ScrubTest {
    private static final LogConfig CONFIG = LogConfig.builder().segmentBytes(4_096).indexIntervalBytes(300).build();

    @TempDir
    Path tmp;
    private final MockTime time = new MockTime(1_000_000L);
    private Path dir;
    private PartitionLog log;
    /** Base offset of every batch appended, in order. */
    private final List<Long> batchBases = new ArrayList<>();

    /** An epoch above every one the setup stamps, for batches appended later (Raft terms only grow). */
    private static final int LATER_EPOCH = 100;

    /** The setup's batches carry rising epochs, in runs of three batches, as Raft terms do along a log. */
    private static int epochOf(int batch) {
        return 1 + batch / 3;
    }

    @BeforeEach
    void writeSeveralSegments() {
        dir = tmp.resolve("scrub-0");
        log = PartitionLog.open(dir, CONFIG, time);
        for (int n = 0; n < 60; n++) {
            batchBases.add(log.logEndOffset());
            log.append(TestBatches.batch(CompressionType.NONE, "r" + n + "-" + "x".repeat(40 + n % 5 * 30), 3,
                    5_000L + n), epochOf(n), 9_000L + n);
        }
        log.flush(log.logEndOffset());
        assertTrue(log.segmentCount() >= 4, "several segments: " + log.segmentCount());
    }

    @Test
    void anIntactLogReadsWholeInOneCallOrInManySmallOnes() throws IOException {
        PartitionLog.Scrubbed all = log.scrub(0, Long.MAX_VALUE);
        assertNull(all.damage());
        assertTrue(all.reachedEnd());
        assertEquals(log.logEndOffset(), all.nextOffset());
        assertEquals(log.sizeInBytes(), all.bytes(), "every stored byte read once");

        long cursor = 0;
        long bytes = 0;
        int calls = 0;
        PartitionLog.Scrubbed step;
        do {
            step = log.scrub(cursor, 500);
            assertNull(step.damage());
            assertTrue(step.nextOffset() >= cursor, "never goes back");
            cursor = step.nextOffset();
            bytes += step.bytes();
            calls++;
        } while (!step.reachedEnd() && calls < 1_000);
        assertTrue(step.reachedEnd());
        assertEquals(log.sizeInBytes(), bytes, "small steps read every byte once too");
        assertTrue(calls > 5, "the budget bounds each call: " + calls);
    }

    @Test
    void aFlippedBitInAClosedSegmentIsFoundAndTheNextOpenCutsTheLogThere() throws IOException {
        List<Long> bases = log.segmentBaseOffsets();
        long damagedSegment = bases.get(1);
        long damagedBatch = flipBitInSecondBatchOf(damagedSegment);
        long endBefore = log.logEndOffset();

        PartitionLog.Scrubbed found = scrubUntilDamageOrEnd();
        assertNotNull(found.damage(), "the flipped bit is found");
        assertEquals(damagedSegment, found.damage().segmentBase());
        assertEquals(damagedBatch, found.damage().offset());
        assertTrue(found.damage().reason().contains("CRC") || found.damage().reason().contains("crc"),
                found.damage().reason());

        // Without a re-validation the damage would outlive a clean restart: recovery trusts closed segments.
        log.close();
        log = PartitionLog.open(dir, CONFIG, time);
        assertEquals(endBefore, log.logEndOffset(), "a clean open does not read closed segments");

        log.revalidateFrom(damagedSegment);
        log.append(TestBatches.batch(CompressionType.NONE, "after-the-finding", 1, 7_000L), LATER_EPOCH, 9_999L);
        log.flush(log.logEndOffset());
        log.close();
        log = PartitionLog.open(dir, CONFIG, time);
        assertEquals(damagedBatch, log.logEndOffset(), "cut at the damaged batch");
        assertEquals(bases.subList(0, 2), log.segmentBaseOffsets(), "later segments deleted");
        assertEquals(-1, log.revalidatingFrom());
        assertNull(log.scrub(0, Long.MAX_VALUE).damage(), "what is left is intact");
    }

    @Test
    void afterACrashTooTheNextOpenCutsAtTheDamage() throws IOException {
        long damagedSegment = log.segmentBaseOffsets().get(2);
        long damagedBatch = flipBitInSecondBatchOf(damagedSegment);
        PartitionLog.Scrubbed found = scrubUntilDamageOrEnd();
        assertNotNull(found.damage());
        log.revalidateFrom(found.damage().segmentBase());
        // Appends and flushes after the finding must not move the recovery point past the damaged segment.
        time.sleep(PartitionLog.RECOVERY_POINT_INTERVAL_MS);
        for (int i = 0; i < 10; i++) {
            log.append(TestBatches.batch(CompressionType.NONE, "later-" + i + "-" + "y".repeat(200), 2, 8_000L + i),
                    LATER_EPOCH, 9_000L);
            log.flush(log.logEndOffset());
        }
        log.closeWithoutFlush();  // a crash
        log = PartitionLog.open(dir, CONFIG, time);
        assertEquals(damagedBatch, log.logEndOffset(), "cut at the damaged batch");
    }

    @Test
    void aTruncationThatRemovesTheDamagedSegmentLiftsTheRevalidation() {
        long damagedSegment = log.segmentBaseOffsets().get(3);
        log.revalidateFrom(damagedSegment);
        assertEquals(damagedSegment, log.revalidatingFrom());
        log.truncateTo(damagedSegment - 1);
        assertEquals(-1, log.revalidatingFrom());
        long end = log.logEndOffset();
        log.close();
        log = PartitionLog.open(dir, CONFIG, time);
        assertEquals(end, log.logEndOffset());
    }

    @Test
    void aSegmentCutShortUnderTheLogIsReportedToo() throws IOException {
        long damagedSegment = log.segmentBaseOffsets().get(1);
        Path file = LogFiles.logFile(dir, damagedSegment);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 10);
        }
        PartitionLog.Scrubbed found = scrubUntilDamageOrEnd();
        assertNotNull(found.damage(), "a torn last batch is damage");
        assertEquals(damagedSegment, found.damage().segmentBase());
        assertFalse(found.reachedEnd());
    }

    /**
     * Zeroed bytes where a batch starts (a length field of 0): a scan of batch headers stops there. A read must
     * not take that for "no batch here" and go on with the next segment, and the scrub must report it.
     */
    @ParameterizedTest
    @ValueSource(ints = {0, 1})
    void aZeroedBatchHeaderIsDamageForReadsAndTheScrubNotTheEndOfTheSegment(int batch) throws IOException {
        long damagedSegment = log.segmentBaseOffsets().get(1);
        long nextSegment = log.segmentBaseOffsets().get(2);
        Path file = LogFiles.logFile(dir, damagedSegment);
        long damagedOffset;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            int position = 0;
            if (batch == 1) {
                ByteBuffer len = ByteBuffer.allocate(12);
                ch.read(len, 0);
                position = 12 + len.getInt(8);
            }
            ByteBuffer header = ByteBuffer.allocate(8);
            ch.read(header, position);
            damagedOffset = header.getLong(0);
            ch.write(ByteBuffer.allocate(61), position);
        }
        assertTrue(batchBases.contains(damagedOffset));

        long readFrom = damagedOffset;
        CorruptRecordException e = assertThrows(CorruptRecordException.class,
                () -> log.read(readFrom, 1 << 20, log.logEndOffset()), "not the next segment's batches");
        assertTrue(e.getMessage().contains("offset " + damagedOffset), e.getMessage());
        assertTrue(nextSegment > damagedOffset);

        PartitionLog.Scrubbed found = scrubUntilDamageOrEnd();
        assertNotNull(found.damage(), "the scrub finds the zeroed header");
        assertEquals(damagedSegment, found.damage().segmentBase());
        assertEquals(damagedOffset, found.damage().offset());

        // Recovery cuts there, as for any damaged batch.
        log.revalidateFrom(damagedSegment);
        log.close();
        log = PartitionLog.open(dir, CONFIG, time);
        assertEquals(damagedOffset, log.logEndOffset());
    }

    /**
     * A bit flipped in a batch's partition leader epoch, the one header field no CRC covers and no offset or length
     * check gives away: a bit set makes it higher than the next batch's, a bit cleared lower than the one before,
     * the sign bit negative. The scrub finds each, and recovery cuts there; for a misordered pair it cannot tell
     * which of the two took the flip, so it cuts from the higher one on (the batch before, for a lowered epoch).
     */
    @ParameterizedTest
    @ValueSource(strings = {"raised", "lowered", "negative"})
    void aFlippedBitInABatchsEpochIsFoundAndTheNextOpenCutsThere(String flip) throws IOException {
        long damagedSegment = log.segmentBaseOffsets().get(1);
        List<Long> inSegment = batchBases.stream()
                .filter(b -> b >= damagedSegment && b < log.segmentBaseOffsets().get(2)).toList();
        assertTrue(inSegment.size() >= 5, "batches in the segment: " + inSegment);
        long flipped;
        long cutAt;
        switch (flip) {
            case "raised" -> {
                // The first batch of a run (so the batch before has a lower epoch): a high bit set.
                flipped = firstOfARun(inSegment);
                flipEpochBit(damagedSegment, flipped, 12);
                cutAt = flipped;
            }
            case "lowered" -> {
                // A batch after one of the same odd epoch: clearing bit 0 makes it lower than the one before.
                flipped = lastOfARunWithOddEpoch(inSegment);
                flipEpochBit(damagedSegment, flipped, 0);
                cutAt = inSegment.get(inSegment.indexOf(flipped) - 1);
            }
            default -> {
                flipped = inSegment.get(2);
                flipEpochBit(damagedSegment, flipped, 31);
                cutAt = flipped;
            }
        }
        PartitionLog.Scrubbed found = scrubUntilDamageOrEnd();
        assertNotNull(found.damage(), flip + " epoch found");
        assertEquals(damagedSegment, found.damage().segmentBase());
        assertEquals(cutAt, found.damage().offset(), found.damage().reason());
        assertTrue(found.damage().reason().contains("epoch"), found.damage().reason());

        log.revalidateFrom(damagedSegment);
        log.close();
        log = PartitionLog.open(dir, CONFIG, time);
        assertEquals(cutAt, log.logEndOffset(), "cut where the scrub found the damage");
        assertEquals(damagedSegment, log.segmentBaseOffsets().get(log.segmentCount() - 1), "later segments deleted");
        assertNull(log.scrub(0, Long.MAX_VALUE).damage(), "what is left is intact");
        assertEquals(cutAt, nextOffsetAfter(log.read(cutAt - 1, 1 << 20, log.logEndOffset()).records()),
                "what is read ends at the cut");
        log.append(TestBatches.batch(CompressionType.NONE, "copied-back", 1, 7_000L), LATER_EPOCH, 9_999L);
        assertEquals(cutAt, new RecordBatch(log.read(cutAt, 1 << 20, log.logEndOffset()).records()).baseOffset(),
                "the indexes were cut with the bytes: an append there reads back");
    }

    /** The offset after the last batch in {@code records}. */
    private static long nextOffsetAfter(ByteBuffer records) {
        long next = -1;
        for (int p = records.position(); p < records.limit(); ) {
            ByteBuffer one = records.duplicate().position(p);
            RecordBatch batch = new RecordBatch(one.slice().limit(12 + one.getInt(p + 8)));
            next = batch.nextOffset();
            p += batch.sizeInBytes();
        }
        return next;
    }

    /** The base of a batch in {@code bases} whose predecessor there has a lower epoch. */
    private long firstOfARun(List<Long> bases) {
        for (int i = 1; i < bases.size(); i++) {
            int n = batchBases.indexOf(bases.get(i));
            if (epochOf(n) > epochOf(n - 1) && i + 1 < bases.size()) {
                return bases.get(i);
            }
        }
        throw new AssertionError("no run starts inside the segment");
    }

    /** The base of a batch in {@code bases}, not the first, with an odd epoch equal to its predecessor's. */
    private long lastOfARunWithOddEpoch(List<Long> bases) {
        for (int i = 1; i < bases.size(); i++) {
            int n = batchBases.indexOf(bases.get(i));
            if (epochOf(n) % 2 == 1 && epochOf(n) == epochOf(n - 1)) {
                return bases.get(i);
            }
        }
        throw new AssertionError("no such batch inside the segment");
    }

    /** Flips bit {@code bit} of the partition leader epoch of the batch at {@code base} in segment {@code segmentBase}. */
    private void flipEpochBit(long segmentBase, long base, int bit) throws IOException {
        Path file = LogFiles.logFile(dir, segmentBase);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long position = 0;
            ByteBuffer header = ByteBuffer.allocate(16);
            while (true) {
                header.clear();
                ch.read(header, position);
                if (header.getLong(0) == base) {
                    int epoch = header.getInt(12);
                    ch.write(ByteBuffer.allocate(4).putInt(0, epoch ^ (1 << bit)), position + 12);
                    return;
                }
                position += 12 + header.getInt(8);
            }
        }
    }

    private PartitionLog.Scrubbed scrubUntilDamageOrEnd() {
        long cursor = 0;
        for (int i = 0; i < 1_000; i++) {
            PartitionLog.Scrubbed s = log.scrub(cursor, 700);
            if (s.damage() != null || s.reachedEnd()) {
                return s;
            }
            cursor = s.nextOffset();
        }
        throw new AssertionError("the scrub did not end");
    }

    /** Flips one bit inside the records of the second batch of a segment (CRC-covered bytes); its base offset. */
    private long flipBitInSecondBatchOf(long segmentBase) throws IOException {
        Path file = LogFiles.logFile(dir, segmentBase);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer len = ByteBuffer.allocate(12);
            ch.read(len, 0);
            int second = 12 + len.getInt(8);
            ByteBuffer header = ByteBuffer.allocate(12);
            ch.read(header, second);
            long base = header.getLong(0);
            int at = second + 61 + 5;  // inside the first record, past the batch header
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x10));
            ch.write(b.rewind(), at);
            assertTrue(batchBases.contains(base));
            return base;
        }
    }
}
