package io.rafka.log.internal;

import io.rafka.common.CorruptRecordException;
import io.rafka.log.LogConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;

/**
 * Opens the segments of a partition folder: Kafka's {@code LogLoader}. What it trusts depends on how the
 * log was last closed.
 *
 * <ul>
 *   <li><b>Clean shutdown</b> (the {@link LogFiles#CLEAN_SHUTDOWN_FILE} marker is present): no segment's data is
 *       read; the indexes get cheap sanity checks (rebuilt from the log if they fail) and the active segment's
 *       appender state is recomputed from its tail.</li>
 *   <li><b>Unclean shutdown</b>: every segment from the one holding the {@link RecoveryPointCheckpoint recovery
 *       point} on is re-validated batch by batch (CRC, contiguous offsets) and re-indexed, the recovery point's
 *       own segment only after the fsynced prefix the point describes, if it has a position; the first torn or
 *       corrupt batch and everything after it, later segments included, are cut, so exactly the valid prefix
 *       survives.</li>
 * </ul>
 *
 * <p>Leftovers of interrupted operations (temporary files, indexes without a log) are deleted first. On
 * return the marker is gone and the recovery point is the end of the active segment, flushed with its
 * indexes, both durable: what is on disk is now validated, and a crash from here on re-validates only what
 * is appended later.
 */
public final class LogLoader {
    private static final Logger LOG = LoggerFactory.getLogger(LogLoader.class);

    private final Path dir;
    private final LogConfig config;
    private final RecoveryPointCheckpoint checkpoint;
    private final LogSegments segments = new LogSegments();
    private int recovered;
    private long validatedBytes;

    private LogLoader(Path dir, LogConfig config, RecoveryPointCheckpoint checkpoint) {
        this.dir = dir;
        this.config = config;
        this.checkpoint = checkpoint;
    }

    /**
     * Loads (creating the folder and a first segment if needed) and recovers the segments of {@code dir}.
     * On failure every segment opened so far is closed again.
     */
    public static LogSegments load(Path dir, LogConfig config, RecoveryPointCheckpoint checkpoint) throws IOException {
        LogLoader loader = new LogLoader(dir, config, checkpoint);
        try {
            return loader.load();
        } catch (IOException | RuntimeException e) {
            loader.segments.closeQuietly();
            throw e;
        }
    }

    /** Leaves the marker that lets the next {@link #load} trust the indexes; the segments must be flushed and closed. */
    public static void markCleanShutdown(Path dir) throws IOException {
        Files.write(dir.resolve(LogFiles.CLEAN_SHUTDOWN_FILE), new byte[0]);
        RecoveryPointCheckpoint.fsyncDir(dir);
    }

    private LogSegments load() throws IOException {
        Files.createDirectories(dir);
        Path marker = dir.resolve(LogFiles.CLEAN_SHUTDOWN_FILE);
        boolean clean = Files.exists(marker);
        long recoveryPoint = clean ? Long.MAX_VALUE : checkpoint.read();
        RecoveryPointCheckpoint.Position trusted = clean ? null : checkpoint.readPosition().orElse(null);
        long started = System.nanoTime();
        TreeSet<Long> bases = scanFolder();
        openSegments(bases, recoveryPoint, trusted);
        if (segments.isEmpty()) {
            segments.add(LogSegment.create(dir, 0L, config.indexIntervalBytes(), config.segmentIndexBytes()));
        }
        LogSegment active = activateLast();
        active.flush();
        checkpoint.write(active.nextOffset(), active.position());
        Files.deleteIfExists(marker);
        RecoveryPointCheckpoint.fsyncDir(dir);
        LOG.info("{}: opened {} segments, offsets [{}, {}), {} shutdown, {} segments recovered ({} bytes re-validated)"
                        + " in {} ms", dir, segments.count(), segments.first().baseOffset(), active.nextOffset(),
                clean ? "clean" : bases.isEmpty() ? "new log, no" : "unclean", recovered, validatedBytes,
                (System.nanoTime() - started) / 1_000_000);
        return segments;
    }

