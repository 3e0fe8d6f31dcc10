package io.rafka.server.broker;

import java.util.Map;

/** A topic to create; {@code partitions} or {@code replicationFactor} 0 take the broker's defaults. */
public record NewTopic(String name, int partitions, int replicationFactor, Map<String, String> configs) {
}
