package io.rafka.client.producer;

/**
 * Turns a key or value into bytes. Built-ins are in {@link Serializers}; a null stays null (no key, or a
 * tombstone value). Must be thread-safe: {@code send} may be called from many threads.
 *
 * <pre>{@code
 * Serializer<Order> orders = (topic, order) -> order == null ? null : order.toJson().getBytes(UTF_8);
 * }</pre>
 */
@FunctionalInterface
public interface Serializer<T> {
    byte[] serialize(String topic, T data);

    /**
     * Called once, before the first {@code serialize}, on a serializer the producer made from a class name in its
     * configs ({@code key.serializer}, {@code value.serializer}), with those configs, as Kafka's.
     */
    default void configure(java.util.Map<String, ?> configs, boolean isKey) {
    }
}
