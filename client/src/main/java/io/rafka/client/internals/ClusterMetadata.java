package io.rafka.client.internals;

import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.MetadataResponse;
import io.rafka.proto.v1.PartitionMetadata;
import io.rafka.proto.v1.TopicMetadata;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One broker's answer to GetMetadata, indexed for the questions the CLI asks: how many partitions a
 * topic has and which broker address leads each one. Immutable; a newer answer replaces it, keeping what an
 * older one said of topics the newer was not asked about ({@link #over}).
 */
public final class ClusterMetadata {

    public static final ClusterMetadata EMPTY = of(MetadataResponse.getDefaultInstance());

    private final Map<String, BrokerAddress> brokers;
    private final Map<String, TopicMetadata> topics;
    private final Map<TopicPartition, PartitionMetadata> partitions;

    private ClusterMetadata(Map<String, BrokerAddress> brokers, Map<String, TopicMetadata> topics,
                            Map<TopicPartition, PartitionMetadata> partitions) {
        this.brokers = brokers;
        this.topics = topics;
        this.partitions = partitions;
    }

    public static ClusterMetadata of(MetadataResponse response) {
        Map<String, BrokerAddress> brokers = new LinkedHashMap<>();
        for (Broker broker : response.getBrokersList()) {
            brokers.put(broker.getId(), BrokerAddress.of(broker));
        }
        Map<String, TopicMetadata> topics = new HashMap<>();
        Map<TopicPartition, PartitionMetadata> partitions = new HashMap<>();
        for (TopicMetadata topic : response.getTopicsList()) {
            topics.put(topic.getName(), topic);
            for (PartitionMetadata partition : topic.getPartitionsList()) {
                partitions.put(new TopicPartition(topic.getName(), partition.getPartition()), partition);
            }
        }
        return new ClusterMetadata(brokers, topics, partitions);
    }

    /**
     * This answer to a request for {@code asked} topics (empty: all of them), with what {@code older} knew of the
     * other topics: an answer about some topics says nothing about the rest, whose leaders stay known (now resolved
     * against this answer's brokers: a leader on a broker that left reads as none).
     */
    ClusterMetadata over(ClusterMetadata older, Collection<String> asked) {
        if (asked.isEmpty()) {
            return this;
        }
        java.util.Set<String> refreshed = java.util.Set.copyOf(asked);
        Map<String, TopicMetadata> mergedTopics = new HashMap<>();
        older.topics.forEach((name, t) -> {
            if (!refreshed.contains(name)) {
                mergedTopics.put(name, t);
            }
        });
        topics.forEach((name, t) -> {
            if (refreshed.contains(name)) {
                mergedTopics.put(name, t);
            }
        });
        Map<TopicPartition, PartitionMetadata> mergedPartitions = new HashMap<>();
        older.partitions.forEach((tp, p) -> {
            if (!refreshed.contains(tp.topic())) {
                mergedPartitions.put(tp, p);
            }
        });
        partitions.forEach((tp, p) -> {
            if (refreshed.contains(tp.topic())) {
                mergedPartitions.put(tp, p);
            }
        });
        return new ClusterMetadata(brokers, mergedTopics, mergedPartitions);
    }

    /** Every topic this metadata describes. */
    public Collection<TopicMetadata> topics() {
        return java.util.Collections.unmodifiableCollection(topics.values());
    }

    public Optional<TopicMetadata> topic(String name) {
        return Optional.ofNullable(topics.get(name));
    }

    /** The leader's address; empty while there is no leader or the leader is not among the live brokers. */
    public Optional<BrokerAddress> leader(TopicPartition tp) {
        PartitionMetadata partition = partitions.get(tp);
        if (partition == null || partition.getLeaderId().isEmpty()) {
            return Optional.empty();
        }
        return Optional.ofNullable(brokers.get(partition.getLeaderId()));
    }

    public Collection<BrokerAddress> brokers() {
        return brokers.values();
    }
}
