package io.rafka.log.internal;

import io.rafka.record.RecordBatch;
import io.rafka.testing.TestBatches;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

/** Writes real segment files for the tests of the classes that load, recover and delete them. */
final class TestSegments {
    static final int INDEX_INTERVAL_BYTES = 100;
    static final int INDEX_BYTES = 10 * 1024;

    private TestSegments() {
    }

    /** A new active segment at {@code baseOffset} holding {@code batches} batches of two 50-byte records. */
    static LogSegment segment(Path dir, long baseOffset, int batches, long timestamp) throws IOException {
        LogSegment s = LogSegment.create(dir, baseOffset, INDEX_INTERVAL_BYTES, INDEX_BYTES);
        long next = baseOffset;
        for (int i = 0; i < batches; i++) {
            ByteBuffer bytes = TestBatches.sized(2, 50, timestamp);
            RecordBatch batch = new RecordBatch(bytes.duplicate());
            batch.setBaseOffset(next);
            s.append(bytes, List.of(batch));
            next = batch.nextOffset();
        }
        return s;
    }

    /**
     * Writes {@code count} segments of {@code batchesEach} batches, back to back, and closes them as a clean
     * shutdown does (all but the last rolled, everything flushed).
     *
     * @return the base offsets
     */
    static List<Long> writeClosedSegments(Path dir, int count, int batchesEach) throws IOException {
        java.nio.file.Files.createDirectories(dir);
        List<Long> bases = new java.util.ArrayList<>();
        long base = 0;
        for (int i = 0; i < count; i++) {
            LogSegment s = segment(dir, base, batchesEach, 1_000L + i);
            bases.add(base);
            base = s.nextOffset();
            if (i < count - 1) {
                s.onBecomeInactive();
            }
            s.flush();
            s.close();
        }
        return bases;
    }

    /** Size in bytes of one batch written by {@link #segment}. */
    static int batchSize() {
        return TestBatches.sized(2, 50, 0L).remaining();
    }

    static void flipBit(Path file, long position, int bit) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(position);
            int b = f.read();
            f.seek(position);
            f.write(b ^ (1 << bit));
        }
    }
}
