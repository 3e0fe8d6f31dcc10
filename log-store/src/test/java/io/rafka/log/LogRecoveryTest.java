package io.rafka.log;

import io.rafka.common.Time;
import io.rafka.log.internal.LogFiles;
import io.rafka.record.CompressionType;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Recovery is a main code path: these tests damage real files the way crashes and bad disks do, reopen,
 * and check that exactly the valid prefix survives and that indexes come back byte for byte.
 */
class LogRecoveryTest {
    private static final LogConfig CONFIG = LogConfig.builder().segmentBytes(8 * 1024).indexIntervalBytes(300).build();

    @TempDir
    Path tmp;
    private Path live;
    /** Every appended record, by offset. */
    private final List<Record> model = new ArrayList<>();
    /** (segment base, position in file, base offset, size, next offset) of every batch. */
    private final List<long[]> batches = new ArrayList<>();

    @BeforeEach
    void writeLog() {
        live = tmp.resolve("live-0");
        Random random = new Random(11);
        try (PartitionLog log = PartitionLog.open(live, CONFIG, Time.SYSTEM)) {
            for (int i = 0; i < 300; i++) {
                CompressionType codec = CompressionType.values()[i % CompressionType.values().length];
                ByteBuffer b = TestBatches.batch(codec, "r" + i + "-" + "p".repeat(random.nextInt(150)),
                        1 + random.nextInt(6), 5_000L + i * 10L + random.nextInt(30));
                long first = log.logEndOffset();
                log.append(b, 2, 10_000L + i);
                model.addAll(TestBatches.records(log.read(first, 1 << 20, log.logEndOffset()).records()));
            }
            assertTrue(log.segmentCount() >= 5, "segments: " + log.segmentCount());
            for (long base : log.segmentBaseOffsets()) {
                ByteBuffer all = ByteBuffer.wrap(readAllBytes(LogFiles.logFile(live, base)));
                while (all.remaining() > 0) {
                    int size = all.getInt(all.position() + RecordBatch.LENGTH_OFFSET) + RecordBatch.LOG_OVERHEAD;
                    long baseOffset = all.getLong(all.position());
                    long next = baseOffset + all.getInt(all.position() + RecordBatch.LAST_OFFSET_DELTA_OFFSET) + 1;
                    batches.add(new long[] {base, all.position(), baseOffset, size, next});
                    all.position(all.position() + size);
                }
            }
        }
    }

    /** A copy of the partition folder as an unclean shutdown leaves it: no marker, recovery point at 0. */
    private Path crashImage(String name) throws IOException {
        Path copy = copyFolder(live, tmp.resolve(name));
        Files.deleteIfExists(copy.resolve(LogFiles.CLEAN_SHUTDOWN_FILE));
        Files.writeString(copy.resolve(LogFiles.RECOVERY_POINT_FILE), "0\n0\n");
        return copy;
    }

    /** Copies the files of a partition folder into a new folder {@code to}, which it returns. */
    static Path copyFolder(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path p : files.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
        return to;
    }

    private void assertValidPrefix(PartitionLog log, long expectedEnd) {
        assertEquals(expectedEnd, log.logEndOffset());
        List<Record> read = PartitionLogTest.readAll(log);
        assertEquals(expectedEnd, read.size());
        for (int i = 0; i < read.size(); i++) {
            Record expected = model.get(i);
            assertEquals(expected.offset(), read.get(i).offset());
            assertEquals(expected.timestamp(), read.get(i).timestamp());
            assertArrayEquals(expected.value(), read.get(i).value());
        }
        // And the log accepts new data right after the prefix.
        long end = log.logEndOffset();
        assertEquals(end, log.append(TestBatches.batch(CompressionType.NONE, "after", 2, 1L), 3, 1L).firstOffset());
    }

