package io.rafka.raft.internal;

import org.apache.ratis.proto.RaftProtos.InstallSnapshotRequestProto;
import org.apache.ratis.proto.grpc.RaftServerProtocolServiceGrpc;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.thirdparty.io.grpc.ForwardingServerCallListener;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.ServerCall;
import org.apache.ratis.thirdparty.io.grpc.ServerCallHandler;
import org.apache.ratis.thirdparty.io.grpc.ServerInterceptor;
import org.apache.ratis.thirdparty.io.grpc.Status;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Holds back install-snapshot requests addressed to a Raft division this server has not finished starting.
 *
 * <p>Ratis 3.3 refuses appends to a division whose start is under way ("the server role is not yet initialized"),
 * but not install-snapshot requests. One that reaches a division opened by a group add (a replica woken from
 * hibernation, reopened after a full disk, healed) after its start began and before it took its first role makes
 * it a follower; the start then fails ({@code IllegalStateException: previous != null} in
 * {@code RoleInfo.startFollowerState}) and leaves the division's storage locked, so the replica cannot be opened
 * again until the broker restarts (ChaosIT, a leader sending install-snapshot notices to a replica reopened after a
 * full disk). A division's start loads its log and state machine, then takes its first role; a request that finds
 * the division without a role (constructed, or starting) is answered {@code UNAVAILABLE} here, before Ratis sees it,
 * and the leader sends it again as after any failed call; once the division has a role, which it never loses,
 * requests pass. A request for a group this server does not hold is answered {@code UNAVAILABLE} here too (Ratis
 * would answer "not found", which the leader treats the same): Ratis looks the division up again a moment after
 * this gate, and a group add between the two lookups would let the request reach the division it just created
 * (CI saw it). One for a division still being constructed waits for the construction here, as Ratis's own handler
 * would. Only a division that is removed, closed and added again between the two lookups could slip through.
 *
 * <p>Runs as a gRPC interceptor on the Raft server port ({@link #interceptor}); other methods pass untouched. The
 * install-snapshot notices it lets through are recorded ({@link InstallNotices}).
 */
public final class DivisionStartGate {
    private static final String INSTALL_SNAPSHOT =
            RaftServerProtocolServiceGrpc.getInstallSnapshotMethod().getFullMethodName();
    private static final AtomicLong HELD_BACK = new AtomicLong();
    private static final AtomicLong HELD_BACK_ABSENT = new AtomicLong();

    private DivisionStartGate() {
    }

    /** Install-snapshot requests held back from a starting division by servers in this JVM (a probe for tests). */
    public static long heldBack() {
        return HELD_BACK.get();
    }

    /** Install-snapshot requests held back because their division was not there (a probe for tests). */
    public static long heldBackAbsent() {
        return HELD_BACK_ABSENT.get();
    }

    /**
     * The interceptor for the Raft server port of the server {@code server} returns (null while it is built); the
     * notices it lets through are recorded in {@code notices}.
     */
    static ServerInterceptor interceptor(Supplier<RaftServer> server, InstallNotices notices) {
        return new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                               ServerCallHandler<Q, A> next) {
                ServerCall.Listener<Q> listener = next.startCall(call, headers);
                if (!call.getMethodDescriptor().getFullMethodName().equals(INSTALL_SNAPSHOT)) {
                    return listener;
                }
                return new Gated<>(listener, call, server, notices);
            }
        };
    }

    /**
     * The first request of a call decides: held back, the call is closed and nothing more reaches Ratis's listener
     * (it has seen nothing, so it answers nothing); let through, the call is Ratis's alone.
     */
    private static final class Gated<Q, A> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
        private final ServerCall<Q, A> call;
        private final Supplier<RaftServer> server;
        private final InstallNotices notices;
        private boolean decided;  // the call's listener methods run one at a time
        private boolean heldBack;

        Gated(ServerCall.Listener<Q> delegate, ServerCall<Q, A> call, Supplier<RaftServer> server,
              InstallNotices notices) {
            super(delegate);
            this.call = call;
            this.server = server;
            this.notices = notices;
        }

        @Override
        public void onMessage(Q message) {
            if (!decided) {
                decided = true;
                String refusal = refusal(message);
                if (refusal != null) {
                    heldBack = true;
                    call.close(Status.UNAVAILABLE.withDescription(refusal), new Metadata());
                } else if (message instanceof InstallSnapshotRequestProto request && request.hasNotification()) {
                    notices.received(RaftGroupId.valueOf(request.getServerRequest().getRaftGroupId().getId()),
                            request.getNotification().getFirstAvailableTermIndex().getIndex());
                }
            }
            if (!heldBack) {
                super.onMessage(message);
            }
        }

        @Override
        public void onHalfClose() {
            if (!heldBack) {
                super.onHalfClose();
            }
        }

        @Override
        public void onCancel() {
            if (!heldBack) {
                super.onCancel();
            }
        }

        @Override
        public void onComplete() {
            if (!heldBack) {
                super.onComplete();
            }
        }

        @Override
        public void onReady() {
            if (!heldBack) {
                super.onReady();
            }
        }

        /**
         * Why the request must not reach Ratis: the addressed division has no role yet, or this server holds no
         * such division at this moment; null if it may pass.
         */
        private String refusal(Q message) {
            RaftServer s = server.get();
            if (s == null || !(message instanceof InstallSnapshotRequestProto request)) {
                return null;
            }
            RaftGroupId gid = RaftGroupId.valueOf(request.getServerRequest().getRaftGroupId().getId());
            try {
                RaftServer.Division division = s.getDivision(gid);
                if (division.getInfo().getCurrentRole() != null) {
                    return null;
                }
                HELD_BACK.incrementAndGet();
                return division.getMemberId()
                        + ": the division is starting; install-snapshot requests are taken once it has started";
            } catch (IOException | RuntimeException e) {
                // Not held here (or closing). Ratis would answer that too, but its own lookup comes a moment
                // later and may find a division a group add has just created, which then starts under the
                // request: the one window a decision made on another lookup leaves open. The leader retries.
                HELD_BACK_ABSENT.incrementAndGet();
                return s.getId() + "@" + gid + ": no such division here (" + e.getClass().getSimpleName() + ")";
            }
        }
    }
}
