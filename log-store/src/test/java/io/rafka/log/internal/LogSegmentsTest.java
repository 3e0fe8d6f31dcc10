package io.rafka.log.internal;

import io.rafka.log.LogConfig;
import io.rafka.record.RecordBatch;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LogSegmentsTest {
    @TempDir
    Path dir;
    private final LogSegments segments = new LogSegments();

    @AfterEach
    void close() {
        segments.closeQuietly();
    }

    /** One active segment at 0 with {@code batches} batches stamped 1000. */
    private LogSegment activeWith(int batches) throws IOException {
        LogSegment s = TestSegments.segment(dir, 0, batches, 1_000L);
        segments.add(s);
        return s;
    }

    @Test
    void rollsWhenTheIncomingBytesWouldPassSegmentBytes() throws IOException {
        LogSegment active = activeWith(8);
        int size = active.size();
        assertTrue(size + 100 >= 1024, "segment.bytes has a floor of 1 KiB: " + size);
        LogConfig config = LogConfig.builder().segmentBytes(size + 100).build();
        assertSame(active, segments.rollIfNeeded(dir, config, 16, 100, 1_000L, 16), "exactly segment.bytes fits");
        LogSegment fresh = segments.rollIfNeeded(dir, config, 16, 101, 1_000L, 16);
        assertEquals(16, fresh.baseOffset());
        assertTrue(fresh.isActive());
        assertFalse(active.isActive(), "the old segment is closed for writes");
        assertEquals(List.of(0L, 16L), segments.baseOffsets());
        assertTrue(Files.exists(LogFiles.logFile(dir, 16)));
    }

    @Test
    void rollsWhenTheNewBatchIsSegmentMsNewerThanTheFirst() throws IOException {
        LogSegment active = activeWith(2);
        LogConfig config = LogConfig.builder().segmentMs(500).build();
        assertSame(active, segments.rollIfNeeded(dir, config, 4, 10, 1_500L, 4));
        assertSame(active, segments.rollIfNeeded(dir, config, 4, 10, -1L, 4), "no timestamp, no age");
        assertEquals(4, segments.rollIfNeeded(dir, config, 4, 10, 1_501L, 4).baseOffset());
    }

    @Test
    void anEmptyActiveSegmentTakesEvenAnOversizedAppend() throws IOException {
        LogSegment empty = LogSegment.create(dir, 0, 0, 1024);
        segments.add(empty);
        assertSame(empty, segments.rollIfNeeded(dir, LogConfig.builder().segmentBytes(1024).build(), 0, 1 << 20, 1L, 0));
    }

    @Test
    void aFullIndexRolls() throws IOException {
        // A 24-byte time index holds one entry plus the slot kept for the roll; an interval of 0 indexes
        // every batch after the first, so it is full after two batches.
        LogSegment active = LogSegment.create(dir, 0, 0, 24);
        segments.add(active);
        ByteBuffer bytes = TestBatches.sized(1, 10, 5L);
        for (long offset = 0; offset < 2; offset++) {
            RecordBatch batch = new RecordBatch(bytes.duplicate());
            batch.setBaseOffset(offset);
            active.append(bytes.duplicate(), List.of(batch));
        }
        assertTrue(active.indexesFull());
        assertEquals(2, segments.rollIfNeeded(dir, LogConfig.defaults(), 2, 10, 5L, 2).baseOffset());
    }

    @Test
    void deleteAfterRemovesLaterSegmentsAndTheirFiles() throws IOException {
        for (long base : List.of(0L, 10L, 20L)) {
            segments.add(LogSegment.create(dir, base, 100, 1024));
        }
        segments.deleteAfter(10);
        assertEquals(List.of(0L, 10L), segments.baseOffsets());
        assertFalse(Files.exists(LogFiles.logFile(dir, 20)));
        assertEquals(10, segments.floor(15).baseOffset());
        assertEquals(10, segments.higher(0).baseOffset());
        assertNull(segments.nextBaseOffset(10));
    }
}
