package io.rafka.metadata;

import java.util.List;
import java.util.Map;

/**
 * A change to the cluster metadata: what the metadata Raft group's log holds, one per entry, applied in
 * order to a {@link MetadataImage} by every broker. The controller produces them; nothing else changes
 * metadata.
 */
public sealed interface MetadataRecord {
    record RegisterBroker(BrokerInfo broker) implements MetadataRecord {
    }

    record UnregisterBroker(String brokerId) implements MetadataRecord {
    }

    record CreateTopic(TopicInfo topic) implements MetadataRecord {
    }

    record DeleteTopic(String name) implements MetadataRecord {
    }

    /** Appends partitions {@code first..} with the given replica lists. */
    record CreatePartitions(String topic, List<List<String>> added) implements MetadataRecord {
    }

    /** Replaces a topic's config overrides. */
    record AlterConfigs(String topic, Map<String, String> configs) implements MetadataRecord {
    }

    /**
     * Partitions a broker leads, with the Raft term (leader epoch) it leads them in. Published by the leaders
     * themselves so every broker can tell clients who leads partitions it does not host. Applied per
     * partition only if the epoch is not older than the one the image has.
     */
    record PartitionLeaders(String brokerId, List<LeaderEpoch> leaders) implements MetadataRecord {
    }

    /**
     * A partition led in Raft term {@code epoch}, of the topic incarnation {@code topicId}: a record decided for a
     * deleted topic and applied after a namesake was created (a publication retried meanwhile) is ignored, or the
     * new topic's leaders, whose terms restart at 1, could not replace its stale epoch. {@code topicId} null: of
     * whichever incarnation has the name (records written before the id was published).
     */
    record LeaderEpoch(String topic, int partition, long epoch, java.util.UUID topicId) {
        public LeaderEpoch(String topic, int partition, long epoch) {
            this(topic, partition, epoch, null);
        }
    }

    /**
     * Moves a partition to another set of brokers (replacing a dead broker's replica, say). Brokers act on it:
     * new replicas join the partition's Raft group, its leader changes the group's membership (Raft
     * configuration change), and replicas no longer listed leave and delete their data.
     */
    record ReassignReplicas(String topic, int partition, List<String> replicas) implements MetadataRecord {
    }

    /** Changes a partition's replica order (same replicas): moves its preferred leader. */
    record ReorderReplicas(String topic, int partition, List<String> replicas) implements MetadataRecord {
    }

    /**
     * Reserves producer ids {@code firstProducerId .. firstProducerId + count - 1} for one broker, which hands
     * them out to idempotent producers (as Kafka's AllocateProducerIds in KRaft). Applied only if the block
     * starts at the image's next free producer id, so a stale decision can never hand out ids twice.
     */
    record AllocateProducerIds(String brokerId, long firstProducerId, int count) implements MetadataRecord {
    }
}
