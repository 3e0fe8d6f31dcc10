package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.common.OffsetOutOfRangeException;
import io.rafka.common.RafkaException;
import io.rafka.common.StorageException;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.log.LogAppendInfo;
import io.rafka.log.LogConfig;
import io.rafka.log.LogReadResult;
import io.rafka.log.PartitionLog;
import io.rafka.raft.internal.PartitionMessages.AppendReply;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;

/**
 * The replicated state machine of one partition: its state is the partition's {@link PartitionLog} plus
 * the idempotent-producer state.
 *
 * <p><b>Apply</b> appends the committed batches of an entry to the log, which assigns offsets from its
 * end; the Raft term becomes the batches' {@code partitionLeaderEpoch} and the leader's clock reading carried
 * in the entry becomes the append time. Apply is deterministic, so every replica's segment files are the
 * same bytes. Bad input yields an error reply, never an exception (an exception would close the division).
 *
 * <p><b>Snapshots</b> are cheap: flush the log, then write the log end offset and producer state for the
 * applied Raft index (see {@link PartitionSnapshot}). Ratis then purges its log up to that index.
 *
 * <p><b>Restart</b>: Ratis replays every entry after the latest snapshot, so {@link #initialize} first cuts
 * the partition log back to the snapshot's log end offset; replay then rebuilds the same bytes.
 *
 * <p><b>Catch-up</b>: install-snapshot is turned off in Ratis; a replica that needs entries the leader has
 * purged is told so ({@link #notifyInstallSnapshotFromLeader}) and copies the leader's batches through
 * read-only queries, in bounded chunks, then adopts the leader's applied position.
 *
 * <p><b>Threads</b>: apply, snapshot and reinitialize run on the division's updater thread; queries and
 * local reads run concurrently and read the log lock-free up to the published {@link AppliedState}.
 */
