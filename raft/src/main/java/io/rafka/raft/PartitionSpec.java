package io.rafka.raft;

import io.rafka.common.TopicPartition;

import java.util.List;
import java.util.Objects;
import java.util.UUID;

/** A partition replica to host: which partition of which topic incarnation, and its replicas (preferred leader first). */
public record PartitionSpec(TopicPartition topicPartition, UUID topicId, List<NodeAddress> replicas) {
    public PartitionSpec {
        Objects.requireNonNull(topicPartition, "topicPartition");
        Objects.requireNonNull(topicId, "topicId");
        replicas = List.copyOf(replicas);
        if (replicas.isEmpty()) {
            throw new IllegalArgumentException("a partition needs at least one replica");
        }
        if (replicas.stream().map(NodeAddress::id).distinct().count() != replicas.size()) {
            throw new IllegalArgumentException("replicas must be distinct nodes: " + replicas);
        }
    }
}
