package io.rafka.client.consumer;

import io.rafka.client.group.GroupMemberConfig.OffsetReset;
import io.rafka.client.producer.Serializers;
import io.rafka.proto.v1.Assignor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConsumerConfigTest {

    @Test
    void readsKafkasKeys() {
        Properties props = new Properties();
        props.setProperty("bootstrap.servers", "a:1, b:2");
        props.setProperty("group.id", "billing");
        props.setProperty("group.instance.id", "host-1");
        props.setProperty("enable.auto.commit", "false");
        props.setProperty("auto.offset.reset", "earliest");
        props.setProperty("max.poll.records", "10");
        props.setProperty("fetch.max.bytes", "1048576");
        props.setProperty("max.partition.fetch.bytes", "65536");
        props.setProperty("fetch.min.bytes", "1024");
        props.setProperty("fetch.max.wait.ms", "250");
        props.setProperty("session.timeout.ms", "6000");
        props.setProperty("partition.assignment.strategy", "org.apache.kafka.clients.consumer.RangeAssignor");
        props.put("auto.commit.interval.ms", 250);
        ConsumerConfig c = ConsumerConfig.fromMap(io.rafka.client.internals.ConfigValues.toMap(props));
        assertEquals(List.of("a:1", "b:2"), c.bootstrapServers());
        assertEquals("billing", c.groupId());
        assertEquals("host-1", c.groupInstanceId());
        assertFalse(c.enableAutoCommit());
        assertEquals(OffsetReset.EARLIEST, c.autoOffsetReset());
        assertEquals(10, c.maxPollRecords());
        assertEquals(1048576, c.fetchMaxBytes());
        assertEquals(new io.rafka.client.internals.FetchSettings(1048576, 65536, 1024, 250, true), c.fetchSettings());
        assertEquals(6000, c.sessionTimeoutMs());
        assertEquals(Assignor.ASSIGNOR_RANGE, c.groupRemoteAssignor());
        assertEquals(250, c.autoCommitIntervalMs());
    }

    @Test
    void rejectsBadValues() {
        assertThrows(IllegalArgumentException.class, () -> ConsumerConfig.fromMap(Map.of("group.id", "g")));
        assertThrows(IllegalArgumentException.class, () -> ConsumerConfig.fromMap(Map.of("bootstrap.servers", "a:1",
                "auto.offset.reset", "smallest")));
        assertThrows(IllegalArgumentException.class, () -> ConsumerConfig.fromMap(Map.of("bootstrap.servers", "a:1",
                "max.poll.records", "0")));
        assertThrows(IllegalArgumentException.class, () -> ConsumerConfig.fromMap(Map.of("bootstrap.servers", "a:1",
                "max.partition.fetch.bytes", "0")));
        assertThrows(IllegalArgumentException.class, () -> ConsumerConfig.fromMap(Map.of("bootstrap.servers", "a:1",
                "fetch.max.wait.ms", "-1")));
        assertEquals(new io.rafka.client.internals.FetchSettings(50 << 20, 1 << 20, 1, 500, true),
                ConsumerConfig.defaults(List.of("a:1")).fetchSettings(), "Kafka's defaults");
        assertThrows(IllegalArgumentException.class, () -> ConsumerConfig.fromMap(Map.of("bootstrap.servers", "a:1",
                "group.remote.assignor", "sticky")));
        assertThrows(IllegalArgumentException.class, () -> ConsumerConfig.fromMap(Map.of("bootstrap.servers", "a:1",
                "group.instance.id", "x")));
    }

    @Test
    void deserializersReadWhatTheSerializersWrote() {
        assertEquals("héllo", Deserializers.string().deserialize("t", Serializers.string().serialize("t", "héllo")));
        assertEquals(-7, Deserializers.integer().deserialize("t", Serializers.integer().serialize("t", -7)));
        assertEquals(1L << 40, Deserializers.longs().deserialize("t", Serializers.longs().serialize("t", 1L << 40)));
        assertEquals(null, Deserializers.string().deserialize("t", null));
        assertThrows(IllegalArgumentException.class, () -> Deserializers.longs().deserialize("t", new byte[3]));
        Object byName = Deserializers.forClassName("org.apache.kafka.common.serialization.StringDeserializer");
        assertEquals("x", ((Deserializer<?>) byName).deserialize("t", new byte[]{'x'}));
    }

    /** A deserializer a config file names by its class: the consumer makes it and configures it with its configs. */
    public static final class Reversed implements Deserializer<String> {
        static final List<String> CONFIGURED = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public String deserialize(String topic, byte[] data) {
            return data == null ? null : new StringBuilder(new String(data, java.nio.charset.StandardCharsets.UTF_8))
                    .reverse().toString();
        }

        @Override
        public void configure(Map<String, ?> configs, boolean isKey) {
            CONFIGURED.add((isKey ? "key:" : "value:") + configs.get("group.id"));
        }
    }

    @Test
    void propertiesNameAnyDeserializerClass() {
        Properties props = new Properties();
        props.setProperty("bootstrap.servers", "127.0.0.1:1");
        props.setProperty("group.id", "g");
        props.setProperty("key.deserializer", Reversed.class.getName());
        props.setProperty("value.deserializer", "StringDeserializer");
        try (RafkaConsumer<String, String> consumer = new RafkaConsumer<>(props)) {
            assertEquals(List.of("key:g"), Reversed.CONFIGURED);
        }
        assertEquals("cba", ((Deserializer<?>) Deserializers.forClassName("key.deserializer", Reversed.class.getName(),
                Map.of())).deserialize("t", "abc".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        props.setProperty("key.deserializer", Integer.class.getName());
        IllegalArgumentException notOne = assertThrows(IllegalArgumentException.class, () -> new RafkaConsumer<>(props));
        assertTrue(notOne.getMessage().contains("key.deserializer: java.lang.Integer does not implement"), notOne.getMessage());
    }
}