    @Test
    void truncatedTailAtRandomPositionsKeepsWholeBatches() throws IOException {
        Random random = new Random(3);
        long lastBase = batches.get(batches.size() - 1)[0];
        long lastSize = Files.size(LogFiles.logFile(live, lastBase));
        for (int trial = 0; trial < 25; trial++) {
            long cut = random.nextLong(lastSize + 1);
            Path dir = crashImage("cut-" + trial);
            try (FileChannel ch = FileChannel.open(LogFiles.logFile(dir, lastBase), StandardOpenOption.WRITE)) {
                ch.truncate(cut);
            }
            long expectedEnd = lastBase;
            for (long[] b : batches) {
                if (b[0] == lastBase && b[1] + b[3] <= cut) {
                    expectedEnd = b[4];
                }
            }
            try (PartitionLog log = PartitionLog.open(dir, CONFIG, Time.SYSTEM)) {
                assertValidPrefix(log, expectedEnd);
            }
        }
    }

    /**
     * A closed segment whose tail was lost at a batch boundary (its last batches never reached the disk, the next
     * segment's did): nothing in it is torn, but the offsets up to the next segment's base are gone. Recovery must
     * end the log there instead of keeping the later segments behind a hole.
     */
    @Test
    void aClosedSegmentMissingItsLastBatchesEndsTheLogThereNotAHole() throws IOException {
        List<Long> bases = batches.stream().map(b -> b[0]).distinct().toList();
        long segment = bases.get(1);
        List<long[]> its = batches.stream().filter(b -> b[0] == segment).toList();
        long[] lost = its.get(its.size() - 2);   // the last two batches of the segment are lost
        Path dir = crashImage("hole");
        try (FileChannel ch = FileChannel.open(LogFiles.logFile(dir, segment), StandardOpenOption.WRITE)) {
            ch.truncate(lost[1]);
        }
        try (PartitionLog log = PartitionLog.open(dir, CONFIG, Time.SYSTEM)) {
            assertValidPrefix(log, lost[2]);
            assertEquals(bases.subList(0, 2), log.segmentBaseOffsets());
        }
    }

    @Test
    void flippedBitCutsTheLogAtTheDamagedBatch() throws IOException {
        Random random = new Random(5);
        for (int trial = 0; trial < 25; trial++) {
            long[] victim = batches.get(random.nextInt(batches.size()));
            int inBatch;
            do {
                inBatch = random.nextInt((int) victim[3]);
            } while (inBatch >= RecordBatch.PARTITION_LEADER_EPOCH_OFFSET && inBatch < RecordBatch.MAGIC_OFFSET);
            Path dir = crashImage("flip-" + trial);
            flipBit(LogFiles.logFile(dir, victim[0]), victim[1] + inBatch, random.nextInt(8));
            try (PartitionLog log = PartitionLog.open(dir, CONFIG, Time.SYSTEM)) {
                assertValidPrefix(log, victim[2]);
                assertTrue(log.segmentBaseOffsets().stream().allMatch(b -> b <= victim[0]), "later segments dropped");
            }
        }
    }

