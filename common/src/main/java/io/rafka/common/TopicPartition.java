package io.rafka.common;

import java.util.Objects;

/** A topic name and partition number; its folder on disk is {@code <topic>-<partition>}. */
public record TopicPartition(String topic, int partition) {
    /** By topic name, then partition number: the order partitions are listed and written in. */
    public static final java.util.Comparator<TopicPartition> ORDER =
            java.util.Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition);

    public TopicPartition {
        Objects.requireNonNull(topic, "topic");
        if (partition < 0) {
            throw new IllegalArgumentException("partition must not be negative: " + partition);
        }
    }

    /** The name of the partition's folder, as Kafka names it. */
    public String dirName() {
        return topic + "-" + partition;
    }

    /** Parses {@code <topic>-<partition>}; the topic may itself contain '-'. */
    public static TopicPartition fromDirName(String name) {
        int dash = name.lastIndexOf('-');
        if (dash <= 0 || dash == name.length() - 1) {
            throw new IllegalArgumentException("not a partition folder name: " + name);
        }
        return new TopicPartition(name.substring(0, dash), Integer.parseInt(name.substring(dash + 1)));
    }

    @Override
    public String toString() {
        return dirName();
    }
}
