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
    /** Exactly one of the two is non-null. */
    void onCompletion(RecordMetadata metadata, Exception exception);
}
