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
        String simple = name.substring(name.lastIndexOf('.') + 1);
        return switch (simple) {
            case "ByteArraySerializer" -> bytes();
            case "StringSerializer" -> string();
            case "IntegerSerializer" -> integer();
            case "LongSerializer" -> longs();
            case "UUIDSerializer" -> uuid();
            default -> throw new IllegalArgumentException("unknown serializer " + name);
        };
    }
}
