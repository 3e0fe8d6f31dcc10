package io.rafka.raft.internal;

import io.rafka.common.TopicPartition;
import io.rafka.raft.NodeAddress;
import io.rafka.raft.PartitionSpec;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.proto.RaftProtos.RaftConfigurationProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.GroupInfoReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.server.RaftConfiguration;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Changes the members of a partition's Raft group to a new replica list. Ratis runs a configuration change
 * (new members catch up first, then old and new majorities agree); only the leader starts one, one at a time
 * per group, and only once every new member runs the group. Callers call again until it reports done.
 * Thread-safe.
 */
public final class MembershipChanger {
    private static final Logger LOG = LoggerFactory.getLogger(MembershipChanger.class);

    private final LocalServer local;
    private final RaftServer server;
    private final RaftProperties probeProperties;
    private final PeerProbes probes;
    /** Per group this replica was dropped from: the leader that was first seen without it, and its last index then. */
    private final Map<RaftGroupId, DropMark> droppedAt = new ConcurrentHashMap<>();

    public MembershipChanger(LocalServer local, RaftProperties probeProperties, PeerProbes probes) {
        this.local = local;
        this.server = local.server();
        this.probeProperties = probeProperties;
        this.probes = probes;
    }

    public static RaftPeer peer(NodeAddress a) {
        return RaftPeer.newBuilder().setId(a.id()).setAddress(a.hostPort()).build();
    }

    /** The ids of a group's current members, as this replica knows them. */
    public Set<String> members(RaftGroupId groupId) throws IOException {
        Set<String> ids = new TreeSet<>();
        server.getDivision(groupId).getRaftConf().getCurrentPeers().forEach(p -> ids.add(p.getId().toString()));
        return ids;
    }

    /**
     * Moves group {@code groupId} toward the replicas of {@code spec}: true once its members are exactly those,
     * false while a change is under way or this replica does not lead.
     */
    public CompletableFuture<Boolean> change(RaftGroupId groupId, PartitionSpec spec) throws IOException {
        TopicPartition tp = spec.topicPartition();
        RaftServer.Division division = server.getDivision(groupId);
        RaftConfiguration conf = division.getRaftConf();
        Set<String> current = members(groupId);
        Set<String> wanted = new TreeSet<>();
        spec.replicas().forEach(a -> wanted.add(a.id()));
        boolean stable = conf.getPreviousPeers().isEmpty();
        if (stable && current.equals(wanted)) {
            return CompletableFuture.completedFuture(true);
        }
        if (!stable || !division.getInfo().isLeader()) {
            return CompletableFuture.completedFuture(false);
        }
        List<RaftPeer> target = spec.replicas().stream().map(MembershipChanger::peer).toList();
        List<RaftPeer> peers = nextStep(List.copyOf(conf.getCurrentPeers()), target);
        if (peers != target) {
            LOG.info("{}: {} -> {} in one change is more than Raft allows; adding {} first", tp, current, wanted,
                    peers.get(peers.size() - 1).getId());
        }
        for (RaftPeer peer : peers) {
            if (!current.contains(peer.getId().toString()) && !runsGroup(peer, groupId, peers)) {
                return CompletableFuture.completedFuture(false);
            }
        }
        LOG.info("{}: changing replicas from {} to {}", tp, current, ids(peers));
        boolean last = peers == target;
        return server.setConfigurationAsync(new SetConfigurationRequest(local.clientId(), server.getId(), groupId,
                        local.nextCallId(), peers))
                .handle((reply, error) -> {
                    Throwable cause = RaftErrors.unwrap(error != null ? error : reply.isSuccess() ? null : reply.getException());
                    if (cause != null) {
                        LOG.info("{}: replica change to {} not done yet: {}", tp, wanted, cause.toString());
                        return false;
                    }
                    return last;  // a step on the way: the next call makes the next one
                });
    }