public final class PartitionStateMachine extends BaseStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionStateMachine.class);
    /** Largest chunk a catching-up replica asks for in one query. */
    static final int CATCH_UP_CHUNK_BYTES = 4 * 1024 * 1024;

    private static final java.util.concurrent.atomic.AtomicLong CATCH_UPS_COMPLETED = new java.util.concurrent.atomic.AtomicLong();

    private final TopicPartition topicPartition;
    private final Path logDir;
    private final LogConfig logConfig;
    private final Time time;
    private final int maxDecompressedBytes;
    private final Executor catchUpExecutor;
    private final BiFunction<RaftGroup, RaftPeerId, RaftClient> clientFactory;
    private final BooleanSupplier halting;
    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final ProducerStateManager producers;
    /** Guards the pair (log end, producer state, applied index) against queries taking a consistent view. */
    private final Object stateLock = new Object();
    private final SnapshotRetentionPolicy retention = new SnapshotRetentionPolicy() {
        @Override
        public int getNumSnapshotsRetained() {
            return 2;
        }
    };

    private volatile PartitionLog log;
    /**
     * True while this replica copies the leader's log. Apply waits meanwhile (the updater thread blocks), so
     * the log changes only by the copy and no snapshot is taken of a half-copied log; a failed copy is undone
     * back to the applied state.
     */
    private boolean installing;
    private volatile boolean closed;
    private volatile boolean deleteOnClose;
    /**
     * After a copy, the Raft index the copied state corresponds to. Ratis may keep applying older entries
     * from its own log until it reloads the machine; those are skipped, and entries after this index are
     * applied normally. Reset when Ratis reloads the machine from the installed snapshot.
     */
    private long skipUpToIndex = -1;
    private volatile AppliedState applied = new AppliedState(0, -1, 0, 0);
    /** Told after records were appended (the high watermark moved), outside any lock; wakes long-polling fetches. */
    private final Runnable onAppend;

    public PartitionStateMachine(TopicPartition topicPartition, Path logDir, LogConfig logConfig, Time time,
                                 int maxProducers, int maxDecompressedBytes, Executor catchUpExecutor,
                                 BiFunction<RaftGroup, RaftPeerId, RaftClient> clientFactory, BooleanSupplier halting,
                                 Runnable onAppend) {
        this.topicPartition = topicPartition;
        this.onAppend = onAppend;
        this.logDir = logDir;
        this.logConfig = logConfig;
        this.time = time;
        this.maxDecompressedBytes = maxDecompressedBytes;
        this.catchUpExecutor = catchUpExecutor;
        this.clientFactory = clientFactory;
        this.halting = halting;
        this.producers = new ProducerStateManager(maxProducers);
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
        return applied;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
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

    /** Opens the log if needed and rewinds it to the latest snapshot, from which Ratis replays. */
    private void loadState() throws IOException {
        synchronized (stateLock) {
            installing = false;
            skipUpToIndex = -1;
            if (log == null) {
                log = PartitionLog.open(logDir, logConfig, time);
            }
            SingleFileSnapshotInfo snapshot = storage.loadLatestSnapshot();
            if (snapshot == null) {
                if (log.logEndOffset() > 0 || log.logStartOffset() > 0) {
                    LOG.info("{}: no snapshot; clearing the log to rebuild it from the Raft log", topicPartition);
                    log.truncateFullyAndStartAt(0);
                }
                producers.clear();
                setLastAppliedTermIndex(null);
                applied = new AppliedState(0, -1, log.logStartOffset(), log.logEndOffset());
                return;
            }
            PartitionSnapshot s = PartitionSnapshot.readFrom(snapshot.getFile().getPath());
            if (log.logEndOffset() < s.logEndOffset()) {
                throw new IllegalStateException(topicPartition + ": log ends at " + log.logEndOffset()
                        + " but snapshot " + snapshot.getTermIndex() + " needs " + s.logEndOffset());
            }
            if (log.logEndOffset() > s.logEndOffset()) {
                log.truncateTo(s.logEndOffset());
            }
            if (log.logEndOffset() != s.logEndOffset()) {
                // The snapshot ends inside a batch boundary we cannot cut at: start over from it.
                log.truncateFullyAndStartAt(s.logEndOffset());
            }
            producers.load(s.producerState().duplicate());
            setLastAppliedTermIndex(snapshot.getTermIndex());
            applied = new AppliedState(snapshot.getTerm(), snapshot.getIndex(), log.logStartOffset(), log.logEndOffset());
            LOG.info("{}: loaded snapshot {} (log end offset {})", topicPartition, snapshot.getTermIndex(), s.logEndOffset());
        }
    }

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    @Override
    public SnapshotInfo getLatestSnapshot() {
        return storage.getLatestSnapshot();
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        ByteString data = entry.getStateMachineLogEntry().getLogData();
        AppendReply reply;
        synchronized (stateLock) {
            awaitNoInstall();
            if (entry.getIndex() <= skipUpToIndex) {
                // Contained in the leader's log that is (or was) copied here: nothing to do.
                updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
                return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(
                        AppendReply.error(ErrorCode.NOT_LEADER).encode())));
            }
            reply = apply(entry.getTerm(), data);
            updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
            applied = new AppliedState(entry.getTerm(), entry.getIndex(), log.logStartOffset(), log.logEndOffset());
        }
        if (reply.error() == ErrorCode.NONE) {
            try {
                onAppend.run();
            } catch (RuntimeException e) {
                // A throw out of applyTransaction would make Ratis close this replica: never let it.
                LOG.warn("{}: append listener failed", topicPartition, e);
            }
        }
        return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(reply.encode())));
    }

    /** Waits (on the updater thread, holding stateLock) while the leader's log is being copied here. */
    private void awaitNoInstall() {
        while (installing) {
            if (closed) {
                throw new IllegalStateException(topicPartition + ": closed while copying the leader's log");
            }
            try {
                stateLock.wait(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(topicPartition + ": interrupted while waiting for a log copy", e);
            }
        }
    }

    private AppendReply apply(long term, ByteString data) {
        if (data.size() < PartitionMessages.APPEND_HEADER || data.byteAt(0) != PartitionMessages.APPEND) {
            return AppendReply.error(ErrorCode.INVALID_REQUEST);
        }
        // A private copy: the log stamps offsets and epochs into the batch bytes.
        ByteBuffer buf = ByteBuffer.allocate(data.size());
        data.copyTo(buf);
        buf.flip();
        long appendTimeMs = buf.getLong(1);
        buf.position(PartitionMessages.APPEND_HEADER);
        ByteBuffer batches = buf.slice();
        try {
            List<RecordBatch> parsed = RecordBatches.split(batches);
            RecordBatch producerBatch = null;
            for (RecordBatch b : parsed) {
                if (b.hasProducerId()) {
                    if (parsed.size() > 1) {
                        return AppendReply.error(ErrorCode.INVALID_RECORD);
                    }
                    producerBatch = b;
                }
            }
            if (producerBatch != null) {
                ProducerStateManager.Check check = producers.check(producerBatch);
                if (check.isDuplicate()) {
                    return new AppendReply(ErrorCode.NONE, check.duplicateOf().firstOffset(),
                            check.duplicateOf().lastOffset(), check.duplicateOf().timestamp());
                }
                if (check.error() != ErrorCode.NONE) {
                    return AppendReply.error(check.error());
                }
            }
            LogAppendInfo info = log.append(batches, (int) Math.min(term, Integer.MAX_VALUE), appendTimeMs);
            if (producerBatch != null) {
                producers.update(producerBatch, info.firstOffset(), info.lastOffset(), appendTimeMs);
            }
            return new AppendReply(ErrorCode.NONE, info.firstOffset(), info.lastOffset(), info.logAppendTimeMs());
        } catch (StorageException e) {
            throw e;
        } catch (RafkaException e) {
            return AppendReply.error(e.errorCode());
        }
    }

    @Override
    public void notifyTermIndexUpdated(long term, long index) {
        synchronized (stateLock) {
            awaitNoInstall();
            super.notifyTermIndexUpdated(term, index);
            if (index > skipUpToIndex) {
                applied = new AppliedState(term, index, log.logStartOffset(), log.logEndOffset());
            }
        }
    }

    @Override
    public long takeSnapshot() throws IOException {
        if (halting.getAsBoolean()) {
            // A simulated crash takes no snapshot on the way down.
            SnapshotInfo latest = getLatestSnapshot();
            return latest == null ? -1 : latest.getIndex();
        }
        TermIndex ti;
        PartitionSnapshot snapshot;
        synchronized (stateLock) {
            ti = getLastAppliedTermIndex();
            if (installing || ti == null || ti.getIndex() < 0 || ti.getIndex() < skipUpToIndex) {
                // No snapshot while the log is being copied, or while it is ahead of Ratis's applied index.
                return -1;
            }
            snapshot = new PartitionSnapshot(log.logEndOffset(), log.logStartOffset(), producers.serialize());
        }
        writeSnapshot(ti, snapshot);
        return ti.getIndex();
    }

    private void writeSnapshot(TermIndex ti, PartitionSnapshot snapshot) throws IOException {
        log.flush(snapshot.logEndOffset());
        Path file = storage.getSnapshotFile(ti.getTerm(), ti.getIndex()).toPath();
        snapshot.writeTo(file);
        MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file.toFile());
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file, md5), ti));
        storage.cleanupOldSnapshots(retention);
    }

    @Override
    public CompletableFuture<Message> query(Message request) {
        ByteString content = request.getContent();
        try {
            if (content.size() == 21 && content.byteAt(0) == PartitionMessages.FETCH) {
                ByteBuffer q = content.asReadOnlyByteBuffer();
                return CompletableFuture.completedFuture(fetch(q.getLong(1), q.getInt(9), q.getLong(13)));
            }
            if (content.size() == 1 && content.byteAt(0) == PartitionMessages.STATE) {
                ByteBuffer reply;
                synchronized (stateLock) {
                    reply = applied.encodeWith(producers.serialize());
                }
                return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(reply)));
            }
            return CompletableFuture.failedFuture(new IllegalArgumentException("unknown partition query"));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private Message fetch(long offset, int maxBytes, long upTo) {
        AppliedState state = applied;
        long end = Math.min(upTo, state.logEndOffset());
        ByteBuffer data;
        try {
            data = offset >= end ? ByteBuffer.allocate(0)
                    : log.read(offset, Math.min(maxBytes, CATCH_UP_CHUNK_BYTES), end).records();
        } catch (OffsetOutOfRangeException e) {
            data = ByteBuffer.allocate(0);
        }
        return Message.valueOf(UnsafeByteOperations.unsafeWrap(
                new AppliedState(state.term(), state.index(), log.logStartOffset(), state.logEndOffset()).encodeWith(data)));
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
                undoFailedCopy(e);
                throw new StorageException(topicPartition + ": catch-up from " + leader + " failed: " + e.getMessage(), e);
            }
        }, catchUpExecutor);
    }

    /**
     * Puts the log back to the applied state after a failed copy, so apply can go on; if the copy had to
     * drop data below that state (the leader's retention ran ahead), apply stays blocked until Ratis asks
     * for another install.
     */
    private void undoFailedCopy(Exception cause) {
        synchronized (stateLock) {
            long appliedEnd = applied.logEndOffset();
            if (log.logStartOffset() <= appliedEnd && log.logEndOffset() >= appliedEnd) {
                log.truncateTo(appliedEnd);
                installing = false;
                stateLock.notifyAll();
                LOG.warn("{}: copying the leader's log failed ({}); back at offset {}", topicPartition, cause.toString(), appliedEnd);
            } else {
                LOG.warn("{}: copying the leader's log failed ({}); waiting for the next install request", topicPartition,
                        cause.toString());
            }
        }
    }

    /** Copies the leader's log up to its applied position, then adopts that position as a local snapshot. */
    private TermIndex copyFromLeader(RaftPeerId leader) throws IOException {
        synchronized (stateLock) {
            installing = true;
        }
        RaftGroup group = getServer().join().getDivision(getGroupId()).getGroup();
        try (RaftClient client = clientFactory.apply(group, leader)) {
            while (true) {
                ByteBuffer stateReply = send(client, PartitionMessages.stateQuery());
                AppliedState target = AppliedState.decodeHeader(stateReply);
                ByteBuffer producerState = stateReply.slice();
                if (copyUpTo(client, target)) {
                    TermIndex ti = TermIndex.valueOf(target.term(), target.index());
                    PartitionSnapshot snapshot = new PartitionSnapshot(target.logEndOffset(), log.logStartOffset(), producerState);
                    writeSnapshot(ti, snapshot);
                    synchronized (stateLock) {
                        producers.load(producerState.duplicate());
                        installing = false;
                        skipUpToIndex = target.index();
                        applied = new AppliedState(target.term(), target.index(), log.logStartOffset(), log.logEndOffset());
                        stateLock.notifyAll();
                    }
                    CATCH_UPS_COMPLETED.incrementAndGet();
                    LOG.info("{}: copied the leader's log to offset {}; installed as snapshot {}", topicPartition,
                            target.logEndOffset(), ti);
                    return ti;
                }
            }
        }
    }

    /** Copies batches until the local log ends where {@code target} does; false if the leader moved its log start past us. */
    private boolean copyUpTo(RaftClient client, AppliedState target) throws IOException {
        if (log.logEndOffset() > target.logEndOffset()) {
            log.truncateTo(target.logEndOffset());
        }
        if (log.logEndOffset() < target.logStartOffset()) {
            log.truncateFullyAndStartAt(target.logStartOffset());
        }
        while (log.logEndOffset() < target.logEndOffset()) {
            ByteBuffer reply = send(client, PartitionMessages.fetch(log.logEndOffset(), CATCH_UP_CHUNK_BYTES, target.logEndOffset()));
            AppliedState now = AppliedState.decodeHeader(reply);
            if (!reply.hasRemaining()) {
                if (now.logStartOffset() > log.logEndOffset()) {
                    log.truncateFullyAndStartAt(now.logStartOffset());
                    return false;
                }
                throw new IOException("leader returned no data at offset " + log.logEndOffset());
            }
            log.appendAsCopy(reply.slice());
        }
        return true;
    }

    private static ByteBuffer send(RaftClient client, ByteBuffer query) throws IOException {
        RaftClientReply reply = client.io().sendReadOnly(Message.valueOf(UnsafeByteOperations.unsafeWrap(query)));
        if (!reply.isSuccess()) {
            throw new IOException("query failed: " + reply.getException());
        }
        return reply.getMessage().getContent().asReadOnlyByteBuffer();
    }

    /** Reads committed batches from the local log (up to the applied log end, the high watermark). */
    public LogReadResult read(long offset, int maxBytes) {
        AppliedState state = applied;
        return log.read(offset, maxBytes, state.logEndOffset());
    }

    /** The partition is being removed from this node: closing deletes its log folder. */
    public void deleteOnClose() {
        deleteOnClose = true;
    }

    @Override
    public void close() throws IOException {
        closed = true;
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
        return "PartitionStateMachine(" + topicPartition + ", " + applied + ")";
    }
}
