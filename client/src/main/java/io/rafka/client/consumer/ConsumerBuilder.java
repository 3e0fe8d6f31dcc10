package io.rafka.client.consumer;

import io.rafka.client.group.GroupMemberConfig.OffsetReset;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * Builds a {@link RafkaConsumer}, starting from Kafka's defaults ({@link ConsumerConfig#defaults}).
 *
 * <pre>{@code
 * RafkaConsumer<String, String> consumer = RafkaConsumer.builder(Deserializers.string(), Deserializers.string())
 *         .bootstrap("127.0.0.1:9192").groupId("billing").autoOffsetReset("earliest").enableAutoCommit(false).build();
 * }</pre>
 */
public final class ConsumerBuilder<K, V> {
    private final Deserializer<K> keyDeserializer;
    private final Deserializer<V> valueDeserializer;
    /** Only its defaults are read: the bootstrap servers come from {@link #bootstrap}. */
    private static final ConsumerConfig D = ConsumerConfig.defaults(List.of("localhost:9092"));
    private List<String> bootstrap = List.of();
    private String groupId = D.groupId();
    private String groupInstanceId = D.groupInstanceId();
    private String clientId = D.clientId();
    private boolean enableAutoCommit = D.enableAutoCommit();
    private long autoCommitIntervalMs = D.autoCommitIntervalMs();
    private OffsetReset autoOffsetReset = D.autoOffsetReset();
    private int maxPollRecords = D.maxPollRecords();
    private int fetchMaxBytes = D.fetchMaxBytes();
    private int maxPartitionFetchBytes = D.maxPartitionFetchBytes();
    private int fetchMinBytes = D.fetchMinBytes();
    private int fetchMaxWaitMs = D.fetchMaxWaitMs();
    private int sessionTimeoutMs = D.sessionTimeoutMs();
    private int maxPollIntervalMs = D.maxPollIntervalMs();
    private io.rafka.proto.v1.Assignor assignor = D.groupRemoteAssignor();
    private long defaultApiTimeoutMs = D.defaultApiTimeoutMs();

    ConsumerBuilder(Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer) {
        this.keyDeserializer = keyDeserializer;
        this.valueDeserializer = valueDeserializer;
    }

    /** One or more {@code host:port}, also comma-separated. */
    public ConsumerBuilder<K, V> bootstrap(String... servers) {
        this.bootstrap = Arrays.stream(servers).flatMap(s -> Arrays.stream(s.split(","))).map(String::trim)
                .filter(s -> !s.isEmpty()).toList();
        return this;
    }

    public ConsumerBuilder<K, V> groupId(String groupId) {
        this.groupId = groupId;
        return this;
    }

    public ConsumerBuilder<K, V> groupInstanceId(String instanceId) {
        this.groupInstanceId = instanceId;
        return this;
    }

    public ConsumerBuilder<K, V> clientId(String clientId) {
        this.clientId = clientId;
        return this;
    }

    public ConsumerBuilder<K, V> enableAutoCommit(boolean enabled) {
        this.enableAutoCommit = enabled;
        return this;
    }

    public ConsumerBuilder<K, V> autoCommitInterval(Duration interval) {
        this.autoCommitIntervalMs = interval.toMillis();
        return this;
    }

    /** {@code earliest}, {@code latest} or {@code none}. */
    public ConsumerBuilder<K, V> autoOffsetReset(String reset) {
        this.autoOffsetReset = OffsetReset.parse(reset);
        return this;
    }

    public ConsumerBuilder<K, V> maxPollRecords(int records) {
        this.maxPollRecords = records;
        return this;
    }

    public ConsumerBuilder<K, V> fetchMaxBytes(int bytes) {
        this.fetchMaxBytes = bytes;
        return this;
    }

    /** Kafka's max.partition.fetch.bytes: data per partition per fetch (default 1 MiB). */
    public ConsumerBuilder<K, V> maxPartitionFetchBytes(int bytes) {
        this.maxPartitionFetchBytes = bytes;
        return this;
    }

    /** Kafka's fetch.min.bytes: the broker answers once this much is there (default 1)... */
    public ConsumerBuilder<K, V> fetchMinBytes(int bytes) {
        this.fetchMinBytes = bytes;
        return this;
    }

    /** ...or after fetch.max.wait.ms (default 500). */
    public ConsumerBuilder<K, V> fetchMaxWait(Duration wait) {
        this.fetchMaxWaitMs = (int) wait.toMillis();
        return this;
    }

    /** {@code max.poll.interval.ms} (5 min): the longest time between polls before the member leaves the group. */
    public ConsumerBuilder<K, V> maxPollInterval(Duration interval) {
        this.maxPollIntervalMs = (int) Math.min(Integer.MAX_VALUE, interval.toMillis());
        return this;
    }

    public ConsumerBuilder<K, V> sessionTimeout(Duration timeout) {
        this.sessionTimeoutMs = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        return this;
    }

    /** The coordinator's assignor: {@code uniform} (default) or {@code range}. */
    public ConsumerBuilder<K, V> groupRemoteAssignor(String name) {
        this.assignor = ConsumerConfig.assignor(name);
        return this;
    }

    public ConsumerBuilder<K, V> defaultApiTimeout(Duration timeout) {
        this.defaultApiTimeoutMs = timeout.toMillis();
        return this;
    }

    /** The settings as given so far, validated. */
    public ConsumerConfig config() {
        return new ConsumerConfig(bootstrap, groupId, groupInstanceId, clientId, enableAutoCommit, autoCommitIntervalMs,
                autoOffsetReset, maxPollRecords, fetchMaxBytes, maxPartitionFetchBytes, fetchMinBytes, fetchMaxWaitMs,
                sessionTimeoutMs, maxPollIntervalMs, assignor, defaultApiTimeoutMs);
    }

    public RafkaConsumer<K, V> build() {
        return new RafkaConsumer<>(config(), keyDeserializer, valueDeserializer);
    }
}