    @Test
    void untrimmedIndexesOfACrashAreRebuilt() throws IOException {
        Path dir = crashImage("crash");
        long lastBase = batches.get(batches.size() - 1)[0];
        // A crash leaves the active segment's index preallocated and zero-filled past its entries.
        try (RandomAccessFile f = new RandomAccessFile(LogFiles.offsetIndexFile(dir, lastBase).toFile(), "rw")) {
            f.setLength(CONFIG.segmentIndexBytes());
        }
        try (RandomAccessFile f = new RandomAccessFile(LogFiles.timeIndexFile(dir, lastBase).toFile(), "rw")) {
            f.setLength(CONFIG.segmentIndexBytes() / 12 * 12);
        }
        try (PartitionLog log = PartitionLog.open(dir, CONFIG, Time.SYSTEM)) {
            assertValidPrefix(log, model.size());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"delete", "garble", "partial", "zero"})
    void damagedIndexesAreRebuiltByteForByteEvenAfterACleanShutdown(String damage) throws IOException {
        long base = batches.get(0)[0];
        Path index = LogFiles.offsetIndexFile(live, base);
        Path timeIndex = LogFiles.timeIndexFile(live, base);
        byte[] indexBefore = readAllBytes(index);
        byte[] timeIndexBefore = readAllBytes(timeIndex);
        assertTrue(indexBefore.length >= 16 && timeIndexBefore.length >= 24, "test needs several entries");
        switch (damage) {
            case "delete" -> {
                Files.delete(index);
                Files.delete(timeIndex);
            }
            case "garble" -> {
                byte[] junk = new byte[indexBefore.length];
                new Random(1).nextBytes(junk);
                Files.write(index, junk);
                byte[] junk2 = new byte[timeIndexBefore.length];
                new Random(2).nextBytes(junk2);
                Files.write(timeIndex, junk2);
            }
            case "partial" -> {
                Files.write(index, Arrays.copyOf(indexBefore, indexBefore.length - 3));
                Files.write(timeIndex, Arrays.copyOf(timeIndexBefore, timeIndexBefore.length - 5));
            }
            case "zero" -> {
                Files.write(index, new byte[indexBefore.length]);
                Files.write(timeIndex, new byte[timeIndexBefore.length]);
            }
            default -> throw new IllegalArgumentException(damage);
        }
        assertTrue(Files.exists(live.resolve(LogFiles.CLEAN_SHUTDOWN_FILE)));
        try (PartitionLog log = PartitionLog.open(live, CONFIG, Time.SYSTEM)) {
            assertEquals(model.size(), log.logEndOffset());
            assertEquals(model.size(), PartitionLogTest.readAll(log).size());
            for (Record probe : List.of(model.get(10), model.get(model.size() / 2))) {
                long expected = model.stream().filter(r -> r.timestamp() >= probe.timestamp()).findFirst().orElseThrow().offset();
                assertEquals(expected, log.offsetForTimestamp(probe.timestamp()).orElseThrow().offset());
            }
        }
        assertArrayEquals(indexBefore, readAllBytes(index));
        assertArrayEquals(timeIndexBefore, readAllBytes(timeIndex));
    }

    @Test
    void orphanIndexesAndTempFilesAreRemoved() throws IOException {
        Path dir = crashImage("orphans");
        Files.write(LogFiles.offsetIndexFile(dir, 999_999L), new byte[16]);
        Files.write(dir.resolve(LogFiles.RECOVERY_POINT_FILE + LogFiles.TMP_SUFFIX), new byte[3]);
        try (PartitionLog log = PartitionLog.open(dir, CONFIG, Time.SYSTEM)) {
            assertValidPrefix(log, model.size());
        }
        assertTrue(Files.notExists(LogFiles.offsetIndexFile(dir, 999_999L)));
        assertTrue(Files.notExists(dir.resolve(LogFiles.RECOVERY_POINT_FILE + LogFiles.TMP_SUFFIX)));
    }

    @Test
    void recoveryPointLimitsTheScanToTheSegmentsAfterIt() throws IOException {
        Path dir = crashImage("rp");
        List<Long> bases = batches.stream().map(b -> b[0]).distinct().toList();
        // Damage a segment below the recovery point: it is trusted, so the damage is not scanned for...
        long[] old = batches.stream().filter(b -> b[0] == bases.get(0)).skip(2).findFirst().orElseThrow();
        flipBit(LogFiles.logFile(dir, old[0]), old[1] + RecordBatch.RECORDS_OFFSET + 1, 3);
        // ...while a flip in the last segment (after the recovery point) is found.
        long[] recent = batches.stream().filter(b -> b[0] == bases.get(bases.size() - 1)).findFirst().orElseThrow();
        flipBit(LogFiles.logFile(dir, recent[0]), recent[1] + RecordBatch.RECORDS_OFFSET + 1, 3);
        Files.writeString(dir.resolve(LogFiles.RECOVERY_POINT_FILE), "0\n" + bases.get(bases.size() - 1) + "\n");
        try (PartitionLog log = PartitionLog.open(dir, CONFIG, Time.SYSTEM)) {
            assertEquals(recent[2], log.logEndOffset());
            assertEquals(bases.size(), log.segmentCount());
        }
    }

    private static void flipBit(Path file, long position, int bit) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(position);
            int b = f.read();
            f.seek(position);
            f.write(b ^ (1 << bit));
        }
    }

    private static byte[] readAllBytes(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
