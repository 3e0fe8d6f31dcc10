package io.rafka.client.consumer;

import io.rafka.common.TopicPartition;
import io.rafka.record.Header;

import java.util.List;

/**
 * One record as {@link Consumer#poll} hands it out: where it is (topic, partition, offset), its timestamp, its
 * deserialized key and value (null when absent) and its headers.
 *
 * <pre>{@code
 * for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
 *     System.out.printf("%s-%d@%d %s=%s%n", r.topic(), r.partition(), r.offset(), r.key(), r.value());
 * }
 * }</pre>
 */
public record ConsumerRecord<K, V>(String topic, int partition, long offset, long timestampMs, K key, V value,
                                   List<Header> headers) {
    public ConsumerRecord {
        headers = headers == null ? List.of() : List.copyOf(headers);
    }

    /** A record without timestamp and headers (for {@link MockConsumer}). */
    public ConsumerRecord(String topic, int partition, long offset, K key, V value) {
        this(topic, partition, offset, -1, key, value, List.of());
    }

    public TopicPartition topicPartition() {
        return new TopicPartition(topic, partition);
    }
}
