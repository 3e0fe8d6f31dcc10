package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.common.OffsetOutOfRangeException;
import io.rafka.common.RafkaException;
import io.rafka.common.StorageException;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.log.LogConfig;
import io.rafka.log.LogReadResult;
import io.rafka.log.PartitionLog;
import io.rafka.raft.internal.PartitionMessages.AppendReply;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMessages.DataEntry;
import io.rafka.record.RecordBatch;
import org.apache.ratis.client.RaftClient;
import io.rafka.common.InvalidRecordException;
import io.rafka.record.TimestampType;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.proto.RaftProtos.StateMachineLogEntryProto;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.server.raftlog.RaftLog;
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
 * <p><b>Write once.</b> An append's batches travel as Ratis <em>state-machine data</em>: Ratis keeps only a
 * small header ({@link DataEntry}) in its own log and hands the bytes to this machine's {@link DataApi}, which
 * writes them straight into the partition log. So a batch reaches each replica's disk once.
 * <ol>
 *   <li>{@link #startTransaction} (leader) checks the batches and takes a private copy.</li>
 *   <li>{@link #preAppendTransaction} (leader, under Ratis's log lock, in log order) decides: a producer retry
 *       becomes a DUPLICATE entry pointing at the original offsets; otherwise offsets are assigned from the
 *       end of the last entry in the Raft log, the Raft term is stamped as {@code partitionLeaderEpoch} and,
 *       for LogAppendTime topics, the append time. Verdict and offsets go into the entry's header.</li>
 *   <li>{@link #write} (every replica, in log order) appends the stamped bytes at exactly those offsets,
 *       first cutting away any tail left by entries that are no longer in the Raft log. {@link #flush}
 *       fsyncs the partition log while Ratis fsyncs its own; an entry counts toward commit only once both are
 *       durable. {@link #truncate} cuts the partition log back when Ratis drops uncommitted
 *       entries. {@link #read} serves an entry's bytes to followers that need it again.</li>
 *   <li>{@link #applyTransaction} (every replica, on commit) moves the high watermark to the entry's end and
 *       records the producer state; the leader's reply carries the offsets.</li>
 * </ol>
 * The partition log may therefore hold uncommitted bytes past the high watermark; nothing reads them except
 * {@link #read} for replication, and every reader of records is bounded by {@link #applied()}.
 *
 * <p><b>Snapshots</b> are cheap: flush the log up to the high watermark, then write it and the producer state
 * for the applied Raft index ({@link PartitionSnapshot}). Ratis then purges its log up to that index.
 *
 * <p><b>Restart</b>: Ratis re-applies the entries after the latest snapshot from its log; their bytes are
 * already in the partition log, where their headers say. A tail written for an entry that never reached the
 * Raft log is cut once Ratis's log is loaded ({@link #reconcileTail}).
 *
 * <p><b>Catch-up</b>: install-snapshot is turned off in Ratis; a replica that needs entries the leader has
 * purged is told so ({@link #notifyInstallSnapshotFromLeader}) and copies the leader's batches through
 * read-only queries, in bounded chunks, then adopts the leader's applied position.
 *
 * <p><b>Threads and locks</b>: apply, snapshot and reinitialize run on the division's updater thread under
 * {@code stateLock}; {@code preAppendTransaction}, {@code write} and {@code truncate} run under Ratis's log
 * lock and take {@code dataLock}. Order: Ratis log lock, then {@code dataLock}, then {@code stateLock}; nothing
 * holding {@code stateLock} or {@code dataLock} waits for Ratis's log lock.
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
    private final Executor catchUpExecutor;
    private final Executor flushExecutor;
    private final Executor readExecutor;
    /** Largest append request one Raft entry takes (Ratis's write buffer, less room for the entry's own fields). */
    private final int maxEntryBytes;
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

    /** Serializes the log-order operations' own state below; taken under Ratis's log lock, before stateLock. */
    private final Object dataLock = new Object();
    /** End offset of the last appended entry written in Raft log order; where the leader assigns offsets next. */
    private long writtenEnd;
    /** The term this replica assigns offsets in as leader; -1 when not leading. */
    private long leaderTerm = -1;
    /** While leading: producer state including entries appended but not yet committed (de-duplication input). */
    private ProducerStateManager pendingProducers;
    /** Whether a tail past the Raft log's last entry (written before a crash) has been cut since startup. */
    private volatile boolean tailReconciled;
    private volatile RaftServer.Division division;
    /** Told after records were appended (the high watermark moved), outside any lock; wakes long-polling fetches. */
    private final Runnable onAppend;

    public PartitionStateMachine(TopicPartition topicPartition, Path logDir, LogConfig logConfig, Time time,
                                 int maxProducers, int maxEntryBytes, Executor catchUpExecutor, Executor flushExecutor,
                                 Executor readExecutor, BiFunction<RaftGroup, RaftPeerId, RaftClient> clientFactory,
                                 BooleanSupplier halting, Runnable onAppend) {
        this.topicPartition = topicPartition;
        this.onAppend = onAppend;
        this.logDir = logDir;
        this.logConfig = logConfig;
        this.time = time;
        this.catchUpExecutor = catchUpExecutor;
        this.flushExecutor = flushExecutor;
        this.readExecutor = readExecutor;
        this.maxEntryBytes = maxEntryBytes;
        this.clientFactory = clientFactory;
        this.halting = halting;
        this.producers = new ProducerStateManager(maxProducers);
    }

    /** What a DUPLICATE entry's followers get instead of bytes (Ratis needs non-empty state-machine data). */
    private static final ByteString NO_DATA = ByteString.copyFrom(new byte[] {1});
    /** What the leader sends for an entry whose bytes its retention already deleted. */
    private static final ByteString DELETED = ByteString.copyFrom(new byte[] {0});

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

    /**
     * Opens the log if needed and takes the high watermark and producer state from the latest snapshot. The
     * log keeps what lies past that watermark: those are the bytes of the Raft entries Ratis applies next.
     */
    private void loadState() throws IOException {
        synchronized (stateLock) {
            installing = false;
            skipUpToIndex = -1;
            if (log == null) {
                log = PartitionLog.open(logDir, logConfig, time);
            }
            SingleFileSnapshotInfo snapshot = storage.loadLatestSnapshot();
            if (snapshot == null) {
                producers.clear();
                setLastAppliedTermIndex(null);
                applied = new AppliedState(0, -1, log.logStartOffset(), log.logStartOffset());
                return;
            }
            PartitionSnapshot s = PartitionSnapshot.readFrom(snapshot.getFile().getPath());
            if (log.logEndOffset() < s.logEndOffset()) {
                throw new IllegalStateException(topicPartition + ": log ends at " + log.logEndOffset()
                        + " but snapshot " + snapshot.getTermIndex() + " needs " + s.logEndOffset());
            }
            producers.load(s.producerState().duplicate());
            setLastAppliedTermIndex(snapshot.getTermIndex());
            applied = new AppliedState(snapshot.getTerm(), snapshot.getIndex(), log.logStartOffset(), s.logEndOffset());
            LOG.info("{}: loaded snapshot {} (high watermark {}, log end {})", topicPartition, snapshot.getTermIndex(),
                    s.logEndOffset(), log.logEndOffset());
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

    // ---------------------------------------------------------------- leader: start and decide

    /** Checks an append request and takes a private copy of its batches, which the leader stamps in place. */
    @Override
    public TransactionContext startTransaction(RaftClientRequest request) {
        TransactionContext.Builder builder = TransactionContext.newBuilder().setServerRole(RaftPeerRole.LEADER)
                .setStateMachine(this).setClientRequest(request);
        try {
            ByteString content = request.getMessage().getContent();
            if (content.size() > maxEntryBytes) {
                // Ratis would refuse the entry itself, and make this leader step down while at it.
                throw new RafkaException(ErrorCode.RECORD_LIST_TOO_LARGE, "an append of " + content.size()
                        + " bytes to " + topicPartition + " exceeds the " + maxEntryBytes + " bytes one Raft entry holds");
            }
            PendingAppend p = PendingAppend.parse(content, log.config().maxMessageBytes());
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

    /**
     * Decides where an append goes, in Raft log order (Ratis calls this under its log lock just before the
     * entry gets its index): a producer retry becomes a DUPLICATE entry; anything else gets the offsets after
     * the last entry in the log, the term as epoch and, for LogAppendTime topics, the append time. Sequence
     * errors fail the request without an entry and without the leader stepping down.
     */
    @Override
    public TransactionContext preAppendTransaction(TransactionContext trx) throws IOException {
        if (!(trx.getStateMachineContext() instanceof PendingAppend p)) {
            return trx;
        }
        long term = division().getInfo().getCurrentTerm();
        synchronized (dataLock) {
            if (leaderTerm != term) {
                startLeading(term);
            }
            if (p.producerBatch != null) {
                ProducerStateManager.Check check = pendingProducers.check(p.producerBatch);
                if (check.isDuplicate()) {
                    ProducerStateManager.BatchMetadata original = check.duplicateOf();
                    boolean appendTime = log.config().messageTimestampType() == TimestampType.LOG_APPEND_TIME;
                    DataEntry.decide(p.header, PartitionMessages.DUPLICATE, original.firstOffset(), original.lastOffset(),
                            appendTime ? original.timestamp() : RecordBatch.NO_TIMESTAMP);
                    return trx;
                }
                if (check.error() != ErrorCode.NONE) {
                    throw rejected(new RafkaException(check.error(), "batch of producer " + p.producerBatch.producerId()
                            + " (epoch " + p.producerBatch.producerEpoch() + ", sequence " + p.producerBatch.baseSequence()
                            + ") rejected by " + topicPartition + ": " + check.error()));
                }
            }
            boolean stampTime = log.config().messageTimestampType() == TimestampType.LOG_APPEND_TIME;
            int epoch = (int) Math.min(term, Integer.MAX_VALUE);
            long next = writtenEnd;
            for (RecordBatch batch : p.batches) {
                batch.setBaseOffset(next);
                batch.setPartitionLeaderEpoch(epoch);
                if (stampTime) {
                    batch.setMaxTimestamp(TimestampType.LOG_APPEND_TIME, p.appendTimeMs);
                }
                next = batch.nextOffset();
            }
            DataEntry.decide(p.header, PartitionMessages.APPENDED, writtenEnd, next - 1,
                    stampTime ? p.appendTimeMs : RecordBatch.NO_TIMESTAMP);
        }
        return trx;
    }

    /**
     * Becomes the replica that assigns offsets, in {@code term}. Ratis accepts writes only once the leader has
     * applied its log up to the term's first entry, so the high watermark is the end of the log; that is
     * checked rather than trusted.
     */
    private void startLeading(long term) throws IOException {
        AppliedState a = applied;
        DataEntry unapplied = lastAppendedAbove(a.index(), division().getRaftLog().getNextIndex());
        if (unapplied != null) {
            throw rejected(new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, "the new leader of " + topicPartition
                    + " is still applying its log"));
        }
        synchronized (stateLock) {
            pendingProducers = producers.copy();
            writtenEnd = applied.logEndOffset();
        }
        leaderTerm = term;
        LOG.debug("{}: assigning offsets from {} in term {}", topicPartition, writtenEnd, term);
    }

    private StateMachineException rejected(RafkaException e) {
        return new StateMachineException(e.getMessage(), e, false);
    }

    // ---------------------------------------------------------------- every replica: Ratis DataApi

    /**
     * Writes an entry's batches into the partition log at the offsets its header names (Ratis calls this in
     * log order as the entry enters the local Raft log). Bytes past that offset belong to entries no longer in
     * the Raft log and are cut first. Throws rather than leave a gap: Ratis then neither stores nor acknowledges
     * the entry.
     */
    @Override
    public CompletableFuture<?> write(LogEntryProto entry, TransactionContext trx) {
        StateMachineLogEntryProto sm = entry.getStateMachineLogEntry();
        if (!DataEntry.isDataEntry(sm.getLogData())) {
            return CompletableFuture.completedFuture(null);
        }
        DataEntry h = DataEntry.decode(sm.getLogData());
        if (!h.appended()) {
            return CompletableFuture.completedFuture(null);
        }
        ByteString data = sm.getStateMachineEntry().getStateMachineData();
        synchronized (dataLock) {
            tailReconciled = true;
            long hw = applied.logEndOffset();
            if (h.baseOffset() < hw) {
                throw new IllegalStateException(topicPartition + ": entry " + entry.getIndex() + " would rewrite offset "
                        + h.baseOffset() + " below the high watermark " + hw);
            }
            if (data.equals(DELETED)) {
                // The leader's retention deleted these records: so do we, as Kafka followers do.
                log.truncateFullyAndStartAt(h.nextOffset());
            } else {
                if (log.logEndOffset() > h.baseOffset()) {
                    log.truncateTo(h.baseOffset());
                }
                if (log.logEndOffset() != h.baseOffset()) {
                    throw new StorageException(topicPartition + ": entry " + entry.getIndex() + " starts at offset "
                            + h.baseOffset() + " but the partition log ends at " + log.logEndOffset()
                            + "; the records of earlier entries are missing (lost before they were fsynced?)");
                }
                log.appendAsCopy(data.asReadOnlyByteBuffer());
            }
            writtenEnd = h.nextOffset();
            if (pendingProducers != null && h.producerId() >= 0) {
                pendingProducers.update(h.producerId(), h.producerEpoch(), h.baseSequence(), h.lastSequence(),
                        h.baseOffset(), h.lastOffset(), h.appendTimeMs());
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
                return CompletableFuture.completedFuture(NO_DATA);
            }
            if (trx != null) {
                ByteString pending = trx.getStateMachineLogEntry().getStateMachineEntry().getStateMachineData();
                if (!pending.isEmpty()) {
                    return CompletableFuture.completedFuture(pending);
                }
            }
            // Off Ratis's appender thread: Ratis interrupts it when the leader steps down, and an interrupted
            // FileChannel read closes the segment's channel for good.
            return CompletableFuture.supplyAsync(() -> readFromLog(h, entry.getIndex()), readExecutor);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private ByteString readFromLog(DataEntry h, long index) {
        if (h.nextOffset() <= log.logStartOffset()) {
            return DELETED;
        }
        ByteBuffer bytes;
        try {
            bytes = log.read(h.baseOffset(), h.dataBytes(), h.nextOffset()).records();
        } catch (OffsetOutOfRangeException e) {
            return DELETED;
        }
        if (bytes.remaining() != h.dataBytes() || bytes.getLong(bytes.position()) != h.baseOffset()) {
            throw new StorageException(topicPartition + ": read " + bytes.remaining() + " bytes at offset "
                    + h.baseOffset() + " for entry " + index + ", which wrote " + h.dataBytes());
        }
        return UnsafeByteOperations.unsafeWrap(bytes);
    }

    /**
     * Fsyncs what {@link #write} wrote, on the flush pool: Ratis fsyncs its own log meanwhile and counts the
     * entries as flushed (so toward commit) only once both are done.
     */
    @Override
    public CompletableFuture<Void> flush(long logIndex) {
        return CompletableFuture.runAsync(() -> log.flush(Long.MAX_VALUE), flushExecutor);
    }

    /** Ratis drops its uncommitted entries from {@code index} on: cut their bytes from the partition log. */
    @Override
    public CompletableFuture<Void> truncate(long index) {
        try {
            long keep = endOfLogBelow(index);
            synchronized (dataLock) {
                tailReconciled = true;
                leaderTerm = -1;
                pendingProducers = null;
                if (log.logEndOffset() > keep) {
                    LOG.info("{}: Raft entries from {} dropped; cutting the partition log back to offset {}",
                            topicPartition, index, keep);
                    log.truncateTo(keep);
                }
                writtenEnd = keep;
            }
            return CompletableFuture.completedFuture(null);
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Where the records of the Raft entries below {@code index} end. */
    private long endOfLogBelow(long index) throws IOException {
        AppliedState a = applied;
        DataEntry last = lastAppendedAbove(a.index(), index);
        return last == null ? a.logEndOffset() : last.nextOffset();
    }

    /** The header of the last appended data entry with index in ({@code fromExclusive}, {@code toExclusive}). */
    private DataEntry lastAppendedAbove(long fromExclusive, long toExclusive) throws IOException {
        RaftLog raftLog = division().getRaftLog();
        for (long i = toExclusive - 1; i > fromExclusive; i--) {
            LogEntryProto e = raftLog.get(i);
            if (e == null) {
                break;
            }
            if (e.hasStateMachineLogEntry() && DataEntry.isDataEntry(e.getStateMachineLogEntry().getLogData())) {
                DataEntry h = DataEntry.decode(e.getStateMachineLogEntry().getLogData());
                if (h.appended()) {
                    return h;
                }
            }
        }
        return null;
    }

    /**
     * Cuts bytes past the end of the Raft log's last entry: written just before a crash for an entry that
     * never reached Ratis's log file. Runs once after startup, when Ratis's log is loaded (first apply or
     * leader notification); a write or truncate first does the same job itself.
     */
    public void reconcileTail() {
        if (tailReconciled || closed) {
            return;
        }
        try {
            long end = endOfLogBelow(division().getRaftLog().getNextIndex());
            synchronized (dataLock) {
                if (tailReconciled) {
                    return;
                }
                tailReconciled = true;
                writtenEnd = end;
                if (log.logEndOffset() > end) {
                    LOG.info("{}: cutting {} offsets written past the Raft log's last entry before a restart",
                            topicPartition, log.logEndOffset() - end);
                    log.truncateTo(end);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: could not reconcile the log tail with the Raft log yet: {}", topicPartition, e.toString());
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

    @Override
    public void notifyLeaderChanged(org.apache.ratis.protocol.RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
        if (!tailReconciled) {
            try {
                catchUpExecutor.execute(this::reconcileTail);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                LOG.debug("{}: node closing; tail not reconciled", topicPartition);
            }
        }
    }

    // ---------------------------------------------------------------- every replica: commit

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        reconcileTail();
        LogEntryProto entry = trx.getLogEntry();
        AppendReply reply;
        synchronized (stateLock) {
            awaitNoInstall();
            if (entry.getIndex() <= skipUpToIndex) {
                // Contained in the leader's log that is (or was) copied here: nothing to do.
                updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
                return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(
                        AppendReply.error(ErrorCode.NOT_LEADER).encode())));
            }
            reply = apply(entry);
            updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
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

    /** Commits an entry: its records (already in the log) fall below the high watermark. Holds stateLock. */
    private AppendReply apply(LogEntryProto entry) {
        ByteString logData = entry.getStateMachineLogEntry().getLogData();
        AppliedState before = applied;
        if (!DataEntry.isDataEntry(logData)) {
            applied = new AppliedState(entry.getTerm(), entry.getIndex(), log.logStartOffset(), before.logEndOffset());
            return AppendReply.error(ErrorCode.INVALID_REQUEST);
        }
        DataEntry h = DataEntry.decode(logData);
        if (!h.appended()) {
            applied = new AppliedState(entry.getTerm(), entry.getIndex(), log.logStartOffset(), before.logEndOffset());
            return new AppendReply(ErrorCode.NONE, h.baseOffset(), h.lastOffset(), h.replyTimeMs());
        }
        if (log.logEndOffset() < h.nextOffset()) {
            // Ratis's log holds the entry but the partition log lacks its records: only a crash that lost
            // unsynced pages does this. Stop this replica rather than serve a gap.
            throw new StorageException(topicPartition + ": the records of committed entry " + entry.getIndex()
                    + " (offsets " + h.baseOffset() + ".." + h.lastOffset() + ") are missing; the log ends at "
                    + log.logEndOffset() + ". Remove this replica's data to let it copy the leader's log.");
        }
        if (h.producerId() >= 0) {
            producers.update(h.producerId(), h.producerEpoch(), h.baseSequence(), h.lastSequence(), h.baseOffset(),
                    h.lastOffset(), h.appendTimeMs());
        }
        applied = new AppliedState(entry.getTerm(), entry.getIndex(), log.logStartOffset(), h.nextOffset());
        return new AppendReply(ErrorCode.NONE, h.baseOffset(), h.lastOffset(), h.replyTimeMs());
    }

    @Override
    public void notifyTermIndexUpdated(long term, long index) {
        reconcileTail();
        synchronized (stateLock) {
            awaitNoInstall();
            super.notifyTermIndexUpdated(term, index);
            if (index > skipUpToIndex) {
                applied = new AppliedState(term, index, log.logStartOffset(), applied.logEndOffset());
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
            snapshot = new PartitionSnapshot(applied.logEndOffset(), log.logStartOffset(), producers.serialize());
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
        synchronized (dataLock) {
            // Bytes past the high watermark are uncommitted entries of this replica's own log: the copy replaces them.
            leaderTerm = -1;
            pendingProducers = null;
            tailReconciled = true;
            long hw = applied.logEndOffset();
            if (log.logEndOffset() > hw) {
                log.truncateTo(hw);
            }
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
                    synchronized (dataLock) {
                        writtenEnd = log.logEndOffset();
                    }
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

    /** An append between {@link #startTransaction} and {@link #preAppendTransaction}: checked, not yet placed. */
    private static final class PendingAppend {
        final long appendTimeMs;
        /** A private copy of the batches; stamped in place, and the very bytes Ratis replicates. */
        final byte[] data;
        final List<RecordBatch> batches;
        final RecordBatch producerBatch;
        /** The entry's {@link DataEntry} header, completed in place by preAppendTransaction. */
        final byte[] header;

        private PendingAppend(long appendTimeMs, byte[] data, List<RecordBatch> batches, RecordBatch producerBatch) {
            this.appendTimeMs = appendTimeMs;
            this.data = data;
            this.batches = batches;
            this.producerBatch = producerBatch;
            RecordBatch p = producerBatch;
            this.header = DataEntry.undecided(appendTimeMs, data.length,
                    p == null ? -1 : p.producerId(), p == null ? -1 : p.producerEpoch(),
                    p == null ? -1 : p.baseSequence(), p == null ? -1 : p.lastSequence());
        }

        /** The same checks the log applies to every append (size, header, CRC, records), before Raft sees it. */
        static PendingAppend parse(ByteString request, int maxBatchBytes) {
            if (request.size() < PartitionMessages.APPEND_HEADER || request.byteAt(0) != PartitionMessages.APPEND) {
                throw new RafkaException(ErrorCode.INVALID_REQUEST, "not an append request");
            }
            long appendTimeMs = request.asReadOnlyByteBuffer().getLong(1);
            byte[] data = request.substring(PartitionMessages.APPEND_HEADER).toByteArray();
            List<RecordBatch> batches = PartitionLog.checkedBatches(ByteBuffer.wrap(data), maxBatchBytes);
            RecordBatch producerBatch = null;
            for (RecordBatch b : batches) {
                if (b.hasProducerId()) {
                    if (batches.size() > 1) {
                        throw new InvalidRecordException("a batch with a producer id must be appended alone");
                    }
                    if (b.baseSequence() < 0 || b.producerEpoch() < 0) {
                        throw new InvalidRecordException("producer batch without sequence or epoch");
                    }
                    producerBatch = b;
                }
            }
            return new PendingAppend(appendTimeMs, data, batches, producerBatch);
        }
    }

    @Override
    public String toString() {
        return "PartitionStateMachine(" + topicPartition + ", " + applied + ")";
    }
}
