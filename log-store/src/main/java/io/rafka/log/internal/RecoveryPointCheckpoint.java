package io.rafka.log.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;

/**
 * The recovery point of one partition folder ({@link LogFiles#RECOVERY_POINT_FILE}): every segment based
 * below it is flushed and indexed on disk, so recovery after a crash starts at the segment holding it. A point
 * may also carry a {@link Position} inside that segment: its first bytes and index entries were fsynced before
 * the point was written, so recovery re-validates only what follows them instead of the whole segment (Kafka
 * re-reads the whole active segment; a partition that fsyncs every commit can promise more).
 *
 * <p><b>File:</b> text lines: the version, then the offset; version {@code 0} ends there, version {@code 1}
 * adds the position (segment base offset, bytes, offset index entries, time index entries). Written to a
 * temporary file, fsynced, renamed over the old one and the folder fsynced, so a crash leaves the old or the
 * new value, never a torn one. An unreadable file reads as 0: recovery then re-validates every segment, which
 * is slow but always safe.
 *
 * <p><b>Threads:</b> not thread-safe; the partition log calls it under its lock.
 */
public final class RecoveryPointCheckpoint {
    private static final Logger LOG = LoggerFactory.getLogger(RecoveryPointCheckpoint.class);

    /**
     * A durable prefix of the segment based at {@code segmentBase}: its first {@code bytes} bytes (whole batches,
     * ending at the point's offset) and the first {@code offsetIndexEntries} / {@code timeIndexEntries} entries of
     * its indexes were fsynced before the point was written.
     */
    public record Position(long segmentBase, int bytes, int offsetIndexEntries, int timeIndexEntries) {
        public Position {
            if (segmentBase < 0 || bytes < 0 || offsetIndexEntries < 0 || timeIndexEntries < 0) {
                throw new IllegalArgumentException("negative field in " + this);
            }
        }
    }

    private final Path dir;
    private final Path file;
    private long persisted = -1;

    public RecoveryPointCheckpoint(Path dir) {
        this.dir = dir;
        this.file = dir.resolve(LogFiles.RECOVERY_POINT_FILE);
    }

    /** The offset last written by this instance, or -1 if it has written none. */
    public long persisted() {
        return persisted;
    }

    /** The offset on disk; 0 if the file is missing or unreadable. */
    public long read() {
        long[] fields = fields();
        return fields.length == 0 ? 0L : Math.max(0L, fields[0]);
    }

    /** The position inside the recovery point's segment, if the file has one. */
    public Optional<Position> readPosition() {
        long[] fields = fields();
        if (fields.length < 5) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Position(fields[1], Math.toIntExact(fields[2]), Math.toIntExact(fields[3]),
                    Math.toIntExact(fields[4])));
        } catch (ArithmeticException | IllegalArgumentException e) {
            LOG.warn("{}: ignoring the unreadable position in the recovery point file: {}", dir, e.toString());
            return Optional.empty();
        }
    }

    /** The numbers after the version line: the offset (version 0) and the position (version 1); none if unreadable. */
    private long[] fields() {
        try {
            if (!Files.exists(file)) {
                return new long[0];
            }
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            String version = lines.isEmpty() ? "" : lines.get(0).trim();
            int count = version.equals("0") ? 1 : version.equals("1") ? 5 : -1;
            if (count < 0 || lines.size() < count + 1) {
                LOG.warn("{}: ignoring unreadable recovery point file", dir);
                return new long[0];
            }
            long[] fields = new long[count];
            for (int i = 0; i < count; i++) {
                fields[i] = Long.parseLong(lines.get(i + 1).trim());
            }
            return fields;
        } catch (IOException | NumberFormatException e) {
            LOG.warn("{}: ignoring unreadable recovery point file: {}", dir, e.toString());
            return new long[0];
        }
    }

    /** Replaces the point on disk with {@code offset}, a segment's base: that whole segment is re-validated after a crash. */
    public void write(long offset) throws IOException {
        write(offset, "0\n" + offset + "\n");
    }

    /**
     * Replaces the point on disk with {@code offset} inside the segment {@code position} describes; the caller has
     * fsynced that segment's first {@code position.bytes()} bytes and its index entries first.
     */
    public void write(long offset, Position position) throws IOException {
        write(offset, "1\n" + offset + "\n" + position.segmentBase() + "\n" + position.bytes() + "\n"
                + position.offsetIndexEntries() + "\n" + position.timeIndexEntries() + "\n");
    }

    private void write(long offset, String text) throws IOException {
        Path tmp = dir.resolve(LogFiles.RECOVERY_POINT_FILE + LogFiles.TMP_SUFFIX);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsyncDir(dir);
        persisted = offset;
    }

    /** Makes renames, creations and deletions in {@code dir} durable where the file system allows it. */
    public static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some file systems do not allow opening a directory; the rename is still atomic there.
            LOG.debug("{}: cannot fsync directory: {}", dir, e.toString());
        }
    }
}
