package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.common.StorageException;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.log.LogReadResult;
import io.rafka.log.PartitionLog;
import io.rafka.log.ReadBuffers;
import io.rafka.raft.PartitionStatus;
import io.rafka.raft.RaftNodeConfig;
import io.rafka.raft.internal.PartitionMessages.AppendReply;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMessages.EntryHeader;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.Message;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;

/**
 * The Ratis state machine of one partition: a thin adapter that hands each Ratis callback to the part that
 * owns it. The partition's state is its {@link PartitionLog} plus the idempotent-producer state.
 *
 * <p><b>Write once.</b> Batches travel as Ratis state-machine data: Ratis's log keeps a small header
 * ({@link EntryHeader}); the {@code DataApi} writes the bytes straight into the partition log. The leader takes
 * its checked copies ({@link PendingEntry}: one append, or several sent as one entry) and places them in Raft log order; every replica keeps the partition
 * log in step with the Raft log ({@link DataLog}) and commits on apply ({@link CommittedState}: the high
 * watermark). Uncommitted bytes past the high watermark are read only to replicate them.
 *
 * <p><b>Snapshots</b> ({@link SnapshotStore}) hold the high watermark and producer state; the records stay
 * in the log. <b>Restart</b>: Ratis re-applies entries after the latest snapshot, whose bytes are already in
 * the log; a tail written for an entry that never reached the Raft log is cut once Ratis's log is loaded.
 * <b>Catch-up</b>: install-snapshot is off in Ratis; a replica that needs entries the leader purged copies
 * the leader's log ({@link LogCatchUp} against the leader's {@link PartitionQueries}).
 *
 * <p><b>Threads and locks</b>: apply, snapshot and reinitialize run on the division's updater thread;
 * {@code preAppendTransaction}, {@code write} and {@code truncate} under Ratis's log lock. Lock order: Ratis's
 * log lock, then {@link DataLog}'s, then {@link CommittedState}'s.
 */
