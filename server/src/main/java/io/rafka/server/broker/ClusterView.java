package io.rafka.server.broker;

import io.rafka.common.NotLeaderException;
import io.rafka.common.TopicPartition;
import io.rafka.common.UnknownTopicOrPartitionException;
import io.rafka.log.LogConfig;
import io.rafka.raft.PartitionStatus;
import io.rafka.raft.RaftNode;
import io.rafka.metadata.BrokerInfo;
import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.MetadataNode;
import io.rafka.metadata.TopicConfigs;
import io.rafka.metadata.TopicInfo;
import io.rafka.metadata.TopicNames;

import java.util.Optional;
import java.util.Set;

/**
 * What this broker knows of the cluster, answered locally: topics and placement from its replica of the
 * metadata group, partition leaders from its own replicas (exact) or from the metadata image's published
 * leaders (for partitions it does not host). Read-only: it hands out answers, not the nodes behind them,
 * so writes go through {@link ReplicaManager} and {@link TopicAdmin}.
 */
public final class ClusterView {
    private final String brokerId;
    private final RaftNode raftNode;
    private final MetadataNode metadata;
    private final LogConfig logDefaults;

    public ClusterView(String brokerId, RaftNode raftNode, MetadataNode metadata, LogConfig logDefaults) {
        this.brokerId = brokerId;
        this.raftNode = raftNode;
        this.metadata = metadata;
        this.logDefaults = logDefaults;
    }

    /** A partition's leader as known here. */
    public record Leader(String id, long epoch) {
    }

    public String brokerId() {
        return brokerId;
    }

    public MetadataImage image() {
        return metadata.image();
    }

    /** The controller (leader of the metadata group) as this broker's replica of that group knows it. */
    public Optional<String> controllerId() {
        return metadata.controllerId();
    }

    public boolean isController() {
        return metadata.isController();
    }

    /** Brokers that heartbeated within {@code sessionTimeoutMs}; only the controller's answer is exact. */
    public Set<String> liveBrokers(long sessionTimeoutMs) {
        return metadata.liveBrokers(sessionTimeoutMs);
    }

    /**
     * The topic, or an error for a name that is not allowed (INVALID_TOPIC) or a topic or partition that does
     * not exist (UNKNOWN_TOPIC_OR_PARTITION).
     */
    public TopicInfo requirePartition(String topic, int partition) {
        TopicNames.validate(topic);
        TopicInfo info = image().topic(topic);
        if (info == null) {
            throw new UnknownTopicOrPartitionException("topic '" + topic + "' does not exist");
        }
        if (partition < 0 || partition >= info.partitionCount()) {
            throw new UnknownTopicOrPartitionException("topic '" + topic + "' has partitions 0.." + (info.partitionCount() - 1)
                    + "; there is no partition " + partition);
        }
        return info;
    }

    /** This broker's replica's status, if it hosts the partition and its replica runs. */
    public Optional<PartitionStatus> localStatus(TopicPartition tp) {
        if (!raftNode.hosts(tp) || !ofCurrentTopic(tp)) {
            return Optional.empty();
        }
        try {
            return Optional.of(raftNode.status(tp));
        } catch (UnknownTopicOrPartitionException e) {
            return Optional.empty();
        }
    }

    /**
     * Whether the replica hosted here belongs to the topic the image has under that name now. A topic deleted and made
     * again at once leaves the old topic's replica here, under the same name, until the reconciler removes it: it must
     * not take the new topic's writes (they would go with it) nor serve its old records as the new topic's.
     */
    private boolean ofCurrentTopic(TopicPartition tp) {
        TopicInfo topic = image().topic(tp.topic());
        return topic == null || raftNode.spec(tp).map(spec -> spec.topicId().equals(topic.id())).orElse(true);
    }

    public Optional<Leader> leaderOf(TopicPartition tp) {
        Optional<PartitionStatus> local = localStatus(tp);
        if (local.isPresent() && local.get().leaderId().isPresent()) {
            return Optional.of(new Leader(local.get().leaderId().get(), local.get().term()));
        }
        MetadataImage.PartitionLeader published = image().leader(tp);
        if (published != null) {
            return Optional.of(new Leader(published.brokerId(), published.epoch()));
        }
        // Never led (a new partition starts hibernated): its preferred replica serves it and wakes it on a write.
        TopicInfo topic = image().topic(tp.topic());
        if (topic != null && tp.partition() < topic.partitionCount() && !topic.assignments().get(tp.partition()).isEmpty()) {
            return Optional.of(new Leader(topic.assignments().get(tp.partition()).get(0), 0));
        }
        return Optional.empty();
    }

    /** The local replica's status if this broker leads the partition, else NOT_LEADER with the leader's id. */
    public PartitionStatus leaderStatus(TopicPartition tp) {
        PartitionStatus status = localStatus(tp).orElse(null);
        if (status != null && status.hibernated()) {
            // Every replica of a hibernated partition serves its frozen log, unless the group woke without it
            // (a leader was published in a later term): then its frozen view is stale.
            MetadataImage.PartitionLeader published = image().leader(tp);
            if (published == null || published.epoch() <= status.term()) {
                return status;
            }
            throw new NotLeaderException("broker " + brokerId + " holds a stale hibernated replica of " + tp
                    + "; the leader is " + published.brokerId(), published.brokerId());
        }
        if (status == null || !status.isLeader()) {
            String leader = status != null && status.leaderId().isPresent() ? status.leaderId().get()
                    : leaderOf(tp).map(Leader::id).orElse(null);
            throw new NotLeaderException("broker " + brokerId + " does not lead " + tp
                    + (leader == null ? " and knows no leader yet" : "; the leader is " + leader), leader);
        }
        return status;
    }

    /** A registered broker, with the address clients reach it at. */
    public Optional<BrokerInfo> broker(String id) {
        return Optional.ofNullable(image().brokers().get(id));
    }

    /** The log settings of a topic: its overrides on top of the broker defaults. */
    public LogConfig logConfig(TopicInfo topic) {
        return TopicConfigs.toLogConfig(topic.configs(), logDefaults);
    }
}
