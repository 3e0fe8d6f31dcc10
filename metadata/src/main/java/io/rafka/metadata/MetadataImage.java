package io.rafka.metadata;

import io.rafka.common.TopicPartition;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The cluster metadata at one point of the metadata log: brokers and topics with their placements and
 * configs. Immutable: {@link #apply} returns a new image, so readers (every broker answering metadata
 * requests) use a consistent snapshot without locks. {@link #version} counts applied records.
 *
 * <p>Apply is deterministic and total: a record that does not fit the image (a topic that no longer
 * exists, say) leaves it unchanged, so every broker replaying the same log reaches the same image.
 */
public final class MetadataImage {
    public static final MetadataImage EMPTY = new MetadataImage(Map.of(), Map.of(), Map.of(), 0, 0);

    private final Map<String, BrokerInfo> brokers;
    private final Map<String, TopicInfo> topics;
    private final Map<TopicPartition, PartitionLeader> leaders;
    private final long version;
    /** The first producer id no broker was given yet: blocks are handed out upwards from here. */
    private final long nextProducerId;

    /** The last published leader of a partition and the Raft term (leader epoch) it led in. */
    public record PartitionLeader(String brokerId, long epoch) {
    }

    private MetadataImage(Map<String, BrokerInfo> brokers, Map<String, TopicInfo> topics,
                          Map<TopicPartition, PartitionLeader> leaders, long version, long nextProducerId) {
        this.brokers = brokers;
        this.topics = topics;
        this.leaders = leaders;
        this.version = version;
        this.nextProducerId = nextProducerId;
    }

    /** An image as a snapshot holds it. */
    static MetadataImage of(Map<String, BrokerInfo> brokers, Map<String, TopicInfo> topics,
                            Map<TopicPartition, PartitionLeader> leaders, long version, long nextProducerId) {
        return new MetadataImage(Map.copyOf(brokers), Map.copyOf(topics), Map.copyOf(leaders), version, nextProducerId);
    }

    /** The first producer id not yet allocated to any broker. */
    public long nextProducerId() {
        return nextProducerId;
    }

    /** The last published leader of a partition, or null if none was published (or the topic is gone). */
    public PartitionLeader leader(TopicPartition tp) {
        return leaders.get(tp);
    }

    public Map<TopicPartition, PartitionLeader> leaders() {
        return leaders;
    }

    public Map<String, BrokerInfo> brokers() {
        return brokers;
    }

    public Map<String, TopicInfo> topics() {
        return topics;
    }

    public long version() {
        return version;
    }

    public TopicInfo topic(String name) {
        return topics.get(name);
    }

    /** How many partitions each registered broker is the preferred leader of. */
    public Map<String, Integer> preferredLeaderCounts() {
        Map<String, Integer> counts = new TreeMap<>();
        for (String b : brokers.keySet()) {
            counts.put(b, 0);
        }
        for (TopicInfo t : topics.values()) {
            for (List<String> replicas : t.assignments()) {
                counts.merge(replicas.get(0), 1, Integer::sum);
            }
        }
        return counts;
    }

    public MetadataImage apply(MetadataRecord record) {
        Map<String, BrokerInfo> b = brokers;
        Map<String, TopicInfo> t = topics;
        Map<TopicPartition, PartitionLeader> l = leaders;
        long producerIds = nextProducerId;
        if (record instanceof MetadataRecord.RegisterBroker r) {
            b = with(brokers, r.broker().id(), r.broker());
        } else if (record instanceof MetadataRecord.UnregisterBroker r) {
            b = without(brokers, r.brokerId());
        } else if (record instanceof MetadataRecord.CreateTopic r) {
            if (!topics.containsKey(r.topic().name())) {
                t = with(topics, r.topic().name(), r.topic());
                l = withoutLeadersOf(r.topic().name());
            }
        } else if (record instanceof MetadataRecord.DeleteTopic r) {
            t = without(topics, r.name());
            l = withoutLeadersOf(r.name());
        } else if (record instanceof MetadataRecord.PartitionLeaders r) {
            l = withLeaders(r);
        } else if (record instanceof MetadataRecord.CreatePartitions r) {
            TopicInfo old = topics.get(r.topic());
            if (old != null) {
                List<List<String>> all = new ArrayList<>(old.assignments());
                all.addAll(r.added());
                t = with(topics, old.name(), new TopicInfo(old.name(), old.id(), all, old.configs()));
            }
        } else if (record instanceof MetadataRecord.AlterConfigs r) {
            TopicInfo old = topics.get(r.topic());
            if (old != null) {
                t = with(topics, old.name(), new TopicInfo(old.name(), old.id(), old.assignments(), r.configs()));
            }
        } else if (record instanceof MetadataRecord.ReassignReplicas r) {
            TopicInfo old = topics.get(r.topic());
            if (old != null && r.partition() >= 0 && r.partition() < old.partitionCount() && !r.replicas().isEmpty()
                    && new HashSet<>(r.replicas()).size() == r.replicas().size()) {
                List<List<String>> all = new ArrayList<>(old.assignments());
                all.set(r.partition(), List.copyOf(r.replicas()));
                t = with(topics, old.name(), new TopicInfo(old.name(), old.id(), all, old.configs()));
            }
        } else if (record instanceof MetadataRecord.ReorderReplicas r) {
            TopicInfo old = topics.get(r.topic());
            if (old != null && r.partition() >= 0 && r.partition() < old.partitionCount()
                    && new HashSet<>(old.assignments().get(r.partition())).equals(new HashSet<>(r.replicas()))) {
                List<List<String>> all = new ArrayList<>(old.assignments());
                all.set(r.partition(), r.replicas());
                t = with(topics, old.name(), new TopicInfo(old.name(), old.id(), all, old.configs()));
            }
        } else if (record instanceof MetadataRecord.AllocateProducerIds r) {
            if (r.firstProducerId() == nextProducerId && r.count() > 0) {
                producerIds = nextProducerId + r.count();
            }
        }
        return new MetadataImage(b, t, l, version + 1, producerIds);
    }

    private Map<TopicPartition, PartitionLeader> withoutLeadersOf(String topic) {
        if (leaders.keySet().stream().noneMatch(tp -> tp.topic().equals(topic))) {
            return leaders;
        }
        Map<TopicPartition, PartitionLeader> copy = new HashMap<>(leaders);
        copy.keySet().removeIf(tp -> tp.topic().equals(topic));
        return Map.copyOf(copy);
    }

    private Map<TopicPartition, PartitionLeader> withLeaders(MetadataRecord.PartitionLeaders r) {
        Map<TopicPartition, PartitionLeader> copy = new HashMap<>(leaders);
        for (MetadataRecord.LeaderEpoch e : r.leaders()) {
            TopicInfo topic = topics.get(e.topic());
            if (topic == null || e.partition() < 0 || e.partition() >= topic.partitionCount()
                    || e.topicId() != null && !e.topicId().equals(topic.id())) {
                continue;   // no such partition, or one of a deleted incarnation of the topic
            }
            TopicPartition tp = new TopicPartition(e.topic(), e.partition());
            PartitionLeader old = copy.get(tp);
            if (old == null || e.epoch() >= old.epoch()) {
                copy.put(tp, new PartitionLeader(r.brokerId(), e.epoch()));
            }
        }
        return Map.copyOf(copy);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MetadataImage m && version == m.version && nextProducerId == m.nextProducerId && brokers.equals(m.brokers) && topics.equals(m.topics)
                && leaders.equals(m.leaders);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(version) * 31 + topics.hashCode();
    }

    private static <V> Map<String, V> with(Map<String, V> map, String key, V value) {
        Map<String, V> copy = new HashMap<>(map);
        copy.put(key, value);
        return Map.copyOf(copy);
    }

    private static <V> Map<String, V> without(Map<String, V> map, String key) {
        if (!map.containsKey(key)) {
            return map;
        }
        Map<String, V> copy = new HashMap<>(map);
        copy.remove(key);
        return Map.copyOf(copy);
    }
}
