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

/**
 * The recovery point of one partition folder ({@link LogFiles#RECOVERY_POINT_FILE}): every segment based
 * below it is flushed and indexed on disk, so recovery after a crash starts at the segment holding it.
 *
 * <p><b>File:</b> two text lines, the version {@code 0} and the offset. Written to a temporary file,
 * fsynced, renamed over the old one and the folder fsynced, so a crash leaves the old or the new value,
 * never a torn one. An unreadable file reads as 0: recovery then re-validates every segment, which is
 * slow but always safe.
 *
 * <p><b>Threads:</b> not thread-safe; the partition log calls it under its lock.
 */
public final class RecoveryPointCheckpoint {
    private static final Logger LOG = LoggerFactory.getLogger(RecoveryPointCheckpoint.class);

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
        try {
            if (!Files.exists(file)) {
                return 0L;
            }
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            if (lines.size() < 2 || !lines.get(0).trim().equals("0")) {
                LOG.warn("{}: ignoring unreadable recovery point file", dir);
                return 0L;
            }
            return Math.max(0L, Long.parseLong(lines.get(1).trim()));
        } catch (IOException | NumberFormatException e) {
            LOG.warn("{}: ignoring unreadable recovery point file: {}", dir, e.toString());
            return 0L;
        }
    }

    /** Replaces the offset on disk atomically and durably. */
    public void write(long offset) throws IOException {
        Path tmp = dir.resolve(LogFiles.RECOVERY_POINT_FILE + LogFiles.TMP_SUFFIX);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(("0\n" + offset + "\n").getBytes(StandardCharsets.UTF_8)));
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
