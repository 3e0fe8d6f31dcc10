package io.rafka.raft.internal;

import io.rafka.common.TopicPartition;
import io.rafka.log.PartitionLog;
import io.rafka.raft.internal.ReplicaRegistry.Lifecycle;
import io.rafka.raft.internal.ReplicaRegistry.Replica;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Reads every open partition replica's stored batches back in the background, a few MiB a second
 * ({@code scrubBytesPerSecond}), checking them as recovery would. Recovery after a restart trusts closed segments
 * and the active segment up to its recovery point, so a bit the disk flipped there would otherwise reach a
 * consumer (whose CRC check fails on it, on every read, from this replica) and never be repaired. A damaged
 * replica with other replicas is repaired: its log is marked to be cut at the damage ({@link
 * PartitionLog#revalidateFrom}) and its division reopened ({@link Hibernation}), after which {@link ReplicaRepair}
 * copies what was cut from another replica. A partition with no other replica is only reported: cutting its log
 * would drop the intact batches after the damaged one too.
 *
 * <p>The replicas are walked in a fixed order, each from where the previous tick left it; a replica read to its end
 * is read again {@code intervalMs} after that pass began (a day on brokers: bit rot is slow, and the reads cost CPU),
 * a replica new here (or since a restart) at once. A hibernated replica is read through its frozen log (as reads of
 * it are served), and woken when it is damaged so that it repairs itself as an open one does. Runs on one thread;
 * {@link #tick} is called once a second.
 */
public final class LogScrubber {
    private static final Logger LOG = LoggerFactory.getLogger(LogScrubber.class);

    /**
     * What opening a hibernated replica's log counts against the budget, whatever it then reads: the open reads
     * index tails and writes a recovery point, so ten thousand empty hibernated logs must not all open in one tick.
     */
    static final long FROZEN_OPEN_COST_BYTES = 1024 * 1024;

    private final ReplicaRegistry replicas;
    private final long bytesPerTick;
    private final long intervalNanos;
    private final Function<Replica, PartitionLog> frozenLogOpener;
    private final Function<Replica, CompletableFuture<Void>> waker;
    /** Damaged hibernated replicas whose wake-up failed (no majority up, say): woken again every tick. */
    private final Set<TopicPartition> wakesFailed = ConcurrentHashMap.newKeySet();
    /** Hibernated replicas whose frozen log a step found damaged: closed and woken after the step. */
    private final Set<TopicPartition> wakeToRepair = new HashSet<>();
    /** Hibernated replicas whose frozen log this scrub opened (and closes again when its pass is over). */
    private final Set<TopicPartition> openedHere = new HashSet<>();
    /** When each replica read to its end may be read again (System.nanoTime); absent: now. */
    private final Map<TopicPartition, Long> dueNanos = new HashMap<>();
    /** When the pass of each replica under way began (System.nanoTime). */
    private final Map<TopicPartition, Long> passStartedNanos = new HashMap<>();
    /** Where the scrub of each replica goes on (an offset); absent: from its log start. */
    private final Map<TopicPartition, Long> cursors = new HashMap<>();
    private TopicPartition current;
    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong damageFound = new AtomicLong();
    private final AtomicLong passes = new AtomicLong();
    /** Damage reported in replicas that cannot be repaired (no other replica): reported once, offset per partition. */
    private final Map<TopicPartition, Long> reported = new HashMap<>();
    /**
     * Where the last repair of each partition cut its log, until a pass reads the log whole after it: damage found
     * there again before that is only reported.
     */
    private final Map<TopicPartition, Long> repairedAt = new HashMap<>();

    /**
     * @param frozenLogOpener opens a hibernated replica's log (as reads of it do)
     * @param waker wakes a hibernated replica's group (a damaged replica repairs itself once open)
     */
    public LogScrubber(ReplicaRegistry replicas, long bytesPerSecond, long intervalMs,
                       Function<Replica, PartitionLog> frozenLogOpener, Function<Replica, CompletableFuture<Void>> waker) {
        this.replicas = replicas;
        this.frozenLogOpener = frozenLogOpener;
        this.waker = waker;
        this.bytesPerTick = bytesPerSecond;
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMs);
    }

    /** Totals since the start: bytes read back, damaged batches found, replicas read to their end. */
    public record Counts(long bytesRead, long damageFound, long replicasCompleted) {
    }

    public Counts counts() {
        return new Counts(bytesRead.get(), damageFound.get(), passes.get());
    }

    /** Reads up to a second's budget, moving on to the next replica whenever one is read to its end. */
    public void tick() {
        List<Replica> order = new ArrayList<>(replicas.replicas());
        if (order.isEmpty()) {
            return;
        }
        order.sort(Comparator.comparing((Replica r) -> r.topicPartition().topic())
                .thenComparingInt(r -> r.topicPartition().partition()));
        for (Map<TopicPartition, ?> m : List.of(cursors, reported, repairedAt, dueNanos, passStartedNanos)) {
            m.keySet().removeIf(tp -> !replicas.contains(tp));
        }
        openedHere.removeIf(tp -> !replicas.contains(tp));
        for (TopicPartition tp : List.copyOf(wakesFailed)) {
            Replica r = replicas.get(tp);
            if (r == null || r.lifecycle() != Lifecycle.HIBERNATED) {
                wakesFailed.remove(tp);
            } else {
                wake(r);
            }
        }
        int at = 0;
        for (int i = 0; i < order.size(); i++) {
            if (order.get(i).topicPartition().equals(current)) {
                at = i;
                break;
            }
        }
        long budget = bytesPerTick;
        for (int visited = 0; visited < order.size() && budget > 0; visited++) {
            Replica replica = order.get((at + visited) % order.size());
            current = replica.topicPartition();
            budget -= scrub(replica, budget);
            if (budget > 0) {
                current = order.get((at + visited + 1) % order.size()).topicPartition();
            }
        }
    }

    /** Scrubs one replica within {@code budget} bytes; returns the bytes read (the whole budget when it is spent). */
    private long scrub(Replica replica, long budget) {
        TopicPartition tp = replica.topicPartition();
        Long due = dueNanos.get(tp);
        if (due != null && System.nanoTime() - due < 0) {
            return 0;
        }
        Lifecycle lifecycle = replica.lifecycle();
        if (lifecycle == Lifecycle.OPEN) {
            PartitionStateMachine sm = replica.runningStateMachine();
            PartitionLog log = sm == null ? null : sm.log();
            return log == null ? 0 : step(replica, log, budget, false);
        }
        if (lifecycle != Lifecycle.HIBERNATED) {
            return 0;
        }
        HibernationFiles.Frozen state = replica.frozen();
        if (state != null && state.highWatermark() <= state.logStartOffset() && !cursors.containsKey(tp)) {
            passStartedNanos.put(tp, System.nanoTime());
            passDone(tp);  // nothing stored: no need to open it
            return 0;
        }
        // A hibernated replica's log is read through its frozen log, which a wake-up seals (closes) before the
        // replica's state machine opens the log itself.
        FrozenLog frozen = replica.frozenLog();
        boolean wasOpen = frozen.isOpen();
        long[] read = new long[1];
        try {
            frozen.read(() -> frozenLogOpener.apply(replica), log -> read[0] = step(replica, log, budget, true));
        } catch (FrozenLog.Sealed opening) {
            return 0;  // it woke: scrubbed as an open replica from the next tick on
        } catch (RuntimeException e) {
            LOG.debug("{}: scrub of the hibernated log skipped: {}", tp, e.toString());
            return 0;
        }
        if (!wasOpen) {
            openedHere.add(tp);
        }
        boolean damaged = wakeToRepair.remove(tp);
        if (damaged || (!cursors.containsKey(tp) && openedHere.contains(tp))) {
            openedHere.remove(tp);
            frozen.close();  // this scrub opened it and is done with it, or the close must leave it to be cut
        }
        if (damaged) {
            wake(replica);
        }
        return wasOpen ? read[0] : Math.max(read[0], FROZEN_OPEN_COST_BYTES);
    }

    /** Wakes a damaged hibernated replica's group; if that fails, the next ticks try again while it stays hibernated. */
    private void wake(Replica replica) {
        TopicPartition tp = replica.topicPartition();
        wakesFailed.remove(tp);
        waker.apply(replica).whenComplete((ok, e) -> {
            if (e != null) {
                LOG.warn("{}: waking the damaged replica's group failed (trying again): {}", tp, e.toString());
                wakesFailed.add(tp);
            }
        });
    }

    /** One scrub step of {@code log} (the replica's open log, or its frozen log while it is hibernated). */
    private long step(Replica replica, PartitionLog log, long budget, boolean frozen) {
        TopicPartition tp = replica.topicPartition();
        if (log.revalidatingFrom() >= 0) {
            return 0;  // damage found already: the reopen that cuts it is under way
        }
        long now = System.nanoTime();
        if (!cursors.containsKey(tp)) {
            passStartedNanos.put(tp, now);
        }
        PartitionLog.Scrubbed s;
        try {
            s = log.scrub(cursors.getOrDefault(tp, 0L), budget);
        } catch (RuntimeException e) {
            LOG.debug("{}: scrub skipped: {}", tp, e.toString());  // closed or reopened meanwhile: next time
            return 0;
        }
        bytesRead.addAndGet(s.bytes());
        if (s.damage() != null) {
            cursors.remove(tp);
            if (!Long.valueOf(s.damage().offset()).equals(reported.get(tp))) {
                damageFound.incrementAndGet();
                if (!repairable(replica, s.damage()) || foundAgainAfterRepair(tp, s.damage())) {
                    reported.put(tp, s.damage().offset());
                } else if (markForRepair(replica, log, s.damage())) {
                    repairedAt.put(tp, s.damage().offset());
                    if (frozen) {
                        wakeToRepair.add(tp);  // an open replica's division is reopened by the hibernation tick
                    }
                }
            }
            if (reported.containsKey(tp)) {
                passDone(tp);  // left as it is: read up to the damage again only at the next interval
            }
            return Math.max(1, s.bytes());
        }
        if (s.reachedEnd()) {
            repairedAt.remove(tp);  // read whole past the repaired offset: damage there later is new damage
            cursors.remove(tp);
            passes.incrementAndGet();
            passDone(tp);
            return s.bytes();
        }
        cursors.put(tp, s.nextOffset());
        return Math.max(budget, s.bytes());  // the budget is spent (or nothing more to read now)
    }

    private void passDone(TopicPartition tp) {
        long started = passStartedNanos.getOrDefault(tp, System.nanoTime());
        passStartedNanos.remove(tp);
        dueNanos.put(tp, started + intervalNanos);
    }

    /**
     * Bytes of {@code replica}'s log read for another purpose (a consumer's decoded fetch) failed their CRC check
     * at {@code offset}: reads up to {@code bytes} from there again as the scrub does and, if damage is confirmed,
     * has the replica repaired as the scrub would. True if this found damage not reported before.
     */
    public static boolean readBackDamaged(Replica replica, long offset, long bytes) {
        PartitionStateMachine sm = replica.runningStateMachine();
        PartitionLog log = sm == null ? null : sm.log();
        if (log == null || log.revalidatingFrom() >= 0) {
            return false;  // closed meanwhile, or the repair is under way already
        }
        PartitionLog.Scrubbed s;
        try {
            s = log.scrub(offset, Math.max(1, bytes));
        } catch (RuntimeException e) {
            return false;
        }
        if (s.damage() == null || replica.damageReportedAt == s.damage().offset()) {
            return false;
        }
        replica.damageReportedAt = s.damage().offset();
        if (repairable(replica, s.damage())) {
            markForRepair(replica, log, s.damage());  // the hibernation tick then reopens the division
        }
        return true;
    }

    /** Whether another replica can supply what cutting the log at {@code damage} drops; reports it if not. */
    private static boolean repairable(Replica replica, PartitionLog.Damage damage) {
        if (replica.spec().replicas().size() > 1) {
            return true;
        }
        LOG.error("{}: the batch at offset {} is damaged ({}) and no other replica holds a copy: consumers reading it "
                + "fail its CRC check; the log is left as it is (the scrub of this replica stops there)",
                replica.topicPartition(), damage.offset(), damage.reason());
        return false;
    }

    /**
     * Whether {@code damage} is where the last repair cut the log: the bytes copied back from another replica read
     * damaged too, so they are the same everywhere (a check that takes intact bytes for damage, say) and another
     * repair would only loop. Reported once, left as it is.
     */
    private boolean foundAgainAfterRepair(TopicPartition tp, PartitionLog.Damage damage) {
        if (!Long.valueOf(damage.offset()).equals(repairedAt.get(tp))) {
            return false;
        }
        LOG.error("{}: the batch at offset {} reads damaged ({}) again after it was copied from another replica: the "
                + "other replicas hold the same bytes; the log is left as it is (the scrub of this replica stops there)",
                tp, damage.offset(), damage.reason());
        return true;
    }

    /** Marks the log to be cut at {@code damage} when it is next opened; false if that failed (found again later). */
    private static boolean markForRepair(Replica replica, PartitionLog log, PartitionLog.Damage damage) {
        TopicPartition tp = replica.topicPartition();
        LOG.error("{}: the batch at offset {} is damaged ({}); cutting the log there and copying the rest from another "
                + "replica", tp, damage.offset(), damage.reason());
        try {
            log.revalidateFrom(damage.segmentBase());
            return true;
        } catch (RuntimeException e) {
            LOG.warn("{}: could not mark the log for repair (the next scrub finds it again): {}", tp, e.toString());
            return false;
        }
    }
}
