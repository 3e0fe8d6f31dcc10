package io.rafka.client.producer;

import io.rafka.record.CompressionType;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * Builds a {@link RafkaProducer}, starting from Kafka's defaults ({@link ProducerConfig#defaults}).
 *
 * <pre>{@code
 * RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
 *         .bootstrap("127.0.0.1:9192").acks(Acks.ALL).lingerMs(5).compression(CompressionType.LZ4).build();
 * }</pre>
 */
public final class ProducerBuilder<K, V> {
    private final Serializer<K> keySerializer;
    private final Serializer<V> valueSerializer;
    private List<String> bootstrap = List.of();
    private ProducerConfig d = ProducerConfig.defaults(List.of("unset:1"));
    private Acks acks = d.acks();
    private long lingerMs = d.lingerMs();
    private int batchSizeBytes = d.batchSizeBytes();
    private long bufferMemoryBytes = d.bufferMemoryBytes();
    private long maxBlockMs = d.maxBlockMs();
    private CompressionType compression = d.compression();
    private boolean idempotence = d.idempotence();
    private long deliveryTimeoutMs = d.deliveryTimeoutMs();
    private int requestTimeoutMs = d.requestTimeoutMs();
    private int retries = d.retries();
    private long retryBackoffMs = d.retryBackoffMs();
    private int maxInFlight = d.maxInFlight();
    private Partitioner partitioner = d.partitioner();

    ProducerBuilder(Serializer<K> keySerializer, Serializer<V> valueSerializer) {
        this.keySerializer = keySerializer;
        this.valueSerializer = valueSerializer;
    }

    /** One or more {@code host:port}, also comma-separated. */
    public ProducerBuilder<K, V> bootstrap(String... servers) {
        this.bootstrap = Arrays.stream(servers).flatMap(s -> Arrays.stream(s.split(","))).map(String::trim)
                .filter(s -> !s.isEmpty()).toList();
        return this;
    }

    public ProducerBuilder<K, V> acks(Acks acks) {
        this.acks = acks;
        return this;
    }

    public ProducerBuilder<K, V> lingerMs(long lingerMs) {
        this.lingerMs = lingerMs;
        return this;
    }

    public ProducerBuilder<K, V> batchSize(int bytes) {
        this.batchSizeBytes = bytes;
        return this;
    }

    public ProducerBuilder<K, V> bufferMemory(long bytes) {
        this.bufferMemoryBytes = bytes;
        return this;
    }

    public ProducerBuilder<K, V> maxBlock(Duration maxBlock) {
        this.maxBlockMs = maxBlock.toMillis();
        return this;
    }

    public ProducerBuilder<K, V> compression(CompressionType compression) {
        this.compression = compression;
        return this;
    }

    public ProducerBuilder<K, V> idempotence(boolean enabled) {
        this.idempotence = enabled;
        return this;
    }

    public ProducerBuilder<K, V> deliveryTimeout(Duration timeout) {
        this.deliveryTimeoutMs = timeout.toMillis();
        return this;
    }

    public ProducerBuilder<K, V> requestTimeout(Duration timeout) {
        this.requestTimeoutMs = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        return this;
    }

    public ProducerBuilder<K, V> retries(int retries) {
        this.retries = retries;
        return this;
    }

    public ProducerBuilder<K, V> retryBackoff(Duration backoff) {
        this.retryBackoffMs = backoff.toMillis();
        return this;
    }

    public ProducerBuilder<K, V> maxInFlightRequestsPerConnection(int requests) {
        this.maxInFlight = requests;
        return this;
    }

    public ProducerBuilder<K, V> partitioner(Partitioner partitioner) {
        this.partitioner = partitioner;
        return this;
    }

    /** The settings as given so far, validated. */
    public ProducerConfig config() {
        return new ProducerConfig(bootstrap, acks, lingerMs, batchSizeBytes, bufferMemoryBytes, maxBlockMs, compression,
                idempotence, deliveryTimeoutMs, requestTimeoutMs, retries, retryBackoffMs, maxInFlight, partitioner);
    }

    public RafkaProducer<K, V> build() {
        return new RafkaProducer<>(config(), keySerializer, valueSerializer);
    }
}
