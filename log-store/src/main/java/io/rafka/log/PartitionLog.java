package io.rafka.log;

import io.rafka.common.InvalidRecordException;
import io.rafka.common.OffsetOutOfRangeException;
import io.rafka.common.RecordTooLargeException;
import io.rafka.common.StorageException;
import io.rafka.common.Time;
import io.rafka.log.internal.LogLoader;
import io.rafka.log.internal.LogRetention;
import io.rafka.log.internal.LogSegment;
import io.rafka.log.internal.LogSegments;
import io.rafka.log.internal.RecoveryPointCheckpoint;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;
import io.rafka.record.TimestampType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The log of one topic-partition: an ordered, append-only sequence of record batches stored as segments
 * in one folder ({@code <topic>-<partition>/}), in Kafka's file layout.
 *
 * <pre>{@code
 * try (PartitionLog log = PartitionLog.open(Path.of("data/orders-0"), LogConfig.defaults(), Time.SYSTEM)) {
 *     LogAppendInfo info = log.append(new RecordBatchBuilder(CompressionType.NONE)
 *             .append(System.currentTimeMillis(), null, "hello".getBytes()).build(), 0, System.currentTimeMillis());
 *     log.flush(log.logEndOffset());
 *     LogReadResult read = log.read(info.firstOffset(), 1 << 20, log.logEndOffset());
 * }
 * }</pre>
 *
 * <p><b>Offsets</b> are assigned on append, from the log end offset, so replicas that append the same
 * batches in the same order (the Raft apply order) assign the same offsets and write identical files.
 * Segment rolling depends only on the data and on the append time the caller passes in, never on the
 * local clock, for the same reason; retention deletes only whole closed segments.
 *
 * <p><b>Crash safety:</b> data below the flushed offset survives a crash. Opening the log is
 * {@link LogLoader}'s job: after an unclean shutdown it re-validates the segments from the persisted
 * recovery point on and keeps exactly the valid prefix; after a clean close it reads no segment's data.
 * Flushing closed segments moves the recovery point ({@link RecoveryPointCheckpoint}) past them.
 *
 * <p><b>Threads:</b> mutations (append, roll, truncate, retention, flush, close) serialize on one lock;
 * {@link #read} and the offset queries take no lock and may run concurrently with them.
 */
public final class PartitionLog implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionLog.class);

    /**
     * How often at most a flush moves the recovery point into the active segment (Kafka's
     * {@code log.flush.offset.checkpoint.interval.ms} plays this part, every 60 s): an fsync of the indexes and
     * three of the checkpoint file, against re-validating up to this long's appends after a crash.
     */
    public static final long RECOVERY_POINT_INTERVAL_MS = 10_000;

    private final Path dir;
    private final Time time;
    private final ReentrantLock lock = new ReentrantLock();
    private final RecoveryPointCheckpoint recoveryPoint;
    private final LogSegments segments;
    private volatile LogConfig config;
    private volatile long logEndOffset;
    private volatile long logStartOffset;
    /** Offset below which data is fsynced. */
    private volatile long flushedOffset;
    /** Counts cuts of the log (truncations); a flush that raced one does not move {@link #flushedOffset}. */
    private long truncations;
    /** When the recovery point last moved into the active segment ({@link Time#hiResClockMs()}). */
    private long lastRecoveryPointMs;
    /** Base of the segment the next open must re-validate from (a scrub found damage there); -1 if none. */
    private volatile long revalidateFrom = -1;
    private volatile boolean closed;

    private PartitionLog(Path dir, LogConfig config, Time time, RecoveryPointCheckpoint recoveryPoint, LogSegments segments) {
        this.dir = dir;
        this.config = config;
        this.time = time;
        this.recoveryPoint = recoveryPoint;
        this.segments = segments;
        this.logStartOffset = segments.first().baseOffset();
        this.logEndOffset = segments.active().nextOffset();
        this.flushedOffset = logEndOffset;
        this.lastRecoveryPointMs = time.hiResClockMs();
    }

    /**
     * Opens the log in {@code dir}, creating the folder and a first segment if needed, and recovering
     * after an unclean shutdown.
     *
     * @throws StorageException if the folder cannot be read or written
     */
    public static PartitionLog open(Path dir, LogConfig config, Time time) {
        RecoveryPointCheckpoint recoveryPoint = new RecoveryPointCheckpoint(dir);
        try {
            return new PartitionLog(dir, config, time, recoveryPoint, LogLoader.load(dir, config, recoveryPoint));
        } catch (IOException e) {
            throw new StorageException("cannot open partition log " + dir + ": " + e.getMessage(), e);
        }
    }

    public LogConfig config() {
        return config;
    }

    /** Applies new settings; they take effect on the next append, roll or retention pass. */
    public void updateConfig(LogConfig newConfig) {
        this.config = newConfig;
    }

    /** The offset the next appended record gets. */
    public long logEndOffset() {
        return logEndOffset;
    }

    /** The first offset still in the log. */
    public long logStartOffset() {
        return logStartOffset;
    }

    public int segmentCount() {
        return segments.count();
    }

    /** Total bytes of all segment files. */
    public long sizeInBytes() {
        return segments.sizeInBytes();
    }

    /** Base offsets of the segments, in order. */
    public List<Long> segmentBaseOffsets() {
        return segments.baseOffsets();
    }

    /**
     * Appends batches, assigning offsets from the log end offset and stamping {@code partitionLeaderEpoch}
     * (and, for LogAppendTime topics, the timestamp). The batches in {@code records} are modified in place.
     * For tests and tools that write a log without Raft: replicas write with {@link #appendReplicated}.
     *
     * <p>Each batch is checked again here (header, CRC, size limit), whatever the caller checked before:
     * the log never stores a batch it would refuse to serve.
     *
     * @param records       one or more whole batches, position to limit
     * @param leaderEpoch   the epoch (Raft term) of the leader that accepted them
     * @param appendTimeMs  the append time decided by the leader; drives segment.ms rolling and LogAppendTime
     */
    public LogAppendInfo append(ByteBuffer records, int leaderEpoch, long appendTimeMs) {
        LogConfig cfg = config;
        List<RecordBatch> batches = checkedBatches(records, cfg.maxMessageBytes());
        boolean stampTime = cfg.messageTimestampType() == TimestampType.LOG_APPEND_TIME;
        return appendLocked(cfg, records, batches, stampTime ? appendTimeMs : RecordBatch.NO_TIMESTAMP, (batch, next) -> {
            batch.setBaseOffset(next);
            batch.setPartitionLeaderEpoch(leaderEpoch);
            if (stampTime) {
                batch.setMaxTimestamp(TimestampType.LOG_APPEND_TIME, appendTimeMs);
            }
        });
    }

    /**
     * Appends batches whose offsets, epochs and timestamps are already set, keeping them: the records of a
     * Raft entry (placed by the partition's Raft leader) or batches copied from the leader's log during
     * catch-up. The first must start at the log end offset and each must follow the previous one. This is
     * how every replica, the leader included, writes records.
     */
    public LogAppendInfo appendReplicated(ByteBuffer records) {
        List<RecordBatch> batches = checkedBatches(records, Integer.MAX_VALUE);
        return appendLocked(config, records, batches, RecordBatch.NO_TIMESTAMP, (batch, next) -> {
            if (batch.baseOffset() != next) {
                throw new InvalidRecordException("copied batch starts at offset " + batch.baseOffset()
                        + " but the log ends at " + next);
            }
        });
    }

    /** How an append places each batch at the log end: stamp it there, or check it is already there. */
    private interface Placement {
        void place(RecordBatch batch, long nextOffset);
    }

    /** Splits and checks batches as every append does (size, header, CRC, at least one record). */
    private static List<RecordBatch> checkedBatches(ByteBuffer records, int maxBatchBytes) {
        List<RecordBatch> batches = RecordBatches.split(records);
        if (batches.isEmpty()) {
            throw new InvalidRecordException("append with no record batches");
        }
        for (RecordBatch batch : batches) {
            if (batch.sizeInBytes() > maxBatchBytes) {
                throw new RecordTooLargeException("record batch of " + batch.sizeInBytes()
                        + " bytes exceeds max.message.bytes = " + maxBatchBytes);
            }
            batch.ensureValid();
            if (batch.recordCount() < 1) {
                throw new InvalidRecordException("cannot append a batch with no records");
            }
        }
        return batches;
    }

    private LogAppendInfo appendLocked(LogConfig cfg, ByteBuffer records, List<RecordBatch> batches, long logAppendTimeMs,
                                       Placement placement) {
        lock.lock();
        try {
            ensureOpen();
            long next = logEndOffset;
            long maxTimestamp = RecordBatch.NO_TIMESTAMP;
            long offsetOfMax = next;
            int count = 0;
            for (RecordBatch batch : batches) {
                placement.place(batch, next);
                if (batch.maxTimestamp() > maxTimestamp) {
                    maxTimestamp = batch.maxTimestamp();
                    offsetOfMax = batch.lastOffset();
                }
                count += batch.recordCount();
                next = batch.nextOffset();
            }
            LogSegment segment = segments.rollIfNeeded(dir, cfg, logEndOffset, records.remaining(), maxTimestamp, next - 1);
            segment.append(records, batches);
            logEndOffset = next;
            return new LogAppendInfo(batches.get(0).baseOffset(), next - 1, maxTimestamp, offsetOfMax, logAppendTimeMs,
                    batches.size(), count, records.remaining());
        } catch (IOException e) {
            throw new StorageException("append to " + dir + " failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Reads whole batches from the one holding {@code startOffset}, up to {@code maxBytes} (the first batch
     * is returned whole even if larger) and only batches that end below {@code maxOffset}, which callers set
     * to the high watermark so only committed data is served. Reads come from a single segment; an empty
     * result at an offset below {@code maxOffset} does not happen.
     *
     * @throws OffsetOutOfRangeException if {@code startOffset} is below the log start or above the log end
     */
    public LogReadResult read(long startOffset, int maxBytes, long maxOffset) {
        return read(startOffset, maxBytes, maxOffset, ReadBuffers.NEW);
    }

    /** {@link #read(long, int, long)} into buffers from {@code buffers}. */
    public LogReadResult read(long startOffset, int maxBytes, long maxOffset, ReadBuffers buffers) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must not be negative: " + maxBytes);
        }
        for (int attempt = 0; ; attempt++) {
            long start = logStartOffset;
            long end = logEndOffset;
            if (startOffset < start || startOffset > end) {
                throw new OffsetOutOfRangeException("offset " + startOffset + " is out of range [" + start + ", "
                        + end + "] of " + dir.getFileName());
            }
            long upTo = Math.min(maxOffset, end);
            if (startOffset >= upTo) {
                return new LogReadResult(ByteBuffer.allocate(0), start, end);
            }
            try {
                for (LogSegment s = segments.floor(startOffset); s != null; s = segments.higher(s.baseOffset())) {
                    ByteBuffer data = s.read(startOffset, maxBytes, upTo, buffers);
                    if (data != null) {
                        return new LogReadResult(data, start, end);
                    }
                }
                if (startOffset < logStartOffset) {
                    // Retention deleted the segments holding the offset after the range check above.
                    throw new OffsetOutOfRangeException("offset " + startOffset + " is below the log start offset "
                            + logStartOffset + " of " + dir.getFileName());
                }
                return new LogReadResult(ByteBuffer.allocate(0), start, end);
            } catch (ClosedChannelException e) {
                // Retention or truncation removed the segment under us: look again.
                if (closed || attempt > 3) {
                    throw new StorageException("read of " + dir + " failed: log closed", e);
                }
            } catch (IOException e) {
                throw new StorageException("read of " + dir + " failed: " + e.getMessage(), e);
            }
        }
    }

    /**
     * The first record whose timestamp is at least {@code timestamp}, at or after the log start offset;
     * empty if there is none.
     */
    public Optional<TimestampAndOffset> offsetForTimestamp(long timestamp) {
        for (int attempt = 0; ; attempt++) {
            try {
                long start = logStartOffset;
                for (LogSegment segment : segments.all()) {
                    if (segment.maxTimestamp() < timestamp) {
                        continue;
                    }
                    Record r = segment.findRecordByTimestamp(timestamp, start);
                    if (r != null) {
                        return Optional.of(new TimestampAndOffset(r.timestamp(), r.offset()));
                    }
                }
                return Optional.empty();
            } catch (ClosedChannelException e) {
                // Retention or truncation removed a segment under us (as for reads): look again.
                if (closed || attempt > 3) {
                    throw new StorageException("timestamp lookup in " + dir + " failed: log closed", e);
                }
            } catch (IOException e) {
                throw new StorageException("timestamp lookup in " + dir + " failed: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Removes everything at and after {@code offset} (whole batches: a batch straddling it goes too). Used
     * to discard uncommitted entries; readers must not be reading beyond {@code offset} meanwhile.
     *
     * @return the new log end offset
     */
    public long truncateTo(long offset) {
        lock.lock();
        try {
            ensureOpen();
            if (offset >= logEndOffset) {
                return logEndOffset;
            }
            if (offset <= logStartOffset) {
                return truncateFullyAndStartAt(Math.max(offset, 0));
            }
            segments.deleteAfter(offset);
            LogSegment last = segments.active();
            if (!last.isActive()) {
                last.activate();
            }
            last.truncateTo(offset);
            if (last.size() == 0 && segments.count() > 1) {
                // The segment lost all its data: keep its file as the (empty) active segment.
                logEndOffset = last.baseOffset();
            } else {
                logEndOffset = last.nextOffset();
            }
            flushedOffset = Math.min(flushedOffset, logEndOffset);
            truncations++;
            if (revalidateFrom >= 0 && logEndOffset <= revalidateFrom) {
                revalidateFrom = -1;  // the damaged segment is gone
            }
            if (recoveryPoint.persisted() > logEndOffset && revalidateFrom < 0) {
                // The point vouched for bytes that are gone: make what is left durable and vouch for exactly that
                // (truncations are rare: after a restart or a leader change), not for the whole segment again.
                last.flush();
                recoveryPoint.write(logEndOffset, last.position());
                lastRecoveryPointMs = time.hiResClockMs();
            }
            LOG.info("{}: truncated to offset {}", dir, logEndOffset);
            return logEndOffset;
        } catch (IOException e) {
            throw new StorageException("truncation of " + dir + " failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    /** Deletes every segment and starts an empty log at {@code offset}. */
    public long truncateFullyAndStartAt(long offset) {
        lock.lock();
        try {
            ensureOpen();
            segments.deleteAll();
            segments.add(LogSegment.create(dir, offset, config.indexIntervalBytes(), config.segmentIndexBytes()));
            logEndOffset = offset;
            logStartOffset = offset;
            flushedOffset = offset;
            truncations++;
            revalidateFrom = -1;
            recoveryPoint.write(offset);
            return offset;
        } catch (IOException e) {
            throw new StorageException("truncation of " + dir + " failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Fsyncs all data below {@code offset}. Closed segments are fsynced with their indexes, after which the
     * recovery point moves past them, so a crash re-validates only the segments after it. At most every
     * {@link #RECOVERY_POINT_INTERVAL_MS} the recovery point also moves into the active segment, to the end of what
     * this flush made durable (its indexes fsynced too), so a crash re-validates only what was appended since
     * instead of the whole active segment (up to {@code segment.bytes}, 1 GiB by default).
     *
     * <p>The active segment's fsync (the one on every replicated commit) runs outside the log's lock, so
     * appends and reads go on meanwhile; if the log was cut back while it ran, the flushed offset is left
     * alone and the next flush covers what was rewritten. Closed segments (once per roll) are fsynced under
     * the lock, where retention cannot delete them mid-way.
     */
    public void flush(long offset) {
        long target;
        long generation;
        LogSegment active = null;
        long pointOffset = -1;
        RecoveryPointCheckpoint.Position point = null;
        lock.lock();
        try {
            ensureOpen();
            target = Math.min(offset, logEndOffset);
            if (target <= flushedOffset) {
                return;
            }
            LogSegment floor = segments.floor(flushedOffset);
            long from = floor == null ? segments.first().baseOffset() : floor.baseOffset();
            long newRecoveryPoint = recoveryPoint.persisted();
            for (LogSegment s : segments.range(from, target)) {
                if (s.isActive()) {
                    active = s;
                } else {
                    s.flush();
                    Long next = segments.nextBaseOffset(s.baseOffset());
                    if (next != null && next <= target) {
                        newRecoveryPoint = Math.max(newRecoveryPoint, next);
                    }
                }
            }
            if (newRecoveryPoint > recoveryPoint.persisted() && revalidateFrom < 0) {
                recoveryPoint.write(newRecoveryPoint);
            }
            if (active != null && revalidateFrom < 0 && time.hiResClockMs() - lastRecoveryPointMs >= RECOVERY_POINT_INTERVAL_MS
                    && active.nextOffset() > recoveryPoint.persisted()) {
                // Taken under the lock, before the fsync below: these bytes and index entries are covered by it.
                pointOffset = active.nextOffset();
                point = active.position();
            }
            generation = truncations;
        } catch (IOException e) {
            throw new StorageException("flush of " + dir + " failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
        if (active != null) {
            try {
                active.flushLog();
                if (point != null) {
                    active.flushIndexes();
                }
            } catch (ClosedChannelException e) {
                return; // cut away or closed meanwhile: nothing of it left to make durable
            } catch (IOException e) {
                throw new StorageException("flush of " + dir + " failed: " + e.getMessage(), e);
            }
        }
        lock.lock();
        try {
            if (truncations == generation) {
                flushedOffset = Math.max(flushedOffset, target);
                // A cut since the point was taken may have removed its bytes; a roll may have moved the point on.
                if (point != null && !closed && revalidateFrom < 0 && pointOffset > recoveryPoint.persisted()) {
                    recoveryPoint.write(pointOffset, point);
                    lastRecoveryPointMs = time.hiResClockMs();
                }
            }
        } catch (IOException e) {
            throw new StorageException("writing the recovery point of " + dir + " failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Deletes closed segments that retention.ms or retention.bytes have expired (see {@link LogRetention}),
     * never one holding offsets at or above {@code maxOffset}: a replicated log passes its high watermark, as
     * uncommitted records are not retention's.
     *
     * @return how many segments were deleted
     */
    public int deleteExpiredSegments(long maxOffset) {
        lock.lock();
        try {
            ensureOpen();
            return LogRetention.deleteExpired(dir, segments, config, time.milliseconds(), maxOffset,
                    start -> logStartOffset = start);
        } catch (IOException e) {
            throw new StorageException("retention on " + dir + " failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Deletes closed segments holding only offsets below {@code offset} (never one at or above {@code maxOffset}):
     * for a log whose owner rewrote everything it still needs at or after {@code offset}.
     *
     * @return how many segments were deleted
     */
    public int deleteSegmentsBelow(long offset, long maxOffset) {
        lock.lock();
        try {
            ensureOpen();
            return LogRetention.deleteBelow(dir, segments, offset, maxOffset, start -> logStartOffset = start);
        } catch (IOException e) {
            throw new StorageException("deleting segments of " + dir + " failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    /** A damaged batch a {@link #scrub} found: its segment, the offset it should start at, and what is wrong. */
    public record Damage(long segmentBase, long offset, String reason) {
    }

    /**
     * What one {@link #scrub} call read: where the next one goes on, whether it reached the log end, and the damage
     * it found (null if none).
     */
    public record Scrubbed(long nextOffset, long bytes, boolean reachedEnd, Damage damage) {
    }

    /**
     * Reads stored batches from {@code fromOffset} (from the log start if below it) as recovery does (CRC,
     * lengths, offsets following each other, epochs never going down), about {@code maxBytes} of them, changing nothing. Recovery trusts
     * closed segments and the active segment below its recovery point, so a bit flipped there by the disk would
     * otherwise be found only by a consumer's CRC check; a background scrub calls this to find it first. A damaged
     * batch is reported only if it still reads damaged under the log's lock, where no truncation can race the
     * read; a segment that cannot be read at all counts as damaged there.
     */
    public Scrubbed scrub(long fromOffset, long maxBytes) {
        long cursor = Math.max(fromOffset, logStartOffset);
        long bytes = 0;
        LogSegment s = segments.floor(cursor);
        if (s == null) {
            s = segments.first();
        }
        try {
            while (bytes < maxBytes) {
                LogSegment.Checked c;
                try {
                    c = s.check(Math.max(cursor, s.baseOffset()), maxBytes - bytes);
                } catch (ClosedChannelException e) {
                    ensureOpen();  // else retention or a truncation removed the segment: go on from the log start
                    return new Scrubbed(Math.max(cursor, logStartOffset), bytes, false, null);
                } catch (IOException e) {
                    c = new LogSegment.Checked(cursor, 0, false, Math.max(cursor, s.baseOffset()),
                            "read failed: " + e.getMessage());
                }
                bytes += c.bytes();
                if (c.damaged()) {
                    Damage damage = confirmDamage(s, c);
                    return new Scrubbed(c.nextOffset(), bytes, false, damage);
                }
                cursor = c.nextOffset();
                if (!c.reachedEnd()) {
                    break;
                }
                LogSegment next = segments.higher(s.baseOffset());
                if (next == null) {
                    return new Scrubbed(cursor, bytes, true, null);
                }
                cursor = Math.max(cursor, next.baseOffset());
                s = next;
            }
            return new Scrubbed(cursor, bytes, false, null);
        } catch (RuntimeException e) {
            if (closed) {
                throw new StorageException("scrub of " + dir + " failed: log closed", e);
            }
            throw e;
        }
    }

    /** The damage {@code found} in {@code segment}, if reading it again under the lock agrees; null otherwise. */
    private Damage confirmDamage(LogSegment segment, LogSegment.Checked found) {
        lock.lock();
        try {
            if (closed || segments.floor(found.damagedOffset()) != segment) {
                return null;  // cut or deleted meanwhile
            }
            LogSegment.Checked again;
            try {
                again = segment.check(found.damagedOffset(), found.confirmBytes());
            } catch (IOException e) {
                again = new LogSegment.Checked(found.damagedOffset(), 0, false, found.damagedOffset(),
                        "read failed: " + e.getMessage());
            }
            if (!again.damaged()) {
                return null;
            }
            LOG.error("{}: batch at offset {} in segment {} is damaged: {}", dir, again.damagedOffset(),
                    segment.baseOffset(), again.damage());
            return new Damage(segment.baseOffset(), again.damagedOffset(), again.damage());
        } finally {
            lock.unlock();
        }
    }

    /**
     * Makes the next open re-validate the log from the segment at {@code segmentBase} on, cutting it at the first
     * damaged batch there (a {@link #scrub} found one): the recovery point moves back to that segment now, durably,
     * and stays there (no flush moves it on, and the close leaves no clean-shutdown marker), so however this
     * process ends, the next open finds the damage. A truncation that removes the whole segment lifts this.
     */
    public void revalidateFrom(long segmentBase) {
        lock.lock();
        try {
            ensureOpen();
            long from = revalidateFrom < 0 ? segmentBase : Math.min(revalidateFrom, segmentBase);
            long persisted = recoveryPoint.persisted();
            if (persisted < 0 || persisted >= from) {
                recoveryPoint.write(from);  // a plain offset: no trusted bytes inside the segment
            }
            revalidateFrom = from;
            LOG.warn("{}: the next open re-validates the log from segment {} on", dir, from);
        } catch (IOException e) {
            throw new StorageException("moving the recovery point of " + dir + " failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    /** The segment the next open re-validates from ({@link #revalidateFrom}), or -1. */
    public long revalidatingFrom() {
        return revalidateFrom;
    }

    /** Flushes everything, trims the indexes and leaves the clean-shutdown marker so the next open is fast. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            flush(logEndOffset);
            for (LogSegment s : segments.all()) {
                s.flush();
                s.close();
            }
            closed = true;
            if (revalidateFrom < 0) {
                recoveryPoint.write(logEndOffset);
                LogLoader.markCleanShutdown(dir);
            }
        } catch (IOException e) {
            throw new StorageException("close of " + dir + " failed: " + e.getMessage(), e);
        } finally {
            closed = true;
            lock.unlock();
        }
    }

    /** Closes the log and deletes its folder (the partition was deleted). */
    public void deleteAll() {
        lock.lock();
        try {
            closeWithoutFlush();
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            throw new StorageException("deletion of " + dir + " failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Closes file handles without flushing or leaving the clean-shutdown marker, so the next open recovers
     * as after a crash. For fatal storage errors and for crash tests of the layers above.
     */
    public void closeWithoutFlush() {
        lock.lock();
        try {
            closed = true;
            segments.closeQuietly();
        } finally {
            lock.unlock();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new StorageException("partition log " + dir + " is closed");
        }
    }

    @Override
    public String toString() {
        return "PartitionLog(" + dir + ", [" + logStartOffset + ", " + logEndOffset + "), " + segments.count() + " segments)";
    }
}
