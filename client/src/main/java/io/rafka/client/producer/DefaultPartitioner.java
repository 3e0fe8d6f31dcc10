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
 * clients compute it, so a key lands on the same partition whichever client wrote it. Keyless records go to the
 * topic's current sticky partition, which moves on to the next one once {@code batch.size} bytes went to it (or
 * its batch is full), as Kafka's uniform sticky partitioner does since 3.3 (KIP-794): a partition gets full batches
 * however short {@code linger.ms} is, and a slow producer touches few partitions (moving on at every linger
 * expiry, 300 small records a second woke ~200 hibernated partitions a second). The first sticky partition is
 * random, so that many short-lived producers do not all start on partition 0. Thread-safe.
 */
public final class DefaultPartitioner implements Partitioner {
    private record Sticky(int partition, long bytes) {
    }

    private final ConcurrentHashMap<String, Sticky> sticky = new ConcurrentHashMap<>();

    @Override
    public int partition(String topic, byte[] keyBytes, int partitionCount) {
        if (keyBytes != null) {
            return Murmur2.partition(keyBytes, partitionCount);
        }
        int p = sticky.computeIfAbsent(topic, t -> new Sticky(ThreadLocalRandom.current().nextInt(partitionCount), 0)).partition();
        return p < partitionCount ? p : p % partitionCount;
    }

    @Override
    public void onAppend(String topic, int partition, int bytes, int batchSizeBytes, int partitionCount) {
        sticky.computeIfPresent(topic, (t, s) -> s.partition() % partitionCount != partition ? s
                : s.bytes() + bytes >= batchSizeBytes ? new Sticky((partition + 1) % partitionCount, 0)
                : new Sticky(s.partition(), s.bytes() + bytes));
    }

    @Override
    public void onBatchClosed(String topic, int partition, int partitionCount) {
        sticky.computeIfPresent(topic, (t, s) -> s.partition() % partitionCount == partition
                ? new Sticky((partition + 1) % partitionCount, 0) : s);
    }
}
