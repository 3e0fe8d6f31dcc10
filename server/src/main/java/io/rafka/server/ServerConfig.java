package io.rafka.server;

import io.rafka.log.LogConfig;
import io.rafka.coordinator.GroupConfig;
import io.rafka.log.LogConfigKey;
import io.rafka.raft.NodeAddress;
import io.rafka.raft.RaftNodeConfig;
import io.rafka.metadata.MetadataNode;
import io.rafka.record.RecordBatch;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * A broker's configuration: every key with its default and documentation, resolved from (lowest to
 * highest precedence) the defaults, a properties file, {@code RAFKA_*} environment variables and
 * command-line flags. Immutable; every value is validated when it is built, and a bad one fails with a
 * message naming the key.
 *
 * <p>Components take typed sub-configs rather than keys: {@link #raftConfig()} (the partition Raft node),
 * {@link #metadataConfig()} (the metadata group member), {@link #apiConfig()} (the client API's listener and
 * limits) and {@link #logDefaults()} (every topic's log settings; the {@code log.*} keys come from the one
 * table of log settings, {@link LogConfigKey}, which per-topic overrides use too). They are built, and the
 * rules between keys checked, when the configuration is.
 */
public final class ServerConfig {
    private static final int MIB = 1024 * 1024;

    public static final ConfigKey NODE_ID = ConfigKey.string("node.id", "1",
            "This broker's id, unique in the cluster: letters, digits, '.', '_' and '-'.");
    public static final ConfigKey HOST = ConfigKey.string("host", "127.0.0.1",
            "The host name or address other brokers and clients use to reach this broker (advertised).");
    public static final ConfigKey BIND_HOST = ConfigKey.string("bind.host", "127.0.0.1",
            "The address the gRPC, Raft and HTTP ports listen on; 0.0.0.0 for every interface.");
    public static final ConfigKey GRPC_PORT = ConfigKey.integer("grpc.port", 9092, 1, 65535,
            "Port of the client API (gRPC: produce, fetch, metadata, admin, health, reflection).");
    public static final ConfigKey RAFT_PORT = ConfigKey.integer("raft.port", 9093, 1, 65535,
            "Port of the partition Raft groups (broker to broker).");
    public static final ConfigKey METADATA_PORT = ConfigKey.integer("metadata.port", 9094, 1, 65535,
            "Port of the metadata Raft group (broker to broker).");
    public static final ConfigKey HTTP_PORT = ConfigKey.integer("http.port", 9095, 0, 65535,
            "Port of the HTTP endpoints: /metrics (Prometheus), /status (JSON), /health; 0 turns them off.");
    public static final ConfigKey DATA_DIR = ConfigKey.string("data.dir", "./data",
            "Folder holding everything this broker stores: partition logs, Raft logs, metadata.");
    public static final ConfigKey VOTERS = ConfigKey.string("controller.quorum.voters", "",
            "The metadata group's members as id@host:port,... (their metadata.port). Empty = this broker alone.");
    public static final ConfigKey MESSAGE_MAX_BYTES = ConfigKey.log(LogConfigKey.MAX_MESSAGE_BYTES);
    public static final ConfigKey MESSAGE_MAX_DECOMPRESSED_BYTES = ConfigKey.integer("message.max.decompressed.bytes",
            RecordBatch.DEFAULT_MAX_DECOMPRESSED_BYTES, 1024, 1024 * MIB,
            "Largest decompressed size of one record batch when the broker validates it; at least message.max.bytes.");
    public static final ConfigKey MAX_REQUEST_BYTES = ConfigKey.integer("max.request.bytes", 16 * MIB, 1024, 256 * MIB,
            "Largest gRPC request accepted; larger ones fail with RESOURCE_EXHAUSTED.");
    public static final ConfigKey FLOW_CONTROL_WINDOW_BYTES = ConfigKey.integer("grpc.flow.control.window.bytes", 4 * MIB,
            64 * 1024, 64 * MIB, "HTTP/2 flow-control window per connection and per call: request bytes a client may send "
            + "ahead of the broker reading them. A pipelined ProduceStream needs produce.stream.window x batch size.");
    public static final ConfigKey MAX_CONNECTIONS = ConfigKey.integer("max.connections", 1000, 1, 1_000_000,
            "Most client connections served at once; calls on connections beyond it fail with RESOURCE_EXHAUSTED.");
    public static final ConfigKey MAX_CALLS_PER_CONNECTION = ConfigKey.integer("max.calls.per.connection", 1000, 1, 1_000_000,
            "Concurrent gRPC calls (streams) per connection; more wait for one to finish (HTTP/2 flow control).");
    public static final ConfigKey MAX_UNREAD_ANSWER_BYTES_PER_CONNECTION = ConfigKey.longValue(
            "max.unread.answer.bytes.per.connection", 64L * MIB, 64 * 1024, 1L << 40,
            "Fetched data one connection's fetches and subscriptions may have under way or written and not read by the "
                    + "client; a fetch that would pass it is refused BUSY (one is always let through). With max.connections "
                    + "it bounds the memory of answers clients do not read.");
    public static final ConfigKey MAX_UNREAD_ANSWER_BYTES = ConfigKey.longValue(
            "max.unread.answer.bytes", 512L * MIB, 64 * 1024, 1L << 42,
            "Answers all connections together have made and their clients not read yet, by actual size (the "
                    + "broker-wide bound beside max.unread.answer.bytes.per.connection, which times max.connections is "
                    + "far more than a heap); a fetch or answer that would pass it is refused BUSY (one always goes through).");
    public static final ConfigKey MAX_ADMIN_CALLS = ConfigKey.integer("max.admin.calls", 100, 1, 100_000,
            "Admin calls (and InitProducerId) a broker handles at once: they may wait seconds on the controller, each "
            + "holding a thread; more are refused BUSY.");
    public static final ConfigKey PRODUCE_MEMORY_BYTES = ConfigKey.longValue("produce.memory.bytes", 128L * MIB, MIB, 1L << 40,
            "Produce data held by the broker at once (awaiting commit), over all partitions; beyond it: BUSY.");
    public static final ConfigKey PRODUCE_STREAM_WINDOW = ConfigKey.integer("produce.stream.window", 32, 1, 10_000,
            "Requests of one ProduceStream call the broker reads ahead of their answers.");
    public static final ConfigKey MAX_IN_FLIGHT_PER_PARTITION = ConfigKey.longValue("partition.max.in.flight.bytes", 32L * MIB,
            MIB, 1L << 40, "Produce data awaiting commit per partition; beyond it: BUSY. Also bounds the group records a "
            + "coordinator partition has awaiting commit (more wait in the coordinator; commits get BUSY while they do).");
    public static final ConfigKey MAX_ENTRIES_IN_FLIGHT_PER_PARTITION = ConfigKey.integer("partition.max.in.flight.entries", 1,
            1, 1000, "Raft entries a partition leader has awaiting commit; produce requests arriving meanwhile go together "
                    + "as the next entry (group commit).");
    public static final ConfigKey MAX_PARTITIONS_PER_REQUEST = ConfigKey.integer("max.partitions.per.request", 50_000, 1,
            10_000_000, "Partitions one produce, fetch, subscribe, list-offsets, offset commit or offset fetch request, or "
                    + "one heartbeat's owned partitions, may list; beyond it the request fails with INVALID_ARGUMENT.");
    public static final ConfigKey MAX_RECORDS_PER_REQUEST = ConfigKey.integer("max.records.per.request", 262_144, 1,
            16_777_216, "Structured records and headers one produce request may hold (parsing makes an object of some 60 "
                    + "bytes for each, from 2 bytes on the wire); beyond it the request fails with INVALID_ARGUMENT. Encoded "
                    + "batches are not counted.");
    public static final ConfigKey GROUP_LIST_MAX_GROUPS = ConfigKey.integer("group.list.max.groups", 5_000, 1, 1_000_000,
            "Groups one ListGroups answer holds at most (about 300 bytes each at most; 5,000 stay below gRPC's default 4 MiB "
                    + "message limit of clients); a client asks for the next page with after_group_id.");
    public static final ConfigKey MAX_PARTITIONS_PER_BROKER = ConfigKey.integer("max.partitions.per.broker", 20_000, 1,
            10_000_000, "Partition replicas the controller places on one broker at most (each is a Raft group member with "
                    + "its files); creating topics or partitions, or replacing a broker, that would put more on a broker "
                    + "fails with POLICY_VIOLATION. The controller's own setting counts.");
    public static final ConfigKey FETCH_MAX_BYTES = ConfigKey.integer("fetch.max.bytes", 16 * MIB, 1024, 256 * MIB,
            "Largest fetch response (and subscribe message).");
    public static final ConfigKey FETCH_MAX_WAIT_MS = ConfigKey.integer("fetch.max.wait.ms", 30_000, 0, 600_000,
            "Longest a fetch may wait for data (max_wait_ms above it is cut to it).");
    public static final ConfigKey FETCH_MAX_WAITERS = ConfigKey.integer("fetch.max.waiters", 10_000, 1, 1_000_000,
            "Fetches and subscriptions waiting for data at once; beyond it new ones fail with RESOURCE_EXHAUSTED.");
    public static final ConfigKey FETCH_BUFFER_POOL_BYTES = ConfigKey.longValue("fetch.buffer.pool.bytes", 32L * MIB, 0, 1L << 34,
            "Free buffers kept for reading fetched data into, so fetches do not allocate (and zero) new ones; 0 = none.");
    public static final ConfigKey REQUEST_TIMEOUT_MS = ConfigKey.longValue("request.timeout.ms", 30_000, 100, 600_000,
            "How long a produce waits for its commit before REQUEST_TIMED_OUT.");
    public static final ConfigKey AUTO_CREATE = ConfigKey.bool("auto.create.topics.enable", true,
            "Create a topic when a client produces to it or asks for its metadata.");
    public static final ConfigKey NUM_PARTITIONS = ConfigKey.integer("num.partitions", 1, 1, 10_000,
            "Partitions of auto-created topics and of created topics that do not say.");
    public static final ConfigKey DEFAULT_REPLICATION_FACTOR = ConfigKey.integer("default.replication.factor", 0, 0, 100,
            "Replication factor of auto-created topics and of created topics that do not say; 0 = min(3, live brokers).");
    public static final ConfigKey LOG_SEGMENT_BYTES = ConfigKey.log(LogConfigKey.SEGMENT_BYTES);
    public static final ConfigKey LOG_SEGMENT_MS = ConfigKey.log(LogConfigKey.SEGMENT_MS);
    public static final ConfigKey LOG_INDEX_SIZE_MAX_BYTES = ConfigKey.log(LogConfigKey.SEGMENT_INDEX_BYTES);
    public static final ConfigKey LOG_INDEX_INTERVAL_BYTES = ConfigKey.log(LogConfigKey.INDEX_INTERVAL_BYTES);
    public static final ConfigKey LOG_RETENTION_MS = ConfigKey.log(LogConfigKey.RETENTION_MS);
    public static final ConfigKey LOG_RETENTION_BYTES = ConfigKey.log(LogConfigKey.RETENTION_BYTES);
    public static final ConfigKey LOG_MESSAGE_TIMESTAMP_TYPE = ConfigKey.log(LogConfigKey.MESSAGE_TIMESTAMP_TYPE);
    public static final ConfigKey LOG_MESSAGE_TIMESTAMP_AFTER_MAX_MS = ConfigKey.log(LogConfigKey.MESSAGE_TIMESTAMP_AFTER_MAX_MS);
    public static final ConfigKey RETENTION_CHECK_INTERVAL_MS = ConfigKey.longValue("log.retention.check.interval.ms", 300_000,
            100, Long.MAX_VALUE, "How often segments past retention are deleted.");
    public static final ConfigKey LOG_SCRUB_BYTES_PER_SECOND = ConfigKey.longValue("log.scrub.bytes.per.second", 4L * 1024 * 1024,
            0, Long.MAX_VALUE, "How fast a background scrub reads the open partition logs back, checking every batch's CRC as "
                    + "recovery does: recovery trusts closed segments and the active segment up to its recovery point, so a bit "
                    + "the disk flips there is found by this (or by a consumer). A damaged replica is cut at the damage and copies "
                    + "the rest from another replica; with no other replica it is only reported. 0 = off. See docs/storage.md.");
    public static final ConfigKey LOG_SCRUB_INTERVAL_MS = ConfigKey.longValue("log.scrub.interval.ms", 24L * 60 * 60 * 1000, 0,
            Long.MAX_VALUE, "A partition replica's log that the scrub read to its end is read again this long after that pass "
                    + "began; a replica new on this broker, or any after a restart, at once.");
    public static final ConfigKey REPLICA_LAG_MS = ConfigKey.longValue("replica.lag.time.max.ms", 10_000, 100, 600_000,
            "A follower silent for this long makes its partition count as under-replicated (metric and status).");
    public static final ConfigKey ELECTION_TIMEOUT_MIN_MS = ConfigKey.longValue("raft.election.timeout.min.ms", 1000, 50, 60_000,
            "Raft election timeout, lower bound: a leader is suspected dead after this long without heartbeats.");
    public static final ConfigKey ELECTION_TIMEOUT_MAX_MS = ConfigKey.longValue("raft.election.timeout.max.ms", 2000, 100, 120_000,
            "Raft election timeout, upper bound (must be above the lower bound).");
    public static final ConfigKey LEADER_FAILURE_DETECTION = ConfigKey.bool("raft.leader.failure.detection", true,
            "Elect a successor as soon as a leader's server refuses connections (its process died) instead of after the election timeout.");
    public static final ConfigKey AUTO_LEADER_REBALANCE = ConfigKey.bool("auto.leader.rebalance.enable", true,
            "Hand partition leaderships back to their preferred (first) replicas every leader.imbalance.check.interval.seconds, "
                    + "so leaders stay spread as placed after failovers and restarts (as Kafka's setting of the same name). "
                    + "Each hand-over pauses the partition's writes for about an election, and moves the group coordinator "
                    + "of a __consumer_offsets partition (members follow it); false leaves leaders where failovers put them.");
    public static final ConfigKey LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS = ConfigKey.longValue(
            "leader.imbalance.check.interval.seconds", 30, 1, 86_400, "How often a broker hands the leaderships it holds "
                    + "but is not the preferred replica of back to their preferred replicas (live, caught up and serving ones only), "
                    + "with auto.leader.rebalance.enable. Kafka's default is 300; 30 here, so a restarted broker leads its "
                    + "share again within half a minute.");
    public static final ConfigKey LEADER_IMBALANCE_PER_BROKER_PERCENTAGE = ConfigKey.integer(
            "leader.imbalance.per.broker.percentage", 10, 0, 100, "Leaderships are handed back to a broker (with "
                    + "auto.leader.rebalance.enable) only while more than this percentage of the partitions it is the "
                    + "preferred replica of are led by others, as Kafka's setting of the same name: each hand-over pauses "
                    + "a partition's writes for about an election, which a few displaced leaders are not worth. 0 hands "
                    + "back every one.");
    public static final ConfigKey PARTITION_HIBERNATE_AFTER_MS = ConfigKey.longValue("partition.hibernate.after.ms", 60_000, 0,
            Long.MAX_VALUE, "A partition without writes for this long closes its Raft group on every replica (no threads, no "
                    + "heartbeats) until the next write opens it again (~100 ms); reads are served meanwhile; new partitions "
                    + "start so. A partition woken soon after hibernating waits longer the next time. 0 = never; otherwise at "
                    + "least 1000. See docs/replication.md (Hibernation).");
    public static final ConfigKey PARTITION_WAKE_MAX_CONCURRENT = ConfigKey.integer("partition.wake.max.concurrent", 4, 1, 256,
            "Hibernated partitions this broker wakes at once (a write to each came in); more wait their turn. Ratis opens a "
                    + "server's Raft groups one at a time, and many half-open groups at once fail their elections.");
    public static final ConfigKey PARTITION_MAX_OPEN = ConfigKey.integer("partition.max.open", 0, 0, 1_000_000,
            "Partition replicas with an open Raft group on this broker (each costs ~7 threads and a 100 ms poll), with "
                    + "hibernation on; 0 = 50 per processor, at least 100. Beyond nine tenths of it the least recently "
                    + "written partitions idle for a second hibernate early; a write that must wake a partition while it is "
                    + "full waits up to 5 s for room, then fails with BUSY (retriable). Opens asked by other brokers for "
                    + "their writes are never refused. See docs/replication.md (A bound on open partitions).");
    public static final ConfigKey RAFT_LEADER_OUTSTANDING_APPENDS = ConfigKey.integer("raft.leader.outstanding.appends", 2, 1, 64,
            "Appends a partition leader has in flight to each follower at once. Ratis's default of 8 let a follower "
                    + "restarted under writes refuse appends for seconds (each refusal sends the leader back while newer "
                    + "appends are still in flight); 2 covers a follower's answer and the next entry. Refusals are counted "
                    + "in rafka_raft_follower_refusals_total.");
    public static final ConfigKey RAFT_APPENDER_RETRY_POLICY = ConfigKey.string("raft.appender.retry.policy",
            RaftNodeConfig.DEFAULT_APPENDER_RETRY_POLICY, "How long a partition leader waits before it sends to a follower "
                    + "again after its n-th failed call in a row: pairs of a sleep and a count (each sleep drawn from "
                    + "0.5-1.5x). A follower whose server refuses connections is retried once a second whatever this says, "
                    + "and at once when it accepts them again; this paces a follower that is up but fails the calls "
                    + "(its partition not open yet). See docs/replication.md (A follower that comes back).");
    public static final ConfigKey RAFT_SNAPSHOT_THRESHOLD_ENTRIES = ConfigKey.longValue("raft.snapshot.threshold.entries", 256,
            1, Long.MAX_VALUE, "Raft entries of a partition between two snapshots (a flush and a small file); bounds what "
                    + "a restarted replica re-applies before its high watermark is current.");
    public static final ConfigKey RAFT_LOG_RETAINED_ENTRIES = ConfigKey.longValue("raft.log.retained.entries", 10_000,
            0, Long.MAX_VALUE, "Entries of a partition's Raft log kept behind its end when a snapshot lets older ones be "
                    + "purged: a follower behind by fewer catches up from the log, one behind by more copies the "
                    + "leader's partition log.");
    public static final ConfigKey RAFT_SEGMENT_BYTES = ConfigKey.integer("raft.segment.bytes", 8 * MIB, MIB, Integer.MAX_VALUE,
            "Size of a partition's Raft log segments; purging frees whole closed segments.");
    public static final ConfigKey RAFT_WRITE_BUFFER_BYTES = ConfigKey.integer("raft.write.buffer.bytes", 0, 0, 256 * MIB,
            "Direct buffer of each partition's Raft log writer; 0 = message.max.bytes + 64 KiB, else at least "
                    + "message.max.bytes + 1 KiB.");
    public static final ConfigKey MAX_PRODUCERS_PER_PARTITION = ConfigKey.integer("partition.max.producers", 10_000, 1, 1_000_000,
            "Idempotent producer ids remembered per partition; beyond it the least recently written is forgotten.");
    public static final ConfigKey METADATA_ELECTION_TIMEOUT_MIN_MS = ConfigKey.longValue("metadata.election.timeout.min.ms",
            MetadataNode.Settings.DEFAULT_ELECTION_TIMEOUT_MIN_MS, 50, 60_000,
            "Election timeout of the metadata group (controller failover), lower bound; unset, it follows raft.election.timeout.min.ms.");
    public static final ConfigKey METADATA_ELECTION_TIMEOUT_MAX_MS = ConfigKey.longValue("metadata.election.timeout.max.ms",
            MetadataNode.Settings.DEFAULT_ELECTION_TIMEOUT_MAX_MS, 100, 120_000,
            "Election timeout of the metadata group, upper bound; unset, it follows raft.election.timeout.max.ms.");
    public static final ConfigKey SESSION_TIMEOUT_MS = ConfigKey.longValue("broker.session.timeout.ms", 9000, 1000, 600_000,
            "A broker not heard from for this long counts as dead when the controller places replicas.");
    public static final ConfigKey HEARTBEAT_INTERVAL_MS = ConfigKey.longValue("broker.heartbeat.interval.ms", 1000, 100, 60_000,
            "How often a broker tells the controller it is alive.");
    public static final ConfigKey SHUTDOWN_TIMEOUT_MS = ConfigKey.longValue("shutdown.timeout.ms", 15_000, 0, 600_000,
            "On SIGTERM: the bound of the whole graceful stop (leadership hand-over, in-flight requests, closing the "
                    + "logs); a step not done by then is abandoned, as a crash would leave it.");

    public static final ConfigKey GROUP_COORDINATOR_PARTITIONS = ConfigKey.integer("group.coordinator.partitions", 16, 1, 1000,
            "Partitions of the internal topic __consumer_offsets that holds consumer groups (created at first use); a "
                    + "group lives in partition hash(group id) mod this, so it must not change once the topic exists.");
    public static final ConfigKey GROUP_SESSION_TIMEOUT_MS = ConfigKey.integer("group.session.timeout.ms", 45_000, 1000, 3_600_000,
            "A group member that sends no heartbeat for this long is removed (default for members that ask for none).");
    public static final ConfigKey GROUP_MIN_SESSION_TIMEOUT_MS = ConfigKey.integer("group.min.session.timeout.ms", 1000, 100, 3_600_000,
            "Lowest session timeout a group member may ask for.");
    public static final ConfigKey GROUP_MAX_SESSION_TIMEOUT_MS = ConfigKey.integer("group.max.session.timeout.ms", 300_000, 100, 3_600_000,
            "Highest session timeout a group member may ask for.");
    public static final ConfigKey GROUP_HEARTBEAT_INTERVAL_MS = ConfigKey.integer("group.heartbeat.interval.ms", 500, 10, 600_000,
            "How often group members send heartbeats on their stream; below group.min.session.timeout.ms.");
    public static final ConfigKey GROUP_STREAM_GRACE_MS = ConfigKey.integer("group.member.stream.grace.ms", 500, 0, 600_000,
            "A member whose Heartbeat stream broke (its process died) is removed after this unless it resumes; a hung "
                    + "member keeps its stream and is caught by its session timeout.");
    public static final ConfigKey GROUP_REBALANCE_TIMEOUT_MS = ConfigKey.integer("group.rebalance.timeout.ms", 60_000, 100, 3_600_000,
            "Default time a member has to release revoked partitions before it is removed.");
    public static final ConfigKey GROUP_MAX_SIZE = ConfigKey.integer("group.max.size", 1000, 1, 1_000_000,
            "Members per consumer group.");
    public static final ConfigKey GROUP_MAX_GROUPS = ConfigKey.integer("group.coordinator.max.groups", 10_000, 1, 100_000_000,
            "Consumer groups (with members or committed offsets) one __consumer_offsets partition holds at most; a join or "
                    + "commit that would make one more fails with POLICY_VIOLATION. Empty groups go offsets.retention.minutes "
                    + "after their last commit, or by bin/rafka group delete.");
    public static final ConfigKey GROUP_OFFSET_METADATA_MAX_BYTES = ConfigKey.integer("group.offset.metadata.max.bytes", 4096, 0, 16_384,
            "Longest metadata string of a committed offset.");
    public static final ConfigKey GROUP_CHECKPOINT_RECORDS = ConfigKey.longValue("group.coordinator.checkpoint.records", 10_000, 1,
            1_000_000_000, "A coordinator partition writes all its live records again (a checkpoint) once this many records, "
                    + "and twice its live ones, were written since the last, or 8 KiB per record of this many, and twice the "
                    + "last checkpoint's bytes; segments below a checkpoint are deleted, so a new coordinator replays a bounded "
                    + "tail.");
    public static final ConfigKey GROUP_SEGMENT_BYTES = ConfigKey.integer("group.coordinator.segment.bytes", 16 * MIB, 1024,
            Integer.MAX_VALUE, "segment.bytes of __consumer_offsets when it is created: checkpoints free whole segments only.");
    public static final ConfigKey OFFSETS_RETENTION_MINUTES = ConfigKey.longValue("offsets.retention.minutes", 10_080, 1, 52_560_000,
            "A group without members is deleted, with its committed offsets, this long after its last commit.");

    public static final List<ConfigKey> KEYS = List.of(NODE_ID, HOST, BIND_HOST, GRPC_PORT, RAFT_PORT, METADATA_PORT, HTTP_PORT,
            DATA_DIR, VOTERS, MESSAGE_MAX_BYTES, MESSAGE_MAX_DECOMPRESSED_BYTES, MAX_REQUEST_BYTES, MAX_CONNECTIONS,
            MAX_CALLS_PER_CONNECTION, MAX_UNREAD_ANSWER_BYTES_PER_CONNECTION, MAX_UNREAD_ANSWER_BYTES, MAX_ADMIN_CALLS, FLOW_CONTROL_WINDOW_BYTES, PRODUCE_MEMORY_BYTES, PRODUCE_STREAM_WINDOW, MAX_IN_FLIGHT_PER_PARTITION,
            MAX_ENTRIES_IN_FLIGHT_PER_PARTITION, MAX_PRODUCERS_PER_PARTITION, MAX_PARTITIONS_PER_REQUEST, MAX_RECORDS_PER_REQUEST, GROUP_LIST_MAX_GROUPS, MAX_PARTITIONS_PER_BROKER, FETCH_MAX_BYTES,
            FETCH_MAX_WAIT_MS, FETCH_MAX_WAITERS,
            FETCH_BUFFER_POOL_BYTES, REQUEST_TIMEOUT_MS, AUTO_CREATE,
            NUM_PARTITIONS, DEFAULT_REPLICATION_FACTOR, LOG_SEGMENT_BYTES, LOG_SEGMENT_MS, LOG_INDEX_SIZE_MAX_BYTES,
            LOG_INDEX_INTERVAL_BYTES, LOG_RETENTION_MS, LOG_RETENTION_BYTES, LOG_MESSAGE_TIMESTAMP_TYPE, LOG_MESSAGE_TIMESTAMP_AFTER_MAX_MS, RETENTION_CHECK_INTERVAL_MS,
            LOG_SCRUB_BYTES_PER_SECOND, LOG_SCRUB_INTERVAL_MS,
            REPLICA_LAG_MS, ELECTION_TIMEOUT_MIN_MS, ELECTION_TIMEOUT_MAX_MS, LEADER_FAILURE_DETECTION, AUTO_LEADER_REBALANCE,
            LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS, LEADER_IMBALANCE_PER_BROKER_PERCENTAGE, PARTITION_HIBERNATE_AFTER_MS,
            PARTITION_WAKE_MAX_CONCURRENT, PARTITION_MAX_OPEN,
            RAFT_LEADER_OUTSTANDING_APPENDS, RAFT_APPENDER_RETRY_POLICY, RAFT_SNAPSHOT_THRESHOLD_ENTRIES, RAFT_LOG_RETAINED_ENTRIES, RAFT_SEGMENT_BYTES,
            RAFT_WRITE_BUFFER_BYTES, METADATA_ELECTION_TIMEOUT_MIN_MS,
            METADATA_ELECTION_TIMEOUT_MAX_MS, SESSION_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS, SHUTDOWN_TIMEOUT_MS,
            GROUP_COORDINATOR_PARTITIONS, GROUP_SESSION_TIMEOUT_MS, GROUP_MIN_SESSION_TIMEOUT_MS, GROUP_MAX_SESSION_TIMEOUT_MS,
            GROUP_HEARTBEAT_INTERVAL_MS, GROUP_STREAM_GRACE_MS, GROUP_REBALANCE_TIMEOUT_MS, GROUP_MAX_SIZE, GROUP_MAX_GROUPS,
            GROUP_OFFSET_METADATA_MAX_BYTES, OFFSETS_RETENTION_MINUTES, GROUP_CHECKPOINT_RECORDS, GROUP_SEGMENT_BYTES);

    /** Keys that, left unset, take the value of another key rather than their own default. */
    private static final Map<ConfigKey, ConfigKey> FOLLOWS = Map.of(
            METADATA_ELECTION_TIMEOUT_MIN_MS, ELECTION_TIMEOUT_MIN_MS,
            METADATA_ELECTION_TIMEOUT_MAX_MS, ELECTION_TIMEOUT_MAX_MS);

    private final Map<String, String> values;
    private final Map<String, String> explicit;
    private final List<NodeAddress> voters;
    private final LogConfig logDefaults;
    private final RaftNodeConfig raftConfig;
    private final MetadataNode.Settings metadataConfig;
    private final ApiConfig apiConfig;

    private ServerConfig(Map<String, String> explicit) {
        Map<String, ConfigKey> known = new LinkedHashMap<>();
        KEYS.forEach(k -> known.put(k.name(), k));
        for (String key : explicit.keySet()) {
            if (!known.containsKey(key)) {
                throw new IllegalArgumentException("unknown config key '" + key + "' (see --help for the keys)");
            }
        }
        Map<String, String> v = new LinkedHashMap<>();
        Map<String, String> given = new TreeMap<>();
        for (ConfigKey k : KEYS) {
            String raw = explicit.get(k.name());
            if (raw != null) {
                given.put(k.name(), k.validate(raw));
            }
            v.put(k.name(), raw == null ? k.defaultValue() : k.validate(raw));
        }
        FOLLOWS.forEach((key, leader) -> {
            if (!given.containsKey(key.name())) {
                v.put(key.name(), v.get(leader.name()));
            }
        });
        this.values = v;
        this.explicit = given;
        if (!nodeId().matches("[A-Za-z0-9._-]{1,64}")) {
            throw new IllegalArgumentException(NODE_ID.name() + " = '" + nodeId() + "' must be 1-64 of [A-Za-z0-9._-]");
        }
        if (get(HOST).isEmpty() || get(DATA_DIR).isEmpty()) {
            throw new IllegalArgumentException(get(HOST).isEmpty() ? "host must not be empty" : "data.dir must not be empty");
        }
        checkRelations();
        this.voters = parseVoters(get(VOTERS));
        if (voters.stream().noneMatch(a -> a.id().equals(nodeId()))) {
            throw new IllegalArgumentException(VOTERS.name() + " = '" + get(VOTERS) + "' does not list node.id " + nodeId());
        }
        for (NodeAddress voter : voters) {
            if (voter.id().equals(nodeId()) && voter.port() != getInt(METADATA_PORT)) {
                // The others would call this node on a port it does not listen on: it would wait for a majority for ever.
                throw new IllegalArgumentException(VOTERS.name() + " lists node " + nodeId() + " at port " + voter.port()
                        + ", but its " + METADATA_PORT.name() + " is " + getInt(METADATA_PORT));
            }
        }
        if (!RaftNodeConfig.isRetryPolicy(get(RAFT_APPENDER_RETRY_POLICY))) {
            throw new IllegalArgumentException(RAFT_APPENDER_RETRY_POLICY.name() + " = '" + get(RAFT_APPENDER_RETRY_POLICY)
                    + "' must be pairs of a sleep and a count, such as 1ms,10, 500ms,2000000000");
        }
        this.logDefaults = buildLogDefaults();
        this.raftConfig = buildRaftConfig();
        this.metadataConfig = new MetadataNode.Settings(new NodeAddress(nodeId(), get(HOST), getInt(METADATA_PORT)), voters,
                dataDir(), getLong(METADATA_ELECTION_TIMEOUT_MIN_MS), getLong(METADATA_ELECTION_TIMEOUT_MAX_MS),
                getBoolean(LEADER_FAILURE_DETECTION), get(BIND_HOST));
        this.apiConfig = new ApiConfig(get(BIND_HOST), getInt(GRPC_PORT), getInt(MAX_REQUEST_BYTES), getInt(MAX_CONNECTIONS),
                getInt(MAX_CALLS_PER_CONNECTION), getLong(MAX_UNREAD_ANSWER_BYTES_PER_CONNECTION), getLong(MAX_UNREAD_ANSWER_BYTES), getInt(MAX_ADMIN_CALLS), getInt(FLOW_CONTROL_WINDOW_BYTES), getLong(PRODUCE_MEMORY_BYTES), getInt(PRODUCE_STREAM_WINDOW),
                getInt(MAX_PARTITIONS_PER_REQUEST), getInt(MAX_RECORDS_PER_REQUEST), getInt(GROUP_LIST_MAX_GROUPS),
                getInt(FETCH_MAX_BYTES), getInt(FETCH_MAX_WAIT_MS), getInt(FETCH_MAX_WAITERS), getLong(FETCH_BUFFER_POOL_BYTES),
                getLong(REQUEST_TIMEOUT_MS),
                getBoolean(AUTO_CREATE), getInt(NUM_PARTITIONS), getInt(DEFAULT_REPLICATION_FACTOR));
    }

    /** Checks the rules that tie keys together, naming the keys, before the sub-configs repeat them in field names. */
    private void checkRelations() {
        requireAbove(ELECTION_TIMEOUT_MAX_MS, ELECTION_TIMEOUT_MIN_MS);
        requireAbove(METADATA_ELECTION_TIMEOUT_MAX_MS, METADATA_ELECTION_TIMEOUT_MIN_MS);
        long maxMessage = getLong(MESSAGE_MAX_BYTES);
        requireAtLeast(MESSAGE_MAX_DECOMPRESSED_BYTES, maxMessage, MESSAGE_MAX_BYTES.name());
        requireAtLeast(MAX_IN_FLIGHT_PER_PARTITION, maxMessage, MESSAGE_MAX_BYTES.name());
        requireAbove(GROUP_MAX_SESSION_TIMEOUT_MS, GROUP_MIN_SESSION_TIMEOUT_MS);
        if (getLong(GROUP_SESSION_TIMEOUT_MS) < getLong(GROUP_MIN_SESSION_TIMEOUT_MS)
                || getLong(GROUP_SESSION_TIMEOUT_MS) > getLong(GROUP_MAX_SESSION_TIMEOUT_MS)) {
            throw new IllegalArgumentException(GROUP_SESSION_TIMEOUT_MS.name() + " = " + get(GROUP_SESSION_TIMEOUT_MS)
                    + " must be within " + GROUP_MIN_SESSION_TIMEOUT_MS.name() + " and " + GROUP_MAX_SESSION_TIMEOUT_MS.name());
        }
        requireAbove(GROUP_MIN_SESSION_TIMEOUT_MS, GROUP_HEARTBEAT_INTERVAL_MS);
        // A broker heartbeating less often than the controller's session timeout would count as dead between beats.
        requireAbove(SESSION_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS);
        if (getInt(RAFT_WRITE_BUFFER_BYTES) != 0) {
            requireAtLeast(RAFT_WRITE_BUFFER_BYTES, maxMessage + 1024, MESSAGE_MAX_BYTES.name() + " + 1024");
        }
    }

    private void requireAbove(ConfigKey upper, ConfigKey lower) {
        if (getLong(upper) <= getLong(lower)) {
            throw new IllegalArgumentException(upper.name() + " = " + get(upper) + " must be above " + lower.name() + " = " + get(lower));
        }
    }

    private void requireAtLeast(ConfigKey key, long floor, String floorName) {
        if (getLong(key) < floor) {
            throw new IllegalArgumentException(key.name() + " = " + get(key) + " must be at least " + floorName + " (" + floor + ")");
        }
    }

    private LogConfig buildLogDefaults() {
        Map<String, String> topicValues = new LinkedHashMap<>();
        for (ConfigKey k : KEYS) {
            if (k.logKey() != null) {
                topicValues.put(k.logKey().topicKey(), get(k));
            }
        }
        try {
            return LogConfig.defaults().withOverrides(topicValues);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("log settings: " + e.getMessage(), e);
        }
    }

    /** partition.max.open, or 50 per processor (at least 100) when it is 0. */
    public int maxOpenPartitions() {
        int set = getInt(PARTITION_MAX_OPEN);
        return set > 0 ? set : RaftNodeConfig.defaultMaxOpenPartitions();
    }

        private RaftNodeConfig buildRaftConfig() {
        return RaftNodeConfig.builder(new NodeAddress(nodeId(), get(HOST), getInt(RAFT_PORT)), dataDir())
                .bindHost(get(BIND_HOST))
                .rpcTimeoutMs(getLong(ELECTION_TIMEOUT_MIN_MS), getLong(ELECTION_TIMEOUT_MAX_MS))
                .leaderFailureDetection(getBoolean(LEADER_FAILURE_DETECTION))
                .hibernateAfterMs(getLong(PARTITION_HIBERNATE_AFTER_MS))
                .maxConcurrentWakes(getInt(PARTITION_WAKE_MAX_CONCURRENT))
                .maxOpenPartitions(maxOpenPartitions())
                .leaderOutstandingAppends(getInt(RAFT_LEADER_OUTSTANDING_APPENDS))
                .appenderRetryPolicy(get(RAFT_APPENDER_RETRY_POLICY))
                .snapshotThresholdEntries(getLong(RAFT_SNAPSHOT_THRESHOLD_ENTRIES))
                .raftLogRetainedEntries(getLong(RAFT_LOG_RETAINED_ENTRIES))
                .raftSegmentBytes(getInt(RAFT_SEGMENT_BYTES))
                .raftWriteBufferBytes(getInt(RAFT_WRITE_BUFFER_BYTES))
                .maxInFlightBytesPerPartition(getLong(MAX_IN_FLIGHT_PER_PARTITION))
                .maxEntriesInFlightPerPartition(getInt(MAX_ENTRIES_IN_FLIGHT_PER_PARTITION))
                .requestTimeoutMs(getLong(REQUEST_TIMEOUT_MS))
                .maxProducersPerPartition(getInt(MAX_PRODUCERS_PER_PARTITION))
                .maxDecompressedBytes(getInt(MESSAGE_MAX_DECOMPRESSED_BYTES))
                .scrubBytesPerSecond(getLong(LOG_SCRUB_BYTES_PER_SECOND))
                .scrubIntervalMs(getLong(LOG_SCRUB_INTERVAL_MS))
                .logConfig(logDefaults)
                .build();
    }

    /** A configuration from explicit key/value pairs (unknown keys and bad values are errors); the rest default. */
    public static ServerConfig of(Map<String, String> values) {
        return new ServerConfig(values);
    }

    /**
     * Resolves the configuration of a broker process.
     *
     * @param args command-line flags: {@code --config FILE}, {@code --key=value} or {@code --key value}
     * @param env  the environment: {@code RAFKA_*} variables override the file, flags override both
     * @throws IllegalArgumentException naming the bad key, flag or file
     */
    public static ServerConfig load(List<String> args, Map<String, String> env) {
        Map<String, String> flags = new LinkedHashMap<>();
        String file = env.get("RAFKA_CONFIG");
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + arg + "' (flags look like --key=value)");
            }
            String key = arg.substring(2);
            String value;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            } else if (i + 1 < args.size()) {
                value = args.get(++i);
            } else {
                throw new IllegalArgumentException("flag --" + key + " needs a value");
            }
            if (key.equals("config")) {
                file = value;
            } else {
                flags.put(key, value);
            }
        }
        Map<String, String> merged = new LinkedHashMap<>();
        if (file != null && !file.isEmpty()) {
            merged.putAll(readFile(Path.of(file)));
        }
        for (ConfigKey k : KEYS) {
            String v = env.get(k.envName());
            if (v != null) {
                merged.put(k.name(), v);
            }
        }
        merged.putAll(flags);
        return new ServerConfig(merged);
    }

    private static Map<String, String> readFile(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read config file " + file + ": " + e.getMessage());
        }
        Map<String, String> m = new LinkedHashMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
        return m;
    }

    private List<NodeAddress> parseVoters(String spec) {
        if (spec.isEmpty()) {
            return List.of(new NodeAddress(nodeId(), get(HOST), getInt(METADATA_PORT)));
        }
        List<NodeAddress> result = new ArrayList<>();
        for (String part : spec.split(",")) {
            String p = part.trim();
            int at = p.indexOf('@');
            int colon = p.lastIndexOf(':');
            if (at <= 0 || colon < at + 2 || colon == p.length() - 1) {
                throw new IllegalArgumentException(VOTERS.name() + ": '" + p + "' is not id@host:port");
            }
            int port;
            try {
                port = Integer.parseInt(p.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(VOTERS.name() + ": '" + p + "' has a bad port");
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException(VOTERS.name() + ": '" + p + "' has a port out of range");
            }
            NodeAddress a = new NodeAddress(p.substring(0, at), p.substring(at + 1, colon), port);
            if (result.stream().anyMatch(x -> x.id().equals(a.id()))) {
                throw new IllegalArgumentException(VOTERS.name() + ": id '" + a.id() + "' is listed twice");
            }
            result.add(a);
        }
        return List.copyOf(result);
    }

    public String get(ConfigKey key) {
        return values.get(key.name());
    }

    public int getInt(ConfigKey key) {
        return Integer.parseInt(get(key));
    }

    public long getLong(ConfigKey key) {
        return Long.parseLong(get(key));
    }

    public boolean getBoolean(ConfigKey key) {
        return Boolean.parseBoolean(get(key));
    }

    public String nodeId() {
        return get(NODE_ID);
    }

    public Path dataDir() {
        return Path.of(get(DATA_DIR));
    }

    public List<NodeAddress> voters() {
        return voters;
    }

    /** Every key with its value, in the order of {@link #KEYS}. */
    public Map<String, String> values() {
        return java.util.Collections.unmodifiableMap(values);
    }

    /** Whether a key was set (file, environment or flag) rather than left at its default. */
    public boolean isSet(ConfigKey key) {
        return explicit.containsKey(key.name());
    }

    /**
     * The defaults of every topic's log, from the {@code log.*} and {@code message.max.bytes} keys (each the
     * broker-wide value of a topic config, see {@link LogConfigKey}).
     */
    public LogConfig logDefaults() {
        return logDefaults;
    }

    /** The settings of this broker's partition Raft node, the log defaults included. */
    public RaftNodeConfig raftConfig() {
        return raftConfig;
    }

    /** The settings of this broker's member of the metadata group. */
    public MetadataNode.Settings metadataConfig() {
        return metadataConfig;
    }

    /** The consumer-group coordinator's settings. */
    public GroupConfig groupConfig() {
        return new GroupConfig(getInt(GROUP_COORDINATOR_PARTITIONS), getInt(GROUP_SESSION_TIMEOUT_MS),
                getInt(GROUP_MIN_SESSION_TIMEOUT_MS), getInt(GROUP_MAX_SESSION_TIMEOUT_MS), getInt(GROUP_HEARTBEAT_INTERVAL_MS),
                getInt(GROUP_STREAM_GRACE_MS), getInt(GROUP_REBALANCE_TIMEOUT_MS), getInt(GROUP_MAX_SIZE),
                getInt(GROUP_OFFSET_METADATA_MAX_BYTES), getLong(OFFSETS_RETENTION_MINUTES) * 60_000,
                getLong(GROUP_CHECKPOINT_RECORDS), getLong(MAX_IN_FLIGHT_PER_PARTITION), getInt(GROUP_MAX_GROUPS));
    }

    /** The settings of the client API: listener, limits, timeouts, auto-creation. */
    public ApiConfig apiConfig() {
        return apiConfig;
    }

    /** The text of {@code --help}: every key with its default, environment variable and documentation. */
    public static String help() {
        StringBuilder sb = new StringBuilder();
        sb.append("Usage: rafka server [--config FILE] [--key=value ...]\n\n")
                .append("Settings come from the defaults, then FILE (Java properties; also RAFKA_CONFIG), then RAFKA_* environment\n")
                .append("variables, then flags. Keys:\n\n");
        for (ConfigKey k : KEYS) {
            sb.append(String.format("  %-32s default: %s%n", k.name(), k.defaultValue().isEmpty() ? "(none)" : k.defaultValue()));
            sb.append(String.format("  %-32s env: %s%n", "", k.envName()));
            sb.append(String.format("  %-32s %s%n%n", "", k.doc()));
        }
        return sb.toString();
    }
}
