package io.rafka.raft;

import io.rafka.common.TopicPartition;
import io.rafka.raft.internal.DivisionStartGate;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;
import org.apache.ratis.proto.RaftProtos.InstallSnapshotReplyProto;
import org.apache.ratis.proto.RaftProtos.InstallSnapshotRequestProto;
import org.apache.ratis.proto.RaftProtos.RaftGroupIdProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.proto.RaftProtos.RaftRpcRequestProto;
import org.apache.ratis.proto.RaftProtos.TermIndexProto;
import org.apache.ratis.proto.grpc.RaftServerProtocolServiceGrpc;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.AlreadyExistsException;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.thirdparty.io.grpc.ManagedChannel;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyChannelBuilder;
import org.apache.ratis.thirdparty.io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Raft division opened while its leader sends it install-snapshot notices starts (Ratis 3.3 let such a notice
 * make the starting division a follower, failed the start and kept the storage locked: {@link DivisionStartGate}).
 */
class DivisionStartIT {
    private static final Logger LOG = LoggerFactory.getLogger(DivisionStartIT.class);
    private static final int REOPENS = 10;
    private static final int NOTICES_IN_FLIGHT = 16;
    private static final long MAX_NOTICES = 2_000_000;

    @TempDir
    Path tmp;

    /**
     * A follower's division removed and added again, ten times, while install-snapshot notices in the leader's
     * name and term arrive without pause (as a leader sends them to a follower behind its log's start): every add
     * starts the division, notices that reached a starting division or none were held back, and the replica is
     * replicated to afterwards.
     */
    @Test
    @Timeout(180)
    void aDivisionOpenedUnderInstallSnapshotNoticesStarts() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("opened", 0, 3);
            for (int i = 0; i < 5; i++) {
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "before-" + i, 2), Acks.ALL, 30_000);
            }
            int leader = cluster.leaderIndex(tp, 30_000);
            int follower = (leader + 1) % 3;
            cluster.awaitReplicated(tp, 10, 30_000);
            RaftServer.Division division = cluster.node(follower).division(tp);
            RaftServer server = division.getRaftServer();
            RaftGroup group = division.getGroup();
            long heldBefore = DivisionStartGate.heldBack();
            long absentBefore = DivisionStartGate.heldBackAbsent();

            try (Notices notices = new Notices(cluster.addresses().get(follower).port(), server.getId(), group)) {
                Thread sender = new Thread(notices::send, "install-snapshot-notices");
                ClientId client = ClientId.randomId();
                for (int round = 0; round < REOPENS; round++) {
                    long t0 = System.nanoTime();
                    RaftClientReply removed = server.groupManagement(GroupManagementRequest.newRemove(client,
                            server.getId(), round * 2L, group.getGroupId(), false, false));
                    assertTrue(removed.isSuccess(), "round " + round + ": remove: " + removed);
                    if (round == 0) {
                        // Only now: the running replica has no snapshot yet, and a notice would start a real copy
                        // of the leader's log; closing it took one, which later notices find "already installed".
                        notices.from = leaderOf(cluster, tp);
                        sender.start();
                    }
                    long t1 = System.nanoTime();
                    Throwable failure;
                    try {
                        RaftClientReply added = server.groupManagement(GroupManagementRequest.newAdd(client,
                                server.getId(), round * 2L + 1, group, false));
                        failure = added.isSuccess() ? null : added.getException();
                    } catch (IOException e) {
                        failure = e;
                    }
                    // Rafka's own heal may have added it back first: then it must be running all the same.
                    assertTrue(failure == null || alreadyExists(failure),
                            "round " + round + ": the division did not start: " + failure);
                    // An add that returned has started its division; one of the heal's may still be starting it.
                    assertNotNull(awaitRole(server, group, failure == null ? 0 : 30_000),
                            "round " + round + ": the division has no role after its start");
                    LOG.info("round {}: reopened ({}); removed in {} ms, added in {} ms", round,
                            failure == null ? "by this test" : "by Rafka's heal", (t1 - t0) / 1_000_000,
                            (System.nanoTime() - t1) / 1_000_000);
                    notices.from = leaderOf(cluster, tp);
                    Thread.sleep(10 + round % 4 * 10);
                }
                notices.stop.set(true);
                sender.join(30_000);
                LOG.info("{} install-snapshot notices sent, {} answered UNAVAILABLE by the gate, {} otherwise",
                        notices.sent.get(), notices.heldBack.get(), notices.answered.get());
            }
            assertTrue(DivisionStartGate.heldBack() > heldBefore,
                    "no notice reached a division without a role: the test did not exercise the gate");
            // Between a remove and the add, notices find no division: those are held back too, as Ratis's own
            // lookup, a moment later, could find the division the add has just created and is starting.
            assertTrue(DivisionStartGate.heldBackAbsent() > absentBefore,
                    "no notice reached the server while the division was removed: the test did not exercise it");

            for (int i = 0; i < 5; i++) {
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "after-" + i, 2), Acks.ALL, 30_000);
            }
            cluster.awaitReplicated(tp, 20, 30_000);
            assertEquals(20, cluster.node(follower).log(tp).logEndOffset(),
                    "the reopened replica is replicated to");
        }
    }

    /** The partition's leader and its term, in whose name notices go (a reopened replica follows either). */
    private static Leader leaderOf(MiniCluster cluster, TopicPartition tp) throws IOException {
        RaftServer.Division leader = cluster.node(cluster.leaderIndex(tp, 30_000)).division(tp);
        return new Leader(leader.getId(), leader.getInfo().getCurrentTerm());
    }

    private record Leader(RaftPeerId id, long term) {
    }

    private static RaftPeerRole awaitRole(RaftServer server, RaftGroup group, long timeoutMs) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        RaftPeerRole role = server.getDivision(group.getGroupId()).getInfo().getCurrentRole();
        while (role == null && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
            role = server.getDivision(group.getGroupId()).getInfo().getCurrentRole();
        }
        return role;
    }

    private static boolean alreadyExists(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof AlreadyExistsException) {
                return true;
            }
        }
        return false;
    }

    /** Install-snapshot notices in the leader's name to one server, as many in flight as allowed, until stopped. */
    private static final class Notices implements AutoCloseable {
        private final ManagedChannel channel;
        private final RaftServerProtocolServiceGrpc.RaftServerProtocolServiceStub stub;
        private final RaftPeerId to;
        private final RaftGroup group;
        private final Semaphore inFlight = new Semaphore(NOTICES_IN_FLIGHT);
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong sent = new AtomicLong();
        final AtomicLong heldBack = new AtomicLong();
        final AtomicLong answered = new AtomicLong();
        volatile Leader from;

        Notices(int port, RaftPeerId to, RaftGroup group) {
            this.channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
            this.stub = RaftServerProtocolServiceGrpc.newStub(channel);
            this.to = to;
            this.group = group;
        }

        void send() {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            try {
                while (!stop.get() && sent.get() < MAX_NOTICES && System.nanoTime() < deadline) {
                    if (!inFlight.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                        continue;
                    }
                    long callId = sent.incrementAndGet();
                    StreamObserver<InstallSnapshotRequestProto> call = stub.installSnapshot(new Answer());
                    call.onNext(notice(callId));
                    call.onCompleted();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private InstallSnapshotRequestProto notice(long callId) {
            Leader leader = from;
            long t = leader.term();
            return InstallSnapshotRequestProto.newBuilder()
                    .setServerRequest(RaftRpcRequestProto.newBuilder()
                            .setRequestorId(leader.id().toByteString())
                            .setReplyId(to.toByteString())
                            .setRaftGroupId(RaftGroupIdProto.newBuilder().setId(group.getGroupId().toByteString()))
                            .setCallId(callId))
                    .setLeaderTerm(t)
                    .setNotification(InstallSnapshotRequestProto.NotificationProto.newBuilder()
                            .setFirstAvailableTermIndex(TermIndexProto.newBuilder().setTerm(t).setIndex(1)))
                    .build();
        }

        /** Frees the call's place at its end, whatever the end. */
        private final class Answer implements StreamObserver<InstallSnapshotReplyProto> {
            private final AtomicBoolean ended = new AtomicBoolean();

            @Override
            public void onNext(InstallSnapshotReplyProto reply) {
            }

            @Override
            public void onError(Throwable t) {
                Status status = Status.fromThrowable(t);
                if (status.getCode() == Status.Code.UNAVAILABLE && String.valueOf(status.getDescription())
                        .contains("the division is starting")) {
                    heldBack.incrementAndGet();
                } else {
                    answered.incrementAndGet();
                }
                end();
            }

            @Override
            public void onCompleted() {
                answered.incrementAndGet();
                end();
            }

            private void end() {
                if (ended.compareAndSet(false, true)) {
                    inFlight.release();
                }
            }
        }

        @Override
        public void close() {
            stop.set(true);
            channel.shutdownNow();
            try {
                channel.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
