package io.rafka.client.admin;

import java.util.Map;

/**
 * A topic to create. Zero partitions or replication factor means the broker's default ({@code num.partitions},
 * {@code default.replication.factor}); configs are topic overrides such as {@code retention.ms}.
 *
 * <pre>{@code
 * admin.createTopics(List.of(new NewTopic("orders", 6, 3).withConfigs(Map.of("retention.ms", "86400000")))).join();
 * }</pre>
 */
public record NewTopic(String name, int partitions, int replicationFactor, Map<String, String> configs) {
    public NewTopic {
        configs = configs == null ? Map.of() : Map.copyOf(configs);
        if (name == null || name.isEmpty() || partitions < 0 || replicationFactor < 0) {
            throw new IllegalArgumentException("a topic needs a name and non-negative counts");
        }
    }

    public NewTopic(String name, int partitions, int replicationFactor) {
        this(name, partitions, replicationFactor, Map.of());
    }

    public NewTopic withConfigs(Map<String, String> configs) {
        return new NewTopic(name, partitions, replicationFactor, configs);
    }
}
