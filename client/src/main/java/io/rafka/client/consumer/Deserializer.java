package io.rafka.client.consumer;

/**
 * Turns a record's key or value bytes back into an object. Built-ins are in {@link Deserializers}; a null
 * (no key, a tombstone value) is passed as null.
 *
 * <pre>{@code
 * Deserializer<Order> orders = (topic, bytes) -> bytes == null ? null : Order.fromJson(new String(bytes, UTF_8));
 * }</pre>
 */
@FunctionalInterface
public interface Deserializer<T> {
    T deserialize(String topic, byte[] data);

    /**
     * Called once, before the first {@code deserialize}, on a deserializer the consumer made from a class name in its
     * configs ({@code key.deserializer}, {@code value.deserializer}), with those configs, as Kafka's.
     */
    default void configure(java.util.Map<String, ?> configs, boolean isKey) {
    }
}
