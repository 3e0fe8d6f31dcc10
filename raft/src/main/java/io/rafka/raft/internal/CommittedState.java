package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.common.TopicPartition;
import io.rafka.log.PartitionLog;
import io.rafka.raft.PartitionStatus;
import io.rafka.raft.internal.PartitionMessages.AppendReply;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMessages.DataEntry;
import io.rafka.raft.internal.PartitionMessages.EntryHeader;
import org.apache.ratis.server.protocol.TermIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The committed state of one partition replica: the applied position (whose log end is the high
 * watermark), the committed producer state, and the Raft index Ratis counts as applied. Apply moves them
 * together; snapshots and the leader's state queries read them together.
 *
 * <p>While the leader's log is copied here ({@link #beginCopy}) apply waits: the log then changes only by
 * the copy and no snapshot is taken of a half-copied log. After the copy, entries up to the copied Raft
 * index are skipped until Ratis reloads the machine.
 *
 * <p>Thread-safe: one monitor ({@code lock}); callers holding the log-order lock of {@link DataLog} may take
 * it, never the other way round.
 */
final class CommittedState {
    private static final Logger LOG = LoggerFactory.getLogger(CommittedState.class);

    /**
     * Where Ratis keeps the applied index (BaseStateMachine's): it must move with the state. {@code update}
     * only moves it forward and wakes Ratis's stale reads waiting for it; {@code set} puts it anywhere.
     */
    record AppliedIndex(Supplier<TermIndex> get, Consumer<TermIndex> set, Consumer<TermIndex> update) {
    }

    /** What a snapshot captures, taken in one step. */
    record View(TermIndex termIndex, PartitionSnapshot snapshot) {
    }

    /** Told when the log turns out to lack committed records: someone must copy them ({@link ReplicaRepair}). */
    interface DamageListener {
        /** Records up to Raft index {@code neededIndex} are missing; apply waits until a copy covers them. */
        void damaged(long neededIndex);
    }

    private final TopicPartition topicPartition;
    private final PartitionLog log;
    private final ProducerStateManager producers;
    private final AppliedIndex appliedIndex;
    private final Object lock = new Object();
    private volatile AppliedState applied = new AppliedState(0, -1, 0, 0);
    private boolean copying;
    private volatile boolean closed;
    private volatile BooleanSupplier divisionClosing = () -> false;
    /** Whether apply gave up waiting for a copy because the division closes (logged once). */
    private boolean abandoned;
    private long skipUpToIndex = -1;
    /** The Raft index whose records are missing from the log, until a copy covers it; -1 when intact. */
    private volatile long damagedAt = -1;
    private volatile DamageListener damageListener = neededIndex -> { };
    /** When the last copy finished ({@link System#nanoTime}); 0 if none did. */
    private volatile long lastCopyFinishedNanos;
    /** The offset a running copy copies up to; -1 when none runs. */
    private volatile long copyTargetOffset = -1;

    CommittedState(TopicPartition topicPartition, PartitionLog log, int maxProducers, AppliedIndex appliedIndex) {
        this.topicPartition = topicPartition;
        this.log = log;
        this.producers = new ProducerStateManager(maxProducers);
        this.appliedIndex = appliedIndex;
    }

    void onDamage(DamageListener listener) {
        this.damageListener = listener;
    }

    /** Whether a copy of another replica's log already holds the records of Raft entry {@code index}. */
    boolean coveredByCopy(long index) {
        synchronized (lock) {
            return index <= skipUpToIndex;
        }
    }

    /** The Raft index whose records the log lacks (a copy is due); -1 when the log is intact. */
    long damagedAt() {
        return damagedAt;
    }

    AppliedState applied() {
        return applied;
    }

    /** Starts from a snapshot ({@code null}: from nothing). The log keeps what lies past its high watermark. */
    void load(PartitionSnapshot snapshot, TermIndex ti) {
        synchronized (lock) {
            copying = false;
            skipUpToIndex = -1;
            if (snapshot == null) {
                producers.clear();
                appliedIndex.set().accept(null);
                applied = new AppliedState(0, -1, log.logStartOffset(), log.logStartOffset());
                return;
            }
            producers.load(snapshot.producerState().duplicate());
            appliedIndex.set().accept(ti);
            applied = new AppliedState(ti.getTerm(), ti.getIndex(), log.logStartOffset(), snapshot.logEndOffset());
            if (log.logEndOffset() < snapshot.logEndOffset()) {
                LOG.warn("{}: the log ends at offset {} but snapshot {} holds records up to {}: a segment lost its tail "
                        + "or was deleted; copying the missing records from another replica", topicPartition,
                        log.logEndOffset(), ti, snapshot.logEndOffset());
                markDamaged(ti.getIndex());
            }
        }
    }

