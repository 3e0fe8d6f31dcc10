package io.rafka.raft.internal;

import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.log.PartitionLog;
import io.rafka.raft.RaftNodeConfig;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;

/**
 * One partition replica's state and the parts that keep it, wired together: the partition log, its
 * committed state, the log-order writer, snapshots and both sides of log catch-up. Opened once per
 * state machine; reloaded from the latest snapshot whenever Ratis (re)initializes the machine.
 */
final class PartitionStore {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionStore.class);

    final TopicPartition topicPartition;
    final PartitionLog log;
    final CommittedState committed;
    final DataLog dataLog;
    final PartitionQueries queries;
    final LogCatchUp catchUp;
    private final SnapshotStore snapshots;

    private PartitionStore(TopicPartition tp, PartitionLog log, RaftNodeConfig config, SnapshotStore snapshots,
                           DataLog.RaftLogView raftLog, CommittedState.AppliedIndex appliedIndex) {
        this.topicPartition = tp;
        this.log = log;
        this.snapshots = snapshots;
        this.committed = new CommittedState(tp, log, config.maxProducersPerPartition(), appliedIndex);
        this.dataLog = new DataLog(tp, log, committed, raftLog);
        this.queries = new PartitionQueries(log, committed);
        this.catchUp = new LogCatchUp(tp, log, committed, dataLog, (ti, s) -> snapshots.write(ti, s, log));
    }

    /** Opens (recovering if needed) the partition log in {@code dir} with {@code logConfig} (the topic's settings). */
    static PartitionStore open(TopicPartition tp, Path dir, RaftNodeConfig config, io.rafka.log.LogConfig logConfig, Time time,
                               SnapshotStore snapshots, DataLog.RaftLogView raftLog, CommittedState.AppliedIndex appliedIndex) {
        return new PartitionStore(tp, PartitionLog.open(dir, logConfig, time), config, snapshots, raftLog, appliedIndex);
    }

    /**
     * Takes the high watermark and producer state from the latest snapshot. The log keeps what lies past that
     * watermark: those are the bytes of the Raft entries Ratis applies next.
     */
    void reload() throws IOException {
        SnapshotStore.Loaded s = snapshots.loadLatest();
        committed.load(s == null ? null : s.snapshot(), s == null ? null : s.termIndex());
        if (s != null) {
            LOG.info("{}: loaded snapshot {} (high watermark {}, log end {})", topicPartition, s.termIndex(),
                    s.snapshot().logEndOffset(), log.logEndOffset());
        }
    }

    /** Snapshots the committed state; returns its index, or -1 when none can be taken now (a copy runs). */
    long takeSnapshot() throws IOException {
        CommittedState.View view = committed.snapshotView();
        if (view == null) {
            return -1;
        }
        snapshots.write(view.termIndex(), view.snapshot(), log);
        return view.termIndex().getIndex();
    }

    /** The index of the latest snapshot, or -1. */
    long latestSnapshotIndex() {
        SnapshotInfo latest = snapshots.latest();
        return latest == null ? -1 : latest.getIndex();
    }

    /** Closes the log: deletes it, leaves it as a crash would, or flushes and marks it cleanly closed. */
    void close(boolean delete, boolean crash) {
        committed.close();
        if (delete) {
            log.deleteAll();
        } else if (crash) {
            log.closeWithoutFlush();
        } else {
            log.close();
        }
    }
}
