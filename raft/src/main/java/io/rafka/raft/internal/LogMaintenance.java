package io.rafka.raft.internal;

import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.log.LogConfig;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.SnapshotManagementRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;

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

    public LogMaintenance(LocalServer local, ReplicaRegistry registry) {
        this.local = local;
        this.registry = registry;
    }

    /** Applies a topic's log settings to the local replica of {@code tp}; false if it is not running here. */
    public boolean updateConfig(TopicPartition tp, LogConfig logConfig) {
        ReplicaRegistry.Replica replica = registry.get(tp);
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
                    deleted += sm.log().deleteExpiredSegments(sm.applied().logEndOffset());
                } catch (RafkaException e) {
                    LOG.warn("{}: retention failed: {}", replica.topicPartition(), e.getMessage());
                }
            }
        }
        return deleted;
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
        return sm.log().deleteSegmentsBelow(offset, sm.applied().logEndOffset());
    }

    /** Asks Ratis to snapshot {@code tp} now (and so purge its Raft log); returns the snapshot index. */
    public long snapshot(TopicPartition tp) throws IOException {
        ReplicaRegistry.Replica replica = registry.require(tp);
        RaftClientReply reply = local.server().snapshotManagement(SnapshotManagementRequest.newCreate(
                local.clientId(), local.server().getId(), replica.groupId(), local.nextCallId(), SNAPSHOT_TIMEOUT_MS, 0));
        if (!reply.isSuccess()) {
            throw new IOException("snapshot of " + tp + " failed", reply.getException());
        }
        return reply.getLogIndex();
    }
}