    /**
     * Records of entries up to Raft index {@code index}, which another replica has applied (so they are committed
     * and stay), are missing from the log although no apply has reached them yet: a leader's later entry could not
     * be written behind them ({@link ReplicaRepair#gapBefore}). Apply waits for a copy, as when it finds them missing.
     * False if nothing was to do, or a copy runs (it ends at its source's applied position; if that falls short,
     * the leader's entry is refused again and checked again).
     */
    boolean committedRecordsMissing(long index) {
        synchronized (lock) {
            if (copying || index <= skipUpToIndex || index <= applied.index() || index <= damagedAt) {
                return false;  // a copy runs or covers it, it applied (its records were there), or the repair knows
            }
            LOG.warn("{}: the records of committed entries up to {} are missing; the log ends at {}. Copying them from "
                    + "another replica", topicPartition, index, log.logEndOffset());
            markDamaged(index);
            return true;
        }
    }

    /** Stops apply until a copy of another replica's log covers Raft index {@code index}. Under the lock. */
    private void markDamaged(long index) {
        damagedAt = Math.max(damagedAt, index);
        copying = true;
        damageListener.damaged(damagedAt);
    }

    /**
     * Commits a Raft entry: its records (already in the log) fall below the high watermark and its producer
     * batches enter the producer state. Entries contained in a copied leader log are skipped. Answers each
     * of the entry's appends ({@code h} null: a request that was no append).
     */
    List<AppendReply> apply(long term, long index, EntryHeader h) {
        synchronized (lock) {
            while (true) {
                if (!awaitNoCopy()) {
                    // Abandoned: the division closes. Nothing is applied (the next opening applies it again from
                    // the Raft log); the appends waiting on it are told to find the leader again.
                    return notLeader(h);
                }
                if (index <= skipUpToIndex) {
                    appliedIndex.update().accept(TermIndex.valueOf(term, index));
                    return notLeader(h);
                }
                if (h != null && h.appended() && log.logEndOffset() < h.nextOffset()) {
                    // Ratis's log holds the entry but the partition log lacks its records: a crash lost unsynced
                    // pages, or a segment was cut or deleted. Wait for a copy rather than serve a gap.
                    LOG.warn("{}: the records of committed entry {} (offsets {}..{}) are missing; the log ends at {}. "
                            + "Copying them from another replica", topicPartition, index, h.baseOffset(),
                            h.nextOffset() - 1, log.logEndOffset());
                    markDamaged(index);
                    continue;
                }
                List<AppendReply> replies = applyLocked(term, index, h);
                appliedIndex.update().accept(TermIndex.valueOf(term, index));
                return replies;
            }
        }
    }

    /** NOT_LEADER for each of the entry's appends: the writers look for the leader again. */
    private static List<AppendReply> notLeader(EntryHeader h) {
        return h == null ? List.of(AppendReply.error(ErrorCode.NOT_LEADER))
                : h.parts().stream().map(p -> AppendReply.error(ErrorCode.NOT_LEADER)).toList();
    }

    /** {@link #apply(long, long, EntryHeader)} of a lone append. */
    AppendReply apply(long term, long index, DataEntry h) {
        return apply(term, index, h == null ? null : EntryHeader.of(h)).get(0);
    }

    private List<AppendReply> applyLocked(long term, long index, EntryHeader h) {
        AppliedState before = applied;
        if (h == null || !h.appended()) {
            applied = new AppliedState(term, index, log.logStartOffset(), before.logEndOffset());
            return h == null ? List.of(AppendReply.error(ErrorCode.INVALID_REQUEST)) : h.replies();
        }
        for (DataEntry p : h.parts()) {
            if (p.appended() && p.producerId() >= 0) {
                producers.update(p.producerId(), p.producerEpoch(), p.baseSequence(), p.lastSequence(), p.baseOffset(),
                        p.lastOffset(), p.appendTimeMs());
            }
        }
        applied = new AppliedState(term, index, log.logStartOffset(), h.nextOffset());
        return h.replies();
    }

    /** Ratis applied an entry that is not a transaction (e.g. a configuration change). */
    void indexUpdated(long term, long index) {
        synchronized (lock) {
            if (!awaitNoCopy()) {
                return;  // the division closes: see apply
            }
            appliedIndex.update().accept(TermIndex.valueOf(term, index));
            if (index > skipUpToIndex) {
                applied = new AppliedState(term, index, log.logStartOffset(), applied.logEndOffset());
            }
        }
    }

    /**
     * The log's start moved outside an applied entry (retention deleted segments): the applied state takes it at once.
     * Clients are told the log start from it (ListOffsets earliest, fetch answers, /status), and an idle partition
     * may apply nothing more for hours; a consumer reset to a start that is gone would be sent there again and again.
     */
    void logStartMoved() {
        synchronized (lock) {
            AppliedState a = applied;
            long start = log.logStartOffset();
            if (!copying && start != a.logStartOffset()) {
                applied = new AppliedState(a.term(), a.index(), start, a.logEndOffset());
            }
        }
    }

    /** What to snapshot now; null while a copy runs or the log is ahead of Ratis's applied index. */
    View snapshotView() {
        synchronized (lock) {
            TermIndex ti = appliedIndex.get().get();
            if (copying || ti == null || ti.getIndex() < 0 || ti.getIndex() < skipUpToIndex) {
                return null;
            }
            return new View(ti, new PartitionSnapshot(applied.logEndOffset(), log.logStartOffset(), producers.serialize()));
        }
    }

