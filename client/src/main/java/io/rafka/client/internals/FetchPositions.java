package io.rafka.client.internals;

import io.rafka.common.TopicPartition;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A consumer's positions over a {@link PartitionFetcher}: the next offset to hand out per partition (what the
 * last poll returned, plus one: what a commit stores), {@code max.poll.records}, {@code seek} and
 * {@code pause}/{@code resume}. Shared by the group member and the manually assigned consumer so both count
 * positions the same way. A paused partition stays assigned but is not fetched; resuming fetches it from its
 * position again. Not thread-safe: the poll thread's.
 */
public final class FetchPositions {

    private final PartitionFetcher fetcher;
    /** Next offset to hand out per partition; absent while the start is still being looked up. */
    private final Map<TopicPartition, Long> consumed = new HashMap<>();
    /** The start asked for (an offset, EARLIEST or LATEST) of partitions without a position yet. */
    private final Map<TopicPartition, Long> pendingStarts = new HashMap<>();
    private final Set<TopicPartition> paused = new LinkedHashSet<>();

    public FetchPositions(PartitionFetcher fetcher) {
        this.fetcher = fetcher;
    }

    /** Kafka's fetch.max.bytes for every Fetch from now on. */
    public void maxBytes(int bytes) {
        fetcher.maxBytes(bytes);
    }

    /** Fetch sizes, waits and pipelining from now on. */
    public void settings(FetchSettings settings) {
        fetcher.settings(settings);
    }

    /** See {@link PartitionFetcher#retryWithoutLimit}. */
    public void retryWithoutLimit() {
        fetcher.retryWithoutLimit();
    }

    /** The fetcher behind these positions (its buffer, for tests and metrics). */
    public PartitionFetcher fetcher() {
        return fetcher;
    }

    /**
     * Starts reading a partition at an offset, or at {@link PartitionFetcher#EARLIEST} / {@link PartitionFetcher#LATEST};
     * one paused before it had a start (waiting for a seek) stays paused.
     */
    public void add(TopicPartition tp, long start) {
        seek(tp, start);
    }

    /** Moves a read partition (also a paused one) to a new start; records fetched before are not handed out. */
    public void seek(TopicPartition tp, long start) {
        consumed.remove(tp);
        pendingStarts.remove(tp);
        if (start >= 0) {
            consumed.put(tp, start);
        } else {
            pendingStarts.put(tp, start);
        }
        if (paused.contains(tp)) {
            fetcher.remove(tp);
        } else {
            fetcher.add(tp, start);
        }
    }

    /** Stops reading a partition; returns its position (null when it had none yet). */
    public Long remove(TopicPartition tp) {
        fetcher.remove(tp);
        fetcher.forget(tp);
        paused.remove(tp);
        pendingStarts.remove(tp);
        return consumed.remove(tp);
    }

    /** The partitions read (paused ones included). */
    public Set<TopicPartition> partitions() {
        Set<TopicPartition> all = new LinkedHashSet<>(consumed.keySet());
        all.addAll(pendingStarts.keySet());
        return all;
    }

    public boolean isEmpty() {
        return consumed.isEmpty() && pendingStarts.isEmpty();
    }

    /** The next offset to hand out; -1 while it is still being looked up (or the partition is not read). */
    public long position(TopicPartition tp) {
        Long position = consumed.get(tp);
        return position == null ? -1 : position;
    }

    /**
     * How far the partition's position is behind its high watermark as the last fetch answer told it (Kafka's
     * {@code currentLag}); empty before an answer or while the position is being looked up.
     */
    public java.util.OptionalLong lag(TopicPartition tp) {
        Long position = consumed.get(tp);
        java.util.OptionalLong hw = fetcher.highWatermark(tp);
        return position == null || hw.isEmpty() ? java.util.OptionalLong.empty()
                : java.util.OptionalLong.of(Math.max(0, hw.getAsLong() - position));
    }

    /** The start still to be looked up ({@link PartitionFetcher#EARLIEST} or LATEST); null when the position is known. */
    public Long pendingStart(TopicPartition tp) {
        return pendingStarts.get(tp);
    }

    /** Positions of every partition that has one. */
    public Map<TopicPartition, Long> positions() {
        return Map.copyOf(consumed);
    }

    /** Stops fetching a partition until resumed; also one not started yet (waiting for a seek), which then starts paused. */
    public void pause(TopicPartition tp) {
        if (paused.add(tp)) {
            fetcher.remove(tp);
        }
    }

    public void resume(TopicPartition tp) {
        if (paused.remove(tp)) {
            Long position = consumed.get(tp);
            Long start = position != null ? position : pendingStarts.get(tp);
            if (start != null) {
                fetcher.add(tp, start);
            }
        }
    }

    public Set<TopicPartition> paused() {
        return Set.copyOf(paused);
    }

    /** Whether anything is being fetched (not everything paused or empty). */
    public boolean fetching() {
        return !fetcher.partitions().isEmpty();
    }

    /**
     * Hands out at most {@code maxRecords} records of partitions {@code mayConsume} accepts, in offset order per
     * partition; the rest stay buffered in the fetcher for the next poll, so a caller that stops after N
     * records commits exactly those.
     */
    public List<Fetched> poll(int waitMs, int maxRecords, Predicate<TopicPartition> mayConsume) {
        List<Fetched> records = new ArrayList<>();
        for (Fetched fetched : fetcher.poll(waitMs, maxRecords)) {
            // A newer assignment may have revoked the partition while the fetch was out: hand out nothing of it.
            if (!mayConsume.test(fetched.tp()) || !consumedOrPending(fetched.tp())) {
                continue;
            }
            records.add(fetched);
            pendingStarts.remove(fetched.tp());
            consumed.put(fetched.tp(), fetched.offset() + 1);
        }
        // A partition the fetcher restarted (OFFSET_OUT_OF_RANGE under auto.offset.reset) is at the restarted position,
        // or has none until it is looked up: the old one is out of range, and committed it would send the next owner
        // back to it, to look "latest" up again later and skip what came in between.
        for (TopicPartition tp : fetcher.drainRestarted()) {
            if (!consumed.containsKey(tp) || paused.contains(tp)) {
                continue;
            }
            long restartedAt = fetcher.position(tp);
            if (restartedAt >= 0) {
                consumed.put(tp, restartedAt);
            } else if (fetcher.pendingLookup(tp) != 0) {
                consumed.remove(tp);
                pendingStarts.put(tp, fetcher.pendingLookup(tp));
            }
        }
        // A partition started at earliest/latest has a position to commit once looked up, records or not: its
        // next owner must not look "latest" up again later and skip what came in between.
        for (TopicPartition tp : Set.copyOf(pendingStarts.keySet())) {
            if (mayConsume.test(tp) && fetcher.position(tp) >= 0) {
                pendingStarts.remove(tp);
                consumed.put(tp, fetcher.position(tp));
            }
        }
        return records;
    }

    private boolean consumedOrPending(TopicPartition tp) {
        return consumed.containsKey(tp) || pendingStarts.containsKey(tp);
    }
}
