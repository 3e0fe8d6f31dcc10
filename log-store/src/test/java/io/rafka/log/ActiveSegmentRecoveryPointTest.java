package io.rafka.log;

import io.rafka.log.internal.LogFiles;
import io.rafka.log.internal.RecoveryPointCheckpoint;
import io.rafka.record.CompressionType;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.testing.MockTime;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A recovery point inside the active segment: a flush moves it there at most every
 * {@link PartitionLog#RECOVERY_POINT_INTERVAL_MS}, and after a crash only what was appended after it is read and
 * checked again. Real folders, copied while the log is open (what a {@code kill -9} leaves on disk), then damaged.
 */
class ActiveSegmentRecoveryPointTest {
    private static final LogConfig CONFIG = LogConfig.builder().indexIntervalBytes(300).build();
    private static final int BEFORE_POINT = 40;
    private static final int AFTER_POINT = 40;

    @TempDir
    Path tmp;
    private final MockTime time = new MockTime(1_000_000L);
    private Path live;
    private PartitionLog log;
    /** (position in the file, base offset, size) of every batch, in order. */
    private final List<long[]> batches = new ArrayList<>();
    private final List<Record> model = new ArrayList<>();
    /** The recovery point's offset and bytes, as the flush left them. */
    private long pointOffset;
    private long pointBytes;

    @BeforeEach
    void writeLogWithAPointInsideTheActiveSegment() throws IOException {
        live = tmp.resolve("live-0");
        log = PartitionLog.open(live, CONFIG, time);
        appendFlushed(BEFORE_POINT);
        time.sleep(PartitionLog.RECOVERY_POINT_INTERVAL_MS);
        appendFlushed(1);
        pointOffset = log.logEndOffset();
        pointBytes = Files.size(LogFiles.logFile(live, 0));
        // Within the interval: the point stays where it is however much is flushed after it.
        appendFlushed(AFTER_POINT);
        assertEquals(1, log.segmentCount(), "one (active) segment");
    }

    private void appendFlushed(int count) {
        for (int i = 0; i < count; i++) {
            int n = batches.size();
            long position = fileSize();
            long first = log.logEndOffset();
            log.append(TestBatches.batch(CompressionType.NONE, "r" + n + "-" + "x".repeat(n % 7 * 20), 3,
                    5_000L + n * 10L), 1, 9_000L + n);
            log.flush(log.logEndOffset());
            batches.add(new long[] {position, first, fileSize() - position});
            model.addAll(TestBatches.records(log.read(first, 1 << 20, log.logEndOffset()).records()));
        }
    }

    private long fileSize() {
        try {
            return Files.size(LogFiles.logFile(live, 0));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** A copy of the open log's folder: what the disk holds when the broker is killed at this moment. */
    private Path crashImage(String name) throws IOException {
        Path copy = LogRecoveryTest.copyFolder(live, tmp.resolve(name));
        assertTrue(Files.notExists(copy.resolve(LogFiles.CLEAN_SHUTDOWN_FILE)), "an unclean image");
        return copy;
    }

    private static void flipRecordBit(Path dir, long[] batch) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(LogFiles.logFile(dir, 0).toFile(), "rw")) {
            long at = batch[0] + RecordBatch.RECORDS_OFFSET + 3;
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x10);
        }
    }

    /**
     * Epochs must not go down along a segment (the field no CRC covers): a recovery that starts at the point reads
     * the last trusted batch's epoch, so one raised by a flipped bit is found by the first batch after the point, and
     * the log is cut from it (without reading the trusted prefix again).
     */
    @Test
    void aRaisedEpochInTheLastTrustedBatchIsFoundByTheFirstBatchAfterThePoint() throws IOException {
        long[] lastTrusted = batches.get(BEFORE_POINT);
        assertEquals(pointOffset, lastTrusted[1] + 3, "the last batch before the point (3 records)");
        Path image = crashImage("raised-epoch");
        log.close();
        try (RandomAccessFile f = new RandomAccessFile(LogFiles.logFile(image, 0).toFile(), "rw")) {
            long at = lastTrusted[0] + RecordBatch.PARTITION_LEADER_EPOCH_OFFSET;
            f.seek(at);
            int epoch = f.readInt();
            f.seek(at);
            f.writeInt(epoch | 1 << 20);
        }
        try (PartitionLog recovered = PartitionLog.open(image, CONFIG, time)) {
            assertEquals(lastTrusted[1], recovered.logEndOffset(), "cut from the batch whose epoch is above the next one's");
            assertEquals(lastTrusted[0], Files.size(LogFiles.logFile(image, 0)));
        }
    }

    @Test
    void theFlushAfterTheIntervalLeavesAPointAtTheEndOfWhatItMadeDurable() {
        RecoveryPointCheckpoint checkpoint = new RecoveryPointCheckpoint(live);
        assertEquals(pointOffset, checkpoint.read());
        RecoveryPointCheckpoint.Position position = checkpoint.readPosition().orElseThrow();
        assertEquals(0, position.segmentBase());
        assertEquals(pointBytes, position.bytes());
        assertTrue(position.offsetIndexEntries() > 3, "index entries counted: " + position);
        log.close();
    }

    @Test
    void onlyTheBytesAfterThePointAreCheckedAgain() throws IOException {
        long[] trusted = batches.get(BEFORE_POINT / 2);
        long[] recent = batches.get(BEFORE_POINT + 1 + AFTER_POINT / 2);
        Path withPoint = crashImage("with-point");
        Path withoutPoint = crashImage("without-point");
        log.close();
        for (Path dir : List.of(withPoint, withoutPoint)) {
            flipRecordBit(dir, trusted);
            flipRecordBit(dir, recent);
        }
        // The same damage, recovered from the segment's start as before: the first flip cuts the log there.
        Files.writeString(withoutPoint.resolve(LogFiles.RECOVERY_POINT_FILE), "0\n0\n");
        try (PartitionLog recovered = PartitionLog.open(withoutPoint, CONFIG, time)) {
            assertEquals(trusted[1], recovered.logEndOffset());
        }
        // With the point the fsynced prefix is not read again: only the flip after it is found.
        try (PartitionLog recovered = PartitionLog.open(withPoint, CONFIG, time)) {
            assertEquals(recent[1], recovered.logEndOffset());
            assertEquals(recent[0], Files.size(LogFiles.logFile(withPoint, 0)), "cut at the damaged batch");
            long end = recovered.logEndOffset();
            assertEquals(end, recovered.append(TestBatches.batch(CompressionType.NONE, "next", 2, 1L), 2, 1L).firstOffset());
        }
    }

    @Test
    void indexesAfterAPartialScanAreTheBytesAFullScanWrites() throws IOException {
        Path partial = crashImage("partial");
        Path full = crashImage("full");
        log.close();
        Files.writeString(full.resolve(LogFiles.RECOVERY_POINT_FILE), "0\n0\n");
        for (Path dir : List.of(partial, full)) {
            try (PartitionLog recovered = PartitionLog.open(dir, CONFIG, time)) {
                assertEquals(model.size(), recovered.logEndOffset());
                List<Record> read = PartitionLogTest.readAll(recovered);
                assertEquals(model.size(), read.size());
                for (int i = 0; i < read.size(); i++) {
                    assertEquals(model.get(i).offset(), read.get(i).offset());
                    assertArrayEquals(model.get(i).value(), read.get(i).value());
                }
                for (Record probe : List.of(model.get(7), model.get(model.size() / 2), model.get(model.size() - 2))) {
                    long expected = model.stream().filter(r -> r.timestamp() >= probe.timestamp()).findFirst().orElseThrow().offset();
                    assertEquals(expected, recovered.offsetForTimestamp(probe.timestamp()).orElseThrow().offset());
                }
                // Appends after recovery index as they would have without the crash.
                for (int i = 0; i < 10; i++) {
                    recovered.append(TestBatches.batch(CompressionType.NONE, "after" + i, 3, 90_000L + i), 2, 1L);
                }
            }
        }
        assertArrayEquals(Files.readAllBytes(LogFiles.offsetIndexFile(full, 0)),
                Files.readAllBytes(LogFiles.offsetIndexFile(partial, 0)));
        assertArrayEquals(Files.readAllBytes(LogFiles.timeIndexFile(full, 0)),
                Files.readAllBytes(LogFiles.timeIndexFile(partial, 0)));
    }

    @Test
    void aPointTheFilesDoNotBearOutMeansCheckingTheWholeSegment() throws IOException {
        Path dir = crashImage("short");
        log.close();
        // The file lost bytes the point says were fsynced (a broken disk): nothing of the segment is trusted.
        long cut = pointBytes - 10;
        try (FileChannel ch = FileChannel.open(LogFiles.logFile(dir, 0), StandardOpenOption.WRITE)) {
            ch.truncate(cut);
        }
        long expectedEnd = 0;
        for (long[] b : batches) {
            if (b[0] + b[2] <= cut) {
                expectedEnd = nextOffset(b);
            }
        }
        try (PartitionLog recovered = PartitionLog.open(dir, CONFIG, time)) {
            assertEquals(expectedEnd, recovered.logEndOffset());
            assertEquals(expectedEnd, PartitionLogTest.readAll(recovered).size());
        }
    }

    private long nextOffset(long[] batch) {
        int i = batches.indexOf(batch);
        return i + 1 < batches.size() ? batches.get(i + 1)[1] : model.size();
    }

    @Test
    void aTruncationBelowThePointMovesItToTheNewEndAndACrashAfterMoreAppendsRecovers() throws IOException {
        long[] keep = batches.get(BEFORE_POINT / 2);
        log.truncateTo(keep[1]);
        RecoveryPointCheckpoint checkpoint = new RecoveryPointCheckpoint(live);
        assertEquals(keep[1], checkpoint.read(), "the point follows the cut");
        assertEquals(keep[0], checkpoint.readPosition().orElseThrow().bytes());
        // What is appended after the cut is what a crash makes recovery read again.
        model.subList((int) keep[1], model.size()).clear();
        batches.subList(BEFORE_POINT / 2, batches.size()).clear();
        appendFlushed(10);
        long[] damaged = batches.get(BEFORE_POINT / 2 + 5);
        Path dir = crashImage("after-cut");
        log.close();
        flipRecordBit(dir, damaged);
        try (PartitionLog recovered = PartitionLog.open(dir, CONFIG, time)) {
            assertEquals(damaged[1], recovered.logEndOffset());
            List<Record> read = PartitionLogTest.readAll(recovered);
            for (int i = 0; i < read.size(); i++) {
                assertArrayEquals(model.get(i).value(), read.get(i).value(), "offset " + i);
            }
        }
    }
}
