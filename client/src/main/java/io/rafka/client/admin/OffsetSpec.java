package io.rafka.client.admin;

/**
 * Which offset {@code listOffsets} looks up: the log start, the end (high watermark), or the first offset at or
 * after a timestamp.
 *
 * <pre>{@code
 * Map<TopicPartition, Long> ends = admin.listOffsets(partitions, OffsetSpec.latest()).join();
 * }</pre>
 */
public record OffsetSpec(long timestampMs) {
    public static OffsetSpec earliest() {
        return new OffsetSpec(io.rafka.client.internals.PartitionFetcher.EARLIEST);
    }

    public static OffsetSpec latest() {
        return new OffsetSpec(io.rafka.client.internals.PartitionFetcher.LATEST);
    }

    public static OffsetSpec forTimestamp(long timestampMs) {
        if (timestampMs < 0) {
            throw new IllegalArgumentException("a timestamp is not negative");
        }
        return new OffsetSpec(timestampMs);
    }
}
