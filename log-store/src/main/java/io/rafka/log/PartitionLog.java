package io.rafka.log;

import io.rafka.common.CorruptRecordException;
import io.rafka.common.InvalidRecordException;
import io.rafka.common.OffsetOutOfRangeException;
import io.rafka.common.RecordTooLargeException;
import io.rafka.common.StorageException;
import io.rafka.common.Time;
import io.rafka.log.internal.CorruptIndexException;
import io.rafka.log.internal.LogFiles;
import io.rafka.log.internal.LogSegment;
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
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
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
 * <p><b>Crash safety:</b> data below the flushed offset survives a crash. On open after an unclean shutdown,
 * every segment from the one holding the persisted recovery point on is re-validated batch by batch (CRC,
 * increasing offsets) and re-indexed; the first torn or corrupt batch and everything after it are cut,
 * so exactly the valid prefix survives. Missing or corrupt indexes of older segments are rebuilt from their
 * logs. After a clean close (marker file present) no segment's data is read on open, only index sanity
 * checks and the tail of the active segment.
 *
 * <p><b>Threads:</b> mutations (append, roll, truncate, retention, flush, close) serialize on one lock;
 * {@link #read} and the offset queries take no lock and may run concurrently with them.
 */
public final class PartitionLog implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionLog.class);

    private final Path dir;
    private final Time time;
    private final ReentrantLock lock = new ReentrantLock();
    private final ConcurrentNavigableMap<Long, LogSegment> segments = new ConcurrentSkipListMap<>();
    private volatile LogConfig config;
    private volatile long logEndOffset;
    private volatile long logStartOffset;
    /** Offset below which data is fsynced. */
    private volatile long flushedOffset;
    /** Counts cuts of the log (truncations); a flush that raced one does not move {@link #flushedOffset}. */
    private long truncations;
    /** The recovery point last written to disk. */
    private long persistedRecoveryPoint;
    private volatile boolean closed;

    private PartitionLog(Path dir, LogConfig config, Time time) {
        this.dir = dir;
        this.config = config;
        this.time = time;
    }

    /**
     * Opens the log in {@code dir}, creating the folder and a first segment if needed, and recovering
     * after an unclean shutdown.
     *
     * @throws StorageException if the folder cannot be read or written
     */
    public static PartitionLog open(Path dir, LogConfig config, Time time) {
        PartitionLog log = new PartitionLog(dir, config, time);
        try {
            log.load();
        } catch (IOException e) {
            log.closeQuietly();
            throw new StorageException("cannot open partition log " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            log.closeQuietly();
            throw e;
        }
        return log;
    }

    private void load() throws IOException {
        Files.createDirectories(dir);
        Path marker = dir.resolve(LogFiles.CLEAN_SHUTDOWN_FILE);
        boolean clean = Files.exists(marker);
        long recoveryPoint = clean ? Long.MAX_VALUE : readRecoveryPoint();
        TreeSet<Long> bases = scanFolder();
        long started = System.nanoTime();
        int recovered = 0;
        boolean cut = false;
        for (Iterator<Long> it = bases.iterator(); it.hasNext(); ) {
            long base = it.next();
            if (cut) {
                LOG.warn("{}: deleting segment {} after a corrupt earlier segment", dir, base);
                LogSegment.open(dir, base, config.indexIntervalBytes(), config.segmentIndexBytes()).delete();
                it.remove();
                continue;
            }
            LogSegment segment = LogSegment.open(dir, base, config.indexIntervalBytes(), config.segmentIndexBytes());
            segments.put(base, segment);
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
                int truncated = segment.recover();
                segment.flushLog();
                if (truncated > 0 || (next != null && segment.nextOffset() > next)) {
                    cut = true;
                }
                if (next != null && !cut) {
                    segment.onBecomeInactive();
                }
            }
        }
        if (segments.isEmpty()) {
            segments.put(0L, LogSegment.create(dir, 0L, config.indexIntervalBytes(), config.segmentIndexBytes()));
        }
        LogSegment active = segments.lastEntry().getValue();
        if (!active.isActive()) {
            try {
                active.activate();
            } catch (CorruptRecordException | CorruptIndexException e) {
                LOG.warn("{}: recovering the active segment despite the clean shutdown marker: {}", dir, e.getMessage());
                recovered++;
                active.recover();
            }
        }
        logEndOffset = active.nextOffset();
        logStartOffset = segments.firstKey();
        flushedOffset = logEndOffset;
        // What is on disk now is validated (or was cleanly closed); record that before anything else.
        active.flush();
        persistedRecoveryPoint = -1;
        writeRecoveryPoint(active.baseOffset());
        Files.deleteIfExists(marker);
        fsyncDir();
        LOG.info("{}: opened {} segments, offsets [{}, {}), {} shutdown, {} segments recovered in {} ms", dir,
                segments.size(), logStartOffset, logEndOffset, clean ? "clean" : bases.isEmpty() ? "new log, no" : "unclean", recovered,
                (System.nanoTime() - started) / 1_000_000);
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

    public Path dir() {
        return dir;
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

    /** Offset below which data is known to be fsynced. */
    public long flushedOffset() {
        return flushedOffset;
    }

    public int segmentCount() {
        return segments.size();
    }

    /** Total bytes of all segment files. */
    public long sizeInBytes() {
        long total = 0;
        for (LogSegment s : segments.values()) {
            total += s.size();
        }
        return total;
    }

    /** Base offsets of the segments, in order. */
    public List<Long> segmentBaseOffsets() {
        return List.copyOf(segments.keySet());
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

    /**
     * Splits and checks batches as every append does (size, header, CRC, at least one record); for callers
     * that must refuse what the log would refuse before handing it on.
     */
    public static List<RecordBatch> checkedBatches(ByteBuffer records, int maxBatchBytes) {
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
            LogSegment segment = maybeRoll(cfg, records.remaining(), maxTimestamp, next - 1);
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

    private LogSegment maybeRoll(LogConfig cfg, int incomingBytes, long incomingMaxTimestamp, long lastOffset) throws IOException {
        LogSegment active = segments.lastEntry().getValue();
        if (active.size() == 0) {
            return active;
        }
        String reason = null;
        if ((long) active.size() + incomingBytes > cfg.segmentBytes()) {
            reason = "segment.bytes";
        } else if (active.rollingBasedTimestamp() >= 0 && incomingMaxTimestamp >= 0
                && incomingMaxTimestamp - active.rollingBasedTimestamp() > cfg.segmentMs()) {
            reason = "segment.ms";
        } else if (active.indexesFull()) {
            reason = "full index";
        } else if (lastOffset - active.baseOffset() > Integer.MAX_VALUE) {
            reason = "relative offset overflow";
        }
        if (reason == null) {
            return active;
        }
        return roll(reason);
    }

    /** Closes the active segment for writes and starts a new one at the log end offset. */
    private LogSegment roll(String reason) throws IOException {
        LogSegment old = segments.lastEntry().getValue();
        long base = logEndOffset;
        old.onBecomeInactive();
        LogSegment fresh = LogSegment.create(dir, base, config.indexIntervalBytes(), config.segmentIndexBytes());
        segments.put(base, fresh);
        LOG.debug("{}: rolled to segment {} ({})", dir, base, reason);
        return fresh;
    }

    /** Starts a new segment now if the active one holds any data (for tests and operators). */
    public void roll() {
        lock.lock();
        try {
            ensureOpen();
            if (segments.lastEntry().getValue().size() > 0) {
                roll("requested");
            }
        } catch (IOException e) {
            throw new StorageException("roll of " + dir + " failed: " + e.getMessage(), e);
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
                Map.Entry<Long, LogSegment> entry = segments.floorEntry(startOffset);
                while (entry != null) {
                    ByteBuffer data = entry.getValue().read(startOffset, maxBytes, upTo);
                    if (data != null) {
                        return new LogReadResult(data, start, end);
                    }
                    entry = segments.higherEntry(entry.getKey());
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
        try {
            long start = logStartOffset;
            for (LogSegment segment : segments.values()) {
                if (segment.maxTimestamp() < timestamp) {
                    continue;
                }
                Record r = segment.findRecordByTimestamp(timestamp, start);
                if (r != null) {
                    return Optional.of(new TimestampAndOffset(r.timestamp(), r.offset()));
                }
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new StorageException("timestamp lookup in " + dir + " failed: " + e.getMessage(), e);
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
            for (Long base : new ArrayList<>(segments.tailMap(offset, false).keySet())) {
                LogSegment gone = segments.remove(base);
                if (gone.baseOffset() >= offset) {
                    gone.delete();
                } else {
                    segments.put(base, gone);
                }
            }
            LogSegment last = segments.lastEntry().getValue();
            if (!last.isActive()) {
                last.activate();
            }
            last.truncateTo(offset);
            if (last.size() == 0 && segments.size() > 1) {
                // The segment lost all its data: keep its file as the (empty) active segment.
                logEndOffset = last.baseOffset();
            } else {
                logEndOffset = last.nextOffset();
            }
            flushedOffset = Math.min(flushedOffset, logEndOffset);
            truncations++;
            if (persistedRecoveryPoint > logEndOffset) {
                writeRecoveryPoint(last.baseOffset());
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
            for (LogSegment s : segments.values()) {
                s.delete();
            }
            segments.clear();
            segments.put(offset, LogSegment.create(dir, offset, config.indexIntervalBytes(), config.segmentIndexBytes()));
            logEndOffset = offset;
            logStartOffset = offset;
            flushedOffset = offset;
            truncations++;
            writeRecoveryPoint(offset);
            return offset;
        } catch (IOException e) {
            throw new StorageException("truncation of " + dir + " failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Fsyncs all data below {@code offset}. Closed segments are fsynced with their indexes, after which the
     * recovery point moves past them, so a crash re-validates only the segments after it.
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
        lock.lock();
        try {
            ensureOpen();
            target = Math.min(offset, logEndOffset);
            if (target <= flushedOffset) {
                return;
            }
            Long floor = segments.floorKey(flushedOffset);
            long from = floor == null ? segments.firstKey() : floor;
            long recoveryPoint = persistedRecoveryPoint;
            for (LogSegment s : segments.subMap(from, true, target, false).values()) {
                if (s.isActive()) {
                    active = s;
                } else {
                    s.flush();
                    Long next = segments.higherKey(s.baseOffset());
                    if (next != null && next <= target) {
                        recoveryPoint = Math.max(recoveryPoint, next);
                    }
                }
            }
            if (recoveryPoint > persistedRecoveryPoint) {
                writeRecoveryPoint(recoveryPoint);
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
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Deletes closed segments that retention.ms or retention.bytes have expired, oldest first. The active
     * segment is never deleted (so replicas keep identical segment boundaries); it expires once it rolls.
     *
     * @return how many segments were deleted
     */
    public int deleteExpiredSegments() {
        return deleteExpiredSegments(Long.MAX_VALUE);
    }

    /**
     * As {@link #deleteExpiredSegments()}, but never deletes a segment holding offsets at or above
     * {@code maxOffset} (a replicated log passes its high watermark: uncommitted records are not retention's).
     */
    public int deleteExpiredSegments(long maxOffset) {
        lock.lock();
        try {
            ensureOpen();
            LogConfig cfg = config;
            long now = time.milliseconds();
            long excess = cfg.retentionBytes() < 0 ? Long.MIN_VALUE : sizeInBytes() - cfg.retentionBytes();
            int deleted = 0;
            while (segments.size() > 1) {
                LogSegment oldest = segments.firstEntry().getValue();
                long newest = oldest.maxTimestamp();
                if (newest < 0) {
                    newest = oldest.lastModifiedMs();
                }
                boolean expiredByTime = cfg.retentionMs() >= 0 && now - newest > cfg.retentionMs();
                boolean expiredBySize = cfg.retentionBytes() >= 0 && excess - oldest.size() >= 0;
                if (!expiredByTime && !expiredBySize) {
                    break;
                }
                long nextBase = segments.higherKey(oldest.baseOffset());
                if (nextBase > maxOffset) {
                    break;
                }
                logStartOffset = nextBase;
                segments.remove(oldest.baseOffset());
                oldest.delete();
                excess -= oldest.size();
                deleted++;
                LOG.info("{}: deleted segment {} by {}; log start offset is now {}", dir, oldest.baseOffset(),
                        expiredByTime ? "retention.ms" : "retention.bytes", nextBase);
            }
            return deleted;
        } catch (IOException e) {
            throw new StorageException("retention on " + dir + " failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
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
            for (LogSegment s : segments.values()) {
                s.flush();
                s.close();
            }
            closed = true;
            writeRecoveryPoint(logEndOffset);
            Files.write(dir.resolve(LogFiles.CLEAN_SHUTDOWN_FILE), new byte[0]);
            fsyncDir();
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
            closeQuietly();
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
            closeQuietly();
        } finally {
            lock.unlock();
        }
    }

    /** Closes file handles without flushing or marking a clean shutdown: what a crash leaves behind. */
    void closeQuietly() {
        closed = true;
        for (LogSegment s : segments.values()) {
            try {
                s.close();
            } catch (IOException | RuntimeException e) {
                LOG.debug("{}: error closing segment {}", dir, s, e);
            }
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new StorageException("partition log " + dir + " is closed");
        }
    }

    private long readRecoveryPoint() {
        Path file = dir.resolve(LogFiles.RECOVERY_POINT_FILE);
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

    /** Writes "version\noffset\n" atomically: temp file, fsync, rename, fsync the folder. */
    private void writeRecoveryPoint(long offset) throws IOException {
        Path file = dir.resolve(LogFiles.RECOVERY_POINT_FILE);
        Path tmp = dir.resolve(LogFiles.RECOVERY_POINT_FILE + LogFiles.TMP_SUFFIX);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(("0\n" + offset + "\n").getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsyncDir();
        persistedRecoveryPoint = offset;
    }

    private void fsyncDir() {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some file systems do not allow opening a directory; the rename is still atomic there.
            LOG.debug("{}: cannot fsync directory: {}", dir, e.toString());
        }
    }

    @Override
    public String toString() {
        return "PartitionLog(" + dir + ", [" + logStartOffset + ", " + logEndOffset + "), " + segments.size() + " segments)";
    }
}
