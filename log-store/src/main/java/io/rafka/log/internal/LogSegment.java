package io.rafka.log.internal;

import io.rafka.common.CorruptRecordException;
import io.rafka.common.RafkaException;
import io.rafka.log.ReadBuffers;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * One segment of a partition log: {@code <baseOffset>.log} with its sparse {@code .index} and
 * {@code .timeindex}, byte-compatible with Kafka's.
 *
 * <p><b>Indexing rule</b> (Kafka's, so the files match what Kafka would write for the same batches):
 * batches are considered one at a time; when more than {@code index.interval.bytes} have been appended
 * since the last indexed batch started, the batch about to be written is indexed with its last offset and
 * start position, and the time index gets the segment's running max timestamp with the last offset of the
 * first batch that carried it. The first batch of a segment is never indexed. The state behind the rule
 * (bytes since the last entry, running max timestamp) is recomputed from the files after a restart or a
 * truncation, so replicas that applied the same batches write the same index bytes.
 *
 * <p><b>Crashes:</b> the log file is appended in place and fsynced by {@link #flush()}; a torn tail is
 * found and cut by {@link #recover}, which re-validates every batch's CRC and rebuilds both indexes.
 *
 * <p><b>Threads:</b> one writer (the partition's appender, holding the partition lock) and any number of
 * readers; readers only read below the published {@link #size()}.
 */
public final class LogSegment implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(LogSegment.class);

    private final Path dir;
    private final long baseOffset;
    private final int indexIntervalBytes;
    private final int maxIndexSize;
    private final FileChannel channel;
    private final Path logFile;
    private volatile int size;

    private OffsetIndex offsetIndex;
    private TimeIndex timeIndex;
    private boolean active;

    // Appender state, recomputed from the files by loadAppendState().
    private int bytesSinceLastIndexEntry;
    private volatile long maxTimestampSoFar = RecordBatch.NO_TIMESTAMP;
    private long offsetOfMaxTimestampSoFar;
    private long rollingBasedTimestamp = RecordBatch.NO_TIMESTAMP;
    private volatile long nextOffset = -1;

    private LogSegment(Path dir, long baseOffset, int indexIntervalBytes, int maxIndexSize, FileChannel channel, int size) {
        this.dir = dir;
        this.baseOffset = baseOffset;
        this.indexIntervalBytes = indexIntervalBytes;
        this.maxIndexSize = maxIndexSize;
        this.channel = channel;
        this.logFile = LogFiles.logFile(dir, baseOffset);
        this.size = size;
    }

    /** Creates a new, empty, active segment. */
    public static LogSegment create(Path dir, long baseOffset, int indexIntervalBytes, int maxIndexSize) throws IOException {
        Path log = LogFiles.logFile(dir, baseOffset);
        FileChannel ch = FileChannel.open(log, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Files.deleteIfExists(LogFiles.offsetIndexFile(dir, baseOffset));
        Files.deleteIfExists(LogFiles.timeIndexFile(dir, baseOffset));
        LogSegment s = new LogSegment(dir, baseOffset, indexIntervalBytes, maxIndexSize, ch, 0);
        s.active = true;
        s.offsetIndex = new OffsetIndex(LogFiles.offsetIndexFile(dir, baseOffset), baseOffset, maxIndexSize, true);
        s.timeIndex = new TimeIndex(LogFiles.timeIndexFile(dir, baseOffset), baseOffset, maxIndexSize, true);
        s.nextOffset = baseOffset;
        return s;
    }

    /**
     * Opens an existing segment without reading its data. Indexes of inactive segments are mapped lazily;
     * call {@link #sanityCheck()} to validate them or {@link #recover} to rebuild them.
     */
    public static LogSegment open(Path dir, long baseOffset, int indexIntervalBytes, int maxIndexSize) throws IOException {
        Path log = LogFiles.logFile(dir, baseOffset);
        FileChannel ch = FileChannel.open(log, StandardOpenOption.READ, StandardOpenOption.WRITE);
        long length = ch.size();
        if (length > Integer.MAX_VALUE) {
            ch.close();
            throw new IOException("segment " + log + " is larger than 2 GiB");
        }
        return new LogSegment(dir, baseOffset, indexIntervalBytes, maxIndexSize, ch, (int) length);
    }

    public long baseOffset() {
        return baseOffset;
    }

    public int size() {
        return size;
    }

    public boolean isActive() {
        return active;
    }

    /** The offset after the last batch, or -1 if not known (an inactive segment opened without a scan). */
    public long nextOffset() {
        return nextOffset;
    }

    /** Largest batch timestamp in the segment, or -1 if none has one. */
    public long maxTimestamp() throws IOException {
        long max = maxTimestampSoFar;
        if (max == RecordBatch.NO_TIMESTAMP && !active) {
            max = timeIndex().lastEntry().timestamp();
        }
        return max;
    }

    /** When the segment was last written, for retention of segments whose batches carry no timestamp. */
    public long lastModifiedMs() throws IOException {
        return Files.getLastModifiedTime(logFile).toMillis();
    }

    private synchronized OffsetIndex offsetIndex() throws IOException {
        if (offsetIndex == null) {
            Path f = LogFiles.offsetIndexFile(dir, baseOffset);
            offsetIndex = new OffsetIndex(f, baseOffset, maxIndexSize, active || !Files.exists(f));
        }
        return offsetIndex;
    }

    private synchronized TimeIndex timeIndex() throws IOException {
        if (timeIndex == null) {
            Path f = LogFiles.timeIndexFile(dir, baseOffset);
            timeIndex = new TimeIndex(f, baseOffset, maxIndexSize, active || !Files.exists(f));
        }
        return timeIndex;
    }

    /** True if the indexes have no room for another entry: the log must roll. */
    public boolean indexesFull() throws IOException {
        return offsetIndex().isFull() || timeIndex().isFull();
    }

    /** The max timestamp of the first batch, on which the age-based roll is measured; -1 if empty. */
    public long rollingBasedTimestamp() {
        return rollingBasedTimestamp;
    }

    /**
     * Checks the index files of a cleanly closed segment without reading the log: files present, lengths
     * whole entries, entries ordered and inside the segment.
     *
     * @throws CorruptIndexException if they cannot be trusted
     */
    public void sanityCheck() throws IOException {
        for (Path p : List.of(LogFiles.offsetIndexFile(dir, baseOffset), LogFiles.timeIndexFile(dir, baseOffset))) {
            if (!Files.exists(p)) {
                throw new CorruptIndexException("missing index file " + p);
            }
            long len = Files.size(p);
            int entrySize = p.toString().endsWith(LogFiles.INDEX_SUFFIX) ? OffsetIndex.ENTRY_SIZE : TimeIndex.ENTRY_SIZE;
            if (len % entrySize != 0) {
                throw new CorruptIndexException("index " + p + " has a partial entry (" + len + " bytes)");
            }
        }
        offsetIndex().sanityCheck();
        timeIndex().sanityCheck();
        OffsetIndex.Entry last = offsetIndex().lastEntry();
        if (last.position() > 0 && last.position() + RecordBatch.HEADER_SIZE > size) {
            throw new CorruptIndexException("offset index " + offsetIndex().file() + " points past the end of the log");
        }
    }

    /**
     * Makes this the active segment after a clean open: maps its indexes writable and recomputes the
     * appender state by reading batch headers from the last index entry to the end.
     */
    public void activate() throws IOException {
        synchronized (this) {
            active = true;
            if (offsetIndex != null) {
                offsetIndex.resize(maxIndexSize);
            }
            if (timeIndex != null) {
                timeIndex.resize(maxIndexSize);
            }
        }
        offsetIndex();
        timeIndex();
        loadAppendState();
    }

    /** Recomputes the indexing and roll state from the indexes plus a scan of the batches after them. */
    private void loadAppendState() throws IOException {
        OffsetIndex.Entry lastEntry = offsetIndex.lastEntry();
        bytesSinceLastIndexEntry = offsetIndex.entries() == 0 ? size : size - lastEntry.position();
        TimeIndex.Entry lastTime = timeIndex.lastEntry();
        long maxTs = lastTime.timestamp();
        long offsetOfMax = lastTime.offset();
        int scanFrom = timeIndex.entries() == 0 ? 0 : offsetIndex.lookup(lastTime.offset()).position();
        HeaderScanner scanner = new HeaderScanner(channel, scanFrom, size);
        long next = baseOffset;
        for (BatchHeader h = scanner.next(); h != null; h = scanner.next()) {
            if (h.maxTimestamp() > maxTs) {
                maxTs = h.maxTimestamp();
                offsetOfMax = h.lastOffset();
            }
            next = h.nextOffset();
        }
        if (scanner.position() != size) {
            throw new CorruptRecordException("segment " + logFile + " has an unreadable batch at position "
                    + scanner.position() + " before its end at " + size);
        }
        maxTimestampSoFar = maxTs;
        offsetOfMaxTimestampSoFar = offsetOfMax;
        rollingBasedTimestamp = size == 0 ? RecordBatch.NO_TIMESTAMP : firstBatchMaxTimestamp();
        nextOffset = size == 0 ? baseOffset : next;
    }

    private long firstBatchMaxTimestamp() throws IOException {
        BatchHeader first = new HeaderScanner(channel, 0, size).next();
        return first == null ? RecordBatch.NO_TIMESTAMP : first.maxTimestamp();
    }

    /**
     * Appends batches whose offsets are already assigned. {@code batches} holds them back to back, in the
     * same order as {@code parsed}.
     */
    public void append(ByteBuffer batches, List<RecordBatch> parsed) throws IOException {
        if (!active) {
            throw new IllegalStateException("segment " + baseOffset + " is not active");
        }
        if (parsed.isEmpty()) {
            return;
        }
        long lastOffset = parsed.get(parsed.size() - 1).lastOffset();
        if (lastOffset - baseOffset > Integer.MAX_VALUE || parsed.get(0).baseOffset() < baseOffset) {
            throw new IllegalStateException("offsets " + parsed.get(0).baseOffset() + ".." + lastOffset
                    + " do not fit segment " + baseOffset);
        }
        int position = size;
        ByteBuffer src = batches.duplicate();
        long total = src.remaining();
        if ((long) position + total > Integer.MAX_VALUE) {
            throw new IllegalStateException("segment " + baseOffset + " would exceed 2 GiB");
        }
        int written = 0;
        try {
            while (src.hasRemaining()) {
                written += channel.write(src, position + written);
            }
        } catch (IOException e) {
            // A write cut short (the disk filled up mid-batch) leaves part of a batch past the segment's end: cut it,
            // so the next append starts from a clean end and the file never holds bytes no replica has (cutting
            // frees blocks and needs none).
            if (written > 0 || channel.size() > position) {
                try {
                    channel.truncate(position);
                } catch (IOException cut) {
                    e.addSuppressed(cut);
                }
            }
            throw e;
        }
        try {
            index(parsed, position);
        } catch (IOException e) {
            // An index entry the disk refused (it is full: the index files are sparse until written). The new size is
            // not published yet: cut the records and the entries written for them, and fail the append as the disk
            // refusing it, which the caller handles.
            long first = parsed.get(0).baseOffset();
            offsetIndex.truncateTo(first);
            timeIndex.truncateTo(first);
            try {
                channel.truncate(position);
                loadAppendState();  // the indexing rule's counters as the segment now ends
            } catch (IOException | RuntimeException cut) {
                e.addSuppressed(cut);
            }
            throw e;
        }
    }

    /** Applies the indexing rule to batches just placed at {@code position} and publishes the new size. */
    private void index(List<RecordBatch> parsed, int position) throws IOException {
        if (position == 0) {
            rollingBasedTimestamp = parsed.get(0).maxTimestamp();
        }
        for (RecordBatch batch : parsed) {
            if (batch.maxTimestamp() > maxTimestampSoFar) {
                maxTimestampSoFar = batch.maxTimestamp();
                offsetOfMaxTimestampSoFar = batch.lastOffset();
            }
            // A full index skips the entry (the index is sparse; lookups scan from the entry before) rather than
            // fail an append whose bytes are already written; the next append rolls the segment.
            if (bytesSinceLastIndexEntry > indexIntervalBytes && !offsetIndex.isFull() && !timeIndex.isFull()) {
                offsetIndex.append(batch.lastOffset(), position);
                timeIndex.maybeAppend(maxTimestampSoFar, offsetOfMaxTimestampSoFar, false);
                bytesSinceLastIndexEntry = 0;
            }
            position += batch.sizeInBytes();
            bytesSinceLastIndexEntry += batch.sizeInBytes();
        }
        size = position;
        nextOffset = parsed.get(parsed.size() - 1).lastOffset() + 1;
    }

    /**
     * The first batch whose last offset is at least {@code offset}, scanning from the index entry below
     * it; null if every batch ends before {@code offset}.
     */
    private BatchHeader translateOffset(long offset) throws IOException {
        int limit = size;
        int start = offsetIndex().lookup(offset).position();
        HeaderScanner scanner = new HeaderScanner(channel, start, limit);
        for (BatchHeader h = scanner.next(); h != null; h = scanner.next()) {
            if (h.lastOffset() >= offset) {
                return h;
            }
        }
        if (scanner.stoppedShort()) {
            throw damagedHeader(limit);
        }
        return null;
    }

    /**
     * A batch header (where one must start) that cannot be right, found by a scan that began at an index entry:
     * where the first such header of the segment is, and at which offset, from a scan of the whole segment.
     * Without this, a scan stopping there would read as "no batch here" and a read would go on with the next
     * segment, skipping the rest of this one without a word.
     */
    private DamagedHeaderException damagedHeader(int limit) throws IOException {
        HeaderScanner scanner = new HeaderScanner(channel, 0, limit);
        long next = baseOffset;
        for (BatchHeader h = scanner.next(); h != null; h = scanner.next()) {
            next = h.nextOffset();
        }
        return new DamagedHeaderException("segment " + logFile + " has a damaged batch header at position "
                + scanner.position() + " (offset " + next + ")", next);
    }

    /** A damaged batch header in a segment; {@link #offset} is where the batch there should have started. */
    public static final class DamagedHeaderException extends CorruptRecordException {
        private final long offset;

        DamagedHeaderException(String message, long offset) {
            super(message);
            this.offset = offset;
        }

        public long offset() {
            return offset;
        }
    }

    /**
     * Reads whole batches starting with the one that holds {@code startOffset}, stopping before the first
     * batch that ends at or after {@code maxOffset} (the high watermark) and within {@code maxBytes}, except that the
     * first batch is returned whole even when larger, so a consumer always makes progress.
     *
     * @param buffers where the bytes go
     * @return the bytes, or null if this segment has no batch ending at or after {@code startOffset}
     */
    public ByteBuffer read(long startOffset, int maxBytes, long maxOffset, ReadBuffers buffers) throws IOException {
        int limit = size;
        BatchHeader first = translateOffset(startOffset);
        if (first == null || first.lastOffset() >= maxOffset) {
            return first == null ? null : ByteBuffer.allocate(0);
        }
        int want = Math.max(first.size(), Math.min(maxBytes, limit - first.position()));
        ByteBuffer buf = buffers.allocate(want);
        readFully(buf, first.position());
        buf.flip();
        // Cut at the last whole batch below maxOffset.
        int end = 0;
        while (buf.limit() - end >= RecordBatch.HEADER_SIZE) {
            long batchLast = buf.getLong(end + RecordBatch.BASE_OFFSET_OFFSET)
                    + buf.getInt(end + RecordBatch.LAST_OFFSET_DELTA_OFFSET);
            long batchSize = (long) buf.getInt(end + RecordBatch.LENGTH_OFFSET) + RecordBatch.LOG_OVERHEAD;
            if (batchLast >= maxOffset || batchSize < RecordBatch.HEADER_SIZE || end + batchSize > buf.limit()) {
                break;
            }
            end += (int) batchSize;
        }
        buf.limit(end);
        return buf.slice();
    }

    /** Reads {@code size} bytes at {@code position} of the log file. */
    private ByteBuffer readBytes(int position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        readFully(buf, position);
        buf.flip();
        return buf;
    }

    private void readFully(ByteBuffer buf, int position) throws IOException {
        int start = position;
        while (buf.hasRemaining()) {
            int n = channel.read(buf, start + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of " + logFile + " at " + (start + buf.position()));
            }
        }
    }

    /**
     * The first record at or after {@code startingOffset} whose timestamp is at least {@code timestamp},
     * found through the time index and a scan of the batches after it; null if none in this segment.
     */
    public Record findRecordByTimestamp(long timestamp, long startingOffset) throws IOException {
        TimeIndex.Entry entry = timeIndex().lookup(timestamp);
        long from = Math.max(entry.offset(), startingOffset);
        int position = offsetIndex().lookup(from).position();
        int limit = size;
        HeaderScanner scanner = new HeaderScanner(channel, position, limit);
        for (BatchHeader h = scanner.next(); h != null; h = scanner.next()) {
            if (h.lastOffset() < startingOffset || h.maxTimestamp() < timestamp) {
                continue;
            }
            RecordBatch batch = new RecordBatch(readBytes(h.position(), h.size()));
            for (Record r : batch.records()) {
                if (r.offset() >= startingOffset && r.timestamp() >= timestamp) {
                    return r;
                }
            }
        }
        if (scanner.stoppedShort()) {
            throw damagedHeader(limit);
        }
        return null;
    }

    /**
     * Re-validates every batch (CRC, offsets contiguous from the base offset) from the start, rebuilds both indexes, and cuts
     * the file at the first batch that is torn or corrupt.
     *
     * @return the number of bytes cut from the end
     */
    public int recover() throws IOException {
        synchronized (this) {
            // Old mappings are dropped, not unmapped: concurrent readers may still hold them (see AbstractIndex).
            if (offsetIndex != null) {
                offsetIndex.release();
            }
            if (timeIndex != null) {
                timeIndex.release();
            }
            offsetIndex = null;
            timeIndex = null;
            Files.deleteIfExists(LogFiles.offsetIndexFile(dir, baseOffset));
            Files.deleteIfExists(LogFiles.timeIndexFile(dir, baseOffset));
            active = true;
        }
        offsetIndex();
        timeIndex();
        int fileSize = size;
        size = 0;
        bytesSinceLastIndexEntry = 0;
        maxTimestampSoFar = RecordBatch.NO_TIMESTAMP;
        rollingBasedTimestamp = RecordBatch.NO_TIMESTAMP;
        nextOffset = baseOffset;
        return validateFrom(0, fileSize);
    }

    /**
     * Recovery that trusts what a recovery point inside this segment vouches for: its first {@code trusted.bytes()}
     * bytes (offsets below {@code trustedNextOffset}) and index entries were fsynced before the point was written,
     * so only the batches after them are re-validated and indexed, the same way {@link #recover()} does. When the
     * files do not agree with the point (shorter, index entries missing or past it), falls back to {@link #recover()}.
     *
     * @return the number of bytes cut from the end
     */
    public int recoverFrom(long trustedNextOffset, RecoveryPointCheckpoint.Position trusted) throws IOException {
        if (trusted.segmentBase() != baseOffset) {
            throw new IllegalArgumentException("position " + trusted + " is not in segment " + baseOffset);
        }
        int fileSize = size;
        String mismatch = null;
        if (trusted.bytes() > fileSize) {
            mismatch = "the file has " + fileSize + " bytes, fewer than the " + trusted.bytes() + " fsynced";
        } else {
            synchronized (this) {
                active = true;
            }
            try {
                mismatch = keepTrustedPrefix(trustedNextOffset, trusted);
            } catch (CorruptIndexException | CorruptRecordException e) {
                mismatch = e.getMessage();
            }
        }
        if (mismatch != null) {
            LOG.warn("Segment {}: re-validating it whole, its recovery point does not hold: {}", logFile, mismatch);
            size = fileSize;
            return recover();
        }
        return validateFrom(trusted.bytes(), fileSize);
    }

    /** Cuts the indexes to the trusted entries and loads the appender state at the trusted end; null if that worked. */
    private String keepTrustedPrefix(long trustedNextOffset, RecoveryPointCheckpoint.Position trusted) throws IOException {
        OffsetIndex offsets = offsetIndex();
        TimeIndex times = timeIndex();
        if (offsets.entries() < trusted.offsetIndexEntries() || times.entries() < trusted.timeIndexEntries()) {
            return "the indexes hold fewer entries than were fsynced";
        }
        offsets.truncateEntries(trusted.offsetIndexEntries());
        times.truncateEntries(trusted.timeIndexEntries());
        offsets.sanityCheck();
        times.sanityCheck();
        if (offsets.entries() > 0 && (offsets.lastEntry().position() >= trusted.bytes()
                || offsets.lastEntry().offset() >= trustedNextOffset)) {
            return "the offset index points past the trusted bytes";
        }
        if (times.entries() > 0 && times.lastEntry().offset() >= trustedNextOffset) {
            return "the time index points past the trusted bytes";
        }
        size = trusted.bytes();
        loadAppendState();
        if (nextOffset != trustedNextOffset) {
            return "the trusted bytes end at offset " + nextOffset + ", not " + trustedNextOffset;
        }
        return null;
    }

    /**
     * Validates and indexes the batches from {@code position} (a batch boundary the appender state stands at) to
     * {@code fileSize}, cutting the file at the first torn or corrupt one.
     *
     * @return the number of bytes cut from the end
     */
    private int validateFrom(int position, int fileSize) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(RecordBatch.LOG_OVERHEAD);
        String stopReason = null;
        EpochOrder epochs = new EpochOrder();
        if (position > 0) {
            // After a trusted prefix (a recovery point inside this segment): its last batch starts the epoch order.
            BatchHeader last = lastBatchBefore(nextOffset);
            if (last != null) {
                epochs.next(last.baseOffset(), epochAt(last.position()));
            }
        }
        long epochDamageAt = -1;
        while (position < fileSize) {
            BatchAt at = intactBatchAt(header, position, fileSize, nextOffset);
            if (at.damage() != null) {
                stopReason = at.damage();
                break;
            }
            String misordered = epochs.next(at.batch());
            if (misordered != null) {
                stopReason = misordered + " at position " + position;
                epochDamageAt = epochs.damagedFrom();
                break;
            }
            index(List.of(at.batch()), position);
            position += at.batch().sizeInBytes();
        }
        int truncated = fileSize - position;
        if (truncated > 0) {
            LOG.warn("Segment {}: cutting {} bytes at position {} during recovery ({})", logFile, truncated, position, stopReason);
            channel.truncate(position);
        }
        size = position;
        if (epochDamageAt >= 0 && epochDamageAt < nextOffset) {
            // The higher batch before is cut too: either of the two may hold the flipped bit (see EpochOrder).
            truncated += truncateTo(epochDamageAt);
            LOG.warn("Segment {}: cutting from offset {} on, the batch whose epoch is above a later one's", logFile,
                    epochDamageAt);
        }
        return truncated;
    }

    /**
     * Checks that batches' partition leader epochs never go down along a segment, the one field of a batch header
     * that neither the CRC covers nor offsets or lengths give away. Replicas stamp each batch with the Raft term of
     * the entry that carries it, and terms only grow along a Raft log, so a lower epoch after a higher one is a
     * flipped bit: in the later batch (a bit cleared) or in the earlier one (a bit set); a single flip cannot tell
     * which, so both are treated as damaged, from the earlier one on. A negative epoch other than -1 (none) is
     * damage too. A flip in the first or last batch of a segment may go unseen: epochs are not compared across
     * segments, so that a recovery that re-validates a segment on its own (as the reopen after a scrub's finding
     * does) finds whatever a scrub finds; a scrub step or a recovery that starts inside a segment reads the epoch
     * of the batch before it first. Also unseen: a raised epoch still at or below the next batch's (the last batch
     * of a term, raised toward the next term), and a lowered one still at or above the batch before it.
     */
    static final class EpochOrder {
        private int highest = RecordBatch.NO_PARTITION_LEADER_EPOCH;
        /** The base offset of the last batch read with the {@code highest} epoch. */
        private long highestBase = -1;
        private long damagedFrom = -1;

        /** Takes the next batch; returns why its epoch is damaged, or null. Then see {@link #damagedFrom}. */
        String next(RecordBatch batch) {
            return next(batch.baseOffset(), batch.partitionLeaderEpoch());
        }

        /** {@link #next(RecordBatch)} for the batch at {@code base} with {@code epoch}. */
        String next(long base, int epoch) {
            if (epoch < RecordBatch.NO_PARTITION_LEADER_EPOCH) {
                damagedFrom = base;
                return "batch offset " + base + " has partition leader epoch " + epoch;
            }
            if (epoch >= 0 && epoch < highest) {
                damagedFrom = highestBase;
                return "batch offset " + base + " has partition leader epoch " + epoch + ", below the " + highest
                        + " of the batch at offset " + highestBase + " before it";
            }
            if (epoch >= 0) {
                highest = epoch;
                highestBase = base;
            }
            return null;
        }

        /** Where the damage {@link #next} reported starts: the misordered batch, or the higher one before it. */
        long damagedFrom() {
            return damagedFrom;
        }
    }

    /** The batch at a position, or why the bytes there are not an intact batch (then {@code batch} is null). */
    private record BatchAt(RecordBatch batch, String damage) {
        static BatchAt damaged(String reason, int position) {
            return new BatchAt(null, reason + " at position " + position);
        }
    }

    /**
     * Reads the batch at {@code position} and checks it as recovery does: a whole header and a plausible length
     * within {@code end}, its CRC, and offsets that start at {@code expectedOffset} (the end of the batch before,
     * or the segment's base) and stay within this segment's relative-offset range. The CRC does not cover the
     * offset field, so the offset check is what catches damage there.
     */
    private BatchAt intactBatchAt(ByteBuffer header, int position, int end, long expectedOffset) throws IOException {
        if (end - position < RecordBatch.HEADER_SIZE) {
            return BatchAt.damaged("torn batch header", position);
        }
        header.clear();
        readFully(header, position);
        int batchLength = header.getInt(RecordBatch.LENGTH_OFFSET);
        long batchSize = (long) batchLength + RecordBatch.LOG_OVERHEAD;
        if (!HeaderScanner.plausibleLength(batchLength) || position + batchSize > end) {
            return BatchAt.damaged("batch length " + batchLength + " is impossible or past the end of the data", position);
        }
        RecordBatch batch = new RecordBatch(readBytes(position, (int) batchSize));
        try {
            batch.ensureValid();
        } catch (RafkaException e) {
            return BatchAt.damaged(e.getMessage(), position);
        }
        if (batch.baseOffset() != expectedOffset || batch.lastOffset() - baseOffset > Integer.MAX_VALUE) {
            return BatchAt.damaged("batch offset " + batch.baseOffset() + " does not follow the previous batch's end "
                    + expectedOffset, position);
        }
        return new BatchAt(batch, null);
    }

    /** What {@link #check} read: up to which offset the batches are intact, and the first damaged one if any. */
    public record Checked(long nextOffset, long bytes, boolean reachedEnd, long damagedOffset, String damage,
                          long confirmBytes) {
        public Checked(long nextOffset, long bytes, boolean reachedEnd, long damagedOffset, String damage) {
            this(nextOffset, bytes, reachedEnd, damagedOffset, damage, 1);
        }

        /** How many bytes from {@code damagedOffset} on a second look at the damage reads (0 if none). */
        public long confirmBytes() {
            return damage == null ? 0 : confirmBytes;
        }

        public boolean damaged() {
            return damage != null;
        }
    }

    /**
     * Reads the batches from the one holding {@code fromOffset} on, as recovery does (CRC, plausible length,
     * offsets following each other, epochs never going down: {@link EpochOrder}), without changing anything: stops after {@code maxBytes} or at the end of
     * what was written when it started, or at the first damaged batch. Reads run beside appends; a truncation
     * meanwhile can make intact bytes look damaged, so callers confirm a finding with no truncation running.
     */
    public Checked check(long fromOffset, long maxBytes) throws IOException {
        int end = size;
        BatchHeader first;
        try {
            first = translateOffset(fromOffset);
        } catch (DamagedHeaderException e) {
            return new Checked(Math.min(fromOffset, e.offset()), 0, false, e.offset(), e.getMessage());
        }
        if (first == null) {
            return new Checked(fromOffset, 0, true, -1, null);
        }
        int position = first.position();
        if (first.baseOffset() > fromOffset) {
            // Offsets are contiguous from the segment's base, and callers start at a batch's end or the base.
            return new Checked(fromOffset, 0, false, fromOffset, "batch offset " + first.baseOffset() + " at position " + position
                    + " does not follow the previous batch's end " + fromOffset);
        }
        long expected = first.baseOffset();
        long read = 0;
        EpochOrder epochs = new EpochOrder();
        int highestPosition = -1;
        if (first.baseOffset() > baseOffset) {
            // A scrub goes on where its previous call stopped: the batch before starts the epoch order.
            BatchHeader before = batchBefore(first);
            if (before != null && epochs.next(before.baseOffset(), epochAt(before.position())) == null) {
                highestPosition = before.position();
            }
        }
        ByteBuffer header = ByteBuffer.allocate(RecordBatch.LOG_OVERHEAD);
        while (position < end && read < maxBytes) {
            BatchAt at;
            try {
                at = intactBatchAt(header, position, end, expected);
            } catch (ClosedChannelException e) {
                throw e;
            } catch (IOException e) {
                // A file shorter than what was written to it, or a disk that fails the read.
                at = BatchAt.damaged("read failed (" + e.getMessage() + ")", position);
            }
            if (at.damage() != null) {
                return new Checked(expected, read, false, expected, at.damage());
            }
            String misordered = epochs.next(at.batch());
            if (misordered != null) {
                long from = epochs.damagedFrom();
                int fromPosition = from == at.batch().baseOffset() ? position : highestPosition;
                return new Checked(from, read, false, from, misordered + " at position " + position,
                        position + at.batch().sizeInBytes() - fromPosition);
            }
            if (at.batch().partitionLeaderEpoch() >= 0) {
                highestPosition = position;  // the batch EpochOrder now holds as the highest
            }
            expected = at.batch().lastOffset() + 1;
            position += at.batch().sizeInBytes();
            read += at.batch().sizeInBytes();
        }
        return new Checked(expected, read, position >= end, -1, null);
    }

    /** The batch just before {@code batch} in this segment, or null if its header cannot be found. */
    private BatchHeader batchBefore(BatchHeader batch) throws IOException {
        return lastBatchBefore(batch.baseOffset());
    }

    /** The batch of this segment that ends just before {@code offset}, or null if its header cannot be found. */
    private BatchHeader lastBatchBefore(long offset) throws IOException {
        if (offset <= baseOffset) {
            return null;
        }
        try {
            BatchHeader before = translateOffset(offset - 1);
            return before != null && before.nextOffset() == offset ? before : null;
        } catch (DamagedHeaderException e) {
            return null;
        }
    }

    private int epochAt(int batchPosition) throws IOException {
        ByteBuffer epoch = ByteBuffer.allocate(4);
        readFully(epoch, batchPosition + RecordBatch.PARTITION_LEADER_EPOCH_OFFSET);
        return epoch.getInt(0);
    }

    /**
     * Where this active segment stands (bytes and index entries written), for a recovery point inside it. The
     * caller holds the partition lock, so no append runs meanwhile.
     */
    public RecoveryPointCheckpoint.Position position() throws IOException {
        return new RecoveryPointCheckpoint.Position(baseOffset, size, offsetIndex().entries(), timeIndex().entries());
    }

    /**
     * Removes every batch whose last offset is at least {@code offset}; a batch that straddles
     * {@code offset} is removed whole, so the segment ends at a batch boundary.
     *
     * @return the number of bytes removed
     */
    public int truncateTo(long offset) throws IOException {
        BatchHeader first = translateOffset(offset);
        if (first == null) {
            return 0;
        }
        int removed = size - first.position();
        offsetIndex().truncateTo(first.baseOffset());
        timeIndex().truncateTo(first.baseOffset());
        channel.truncate(first.position());
        size = first.position();
        loadAppendState();
        return removed;
    }

    /**
     * Called when the log rolls past this segment: writes the final time-index entry and trims both
     * indexes to their entries. Afterwards the segment is read-only.
     */
    public synchronized void onBecomeInactive() throws IOException {
        if (!active) {
            return;
        }
        if (maxTimestampSoFar >= 0) {
            timeIndex.maybeAppend(maxTimestampSoFar, offsetOfMaxTimestampSoFar, true);
        }
        offsetIndex.trimToValidSize();
        timeIndex.trimToValidSize();
        active = false;
    }

    /** Fsyncs the log file only (the indexes of the active segment are rebuilt after a crash). */
    public void flushLog() throws IOException {
        channel.force(false);
    }

    /** Fsyncs both index files (what the active segment's indexes hold so far). */
    public void flushIndexes() throws IOException {
        offsetIndex().flush();
        timeIndex().flush();
    }

    /** Fsyncs the log and both index files. */
    public synchronized void flush() throws IOException {
        channel.force(false);
        if (offsetIndex != null) {
            offsetIndex.flush();
        }
        if (timeIndex != null) {
            timeIndex.flush();
        }
    }

    @Override
    public synchronized void close() throws IOException {
        try {
            if (offsetIndex != null) {
                offsetIndex.close();
            }
        } finally {
            try {
                if (timeIndex != null) {
                    timeIndex.close();
                }
            } finally {
                channel.close();
            }
        }
    }

    /** Closes and deletes the segment's files, the log first so a crash never leaves a log without its indexes. */
    public void delete() throws IOException {
        synchronized (this) {
            channel.close();
            if (offsetIndex != null) {
                offsetIndex.release();
            }
            if (timeIndex != null) {
                timeIndex.release();
            }
        }
        Files.deleteIfExists(logFile);
        Files.deleteIfExists(LogFiles.offsetIndexFile(dir, baseOffset));
        Files.deleteIfExists(LogFiles.timeIndexFile(dir, baseOffset));
    }

    @Override
    public String toString() {
        return "LogSegment(base=" + baseOffset + ", size=" + size + ", active=" + active + ")";
    }
}
