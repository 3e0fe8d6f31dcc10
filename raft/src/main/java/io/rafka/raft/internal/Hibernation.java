package io.rafka.raft.internal;

import io.rafka.common.TopicPartition;
import io.rafka.raft.DiskRoom;
import io.rafka.raft.RaftNodeConfig;
import io.rafka.raft.internal.HibernationFiles.Frozen;
import io.rafka.raft.internal.ReplicaRegistry.Lifecycle;
import io.rafka.raft.internal.ReplicaRegistry.Replica;
import org.apache.ratis.proto.RaftProtos.CommitInfoProto;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.LogInfoProto;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.LogEntryHeader;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * Idle partitions close their Raft division on every replica and reopen on the next write, so a node pays
 * Ratis's threads and wake-ups (~7 threads and a 100 ms poll per open division) only for active partitions:
 * CockroachDB's quiesced ranges and TiKV's hibernate regions, on top of Ratis. docs/replication.md
 * ("Hibernation") gives the protocol and its crash cases; in short:
 *
 * <ol>
 *   <li><b>Hibernate.</b> A leader whose partition took no append for {@code hibernateAfterMs}, with every
 *       follower holding its whole log and nothing uncommitted or unapplied, stops taking appends (they wait)
 *       and submits a HIBERNATE entry. Each replica that applies it while it is the last entry of its log
 *       records the frozen state ({@link HibernationFiles}), closes its division and moves the group folder
 *       out of Ratis's sight. The leader closes once every follower reports the entry committed (bounded wait);
 *       followers close half a heartbeat later, before an election timeout can start an election.</li>
 *   <li><b>Wake.</b> An append to a hibernated replica opens the group here and on its peers (Ratis group add
 *       without format: every replica recovers its own storage) and starts an election here at once; the
 *       append goes on when this replica leads, or is redirected if another does. Concurrent appends share the
 *       one wake-up.</li>
 *   <li><b>Heal.</b> Raft's safety does not depend on any of this (a closed replica is a stopped one), only
 *       liveness does, so stragglers are repaired by the same opening: a leader opens followers that stopped
 *       answering while their server still does, a replica that sees no leader for long opens its peers, and
 *       a replica that restarted hibernated while its group woke is opened by the leader the same way.</li>
 * </ol>
 *
 * Thread-safe; lifecycle moves of one replica hold its {@code lifecycleLock}.
 */
