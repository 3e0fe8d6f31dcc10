package io.rafka.client;

/**
 * The calling thread was interrupted while a client call waited (a producer's {@code send} for buffer memory, its
 * {@code flush}, a consumer's {@code poll} or {@code commitSync}), as Kafka's {@code InterruptException}: the call
 * ends at once and the thread's interrupt flag is set again, for the code above it to see.
 */
public class InterruptException extends RuntimeException {

    public InterruptException(String message, InterruptedException cause) {
        super(message, cause);
        Thread.currentThread().interrupt();
    }
}
