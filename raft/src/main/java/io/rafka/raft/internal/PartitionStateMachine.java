package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.common.StorageException;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.log.LogConfig;
import io.rafka.log.LogReadResult;
import io.rafka.log.PartitionLog;
import io.rafka.raft.RaftNodeConfig;
import io.rafka.raft.internal.PartitionMessages.AppendReply;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMessages.DataEntry;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;

/**
 * The replicated state machine of one partition, as Ratis sees it: a thin adapter that hands each Ratis
 * callback to the part that owns it. Its state is the partition's {@link PartitionLog} plus the
 * idempotent-producer state.
 *
 * <p><b>Write once.</b> An append's batches travel as Ratis <em>state-machine data</em>: Ratis keeps only a
 * small header ({@link DataEntry}) in its own log and hands the bytes to this machine's {@code DataApi},
 * which writes them straight into the partition log. So a batch reaches each replica's disk once.
 * <ol>
 *   <li>{@link #startTransaction} (leader) takes the checked private copy ({@link PendingAppend}).</li>
 *   <li>{@link #preAppendTransaction} (leader, under Ratis's log lock, in log order) places it
 *       ({@link DataLog#place}): offsets, epoch, append time, or DUPLICATE for a producer retry.</li>
 *   <li>{@link #write}, {@link #flush}, {@link #truncate}, {@link #read} (every replica, in log order) keep the
 *       partition log in step with the Raft log ({@link DataLog}); an entry counts toward commit only once
 *       both logs are durable.</li>
 *   <li>{@link #applyTransaction} (every replica, on commit) moves the high watermark ({@link CommittedState});
 *       the leader's reply carries the offsets.</li>
 * </ol>
 *
 * <p><b>Snapshots</b> ({@link SnapshotStore}) hold the high watermark and producer state; Ratis then purges
 * its log. <b>Restart</b>: Ratis re-applies the entries after the latest snapshot; their bytes are already
 * in the partition log, and a tail written for an entry that never reached the Raft log is cut once Ratis's
 * log is loaded ({@link #reconcileTail}). <b>Catch-up</b>: install-snapshot is off in Ratis; a replica that
 * needs entries the leader purged copies the leader's log ({@link LogCatchUp}, {@link PartitionQueries}).
 *
 * <p><b>Threads and locks</b>: apply, snapshot and reinitialize run on the division's updater thread;
 * {@code preAppendTransaction}, {@code write} and {@code truncate} run under Ratis's log lock. Lock order:
 * Ratis log lock, then {@link DataLog}'s, then {@link CommittedState}'s.
 */
