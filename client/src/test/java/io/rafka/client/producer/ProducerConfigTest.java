package io.rafka.client.producer;

import io.rafka.record.CompressionType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProducerConfigTest {
    @Test
    void readsKafkasConfigNames() {
        ProducerConfig c = ProducerConfig.fromMap(Map.ofEntries(
                Map.entry("bootstrap.servers", "a:1, b:2"), Map.entry("acks", "-1"), Map.entry("linger.ms", "7"),
                Map.entry("batch.size", 1000), Map.entry("buffer.memory", "2048000"), Map.entry("max.block.ms", "10"),
                Map.entry("compression.type", "zstd"), Map.entry("enable.idempotence", "false"),
                Map.entry("delivery.timeout.ms", "60000"), Map.entry("request.timeout.ms", "5000"), Map.entry("retries", "3"),
                Map.entry("retry.backoff.ms", "20"), Map.entry("max.in.flight.requests.per.connection", "9"),
                Map.entry("metadata.max.age.ms", "1500"), Map.entry("partitioner.class", DefaultPartitioner.class.getName())));
        assertEquals(List.of("a:1", "b:2"), c.bootstrapServers());
        assertEquals(Acks.ALL, c.acks());
        assertEquals(7, c.lingerMs());
        assertEquals(1000, c.batchSizeBytes());
        assertEquals(2048000, c.bufferMemoryBytes());
        assertEquals(10, c.maxBlockMs());
        assertEquals(CompressionType.ZSTD, c.compression());
        assertFalse(c.idempotence());
        assertEquals(60000, c.deliveryTimeoutMs());
        assertEquals(5000, c.requestTimeoutMs());
        assertEquals(3, c.retries());
        assertEquals(20, c.retryBackoffMs());
        assertEquals(9, c.maxInFlight());
        assertEquals(1500, c.metadataMaxAgeMs());
        assertInstanceOf(DefaultPartitioner.class, c.partitioner());
    }

    @Test
    void defaultsAreKafkasAndIdempotent() {
        ProducerConfig c = ProducerConfig.fromMap(Map.of("bootstrap.servers", "h:9"));
        assertTrue(c.idempotence());
        assertEquals(Acks.ALL, c.acks());
        assertEquals(16_384, c.batchSizeBytes());
        assertEquals(120_000, c.deliveryTimeoutMs());
        assertEquals(5, c.maxInFlight());
        assertEquals(300_000, c.metadataMaxAgeMs());
    }

    /**
     * As Kafka's producer since 3.2: idempotence set to true needs acks=all, retries and at most 5 in flight; left
     * unset, settings that rule it out turn it off instead of failing (a Kafka config with acks=1 keeps working).
     */
    @Test
    void idempotenceNeedsAcksAllAndFewInFlight() {
        assertThrows(IllegalArgumentException.class, () -> RafkaProducer.builder(Serializers.bytes(), Serializers.bytes())
                .bootstrap("h:1").idempotence(true).acks(Acks.LEADER).config());
        assertThrows(IllegalArgumentException.class, () -> RafkaProducer.builder(Serializers.bytes(), Serializers.bytes())
                .bootstrap("h:1").idempotence(true).maxInFlightRequestsPerConnection(6).config());
        assertEquals(Acks.NONE, RafkaProducer.builder(Serializers.bytes(), Serializers.bytes())
                .bootstrap("h:1").idempotence(false).acks(Acks.NONE).config().acks());
        assertFalse(RafkaProducer.builder(Serializers.bytes(), Serializers.bytes()).bootstrap("h:1").acks(Acks.LEADER)
                .config().idempotence());
        assertFalse(RafkaProducer.builder(Serializers.bytes(), Serializers.bytes()).bootstrap("h:1")
                .maxInFlightRequestsPerConnection(6).config().idempotence());
        assertTrue(RafkaProducer.builder(Serializers.bytes(), Serializers.bytes()).bootstrap("h:1").config().idempotence());
        for (Map<String, String> conflicting : List.of(Map.of("acks", "1"), Map.of("acks", "0"), Map.of("retries", "0"),
                Map.of("max.in.flight.requests.per.connection", "6"))) {
            Map<String, String> props = new java.util.HashMap<>(conflicting);
            props.put("bootstrap.servers", "h:1");
            assertFalse(ProducerConfig.fromMap(props).idempotence(), props.toString());
            props.put("enable.idempotence", "true");
            assertThrows(IllegalArgumentException.class, () -> ProducerConfig.fromMap(props), props.toString());
        }
        assertTrue(ProducerConfig.fromMap(Map.of("bootstrap.servers", "h:1", "acks", "all")).idempotence());
        assertThrows(IllegalArgumentException.class, () -> ProducerConfig.fromMap(Map.of()));
        assertThrows(IllegalArgumentException.class, () -> ProducerConfig.fromMap(Map.of("bootstrap.servers", "h:1",
                "linger.ms", "soon")));
    }

    @Test
    @SuppressWarnings("unchecked")
    void propertiesNameBuiltInSerializersByKafkasClassNames() {
        Properties p = new Properties();
        p.setProperty("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        assertEquals("x", new String(((Serializer<String>) Serializers.forClassName(p.getProperty("key.serializer")))
                .serialize("t", "x"), java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(8, Serializers.longs().serialize("t", 1L).length);
        assertThrows(IllegalArgumentException.class, () -> Serializers.forClassName("com.example.Custom"));
    }

    /** A serializer a config file names by its class: the producer makes it and configures it with its configs. */
    public static final class Shouting implements Serializer<String> {
        static final List<String> CONFIGURED = new java.util.concurrent.CopyOnWriteArrayList<>();
        private String suffix = "";

        @Override
        public byte[] serialize(String topic, String data) {
            return data == null ? null : (data.toUpperCase() + suffix).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }

        @Override
        public void configure(Map<String, ?> configs, boolean isKey) {
            suffix = String.valueOf(configs.get("shouting.suffix"));
            CONFIGURED.add((isKey ? "key" : "value") + suffix);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void propertiesNameAnySerializerClassAndKafkasPartitioners() {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", "127.0.0.1:1");
        p.setProperty("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        p.setProperty("value.serializer", Shouting.class.getName());
        p.setProperty("shouting.suffix", "!");
        p.setProperty("partitioner.class", "org.apache.kafka.clients.producer.RoundRobinPartitioner");
        RafkaProducer<String, String> producer = new RafkaProducer<>(p);
        try {
            assertEquals(List.of("value!"), Shouting.CONFIGURED);
            Partitioner partitioner = producer.config().partitioner();
            assertInstanceOf(RoundRobinPartitioner.class, partitioner);
            byte[] key = "same-key".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            assertEquals(List.of(0, 1, 2, 0), List.of(partitioner.partition("t", key, 3), partitioner.partition("t", key, 3),
                    partitioner.partition("t", null, 3), partitioner.partition("t", key, 3)), "in turn, keys or not");
        } finally {
            producer.close(java.time.Duration.ofSeconds(5));
        }
        assertEquals("HI!", new String(((Serializer<String>) Serializers.forClassName("value.serializer",
                Shouting.class.getName(), Map.of("shouting.suffix", "!"))).serialize("t", "hi"),
                java.nio.charset.StandardCharsets.UTF_8));
        assertInstanceOf(DefaultPartitioner.class, ProducerConfig.fromMap(Map.of("bootstrap.servers", "h:1",
                "partitioner.class", "org.apache.kafka.clients.producer.internals.DefaultPartitioner")).partitioner());

        p.setProperty("value.serializer", String.class.getName());
        IllegalArgumentException notOne = assertThrows(IllegalArgumentException.class, () -> new RafkaProducer<>(p));
        assertTrue(notOne.getMessage().contains("value.serializer: java.lang.String does not implement"), notOne.getMessage());
        p.setProperty("value.serializer", "com.example.NoSuchSerializer");
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> new RafkaProducer<>(p));
        assertTrue(missing.getMessage().contains("no class com.example.NoSuchSerializer"), missing.getMessage());
        p.setProperty("value.serializer", "org.apache.kafka.common.serialization.DoubleSerializer");
        assertThrows(IllegalArgumentException.class, () -> new RafkaProducer<>(p), "a Kafka serializer Rafka has no built-in for");
    }

    @Test
    void aProducerIsMadeFromKafkaProperties() {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", "127.0.0.1:1");
        p.setProperty("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        p.setProperty("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        p.setProperty("linger.ms", "12");
        p.setProperty("client.id", "orders-app");
        RafkaProducer<String, byte[]> producer = new RafkaProducer<>(p);
        try {
            assertEquals(12, producer.config().lingerMs());
            assertEquals("orders-app", producer.config().clientId());
            assertTrue(Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("rafka-producer-io | orders-app")),
                    "client.id names the I/O thread");
            assertEquals(-1, producer.producerId(), "asked for on the first send, not before");
        } finally {
            producer.close(java.time.Duration.ofSeconds(5));
        }
        assertThrows(IllegalStateException.class, () -> producer.send(new ProducerRecord<>("t", new byte[1])));
    }
}
