package io.rafka.raft.internal;

import org.apache.ratis.proto.RaftProtos.CommitInfoProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.proto.RaftProtos.ServerRpcProto;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;

import java.util.HashSet;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What a leader knows of its followers' health, from public Ratis state only: when each follower last
 * answered (the leader's role info), where each one's commit index was at its last answer (commit infos), and
 * whether the {@link LeaderFailureDetector} sees its server refuse connections.
 *
 * <p>A follower is <b>live</b> if it answered within the minimum election timeout (heartbeats go every half
 * of it, so a live follower answers twice in that time) and its server is not known to refuse connections.
 * The second test matters right after a crash: the leader's own view of a dead follower goes stale only after
 * the timeout, and a leader elected just now starts with every follower counted as fresh. Stateless and
 * thread-safe.
 */
public final class FollowerLiveness {
    /** A follower this many entries behind the leader's commit index still counts as caught up. */
    static final long CAUGHT_UP_SLACK_ENTRIES = 64;

    private final Predicate<RaftPeerId> refusesConnections;

    /** @param refusesConnections whether a peer's server is known to be down (always false without a detector) */
    public FollowerLiveness(Predicate<RaftPeerId> refusesConnections) {
        this.refusesConnections = refusesConnections;
    }

    /** The live followers of a division this server leads (empty if it does not lead). */
    public Set<RaftPeerId> liveFollowers(RaftServer.Division division) {
        Set<RaftPeerId> live = new HashSet<>();
        RoleInfoProto role = division.getInfo().getRoleInfoProto();
        if (!role.hasLeaderInfo()) {
            return live;
        }
        long freshMs = division.properties().minRpcTimeoutMs();
        for (ServerRpcProto follower : role.getLeaderInfo().getFollowerInfoList()) {
            RaftPeerId id = RaftPeerId.valueOf(follower.getId().getId());
            if (follower.getLastRpcElapsedTimeMs() <= freshMs && !refusesConnections.test(id)) {
                live.add(id);
            }
        }
        return live;
    }

    /**
     * Whether the leader and its live followers are a majority of the group's voters: if not, nothing it
     * appends now can commit until a follower comes back, and it will step down after the election timeout.
     */
    public boolean hasLiveMajority(RaftServer.Division division) {
        Set<RaftPeerId> live = liveFollowers(division);
        int voters = 0;
        int alive = 0;
        for (RaftPeer peer : division.getGroup().getPeers()) {
            voters++;
            if (peer.getId().equals(division.getId()) || live.contains(peer.getId())) {
                alive++;
            }
        }
        return alive > voters / 2;
    }

    /**
     * Whether {@code peer} is live and its commit index, as it last reported it, is within
     * {@link #CAUGHT_UP_SLACK_ENTRIES} of the leader's: a leadership transfer to it then completes within
     * one round trip instead of waiting (with writes refused) for it to catch up.
     */
    public boolean isLiveAndCaughtUp(RaftServer.Division division, RaftPeerId peer) {
        if (!liveFollowers(division).contains(peer)) {
            return false;
        }
        long leaderCommit = division.getRaftLog().getLastCommittedIndex();
        for (CommitInfoProto info : division.getCommitInfos()) {
            if (RaftPeerId.valueOf(info.getServer().getId()).equals(peer)) {
                return info.getCommitIndex() + CAUGHT_UP_SLACK_ENTRIES >= leaderCommit;
            }
        }
        return false;
    }
}
