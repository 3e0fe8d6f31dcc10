package io.rafka.client.producer;

/**
 * Where an acknowledged record was written. {@code offset} is -1 with {@link Acks#NONE}; {@code timestampMs}
 * is the broker's append time for topics using LogAppendTime, else the record's own (create) time.
 */
public record RecordMetadata(String topic, int partition, long offset, long timestampMs) {
}
