package io.rafka.raft.internal;

import io.rafka.common.BusyException;
import io.rafka.common.TopicPartition;
import io.rafka.raft.internal.ReplicaRegistry.Lifecycle;
import io.rafka.raft.internal.ReplicaRegistry.Replica;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds the partition replicas with an open Raft division on this node ({@code maxOpenPartitions}). An open
 * division costs Ratis's threads and polls whether or not it is written, so an active set larger than the machine
 * saturates every broker: heartbeats miss their deadlines, leaders step down, and nothing is served well
 * (docs/BENCHMARKS.md, 300 partitions kept active). With the bound, the broker hibernates its least recently
 * written partitions early and refuses, with a retriable BUSY, a wake-up it has no room for.
 *
 * <ul>
 *   <li><b>Room kept.</b> Each second, once more than nine tenths of the bound were open two checks running, the
 *       node asks its share of the excess to hibernate (its share: as many as it leads of the open ones, since every
 *       node of the group counts the same replicas), least recently written first, among those idle for at least a
 *       second.</li>
 *   <li><b>Room made.</b> A wake-up here takes a place first. While none is free it asks the partitions it leads to
 *       hibernate as above (any number it needs) and goes ahead once they have begun to close (a closing group
 *       counts as gone); after a few seconds without room the write fails with BUSY.</li>
 *   <li><b>Never refused:</b> opens that other nodes ask for (their wake-ups, heals) and partitions that may not
 *       hibernate (the broker's internal topics). A node over the bound for those sheds its share at the next
 *       second; refusing them would fail the other node's write, or leave a group unable to settle and close.</li>
 * </ul>
 * Thread-safe.
 */
final class OpenLimit {
    private static final Logger LOG = LoggerFactory.getLogger(OpenLimit.class);
    /** Partitions written more recently than this are not hibernated early: they are in use. */
    static final long MIN_IDLE_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long POLL_MS = 25;
    private static final long ASK_AGAIN_MS = 250;
    private static final long LOG_EVERY_MS = 10_000;

    /** Asks an idle group this node leads to hibernate; true if it started (false: not settled, or not eligible). */
    interface EarlyHibernation {
        boolean begin(Replica replica, RaftServer.Division division);
    }

    private final int max;
    private final int target;
    private final long roomWaitMs;
    private final ReplicaRegistry replicas;
    private final LocalServer local;
    private final EarlyHibernation early;
    /** Wake-ups that took a place and whose replica is not open yet (guarded by {@code this}). */
    private int admitted;
    private final AtomicLong hibernatedEarly = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private volatile long loggedAtMs;
    /** The excess the previous {@link #keepRoom} saw (only the once-a-second tick, one run at a time, uses it). */
    private int lastExcess;

    OpenLimit(int max, long roomWaitMs, ReplicaRegistry replicas, LocalServer local, EarlyHibernation early) {
        this.max = max;
        this.target = max - max / 10;
        this.roomWaitMs = roomWaitMs;
        this.replicas = replicas;
        this.local = local;
        this.early = early;
    }

    /** Groups asked to hibernate early to make room. */
    long hibernatedEarly() {
        return hibernatedEarly.get();
    }

    /** Wake-ups refused with BUSY for want of room. */
    long refused() {
        return refused.get();
    }

    private record Open(int open, int closing) {
    }

    private record Idle(Replica replica, long lastActivityNanos) {
    }

    private Open count() {
        int open = 0;
        int closing = 0;
        for (Replica r : replicas.replicas()) {
            Lifecycle l = r.lifecycle();
            if (l == Lifecycle.OPEN) {
                open++;
            } else if (l == Lifecycle.HIBERNATING) {
                closing++;
            }
        }
        return new Open(open, closing);
    }

    /**
     * The once-a-second check: sheds this node's share of what is open beyond nine tenths of the bound, once that
     * excess was seen on two checks in a row (the smaller of the two). A single sighting is often a group whose
     * close is under way on its leader and not yet applied here: it goes within half a second on its own.
     */
    void keepRoom() {
        Open c = count();
        int excess = c.open() + admittedNow() - target;
        int sustained = Math.min(excess, lastExcess);
        lastExcess = excess;
        if (sustained > 0) {
            shed(sustained, c.open(), true);
        }
    }

    /**
     * Takes a place for a wake-up of {@code tp}, making room if none is free; BUSY if none frees within the wait.
     * The caller gives it back with {@link #release()} once the replica is open (or its opening failed).
     */
    void admit(TopicPartition tp) {
        long giveUp = System.currentTimeMillis() + roomWaitMs;
        long askedAt = 0;
        while (true) {
            Open c = count();
            synchronized (this) {
                // A group closing counts as gone: its close is under way and takes a heartbeat or two, which the
                // wake-up need not wait for (it could still be called off: then the next second sheds again).
                if (c.open() + admitted < max) {
                    admitted++;
                    return;
                }
            }
            long now = System.currentTimeMillis();
            if (now > giveUp) {
                refused.incrementAndGet();
                throw new BusyException("node " + local.server().getId() + " has " + (c.open() + c.closing())
                        + " partitions open (partition.max.open = " + max + ") and none of those it leads went idle "
                        + "for a second within " + roomWaitMs + " ms to make room for waking " + tp
                        + "; retry later, or raise partition.max.open");
            }
            if (now - askedAt >= ASK_AGAIN_MS) {
                askedAt = now;
                int needed = c.open() + admittedNow() - max + 1;
                if (needed > 0) {
                    shed(needed, c.open(), false);
                }
            }
            try {
                Thread.sleep(POLL_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CompletionException(e);
            }
        }
    }

    private synchronized int admittedNow() {
        return admitted;
    }

    /** Gives back a place taken by {@link #admit}. */
    synchronized void release() {
        admitted--;
    }

    /**
     * Asks up to {@code wanted} of the groups this node leads (scaled to its share of the {@code open} ones if
     * {@code share}) to hibernate, least recently written first.
     */
    private void shed(int wanted, int open, boolean share) {
        long now = System.nanoTime();
        List<Idle> idle = new ArrayList<>();
        int led = 0;
        for (Replica r : replicas.replicas()) {
            if (r.lifecycle() != Lifecycle.OPEN) {
                continue;
            }
            RaftServer.Division d;
            try {
                d = local.division(r.groupId());
            } catch (IOException e) {
                continue;  // opening or closing
            }
            if (!d.getInfo().isLeader()) {
                continue;
            }
            led++;
            long lastActivity = r.lastActivityNanos;
            if (now - lastActivity >= MIN_IDLE_NANOS) {
                idle.add(new Idle(r, lastActivity));
            }
        }
        int n = share ? (int) Math.min(wanted, ((long) wanted * led + open - 1) / Math.max(1, open)) : wanted;
        idle.sort(Comparator.comparingLong(Idle::lastActivityNanos));  // as read: an append may move it meanwhile
        int begun = 0;
        for (Idle i : idle) {
            Replica r = i.replica();
            if (begun >= n) {
                break;
            }
            try {
                if (early.begin(r, local.division(r.groupId()))) {
                    begun++;
                }
            } catch (IOException | RuntimeException e) {
                LOG.debug("{}: not hibernated early: {}", r.topicPartition(), e.toString());
            }
        }
        if (begun > 0) {
            long total = hibernatedEarly.addAndGet(begun);
            long nowMs = System.currentTimeMillis();
            if (nowMs - loggedAtMs >= LOG_EVERY_MS) {
                loggedAtMs = nowMs;
                LOG.info("{} partitions open here (partition.max.open = {}): idle ones this node leads hibernate early "
                        + "({} so far, {} wake-ups refused)", open, max, total, refused.get());
            }
        }
    }
}
