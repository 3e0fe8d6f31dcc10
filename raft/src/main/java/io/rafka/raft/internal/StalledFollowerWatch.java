package io.rafka.raft.internal;

import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMessages.StateQuery;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

/**
 * Unsticks a follower that lost Raft entries it had acknowledged (its data folder was wiped or replaced): Ratis
 * 3.3's leader keeps each follower's match index for its whole term and never sends below it
 * ({@code LogAppenderBase.getNextIndexForInconsistency}), so such a follower answers INCONSISTENCY to every
 * request for as long as that leader leads. A new leader starts from fresh follower state. So a follower whose
 * Raft log has not grown for {@link #STALL_MS} while the leader has applied entries past its end (asked with a
 * STATE query) asks the leader to step down; the new leader then replicates to it, or, if it purged those
 * entries, has it copy its log. Not while this replica copies a log itself, nor shortly after (that stalls
 * its Raft log on purpose, until Ratis moves it to the installed index), and at most once per
 * {@link #BACKOFF_MS} per partition. A quiet partition (the leader has nothing
 * more) is asked again only after a doubling pause, up to {@link #MAX_QUIET_MS}, so idle partitions cost
 * next to nothing. Runs every second on one thread.
 */
public final class StalledFollowerWatch implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(StalledFollowerWatch.class);
    static final long STALL_MS = 5_000;
    static final long BACKOFF_MS = 30_000;
    static final long MAX_QUIET_MS = 600_000;

    /** Where a replica's Raft log stood since when, and when (and how long after that) to look again. */
    private record Progress(long nextIndex, long sinceMs, long quietUntilMs, long quietMs) {
    }

    private final RaftServer server;
    private final ReplicaRegistry replicas;
    private final BiFunction<RaftGroup, RaftPeerId, RaftClient> clients;
    private final Map<ReplicaRegistry.Replica, Progress> progress = new ConcurrentHashMap<>();

    public StalledFollowerWatch(RaftServer server, ReplicaRegistry replicas, BiFunction<RaftGroup, RaftPeerId, RaftClient> clients) {
        this.server = server;
        this.replicas = replicas;
        this.clients = clients;
    }

    @Override
    public void run() {
        long now = System.currentTimeMillis();
        progress.keySet().retainAll(replicas.replicas());
        for (ReplicaRegistry.Replica replica : replicas.replicas()) {
            try {
                check(replica, now);
            } catch (IOException | RuntimeException e) {
                LOG.debug("{}: stall check failed: {}", replica.topicPartition(), e.toString());
            }
        }
    }

    private void check(ReplicaRegistry.Replica replica, long now) throws IOException {
        RaftServer.Division d = server.getDivision(replica.groupId());
        RaftPeerId leader = d.getInfo().getLeaderId();
        PartitionStateMachine sm = replica.runningStateMachine();
        long next = d.getRaftLog().getNextIndex();
        Progress p = progress.get(replica);
        boolean watched = leader != null && !d.getInfo().isLeader() && sm != null && !sm.copying(2 * STALL_MS);
        if (!watched || p == null || p.nextIndex() != next) {
            progress.put(replica, new Progress(next, now, 0, STALL_MS));  // moving (or not ours to watch): start over
            return;
        }
        if (now - p.sinceMs() < STALL_MS || now < p.quietUntilMs()) {
            return;
        }
        progress.put(replica, new Progress(next, p.sinceMs(), now + STALL_MS, p.quietMs()));  // if the query fails
        try (RaftClient client = clients.apply(d.getGroup(), leader)) {
            AppliedState leaderState = AppliedState.decodeHeader(
                    LogCatchUp.fromPeer(client, leader).query(new StateQuery().encode()));
            if (leaderState.index() < next) {
                // Nothing to replicate: a quiet partition, not a stall. Look again later, and later still.
                progress.put(replica, new Progress(next, p.sinceMs(), now + p.quietMs(), Math.min(2 * p.quietMs(), MAX_QUIET_MS)));
                return;
            }
            progress.put(replica, new Progress(next, now, now + BACKOFF_MS, STALL_MS));
            LOG.warn("{}: this replica's Raft log has stayed at index {} for {} ms while leader {} has applied up to {}: "
                    + "asking the leader to step down, so that a new leader replicates to it from where it really is",
                    replica.topicPartition(), next, now - p.sinceMs(), leader, leaderState.index());
            RaftClientReply reply = client.admin().transferLeadership(null, 5_000);
            if (!reply.isSuccess()) {
                LOG.info("{}: the leader did not step down: {}", replica.topicPartition(), reply.getException());
            }
        }
    }
}