public final class PartitionStateMachine extends BaseStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionStateMachine.class);
    private static final AtomicLong CATCH_UPS_COMPLETED = new AtomicLong();

    /** What a partition's state machine tells the node about (on Ratis's threads: quick, never blocking). */
    public interface Events {
        /** This replica leads and accepts appends. */
        void leaderReady();

        /** This replica stopped leading. */
        void notLeader();

        /** Records were committed (the high watermark moved). */
        void committed();
    }

    private final TopicPartition topicPartition;
    private final Path logDir;
    private final LogConfig logConfig;
    private final Time time;
    private final int maxProducers;
    private final int maxDecompressedBytes;
    /** Largest append request one Raft entry takes (Ratis's write buffer, less room for the entry's own fields). */
    private final int maxEntryBytes;
    private final NodeExecutors executors;
    private final BiFunction<RaftGroup, RaftPeerId, RaftClient> clientFactory;
    private final BooleanSupplier halting;
    private final Events events;
    private final SnapshotStore snapshots = new SnapshotStore();

    // Set once, when the log is first opened.
    private volatile PartitionLog log;
    private CommittedState committed;
    private DataLog dataLog;
    private PartitionQueries queries;
    private volatile boolean closed;
    private volatile boolean deleteOnClose;
    private volatile RaftServer.Division division;

    public PartitionStateMachine(TopicPartition topicPartition, Path logDir, RaftNodeConfig config, Time time,
                                 NodeExecutors executors, BiFunction<RaftGroup, RaftPeerId, RaftClient> clientFactory,
                                 BooleanSupplier halting, Events events) {
        this.topicPartition = topicPartition;
        this.logDir = logDir;
        this.logConfig = config.logConfig();
        this.time = time;
        this.maxProducers = config.maxProducersPerPartition();
        this.maxDecompressedBytes = config.maxDecompressedBytes();
        this.maxEntryBytes = config.raftWriteBufferBytes() - 512;
        this.executors = executors;
        this.clientFactory = clientFactory;
        this.halting = halting;
        this.events = events;
    }

    /** How many log copies from a leader completed in this JVM (a metric, and a probe for tests). */
    public static long catchUpsCompleted() {
        return CATCH_UPS_COMPLETED.get();
    }

    public TopicPartition topicPartition() {
        return topicPartition;
    }

    /** The partition log; null before {@link #initialize}. */
    public PartitionLog log() {
        return log;
    }

    /** The last applied entry and the log bounds it produced; the log end is the high watermark. */
    public AppliedState applied() {
        return committed.applied();
    }

    /** Reads committed batches from the local log (up to the applied log end, the high watermark). */
    public LogReadResult read(long offset, int maxBytes) {
        return log.read(offset, maxBytes, committed.applied().logEndOffset());
    }

    /** Checks and copies an append for this partition, as {@link #startTransaction} takes it. */
    public Message appendMessage(long appendTimeMs, ByteBuffer batches) {
        PartitionLog l = log;
        if (l == null) {
            throw new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, topicPartition + " is still starting");
        }
        return PendingAppend.copyOf(appendTimeMs, batches, l.config().maxMessageBytes(), maxDecompressedBytes).toMessage();
    }

    // ---------------------------------------------------------------- lifecycle and snapshots

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        snapshots.init(raftStorage);
        getLifeCycle().startAndTransition(this::loadState, IOException.class);
    }

    /** Ratis pauses the machine before installing a snapshot; reload requires the PAUSED state. */
    @Override
    public void pause() {
        getLifeCycle().transition(LifeCycle.State.PAUSING);
        getLifeCycle().transition(LifeCycle.State.PAUSED);
    }

    @Override
    public void reinitialize() throws IOException {
        getLifeCycle().startAndTransition(this::loadState, IOException.class);
    }

    /** Opens the log if needed and takes the high watermark and producer state from the latest snapshot. */
    private void loadState() throws IOException {
        if (log == null) {
            PartitionLog opened = PartitionLog.open(logDir, logConfig, time);
            committed = new CommittedState(topicPartition, opened, maxProducers, new RatisAppliedIndex());
            dataLog = new DataLog(topicPartition, opened, committed, new RatisLog());
            queries = new PartitionQueries(opened, committed);
            log = opened;
        }
        SnapshotStore.Loaded s = snapshots.loadLatest();
        committed.load(s == null ? null : s.snapshot(), s == null ? null : s.termIndex());
        if (s != null) {
            LOG.info("{}: loaded snapshot {} (high watermark {}, log end {})", topicPartition, s.termIndex(),
                    s.snapshot().logEndOffset(), log.logEndOffset());
        }
    }

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return snapshots.storage();
    }

    @Override
    public SnapshotInfo getLatestSnapshot() {
        return snapshots.latest();
    }

    @Override
    public long takeSnapshot() throws IOException {
        if (halting.getAsBoolean()) {
            // A simulated crash takes no snapshot on the way down.
            SnapshotInfo latest = getLatestSnapshot();
            return latest == null ? -1 : latest.getIndex();
        }
        CommittedState.View view = committed.snapshotView();
        if (view == null) {
            return -1;
        }
        snapshots.write(view.termIndex(), view.snapshot(), log);
        return view.termIndex().getIndex();
    }

    // ---------------------------------------------------------------- leader: start and place

    /** Takes the checked private copy of an append's batches, which the leader stamps in place. */
    @Override
    public TransactionContext startTransaction(RaftClientRequest request) {
        TransactionContext.Builder builder = TransactionContext.newBuilder().setServerRole(RaftPeerRole.LEADER)
                .setStateMachine(this).setClientRequest(request);
        try {
            Message message = request.getMessage();
            if (message.size() > maxEntryBytes) {
                // Ratis would refuse the entry itself, and make this leader step down while at it.
                throw new RafkaException(ErrorCode.RECORD_LIST_TOO_LARGE, "an append of " + message.size()
                        + " bytes to " + topicPartition + " exceeds the " + maxEntryBytes + " bytes one Raft entry holds");
            }
            PendingAppend p = PendingAppend.of(message);
            if (p == null) {
                p = PendingAppend.decode(message.getContent(), log.config().maxMessageBytes(), maxDecompressedBytes);
            }
            return builder.setLogData(UnsafeByteOperations.unsafeWrap(p.header))
                    .setStateMachineData(UnsafeByteOperations.unsafeWrap(p.data))
                    .setStateMachineContext(p)
                    .build();
        } catch (RafkaException e) {
            TransactionContext trx = builder.setLogData(ByteString.EMPTY).build();
            trx.setException(e);
            return trx;
        }
    }

    @Override
    public TransactionContext preAppendTransaction(TransactionContext trx) throws IOException {
        if (trx.getStateMachineContext() instanceof PendingAppend p) {
            dataLog.place(p, division().getInfo().getCurrentTerm());
        }
        return trx;
    }

    @Override
    public void notifyLeaderReady() {
        events.leaderReady();
    }

    @Override
    public void notifyNotLeader(Collection<TransactionContext> pendingEntries) {
        events.notLeader();
    }

    // ---------------------------------------------------------------- every replica: Ratis DataApi

    @Override
    public CompletableFuture<?> write(LogEntryProto entry, TransactionContext trx) {
        ByteString logData = entry.getStateMachineLogEntry().getLogData();
        if (DataEntry.isDataEntry(logData)) {
            DataEntry h = DataEntry.decode(logData);
            if (h.appended()) {
                dataLog.write(entry.getIndex(), h, entry.getStateMachineLogEntry().getStateMachineEntry().getStateMachineData());
            }
        }
        return CompletableFuture.completedFuture(null);
    }

    /** An entry's batches for a follower, from the leader's memory while pending, else from the partition log. */
    @Override
    public CompletableFuture<ByteString> read(LogEntryProto entry, TransactionContext trx) {
        try {
            DataEntry h = DataEntry.decode(entry.getStateMachineLogEntry().getLogData());
            if (!h.appended()) {
                return CompletableFuture.completedFuture(DataLog.NO_DATA);
            }
            if (trx != null) {
                ByteString pending = trx.getStateMachineLogEntry().getStateMachineEntry().getStateMachineData();
                if (!pending.isEmpty()) {
                    return CompletableFuture.completedFuture(pending);
                }
            }
            return CompletableFuture.supplyAsync(() -> dataLog.readEntry(h, entry.getIndex()), executors.read);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Fsyncs the partition log on the flush pool while Ratis fsyncs its own; both count toward commit. */
    @Override
    public CompletableFuture<Void> flush(long logIndex) {
        return CompletableFuture.runAsync(() -> log.flush(Long.MAX_VALUE), executors.flush);
    }

    @Override
    public CompletableFuture<Void> truncate(long index) {
        try {
            dataLog.truncate(index);
            return CompletableFuture.completedFuture(null);
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Cuts a tail written past the Raft log's last entry before a restart; once, when Ratis's log is loaded. */
    public void reconcileTail() {
        DataLog d = dataLog;
        if (d == null || d.tailReconciled() || closed) {
            return;
        }
        try {
            d.reconcileTail();
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: could not reconcile the log tail with the Raft log yet: {}", topicPartition, e.toString());
        }
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
        DataLog d = dataLog;
        if (d != null && !d.tailReconciled()) {
            try {
                executors.catchUp.execute(this::reconcileTail);
            } catch (RejectedExecutionException e) {
                LOG.debug("{}: node closing; tail not reconciled", topicPartition);
            }
        }
    }

    // ---------------------------------------------------------------- every replica: commit

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        reconcileTail();
        LogEntryProto entry = trx.getLogEntry();
        ByteString logData = entry.getStateMachineLogEntry().getLogData();
        DataEntry h = DataEntry.isDataEntry(logData) ? DataEntry.decode(logData) : null;
        AppendReply reply = committed.apply(entry.getTerm(), entry.getIndex(), h);
        if (reply.error() == ErrorCode.NONE) {
            try {
                events.committed();
            } catch (RuntimeException e) {
                // A throw out of applyTransaction would make Ratis close this replica: never let it.
                LOG.warn("{}: append listener failed", topicPartition, e);
            }
        }
        return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(reply.encode())));
    }

    @Override
    public void notifyTermIndexUpdated(long term, long index) {
        reconcileTail();
        committed.indexUpdated(term, index);
    }

    // ---------------------------------------------------------------- catch-up

    @Override
    public CompletableFuture<Message> query(Message request) {
        try {
            ByteBuffer answer = queries.answer(request.getContent().asReadOnlyByteBuffer());
            return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(answer)));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public CompletableFuture<TermIndex> notifyInstallSnapshotFromLeader(RoleInfoProto roleInfo, TermIndex firstTermIndexInLog) {
        RaftPeerId leader = RaftPeerId.valueOf(roleInfo.getFollowerInfo().getLeaderInfo().getId().getId());
        LOG.info("{}: the leader {} no longer has the entries this replica needs (its log starts at {}); copying its log",
                topicPartition, leader, firstTermIndexInLog);
        return CompletableFuture.supplyAsync(() -> {
            try {
                return copyFromLeader(leader);
            } catch (IOException | RuntimeException e) {
                committed.undoCopy(e);
                throw new StorageException(topicPartition + ": catch-up from " + leader + " failed: " + e.getMessage(), e);
            }
        }, executors.catchUp);
    }

    /** Copies the leader's log up to its applied position, then adopts that position as a local snapshot. */
    private TermIndex copyFromLeader(RaftPeerId leader) throws IOException {
        committed.beginCopy();
        dataLog.beforeCopy();
        RaftGroup group = getServer().join().getDivision(getGroupId()).getGroup();
        LogCatchUp.Result copied;
        try (RaftClient client = clientFactory.apply(group, leader)) {
            copied = new LogCatchUp(log).copy(query -> send(client, query));
        }
        AppliedState target = copied.target();
        TermIndex ti = TermIndex.valueOf(target.term(), target.index());
        snapshots.write(ti, new PartitionSnapshot(target.logEndOffset(), log.logStartOffset(), copied.producerState()), log);
        dataLog.afterCopy();
        committed.finishCopy(target, copied.producerState());
        CATCH_UPS_COMPLETED.incrementAndGet();
        LOG.info("{}: copied the leader's log to offset {}; installed as snapshot {}", topicPartition, target.logEndOffset(), ti);
        return ti;
    }

    private static ByteBuffer send(RaftClient client, ByteBuffer query) throws IOException {
        RaftClientReply reply = client.io().sendReadOnly(Message.valueOf(UnsafeByteOperations.unsafeWrap(query)));
        if (!reply.isSuccess()) {
            throw new IOException("query failed: " + reply.getException());
        }
        return reply.getMessage().getContent().asReadOnlyByteBuffer();
    }

    // ---------------------------------------------------------------- plumbing

    private RaftServer.Division division() throws IOException {
        RaftServer.Division d = division;
        if (d == null) {
            d = getServer().join().getDivision(getGroupId());
            division = d;
        }
        return d;
    }

    /** BaseStateMachine's applied index, moved by {@link CommittedState} together with the state. */
    private final class RatisAppliedIndex implements CommittedState.AppliedIndex {
        @Override
        public TermIndex get() {
            return getLastAppliedTermIndex();
        }

        @Override
        public void set(TermIndex ti) {
            setLastAppliedTermIndex(ti);
        }

        @Override
        public void update(long term, long index) {
            updateLastAppliedTermIndex(term, index);
        }
    }

    /** This division's Raft log. */
    private final class RatisLog implements DataLog.RaftLogView {
        @Override
        public long nextIndex() throws IOException {
            return division().getRaftLog().getNextIndex();
        }

        @Override
        public LogEntryProto get(long index) throws IOException {
            return division().getRaftLog().get(index);
        }
    }

    /** The partition is being removed from this node: closing deletes its log folder. */
    public void deleteOnClose() {
        deleteOnClose = true;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        CommittedState c = committed;
        if (c != null) {
            c.close();
        }
        super.close();
        PartitionLog l = log;
        if (l != null) {
            if (deleteOnClose) {
                l.deleteAll();
            } else if (halting.getAsBoolean()) {
                l.closeWithoutFlush();
            } else {
                l.close();
            }
        }
    }

    @Override
    public String toString() {
        CommittedState c = committed;
        return "PartitionStateMachine(" + topicPartition + ", " + (c == null ? "not started" : c.applied()) + ")";
    }
}
