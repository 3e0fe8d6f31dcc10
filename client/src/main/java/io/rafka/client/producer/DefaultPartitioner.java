package io.rafka.client.producer;

import io.rafka.client.producer.internals.Murmur2;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * <pre>{@code
 * int p = new DefaultPartitioner().partition("orders", "customer-42".getBytes(UTF_8), 12);  // as Kafka's clients
 * }</pre>
 *
 * Kafka's built-in partitioning: a keyed record goes to {@code murmur2(key) % partitions}, exactly as Kafka's
 * clients compute it, so a key lands on the same partition whichever client wrote it. A keyless record goes to
 * the topic's current sticky partition, which moves on to the next one when a batch of it closes: few large
 * batches rather than many small ones, and the load still spreads over time. The first sticky partition is
 * random, so that many short-lived producers do not all start on partition 0. Thread-safe.
 */
public final class DefaultPartitioner implements Partitioner {
    private final ConcurrentHashMap<String, Integer> sticky = new ConcurrentHashMap<>();

    @Override
    public int partition(String topic, byte[] keyBytes, int partitionCount) {
        if (keyBytes != null) {
            return Murmur2.partition(keyBytes, partitionCount);
        }
        int p = sticky.computeIfAbsent(topic, t -> ThreadLocalRandom.current().nextInt(partitionCount));
        return p < partitionCount ? p : p % partitionCount;
    }

    @Override
    public void onBatchClosed(String topic, int partition, int partitionCount) {
        sticky.computeIfPresent(topic, (t, p) -> p == partition ? (p + 1) % partitionCount : p);
    }
}