public final class PartitionStateMachine extends BaseStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionStateMachine.class);
    /** In the partition log's folder: the next opening starts without the empty snapshot ({@link #copyLeaderLogOnNextOpen}). */
    static final String COPY_LEADER_LOG_MARKER = "copy-leader-log-on-open";
    /** Ratis's write buffer holds an entry's own fields too: this much of it is kept for them. */
    private static final int ENTRY_OVERHEAD_BYTES = 512;

    private final TopicPartition topicPartition;
    private final Path logDir;
    private final RaftNodeConfig config;
    private final Time time;
    private final NodeExecutors executors;
    private final BiFunction<RaftGroup, RaftPeerId, RaftClient> clientFactory;
    private final BooleanSupplier halting;
    private final PartitionEvents events;
    private final SnapshotStore snapshots = new SnapshotStore();
    /** Null until Ratis initializes the machine. */
    private volatile PartitionStore store;
    private volatile boolean closed;
    /** Set once its division is being closed because its log failed ({@link FailedLogs#stopAcknowledging}). */
    private final AtomicBoolean closingForFailure = new AtomicBoolean();
    private volatile boolean deleteOnClose;
    private volatile RaftServer.Division division;
    /** When a copy Ratis asked for was installed and not yet adopted by Ratis ({@link System#nanoTime}); 0 if none. */
    private volatile long installedNotAdoptedSinceNanos;
    /** The position of that copy (its snapshot). */
    private volatile TermIndex installedNotAdopted;
    /** Why Ratis's log of this division failed (it fails every later write until reopened); null while it works. */
    private volatile Throwable logFailure;
    /** The topic's log settings known when the machine was built (a group reopened after hibernating); null: defaults. */
    private volatile io.rafka.log.LogConfig initialLogConfig;

    public PartitionStateMachine(TopicPartition topicPartition, Path logDir, RaftNodeConfig config, Time time,
                                 NodeExecutors executors, BiFunction<RaftGroup, RaftPeerId, RaftClient> clientFactory,
                                 BooleanSupplier halting, PartitionEvents events) {
        this.topicPartition = topicPartition;
        this.logDir = logDir;
        this.config = config;
        this.time = time;
        this.executors = executors;
        this.clientFactory = clientFactory;
        this.halting = halting;
        this.events = events;
    }

    /** Opens the log with these settings rather than the node's defaults; call before Ratis initializes the machine. */
    public void initialLogConfig(io.rafka.log.LogConfig logConfig) {
        this.initialLogConfig = logConfig;
    }

    /** The largest Raft entry a partition takes: header plus batches. */
    static int maxEntryBytes(RaftNodeConfig config) {
        return config.raftWriteBufferBytes() - ENTRY_OVERHEAD_BYTES;
    }

    /** How many log copies from a leader completed in this JVM (a metric, and a probe for tests). */
    public static long catchUpsCompleted() {
        return LogCatchUp.completed();
    }

    /**
     * How many times in this JVM a leader's entry refused for a gap in the log showed committed records missing,
     * so that they are copied ({@link ReplicaRepair#gapBefore}; a probe for tests).
     */
    public static long gapsFoundByWrites() {
        return ReplicaRepair.gapsFound();
    }

    /** The partition log; null before {@link #initialize}. */
    public PartitionLog log() {
        PartitionStore s = store;
        return s == null ? null : s.log;
    }

    /**
     * Whether this replica copies another replica's log now, or did so within {@code graceMs}: its Raft log
     * stands still meanwhile, and after an install Ratis takes a moment to move it to the installed index.
     */
    boolean copying(long graceMs) {
        PartitionStore s = store;
        return s != null && (s.committed.copying() || s.committed.msSinceLastCopy() < graceMs);
    }

    /** Where a copy of another replica's log stands, or null if none runs. */
    public PartitionStatus.CopyProgress copyProgress() {
        PartitionStore s = store;
        return s == null ? null : s.committed.copyProgress();
    }

    /**
     * Whether the log lacks committed records and a copy from another replica is under way, or damage was found in it
     * and the reopen that cuts it there (then the copy) is still to come.
     */
    public boolean repairing() {
        PartitionStore s = store;
        return s != null && (s.committed.damagedAt() >= 0 || s.log.revalidatingFrom() >= 0);
    }

    /**
     * Why this division's log stopped taking entries (Ratis fails every write after its first failed one until the
     * division is reopened), or null while it works.
     */
    public Throwable logFailure() {
        return logFailure;
    }

    /**
     * Where this replica's partition log ends: the high watermark plus what it received and has not applied as
     * committed yet (a follower learns that an entry committed from the leader's next message).
     */
    public long logEndOffset() {
        return store.log.logEndOffset();
    }

    /** The last applied entry and the log bounds it produced; the log end is the high watermark. */
    public AppliedState applied() {
        return store.committed.applied();
    }

    /**
     * Deletes the segments retention expired (below the high watermark), and, if the log start moved, tells the
     * applied state at once; returns how many segments went.
     */
    public int enforceRetention() {
        PartitionStore s = store;
        if (s == null) {
            return 0;
        }
        int deleted = s.log.deleteExpiredSegments(s.committed.applied().logEndOffset());
        if (deleted > 0) {
            s.committed.logStartMoved();
        }
        return deleted;
    }

    /**
     * Deletes the segments below {@code offset} (and below the high watermark), telling the applied state if the
     * log start moved; returns how many went.
     */
    public int deleteSegmentsBelow(long offset) {
        PartitionStore s = store;
        if (s == null) {
            return 0;
        }
        int deleted = s.log.deleteSegmentsBelow(offset, s.committed.applied().logEndOffset());
        if (deleted > 0) {
            s.committed.logStartMoved();
        }
        return deleted;
    }

    /** Reads committed batches from the local log (up to the high watermark). */
    public LogReadResult read(long offset, int maxBytes, ReadBuffers buffers) {
        PartitionStore s = store;
        return s.log.read(offset, maxBytes, s.committed.applied().logEndOffset(), buffers);
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        try {
            super.initialize(server, groupId, raftStorage);
            snapshots.init(raftStorage);
            Path copyMarker = logDir.resolve(COPY_LEADER_LOG_MARKER);
            if (snapshots.latest() != null) {
                Files.deleteIfExists(copyMarker);  // the copy it was waiting for is done
            } else if (!Files.exists(copyMarker) && noRaftLog(raftStorage) && noRecords(logDir)) {
                // A group new on this node starts from an empty snapshot at (term 0, index 0), as on every replica,
                // so its first entry is index 1 and no replica can hold an index 0 of its own (docs/replication.md).
                // Ratis 3.3's follower takes a heartbeat without a previous entry (sent when the leader replicates
                // from index 0) as confirming index 0 (ServerImplUtils.effectiveCommitIndex counts a missing previous
                // as index 0): a replica that led term 1 alone, wrote its configuration entry at index 0 and was
                // killed came back committing and applying that entry, then refused every append from the real
                // leaders, whose index 0 is another term's, forever (ChaosIT: a replica stuck at high watermark 0).
                // A replica re-created after its data was lost starts from the same base as the group's others. A
                // partition log with records but no Raft storage keeps the old start (its records fix the offsets).
                snapshots.writeEmpty(TermIndex.valueOf(0, 0), config.maxProducersPerPartition());
            }
            getLifeCycle().startAndTransition(this::loadState, IOException.class);
        } catch (IOException | RuntimeException e) {
            // Ratis neither closes nor unlocks a division's storage when its state machine fails to start: the
            // storage lock would stay held by this process, and every later open of the group here would fail
            // ("in_use.lock" already locked) even once the cause is gone.
            try {
                raftStorage.close();
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * True while this replica has taken nothing from its group: it started from the empty snapshot of a new replica
     * (index 0) and has applied no entry since. It may hold entries it has not seen committed (a first leader cut
     * off before its first entry reached anyone writes one) and their records; a log copy cuts those first
     * ({@link DataLog#beforeCopy}).
     */
    public boolean appliedNothingYet() {
        PartitionStore s = store;
        SnapshotInfo latest = snapshots.latest();
        return s != null && latest != null && latest.getIndex() == 0 && s.committed.applied().index() <= 0;
    }

    /** {@link #appliedNothingYet}, and its partition log holds no record. */
    public boolean holdsNothingYet() {
        PartitionStore s = store;
        return s != null && appliedNothingYet() && s.log.logEndOffset() == 0;
    }

    /**
     * Makes this replica, once its division is removed, start its next opening without the empty snapshot at
     * index 0, so that Ratis asks it to install the leader's state and it copies the leader's log
     * ({@link #notifyInstallSnapshotFromLeader}). For a replica that has applied nothing while its leader, whose Raft
     * log starts at index 1 but whose snapshot is past 0, cannot send it entry 1: Ratis 3.3's leader needs the
     * term of index 0 for that ({@code LogAppender.getPrevious}), which only a snapshot at 0 gives, so it asks the
     * replica to install a snapshot instead, and the replica's Ratis answers "already installed" (its snapshot
     * at 0 is right before the leader's first entry) without asking the state machine: over and over, for good.
     * Without a snapshot Ratis hands the question to the state machine. A marker file keeps the next opening
     * from writing the empty snapshot again; the copy, once installed, removes it. Not for a new
     * group: its replicas start from index 0 so that none holds an entry there ({@link #initialize}).
     */
    public void copyLeaderLogOnNextOpen() throws IOException {
        Files.createDirectories(logDir);
        Files.write(logDir.resolve(COPY_LEADER_LOG_MARKER), new byte[0]);
        snapshots.deleteEmptyStart();
    }

    private static boolean noRaftLog(RaftStorage raftStorage) {
        String[] logs = raftStorage.getStorageDir().getCurrentDir().list((dir, name) -> name.startsWith("log_"));
        return logs == null || logs.length == 0;
    }

    /** No segment holds a byte, and none starts past offset 0: the partition log is new here. */
    private static boolean noRecords(Path logDir) throws IOException {
        if (!Files.isDirectory(logDir)) {
            return true;
        }
        try (var files = Files.list(logDir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (name.endsWith(".log") && (Files.size(f) > 0 || !name.startsWith("00000000000000000000."))) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Ratis pauses the machine before installing a snapshot; reload requires the PAUSED state. */
    @Override
    public void pause() {
        getLifeCycle().transition(LifeCycle.State.PAUSING);
        getLifeCycle().transition(LifeCycle.State.PAUSED);
    }

    @Override
    public void reinitialize() throws IOException {
        installedNotAdoptedSinceNanos = 0;  // Ratis adopted the installed copy (it reloads the machine from it)
        getLifeCycle().startAndTransition(this::loadState, IOException.class);
    }

    /**
     * How long a copy Ratis asked for ({@link #notifyInstallSnapshotFromLeader}) has been installed here without
     * Ratis adopting it; 0 if none waits. Ratis 3.3 adopts an installed copy only when the leader's next install
     * notice arrives, and until then answers every append "installation in progress" (RaftServerImpl's
     * checkInconsistentAppendEntries). A leader that needs no notice any more sends none (leadership moved to a
     * replica whose log reaches back to this one's end), and one whose log starts below the notice being installed
     * fails Ratis's own check on every notice it sends: either way the replica never takes an entry again while its
     * division lives ({@link Hibernation} reopens it).
     */
    public long installedNotAdoptedNanos(long now) {
        long since = installedNotAdoptedSinceNanos;
        return since == 0 ? 0 : now - since;
    }

    /** The Raft index of the copy {@link #installedNotAdoptedNanos} tells of; -1 if none. */
    public long installedNotAdoptedIndex() {
        TermIndex ti = installedNotAdopted;
        return installedNotAdoptedSinceNanos == 0 || ti == null ? -1 : ti.getIndex();
    }

    /** Opens the log if needed and takes the high watermark and producer state from the latest snapshot. */
    private void loadState() throws IOException {
        if (store == null) {
            io.rafka.log.LogConfig lc = initialLogConfig != null ? initialLogConfig : config.logConfig();
            PartitionStore s = PartitionStore.open(topicPartition, logDir, config, lc, time, snapshots, DataLog.RaftLogView.of(this::division),
                    new CommittedState.AppliedIndex(this::getLastAppliedTermIndex, this::setLastAppliedTermIndex,
                            this::updateLastAppliedTermIndex));
            ReplicaRepair repair = new ReplicaRepair(topicPartition, s.committed, s.catchUp, this::division, clientFactory,
                    executors.catchUp, () -> closed);
            s.committed.onDamage(neededIndex -> repair.start());
            s.committed.closingWhen(this::divisionClosing);
            s.dataLog.onGap(repair::gapBefore);
            // Published once loaded: until then its high watermark reads 0, and a replica that reopened with
            // records would answer a fetch as if its log were empty (and a status whose high watermark went back).
            try {
                s.reload();
            } catch (IOException | RuntimeException e) {
                s.close(false, true);  // not published: nothing else would close the log, and the next open needs it closed
                throw e;
            }
            store = s;
            return;
        }
        store.reload();
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
        // A simulated crash takes no snapshot on the way down.
        return halting.getAsBoolean() ? store.latestSnapshotIndex() : store.takeSnapshot();
    }

    @Override
    public TransactionContext startTransaction(RaftClientRequest request) {
        return PendingEntry.startTransaction(this, request, maxEntryBytes(config),
                store.log.config().maxMessageBytes(), config.maxDecompressedBytes());
    }

    @Override
    public TransactionContext preAppendTransaction(TransactionContext trx) throws IOException {
        if (trx.getStateMachineContext() instanceof PendingEntry e) {
            store.dataLog.place(e, division().getInfo().getCurrentTerm());
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

    /**
     * Ratis's log worker failed a write or a sync: of the partition log ({@link #flush}) or of its own files. From
     * then on it fails every entry, so this replica can neither follow nor lead until reopened. Ratis calls this for
     * every entry it fails, and {@link #write} when the partition log refuses an entry's records; the node is told
     * once. A follower's division is closed at once, before Ratis answers the failed write
     * ({@link FailedLogs#stopAcknowledging}); a leader's after it handed its leadership over ({@link Hibernation}).
     */
    @Override
    public void notifyLogFailed(Throwable cause, LogEntryProto failedEntry) {
        if (RaftErrors.unwrap(cause) instanceof DataReadFailed) {
            return;  // Ratis tells reads of entry data here too; a failed read leaves its log working
        }
        if (closed) {
            return;  // Ratis closes the state machine before its log: a last flush then fails on the closed partition log
        }
        if (logFailure == null) {
            logFailure = cause;
            LOG.error("{}: writing its Raft log failed{}; this replica stops until its Raft group is reopened here",
                    topicPartition, failedEntry == null ? "" : " at index " + failedEntry.getIndex(), cause);
            try {
                events.logFailed(cause);
            } catch (RuntimeException e) {
                LOG.warn("{}: log failure listener failed", topicPartition, e);
            }
        }
        try {
            FailedLogs.stopAcknowledging(division(), closingForFailure, topicPartition);
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: could not close its division after its log failed: {}", topicPartition, e.toString());
        }
    }

    /**
     * Writes the entry's records to the partition log. A write the disk refused (full, or an I/O error) throws, so
     * Ratis takes neither the entry into its log nor its cache (the leader retries it on a follower), and counts as a
     * failure of this replica's log ({@link #notifyLogFailed}): a leader that kept leading on a disk that refuses
     * every write would never commit again, and on a leader Ratis also keeps the permit it took for each such
     * request (enough of those and every append is refused as BUSY while that leader leads), so the replica is
     * reopened ({@link Hibernation}), a leader after handing its leadership over. (A failed future instead would not
     * stop the entry: Ratis's log does not wait for the state machine's write here, {@code StateMachineData.sync}
     * being off, and would hold an entry whose records the partition log lacks.) Other refusals (records missing, an
     * entry at an unexpected place) throw without that.
     */
    @Override
    public CompletableFuture<?> write(LogEntryProto entry, TransactionContext trx) {
        try {
            store.dataLog.write(entry);
        } catch (StorageException e) {
            if (causedByIo(e)) {
                notifyLogFailed(e, entry);
            }
            throw e;
        }
        return CompletableFuture.completedFuture(null);
    }

    private static boolean causedByIo(Throwable e) {
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof IOException || t instanceof java.io.UncheckedIOException) {
                return true;
            }
        }
        return false;
    }

    /** Marks a failed read of entry data, which Ratis reports through {@link #notifyLogFailed} as it does failed writes. */
    private static final class DataReadFailed extends RuntimeException {
        DataReadFailed(Throwable cause) {
            super(cause.getMessage(), cause);
        }
    }

    @Override
    public CompletableFuture<ByteString> read(LogEntryProto entry, TransactionContext trx) {
        return store.dataLog.read(entry, trx, executors.read).exceptionally(e -> {
            throw new DataReadFailed(RaftErrors.unwrap(e));
        });
    }

    /**
     * Fsyncs the partition log on the calling thread, Ratis's log worker, which then fsyncs its own log; an entry
     * counts toward commit once both are done. Handing this fsync to a pool, to run beside Ratis's, saved ~0.2 ms
     * of waiting per flush and cost more in thread wake-ups: on three broker processes 7 % fewer of them and 16 %
     * less broker CPU per Raft entry at low rates without the pool (docs/BENCHMARKS.md).
     */
    @Override
    public CompletableFuture<Void> flush(long logIndex) {
        try {
            store.log.flush(Long.MAX_VALUE);
            return CompletableFuture.completedFuture(null);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public CompletableFuture<Void> truncate(long index) {
        try {
            store.dataLog.truncate(index);
            return CompletableFuture.completedFuture(null);
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Cuts a tail written past the Raft log's last entry before a restart; once, when Ratis's log is loaded. */
    public void reconcileTail() {
        PartitionStore s = store;
        if (s != null && !closed) {
            s.dataLog.tryReconcileTail();
        }
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
        PartitionStore s = store;
        if (s != null && !s.dataLog.tailReconciled()) {
            try {
                executors.catchUp.execute(this::reconcileTail);
            } catch (RejectedExecutionException e) {
                LOG.debug("{}: node closing; tail not reconciled", topicPartition);
            }
        }
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        reconcileTail();
        LogEntryProto entry = trx.getLogEntry();
        ByteString logData = entry.getStateMachineLogEntry().getLogData();
        List<AppendReply> replies = store.committed.apply(entry.getTerm(), entry.getIndex(), EntryHeader.decodeIfData(logData));
        if (PartitionMessages.isHibernate(logData)) {
            events.hibernateApplied(entry.getTerm(), entry.getIndex());
        }
        if (replies.stream().anyMatch(r -> r.error() == ErrorCode.NONE)) {
            try {
                events.committed();
            } catch (RuntimeException e) {
                // A throw out of applyTransaction would make Ratis close this replica: never let it.
                LOG.warn("{}: append listener failed", topicPartition, e);
            }
        }
        return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(AppendReply.encodeAll(replies))));
    }

    @Override
    public void notifyTermIndexUpdated(long term, long index) {
        reconcileTail();
        store.committed.indexUpdated(term, index);
    }

    @Override
    public CompletableFuture<Message> query(Message request) {
        try {
            ByteBuffer answer = store.queries.answer(request.getContent().asReadOnlyByteBuffer());
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
        return store.catchUp.installAsync(leader, () -> clientFactory.apply(division().getGroup(), leader), executors.catchUp)
                .thenApply(installed -> {
                    installedNotAdopted = installed;
                    installedNotAdoptedSinceNanos = System.nanoTime();
                    try {
                        Files.deleteIfExists(logDir.resolve(COPY_LEADER_LOG_MARKER));  // it has a snapshot now
                    } catch (IOException e) {
                        LOG.debug("{}: the copy marker stays until the next opening: {}", topicPartition, e.toString());
                    }
                    return installed;
                });
    }

    /** Whether Ratis closes this replica's division (a closing division never runs again). */
    private boolean divisionClosing() {
        try {
            return division().getInfo().getLifeCycleState().isClosingOrClosed();
        } catch (org.apache.ratis.protocol.exceptions.GroupMismatchException e) {
            // Ratis's group removal takes the division out of its map before it closes it: a machine still applying
            // is registered otherwise (Ratis adds the division before starting it).
            return true;
        } catch (IOException | RuntimeException e) {
            return false;  // not known: asked again in 100 ms
        }
    }

    private RaftServer.Division division() throws IOException {
        RaftServer.Division d = division;
        if (d == null) {
            d = getServer().join().getDivision(getGroupId());
            division = d;
        }
        return d;
    }

    /** The partition is being removed from this node: closing deletes its log folder. */
    public void deleteOnClose() {
        deleteOnClose = true;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        PartitionStore s = store;
        if (s != null) {
            s.committed.close();  // a replica waiting for a log copy stops waiting
        }
        super.close();
        if (s != null) {
            // A log that failed to write (a full disk) would fail its closing flush too: close it as a crash would,
            // and the next open re-validates its tail.
            s.close(deleteOnClose, halting.getAsBoolean() || logFailure != null);
        }
    }

    @Override
    public String toString() {
        PartitionStore s = store;
        return "PartitionStateMachine(" + topicPartition + ", " + (s == null ? "not started" : s.committed.applied()) + ")";
    }
}
