package io.rafka.server.broker;

import io.rafka.common.ErrorCode;
import io.rafka.common.InvalidRequestException;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.common.UnknownTopicOrPartitionException;
import io.rafka.metadata.BrokerInfo;
import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.TopicInfo;
import io.rafka.metadata.TopicNames;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Cluster metadata from this broker's replica of the metadata group: no call to the controller. Leaders
 * come from the local replica where this broker hosts the partition, else from the leaders the metadata
 * group publishes ({@link io.rafka.server.replica.LeaderPublisher}).
 */
public final class MetadataQuery {
    private final ClusterView view;
    private final TopicAdmin admin;
    private final boolean autoCreateTopics;

    public MetadataQuery(ClusterView view, TopicAdmin admin, boolean autoCreateTopics) {
        this.view = view;
        this.admin = admin;
        this.autoCreateTopics = autoCreateTopics;
    }

    /** The answer: brokers by id, and the topics asked for (all when none were) in request order. */
    public record ClusterMetadata(long metadataVersion, String controllerId, List<BrokerInfo> brokers, List<TopicMetadata> topics) {
    }

    /** A topic's partitions, or only {@code error} (and the name) when it cannot be described. */
    public record TopicMetadata(String name, String topicId, List<PartitionMetadata> partitions, RafkaException error) {
    }

    /** {@code leaderId} null, {@code leaderEpoch} -1 and {@code error} LEADER_NOT_AVAILABLE while there is no leader. */
    public record PartitionMetadata(int partition, List<String> replicas, String leaderId, long leaderEpoch, RafkaException error) {
    }

    /**
     * Topics that do not exist are created in the background when {@code allowAutoCreate} and the broker's
     * auto.create.topics.enable are both on; they answer LEADER_NOT_AVAILABLE (retriable) meanwhile.
     */
    public ClusterMetadata metadata(List<String> topics, boolean allowAutoCreate) {
        if (topics.size() > TopicAdmin.MAX_NAMES_PER_REQUEST) {
            throw new InvalidRequestException("at most " + TopicAdmin.MAX_NAMES_PER_REQUEST + " topic names per request");
        }
        MetadataImage image = view.image();
        Collection<String> names = topics.isEmpty() ? new TreeMap<>(image.topics()).keySet() : new LinkedHashSet<>(topics);
        List<TopicMetadata> out = new ArrayList<>(names.size());
        for (String name : names) {
            out.add(topic(image, name, allowAutoCreate));
        }
        return new ClusterMetadata(image.version(), view.controllerId().orElse(""),
                List.copyOf(new TreeMap<>(image.brokers()).values()), out);
    }

    private TopicMetadata topic(MetadataImage image, String name, boolean allowAutoCreate) {
        try {
            TopicNames.validate(name);
        } catch (RafkaException e) {
            return new TopicMetadata(name, "", List.of(), e);
        }
        TopicInfo info = image.topic(name);
        if (info == null) {
            if (allowAutoCreate && autoCreateTopics) {
                admin.autoCreate(name);
                return new TopicMetadata(name, "", List.of(), new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE,
                        "topic '" + name + "' is being created; ask again shortly"));
            }
            return new TopicMetadata(name, "", List.of(), new UnknownTopicOrPartitionException("topic '" + name + "' does not exist"));
        }
        List<PartitionMetadata> partitions = new ArrayList<>(info.partitionCount());
        for (int p = 0; p < info.partitionCount(); p++) {
            Optional<ClusterView.Leader> leader = view.leaderOf(new TopicPartition(name, p));
            partitions.add(leader.isPresent()
                    ? new PartitionMetadata(p, info.assignments().get(p), leader.get().id(), leader.get().epoch(), null)
                    : new PartitionMetadata(p, info.assignments().get(p), null, -1,
                    new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, "partition " + p + " of '" + name + "' has no leader yet")));
        }
        return new TopicMetadata(name, info.id().toString(), partitions, null);
    }
}
