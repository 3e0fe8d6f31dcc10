package io.rafka.metadata;

import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A topic as the metadata group holds it. {@code assignments.get(p)} lists partition p's replicas by broker
 * id; the first is the preferred leader.
 */
public record TopicInfo(String name, UUID id, List<List<String>> assignments, Map<String, String> configs) {
    public TopicInfo {
        assignments = assignments.stream().map(List::copyOf).toList();
        configs = Map.copyOf(configs);
    }

    public int partitionCount() {
        return assignments.size();
    }

    public int replicationFactor() {
        return assignments.isEmpty() ? 0 : assignments.get(0).size();
    }
}
