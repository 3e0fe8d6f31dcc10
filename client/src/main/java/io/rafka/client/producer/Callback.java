package io.rafka.client.producer;

/**
 * Told once whether a record was delivered, on the producer's I/O thread or the thread that received the broker's
 * answer (one callback at a time, a partition's in send order): keep it short (hand heavy work to an executor), and
 * do not block on other sends there; {@code flush()} from a callback throws IllegalStateException, and
 * {@code close()} from one fails what is unacknowledged instead of waiting.
 *
 * <pre>{@code
 * producer.send(record, (metadata, error) -> {
 *     if (error != null) log.warn("not delivered", error);
 * });
 * }</pre>
 */
@FunctionalInterface
public interface Callback {
    /**
     * @param metadata  where the record was written; on failure, as Kafka's producer has it, never null either: its
     *                  topic and partition (-1 when the failure came before a partition was chosen), offset and
     *                  timestamp -1
     * @param exception null when the record was written, else why it was not (or may not have been)
     */
    void onCompletion(RecordMetadata metadata, Exception exception);
}
