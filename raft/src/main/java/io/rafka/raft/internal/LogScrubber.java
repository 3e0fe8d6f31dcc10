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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

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
 * a replica new here (or since a restart) at once. Hibernated replicas are skipped (their logs are closed) and read
 * once they open. Runs on one thread; {@link #tick} is called once a second.
 */
public final class LogScrubber {
    private static final Logger LOG = LoggerFactory.getLogger(LogScrubber.class);

    private final ReplicaRegistry replicas;
    private final long bytesPerTick;
    private final long intervalNanos;
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

    public LogScrubber(ReplicaRegistry replicas, long bytesPerSecond, long intervalMs) {
        this.replicas = replicas;
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
        order.sort(Comparator.comparing((Replica r) -> r.topicPartition().topic()).thenComparingInt(r -> r.topicPartition().partition()));
        for (Map<TopicPartition, ?> m : List.of(cursors, reported, dueNanos, passStartedNanos)) {
            m.keySet().removeIf(tp -> !replicas.contains(tp));
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

    /** Scrubs one replica within {@code budget} bytes; returns the bytes read. */
    private long scrub(Replica replica, long budget) {
        PartitionStateMachine sm = replica.lifecycle() == Lifecycle.OPEN ? replica.runningStateMachine() : null;
        PartitionLog log = sm == null ? null : sm.log();
        TopicPartition tp = replica.topicPartition();
        long now = System.nanoTime();
        Long due = dueNanos.get(tp);
        if (log == null || log.revalidatingFrom() >= 0 || (due != null && now - due < 0)) {
            return 0;
        }
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
                if (!damaged(replica, log, s.damage())) {
                    reported.put(tp, s.damage().offset());
                }
            }
            if (reported.containsKey(tp)) {
                passDone(tp);  // left as it is: read up to the damage again only at the next interval
            }
            return Math.max(1, s.bytes());
        }
        if (s.reachedEnd()) {
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

    /** Reports damage and starts the repair if another replica can supply it; false if none can. */
    private static boolean damaged(Replica replica, PartitionLog log, PartitionLog.Damage damage) {
        TopicPartition tp = replica.topicPartition();
        int others = replica.spec().replicas().size() - 1;
        if (others <= 0) {
            LOG.error("{}: the batch at offset {} is damaged ({}) and no other replica holds a copy: consumers reading it "
                    + "fail its CRC check; the log is left as it is (the scrub of this replica stops there)", tp,
                    damage.offset(), damage.reason());
            return false;
        }
        LOG.error("{}: the batch at offset {} is damaged ({}); cutting the log there and copying the rest from another "
                + "replica", tp, damage.offset(), damage.reason());
        try {
            log.revalidateFrom(damage.segmentBase());
            replica.reopenToRepair = true;
        } catch (RuntimeException e) {
            LOG.warn("{}: could not mark the log for repair (the next scrub tries again): {}", tp, e.toString());
        }
        return true;
    }
}
