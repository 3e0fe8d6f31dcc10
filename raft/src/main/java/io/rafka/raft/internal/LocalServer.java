package io.rafka.raft.internal;

import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The node's Ratis server as its parts call it in-process: every request needs a client id and a call id
 * unique for that client, so the parts share one of each.
 */
public record LocalServer(RaftServer server, ClientId clientId, AtomicLong callIds) {
    public LocalServer(RaftServer server) {
        this(server, ClientId.randomId(), new AtomicLong());
    }

    public long nextCallId() {
        return callIds.incrementAndGet();
    }

    public RaftServer.Division division(RaftGroupId groupId) throws IOException {
        return server.getDivision(groupId);
    }
}
