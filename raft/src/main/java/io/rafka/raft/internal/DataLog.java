package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.common.OffsetOutOfRangeException;
import io.rafka.common.RafkaException;
import io.rafka.common.StorageException;
import io.rafka.common.TopicPartition;
import io.rafka.log.PartitionLog;
import io.rafka.raft.internal.PartitionMessages.DataEntry;
import io.rafka.raft.internal.PartitionMessages.EntryHeader;
import io.rafka.record.RecordBatch;
import io.rafka.record.TimestampType;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.LongConsumer;

/**
 * The partition log as the Raft log's shadow: everything that happens in Raft log order, under Ratis's log
 * lock. The leader places appends, one or a group per entry (a producer retry becomes a DUPLICATE part; anything else gets the
 * offsets after the last entry in the Raft log, the term as {@code partitionLeaderEpoch} and, for
 * LogAppendTime topics, the append time); every replica writes each entry's bytes at exactly the offsets its
 * header names, cuts bytes of entries Ratis dropped, and once after a restart cuts a tail written for an entry
 * that never reached the Raft log.
 *
 * <p>The log may hold uncommitted bytes past the high watermark ({@link CommittedState}); only
 * {@link #readEntry} (for followers) reads them.
 *
 * <p>Thread-safe: log-order state is guarded by one monitor, taken under Ratis's log lock and before
 * {@link CommittedState}'s; nothing holding it waits for Ratis's log lock.
 */
final class DataLog {
    private static final Logger LOG = LoggerFactory.getLogger(DataLog.class);
    /** What a DUPLICATE entry's followers get instead of bytes (Ratis needs non-empty state-machine data). */
    static final ByteString NO_DATA = ByteString.copyFrom(new byte[] {1});
    /** What the leader sends for an entry whose bytes its retention already deleted. */
    static final ByteString DELETED = ByteString.copyFrom(new byte[] {0});

    /** The local Raft log, read back to find where entries' records end. */
    interface RaftLogView {
        /** The index the next entry gets. */
        long nextIndex() throws IOException;

        /** The entry at {@code index}, or null if the log no longer (or not yet) holds it. */
        LogEntryProto get(long index) throws IOException;

        /** The Raft log of a division, found when first needed (Ratis builds the division after the machine). */
        static RaftLogView of(DivisionSource division) {
            return new RaftLogView() {
                @Override
                public long nextIndex() throws IOException {
                    return division.get().getRaftLog().getNextIndex();
                }

                @Override
                public LogEntryProto get(long index) throws IOException {
                    return division.get().getRaftLog().get(index);
                }
            };
        }
    }

    /** Finds this replica's Raft division. */
    interface DivisionSource {
        RaftServer.Division get() throws IOException;
    }

    private final TopicPartition topicPartition;
    private final PartitionLog log;
    private final CommittedState committed;
    private final RaftLogView raftLog;
    private final Object lock = new Object();
    /** End offset of the last appended entry written in Raft log order; where the leader assigns offsets next. */
    private long writtenEnd;
    /** The term this replica assigns offsets in as leader; -1 when not leading. */
    private long leaderTerm = -1;
    /**
     * The newest LogAppendTime this replica stamped: appends take their time when they arrive, and may enter the
     * log in another order, so a later one never gets an earlier time (as Kafka stamps under its log lock).
     */
    private long lastAppendTimeMs = Long.MIN_VALUE;
    /** While leading: producer state including entries appended but not yet committed (de-duplication input). */
    private ProducerStateManager pendingProducers;
    /** Whether a tail past the Raft log's last entry (written before a crash) has been cut since startup. */
    private volatile boolean tailReconciled;
    /**
     * Set while a copy of another replica's log appends to the partition log ({@link #beforeCopy} to
     * {@link #afterCopy} or {@link #copyEnded}): entries Ratis hands over meanwhile are refused, not written.
     */
    private boolean copyRunning;
    /** Told the index of a leader's entry refused because records of earlier entries are missing ({@link ReplicaRepair#gapBefore}). */
    private volatile LongConsumer gapListener = index -> { };

