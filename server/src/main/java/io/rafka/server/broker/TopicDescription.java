package io.rafka.server.broker;

import java.util.List;
import java.util.Map;

/**
 * A topic as the metadata image has it, with each partition's leader as this broker knows it; for a topic
 * that does not exist only {@code name} and {@code error} are set.
 */
public record TopicDescription(String name, String topicId, int replicationFactor, Map<String, String> configs,
                               List<PartitionDescription> partitions, Throwable error) {

    /** {@code leaderId} null when no leader is known. */
    public record PartitionDescription(int partition, List<String> replicas, String leaderId) {
    }
}
