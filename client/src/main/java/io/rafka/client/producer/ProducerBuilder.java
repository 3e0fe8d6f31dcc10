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
    /** Only its defaults are read: the bootstrap servers come from {@link #bootstrap}. */
    private static final ProducerConfig D = ProducerConfig.defaults(List.of("localhost:9092"));
    private Acks acks = D.acks();
    private long lingerMs = D.lingerMs();
    private int batchSizeBytes = D.batchSizeBytes();
    private long bufferMemoryBytes = D.bufferMemoryBytes();
    private long maxBlockMs = D.maxBlockMs();
    private CompressionType compression = D.compression();
    /** Null until set: then on when the other settings allow it ({@link ProducerConfig#idempotenceFits}). */
    private Boolean idempotence;
    private long deliveryTimeoutMs = D.deliveryTimeoutMs();
    private int requestTimeoutMs = D.requestTimeoutMs();
    private int retries = D.retries();
    private long retryBackoffMs = D.retryBackoffMs();
    private int maxInFlight = D.maxInFlight();
    private int maxRequestBytes = D.maxRequestBytes();
    private long metadataMaxAgeMs = D.metadataMaxAgeMs();
    private Partitioner partitioner = D.partitioner();
    private String clientId = D.clientId();

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

    /** Kafka's {@code metadata.max.age.ms}: how often the topics in use are looked up again (new partitions). */
    public ProducerBuilder<K, V> metadataMaxAge(Duration age) {
        this.metadataMaxAgeMs = age.toMillis();
        return this;
    }

    public ProducerBuilder<K, V> maxInFlightRequestsPerConnection(int requests) {
        this.maxInFlight = requests;
        return this;
    }

    public ProducerBuilder<K, V> maxRequestSize(int bytes) {
        this.maxRequestBytes = bytes;
        return this;
    }

    public ProducerBuilder<K, V> partitioner(Partitioner partitioner) {
        this.partitioner = partitioner;
        return this;
    }

    /** Kafka's {@code client.id}: names the producer's I/O thread in logs and thread dumps. */
    public ProducerBuilder<K, V> clientId(String clientId) {
        this.clientId = clientId;
        return this;
    }

    /** The settings as given so far, validated. */
    public ProducerConfig config() {
        return new ProducerConfig(bootstrap, acks, lingerMs, batchSizeBytes, bufferMemoryBytes, maxBlockMs, compression,
                idempotence != null ? idempotence : ProducerConfig.idempotenceFits(acks, retries, maxInFlight),
                deliveryTimeoutMs, requestTimeoutMs, retries, retryBackoffMs, maxInFlight, maxRequestBytes,
                metadataMaxAgeMs, partitioner, clientId);
    }

    public RafkaProducer<K, V> build() {
        return new RafkaProducer<>(config(), keySerializer, valueSerializer);
    }
}
