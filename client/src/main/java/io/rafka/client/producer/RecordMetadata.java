package io.rafka.client.producer;

/**
 * <pre>{@code
 * RecordMetadata m = producer.send(record).join();
 * log.info("written to {}-{} at offset {}", m.topic(), m.partition(), m.offset());
 * }</pre>
 *
 * Where an acknowledged record was written. {@code offset} is -1 with {@link Acks#NONE}; {@code timestampMs}
 * is the broker's append time for topics using LogAppendTime, else the record's own (create) time.
 */
public record RecordMetadata(String topic, int partition, long offset, long timestampMs) {
}
