package io.rafka.server.broker;

/** The answer to an {@link OffsetQuery}: -1 offset (and timestamp) when there is none or on error. */
public record ListedOffset(String topic, int partition, long offset, long timestampMs, PartitionError error) {
}
