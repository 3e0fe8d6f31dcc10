package io.rafka.metadata;

import io.rafka.raft.NodeAddress;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A metadata member without the group (closed for a failed log, its Raft server still answering) must not cut a
 * broker's client off from the group: Ratis's own client, once answered GroupMismatchException, fails every later
 * call. Three real members on loopback; the first voter, every new client's first guess of the leader, has its
 * group removed as a member closed for a full disk has.
 */
class MetadataClientIT {
    @TempDir
    Path tmp;

    @Test
    void callsReachTheGroupWhenTheFirstVoterDoesNotHoldIt() throws Exception {
        List<NodeAddress> voters = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            voters.add(new NodeAddress(String.valueOf(i), "127.0.0.1", freePort()));
        }
        List<MetadataNode> members = new ArrayList<>();
        try {
            for (NodeAddress self : voters) {
                members.add(MetadataNode.start(new MetadataNode.Settings(self, voters, tmp.resolve("m" + self.id()),
                        200, 400, true)));
            }
            RaftGroup group = RaftGroup.valueOf(MetadataNode.GROUP_ID, voters.stream()
                    .map(v -> RaftPeer.newBuilder().setId(v.id()).setAddress(v.hostPort()).build()).toList());
            try (RaftClient admin = RaftClient.newBuilder().setRaftGroup(group).setProperties(new RaftProperties()).build()) {
                RaftClientReply removed = admin.getGroupManagementApi(RaftPeerId.valueOf("1")).remove(MetadataNode.GROUP_ID, false, false);
                assertTrue(removed.isSuccess(), removed.toString());
            }

            try (MetadataClient client = new MetadataClient(group, new RaftProperties())) {
                Message write = Message.valueOf(ByteString.copyFrom(MetadataCodec.encodeRecords(List.of(
                        new MetadataRecord.RegisterBroker(new BrokerInfo("9", "127.0.0.1", 9, 10))))));
                Message read = Message.valueOf(ByteString.copyFrom(new byte[]{MetadataStateMachine.COMMIT_INDEX}));
                // Until members 2 and 3 have a leader between them, calls may fail; from then on every one succeeds.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                RaftClientReply reply = null;
                while (System.nanoTime() < deadline && (reply == null || !reply.isSuccess())) {
                    try {
                        reply = client.send(write).get(10, TimeUnit.SECONDS);
                    } catch (Exception notYet) {
                        Thread.sleep(100);
                    }
                }
                assertTrue(reply != null && reply.isSuccess(), "a write through a client whose first guess has no group: " + reply);
                for (int i = 0; i < 20; i++) {
                    RaftClientReply r = client.sendReadOnly(read).get(10, TimeUnit.SECONDS);
                    assertTrue(r.isSuccess(), r.toString());
                    assertEquals(Long.BYTES, r.getMessage().getContent().size());
                    assertTrue(client.send(write).get(10, TimeUnit.SECONDS).isSuccess());
                }
                long registered = members.subList(1, 3).stream().filter(m -> m.image().brokers().containsKey("9")).count();
                assertTrue(registered >= 1, "the write reached the group");
            }
        } finally {
            for (MetadataNode m : members) {
                m.close();
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
