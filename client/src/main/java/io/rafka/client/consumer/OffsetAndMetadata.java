package io.rafka.client.consumer;

/**
 * An offset to commit: the next record to consume (the last processed offset plus one), as in Kafka, with an
 * optional metadata string stored beside it (at most the coordinator's {@code group.offset.metadata.max.bytes})
 * and returned by {@code committed}.
 *
 * <pre>{@code
 * consumer.commitSync(Map.of(new TopicPartition("orders", 0), new OffsetAndMetadata(record.offset() + 1)));
 * }</pre>
 */
public record OffsetAndMetadata(long offset, String metadata) {
    public OffsetAndMetadata {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must not be negative: " + offset);
        }
        metadata = metadata == null ? "" : metadata;
    }

    public OffsetAndMetadata(long offset) {
        this(offset, "");
    }
}
