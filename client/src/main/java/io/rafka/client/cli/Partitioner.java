package io.rafka.client.cli;

import io.rafka.client.producer.internals.Murmur2;

/**
 * Picks the partition of each produced record, as Kafka's default partitioner does:
 * <ul>
 *   <li>a fixed partition when the user named one;</li>
 *   <li>a keyed record goes to {@code murmur2(key) % partitions} ({@link Murmur2}), so equal keys share a
 *       partition and stay ordered;</li>
 *   <li>an unkeyed record goes to the current "sticky" partition, which moves on round-robin each time
 *       its batch is closed (full or sent). Filling one batch at a time makes fewer, larger requests
 *       than spreading every record, while still spreading the load over time.</li>
 * </ul>
 * The partition count is taken once, when the command starts. Not thread-safe.
 */
final class Partitioner {

    private final int partitionCount;
    private final int fixedPartition;
    private int stickyPartition;

    private Partitioner(int partitionCount, int fixedPartition, int firstStickyPartition) {
        if (partitionCount <= 0) {
            throw new IllegalArgumentException("partition count " + partitionCount);
        }
        this.partitionCount = partitionCount;
        this.fixedPartition = fixedPartition;
        this.stickyPartition = Math.floorMod(firstStickyPartition, partitionCount);
    }

    /** Every record to {@code partition}, keyed or not. */
    static Partitioner fixed(int partitionCount, int partition) {
        if (partition < 0 || partition >= partitionCount) {
            throw new IllegalArgumentException("partition " + partition + " is not in 0.." + (partitionCount - 1));
        }
        return new Partitioner(partitionCount, partition, partition);
    }

    /**
     * Keyed records by hash, unkeyed ones sticky starting at {@code firstStickyPartition} (random in
     * production so that many short-lived producers do not all start on partition 0).
     */
    static Partitioner hashing(int partitionCount, int firstStickyPartition) {
        return new Partitioner(partitionCount, -1, firstStickyPartition);
    }

    /** @param key the record's key, or null for none */
    int partition(byte[] key) {
        if (fixedPartition >= 0) {
            return fixedPartition;
        }
        return key == null ? stickyPartition : Murmur2.partition(key, partitionCount);
    }

    /** A batch of {@code partition} was closed: if it was the sticky one, unkeyed records move on. */
    void batchClosed(int partition) {
        if (partition == stickyPartition) {
            stickyPartition = (stickyPartition + 1) % partitionCount;
        }
    }

    int partitionCount() {
        return partitionCount;
    }
}
