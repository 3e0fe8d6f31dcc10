package io.rafka.client.producer;

/**
 * Picks the partition of a record sent without one. The default ({@link DefaultPartitioner}) is Kafka's: keyed
 * records by murmur2 of the key, keyless ones to a sticky partition that moves on after a batch's worth of bytes.
 * Implementations must be thread-safe.
 *
 * <pre>{@code
 * Partitioner byRegion = (topic, keyBytes, partitions) -> regionOf(keyBytes) % partitions;
 * }</pre>
 */
@FunctionalInterface
public interface Partitioner {
    /**
     * @param keyBytes       the serialized key, or null for none
     * @param partitionCount the topic's partitions now (at least 1)
     * @return a partition in {@code 0 .. partitionCount - 1}
     */
    int partition(String topic, byte[] keyBytes, int partitionCount);

    /** The open batch of {@code partition} is full (the next record starts a new one): a sticky choice may move on. */
    default void onBatchClosed(String topic, int partition, int partitionCount) {
    }

    /**
     * A record without a key, {@code bytes} long, went into {@code partition}'s open batch; {@code batchSizeBytes}
     * is the producer's {@code batch.size}. A sticky choice may move on.
     */
    default void onAppend(String topic, int partition, int bytes, int batchSizeBytes, int partitionCount) {
    }
}
