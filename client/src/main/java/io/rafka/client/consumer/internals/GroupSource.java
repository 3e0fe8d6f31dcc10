package io.rafka.client.consumer.internals;

import io.rafka.client.internals.Fetched;
import io.rafka.client.consumer.ConsumerConfig;
import io.rafka.client.consumer.ConsumerRebalanceListener;
import io.rafka.client.group.GroupMember;
import io.rafka.client.group.GroupMemberConfig;
import io.rafka.client.group.OffsetStore;
import io.rafka.client.group.RebalanceHook;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.FetchPositions;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** A consumer's partitions as a group member owns them: {@link GroupMember} behind {@link PartitionSource}. */
public final class GroupSource implements PartitionSource {

    private final GroupMember member;

    /** @param hook told of revoked, assigned and lost partitions, on the poll thread */
    public GroupSource(GroupMember member, RebalanceHook hook) {
        this.member = member;
        member.rebalanceHook(hook);
    }

    /**
     * A member for the consumer's settings and subscription (topics, or a pattern); it joins on its first poll.
     * {@code wokenUp} (the consumer's {@code wakeup()}) ends a poll that waits for a coordinator that is away, and so
     * does the clock passing {@code pollDeadlineMs} (the consumer's poll in progress: GroupMember#pollEndsBy).
     */
    public static GroupSource join(ConsumerConfig config, List<String> topics, Pattern pattern,
                                   ConsumerRebalanceListener listener, ChannelPool channels, List<BrokerAddress> bootstrap,
                                   Time time, java.util.function.BooleanSupplier wokenUp,
                                   java.util.function.LongSupplier pollDeadlineMs) {
        GroupMemberConfig memberConfig = new GroupMemberConfig(config.groupId(), topics,
                pattern == null ? "" : pattern.pattern(), config.groupInstanceId(), config.clientId(),
                config.autoOffsetReset(), config.groupRemoteAssignor(), config.sessionTimeoutMs(), config.maxPollIntervalMs(),
                config.defaultApiTimeoutMs());
        GroupMember member = new GroupMember(memberConfig, channels, bootstrap, time);
        member.maxPollIntervalMs(config.maxPollIntervalMs());
        member.positions().settings(config.fetchSettings());
        member.positions().retryWithoutLimit();   // as Kafka's poll: leaders away are waited for, not thrown
        member.commitOnRevoke(config.enableAutoCommit());
        member.wakeupWhen(wokenUp);
        member.pollEndsBy(pollDeadlineMs);
        return new GroupSource(member, hook(listener));
    }

    /** Replaces the rebalance listener (null: none) for the rebalances from now on. */
    public void listener(ConsumerRebalanceListener listener) {
        member.rebalanceHook(hook(listener));
    }

    private static RebalanceHook hook(ConsumerRebalanceListener listener) {
        return listener == null ? RebalanceHook.NONE : new RebalanceHook() {
            @Override
            public void onRevoked(Set<TopicPartition> partitions) {
                listener.onPartitionsRevoked(partitions);
            }

            @Override
            public void onAssigned(Set<TopicPartition> partitions) {
                listener.onPartitionsAssigned(partitions);
            }

            @Override
            public void onLost(Set<TopicPartition> partitions) {
                listener.onPartitionsLost(partitions);
            }
        };
    }

    @Override
    public List<Fetched> poll(int waitMs, int maxRecords) {
        return member.poll(Math.max(1, waitMs), maxRecords);
    }

    @Override
    public Set<TopicPartition> assignment() {
        return member.activeAssignment();
    }

    @Override
    public FetchPositions positions() {
        return member.positions();
    }

    @Override
    public void seek(TopicPartition tp, long start) {
        member.seek(tp, start);
    }

    @Override
    public Map<TopicPartition, Long> positionsToCommit() {
        return member.ownedPositions();
    }

    @Override
    public boolean hasGroup() {
        return true;
    }

    @Override
    public long ownershipMark() {
        return member.ownershipMark();
    }

    @Override
    public void commit(Map<TopicPartition, Long> offsets, Map<TopicPartition, String> metadata,
                       Map<TopicPartition, Long> madeAt) {
        member.commit(offsets, metadata, madeAt);
    }

    @Override
    public Map<TopicPartition, OffsetStore.Committed> committed(Set<TopicPartition> partitions) {
        return member.committedWithMetadata(partitions);
    }

    @Override
    public void close(boolean commitFirst, long timeoutMs) {
        member.close(commitFirst, timeoutMs);
    }
}
