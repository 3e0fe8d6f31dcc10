package io.rafka.raft.internal;

import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.proto.RaftProtos.LogInfoProto;
import org.apache.ratis.protocol.GroupInfoReply;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.exceptions.AlreadyExistsException;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Asks other servers where their replica of a group stands (Ratis group info: last entry, commit and apply
 * index), with one client per peer server for the life of the node, not one per question: the group id goes
 * in each request. The clients use the probe settings (3 s, no long retries), so a peer that does not answer
 * costs one bounded wait. Thread-safe.
 */
public final class PeerProbes implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(PeerProbes.class);

    private final RaftProperties probeProperties;
    private final Map<RaftPeerId, RaftClient> clients = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public PeerProbes(RaftProperties probeProperties) {
        this.probeProperties = probeProperties;
    }

    /** {@code peer}'s view of its replica of {@code gid}, or null if it does not answer or has no such replica. */
    public LogInfoProto logInfo(RaftPeer peer, RaftGroupId gid) {
        if (closed) {
            return null;
        }
        try {
            GroupInfoReply reply = client(peer).getGroupManagementApi(peer.getId()).info(gid);
            return reply.isSuccess() ? reply.getLogInfoProto() : null;
        } catch (IOException | RuntimeException e) {
            LOG.debug("{}: {} did not say where its log stands: {}", gid, peer.getId(), e.toString());
            return null;
        }
    }

    /** {@code peer}'s whole answer about its replica of {@code gid} (role, configuration, log), or null. */
    public GroupInfoReply groupInfo(RaftPeer peer, RaftGroupId gid) {
        if (closed) {
            return null;
        }
        try {
            GroupInfoReply reply = client(peer).getGroupManagementApi(peer.getId()).info(gid);
            return reply.isSuccess() ? reply : null;
        } catch (IOException | RuntimeException e) {
            LOG.debug("{}: {} did not describe its replica: {}", gid, peer.getId(), e.toString());
            return null;
        }
    }

    /**
     * Dials {@code peer}'s server ahead of need (one group list), so that the first question asked of it in a
     * hurry, a survivor's takeover after a leader's death, does not also pay for creating the client and
     * connecting. Blocks up to the probe timeout; false if the peer did not answer.
     */
    public boolean connect(RaftPeer peer) {
        if (closed) {
            return false;
        }
        try {
            client(peer).getGroupManagementApi(peer.getId()).list();
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.debug("{} did not answer a group list: {}", peer.getId(), e.toString());
            return false;
        }
    }

    /**
     * Asks {@code peer}'s server to open its replica of {@code group} from its own storage (a Ratis group add
     * without format). True once it is open there, also if it already was; false if the peer does not answer
     * or refuses (it hosts no such replica).
     */
    public boolean open(RaftPeer peer, RaftGroup group) {
        if (closed) {
            return false;
        }
        try {
            RaftClientReply reply = client(peer).getGroupManagementApi(peer.getId()).add(group, false);
            return reply.isSuccess() || RaftErrors.unwrap(reply.getException()) instanceof AlreadyExistsException;
        } catch (AlreadyExistsException e) {
            return true;
        } catch (IOException | RuntimeException e) {
            if (RaftErrors.unwrap(e) instanceof AlreadyExistsException) {
                return true;
            }
            LOG.debug("{}: {} did not open its replica: {}", group.getGroupId(), peer.getId(), e.toString());
            return false;
        }
    }

    /**
     * Asks {@code leaderId}, which leads {@code group}, to step down (Ratis's transfer of leadership to no one in
     * particular), so that a new leader replicates to every follower from fresh state; rare, so a client of its
     * own. Blocks up to a few seconds; false if it did not step down.
     */
    public boolean stepDown(RaftGroup group, RaftPeerId leaderId) {
        try (RaftClient client = RaftClient.newBuilder().setRaftGroup(group).setLeaderId(leaderId)
                .setRetryPolicy(RatisProperties.PROBE_RETRIES).setProperties(probeProperties).build()) {
            RaftClientReply reply = client.admin().transferLeadership(null, 5_000);
            if (!reply.isSuccess()) {
                LOG.info("{}: leader {} did not step down: {}", group.getGroupId(), leaderId, reply.getException());
            }
            return reply.isSuccess();
        } catch (IOException | RuntimeException e) {
            LOG.info("{}: leader {} did not step down: {}", group.getGroupId(), leaderId, e.toString());
            return false;
        }
    }

    private RaftClient client(RaftPeer peer) {
        return clients.computeIfAbsent(peer.getId(), id -> RaftClient.newBuilder()
                .setRaftGroup(RaftGroup.valueOf(RaftGroupId.randomId(), peer))
                .setRetryPolicy(RatisProperties.PROBE_RETRIES)
                .setProperties(probeProperties).build());
    }

    /** Forgets the client of a peer that left every local group or moved (its next probe dials anew). */
    public void forget(RaftPeerId peer) {
        RaftClient c = clients.remove(peer);
        if (c != null) {
            closeQuietly(c);
        }
    }

    @Override
    public void close() {
        closed = true;
        clients.values().forEach(PeerProbes::closeQuietly);
        clients.clear();
    }

    private static void closeQuietly(RaftClient c) {
        try {
            c.close();
        } catch (IOException e) {
            LOG.debug("closing a probe client failed: {}", e.toString());
        }
    }
}
