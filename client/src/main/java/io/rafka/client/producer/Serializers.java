package io.rafka.client.producer;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * <pre>{@code
 * RafkaProducer<Long, byte[]> producer = RafkaProducer.builder(Serializers.longs(), Serializers.bytes())
 *         .bootstrap("127.0.0.1:9192").build();
 * }</pre>
 *
 * The built-in {@link Serializer}s, with the byte layouts of Kafka's (so consumers written for Kafka read them):
 * strings as UTF-8, integers and longs big-endian, UUIDs as their string form.
 */
public final class Serializers {
    private Serializers() {
    }

    public static Serializer<byte[]> bytes() {
        return (topic, data) -> data;
    }

    public static Serializer<String> string() {
        return (topic, data) -> data == null ? null : data.getBytes(StandardCharsets.UTF_8);
    }

    public static Serializer<Integer> integer() {
        return (topic, data) -> data == null ? null : ByteBuffer.allocate(Integer.BYTES).putInt(data).array();
    }

    public static Serializer<Long> longs() {
        return (topic, data) -> data == null ? null : ByteBuffer.allocate(Long.BYTES).putLong(data).array();
    }

    public static Serializer<UUID> uuid() {
        return (topic, data) -> data == null ? null : data.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Picks a built-in by the class name Kafka's configs use (e.g. {@code StringSerializer}), for Properties. */
    static Serializer<?> forClassName(String name) {
        return forClassName("serializer", name, java.util.Map.of());
    }

    /**
     * What {@code key} (key.serializer or value.serializer) names: a built-in by Kafka's class name (simple, or in
     * Kafka's {@code org.apache.kafka.common.serialization} package), else a new instance of the named class, which
     * must implement {@link Serializer} (Kafka's own interface is not Rafka's), configured with {@code configs}.
     */
    static Serializer<?> forClassName(String key, String name, java.util.Map<String, ?> configs) {
        String simple = name.substring(name.lastIndexOf('.') + 1);
        if (simple.equals(name) || name.equals(KAFKA_PACKAGE + simple)) {
            return switch (simple) {
                case "ByteArraySerializer" -> bytes();
                case "StringSerializer" -> string();
                case "IntegerSerializer" -> integer();
                case "LongSerializer" -> longs();
                case "UUIDSerializer" -> uuid();
                default -> throw new IllegalArgumentException(key + ": unknown serializer " + name + " (built in: Kafka's"
                        + " ByteArraySerializer, StringSerializer, IntegerSerializer, LongSerializer, UUIDSerializer; or the"
                        + " name of a class implementing " + Serializer.class.getName() + ")");
            };
        }
        Serializer<?> made = io.rafka.client.internals.ConfigValues.instance(key, name, Serializer.class);
        made.configure(configs, key.startsWith("key"));
        return made;
    }

    private static final String KAFKA_PACKAGE = "org.apache.kafka.common.serialization.";
}
