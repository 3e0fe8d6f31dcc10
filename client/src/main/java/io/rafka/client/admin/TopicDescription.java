package io.rafka.client.admin;

import java.util.List;
import java.util.Map;

/**
 * A topic as placed: its id, replication factor, partitions with their replicas and leader, and its own config
 * overrides.
 *
 * <pre>{@code
 * TopicDescription orders = admin.describeTopics(List.of("orders")).join().get("orders");
 * int partitions = orders.partitions().size();
 * }</pre>
 */
public record TopicDescription(String name, String topicId, int replicationFactor, List<PartitionInfo> partitions,
                               Map<String, String> configs) {

    /** @param leader the leader's broker id; empty while not known */
    public record PartitionInfo(int partition, String leader, List<String> replicas) {
    }

    static TopicDescription of(io.rafka.proto.v1.TopicDescription proto) {
        return new TopicDescription(proto.getName(), proto.getTopicId(), proto.getReplicationFactor(),
                proto.getPartitionsList().stream().map(p -> new PartitionInfo(p.getPartition(), p.getLeaderId(),
                        List.copyOf(p.getReplicasList()))).toList(), Map.copyOf(proto.getConfigsMap()));
    }
}
