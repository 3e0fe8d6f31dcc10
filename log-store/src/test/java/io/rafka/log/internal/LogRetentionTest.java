package io.rafka.log.internal;

import io.rafka.log.LogConfig;
import io.rafka.record.RecordBatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LogRetentionTest {
    private static final int BATCHES = 4;
    private static final long OFFSETS = 2L * BATCHES;

    @TempDir
    Path dir;
    private final LogSegments segments = new LogSegments();
    private final List<Long> starts = new ArrayList<>();

    @AfterEach
    void close() {
        segments.closeQuietly();
    }

    /** Segments of {@link #BATCHES} batches with the given batch timestamps; the last stays active. */
    private void segmentsWithTimestamps(long... timestamps) throws IOException {
        long base = 0;
        for (int i = 0; i < timestamps.length; i++) {
            LogSegment s = TestSegments.segment(dir, base, BATCHES, timestamps[i]);
            if (i < timestamps.length - 1) {
                s.onBecomeInactive();
            }
            segments.add(s);
            base = s.nextOffset();
        }
    }

    private int deleteExpired(LogConfig config, long nowMs, long maxOffset) throws IOException {
        return LogRetention.deleteExpired(dir, segments, config, nowMs, maxOffset, starts::add);
    }

    @Test
    void byTimeDeletesTheOldestSegmentsWhoseNewestBatchIsTooOld() throws IOException {
        segmentsWithTimestamps(1_000, 5_000, 2_000, 9_000);
        LogConfig config = LogConfig.builder().retentionMs(3_000).build();
        // Now 7.5 s: segment 0 (1 s) is expired, segment 1 (5 s) is not, so segment 2 (2 s) waits behind it.
        assertEquals(1, deleteExpired(config, 7_500, Long.MAX_VALUE));
        assertEquals(List.of(OFFSETS, 2 * OFFSETS, 3 * OFFSETS), segments.baseOffsets());
        assertEquals(List.of(OFFSETS), starts, "the new log start offset is published");
        assertFalse(Files.exists(LogFiles.logFile(dir, 0)));
        assertEquals(0, deleteExpired(config, 8_000, Long.MAX_VALUE), "exactly retention.ms old is kept");
        assertEquals(2, deleteExpired(config, 1_000_000, Long.MAX_VALUE));
        assertEquals(List.of(3 * OFFSETS), segments.baseOffsets(), "the active segment is never deleted");
        assertEquals(0, deleteExpired(config, Long.MAX_VALUE / 2, Long.MAX_VALUE));
    }

    @Test
    void bySizeDeletesWhileTheLogStaysAtLeastRetentionBytes() throws IOException {
        segmentsWithTimestamps(1, 1, 1, 1, 1);
        long segmentBytes = (long) BATCHES * TestSegments.batchSize();
        LogConfig config = LogConfig.builder().retentionBytes(2 * segmentBytes + 1).build();
        // 5 segments: deleting 2 leaves 3 (above the limit); deleting a third would leave 2 (below it).
        assertEquals(2, deleteExpired(config, 2, Long.MAX_VALUE));
        assertEquals(3 * segmentBytes, segments.sizeInBytes());
        assertEquals(List.of(OFFSETS, 2 * OFFSETS), starts);
        LogConfig exact = LogConfig.builder().retentionBytes(2 * segmentBytes).build();
        assertEquals(1, deleteExpired(exact, 2, Long.MAX_VALUE), "at exactly retention.bytes the log may shrink to it");
        assertEquals(0, deleteExpired(LogConfig.builder().retentionBytes(-1).retentionMs(-1).build(), Long.MAX_VALUE / 2,
                Long.MAX_VALUE), "-1 and -1: keep forever");
    }

    @Test
    void neverDeletesASegmentHoldingOffsetsAtOrAboveMaxOffset() throws IOException {
        segmentsWithTimestamps(1, 1, 1, 1);
        LogConfig config = LogConfig.builder().retentionMs(0).build();
        // Segment 1 ends at 2 * OFFSETS: deletable only once the high watermark has reached that.
        assertEquals(1, deleteExpired(config, 10, 2 * OFFSETS - 1));
        assertEquals(List.of(OFFSETS, 2 * OFFSETS, 3 * OFFSETS), segments.baseOffsets());
        assertEquals(1, deleteExpired(config, 10, 2 * OFFSETS));
        assertEquals(List.of(2 * OFFSETS), starts.subList(1, 2));
    }

    @Test
    void segmentsWithoutTimestampsAgeByTheirFileTime() throws IOException {
        segmentsWithTimestamps(RecordBatch.NO_TIMESTAMP, RecordBatch.NO_TIMESTAMP, RecordBatch.NO_TIMESTAMP);
        Files.setLastModifiedTime(LogFiles.logFile(dir, 0), FileTime.fromMillis(10_000));
        Files.setLastModifiedTime(LogFiles.logFile(dir, OFFSETS), FileTime.fromMillis(50_000));
        LogConfig config = LogConfig.builder().retentionMs(20_000).build();
        assertEquals(1, deleteExpired(config, 40_000, Long.MAX_VALUE));
        assertEquals(List.of(OFFSETS, 2 * OFFSETS), segments.baseOffsets());
        assertTrue(Files.exists(LogFiles.logFile(dir, OFFSETS)));
    }
}
