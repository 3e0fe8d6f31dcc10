package io.rafka.raft;

import io.rafka.log.LogConfig;
import io.rafka.raft.internal.RatisProperties;
import io.rafka.record.RecordBatch;
import org.apache.ratis.retry.MultipleLinearRandomRetry;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Settings of a broker's Raft node (the one Ratis server that hosts all its partition replicas).
 * Immutable; validated when built. Only {@code raft/} turns these into Ratis properties.
 *
 * <table>
 *   <caption>Settings</caption>
 *   <tr><th>name</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>rpcTimeoutMinMs / rpcTimeoutMaxMs</td><td>1000 / 2000</td><td>randomized election timeout; heartbeats go every min/2.
 *       Ratis's 150/300 ms cause election storms with hundreds of groups per server.</td></tr>
 *   <tr><td>snapshotThresholdEntries</td><td>256</td><td>snapshot (cheap: flush + a small file) after this many entries;
 *       bounds what a restarted replica re-applies before its high watermark is current</td></tr>
 *   <tr><td>raftLogRetainedEntries</td><td>10000</td><td>entries of Ratis's log kept behind its end when a snapshot lets
 *       it be purged: a follower behind by fewer catches up from the log, one behind by more by copying the leader's
 *       partition log</td></tr>
 *   <tr><td>raftSegmentBytes</td><td>8 MiB</td><td>Ratis log segment size: purge frees whole closed segments</td></tr>
 *   <tr><td>raftWriteBufferBytes</td><td>max batch + 64 KiB</td><td>per-replica direct buffer of Ratis's log writer</td></tr>
 *   <tr><td>maxInFlightBytesPerPartition</td><td>32 MiB</td><td>appends waiting for commit per partition; above it, BUSY</td></tr>
 *   <tr><td>maxEntriesInFlightPerPartition</td><td>1</td><td>Raft entries a partition leader has awaiting commit; appends
 *       arriving meanwhile wait and then go as one entry (group commit: fewer, bigger entries)</td></tr>
 *   <tr><td>requestTimeoutMs</td><td>30000</td><td>an append not committed by then fails with REQUEST_TIMED_OUT (it may still commit)</td></tr>
 *   <tr><td>maxProducersPerPartition</td><td>10000</td><td>idempotent producer ids remembered per partition</td></tr>
 *   <tr><td>maxDecompressedBytes</td><td>64 MiB</td><td>cap on one batch's decompressed size when validating</td></tr>
 *   <tr><td>leaderFailureDetection</td><td>true</td><td>start an election as soon as a leader's server refuses
 *       connections (its process died), instead of after the election timeout; see {@code LeaderFailureDetector}</td></tr>
 *   <tr><td>hibernateAfterMs</td><td>0 (never)</td><td>a partition whose leader took no append for this long closes its
 *       Raft group on every replica until the next write (broker: partition.hibernate.after.ms); see {@code Hibernation}</td></tr>
 *   <tr><td>maxConcurrentWakes</td><td>4</td><td>hibernated partitions this node wakes at once; more wait their turn (Ratis
 *       opens a server's groups one at a time, and half-open groups fail their elections)</td></tr>
 *   <tr><td>maxOpenPartitions</td><td>50 per processor, at least 100</td><td>partition replicas with an open Raft division on this node, with
 *       hibernation on: beyond it the least recently written idle partitions hibernate early, and a wake-up that
 *       finds no room within a few seconds fails with BUSY (broker: partition.max.open); see {@code Hibernation}</td></tr>
 *   <tr><td>appenderRetryPolicy</td><td>{@code 1ms,10, 50ms,20, 500ms,2000000000}</td><td>how long a leader's log appender sleeps after its n-th failed
 *       call in a row to a follower (Ratis's {@code MultipleLinearRandomRetry} format: sleep,count pairs, each sleep
 *       drawn from 0.5-1.5x; broker: raft.appender.retry.policy); see {@code RatisProperties}</td></tr>
 *   <tr><td>leaderOutstandingAppends</td><td>2</td><td>appends a partition leader has in flight to each follower (Ratis's
 *       default is 8, with which a follower restarted under writes refused appends for seconds; see {@code RatisProperties})</td></tr>
 *   <tr><td>scrubBytesPerSecond</td><td>0 (off)</td><td>how fast a background scrub reads the open partition logs back to
 *       find bytes the disk damaged after recovery stopped checking them, and has damaged replicas repaired (broker:
 *       log.scrub.bytes.per.second); see {@code LogScrubber}</td></tr>
 *   <tr><td>scrubIntervalMs</td><td>1 day</td><td>a replica's log read to its end is read again this long after that pass
 *       began (broker: log.scrub.interval.ms)</td></tr>
 *   <tr><td>logConfig</td><td>{@link LogConfig#defaults()}</td><td>settings of the partition logs</td></tr>
 *   <tr><td>bindHost</td><td>the address's host</td><td>what the Raft port listens on (broker: bind.host); peers reach it
 *       at {@code address}</td></tr>
 * </table>
 */
public record RaftNodeConfig(
        NodeAddress address,
        Path dataDir,
        long rpcTimeoutMinMs,
        long rpcTimeoutMaxMs,
        long snapshotThresholdEntries,
        long raftLogRetainedEntries,
        int raftSegmentBytes,
        int raftWriteBufferBytes,
        long maxInFlightBytesPerPartition,
        int maxEntriesInFlightPerPartition,
        long requestTimeoutMs,
        int maxProducersPerPartition,
        int maxDecompressedBytes,
        boolean leaderFailureDetection,
        long hibernateAfterMs,
        int maxConcurrentWakes,
        int maxOpenPartitions,
        int leaderOutstandingAppends,
        String appenderRetryPolicy,
        long scrubBytesPerSecond,
        long scrubIntervalMs,
        LogConfig logConfig,
        String bindHost) {

    /** The default {@link #appenderRetryPolicy()}. */
    public static final String DEFAULT_APPENDER_RETRY_POLICY = RatisProperties.APPENDER_RETRY_POLICY;

    public RaftNodeConfig {
        Objects.requireNonNull(address, "address");
        bindHost = bindHost == null || bindHost.isEmpty() ? address.host() : bindHost;
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(logConfig, "logConfig");
        require(rpcTimeoutMinMs >= 10 && rpcTimeoutMaxMs > rpcTimeoutMinMs, "rpcTimeoutMinMs/rpcTimeoutMaxMs",
                rpcTimeoutMinMs + "/" + rpcTimeoutMaxMs, "min >= 10 and max > min");
        require(snapshotThresholdEntries >= 1, "snapshotThresholdEntries", snapshotThresholdEntries, ">= 1");
        require(raftLogRetainedEntries >= 0, "raftLogRetainedEntries", raftLogRetainedEntries, ">= 0");
        require(raftSegmentBytes >= 1024 * 1024, "raftSegmentBytes", raftSegmentBytes, ">= 1 MiB");
        require(raftWriteBufferBytes >= logConfig.maxMessageBytes() + 1024, "raftWriteBufferBytes",
                raftWriteBufferBytes, ">= max.message.bytes + 1 KiB");
        require(maxInFlightBytesPerPartition >= logConfig.maxMessageBytes(), "maxInFlightBytesPerPartition",
                maxInFlightBytesPerPartition, ">= max.message.bytes");
        require(maxEntriesInFlightPerPartition >= 1, "maxEntriesInFlightPerPartition", maxEntriesInFlightPerPartition, ">= 1");
        require(requestTimeoutMs >= 100, "requestTimeoutMs", requestTimeoutMs, ">= 100");
        require(maxProducersPerPartition >= 1, "maxProducersPerPartition", maxProducersPerPartition, ">= 1");
        require(hibernateAfterMs == 0 || hibernateAfterMs >= 1000, "hibernateAfterMs", hibernateAfterMs, "0 (never) or >= 1000");
        require(maxConcurrentWakes >= 1, "maxConcurrentWakes", maxConcurrentWakes, ">= 1");
        require(maxOpenPartitions >= 1, "maxOpenPartitions", maxOpenPartitions, ">= 1");
        require(leaderOutstandingAppends >= 1 && leaderOutstandingAppends <= 64, "leaderOutstandingAppends",
                leaderOutstandingAppends, "between 1 and 64");
        Objects.requireNonNull(appenderRetryPolicy, "appenderRetryPolicy");
        require(isRetryPolicy(appenderRetryPolicy), "appenderRetryPolicy", appenderRetryPolicy,
                "pairs of a sleep and a count, such as 1ms,10, 500ms,2000000000");
        require(scrubBytesPerSecond >= 0, "scrubBytesPerSecond", scrubBytesPerSecond, ">= 0 (0: off)");
        require(scrubIntervalMs >= 0, "scrubIntervalMs", scrubIntervalMs, ">= 0");
        require(maxDecompressedBytes >= logConfig.maxMessageBytes(), "maxDecompressedBytes", maxDecompressedBytes,
                ">= max.message.bytes");
    }

    /** Whether {@code policy} is a valid {@link #appenderRetryPolicy()}. */
    public static boolean isRetryPolicy(String policy) {
        try {
            return MultipleLinearRandomRetry.parseCommaSeparated(policy) != null;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static void require(boolean ok, String name, Object value, String rule) {
        if (!ok) {
            throw new IllegalArgumentException("invalid " + name + " = " + value + ": must be " + rule);
        }
    }

    /**
     * The largest {@code max.message.bytes} a topic may set on this node: a batch that size must fit one Raft entry
     * (the write buffer, with the room the broker's own {@code message.max.bytes} must leave), the bytes in flight of
     * one partition, and the decompressed size the broker validates.
     */
    public int maxTopicMessageBytes() {
        return (int) Math.min(Math.min(raftWriteBufferBytes - 1024L, maxInFlightBytesPerPartition), maxDecompressedBytes);
    }

    /** 50 open partitions per processor, at least 100: about what one core keeps open without saturating. */
    public static int defaultMaxOpenPartitions() {
        return Math.max(100, 50 * Runtime.getRuntime().availableProcessors());
    }

    public static Builder builder(NodeAddress address, Path dataDir) {
        return new Builder(address, dataDir);
    }

    /** Builder with the defaults above. */
    public static final class Builder {
        private final NodeAddress address;
        private final Path dataDir;
        private long rpcTimeoutMinMs = 1000;
        private long rpcTimeoutMaxMs = 2000;
        private long snapshotThresholdEntries = 256;
        private long raftLogRetainedEntries = 10_000;
        private int raftSegmentBytes = 8 * 1024 * 1024;
        private int raftWriteBufferBytes = -1;
        private long maxInFlightBytesPerPartition = 32L * 1024 * 1024;
        private int maxEntriesInFlightPerPartition = 1;
        private long requestTimeoutMs = 30_000;
        private int maxProducersPerPartition = 10_000;
        private int maxDecompressedBytes = RecordBatch.DEFAULT_MAX_DECOMPRESSED_BYTES;
        private boolean leaderFailureDetection = true;
        private long hibernateAfterMs = 0;
        private int maxConcurrentWakes = 4;
        private int maxOpenPartitions = defaultMaxOpenPartitions();
        private int leaderOutstandingAppends = 2;
        private String appenderRetryPolicy = DEFAULT_APPENDER_RETRY_POLICY;
        private long scrubBytesPerSecond = 0;
        private long scrubIntervalMs = 24L * 60 * 60 * 1000;
        private LogConfig logConfig = LogConfig.defaults();
        private String bindHost;

        private Builder(NodeAddress address, Path dataDir) {
            this.address = address;
            this.dataDir = dataDir;
        }

        public Builder rpcTimeoutMs(long min, long max) {
            rpcTimeoutMinMs = min;
            rpcTimeoutMaxMs = max;
            return this;
        }

        public Builder snapshotThresholdEntries(long v) {
            snapshotThresholdEntries = v;
            return this;
        }

        public Builder raftLogRetainedEntries(long v) {
            raftLogRetainedEntries = v;
            return this;
        }

        public Builder raftSegmentBytes(int v) {
            raftSegmentBytes = v;
            return this;
        }

        public Builder raftWriteBufferBytes(int v) {
            raftWriteBufferBytes = v;
            return this;
        }

        public Builder maxInFlightBytesPerPartition(long v) {
            maxInFlightBytesPerPartition = v;
            return this;
        }

        public Builder maxEntriesInFlightPerPartition(int v) {
            maxEntriesInFlightPerPartition = v;
            return this;
        }

        public Builder requestTimeoutMs(long v) {
            requestTimeoutMs = v;
            return this;
        }

        public Builder maxProducersPerPartition(int v) {
            maxProducersPerPartition = v;
            return this;
        }

        public Builder maxDecompressedBytes(int v) {
            maxDecompressedBytes = v;
            return this;
        }

        public Builder leaderFailureDetection(boolean v) {
            leaderFailureDetection = v;
            return this;
        }

        public Builder hibernateAfterMs(long v) {
            this.hibernateAfterMs = v;
            return this;
        }

        public Builder maxConcurrentWakes(int v) {
            this.maxConcurrentWakes = v;
            return this;
        }

        public Builder maxOpenPartitions(int v) {
            this.maxOpenPartitions = v;
            return this;
        }

        public Builder appenderRetryPolicy(String v) {
            this.appenderRetryPolicy = v;
            return this;
        }

        public Builder leaderOutstandingAppends(int v) {
            this.leaderOutstandingAppends = v;
            return this;
        }

        public Builder scrubBytesPerSecond(long v) {
            this.scrubBytesPerSecond = v;
            return this;
        }

        public Builder scrubIntervalMs(long v) {
            this.scrubIntervalMs = v;
            return this;
        }

        public Builder logConfig(LogConfig v) {
            logConfig = v;
            return this;
        }

        /** The address the Raft port listens on (broker: bind.host); the advertised host when not set. */
        public Builder bindHost(String v) {
            bindHost = v;
            return this;
        }

        public RaftNodeConfig build() {
            int writeBuffer = raftWriteBufferBytes > 0 ? raftWriteBufferBytes : logConfig.maxMessageBytes() + 64 * 1024;
            return new RaftNodeConfig(address, dataDir, rpcTimeoutMinMs, rpcTimeoutMaxMs, snapshotThresholdEntries,
                    raftLogRetainedEntries, raftSegmentBytes, writeBuffer, maxInFlightBytesPerPartition, maxEntriesInFlightPerPartition, requestTimeoutMs,
                    maxProducersPerPartition, maxDecompressedBytes, leaderFailureDetection, hibernateAfterMs,
                    maxConcurrentWakes, maxOpenPartitions, leaderOutstandingAppends,
                    appenderRetryPolicy,
                    scrubBytesPerSecond,
                    scrubIntervalMs, logConfig, bindHost);
        }
    }
}
