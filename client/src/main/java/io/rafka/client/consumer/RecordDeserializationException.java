package io.rafka.client.consumer;

import io.rafka.common.ErrorCode;
import io.rafka.common.TopicPartition;

/**
 * <pre>{@code
 * try {
 *     records = consumer.poll(Duration.ofSeconds(1));
 * } catch (RecordDeserializationException e) {
 *     deadLetters.add(e.partition(), e.offset());
 *     consumer.seek(e.partition(), e.offset() + 1);   // skip it, or stop: nothing past it was handed out
 * }
 * }</pre>
 *
 * A record's key or value could not be deserialized. The consumer's position in that partition stays at the
 * record (so a commit never moves past it unseen), records of the same poll before it were returned by that poll,
 * and every other partition is rewound to what was handed out; the application decides whether to skip it (seek
 * past it) or stop. As Kafka's. INVALID_RECORD.
 */
public class RecordDeserializationException extends ConsumerException {
    private final TopicPartition partition;
    private final long offset;

    public RecordDeserializationException(TopicPartition partition, long offset, Throwable cause) {
        super(ErrorCode.INVALID_RECORD, ErrorCode.INVALID_RECORD.name(),
                "could not deserialize the record at offset " + offset + " of " + partition + ": " + cause, cause);
        this.partition = partition;
        this.offset = offset;
    }

    public TopicPartition partition() {
        return partition;
    }

    public long offset() {
        return offset;
    }
}
