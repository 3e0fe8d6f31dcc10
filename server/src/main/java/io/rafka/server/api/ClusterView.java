package io.rafka.server.api;

import io.rafka.common.TopicPartition;
import io.rafka.common.UnknownTopicOrPartitionException;
import io.rafka.log.LogConfig;
import io.rafka.proto.v1.Broker;
import io.rafka.raft.PartitionStatus;
import io.rafka.raft.RaftNode;
import io.rafka.metadata.BrokerInfo;
import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.MetadataNode;
import io.rafka.metadata.TopicConfigs;
import io.rafka.metadata.TopicInfo;

import java.util.Optional;

/**
 * What this broker knows of the cluster, answered locally: topics and placement from its replica of the
 * metadata group, partition leaders from its own replicas (exact) or from the metadata image's published
 * leaders (for partitions it does not host).
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

    public MetadataNode metadata() {
        return metadata;
    }

    public RaftNode raftNode() {
        return raftNode;
    }

    /** The topic, or an UNKNOWN_TOPIC_OR_PARTITION error if it or the partition does not exist. */
    public TopicInfo requirePartition(String topic, int partition) {
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
        if (!raftNode.hosts(tp)) {
            return Optional.empty();
        }
        try {
            return Optional.of(raftNode.status(tp));
        } catch (UnknownTopicOrPartitionException e) {
            return Optional.empty();
        }
    }

    public Optional<Leader> leaderOf(TopicPartition tp) {
        Optional<PartitionStatus> local = localStatus(tp);
        if (local.isPresent() && local.get().leaderId().isPresent()) {
            return Optional.of(new Leader(local.get().leaderId().get(), local.get().term()));
        }
        MetadataImage.PartitionLeader published = image().leader(tp);
        return published == null ? Optional.empty() : Optional.of(new Leader(published.brokerId(), published.epoch()));
    }

    /** The API address of a broker, if it registered. */
    public Optional<Broker> broker(String id) {
        BrokerInfo b = image().brokers().get(id);
        if (b == null) {
            return Optional.empty();
        }
        return Optional.of(toProto(b));
    }

    public static Broker toProto(BrokerInfo b) {
        return Broker.newBuilder().setId(b.id()).setHost(b.host()).setPort(b.apiPort()).build();
    }

    /** The log settings of a topic: its overrides on top of the broker defaults. */
    public LogConfig logConfig(TopicInfo topic) {
        return TopicConfigs.toLogConfig(topic.configs(), logDefaults);
    }
}
