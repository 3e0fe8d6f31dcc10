package io.rafka.raft.internal;

import io.rafka.common.TopicPartition;
import io.rafka.log.LogConfig;
import io.rafka.log.PartitionLog;
import io.rafka.raft.internal.PartitionMessages.DataEntry;
import io.rafka.raft.internal.PartitionMessages.EntryHeader;
import io.rafka.testing.MockTime;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.StateMachineLogEntryProto;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;

import java.nio.file.Path;
import java.util.TreeMap;

/**
 * One partition replica's parts on a real log in a temp folder, with the Raft log played by a map: what
 * {@link PartitionStateMachine} wires up, without Ratis.
 */
final class PartitionFixture implements AutoCloseable {
    static final TopicPartition TP = new TopicPartition("orders", 0);
    static final int MAX = 1 << 20;

    final PartitionLog log;
    final AppliedIndexHolder appliedIndex = new AppliedIndexHolder();
    final CommittedState committed;
    /** The Raft log: index to entry. */
    final TreeMap<Long, LogEntryProto> raftLog = new TreeMap<>();
    final DataLog dataLog;
    /**
     * Reads of the Raft log made while holding DataLog's lock. Ratis holds its log's lock while it calls the
     * state machine (preAppendTransaction, write, truncate), so outside those calls such a read inverts the lock
     * order and can deadlock against Ratis.
     */
    int raftLogReadsUnderDataLogLock;
    /** Snapshots the catch-up recorded. */
    final java.util.List<PartitionSnapshot> snapshots = new java.util.ArrayList<>();
    final LogCatchUp catchUp;

    PartitionFixture(Path dir) {
        this(dir, LogConfig.defaults());
    }

    PartitionFixture(Path dir, LogConfig config) {
        log = PartitionLog.open(dir, config, new MockTime(1_000));
        committed = new CommittedState(TP, log, 100, appliedIndex.view());
        committed.load(null, null);
        dataLog = new DataLog(TP, log, committed, new DataLog.RaftLogView() {
            @Override
            public long nextIndex() {
                checkLockOrder();
                return raftLog.isEmpty() ? 1 : raftLog.lastKey() + 1;
            }

            @Override
            public LogEntryProto get(long index) {
                checkLockOrder();
                return raftLog.get(index);
            }
        });
        catchUp = new LogCatchUp(TP, log, committed, dataLog, (ti, s) -> snapshots.add(s));
    }

    private void checkLockOrder() {
        if (dataLog != null && dataLog.lockHeldByCurrentThread()) {
            raftLogReadsUnderDataLogLock++;
        }
    }

    /** What the leader does for one append entry: place it, put it in the Raft log, write its bytes. */
    DataEntry appendAsLeader(PendingAppend p, long term) throws Exception {
        return appendAsLeader(PendingEntry.of(p), term).parts().get(0);
    }

    /** The same for an entry of several appends (group commit); the leader writes all parts' bytes. */
    EntryHeader appendAsLeader(PendingEntry e, long term) throws Exception {
        dataLog.place(e, term);
        long index = raftLog.isEmpty() ? 1 : raftLog.lastKey() + 1;
        raftLog.put(index, entry(term, index, e.header));
        EntryHeader h = EntryHeader.decode(ByteString.copyFrom(e.header));
        if (h.appended()) {
            dataLog.write(index, h, e.data());
        }
        return h;
    }

    /** Commits every Raft entry up to {@code index}; returns the replies of the last one. */
    java.util.List<PartitionMessages.AppendReply> commitUpTo(long index) {
        java.util.List<PartitionMessages.AppendReply> replies = java.util.List.of();
        for (var e : raftLog.headMap(index, true).tailMap(committed.applied().index(), false).entrySet()) {
            replies = committed.apply(e.getValue().getTerm(), e.getKey(),
                    EntryHeader.decode(e.getValue().getStateMachineLogEntry().getLogData()));
        }
        return replies;
    }

    static LogEntryProto entry(long term, long index, byte[] header) {
        return LogEntryProto.newBuilder().setTerm(term).setIndex(index)
                .setStateMachineLogEntry(StateMachineLogEntryProto.newBuilder().setLogData(ByteString.copyFrom(header)))
                .build();
    }

    @Override
    public void close() {
        log.close();
    }

    /** Ratis's applied index, played by a field. */
    static final class AppliedIndexHolder {
        TermIndex value;

        CommittedState.AppliedIndex view() {
            return new CommittedState.AppliedIndex(() -> value, ti -> value = ti, ti -> value = ti);
        }
    }
}