    DataLog(TopicPartition topicPartition, PartitionLog log, CommittedState committed, RaftLogView raftLog) {
        this.topicPartition = topicPartition;
        this.log = log;
        this.committed = committed;
        this.raftLog = raftLog;
    }

    boolean tailReconciled() {
        return tailReconciled;
    }

    /**
     * Decides where an entry's appends go, in Raft log order, as the entry is about to get its index in
     * {@code term}: fills in each part's verdict and offsets in the entry's header and stamps the batches in
     * place. A producer retry becomes a DUPLICATE part. A sequence error, or an append required in another term
     * ({@link PendingAppend#requiredTerm}; NOT_LEADER), makes that part REJECTED (the entry goes on, with the others
     * of a group); the caller gets the error when the entry is applied.
     */
    void place(PendingEntry e, long term) throws IOException {
        synchronized (lock) {
            if (leaderTerm != term) {
                startLeading(term);
            }
            boolean stampTime = log.config().messageTimestampType() == TimestampType.LOG_APPEND_TIME;
            boolean lone = e.parts.size() == 1;
            // A group may hold several batches of one producer: check each against the ones placed before it.
            ProducerStateManager producers = lone ? pendingProducers : pendingProducers.scratchFor(producerIds(e));
            long next = writtenEnd;
            for (int i = 0; i < e.parts.size(); i++) {
                PendingAppend p = e.parts.get(i);
                int at = e.partAt(i);
                if (p.requiredTerm >= 0 && p.requiredTerm != term) {
                    DataEntry.decide(e.header, at, PartitionMessages.REJECTED, -1, -1, ErrorCode.NOT_LEADER.code());
                    continue;
                }
                if (p.producerBatch != null) {
                    ProducerStateManager.Check check = producers.check(p.producerBatch);
                    if (check.isDuplicate()) {
                        ProducerStateManager.BatchMetadata original = check.duplicateOf();
                        DataEntry.decide(e.header, at, PartitionMessages.DUPLICATE, original.firstOffset(),
                                original.lastOffset(), stampTime ? original.timestamp() : RecordBatch.NO_TIMESTAMP);
                        continue;
                    }
                    if (check.error() != ErrorCode.NONE) {
                        // A verdict in the entry, not a refusal of it, even alone: Ratis keeps the pending-request
                        // place it took for a refused entry until its leader changes (RaftServerImpl.appendTransaction),
                        // so a producer looping on a sequence error would fill them and block every write.
                        DataEntry.decide(e.header, at, PartitionMessages.REJECTED, -1, -1, check.error().code());
                        continue;
                    }
                }
                long base = next;
                long appendTime = RecordBatch.NO_TIMESTAMP;
                if (stampTime) {
                    appendTime = Math.max(p.appendTimeMs, lastAppendTimeMs);
                    lastAppendTimeMs = appendTime;
                }
                next = stamp(p, base, (int) Math.min(term, Integer.MAX_VALUE), appendTime);
                DataEntry.decide(e.header, at, PartitionMessages.APPENDED, base, next - 1, appendTime);
                if (!lone && p.producerBatch != null) {
                    producers.update(p.producerBatch, base, next - 1, p.appendTimeMs);
                }
            }
        }
    }

    /**
     * Stamps an append's batches from offset {@code base}, with LogAppendTime {@code appendTime} unless it is
     * {@link RecordBatch#NO_TIMESTAMP}; returns the offset after them.
     */
    private static long stamp(PendingAppend p, long base, int epoch, long appendTime) {
        long next = base;
        for (RecordBatch batch : p.batches) {
            batch.setBaseOffset(next);
            batch.setPartitionLeaderEpoch(epoch);
            if (appendTime != RecordBatch.NO_TIMESTAMP) {
                batch.setMaxTimestamp(TimestampType.LOG_APPEND_TIME, appendTime);
            }
            next = batch.nextOffset();
        }
        return next;
    }