    /**
     * Opens every segment in {@code bases}, recovering those at or after the recovery point and those whose
     * indexes fail the sanity check; after a segment that had to be cut, the later ones are deleted.
     */
    private void openSegments(TreeSet<Long> bases, long recoveryPoint, RecoveryPointCheckpoint.Position trusted)
            throws IOException {
        boolean cut = false;
        for (Iterator<Long> it = bases.iterator(); it.hasNext(); ) {
            long base = it.next();
            LogSegment segment = LogSegment.open(dir, base, config.indexIntervalBytes(), config.segmentIndexBytes());
            if (cut) {
                LOG.warn("{}: deleting segment {} after a corrupt earlier segment", dir, base);
                segment.delete();
                it.remove();
                continue;
            }
            segments.add(segment);
            Long next = bases.higher(base);
            boolean needsRecovery = next == null ? recoveryPoint < Long.MAX_VALUE : next > recoveryPoint;
            if (!needsRecovery) {
                try {
                    segment.sanityCheck();
                } catch (CorruptIndexException e) {
                    LOG.warn("{}: rebuilding indexes of segment {}: {}", dir, base, e.getMessage());
                    needsRecovery = true;
                }
            }
            if (needsRecovery) {
                recovered++;
                int sizeBefore = segment.size();
                int truncated;
                if (trusted != null && trusted.segmentBase() == base && recoveryPoint >= base
                        && (next == null || recoveryPoint < next)) {
                    truncated = segment.recoverFrom(recoveryPoint, trusted);
                    validatedBytes += Math.max(0, sizeBefore - Math.min(trusted.bytes(), segment.size()));
                } else {
                    truncated = segment.recover();
                    validatedBytes += sizeBefore;
                }
                segment.flushLog();
                // Also a segment that ends before the next one starts (its tail lost at a batch boundary: nothing
                // to cut in it, but the offsets up to the next base are gone): the later ones cannot follow it.
                cut = truncated > 0 || (next != null && segment.nextOffset() != next);
                if (next != null && !cut) {
                    segment.onBecomeInactive();
                }
            }
        }
    }

    /** Makes the last segment the active one, recovering it if its tail does not read cleanly. */
    private LogSegment activateLast() throws IOException {
        LogSegment active = segments.active();
        if (!active.isActive()) {
            try {
                active.activate();
            } catch (CorruptRecordException | CorruptIndexException e) {
                LOG.warn("{}: recovering the active segment despite the clean shutdown marker: {}", dir, e.getMessage());
                recovered++;
                active.recover();
            }
        }
        return active;
    }

    /** Deletes leftovers of interrupted operations and returns the base offsets of the segments found. */
    private TreeSet<Long> scanFolder() throws IOException {
        TreeSet<Long> logs = new TreeSet<>();
        List<Path> indexFiles = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path p : files) {
                String name = p.getFileName().toString();
                if (name.endsWith(LogFiles.TMP_SUFFIX)) {
                    Files.deleteIfExists(p);
                } else if (LogFiles.baseOffsetOf(name, LogFiles.LOG_SUFFIX) >= 0) {
                    logs.add(LogFiles.baseOffsetOf(name, LogFiles.LOG_SUFFIX));
                } else if (LogFiles.baseOffsetOf(name, LogFiles.INDEX_SUFFIX) >= 0
                        || LogFiles.baseOffsetOf(name, LogFiles.TIME_INDEX_SUFFIX) >= 0) {
                    indexFiles.add(p);
                }
            }
        }
        for (Path p : indexFiles) {
            String name = p.getFileName().toString();
            long base = Math.max(LogFiles.baseOffsetOf(name, LogFiles.INDEX_SUFFIX),
                    LogFiles.baseOffsetOf(name, LogFiles.TIME_INDEX_SUFFIX));
            if (!logs.contains(base)) {
                LOG.info("{}: deleting index {} that has no log file", dir, name);
                Files.deleteIfExists(p);
            }
        }
        return logs;
    }
}