    /** The applied position followed by the producer state: the leader's answer to a STATE query. */
    ByteBuffer encodeState() {
        synchronized (lock) {
            return applied.encodeWith(producers.serialize());
        }
    }

    /** The committed producer state and high watermark, for a replica that starts assigning offsets. */
    record LeaderStart(ProducerStateManager producers, long highWatermark) {
    }

    LeaderStart leaderStart() {
        synchronized (lock) {
            return new LeaderStart(producers.copy(), applied.logEndOffset());
        }
    }

    /** Whether a copy of another replica's log runs (or is awaited, for a damaged replica): apply waits. */
    boolean copying() {
        synchronized (lock) {
            return copying;
        }
    }

    /** Milliseconds since the last copy of another replica's log finished; Long.MAX_VALUE if none did. */
    long msSinceLastCopy() {
        long at = lastCopyFinishedNanos;
        return at == 0 ? Long.MAX_VALUE : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - at);
    }

    void beginCopy() {
        synchronized (lock) {
            copying = true;
        }
    }

    /** The offset the running copy copies up to (the source's log end), for progress reports. */
    void copyTarget(long logEndOffset) {
        copyTargetOffset = logEndOffset;
    }

    /** Where a running copy stands: copied up to the local log end, of {@code target}; null if none runs. */
    PartitionStatus.CopyProgress copyProgress() {
        long target = copyTargetOffset;
        return target < 0 ? null : new PartitionStatus.CopyProgress(log.logEndOffset(), target);
    }

    /** The copy reached the leader's applied position {@code target}: adopt it, and let apply go on. */
    void finishCopy(AppliedState target, ByteBuffer producerState) {
        synchronized (lock) {
            producers.load(producerState.duplicate());
            skipUpToIndex = Math.max(skipUpToIndex, target.index());
            if (damagedAt >= 0 && target.index() < damagedAt) {
                // The copy ended before the records apply needs: apply keeps waiting for the next one.
                damageListener.damaged(damagedAt);
                return;
            }
            if (damagedAt >= 0) {
                LOG.info("{}: repaired: the log holds every committed record again (to offset {})", topicPartition,
                        log.logEndOffset());
                damagedAt = -1;
            }
            copying = false;
            copyTargetOffset = -1;
            lastCopyFinishedNanos = System.nanoTime();
            applied = new AppliedState(target.term(), target.index(), log.logStartOffset(), log.logEndOffset());
            lock.notifyAll();
        }
    }

    /**
     * Puts the log back to the applied state after a failed copy, so apply can go on; if the copy had to
     * drop data below that state (the leader's retention ran ahead), apply stays blocked until Ratis asks
     * for another install.
     */
    void undoCopy(Exception cause) {
        copyTargetOffset = -1;
        synchronized (lock) {
            if (damagedAt >= 0) {
                LOG.warn("{}: copying the missing records failed ({}); trying again", topicPartition, cause.toString());
                return;  // apply keeps waiting: the log still lacks committed records
            }
            long appliedEnd = applied.logEndOffset();
            if (log.logStartOffset() <= appliedEnd && log.logEndOffset() >= appliedEnd) {
                log.truncateTo(appliedEnd);
                copying = false;
                lock.notifyAll();
                LOG.warn("{}: copying the leader's log failed ({}); back at offset {}", topicPartition, cause.toString(), appliedEnd);
            } else {
                LOG.warn("{}: copying the leader's log failed ({}); waiting for the next install request", topicPartition,
                        cause.toString());
            }
        }
    }

    /** Stops waiting for a copy: apply gives up instead of blocking a closing replica. */
    void close() {
        closed = true;
    }

    /** Tells whether the replica's Raft division is closing: apply then stops waiting for a copy. */
    void closingWhen(BooleanSupplier divisionClosing) {
        this.divisionClosing = divisionClosing;
    }

    /**
     * Waits (on the updater thread, holding the lock) while the leader's log is being copied here; false if it gave
     * up because the replica closes. Ratis closes a division by letting its updater thread apply up to the commit
     * index and only then closing the state machine ({@code StateMachineUpdater.stopAndJoin}, no time limit), so a
     * wait that lasted through a close (a repair with no source left, a copy that failed and waits for the leader's
     * next install request) hung the close for good, and with it whoever closed: the heal loop of the whole node.
     * Nor may apply throw then: Ratis's updater, failed after the close began, spins without ever stopping.
     */
    private boolean awaitNoCopy() {
        while (copying) {
            if (closed || divisionClosing.getAsBoolean()) {
                if (!abandoned) {
                    abandoned = true;
                    LOG.info("{}: its Raft division closes while apply waits for a copy of another replica's log "
                            + "(entry {} on); what is left is applied when it opens again", topicPartition, applied.index() + 1);
                }
                return false;
            }
            try {
                lock.wait(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(topicPartition + ": interrupted while waiting for a log copy", e);
            }
        }
        return true;
    }
}
