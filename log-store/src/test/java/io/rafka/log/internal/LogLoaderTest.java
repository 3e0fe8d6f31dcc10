package io.rafka.log.internal;

import io.rafka.log.LogConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the loader trusts and what it re-validates, on real folders damaged on purpose: after a clean
 * shutdown no data is read, after a crash everything from the recovery point on is, and a cut drops all
 * that follows.
 */
class LogLoaderTest {
    private static final LogConfig CONFIG = LogConfig.builder()
            .indexIntervalBytes(TestSegments.INDEX_INTERVAL_BYTES).segmentIndexBytes(TestSegments.INDEX_BYTES).build();
    private static final int BATCHES = 10;
    /** Each batch holds two records. */
    private static final long OFFSETS = 2L * BATCHES;

    @TempDir
    Path dir;

    private LogSegments load() throws IOException {
        return LogLoader.load(dir, CONFIG, new RecoveryPointCheckpoint(dir));
    }

    @Test
    void newFolderGetsOneEmptySegmentAndADurableRecoveryPoint() throws IOException {
        dir = dir.resolve("new-0");
        LogSegments segments = load();
        assertEquals(List.of(0L), segments.baseOffsets());
        assertTrue(segments.active().isActive());
        assertEquals(0, segments.active().nextOffset());
        assertEquals(0, new RecoveryPointCheckpoint(dir).read());
        assertFalse(Files.exists(dir.resolve(LogFiles.CLEAN_SHUTDOWN_FILE)));
        segments.closeQuietly();
    }

    @Test
    void afterACleanShutdownNoDataIsReadAndTheMarkerIsConsumed() throws IOException {
        List<Long> bases = TestSegments.writeClosedSegments(dir, 3, BATCHES);
        LogLoader.markCleanShutdown(dir);
        // Damage inside a closed segment's records: only a data scan would notice.
        Path first = LogFiles.logFile(dir, 0);
        long size = Files.size(first);
        TestSegments.flipBit(first, size / 2, 4);
        LogSegments segments = load();
        assertEquals(bases, segments.baseOffsets());
        assertEquals(size, Files.size(first), "trusted, not scanned");
        assertEquals(3 * OFFSETS, segments.active().nextOffset());
        assertFalse(Files.exists(dir.resolve(LogFiles.CLEAN_SHUTDOWN_FILE)), "the marker is for one open only");
        assertEquals(3 * OFFSETS, new RecoveryPointCheckpoint(dir).read(), "recovery point at the active segment's end");
        assertEquals(bases.get(2), new RecoveryPointCheckpoint(dir).readPosition().orElseThrow().segmentBase());
        segments.closeQuietly();
    }

    @Test
    void afterACleanShutdownBadIndexesAreRebuiltByteForByte() throws IOException {
        TestSegments.writeClosedSegments(dir, 3, BATCHES);
        LogLoader.markCleanShutdown(dir);
        Path index = LogFiles.offsetIndexFile(dir, OFFSETS);
        byte[] before = Files.readAllBytes(index);
        assertTrue(before.length >= 16, "several entries");
        Files.write(index, new byte[before.length - 3]);
        LogSegments segments = load();
        segments.closeQuietly();
        assertArrayEquals(before, Files.readAllBytes(index));
    }

    @Test
    void aTornActiveTailIsCutEvenWithTheCleanShutdownMarker() throws IOException {
        TestSegments.writeClosedSegments(dir, 2, BATCHES);
        LogLoader.markCleanShutdown(dir);
        Path last = LogFiles.logFile(dir, OFFSETS);
        long size = Files.size(last);
        Files.write(last, new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 1, 2, 3}, StandardOpenOption.APPEND);
        LogSegments segments = load();
        assertEquals(2 * OFFSETS, segments.active().nextOffset());
        assertEquals(size, Files.size(last));
        segments.closeQuietly();
    }

    @Test
    void afterACrashOnlySegmentsFromTheRecoveryPointOnAreValidated() throws IOException {
        List<Long> bases = TestSegments.writeClosedSegments(dir, 3, BATCHES);
        int batch = TestSegments.batchSize();
        // A flipped bit in the 3rd batch of segment 0 (below the recovery point: not scanned) and in the 4th
        // batch of segment 2 (the recovery point's segment: found and cut there).
        TestSegments.flipBit(LogFiles.logFile(dir, bases.get(0)), 2L * batch + 70, 1);
        TestSegments.flipBit(LogFiles.logFile(dir, bases.get(2)), 3L * batch + 70, 1);
        new RecoveryPointCheckpoint(dir).write(bases.get(2));
        LogSegments segments = load();
        assertEquals(bases, segments.baseOffsets());
        assertEquals((long) BATCHES * batch, Files.size(LogFiles.logFile(dir, bases.get(0))));
        assertEquals(bases.get(2) + 3 * 2, segments.active().nextOffset(), "three whole batches stay");
        assertEquals(3L * batch, Files.size(LogFiles.logFile(dir, bases.get(2))));
        segments.closeQuietly();
    }

    @Test
    void aCutSegmentTakesEveryLaterSegmentWithIt() throws IOException {
        List<Long> bases = TestSegments.writeClosedSegments(dir, 4, BATCHES);
        int batch = TestSegments.batchSize();
        TestSegments.flipBit(LogFiles.logFile(dir, bases.get(1)), 5L * batch + 70, 6);
        new RecoveryPointCheckpoint(dir).write(0);
        LogSegments segments = load();
        assertEquals(bases.subList(0, 2), segments.baseOffsets());
        assertEquals(bases.get(1) + 5 * 2, segments.active().nextOffset());
        assertTrue(segments.active().isActive(), "the cut segment takes appends");
        for (long gone : bases.subList(2, 4)) {
            assertFalse(Files.exists(LogFiles.logFile(dir, gone)), "segment " + gone);
            assertFalse(Files.exists(LogFiles.offsetIndexFile(dir, gone)), "index of " + gone);
            assertFalse(Files.exists(LogFiles.timeIndexFile(dir, gone)), "time index of " + gone);
        }
        assertEquals(bases.get(1) + 5 * 2, new RecoveryPointCheckpoint(dir).read(), "at the end of what survived");
        segments.closeQuietly();
    }

    @Test
    void leftoversOfInterruptedOperationsAreDeleted() throws IOException {
        TestSegments.writeClosedSegments(dir, 2, BATCHES);
        Path orphanIndex = LogFiles.offsetIndexFile(dir, 999L);
        Path orphanTimeIndex = LogFiles.timeIndexFile(dir, 999L);
        Path tmp = dir.resolve(LogFiles.RECOVERY_POINT_FILE + LogFiles.TMP_SUFFIX);
        Path unrelated = dir.resolve("notes.txt");
        for (Path p : List.of(orphanIndex, orphanTimeIndex, tmp, unrelated)) {
            Files.write(p, new byte[12]);
        }
        LogSegments segments = load();
        segments.closeQuietly();
        assertEquals(List.of(0L, OFFSETS), segments.baseOffsets());
        assertFalse(Files.exists(orphanIndex));
        assertFalse(Files.exists(orphanTimeIndex));
        assertFalse(Files.exists(tmp));
        assertTrue(Files.exists(unrelated), "files that are not the log's are left alone");
    }
}