    /**
     * The next configuration on the way from {@code current} to {@code target}: {@code target} itself if Ratis 3.3
     * accepts that change (it keeps more members than it adds, or grows one member to two:
     * {@code RaftConfigurationImpl.changeMajority}, RATIS-1912), else {@code current} plus the first member of
     * {@code target} it lacks, which Ratis accepts; so a group whose members differ from its newest list by more than
     * one change (a reassignment made before the previous one was done) still gets there, one member at a time,
     * instead of being refused for good.
     */
    static List<RaftPeer> nextStep(List<RaftPeer> current, List<RaftPeer> target) {
        Set<RaftPeerId> have = new java.util.HashSet<>();
        current.forEach(p -> have.add(p.getId()));
        List<RaftPeer> adds = target.stream().filter(p -> !have.contains(p.getId())).toList();
        long kept = target.size() - adds.size();
        if (adds.size() < kept || current.size() == 1 && target.size() == 2 && adds.size() == 1) {
            return target;
        }
        List<RaftPeer> step = new java.util.ArrayList<>(current);
        step.add(adds.get(0));
        return List.copyOf(step);
    }

    private static Set<String> ids(List<RaftPeer> peers) {
        Set<String> ids = new TreeSet<>();
        peers.forEach(p -> ids.add(p.getId().toString()));
        return ids;
    }

    /**
     * Whether the group runs without this replica for good, so that a replica dropped from it may go: its leader
     * (one of {@code peers}) has a configuration that does not name this server and no old one, and has committed
     * it. A dropped follower that left as soon as its broker saw the new replica list could take away the majority
     * the change itself needs (of the old members, which must agree to it), where another member is dead or a
     * later list drops one more before the first change is made; and after Ratis appends the new configuration,
     * a leader elected before it commits still needs the old members' votes. Ratis's group info does not say where
     * the configuration entry is, so the leader's last index when the new configuration is first seen stands for
     * it: the replica may go once a later answer of the same leader in the same term has a commit index that
     * reaches it. A leader whose commit index is below {@code committedHere}, this replica's own, is not believed:
     * it cannot lead the group this replica was part of; nor is any while that index cannot be read (-1). False
     * while the change is under way, no leader answers, or it still names this server.
     */
    public boolean dropped(RaftGroupId groupId, Collection<RaftPeer> peers, long committedHere) {
        if (committedHere < 0) {
            return false;  // this replica's own commit index is unknown: ask again once it can be read
        }
        String self = server.getId().toString();
        for (RaftPeer peer : peers) {
            if (peer.getId().equals(server.getId())) {
                continue;
            }
            GroupInfoReply info = probes.groupInfo(peer, groupId);
            if (info == null || info.getRoleInfoProto().getRole() != RaftPeerRole.LEADER) {
                continue;
            }
            RaftConfigurationProto conf = info.getConf().orElse(null);
            long committed = info.getLogInfoProto().getCommitted().getIndex();
            if (conf == null || conf.getOldPeersCount() > 0 || committed < committedHere
                    || conf.getPeersList().stream().anyMatch(p -> p.getId().toStringUtf8().equals(self))) {
                droppedAt.remove(groupId);
                return false;
            }
            DropMark now = new DropMark(peer.getId().toString(), info.getLogInfoProto().getLastEntry().getTerm(),
                    info.getLogInfoProto().getLastEntry().getIndex());
            DropMark seen = droppedAt.get(groupId);
            if (seen == null || !seen.leader().equals(now.leader()) || seen.term() != now.term()) {
                droppedAt.put(groupId, now);
                return false;
            }
            if (committed >= seen.index()) {
                droppedAt.remove(groupId);
                return true;
            }
            return false;
        }
        return false;
    }

    /** This replica is assigned to {@code groupId} (again): what {@link #dropped} saw of an earlier drop is stale. */
    public void assigned(RaftGroupId groupId) {
        droppedAt.remove(groupId);
    }

    /** A leader seen with a configuration without this replica: who, in which term, and its last index then. */
    private record DropMark(String leader, long term, long index) {
    }

    /**
     * Whether a new member already runs the partition's group. The change must wait for that: Ratis would
     * otherwise send it the leader's log while its group is still starting, and that race fails the start.
     */
    private boolean runsGroup(RaftPeer peer, RaftGroupId groupId, List<RaftPeer> peers) {
        try (RaftClient client = RaftClient.newBuilder().setRaftGroup(RaftGroup.valueOf(groupId, peers))
                .setRetryPolicy(RatisProperties.PROBE_RETRIES).setProperties(probeProperties).build()) {
            return client.getGroupManagementApi(peer.getId()).info(groupId).isSuccess();
        } catch (IOException | RuntimeException e) {
            LOG.debug("{} does not run group {} yet: {}", peer.getId(), groupId, e.toString());
            return false;
        }
    }
}
