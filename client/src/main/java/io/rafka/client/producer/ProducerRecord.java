package io.rafka.client.producer;

import io.rafka.record.Header;

import java.util.List;
import java.util.Objects;

/**
 * A record to send: its topic, optionally a partition (else the {@link Partitioner} picks one), a key (records
 * with equal keys share a partition and stay in order), a value, a timestamp (null = when it is sent) and headers.
 *
 * <pre>{@code
 * new ProducerRecord<>("orders", "customer-42", "{\"total\": 12}")
 * }</pre>
 */
public record ProducerRecord<K, V>(String topic, Integer partition, Long timestampMs, K key, V value, List<Header> headers) {
    public ProducerRecord {
        Objects.requireNonNull(topic, "topic");
        if (partition != null && partition < 0) {
            throw new IllegalArgumentException("partition " + partition + " is negative");
        }
        if (timestampMs != null && timestampMs < 0) {
            throw new IllegalArgumentException("timestamp " + timestampMs + " is negative");
        }
        headers = headers == null ? List.of() : List.copyOf(headers);
    }

    public ProducerRecord(String topic, K key, V value) {
        this(topic, null, null, key, value, List.of());
    }

    public ProducerRecord(String topic, V value) {
        this(topic, null, null, null, value, List.of());
    }

    public ProducerRecord(String topic, Integer partition, K key, V value) {
        this(topic, partition, null, key, value, List.of());
    }
}
