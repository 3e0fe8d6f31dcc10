package io.rafka.raft.internal;

import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.log.LogConfig;
import io.rafka.log.PartitionLog;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.SnapshotManagementRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * Housekeeping of the partition logs hosted on a node: topic settings, retention, and snapshots on demand
 * (a snapshot lets Ratis purge its log). Retention never deletes past a partition's high watermark.
 * Thread-safe.
 */
public final class LogMaintenance {
    private static final Logger LOG = LoggerFactory.getLogger(LogMaintenance.class);
    private static final long SNAPSHOT_TIMEOUT_MS = 30_000;

    private final LocalServer local;
    private final ReplicaRegistry registry;
    private final HibernationFiles hibernationFiles;
    private final Function<ReplicaRegistry.Replica, PartitionLog> frozenLogOpener;
    private final Path dataDir;

    /**
     * @param frozenLogOpener opens a hibernated replica's log read-only (retention runs there too, without waking
     *                        the group: each replica deletes its own expired segments, as for active partitions)
     */
    public LogMaintenance(LocalServer local, ReplicaRegistry registry, HibernationFiles hibernationFiles,
                          Function<ReplicaRegistry.Replica, PartitionLog> frozenLogOpener, Path dataDir) {
        this.local = local;
        this.registry = registry;
        this.hibernationFiles = hibernationFiles;
        this.frozenLogOpener = frozenLogOpener;
        this.dataDir = dataDir;
    }

    /** Applies a topic's log settings to the local replica of {@code tp}; false if it is not running here. */
    public boolean updateConfig(TopicPartition tp, LogConfig logConfig) {
        ReplicaRegistry.Replica replica = registry.get(tp);
        if (replica != null) {
            replica.logConfig(logConfig);  // kept for the frozen log and the next open
        }
        PartitionStateMachine sm = replica == null ? null : replica.runningStateMachine();
        if (sm == null) {
            return false;
        }
        if (!sm.log().config().equals(logConfig)) {
            sm.log().updateConfig(logConfig);
            LOG.info("{}: log settings now {}", tp, logConfig);
        }
        return true;
    }

    /** Deletes expired segments of every local partition (retention.ms / retention.bytes); returns how many. */
    public int enforceRetention() {
        int deleted = 0;
        for (ReplicaRegistry.Replica replica : registry.replicas()) {
            PartitionStateMachine sm = replica.runningStateMachine();
            if (sm != null) {
                try {
                    sm.reconcileTail();
                    deleted += sm.enforceRetention();
                } catch (RafkaException e) {
                    LOG.warn("{}: retention failed: {}", replica.topicPartition(), e.getMessage());
                }
            } else if (replica.frozen() != null) {
                try {
                    deleted += frozenRetention(replica);
                } catch (IOException | RuntimeException e) {
                    LOG.warn("{}: retention of the hibernated log failed: {}", replica.topicPartition(), e.toString());
                }
            }
        }
        return deleted;
    }

    /**
     * Retention on a hibernated replica's log: a glance at its segment files first (sizes, and the oldest one's
     * modification time as an upper bound of its records' append times), so a log with nothing to expire is not
     * even opened; then the log's own retention below the frozen high watermark, and the new log start recorded.
     */
    private int frozenRetention(ReplicaRegistry.Replica replica) throws IOException {
        HibernationFiles.Frozen frozen = replica.frozen();
        LogConfig config = replica.logConfig();
        if (frozen == null || config == null || !mayExpire(dataDir.resolve(replica.topicPartition().dirName()), config)) {
            return 0;
        }
        boolean wasOpen = replica.frozenLog().isOpen();
        long[] start = new long[1];
        int deleted;
        try {
            deleted = replica.frozenLog().read(() -> frozenLogOpener.apply(replica), log -> {
                if (!log.config().equals(config)) {
                    log.updateConfig(config);
                }
                int n = log.deleteExpiredSegments(frozen.highWatermark());
                start[0] = log.logStartOffset();
                return n;
            });
        } catch (FrozenLog.Sealed opening) {
            return 0;  // it woke: its state machine runs retention from now on
        }
        if (!wasOpen) {
            replica.frozenLog().close();
        }
        if (deleted > 0) {
            Hibernation.logStartMoved(replica, frozen, start[0], hibernationFiles);
            LOG.info("{}: retention deleted {} segments of the hibernated log; it starts at {}", replica.topicPartition(),
                    deleted, start[0]);
        }
        return deleted;
    }

    private static boolean mayExpire(Path dir, LogConfig config) throws IOException {
        long total = 0;
        long oldestModified = Long.MAX_VALUE;
        int segments = 0;
        try (DirectoryStream<Path> logs = Files.newDirectoryStream(dir, "*.log")) {
            for (Path p : logs) {
                segments++;
                total += Files.size(p);
                oldestModified = Math.min(oldestModified, Files.getLastModifiedTime(p).toMillis());
            }
        }
        if (segments < 2) {
            return false;  // the last segment is never deleted
        }
        return (config.retentionBytes() >= 0 && total > config.retentionBytes())
                || (config.retentionMs() >= 0 && oldestModified < System.currentTimeMillis() - config.retentionMs());
    }

    /**
     * Deletes the closed segments of {@code tp} below {@code offset} on this replica (never beyond what it
     * applied); for logs whose owner rewrote what it still needs after {@code offset}.
     */
    public int deleteSegmentsBelow(TopicPartition tp, long offset) {
        PartitionStateMachine sm = registry.require(tp).runningStateMachine();
        if (sm == null) {
            return 0;
        }
        sm.reconcileTail();
        return sm.deleteSegmentsBelow(offset);
    }

    /**
     * Asks Ratis to snapshot {@code tp} now (and so purge its Raft log) if it applied anything since its last
     * snapshot; returns the snapshot index. (A creation gap of 0 would mean Ratis's configured gap, 256 entries:
     * fewer applied since the last snapshot, and Ratis answers success with the old index, taking none.)
     */
    public long snapshot(TopicPartition tp) throws IOException {
        ReplicaRegistry.Replica replica = registry.require(tp);
        RaftClientReply reply = local.server().snapshotManagement(SnapshotManagementRequest.newCreate(
                local.clientId(), local.server().getId(), replica.groupId(), local.nextCallId(), SNAPSHOT_TIMEOUT_MS, 1));
        if (!reply.isSuccess()) {
            throw new IOException("snapshot of " + tp + " failed", reply.getException());
        }
        return reply.getLogIndex();
    }
}
