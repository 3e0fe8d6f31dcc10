package io.rafka.client.producer;

/**
 * <pre>{@code
 * RecordMetadata m = producer.send(record).join();
 * log.info("written to {}-{} at offset {}", m.topic(), m.partition(), m.offset());
 * }</pre>
 *
 * Where an acknowledged record was written. {@code offset} is -1 with {@link Acks#NONE}, and for an idempotent
 * retry the partition recognised as written by an earlier attempt but no longer remembered the offsets of
 * (DUPLICATE_SEQUENCE_NUMBER: older than the last five batches of the producer there); {@code timestampMs}
 * is the broker's append time for topics using LogAppendTime, else the record's own (create) time.
 */
public record RecordMetadata(String topic, int partition, long offset, long timestampMs) {
    /** What a callback is told for a record that failed (Kafka's "empty metadata"): offset and timestamp -1. */
    public static RecordMetadata failed(String topic, int partition) {
        return new RecordMetadata(topic, partition, -1, -1);
    }
}
