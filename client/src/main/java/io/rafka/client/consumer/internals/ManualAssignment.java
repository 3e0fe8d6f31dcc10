package io.rafka.client.consumer.internals;

import io.rafka.client.internals.Fetched;
import io.rafka.client.group.CoordinatorClient;
import io.rafka.client.group.GroupMemberConfig.OffsetReset;
import io.rafka.client.group.NoOffsetForPartitionException;
import io.rafka.client.group.OffsetStore;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.ClientException;
import io.rafka.client.internals.FetchPositions;
import io.rafka.client.internals.MetadataClient;
import io.rafka.client.internals.PartitionFetcher;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The consumer's {@code assign} mode: exactly the partitions given, no membership. Where a partition starts is
 * decided on the next poll: the group's committed offset when there is a {@code group.id}, else (or without
 * one) {@code auto.offset.reset}. Commits go to the group as a group without members (member id empty,
 * epoch -1), which the coordinator accepts only while no member is in it. Not thread-safe: the poll thread's,
 * except {@link #commit}, which runs on the consumer's commit thread.
 */
public final class ManualAssignment implements PartitionSource {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ManualAssignment.class);

    private final String groupId;
    private final OffsetReset reset;
    private final FetchPositions positions;
    private final OffsetStore offsets;
    /** The group's coordinator for commits; null without a group.id. */
    private final CoordinatorClient coordinator;
    private final Set<TopicPartition> assigned = new LinkedHashSet<>();
    /** Assigned partitions whose start is not decided yet. */
    private final Set<TopicPartition> unstarted = new LinkedHashSet<>();

    public ManualAssignment(String groupId, OffsetReset reset, ChannelPool channels, BrokerAddress bootstrap,
                            MetadataClient metadata, Time time, long retryTimeoutMs) {
        this.groupId = groupId;
        this.reset = reset;
        PartitionFetcher fetcher = new PartitionFetcher(metadata, channels, time, retryTimeoutMs, warning -> LOG.warn(warning));
        fetcher.outOfRangeReset(reset.outOfRangeReset());
        this.positions = new FetchPositions(fetcher);
        this.coordinator = groupId.isEmpty() ? null : new CoordinatorClient(groupId, channels, bootstrap, metadata, time, retryTimeoutMs);
        this.offsets = coordinator == null ? null : OffsetStore.standalone(coordinator, time);
    }

    /** Replaces the assignment; partitions kept keep their positions. */
    public void assign(Collection<TopicPartition> partitions) {
        Set<TopicPartition> next = new LinkedHashSet<>(partitions);
        for (TopicPartition tp : List.copyOf(assigned)) {
            if (!next.contains(tp)) {
                positions.remove(tp);
                unstarted.remove(tp);
                assigned.remove(tp);
            }
        }
        for (TopicPartition tp : next) {
            if (assigned.add(tp)) {
                unstarted.add(tp);
            }
        }
    }

    @Override
    public Set<TopicPartition> assignment() {
        return Set.copyOf(assigned);
    }

    @Override
    public FetchPositions positions() {
        startUnstarted();
        return positions;
    }

    @Override
    public FetchPositions positionsNow() {
        return positions;
    }

    @Override
    public List<Fetched> poll(int waitMs, int maxRecords) {
        startUnstarted();
        if (!positions.fetching()) {
            sleep(waitMs);
            return List.of();
        }
        return positions.poll(waitMs, maxRecords, assigned::contains);
    }

    /** A seek before the first poll decides the start itself. */
    @Override
    public void seek(TopicPartition tp, long start) {
        if (!assigned.contains(tp)) {
            throw new IllegalStateException(tp + " is not assigned to this consumer");
        }
        unstarted.remove(tp);
        if (positions.partitions().contains(tp)) {
            positions.seek(tp, start);
        } else {
            positions.add(tp, start);
        }
    }

    @Override
    public long ownershipMark() {
        return 0;
    }

    @Override
    public void commit(Map<TopicPartition, Long> offsetsToCommit, Map<TopicPartition, String> metadata,
                       Map<TopicPartition, Long> madeAt) {
        store().commitOrThrow(offsetsToCommit, metadata);
    }

    @Override
    public Map<TopicPartition, OffsetStore.Committed> committed(Set<TopicPartition> partitions) {
        return store().committedWithMetadata(partitions);
    }

    @Override
    public boolean hasGroup() {
        return offsets != null;
    }

    @Override
    public Map<TopicPartition, Long> positionsToCommit() {
        return positions().positions();
    }

    /** Nothing to leave: a manual assignment has no membership. */
    @Override
    public void close(boolean commitFirst, long timeoutMs) {
        if (commitFirst && offsets != null) {
            coordinator.limitRetries(Math.max(0, timeoutMs));
            offsets.commit(positions.positions());
        }
    }

    private OffsetStore store() {
        if (offsets == null) {
            throw new IllegalStateException("commits need a group.id");
        }
        return offsets;
    }

    private void startUnstarted() {
        if (unstarted.isEmpty()) {
            return;
        }
        List<TopicPartition> todo = new ArrayList<>(unstarted);
        Map<TopicPartition, Long> starts;
        if (offsets != null) {
            starts = offsets.startOffsets(todo, reset, groupId);
        } else if (reset == OffsetReset.NONE) {
            throw new NoOffsetForPartitionException("(none: no group.id)", todo);
        } else {
            long start = reset == OffsetReset.EARLIEST ? PartitionFetcher.EARLIEST : PartitionFetcher.LATEST;
            starts = new java.util.HashMap<>();
            for (TopicPartition tp : todo) {
                starts.put(tp, start);
            }
        }
        for (TopicPartition tp : todo) {
            positions.add(tp, starts.get(tp));
            unstarted.remove(tp);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(Math.max(0, ms));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClientException("INTERRUPTED", "interrupted in poll");
        }
    }
}
