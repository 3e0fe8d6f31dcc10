package io.rafka.client.cli;

/** A partition of a topic: the unit that has a leader, a log and an offset. */
record TopicPartition(String topic, int partition) {

    /** Kafka's spelling, {@code topic-partition}, as it names the partition's folder on disk. */
    @Override
    public String toString() {
        return topic + "-" + partition;
    }
}
