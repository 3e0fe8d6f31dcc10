package io.rafka.client.consumer;

import io.rafka.client.internals.Fetched;
import io.rafka.common.TopicPartition;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one {@link Consumer#poll} returned, grouped by partition, in offset order within each partition.
 * Immutable.
 *
 * <pre>{@code
 * ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(500));
 * for (TopicPartition tp : records.partitions()) {
 *     List<ConsumerRecord<String, String>> batch = records.records(tp);
 *     long next = batch.get(batch.size() - 1).offset() + 1;
 * }
 * }</pre>
 */
public final class ConsumerRecords<K, V> implements Iterable<ConsumerRecord<K, V>> {
    private final Map<TopicPartition, List<ConsumerRecord<K, V>>> byPartition;
    private final int count;

    public ConsumerRecords(Map<TopicPartition, List<ConsumerRecord<K, V>>> byPartition) {
        Map<TopicPartition, List<ConsumerRecord<K, V>>> copy = new LinkedHashMap<>();
        int n = 0;
        for (Map.Entry<TopicPartition, List<ConsumerRecord<K, V>>> e : byPartition.entrySet()) {
            if (!e.getValue().isEmpty()) {
                copy.put(e.getKey(), List.copyOf(e.getValue()));
                n += e.getValue().size();
            }
        }
        this.byPartition = java.util.Collections.unmodifiableMap(copy);
        this.count = n;
    }

    public static <K, V> ConsumerRecords<K, V> empty() {
        return new ConsumerRecords<>(Map.of());
    }

    /** The records of one partition; empty when it returned none. */
    public List<ConsumerRecord<K, V>> records(TopicPartition tp) {
        return byPartition.getOrDefault(tp, List.of());
    }

    /** The records of one topic, partition by partition. */
    public List<ConsumerRecord<K, V>> records(String topic) {
        List<ConsumerRecord<K, V>> result = new ArrayList<>();
        byPartition.forEach((tp, records) -> {
            if (tp.topic().equals(topic)) {
                result.addAll(records);
            }
        });
        return result;
    }

    /** The partitions that returned records. */
    public Set<TopicPartition> partitions() {
        return byPartition.keySet();
    }

    public int count() {
        return count;
    }

    public boolean isEmpty() {
        return count == 0;
    }

    @Override
    public Iterator<ConsumerRecord<K, V>> iterator() {
        return byPartition.values().stream().flatMap(List::stream).iterator();
    }
}
