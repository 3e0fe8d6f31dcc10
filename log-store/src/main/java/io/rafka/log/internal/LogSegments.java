package io.rafka.log.internal;

import io.rafka.log.LogConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The segments of one partition log, by base offset, and the rule for rolling to a new one; the last
 * segment is the active one, which takes appends.
 *
 * <p><b>Threads:</b> the partition log changes the set only under its lock; readers walk it without a lock
 * (a skip list: lookups see a consistent map at every step), so a reader can find a segment that is deleted
 * a moment later and must treat a closed channel as "look again".
 */
public final class LogSegments {
    private static final Logger LOG = LoggerFactory.getLogger(LogSegments.class);

    private final ConcurrentNavigableMap<Long, LogSegment> segments = new ConcurrentSkipListMap<>();

    public void add(LogSegment segment) {
        segments.put(segment.baseOffset(), segment);
    }

    public LogSegment remove(long baseOffset) {
        return segments.remove(baseOffset);
    }

    public boolean isEmpty() {
        return segments.isEmpty();
    }

    public int count() {
        return segments.size();
    }

    /** The segment receiving appends. */
    public LogSegment active() {
        return segments.lastEntry().getValue();
    }

    /** The segment with the lowest base offset. */
    public LogSegment first() {
        return segments.firstEntry().getValue();
    }

    /** The segment that would hold {@code offset}: the one with the largest base offset at most it, or null. */
    public LogSegment floor(long offset) {
        Map.Entry<Long, LogSegment> e = segments.floorEntry(offset);
        return e == null ? null : e.getValue();
    }

    /** The segment after the one based at {@code baseOffset}, or null. */
    public LogSegment higher(long baseOffset) {
        Map.Entry<Long, LogSegment> e = segments.higherEntry(baseOffset);
        return e == null ? null : e.getValue();
    }

    /** The base offset of the segment after the one based at {@code baseOffset}, or null if it is the last. */
    public Long nextBaseOffset(long baseOffset) {
        return segments.higherKey(baseOffset);
    }

    /** The segments, oldest first; a live view. */
    public Collection<LogSegment> all() {
        return segments.values();
    }

    /** The segments whose base offsets lie in {@code [from, to)}, oldest first; a live view. */
    public Collection<LogSegment> range(long from, long to) {
        return segments.subMap(from, true, to, false).values();
    }

    /** Deletes the segments based after {@code offset}. */
    public void deleteAfter(long offset) throws IOException {
        for (LogSegment gone : new ArrayList<>(segments.tailMap(offset, false).values())) {
            segments.remove(gone.baseOffset());
            gone.delete();
        }
    }

    /**
     * The segment an append of {@code incomingBytes} (batches up to {@code lastOffset}, newest timestamp
     * {@code incomingMaxTimestamp}) goes to: the active one, or a new one at {@code logEndOffset} if the active
     * one is non-empty and full by {@code segment.bytes}, {@code segment.ms}, its indexes or the 32-bit relative
     * offsets. The rule reads only the data and the timestamps in it, never a clock, so replicas roll alike.
     */
    public LogSegment rollIfNeeded(Path dir, LogConfig cfg, long logEndOffset, int incomingBytes, long incomingMaxTimestamp,
                                   long lastOffset) throws IOException {
        LogSegment active = active();
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
        active.onBecomeInactive();
        LogSegment fresh = LogSegment.create(dir, logEndOffset, cfg.indexIntervalBytes(), cfg.segmentIndexBytes());
        add(fresh);
        LOG.debug("{}: rolled to segment {} ({})", dir, logEndOffset, reason);
        return fresh;
    }

    public List<Long> baseOffsets() {
        return List.copyOf(segments.keySet());
    }

    /** Total bytes of all segment log files. */
    public long sizeInBytes() {
        long total = 0;
        for (LogSegment s : segments.values()) {
            total += s.size();
        }
        return total;
    }

    /** Deletes every segment's files and forgets them. */
    public void deleteAll() throws IOException {
        for (LogSegment s : segments.values()) {
            s.delete();
        }
        segments.clear();
    }

    /** Closes every segment's files, logging (not throwing) failures: the path of crashes and fatal errors. */
    public void closeQuietly() {
        for (LogSegment s : segments.values()) {
            try {
                s.close();
            } catch (IOException | RuntimeException e) {
                LOG.debug("error closing segment {}", s, e);
            }
        }
    }
}
