package io.rafka.client.consumer;

import io.rafka.client.group.GroupMemberConfig.OffsetReset;
import io.rafka.client.internals.ConfigValues;
import io.rafka.proto.v1.Assignor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * <pre>{@code
 * Properties props = new Properties();
 * props.load(Files.newBufferedReader(Path.of("consumer.properties")));   // Kafka's keys
 * ConsumerConfig config = ConsumerConfig.fromMap((Map) props);
 * }</pre>
 *
 * A consumer's settings, validated when made, with Kafka's names and defaults ({@link #fromMap} reads Kafka's
 * config keys, so existing {@code consumer.properties} files work). Immutable. The group protocol is the
 * KIP-848 one: the coordinator assigns, with the server-side assignor named by {@code group.remote.assignor}
 * ({@code uniform} or {@code range}); {@code partition.assignment.strategy} is accepted for Kafka's
 * RangeAssignor / other names and mapped onto those two.
 *
 * @param groupId              the group to join with {@code subscribe} and to commit for; empty = no group
 *                             (then only {@code assign}, without commits)
 * @param groupInstanceId      static membership: the same id after a restart gets the same partitions back
 * @param autoCommitIntervalMs with {@code enable.auto.commit}, how often {@code poll} commits what the
 *                             previous polls returned
 * @param maxPollRecords       records per {@code poll}, at most
 * @param fetchMaxBytes        fetched data buffered plus asked for by fetches in flight, at most (one batch per
 *                             partition still comes whole)
 * @param maxPartitionFetchBytes data per partition per fetch, at most (same exception)
 * @param fetchMinBytes        the broker answers a fetch once this much is there...
 * @param fetchMaxWaitMs       ...or after this long
 * @param sessionTimeoutMs     0 = the coordinator's {@code group.session.timeout.ms}
 * @param maxPollIntervalMs    a member that does not poll for this long leaves the group (its partitions move on;
 *                             the next poll joins again); also its rebalance timeout, as in Kafka
 * @param defaultApiTimeoutMs  how long retriable failures (no coordinator, leaders moving) are retried
 */
public record ConsumerConfig(List<String> bootstrapServers, String groupId, String groupInstanceId, String clientId,
                             boolean enableAutoCommit, long autoCommitIntervalMs, OffsetReset autoOffsetReset,
                             int maxPollRecords, int fetchMaxBytes, int maxPartitionFetchBytes, int fetchMinBytes,
                             int fetchMaxWaitMs, int sessionTimeoutMs, int maxPollIntervalMs, Assignor groupRemoteAssignor,
                             long defaultApiTimeoutMs) {
    private static final Logger LOG = LoggerFactory.getLogger(ConsumerConfig.class);
    public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
    public static final String GROUP_ID = "group.id";
    public static final String GROUP_INSTANCE_ID = "group.instance.id";
    public static final String CLIENT_ID = "client.id";
    public static final String ENABLE_AUTO_COMMIT = "enable.auto.commit";
    public static final String AUTO_COMMIT_INTERVAL_MS = "auto.commit.interval.ms";
    public static final String AUTO_OFFSET_RESET = "auto.offset.reset";
    public static final String MAX_POLL_RECORDS = "max.poll.records";
    public static final String FETCH_MAX_BYTES = "fetch.max.bytes";
    public static final String MAX_PARTITION_FETCH_BYTES = "max.partition.fetch.bytes";
    public static final String FETCH_MIN_BYTES = "fetch.min.bytes";
    public static final String FETCH_MAX_WAIT_MS = "fetch.max.wait.ms";
    public static final String SESSION_TIMEOUT_MS = "session.timeout.ms";
    public static final String MAX_POLL_INTERVAL_MS = "max.poll.interval.ms";
    public static final String GROUP_REMOTE_ASSIGNOR = "group.remote.assignor";
    public static final String PARTITION_ASSIGNMENT_STRATEGY = "partition.assignment.strategy";
    public static final String DEFAULT_API_TIMEOUT_MS = "default.api.timeout.ms";

    public ConsumerConfig {
        bootstrapServers = List.copyOf(bootstrapServers);
        groupId = groupId == null ? "" : groupId;
        groupInstanceId = groupInstanceId == null ? "" : groupInstanceId;
        clientId = clientId == null || clientId.isEmpty() ? "rafka-consumer" : clientId;
        Objects.requireNonNull(autoOffsetReset, AUTO_OFFSET_RESET);
        Objects.requireNonNull(groupRemoteAssignor, GROUP_REMOTE_ASSIGNOR);
        if (bootstrapServers.isEmpty()) {
            throw new IllegalArgumentException(BOOTSTRAP_SERVERS + " is required");
        }
        if (autoCommitIntervalMs < 0 || maxPollRecords < 1 || fetchMaxBytes < 1 || sessionTimeoutMs < 0
                || defaultApiTimeoutMs < 0) {
            throw new IllegalArgumentException("auto.commit.interval.ms, session.timeout.ms and default.api.timeout.ms"
                    + " must be >= 0; max.poll.records and fetch.max.bytes must be > 0");
        }
        if (maxPollIntervalMs < 1) {
            throw new IllegalArgumentException(MAX_POLL_INTERVAL_MS + " must be > 0");
        }
        if (maxPartitionFetchBytes < 1 || fetchMinBytes < 0 || fetchMaxWaitMs < 0) {
            throw new IllegalArgumentException("max.partition.fetch.bytes must be > 0; fetch.min.bytes and"
                    + " fetch.max.wait.ms >= 0");
        }
        if (!groupInstanceId.isEmpty() && groupId.isEmpty()) {
            throw new IllegalArgumentException(GROUP_INSTANCE_ID + " needs " + GROUP_ID);
        }
    }

    /** The fetcher's settings: pipelined, bounded by fetch.max.bytes and max.partition.fetch.bytes. */
    public io.rafka.client.internals.FetchSettings fetchSettings() {
        return new io.rafka.client.internals.FetchSettings(fetchMaxBytes, maxPartitionFetchBytes, fetchMinBytes,
                fetchMaxWaitMs, true).withBenchmarkSwitches();
    }

    /** Kafka's defaults, for the given bootstrap servers, without a group. */
    public static ConsumerConfig defaults(List<String> bootstrapServers) {
        return new ConsumerConfig(bootstrapServers, "", "", "rafka-consumer", true, 5_000, OffsetReset.LATEST, 500,
                50 * 1024 * 1024, 1024 * 1024, 1, 500, 0, 300_000, Assignor.ASSIGNOR_UNIFORM, 60_000);
    }

    /**
     * Settings from Kafka's config keys (values as strings or numbers); keys it does not know are logged and
     * ignored, as Kafka's clients do. {@code key.deserializer} and {@code value.deserializer} are read by
     * {@link RafkaConsumer#RafkaConsumer(Map)}.
     */
    public static ConsumerConfig fromMap(Map<String, ?> props) {
        ConsumerConfig d = defaults(ConfigValues.servers(props, BOOTSTRAP_SERVERS));
        for (String key : props.keySet()) {
            if (!KNOWN.contains(key)) {
                LOG.warn("ignoring unknown consumer config '{}'", key);
            }
        }
        return new ConsumerConfig(d.bootstrapServers, ConfigValues.text(props, GROUP_ID, d.groupId),
                ConfigValues.text(props, GROUP_INSTANCE_ID, d.groupInstanceId), ConfigValues.text(props, CLIENT_ID, d.clientId),
                Boolean.parseBoolean(ConfigValues.text(props, ENABLE_AUTO_COMMIT, String.valueOf(d.enableAutoCommit))),
                ConfigValues.number(props, AUTO_COMMIT_INTERVAL_MS, d.autoCommitIntervalMs),
                OffsetReset.parse(ConfigValues.text(props, AUTO_OFFSET_RESET, d.autoOffsetReset.name())),
                (int) ConfigValues.number(props, MAX_POLL_RECORDS, d.maxPollRecords), (int) ConfigValues.number(props, FETCH_MAX_BYTES, d.fetchMaxBytes),
                (int) ConfigValues.number(props, MAX_PARTITION_FETCH_BYTES, d.maxPartitionFetchBytes),
                (int) ConfigValues.number(props, FETCH_MIN_BYTES, d.fetchMinBytes),
                (int) ConfigValues.number(props, FETCH_MAX_WAIT_MS, d.fetchMaxWaitMs),
                (int) ConfigValues.number(props, SESSION_TIMEOUT_MS, d.sessionTimeoutMs),
                (int) ConfigValues.number(props, MAX_POLL_INTERVAL_MS, d.maxPollIntervalMs), assignor(props, d.groupRemoteAssignor),
                ConfigValues.number(props, DEFAULT_API_TIMEOUT_MS, d.defaultApiTimeoutMs));
    }

    private static final Set<String> KNOWN = Set.of(BOOTSTRAP_SERVERS, GROUP_ID, GROUP_INSTANCE_ID, CLIENT_ID,
            ENABLE_AUTO_COMMIT, AUTO_COMMIT_INTERVAL_MS, AUTO_OFFSET_RESET, MAX_POLL_RECORDS, FETCH_MAX_BYTES,
            MAX_PARTITION_FETCH_BYTES, FETCH_MIN_BYTES, FETCH_MAX_WAIT_MS,
            SESSION_TIMEOUT_MS, MAX_POLL_INTERVAL_MS, GROUP_REMOTE_ASSIGNOR, PARTITION_ASSIGNMENT_STRATEGY, DEFAULT_API_TIMEOUT_MS,
            "key.deserializer", "value.deserializer");

    /** {@code uniform} or {@code range}; Kafka's assignor class names map onto them (Range → range, others uniform). */
    static Assignor assignor(String name) {
        String simple = name.substring(name.lastIndexOf('.') + 1).trim().toLowerCase(java.util.Locale.ROOT);
        return switch (simple) {
            case "uniform", "cooperativestickyassignor", "stickyassignor", "roundrobinassignor" -> Assignor.ASSIGNOR_UNIFORM;
            case "range", "rangeassignor" -> Assignor.ASSIGNOR_RANGE;
            default -> throw new IllegalArgumentException("assignor must be uniform or range, not '" + name + "'");
        };
    }

    private static Assignor assignor(Map<String, ?> props, Assignor fallback) {
        if (props.containsKey(GROUP_REMOTE_ASSIGNOR)) {
            return assignor(props.get(GROUP_REMOTE_ASSIGNOR).toString());
        }
        if (props.containsKey(PARTITION_ASSIGNMENT_STRATEGY)) {
            return assignor(props.get(PARTITION_ASSIGNMENT_STRATEGY).toString().split(",")[0]);
        }
        return fallback;
    }
}