    private static java.util.Set<Long> producerIds(PendingEntry e) {
        java.util.Set<Long> ids = new java.util.HashSet<>();
        for (PendingAppend p : e.parts) {
            if (p.producerBatch != null) {
                ids.add(p.producerBatch.producerId());
            }
        }
        return ids;
    }

    /**
     * Becomes the replica that assigns offsets, in {@code term}. Ratis accepts writes only once the leader has
     * applied its log up to the term's first entry, so the high watermark is the end of the log; that is
     * checked rather than trusted.
     */
    private void startLeading(long term) throws IOException {
        EntryHeader unapplied = lastAppendedAbove(committed.applied().index(), raftLog.nextIndex());
        if (unapplied != null) {
            throw rejected(new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, "the new leader of " + topicPartition
                    + " is still applying its log"));
        }
        CommittedState.LeaderStart start = committed.leaderStart();
        pendingProducers = start.producers();
        writtenEnd = start.highWatermark();
        leaderTerm = term;
        LOG.debug("{}: assigning offsets from {} in term {}", topicPartition, writtenEnd, term);
    }

    private static StateMachineException rejected(RafkaException e) {
        return new StateMachineException(e.getMessage(), e, false);
    }

    /**
     * Writes an entry's appended batches into the partition log at the offsets its header names. Bytes past
     * that offset belong to entries no longer in the Raft log and are cut first. Throws rather than leave a
     * gap: Ratis then neither stores nor acknowledges the entry.
     *
     * <p>{@code data} is either all parts' batches (the leader's own copy, or what it sent from memory) or only
     * the appended parts' (read back from a leader's partition log).
     */
    void write(long index, EntryHeader h, ByteString data) {
        // The first write after a restart may come before reconcileTail (a leader's first request carrying new
        // entries): the entries still to apply are checked here then, as reconcileTail would. Ratis's log is read
        // before taking the lock, as there; Ratis holds its log's lock for this call, so it cannot change meanwhile.
        List<Map.Entry<Long, DataEntry>> toVerify = tailReconciled ? List.of() : entriesToReplayBelow(index);
        synchronized (lock) {
            if (!tailReconciled) {
                tailReconciled = true;
                try {
                    verifyEntriesToReplay(toVerify);
                } catch (IOException | RuntimeException e) {
                    tailReconciled = false;
                    throw new StorageException(topicPartition + ": could not check the records of the entries to apply"
                            + " before entry " + index + ": " + e, e);
                }
            }
            if (committed.coveredByCopy(index)) {
                return;  // a repair copied another replica's log past this entry: its records are there already
            }
            if (copyRunning) {
                // A repair copy appends to the log without this lock, and Ratis keeps handing a repairing follower
                // the leader's new entries: written now, an entry's bytes would land between copied batches or cut
                // them off, and the copy would end on a log that lacks committed records. Refused, Ratis neither
                // stores nor acknowledges the entry, and the leader sends it again after the copy.
                throw new StorageException(topicPartition + ": entry " + index + " arrived while another replica's "
                        + "log is being copied here; the leader sends it again once the copy ends");
            }
            long hw = committed.applied().logEndOffset();
            long base = h.baseOffset();
            if (base < hw) {
                throw new IllegalStateException(topicPartition + ": entry " + index + " would rewrite offset "
                        + base + " below the high watermark " + hw);
            }
            if (data.equals(DELETED)) {
                // The leader's retention deleted these records: so do we, as Kafka followers do.
                log.truncateFullyAndStartAt(h.nextOffset());
            } else {
                if (log.logEndOffset() > base) {
                    log.truncateTo(base);
                }
                if (log.logEndOffset() != base) {
                    gapListener.accept(index);
                    throw new StorageException(topicPartition + ": entry " + index + " starts at offset "
                            + base + " but the partition log ends at " + log.logEndOffset()
                            + "; the records of earlier entries are missing (lost before they were fsynced?)");
                }
                appendParts(index, h, data);
            }
            writtenEnd = h.nextOffset();
            if (pendingProducers != null) {
                for (DataEntry p : h.parts()) {
                    if (p.appended() && p.producerId() >= 0) {
                        pendingProducers.update(p.producerId(), p.producerEpoch(), p.baseSequence(), p.lastSequence(),
                                p.baseOffset(), p.lastOffset(), p.appendTimeMs());
                    }
                }
            }
        }
    }

    /** {@link #write(long, EntryHeader, ByteString)} of a lone append. */
    void write(long index, DataEntry h, ByteString data) {
        write(index, EntryHeader.of(h), data);
    }

    private void appendParts(long index, EntryHeader h, ByteString data) {
        boolean allParts = data.size() == h.allBytes();
        if (!allParts && data.size() != h.appendedBytes()) {
            throw new StorageException(topicPartition + ": entry " + index + " carries " + data.size()
                    + " bytes; its parts hold " + h.allBytes() + ", of which " + h.appendedBytes() + " appended");
        }
        if (h.parts().size() == 1) {
            log.appendReplicated(data.asReadOnlyByteBuffer());
            return;
        }
        int position = 0;
        for (DataEntry p : h.parts()) {
            if (p.appended()) {
                log.appendReplicated(data.substring(position, position + p.dataBytes()).asReadOnlyByteBuffer());
            }
            if (allParts || p.appended()) {
                position += p.dataBytes();
            }
        }
    }

    /**
     * An entry's batches for a follower: from the leader's memory while the entry is pending, else read back
     * from the partition log on {@code readExecutor}, off Ratis's appender thread (Ratis interrupts it when
     * the leader steps down, and an interrupted FileChannel read closes the segment's channel for good).
     */
    CompletableFuture<ByteString> read(LogEntryProto entry, TransactionContext trx, Executor readExecutor) {
        try {
            ByteString logData = entry.getStateMachineLogEntry().getLogData();
            if (!EntryHeader.isDataEntry(logData)) {
                return CompletableFuture.completedFuture(NO_DATA);  // e.g. HIBERNATE: nothing beside the header
            }
            EntryHeader h = EntryHeader.decode(logData);
            if (!h.appended()) {
                return CompletableFuture.completedFuture(NO_DATA);
            }
            if (trx != null) {
                ByteString pending = trx.getStateMachineLogEntry().getStateMachineEntry().getStateMachineData();
                if (!pending.isEmpty()) {
                    return CompletableFuture.completedFuture(pending);
                }
            }
            return CompletableFuture.supplyAsync(() -> readEntry(h, entry.getIndex()), readExecutor);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** An entry's appended bytes read back from the partition log. */
    ByteString readEntry(EntryHeader h, long index) {
        if (h.nextOffset() <= log.logStartOffset()) {
            return DELETED;
        }
        ByteBuffer bytes;
        try {
            bytes = log.read(h.baseOffset(), h.appendedBytes(), h.nextOffset()).records();
        } catch (OffsetOutOfRangeException e) {
            return DELETED;
        }
        if (bytes.remaining() != h.appendedBytes() || bytes.getLong(bytes.position()) != h.baseOffset()) {
            throw new StorageException(topicPartition + ": read " + bytes.remaining() + " bytes at offset "
                    + h.baseOffset() + " for entry " + index + ", which wrote " + h.appendedBytes());
        }
        return UnsafeByteOperations.unsafeWrap(bytes);
    }

    /** Ratis drops its uncommitted entries from {@code index} on: cuts their bytes from the partition log. */
    void truncate(long index) throws IOException {
        long keep = endOfLogBelow(index);
        synchronized (lock) {
            tailReconciled = true;
            stopLeading();
            if (log.logEndOffset() > keep) {
                LOG.info("{}: Raft entries from {} dropped; cutting the partition log back to offset {}",
                        topicPartition, index, keep);
                log.truncateTo(keep);
            }
            writtenEnd = keep;
        }
    }

    /** Writes an entry that Ratis hands to {@code DataApi.write}, if it carries records. */
    void write(LogEntryProto entry) {
        ByteString logData = entry.getStateMachineLogEntry().getLogData();
        if (EntryHeader.isDataEntry(logData)) {
            EntryHeader h = EntryHeader.decode(logData);
            if (h.appended()) {
                write(entry.getIndex(), h, entry.getStateMachineLogEntry().getStateMachineEntry().getStateMachineData());
            }
        }
    }

    /** {@link #reconcileTail}, but a failure (Ratis's log not loaded yet) only logs: a later call retries. */
    void tryReconcileTail() {
        if (tailReconciled) {
            return;
        }
        try {
            reconcileTail();
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: could not reconcile the log tail with the Raft log yet: {}", topicPartition, e.toString());
        }
    }

    /**
     * Cuts bytes past the end of the Raft log's last entry: written just before a crash for an entry that
     * never reached Ratis's log file. Needed once after startup, when Ratis's log is loaded; a write or truncate
     * first does the same job itself.
     */
    void reconcileTail() throws IOException {
        if (tailReconciled) {
            return;
        }
        // Ratis's log is read before taking the lock, never under it: Ratis holds its log's write lock while it
        // hands an entry to write(), which takes the lock (the other order deadlocked a follower that was opened
        // while its leader sent entries). A write or truncate in between does this job itself and sets
        // tailReconciled, so what is read here is only used if the Raft log's data entries did not change.
        long end = endOfLogBelow(raftLog.nextIndex());
        List<Map.Entry<Long, DataEntry>> toReplay = entriesToReplay();
        synchronized (lock) {
            if (tailReconciled) {
                return;
            }
            tailReconciled = true;
            if (log.logEndOffset() > end) {
                LOG.info("{}: cutting {} offsets written past the Raft log's last entry before a restart",
                        topicPartition, log.logEndOffset() - end);
                log.truncateTo(end);
            }
            verifyEntriesToReplay(toReplay);
            writtenEnd = end;
        }
    }

    /** The appended parts of the Raft entries still to be applied, with their entries' indexes, in log order. */
    private List<Map.Entry<Long, DataEntry>> entriesToReplay() throws IOException {
        return entriesToReplayBelow(raftLog.nextIndex());
    }

    /** {@link #entriesToReplay()} of the entries below {@code endIndex}; Ratis's log unreadable: none. */
    private List<Map.Entry<Long, DataEntry>> entriesToReplayBelow(long endIndex) {
        try {
            return entriesToReplayBelowOrFail(Math.min(endIndex, raftLog.nextIndex()));
        } catch (IOException e) {
            throw new StorageException(topicPartition + ": could not read the Raft log's entries to apply: " + e, e);
        }
    }

    private List<Map.Entry<Long, DataEntry>> entriesToReplayBelowOrFail(long nextIndex) throws IOException {
        List<Map.Entry<Long, DataEntry>> parts = new ArrayList<>();
        for (long i = committed.applied().index() + 1; i < nextIndex; i++) {
            LogEntryProto e = raftLog.get(i);
            if (e == null || !e.hasStateMachineLogEntry()
                    || !EntryHeader.isDataEntry(e.getStateMachineLogEntry().getLogData())) {
                continue;
            }
            for (DataEntry p : EntryHeader.decode(e.getStateMachineLogEntry().getLogData()).parts()) {
                if (p.appended()) {
                    parts.add(Map.entry(i, p));
                }
            }
        }
        return parts;
    }

    /**
     * Checks the records of the Raft entries still to be applied after a restart against their headers: the batch
     * at each appended part's base offset starts there and carries its producer id, epoch and first sequence, and
     * the batch holding its last offset ends there. Apply only checks that the records are there at all, and the
     * partition log's recovery only that its batches are whole; a machine crash that lost the page cache can still
     * leave other batches at those offsets (an entry's bytes written over a truncated one, neither fsynced).
     * At the first mismatch the log is cut there, so apply finds the records missing and the replica copies them
     * from another replica ({@link CommittedState}'s repair) instead of serving bytes no other replica holds.
     */
    private void verifyEntriesToReplay(List<Map.Entry<Long, DataEntry>> toReplay) throws IOException {
        for (Map.Entry<Long, DataEntry> entry : toReplay) {
            DataEntry p = entry.getValue();
            if (p.baseOffset() < log.logStartOffset()) {
                continue;
            }
            if (p.lastOffset() >= log.logEndOffset()) {
                return;  // missing from here on: apply waits for a copy
            }
            String mismatch = mismatch(p);
            if (mismatch != null) {
                LOG.warn("{}: the records at offsets {}..{} are not those of Raft entry {} ({}); cutting the log "
                                + "at {} and copying them from another replica", topicPartition, p.baseOffset(),
                        p.lastOffset(), entry.getKey(), mismatch, p.baseOffset());
                log.truncateTo(p.baseOffset());
                return;
            }
        }
    }

    /** How the partition log's batches at a part's offsets differ from the part's header; null if they match. */
    private String mismatch(DataEntry p) {
        RecordBatch first = new RecordBatch(log.read(p.baseOffset(), 1, Long.MAX_VALUE).records());
        if (first.baseOffset() != p.baseOffset()) {
            return "a batch starts at " + first.baseOffset();
        }
        if (p.producerId() >= 0 && (first.producerId() != p.producerId() || first.producerEpoch() != p.producerEpoch()
                || first.baseSequence() != p.baseSequence())) {
            return "producer " + first.producerId() + "/" + first.producerEpoch() + " sequence " + first.baseSequence()
                    + ", not " + p.producerId() + "/" + p.producerEpoch() + " sequence " + p.baseSequence();
        }
        RecordBatch last = first.lastOffset() >= p.lastOffset() ? first
                : new RecordBatch(log.read(p.lastOffset(), 1, Long.MAX_VALUE).records());
        if (last.lastOffset() != p.lastOffset()) {
            return "the batch holding offset " + p.lastOffset() + " ends at " + last.lastOffset();
        }
        return null;
    }

    /** A copy of the leader's log is about to replace this replica's uncommitted tail. */
    void beforeCopy() {
        synchronized (lock) {
            copyRunning = true;
            stopLeading();
            tailReconciled = true;
            long hw = committed.applied().logEndOffset();
            if (log.logEndOffset() > hw) {
                log.truncateTo(hw);
            }
        }
    }

    /**
     * The copy is done and its position adopted ({@link CommittedState#finishCopy}, which makes Ratis's entries it
     * covers skipped): the next entry's records go after it.
     */
    void afterCopy() {
        synchronized (lock) {
            writtenEnd = log.logEndOffset();
            copyRunning = false;
        }
    }

    /** The copy failed (and the log was put back): entries are written again. */
    void copyEnded() {
        synchronized (lock) {
            copyRunning = false;
        }
    }

    private void stopLeading() {
        leaderTerm = -1;
        pendingProducers = null;
    }

    void onGap(LongConsumer listener) {
        this.gapListener = listener;
    }

    /** For tests of the lock order (Ratis's log lock, then this one). */
    boolean lockHeldByCurrentThread() {
        return Thread.holdsLock(lock);
    }

    /** Where the records of the Raft entries below {@code index} end. */
    private long endOfLogBelow(long index) throws IOException {
        PartitionMessages.AppliedState a = committed.applied();
        EntryHeader last = lastAppendedAbove(a.index(), index);
        return last == null ? a.logEndOffset() : last.nextOffset();
    }

    /** The header of the last appended data entry with index in ({@code fromExclusive}, {@code toExclusive}). */
    private EntryHeader lastAppendedAbove(long fromExclusive, long toExclusive) throws IOException {
        for (long i = toExclusive - 1; i > fromExclusive; i--) {
            LogEntryProto e = raftLog.get(i);
            if (e == null) {
                break;
            }
            if (e.hasStateMachineLogEntry() && EntryHeader.isDataEntry(e.getStateMachineLogEntry().getLogData())) {
                EntryHeader h = EntryHeader.decode(e.getStateMachineLogEntry().getLogData());
                if (h.appended()) {
                    return h;
                }
            }
        }
        return null;
    }
}
