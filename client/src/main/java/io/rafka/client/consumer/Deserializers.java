package io.rafka.client.consumer;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * <pre>{@code
 * RafkaConsumer<String, Long> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.longs())
 *         .bootstrap("127.0.0.1:9192").groupId("billing").build();
 * }</pre>
 *
 * The built-in {@link Deserializer}s, reading the byte layouts of Kafka's serializers (and of the producer's
 * {@code Serializers}): strings as UTF-8, integers and longs big-endian.
 */
public final class Deserializers {
    private Deserializers() {
    }

    public static Deserializer<byte[]> bytes() {
        return (topic, data) -> data;
    }

    public static Deserializer<String> string() {
        return (topic, data) -> data == null ? null : new String(data, StandardCharsets.UTF_8);
    }

    public static Deserializer<Integer> integer() {
        return (topic, data) -> data == null ? null : ByteBuffer.wrap(exactly(data, Integer.BYTES)).getInt();
    }

    public static Deserializer<Long> longs() {
        return (topic, data) -> data == null ? null : ByteBuffer.wrap(exactly(data, Long.BYTES)).getLong();
    }

    private static byte[] exactly(byte[] data, int size) {
        if (data.length != size) {
            throw new IllegalArgumentException("expected " + size + " bytes, got " + data.length);
        }
        return data;
    }

    /** Picks a built-in by the class name Kafka's configs use (e.g. {@code StringDeserializer}), for Properties. */
    static Deserializer<?> forClassName(String name) {
        return forClassName("deserializer", name, java.util.Map.of());
    }

    /**
     * What {@code key} (key.deserializer or value.deserializer) names: a built-in by Kafka's class name (simple, or
     * in Kafka's {@code org.apache.kafka.common.serialization} package), else a new instance of the named class, which
     * must implement {@link Deserializer} (Kafka's own interface is not Rafka's), configured with {@code configs}.
     */
    static Deserializer<?> forClassName(String key, String name, java.util.Map<String, ?> configs) {
        String simple = name.substring(name.lastIndexOf('.') + 1);
        if (simple.equals(name) || name.equals(KAFKA_PACKAGE + simple)) {
            return switch (simple) {
                case "ByteArrayDeserializer" -> bytes();
                case "StringDeserializer" -> string();
                case "IntegerDeserializer" -> integer();
                case "LongDeserializer" -> longs();
                default -> throw new IllegalArgumentException(key + ": unknown deserializer " + name + " (built in: Kafka's"
                        + " ByteArrayDeserializer, StringDeserializer, IntegerDeserializer, LongDeserializer; or the name of a"
                        + " class implementing " + Deserializer.class.getName() + ")");
            };
        }
        Deserializer<?> made = io.rafka.client.internals.ConfigValues.instance(key, name, Deserializer.class);
        made.configure(configs, key.startsWith("key"));
        return made;
    }

    private static final String KAFKA_PACKAGE = "org.apache.kafka.common.serialization.";
}
