package io.rafka.client.producer;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * <pre>{@code
 * RafkaProducer.builder(Serializers.string(), Serializers.string()).partitioner(new RoundRobinPartitioner())
 * }</pre>
 *
 * Kafka's {@code RoundRobinPartitioner}: records sent without a partition go to the topic's partitions in turn,
 * keyed or not (keys do not pick partitions: a key's records spread over all of them). For an even spread of
 * records rather than of batches; the default partitioner makes fuller batches. Thread-safe.
 */
public final class RoundRobinPartitioner implements Partitioner {
    private final ConcurrentHashMap<String, AtomicInteger> next = new ConcurrentHashMap<>();

    @Override
    public int partition(String topic, byte[] keyBytes, int partitionCount) {
        int turn = next.computeIfAbsent(topic, t -> new AtomicInteger()).getAndIncrement();
        return (turn & Integer.MAX_VALUE) % partitionCount;
    }
}
