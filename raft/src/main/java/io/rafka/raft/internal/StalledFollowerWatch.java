package io.rafka.raft.internal;

import org.apache.ratis.proto.RaftProtos.LogInfoProto;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Unsticks a follower that lost Raft entries it had acknowledged (its data folder was wiped or replaced while
 * the broker was down). Ratis 3.3's leader keeps each follower's match index for its whole term and never sends
 * below it ({@code LogAppenderBase.getNextIndexForInconsistency}), so such a follower answers INCONSISTENCY to
 * every request for as long as that leader leads; a new leader starts from fresh follower state and replicates
 * to it (or, if it purged those entries, has it copy its log).
 *
 * <p>So a follower whose Raft log has not grown for {@link #STALL_MS} while its leader has committed entries
 * past its end, and still has not {@link #STALL_MS} later (a group that is merely slow moves meanwhile), asks the
 * leader to step down. It asks the leader with the node's shared {@link PeerProbes}
 * client (one per peer server, bounded wait), never while the leader's server is known to refuse connections
 * (the failure detector deals with a dead leader), never while this replica copies a log itself or shortly
 * after (its Raft log stands still then on purpose, until Ratis moves it to the installed index), never while
 * or shortly after its own log failed to write (a full disk: {@link Hibernation} reopens it), and at most
 * once per {@link #BACKOFF_MS} per partition. A quiet partition (the leader has nothing more) is asked again
 * only after a doubling pause, up to {@link #MAX_QUIET_MS}, so idle partitions cost next to nothing. Runs
 * every second on one thread of its own.
 */
public final class StalledFollowerWatch implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(StalledFollowerWatch.class);
    static final long STALL_MS = 5_000;
    static final long BACKOFF_MS = 30_000;
    static final long MAX_QUIET_MS = 600_000;
    /** How long after its own log last failed a replica is not watched. */
    private static final long FAILED_LOG_QUIET_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(4 * STALL_MS);

    /**
     * Where a replica's Raft log stood since when, and when (and how long after that) to look again; {@code suspect}
     * once the leader was seen ahead of it, which a second look {@link #STALL_MS} later must confirm.
     */
    private record Progress(long nextIndex, long sinceMs, long lookAgainAtMs, long quietMs, boolean suspect) {
        Progress(long nextIndex, long sinceMs, long lookAgainAtMs, long quietMs) {
            this(nextIndex, sinceMs, lookAgainAtMs, quietMs, false);
        }
    }

    private final RaftServer server;
    private final ReplicaRegistry replicas;
    private final PeerProbes probes;
    private final Predicate<RaftPeerId> refusesConnections;
    private final Map<ReplicaRegistry.Replica, Progress> progress = new ConcurrentHashMap<>();

    public StalledFollowerWatch(RaftServer server, ReplicaRegistry replicas, PeerProbes probes,
                                Predicate<RaftPeerId> refusesConnections) {
        this.server = server;
        this.replicas = replicas;
        this.probes = probes;
        this.refusesConnections = refusesConnections;
    }

    @Override
    public void run() {
        long now = System.currentTimeMillis();
        // Forget replicas that closed or left (not retainAll over the registry: that is a scan of every
        // replica, hibernated ones included, per entry here).
        progress.keySet().removeIf(r -> r.lifecycle() != ReplicaRegistry.Lifecycle.OPEN
                || replicas.get(r.topicPartition()) != r);
        for (ReplicaRegistry.Replica replica : replicas.replicas()) {
            if (replica.lifecycle() != ReplicaRegistry.Lifecycle.OPEN) {
                continue;  // hibernated: no division to watch
            }
            try {
                check(replica, now);
            } catch (IOException | RuntimeException e) {
                LOG.debug("{}: stall check failed: {}", replica.topicPartition(), e.toString());
            }
        }
    }

    private void check(ReplicaRegistry.Replica replica, long now) throws IOException {
        RaftServer.Division d = server.getDivision(replica.groupId());
        RaftPeerId leaderId = d.getInfo().getLeaderId();
        PartitionStateMachine sm = replica.runningStateMachine();
        long next = d.getRaftLog().getNextIndex();
        Progress p = progress.get(replica);
        // Not a replica whose own log failed (a full disk) lately: it stands still for that reason and is reopened
        // (Hibernation), and asking its leaders to step down would only cost every partition it follows a failover.
        boolean failedLately = sm != null && sm.logFailure() != null
                || replica.logFailedNanos != 0 && System.nanoTime() - replica.logFailedNanos < FAILED_LOG_QUIET_NANOS;
        boolean watched = leaderId != null && d.getInfo().isFollower() && sm != null && !sm.copying(2 * STALL_MS)
                && !refusesConnections.test(leaderId) && !failedLately;
        if (!watched || p == null || p.nextIndex() != next) {
            progress.put(replica, new Progress(next, now, 0, STALL_MS));  // moving (or not ours to watch): start over
            return;
        }
        if (now - p.sinceMs() < STALL_MS || now < p.lookAgainAtMs()) {
            return;
        }
        RaftPeer leader = d.getGroup().getPeer(leaderId);
        LogInfoProto leaderLog = leader == null ? null : probes.logInfo(leader, replica.groupId());
        if (leaderLog == null) {
            progress.put(replica, new Progress(next, p.sinceMs(), now + STALL_MS, p.quietMs()));  // ask again later
            return;
        }
        long leaderCommitted = leaderLog.getCommitted().getIndex();
        if (leaderCommitted >= next && !p.suspect()) {
            // Behind a leader that committed past it, for STALL_MS: stuck, or its whole group is slow (on a
            // loaded machine a group can take seconds per entry, and the leader's commit runs just ahead of it).
            // A stuck follower stays put; a slow one moves within another STALL_MS. Look again then.
            progress.put(replica, new Progress(next, p.sinceMs(), now + STALL_MS, p.quietMs(), true));
            return;
        }
        if (leaderCommitted < next) {
            // Nothing to replicate: a quiet partition, not a stall. Look again later, and later still.
            progress.put(replica, new Progress(next, p.sinceMs(), now + p.quietMs(), Math.min(2 * p.quietMs(), MAX_QUIET_MS)));
            return;
        }
        progress.put(replica, new Progress(next, now, now + BACKOFF_MS, STALL_MS));
        LOG.warn("{}: this replica's Raft log has stayed at index {} for {} ms while leader {} has committed up to {}: "
                + "asking the leader to step down, so that a new leader replicates to it from where it really is",
                replica.topicPartition(), next, now - p.sinceMs(), leaderId, leaderCommitted);
        probes.stepDown(d.getGroup(), leaderId);
    }
}