public final class Hibernation implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(Hibernation.class);
    private static final long FROZEN_LOG_IDLE_NANOS = TimeUnit.SECONDS.toNanos(30);
    private static final int BLOCKING_THREADS = 16;
    /** A wake-up within this many idle thresholds of hibernating doubles the partition's threshold... */
    private static final int REWAKE_THRESHOLDS = 4;
    /** ...up to this many times the node's. */
    private static final int MAX_IDLE_FACTOR = 16;
    /** Free bytes a replica whose Raft log failed to write waits for before it opens again ({@link #roomToReopen}). */
    static final long REOPEN_MIN_FREE_BYTES = DiskRoom.REOPEN_MIN_FREE_BYTES;
    /** How long a wake-up waits for room under partition.max.open before it fails with BUSY (at most the wake timeout). */
    private static final long ROOM_WAIT_MS = 5_000;

    private final LocalServer local;
    private final ReplicaRegistry replicas;
    private final HibernationFiles files;
    private final Predicate<RaftPeerId> refusesConnections;
    private final LeadershipMover leadership;
    private final long hibernateAfterNanos;
    private final long followerCloseDelayMs;
    private final long healAfterNanos;
    private final PeerProbes probes;
    private final long commitWaitMs;
    private final String nodeId;
    /** Ticks, delays and re-checks: nothing that blocks. */
    private final ScheduledExecutorService executor;
    /** Blocking steps (group adds and removes here, waiting for a leader), on threads that die when idle. */
    private final java.util.concurrent.ThreadPoolExecutor blocking;
    private volatile Predicate<TopicPartition> eligible = tp -> true;
    /** The largest Raft log entry, for reading a segment ({@link io.rafka.raft.RaftLogRepair}). */
    private final org.apache.ratis.util.SizeInBytes maxEntrySize;
    private final AtomicLong hibernations = new AtomicLong();
    private final AtomicLong reopenedBroken = new AtomicLong();
    private final AtomicLong repairHandOvers = new AtomicLong();
    private final AtomicLong leaderlessHeals = new AtomicLong();
    private final OpenLimit limit;
    private final WakeUps wakeUps;
    /** Install-snapshot notices this server received ({@link #reopenIfBroken}: a replica its leader cannot serve). */
    private final InstallNotices notices;

    /**
     * Counts for metrics: wake-ups and their total and longest time, hibernations completed here, wake-ups waiting
     * their turn, divisions reopened because Ratis held them closed or without members, groups asked to hibernate
     * early under the bound on open partitions ({@link OpenLimit}), and wake-ups refused with BUSY: no room under
     * that bound, or waited for their turn past the request timeout with nobody asking for them since, and damaged
     * leaders that handed their leadership over before their reopen.
     */
    public record Counts(long wakeUps, long wakeNanosTotal, long wakeNanosMax, long hibernations, int wakesQueued,
                         long brokenDivisionsReopened, long hibernatedEarly, long wakesRefused, long leaderlessHeals,
                         long repairHandOvers) {
    }

    public Hibernation(LocalServer local, ReplicaRegistry replicas, HibernationFiles files, PeerProbes peers,
                       InstallNotices notices, Predicate<RaftPeerId> refusesConnections, LeadershipMover leadership,
                       RaftNodeConfig config) {
        this.local = local;
        this.notices = notices;
        this.replicas = replicas;
        this.files = files;
        this.refusesConnections = refusesConnections;
        this.leadership = leadership;
        this.probes = peers;
        this.nodeId = local.server().getId().toString();
        this.hibernateAfterNanos = config.hibernateAfterMs() <= 0 ? Long.MAX_VALUE : TimeUnit.MILLISECONDS.toNanos(config.hibernateAfterMs());
        this.followerCloseDelayMs = config.rpcTimeoutMinMs() / 2;
        this.healAfterNanos = TimeUnit.MILLISECONDS.toNanos(3 * config.rpcTimeoutMaxMs());
        this.maxEntrySize = org.apache.ratis.util.SizeInBytes.valueOf(config.raftWriteBufferBytes());
        this.commitWaitMs = 4 * config.rpcTimeoutMaxMs();
        AtomicInteger count = new AtomicInteger();
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, "rafka-hibernation-" + nodeId + "-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.executor = Executors.newScheduledThreadPool(2, threads);
        AtomicInteger blockingCount = new AtomicInteger();
        this.blocking = new java.util.concurrent.ThreadPoolExecutor(BLOCKING_THREADS, BLOCKING_THREADS, 30, TimeUnit.SECONDS,
                new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "rafka-hibernation-step-" + nodeId + "-" + blockingCount.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        blocking.allowCoreThreadTimeOut(true);
        this.limit = new OpenLimit(config.maxOpenPartitions(), Math.min(ROOM_WAIT_MS, config.requestTimeoutMs()), replicas, local,
                (replica, d) -> eligible.test(replica.topicPartition()) && settled(replica, d)
                        && begin(replica, d, OpenLimit.MIN_IDLE_NANOS));
        this.wakeUps = new WakeUps(local, peers, limit, hibernateAfterNanos != Long.MAX_VALUE, config, 2 * BLOCKING_THREADS);
        executor.scheduleWithFixedDelay(this::tickSafely, 1, 1, TimeUnit.SECONDS);
    }

    /**
     * How long a partition must take no append before it hibernates: the node's threshold times the partition's
     * idle factor, which doubles (up to 16) each time the partition is woken within four thresholds of
     * hibernating, and falls back to 1 after a longer sleep. So a partition written every few minutes, just
     * past the threshold, stays open instead of paying a close and a wake-up per write.
     */
    public long idleThresholdNanos(Replica replica) {
        return timesSaturated(hibernateAfterNanos, replica.idleFactor);
    }

    /** {@code a * b} for non-negative values, or Long.MAX_VALUE where that overflows (a threshold of years). */
    private static long timesSaturated(long a, long b) {
        return b != 0 && a > Long.MAX_VALUE / b ? Long.MAX_VALUE : a * b;
    }

    /** Which partitions may hibernate (the broker keeps its internal ones open). */
    public void eligible(Predicate<TopicPartition> eligible) {
        this.eligible = eligible;
    }

    public Counts counts() {
        return new Counts(wakeUps.completed(), wakeUps.nanosTotal(), wakeUps.nanosMax(), hibernations.get(), wakeUps.queued(),
                reopenedBroken.get(), limit.hibernatedEarly(), limit.refused() + wakeUps.expired(), leaderlessHeals.get(),
                repairHandOvers.get());
    }

    /**
     * The frozen state of a replica that is hibernated or closing now (waits for a close under way to finish);
     * null if its division is open.
     */
    public static Frozen frozen(Replica replica) {
        Frozen frozen = replica.frozen();
        if (frozen != null || replica.lifecycle() == Lifecycle.OPEN) {
            return frozen;
        }
        synchronized (replica.lifecycleLock) {
            return replica.frozen();
        }
    }

    /** Retention deleted segments of a hibernated replica's log: its frozen state records the new log start. */
    static void logStartMoved(Replica replica, Frozen was, long logStartOffset, HibernationFiles files) throws IOException {
        synchronized (replica.lifecycleLock) {
            if (replica.frozen() == was && replica.lifecycle() == Lifecycle.HIBERNATED) {
                Frozen now = new Frozen(was.index(), was.term(), was.highWatermark(), logStartOffset, was.leader());
                files.write(replica.topicPartition(), now);
                replica.lifecycle(Lifecycle.HIBERNATED, now);
            }
        }
    }

    /** Marks a replica found hibernated on disk (at start-up, or created so). */
    public static void hibernated(Replica replica, Frozen frozen) {
        synchronized (replica.lifecycleLock) {
            replica.lifecycle(Lifecycle.HIBERNATED, frozen);
        }
    }

    /** Notes an append admitted to an open replica; false if the replica is not open (the caller wakes it). */
    public static boolean admit(Replica replica) {
        if (replica.lifecycle() != Lifecycle.OPEN) {
            return false;
        }
        synchronized (replica.lifecycleLock) {
            replica.lastActivityNanos = System.nanoTime();
            return replica.lifecycle() == Lifecycle.OPEN;
        }
    }

    // ---- hibernate ------------------------------------------------------------------------------------------

    /** A periodic task that throws is never run again: an error of one tick must not end hibernation, heals and the bound. */
    private void tickSafely() {
        try {
            tick();
        } catch (Throwable e) {
            LOG.error("hibernation check failed (next one in a second)", e);
        }
    }

    private void tick() {
        long now = System.nanoTime();
        notices.dropOlderThan(now - TimeUnit.MINUTES.toNanos(1));
        boolean enabled = hibernateAfterNanos != Long.MAX_VALUE;
        for (Replica replica : replicas.replicas()) {
            try {
                if (replica.lifecycle() == Lifecycle.OPEN && reopenIfBroken(replica, now)) {
                    continue;
                }
            } catch (IOException | RuntimeException e) {
                LOG.warn("{}: reopening its broken Raft division failed (will retry): {}", replica.topicPartition(), e.toString());
            }
            if (!enabled && replica.lifecycle() == Lifecycle.OPEN) {
                continue;  // hibernation off: open groups are left to Raft alone (no heals)
            }
            try {
                switch (replica.lifecycle()) {
                    case OPEN -> checkOpen(replica, now);
                    case HIBERNATED -> checkHibernated(replica);
                    case HIBERNATING -> checkHibernating(replica, now);
                }
            } catch (IOException | RuntimeException e) {
                LOG.debug("{}: hibernation check failed: {}", replica.topicPartition(), e.toString());
            }
        }
        if (enabled) {
            try {
                limit.keepRoom();
            } catch (RuntimeException e) {
                LOG.warn("making room under partition.max.open failed (will retry): {}", e.toString());
            }
        }
    }

    /**
     * Reopens this replica's division if Ratis holds it in a state it cannot leave on its own, keeping its storage:
     * <ul>
     * <li>closed (its start failed, e.g. the broker was killed while the group first opened here, or it stopped on
     *     an error): Ratis keeps a closed division in its map, so every later add answers "already exists" and
     *     every append from the leader fails with "CLOSED": the replica would never be replicated to again;</li>
     * <li>no members: a division Ratis reopens from storage takes its members from its log, and a log with no
     *     entry yet (the group never had a leader before the restart) gives it none, so it can neither vote nor
     *     follow. The partition's replicas are the members its group was created with;</li>
     * <li>damaged (its log waits to be re-validated: {@link LogScrubber} moved its recovery point back when its
     *     scrub or a read found damage in bytes recovery had trusted): the reopen cuts the log at the damage and
     *     the replica copies the rest from another replica ({@link ReplicaRepair}). A damaged leader first hands
     *     its leadership over ({@link #handOverBeforeRepair}).</li>
     * <li>its Raft log failed (a write or sync of Ratis's log or of the partition log threw, e.g. the disk is full):
     *     Ratis's log worker then fails every later entry, so the replica could neither follow nor lead, yet it
     *     would still vote and could win an election on entries it holds only in memory, leaving its partition
     *     without a working leader, and a follower would acknowledge entries it holds only in memory. It is closed
     *     at once (a failed leader first hands its leadership over, as a damaged one does) and opens again once the
     *     disk has room ({@link #roomToReopen}) and its back-off has passed (a second after a first failure, doubled
     *     for each one in a row: {@link DiskRoom#reopenDelayNanos}): it loads what is on disk and catches up from the
     *     leader; if its writes fail again, the same again.</li>
     * <li>a candidate whose election stopped for good (its new term and vote failed to write:
     *     {@link io.rafka.raft.StoppedElections}): closed and opened again the same way.</li>
     * <li>a follower that has applied nothing while its leader, snapshotted past index 0, cannot send it entry 1:
     *     {@link #healUnserved}.</li>
     * <li>a follower on a copy of its leader's log that Ratis asked for and has not adopted for a heal interval
     *     ({@link PartitionStateMachine#installedNotAdoptedNanos}): Ratis refuses its appends until a notice that may
     *     never come; reopened, it loads the copy.</li>
     * </ul>
     * Any way it is removed (storage kept) and added again with the partition's replicas. At most once per
     * heal interval per replica (one whose log failed: closed at once, opened again after its back-off,
     * {@link DiskRoom#reopenDelayNanos}), and not while the server itself stops. True if it acted.
     */
    private boolean reopenIfBroken(Replica replica, long now) throws IOException {
        RaftServer.Division d;
        try {
            d = local.division(replica.groupId());
        } catch (GroupMismatchException e) {
            return reopenIfMissing(replica, now);
        } catch (IOException e) {
            // Ratis keeps the failed future of a group whose add failed before its start (its state machine was refused:
            // a peer asked to open it while this disk has no room), and every lookup then fails with it instead of
            // saying the group is missing, so nothing would open it again. A remove drops that entry. (Not while a
            // wake-up of its own opens it: that one reports its failure and is asked again.)
            if (replica.waking != null) {
                return false;
            }
            LOG.info("{}: clearing a failed opening of its division ({})", replica.topicPartition(), e.getMessage());
            try {
                local.server().groupManagement(GroupManagementRequest.newRemove(local.clientId(), local.server().getId(),
                        local.nextCallId(), replica.groupId(), false, false));
            } catch (IOException | RuntimeException removeFailed) {
                // the remove answers with the add's failure; the entry is gone all the same
            }
            replica.missingSinceNanos = now;
            return true;
        }
        replica.missingSinceNanos = 0;
        LifeCycle.State state = d.getInfo().getLifeCycleState();
        boolean closed = state == LifeCycle.State.CLOSED || state == LifeCycle.State.EXCEPTION;
        // Ratis starts a division whose configuration names no members "initializing": it stays STARTING until a
        // leader sends it one. (Divisions loaded from storage have read their logs before this tick first runs.)
        boolean memberless = (state == LifeCycle.State.STARTING || state == LifeCycle.State.RUNNING)
                && d.getRaftConf().getCurrentPeers().isEmpty()
                && d.getInfo().getLeaderId() == null && now - replica.lastActivityNanos > healAfterNanos;
        PartitionStateMachine sm = replica.runningStateMachine();
        // A follower that has committed nothing although a leader has been sending to it for a while: that leader
        // cannot serve it from its Raft log (PartitionStateMachine.copyLeaderLogOnNextOpen says why); reopened without
        // its empty snapshot, it copies the leader's log. Either it holds nothing at all, or its leader keeps sending
        // it install-snapshot notices its Ratis answers "already installed" (the leader's log starts at index 1, one
        // past its empty snapshot): a first leader cut off before its first entry reached anyone keeps that entry,
        // uncommitted, and comes back to a leader whose index 1 is another term's (ChaosIT seed 20261130: a node
        // killed within a second of creating a topic). Not a replica with entries and records whose leader sends it
        // entries it cannot take (records lost to damage: ReplicaRepair's). A replica of a new group or of a leader
        // that still has entry 1 commits the group's first entry within a heartbeat of knowing the leader.
        RaftPeerId leaderId = d.getInfo().getLeaderId();
        long noticedAt = notices.lastAtOrBelow(replica.groupId(), 1);
        // Only a running division's Raft log may be read: a closed one's throws (IllegalStateException), and a replica
        // whose division Ratis closed before it applied anything (an election of a member whose log holds no
        // configuration yet ends NOT_IN_CONF, and Ratis then closes the division) failed this check every second, for
        // good, before the closed division below was reopened (ChaosIT: a restarted broker's replica never came back).
        boolean unservable = state == LifeCycle.State.RUNNING && sm != null && sm.appliedNothingYet()
                && d.getRaftLog().getLastCommittedIndex() <= 0
                && (sm.holdsNothingYet() && d.getRaftLog().getLastEntryTermIndex() == null
                        || noticedAt != 0 && now - noticedAt < healAfterNanos);
        if (unservable && leaderId != null && !d.getInfo().isLeader()
                && !sm.copying(TimeUnit.NANOSECONDS.toMillis(healAfterNanos)) && replica.waking == null) {
            if (replica.unservedSinceNanos == 0) {
                replica.unservedSinceNanos = now;
            } else if (now - replica.unservedSinceNanos > healAfterNanos && now - replica.lastHealNanos > healAfterNanos
                    && local.server().getLifeCycleState() == LifeCycle.State.RUNNING) {
                healUnserved(replica, d, leaderId, sm, d.getRaftLog().getLastEntryTermIndex(), now);
                return true;
            }
        } else {
            replica.unservedSinceNanos = 0;
        }
        // Only a scrub moves a running log's recovery point back, and the reopen's recovery lifts it again.
        boolean damaged = sm != null && sm.log().revalidatingFrom() >= 0;
        Throwable logFailure = sm == null ? null : sm.logFailure();
        if (logFailure == null && replica.waking == null && local.server().getLifeCycleState() == LifeCycle.State.RUNNING
                && electionStopped(replica, d, now)) {
            replica.logFailedNanos = now;
            logFailure = new IOException("its new term and vote failed to write, and its election stopped");
        }
        boolean failed = logFailure != null;
        // A copy Ratis asked for, installed here and not adopted by Ratis for a heal interval: Ratis refuses every
        // append until the leader's next install notice, which may never come (PartitionStateMachine.
        // installedNotAdoptedNanos). Reopened, the division loads the installed copy and takes entries after it.
        boolean unadopted = state == LifeCycle.State.RUNNING && sm != null && !d.getInfo().isLeader()
                && sm.installedNotAdoptedNanos(now) > healAfterNanos;
        // A failed log is closed at once, however lately the replica was healed: until then a follower acknowledges
        // entries it holds only in memory. (Its opening again waits for room and its back-off: reopenIfMissing.)
        if (!(closed || memberless || damaged || failed || unadopted) || replica.waking != null
                || now - replica.lastHealNanos < healAfterNanos && !failed
                || local.server().getLifeCycleState() != LifeCycle.State.RUNNING) {
            return false;
        }
        if ((damaged || failed) && !closed && handOverBeforeRepair(replica, d, now)) {
            return false;
        }
        replica.repairHandOverNanos = 0;
        replica.lastHealNanos = now;
        LOG.warn("{}: its Raft division here is {}; reopening it with replicas {}", replica.topicPartition(),
                closed ? "closed (" + state + ")" : damaged ? "open on a damaged log (a scrub or a read found it)"
                        : failed ? "open on a Raft log that failed to write (" + rootMessage(logFailure) + ")"
                        : unadopted ? "open on a copy of the leader's log it installed " + TimeUnit.NANOSECONDS.toMillis(
                                sm.installedNotAdoptedNanos(now)) + " ms ago, which Ratis has not adopted (it refuses "
                                + "appends until the leader's next install notice)"
                        : "without members (its log holds no configuration yet)",
                replica.spec().replicas());
        RaftClientReply removed = local.server().groupManagement(GroupManagementRequest.newRemove(local.clientId(),
                local.server().getId(), local.nextCallId(), replica.groupId(), false, false));
        if (!removed.isSuccess()) {
            throw new IOException("removing the division failed", removed.getException());
        }
        long installed = unadopted ? sm.installedNotAdoptedIndex() : -1;
        if (installed >= 0) {
            // As Ratis's adoption would: the log is dropped up to the copy's snapshot, which the division then loads.
            try {
                io.rafka.raft.RaftLogRepair.dropSegmentsCoveredBy(files.activeGroupDir(replica.groupId()).resolve("current"),
                        installed, maxEntrySize);
            } catch (IOException | RuntimeException e) {
                // Opened all the same (removed, it would wait a heal interval): at worst Ratis refuses its next entries
                // and the leader's install notice or another heal follows.
                LOG.warn("{}: could not drop the Raft log the installed copy covers: {}", replica.topicPartition(), e.toString());
            }
        }
        if (failed) {
            // Closed, it neither votes nor acknowledges (a failed log's follower would acknowledge entries it holds
            // only in memory); reopenIfMissing opens it once the disk has room and its back-off has passed.
            replica.missingSinceNanos = now;
            return true;
        }
        wakeUps.openLocally(replica, RaftGroup.valueOf(replica.groupId(),
                replica.spec().replicas().stream().map(MembershipChanger::peer).toList()));
        reopenedBroken.incrementAndGet();
        return true;
    }

    /**
     * Heals a follower that has committed nothing while its leader has been sending to it for long (see
     * {@link PartitionStateMachine#copyLeaderLogOnNextOpen} for why Ratis never fills it), on the blocking pool: the
     * leader is asked whether its latest snapshot is past index 0 (only then is it this case: a leader whose
     * snapshot is at 0 sends entry 1, and a follower it keeps away for another reason, entries lost after they were
     * acknowledged, is {@link StalledFollowerWatch}'s); if so it is asked to step down first, so that no message of
     * its reaches the division while it reopens (Ratis fails a start that takes a request half-way, and the failed
     * division keeps its storage locked) and a new leader starts from fresh follower state; then the division is
     * removed, its empty snapshot deleted, and it is opened again. One at a time per replica.
     */
    private void healUnserved(Replica replica, RaftServer.Division d, RaftPeerId leaderId, PartitionStateMachine sm,
                              TermIndex lastEntry, long now) {
        RaftGroup group = d.getGroup();
        if (!replica.unservedHeal.compareAndSet(false, true)) {
            return;
        }
        replica.lastHealNanos = now;
        long stuckMs = TimeUnit.NANOSECONDS.toMillis(now - replica.unservedSinceNanos);
        try {
            blocking.execute(() -> {
                try {
                    RaftPeer leader = group.getPeer(leaderId);
                    LogInfoProto log = leader == null ? null : probes.logInfo(leader, group.getGroupId());
                    if (log == null || !log.hasLastSnapshot() || log.getLastSnapshot().getIndex() <= 0) {
                        return;
                    }
                    LOG.warn("{}: its Raft division here has committed nothing (last entry {}), and its leader {} "
                            + "(snapshot at {}) has not served it for {} ms; asking the leader to step down and "
                            + "reopening the division without its empty snapshot, to copy the leader's log",
                            replica.topicPartition(), lastEntry, leaderId, log.getLastSnapshot().getIndex(), stuckMs);
                    probes.stepDown(group, leaderId);
                    synchronized (replica.lifecycleLock) {
                        // The probe and the step-down took a while: a new leader may have started a log copy (its
                        // log no longer starting at 1), or sent entries.
                        if (replica.lifecycle() != Lifecycle.OPEN || replica.runningStateMachine() != sm
                                || !sm.appliedNothingYet() || sm.copying(TimeUnit.NANOSECONDS.toMillis(healAfterNanos))
                                || d.getRaftLog().getLastCommittedIndex() > 0
                                || !java.util.Objects.equals(d.getRaftLog().getLastEntryTermIndex(), lastEntry)) {
                            return;  // it moved on meanwhile
                        }
                        RaftClientReply removed = local.server().groupManagement(GroupManagementRequest.newRemove(
                                local.clientId(), local.server().getId(), local.nextCallId(), replica.groupId(), false, false));
                        if (!removed.isSuccess()) {
                            throw new IOException("removing the division failed", removed.getException());
                        }
                        sm.copyLeaderLogOnNextOpen();
                    }
                    // Not under the lock: opening the state machine takes it (opening()).
                    wakeUps.openLocally(replica, RaftGroup.valueOf(replica.groupId(),
                            replica.spec().replicas().stream().map(MembershipChanger::peer).toList()));
                    reopenedBroken.incrementAndGet();
                } catch (IOException | RuntimeException e) {
                    // A division removed and not opened again is opened by reopenIfMissing.
                    LOG.warn("{}: healing its unserved replica failed (will retry): {}", replica.topicPartition(), e.toString());
                } finally {
                    replica.unservedSinceNanos = 0;
                    replica.unservedHeal.set(false);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            replica.unservedHeal.set(false);  // stopping
        }
    }

    /** Whether the replica is a candidate whose election stopped for good ({@link io.rafka.raft.StoppedElections}). */
    private boolean electionStopped(Replica replica, RaftServer.Division d, long now) {
        return replica.stoppedElections.stopped(d.getInfo().isCandidate(),
                files.activeGroupDir(replica.groupId()).resolve("current"), now);
    }

    /**
     * Whether a replica whose log failed lately may open again: only with {@value #REOPEN_MIN_FREE_BYTES} bytes free
     * (or if its log never failed). Opening on a full disk fails in the partition log's recovery, and Ratis keeps the
     * storage lock of a division whose start failed, so every later open of it would fail until the broker restarts.
     */
    private boolean roomToReopen(Replica replica) {
        if (replica.logFailedNanos == 0) {
            return true;
        }
        long free = files.usableSpace();
        if (free >= REOPEN_MIN_FREE_BYTES) {
            return true;
        }
        long now = System.nanoTime();
        if (now - replica.roomWarnedNanos > TimeUnit.MINUTES.toNanos(1) || replica.roomWarnedNanos == 0) {
            replica.roomWarnedNanos = now;
            LOG.warn("{}: its Raft log failed to write; it stays closed until the data folder's disk has {} MiB free "
                    + "(now {} KiB)", replica.topicPartition(), REOPEN_MIN_FREE_BYTES >> 20, free >> 10);
        }
        return false;
    }

    /** Whether the replica's log failed since its division was last opened again for such a failure. */
    private static boolean failedSinceReopen(Replica replica) {
        return replica.logFailedNanos != 0
                && (replica.failedLogReopenedNanos == 0 || replica.logFailedNanos - replica.failedLogReopenedNanos > 0);
    }

    /** The innermost cause (a failed write comes wrapped several times: Ratis's, then ours), e.g. a full disk's IOException. */
    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.toString();
    }

    /**
     * Whether the reopen of a damaged replica waits for its leadership to move: a division removed while it leads
     * leaves its followers to wait out their election timeout, while a transfer to a live, caught-up replica takes
     * a round trip. Asks for the transfer once (bounded as Ratis bounds its own, by the minimum RPC timeout) and
     * waits a heal interval for it; then, or with no replica fit to take over, the leader is reopened as it is and
     * its group fails over by election.
     */
    private boolean handOverBeforeRepair(Replica replica, RaftServer.Division d, long now) throws IOException {
        if (!d.getInfo().isLeader()) {
            return false;
        }
        if (replica.repairHandOverNanos != 0) {
            return now - replica.repairHandOverNanos < healAfterNanos;
        }
        RaftPeerId peer = leadership.handOverToCaughtUpReplica(replica, d);
        if (peer == null) {
            return false;
        }
        replica.repairHandOverNanos = now;
        repairHandOvers.incrementAndGet();
        LOG.warn("{}: handing its leadership to {} before reopening its division", replica.topicPartition(), peer);
        return true;
    }

    /**
     * Opens the division of an open replica that Ratis does not hold: its start failed (Ratis forgets a division
     * whose start threw, e.g. a log it could not open), so nothing would ever open it again; a wake-up sees the
     * replica open and does nothing. Not while it is (or was lately) opening, and at most once per heal interval;
     * one closed because its log failed, once its back-off has passed ({@link DiskRoom#reopenDelayNanos}; if that
     * opening fails, it is tried again as any other missing division is, once per heal interval).
     */
    private boolean reopenIfMissing(Replica replica, long now) {
        if (failedSinceReopen(replica)) {
            int inARow = DiskRoom.failuresInARow(replica.logFailuresInARow, replica.failedLogReopenedNanos,
                    replica.logFailedNanos);
            if (replica.waking != null || now - replica.logFailedNanos < DiskRoom.reopenDelayNanos(inARow)
                    || local.server().getLifeCycleState() != LifeCycle.State.RUNNING
                    || replicas.get(replica.topicPartition()) != replica || isOpen(replica) || !roomToReopen(replica)) {
                return false;
            }
            replica.logFailuresInARow = inARow;
            replica.failedLogReopenedNanos = now;
            replica.lastHealNanos = now;
            replica.missingSinceNanos = 0;
            LOG.warn("{}: opening its division again with replicas {}, closed {} ms ago because its log failed to write "
                    + "({} such failure(s) in a row)", replica.topicPartition(), replica.spec().replicas(),
                    TimeUnit.NANOSECONDS.toMillis(now - replica.logFailedNanos), inARow + 1);
            wakeUps.openLocally(replica, RaftGroup.valueOf(replica.groupId(),
                    replica.spec().replicas().stream().map(MembershipChanger::peer).toList()));
            reopenedBroken.incrementAndGet();
            return true;
        }
        if (replica.missingSinceNanos == 0) {
            replica.missingSinceNanos = now;  // a division opens or closes in a moment: only one missing for long counts
            return false;
        }
        if (replica.waking != null || now - replica.missingSinceNanos < healAfterNanos || now - replica.lastHealNanos < healAfterNanos
                || local.server().getLifeCycleState() != LifeCycle.State.RUNNING || replicas.get(replica.topicPartition()) != replica
                || isOpen(replica) || !roomToReopen(replica)) {
            return false;
        }
        replica.lastHealNanos = now;
        replica.missingSinceNanos = 0;
        LOG.warn("{}: open here but Ratis holds no division of it (its start failed); opening it with replicas {}",
                replica.topicPartition(), replica.spec().replicas());
        wakeUps.openLocally(replica, RaftGroup.valueOf(replica.groupId(),
                replica.spec().replicas().stream().map(MembershipChanger::peer).toList()));
        reopenedBroken.incrementAndGet();
        return true;
    }

    private void checkOpen(Replica replica, long now) throws IOException {
        RaftServer.Division d;
        try {
            d = local.division(replica.groupId());
        } catch (GroupMismatchException e) {
            return;  // opening or closing
        }
        DivisionInfo info = d.getInfo();
        if (info.isLeader() || info.getLeaderId() != null) {
            replica.leaderSeenNanos = now;
        }
        // Leaderless since the last append or the last tick that saw a leader, whichever came later: a leader
        // that moves (a hand-over to the preferred replica) leaves its followers without one for a moment only.
        long leaderlessNanos = now - Math.max(replica.lastActivityNanos, replica.leaderSeenNanos);
        if (info.isLeader()) {
            if (now - replica.lastActivityNanos >= idleThresholdNanos(replica) && eligible.test(replica.topicPartition())
                    && settled(replica, d)) {
                begin(replica, d, idleThresholdNanos(replica));
            } else {
                openSilentFollowers(replica, d, now);
            }
        } else if (info.getLeaderId() == null && replica.waking == null
                && leaderlessNanos > healAfterNanos && now - replica.lastHealNanos > healAfterNanos) {
            // No leader heard from for long: peers may have hibernated without this replica (it was down, or
            // missed the commit), or closed while it still followed them. Opening them lets an election succeed;
            // the group hibernates again later, this replica included.
            replica.lastHealNanos = now;
            LOG.info("{}: no leader for {} ms; opening the group on its peers", replica.topicPartition(),
                    TimeUnit.NANOSECONDS.toMillis(leaderlessNanos));
            leaderlessHeals.incrementAndGet();
            wakeUps.openOnPeers(d.getGroup());
        }
    }

    /** Whether the leader's group is quiet: nothing queued, in flight, uncommitted, unapplied or unreplicated. */
    private static boolean settled(Replica replica, RaftServer.Division d) {
        boolean r = settled0(replica, d);
        if (!r && LOG.isDebugEnabled()) {
            LOG.debug("{}: not settled: inflight {} last {} commit {} applied {} match {} prev {}", replica.topicPartition(),
                    replica.inFlightBytes.get(), d.getRaftLog().getLastEntryTermIndex(), d.getRaftLog().getLastCommittedIndex(),
                    d.getInfo().getLastAppliedIndex(), java.util.Arrays.toString(d.getInfo().getFollowerMatchIndices()),
                    d.getRaftConf().getPreviousPeers());
        }
        return r;
    }

    private static boolean settled0(Replica replica, RaftServer.Division d) {
        PartitionStateMachine sm = replica.runningStateMachine();
        if (sm == null || sm.repairing() || sm.copying(0) || replica.inFlightBytes.get() != 0
                || !d.getRaftConf().getPreviousPeers().isEmpty() || !d.getInfo().isLeaderReady()) {
            return false;
        }
        long last = d.getRaftLog().getLastEntryTermIndex().getIndex();
        if (d.getRaftLog().getLastCommittedIndex() != last || d.getInfo().getLastAppliedIndex() != last) {
            return false;
        }
        long[] matched = d.getInfo().getFollowerMatchIndices();
        if (matched.length + 1 != d.getRaftConf().getCurrentPeers().size()) {
            return false;
        }
        for (long m : matched) {
            if (m != last) {
                return false;
            }
        }
        return true;
    }

    /** Asks the group this node leads to hibernate if it took no append for {@code idleNanos}; true if it asked. */
    private boolean begin(Replica replica, RaftServer.Division d, long idleNanos) {
        synchronized (replica.lifecycleLock) {
            if (replica.lifecycle() != Lifecycle.OPEN || System.nanoTime() - replica.lastActivityNanos < idleNanos) {
                return false;
            }
            replica.lifecycle(Lifecycle.HIBERNATING, null);
            replica.closing = new CompletableFuture<>();
        }
        LOG.debug("{}: idle; asking the group to hibernate", replica.topicPartition());
        RaftClientRequest request = RaftClientRequest.newBuilder()
                .setClientId(local.clientId())
                .setServerId(local.server().getId())
                .setGroupId(replica.groupId())
                .setCallId(local.nextCallId())
                .setMessage(Message.valueOf(ByteString.copyFrom(new byte[]{PartitionMessages.HIBERNATE})))
                .setType(RaftClientRequest.writeRequestType())
                .build();
        try {
            local.server().submitClientRequestAsync(request)
                    .orTimeout(commitWaitMs, TimeUnit.MILLISECONDS)
                    .whenComplete((reply, e) -> {
                        if (e != null || !reply.isSuccess()) {
                            LOG.debug("{}: HIBERNATE not committed: {}", replica.topicPartition(),
                                    e != null ? e.toString() : reply.getException());
                            callOff(replica);
                        }
                    });
        } catch (IOException | RuntimeException e) {
            callOff(replica);
        }
        return true;
    }

    /** Back to OPEN: appends that waited for the close go ahead on the open division. */
    private static void callOff(Replica replica) {
        CompletableFuture<Void> closing;
        synchronized (replica.lifecycleLock) {
            if (replica.lifecycle() != Lifecycle.HIBERNATING) {
                return;
            }
            replica.lifecycle(Lifecycle.OPEN, null);
            replica.lastActivityNanos = System.nanoTime();
            closing = replica.closing;
            replica.closing = null;
        }
        if (closing != null) {
            closing.complete(null);
        }
    }

    /** A replica applied HIBERNATE at {@code index} (Ratis's applying thread: hand off at once). */
    public void applied(TopicPartition tp, long term, long index) {
        Replica replica = replicas.get(tp);
        if (replica == null) {
            return;
        }
        try {
            blocking.execute(() -> closeIfLast(replica, term, index));
        } catch (RejectedExecutionException e) {
            LOG.debug("{}: node closing; not hibernating", tp);
        }
    }

    private void closeIfLast(Replica replica, long term, long index) {
        TopicPartition tp = replica.topicPartition();
        try {
            RaftServer.Division d = local.division(replica.groupId());
            if (!lastWrite(d, index)) {
                LOG.info("{}: entries follow HIBERNATE at {} (last {}): staying open", tp, index, d.getRaftLog().getLastEntryTermIndex());
                callOff(replica);  // a write came after it: the group stays open
                return;
            }
            if (d.getInfo().isLeader()) {
                synchronized (replica.lifecycleLock) {
                    // The log decides, not the request: a HIBERNATE that committed after its request timed out
                    // (and was called off) still closes the group, unless writes are under way behind it.
                    if (replica.lifecycle() == Lifecycle.OPEN) {
                        if (replica.inFlightBytes.get() != 0) {
                            return;
                        }
                        replica.lifecycle(Lifecycle.HIBERNATING, null);
                        replica.closing = new CompletableFuture<>();
                    }
                }
                closeWhenCommitted(replica, d, term, index, System.currentTimeMillis() + commitWaitMs);
            } else {
                synchronized (replica.lifecycleLock) {
                    if (replica.lifecycle() != Lifecycle.OPEN) {
                        return;
                    }
                    replica.lifecycle(Lifecycle.HIBERNATING, null);
                    replica.closing = new CompletableFuture<>();
                }
                executor.schedule(() -> blocking.execute(() -> {
                    try {
                        if (lastWrite(d, index) && !d.getInfo().isLeader()) {
                            close(replica, d, term, index);
                        } else {
                            callOff(replica);
                        }
                    } catch (RuntimeException e) {
                        LOG.warn("{}: hibernating failed", tp, e);
                        callOff(replica);
                    }
                }), followerCloseDelayMs, TimeUnit.MILLISECONDS);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("{}: not hibernating: {}", tp, e.toString());
            callOff(replica);
        }
    }

    /**
     * Whether the entry at {@code index} is the last one that changes anything: Ratis appends commit-index
     * metadata entries after it, which do not count; a state-machine or configuration entry does.
     */
    private static boolean lastWrite(RaftServer.Division d, long index) {
        long last = d.getRaftLog().getLastEntryTermIndex().getIndex();
        if (last < index) {
            return false;
        }
        if (last == index) {
            return true;
        }
        for (LogEntryHeader h : d.getRaftLog().getEntries(index + 1, last + 1)) {
            if (h == null || h.getLogEntryBodyCase() != LogEntryProto.LogEntryBodyCase.METADATAENTRY) {
                return false;
            }
        }
        return true;
    }

    /** The leader closes once every follower reports HIBERNATE committed, or at the deadline; re-checked, not waited on. */
    private void closeWhenCommitted(Replica replica, RaftServer.Division d, long term, long index, long deadline) {
        try {
            if (allCommitted(d, index) || System.currentTimeMillis() > deadline) {
                blocking.execute(() -> close(replica, d, term, index));
            } else {
                executor.schedule(() -> closeWhenCommitted(replica, d, term, index, deadline), 20, TimeUnit.MILLISECONDS);
            }
        } catch (RuntimeException e) {
            // The division changed under us (stepped down, closed): leave it open; the idle check starts over.
            LOG.warn("{}: hibernating stopped: {}", replica.topicPartition(), e.toString());
            callOff(replica);
        }
    }

    private static boolean allCommitted(RaftServer.Division d, long index) {
        for (CommitInfoProto c : d.getCommitInfos()) {
            if (c.getCommitIndex() < index) {
                return false;
            }
        }
        return true;
    }

    /** Records the frozen state, closes the division and hides its storage (the order matters for crashes). */
    private void close(Replica replica, RaftServer.Division d, long term, long index) {
        TopicPartition tp = replica.topicPartition();
        CompletableFuture<Void> closing;
        synchronized (replica.lifecycleLock) {
            if (replica.lifecycle() != Lifecycle.HIBERNATING) {
                return;
            }
            PartitionStateMachine sm = replica.runningStateMachine();
            try {
                if (replica.removed) {
                    // Being deleted: its removal closes the open division and deletes its storage.
                    throw new CalledOff("the replica is being removed");
                }
                // Checked again here, under the lock, where the close happens: a write, or an election, may have
                // come since the decision (a woken leader whose first entry this replica acked, or voted for).
                if (!lastWrite(d, index) || d.getInfo().getCurrentTerm() != term) {
                    throw new CalledOff("the group moved on past HIBERNATE at " + index + " (term " + term + ", now "
                            + d.getInfo().getCurrentTerm() + ")");
                }
                PartitionMessages.AppliedState applied = sm.applied();
                RaftPeerId leader = d.getInfo().isLeader() ? local.server().getId() : d.getInfo().getLeaderId();
                Frozen frozen = new Frozen(index, term, applied.logEndOffset(), applied.logStartOffset(),
                        leader == null ? "" : leader.toString());
                files.write(tp, frozen);
                RaftClientReply reply = local.server().groupManagement(GroupManagementRequest.newRemove(local.clientId(),
                        local.server().getId(), local.nextCallId(), replica.groupId(), false, false));
                if (!reply.isSuccess()) {
                    throw new IOException("closing the division failed", reply.getException());
                }
                files.hideGroup(replica.groupId());
                replica.stateMachine(null);
                replica.lifecycle(Lifecycle.HIBERNATED, frozen);
                replica.hibernatedAtNanos = System.nanoTime();
                replica.rewakeWindowNanos = hibernateAfterNanos == Long.MAX_VALUE ? 0 : timesSaturated(idleThresholdNanos(replica), REWAKE_THRESHOLDS);
                hibernations.incrementAndGet();
                LOG.info("{}: hibernated at index {} (term {}, high watermark {}; idle threshold {} ms)", tp, index, term,
                        frozen.highWatermark(), TimeUnit.NANOSECONDS.toMillis(idleThresholdNanos(replica)));
            } catch (IOException | RuntimeException e) {
                if (e instanceof CalledOff) {
                    LOG.info("{}: not hibernating: {}", tp, e.getMessage());
                } else {
                    LOG.warn("{}: hibernating failed; the replica stays open", tp, e);
                }
                boolean open = isOpen(replica);
                if (open) {
                    try {
                        files.delete(tp);
                    } catch (IOException ignored) {
                        // the next start settles it
                    }
                    replica.lifecycle(Lifecycle.OPEN, null);
                } else {
                    replica.lifecycle(Lifecycle.HIBERNATED, safeRead(tp));
                }
            }
            closing = replica.closing;
            replica.closing = null;
        }
        if (closing != null) {
            closing.complete(null);
        }
    }

    /** Why a close decided on earlier does not happen after all (not a failure). */
    private static final class CalledOff extends IOException {
        CalledOff(String message) {
            super(message);
        }
    }

    private boolean isOpen(Replica replica) {
        try {
            local.division(replica.groupId());
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private Frozen safeRead(TopicPartition tp) {
        try {
            Frozen f = files.read(tp);
            return f != null ? f : Frozen.empty();
        } catch (IOException e) {
            return Frozen.empty();
        }
    }

    // ---- open and wake ---------------------------------------------------------------------------------------

    /**
     * Ratis is about to open this replica's group (a local or remote group add, or the server's start): its
     * storage goes back where Ratis looks and the hibernation is forgotten, before Ratis reads the storage.
     */
    public static void opening(Replica replica, HibernationFiles files) throws IOException {
        if (replica.logFailedNanos != 0 && files.usableSpace() < REOPEN_MIN_FREE_BYTES) {
            // Refused here, before Ratis locks the group's storage: a start that fails later (the partition log's
            // recovery on a full disk) keeps that lock, and every later open fails until the broker restarts. Peers
            // that heal silent followers ask for this too.
            throw new IOException("the Raft log of " + replica.topicPartition() + " failed to write; it stays closed until "
                    + "the data folder's disk has " + (REOPEN_MIN_FREE_BYTES >> 20) + " MiB free");
        }
        synchronized (replica.lifecycleLock) {
            if (replica.removed) {
                throw new IOException(replica.topicPartition() + " is being removed");
            }
            replica.frozenLog.seal();  // before Ratis opens the state machine's log: never both at once
            if (replica.lifecycle() == Lifecycle.HIBERNATED) {
                files.restoreGroup(replica.groupId());
                files.delete(replica.topicPartition());
            }
            files.restoreSetAside(replica.groupId());  // the node started on a full disk: its first opening since
            long now = System.nanoTime();
            if (replica.hibernatedAtNanos != 0) {
                // Woken soon after hibernating: the partition is written about as often as the threshold, and
                // would pay a close and a wake-up per write; it stays open longer next time.
                boolean soon = now - replica.hibernatedAtNanos < replica.rewakeWindowNanos;
                replica.idleFactor = soon ? Math.min(2 * replica.idleFactor, MAX_IDLE_FACTOR) : 1;
                replica.hibernatedAtNanos = 0;
            }
            replica.lifecycle(Lifecycle.OPEN, null);
            replica.lastActivityNanos = now;
        }
    }

    /**
     * Makes the replica's group active again if it is hibernated (or hibernating) and completes once it has a
     * leader: this replica, or another (then NOT_LEADER names it). Concurrent callers share one wake-up.
     */
    public CompletableFuture<Void> wake(Replica replica) {
        return wakeUps.wake(replica);
    }

    // ---- heal ------------------------------------------------------------------------------------------------

    /**
     * A leader whose follower has not answered for a few election timeouts while that follower's server is up
     * asks it to open its replica: it closed (hibernated alone, or restarted hibernated while the group woke).
     */
    private void openSilentFollowers(Replica replica, RaftServer.Division d, long now) {
        if (now - replica.lastHealNanos < healAfterNanos) {
            return;
        }
        long silentMs = TimeUnit.NANOSECONDS.toMillis(healAfterNanos);
        for (var f : d.getInfo().getRoleInfoProto().getLeaderInfo().getFollowerInfoList()) {
            RaftPeerId id = RaftPeerId.valueOf(f.getId().getId());
            if (f.getLastRpcElapsedTimeMs() > silentMs && !refusesConnections.test(id)) {
                replica.lastHealNanos = now;
                RaftPeer peer = d.getRaftConf().getPeer(id);
                if (peer != null) {
                    wakeUps.openOnPeer(peer, d.getGroup()).thenAccept(opened -> {
                        if (opened) {
                            LOG.info("{}: opened the replica on {}, which had stopped answering", replica.topicPartition(), id);
                        }
                    });
                }
            }
        }
    }

    /**
     * A safety net: a replica that has been closing for far longer than closing takes (a step that failed
     * without calling it off) goes back to OPEN if its division is still open, so it neither blocks appends nor
     * escapes the checks of open replicas.
     */
    private void checkHibernating(Replica replica, long now) {
        if (now - replica.lifecycleSinceNanos > TimeUnit.MILLISECONDS.toNanos(2 * commitWaitMs + 10_000) && isOpen(replica)) {
            LOG.warn("{}: closing since {} ms and still open; back to open", replica.topicPartition(),
                    TimeUnit.NANOSECONDS.toMillis(now - replica.lifecycleSinceNanos));
            callOff(replica);
        }
    }

    /** A hibernated replica's frozen log closes when reads stop. */
    private static void checkHibernated(Replica replica) {
        replica.frozenLog.closeIfIdle(FROZEN_LOG_IDLE_NANOS);
    }

    @Override
    public void close() {
        executor.shutdownNow();
        wakeUps.close();
        blocking.shutdownNow();
        for (Replica replica : replicas.replicas()) {
            replica.frozenLog.seal();
        }
    }
}
