package io.rafka.client.consumer;

/**
 * Thrown by the consumer call that was running (or the next one) after another thread called
 * {@link Consumer#wakeup()}: the way to stop a consumer blocked in {@code poll} from a shutdown hook.
 *
 * <pre>{@code
 * Runtime.getRuntime().addShutdownHook(new Thread(consumer::wakeup));
 * try { while (true) consumer.poll(Duration.ofSeconds(1)); } catch (WakeupException e) { } finally { consumer.close(); }
 * }</pre>
 */
public final class WakeupException extends RuntimeException {
    public WakeupException() {
        super("the consumer was woken up");
    }
}
