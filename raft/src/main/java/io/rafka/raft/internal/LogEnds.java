package io.rafka.raft.internal;

import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.thirdparty.io.grpc.CallOptions;
import org.apache.ratis.thirdparty.io.grpc.Channel;
import org.apache.ratis.thirdparty.io.grpc.MethodDescriptor;
import org.apache.ratis.thirdparty.io.grpc.ServerServiceDefinition;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.apache.ratis.thirdparty.io.grpc.stub.ClientCalls;
import org.apache.ratis.thirdparty.io.grpc.stub.ServerCalls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Where a server's replicas of many groups end, in one call: a survivor of a dead leader asks each other survivor
 * once for every group that leader led, instead of once per group (Ratis's group info holds one group). With a
 * hundred partitions led by the dead broker that is one round trip per peer instead of a hundred, on a machine
 * whose cores the takeover is short of anyway.
 *
 * <p>Served beside Ratis's own services on the Raft server port ({@link RaftPort#serverParameters}). Wire format, big-endian:
 * the request is a count n (int, at most {@link #MAX_GROUPS}) then n group ids (16 bytes each, most significant
 * long first); the answer is a count m then m records of group id (16 bytes), term (long), index (long): the last
 * entry of each asked group this server holds a replica of (term 0, index 0 for an empty log); groups it does not hold
 * are left out. A server without the method answers UNIMPLEMENTED: callers then ask group by group.
 */
public final class LogEnds {
    /** The most groups one request may name (a broker holds at most a few thousand replicas). */
    static final int MAX_GROUPS = 100_000;
    private static final int GROUP_BYTES = 16;
    private static final int END_BYTES = GROUP_BYTES + 16;
    private static final AtomicLong ANSWERED = new AtomicLong();
    private static final AtomicLong WARM_UPS = new AtomicLong();

    static final MethodDescriptor<byte[], byte[]> METHOD = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(MethodDescriptor.generateFullMethodName("rafka.raft.LogEnds", "Get"))
            .setRequestMarshaller(Bytes.INSTANCE)
            .setResponseMarshaller(Bytes.INSTANCE)
            .build();

    private LogEnds() {
    }

    /** Requests naming at least one group answered by servers in this JVM (a probe for tests). */
    public static long answered() {
        return ANSWERED.get();
    }

    /** Requests naming no group ({@link #warmUp}) answered by servers in this JVM (a probe for tests). */
    public static long warmUpsAnswered() {
        return WARM_UPS.get();
    }

    static ServerServiceDefinition service(Supplier<RaftServer> server) {
        return ServerServiceDefinition.builder("rafka.raft.LogEnds")
                .addMethod(METHOD, ServerCalls.asyncUnaryCall((request, answer) -> {
                    List<RaftGroupId> groups;
                    try {
                        groups = decodeRequest(request);
                    } catch (IllegalArgumentException e) {
                        answer.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
                        return;
                    }
                    RaftServer s = server.get();
                    if (s == null) {
                        answer.onError(Status.UNAVAILABLE.withDescription("the server is starting").asRuntimeException());
                        return;
                    }
                    if (!groups.isEmpty()) {
                        ANSWERED.incrementAndGet();
                    } else {
                        WARM_UPS.incrementAndGet();
                    }
                    answer.onNext(encodeAnswer(lastEntries(s, groups)));
                    answer.onCompleted();
                }))
                .build();
    }

    /**
     * The last entries of {@code groups} at the server behind {@code channel} (groups it holds no replica of are
     * absent); null if it did not answer within {@code timeoutMs}.
     *
     * @throws UnsupportedOperationException if that server does not serve the method (an older version)
     */
    static Map<RaftGroupId, TermIndex> ask(Channel channel, Collection<RaftGroupId> groups, long timeoutMs) {
        try {
            byte[] answer = ClientCalls.blockingUnaryCall(channel, METHOD,
                    CallOptions.DEFAULT.withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS), encodeRequest(groups));
            return decodeAnswer(answer);
        } catch (RuntimeException e) {
            if (Status.fromThrowable(e).getCode() == Status.Code.UNIMPLEMENTED) {
                throw new UnsupportedOperationException("the peer does not serve " + METHOD.getFullMethodName(), e);
            }
            return null;
        }
    }

    /**
     * Asks the server behind {@code channel} about no group, without waiting for the answer, so that both ends have
     * loaded and run the call's code before a takeover needs it; the outcome (an older peer's UNIMPLEMENTED, a peer
     * that stopped answering) does not matter.
     */
    static void warmUp(Channel channel, long timeoutMs) {
        ClientCalls.futureUnaryCall(channel.newCall(METHOD,
                CallOptions.DEFAULT.withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS)), encodeRequest(List.of()));
    }

    static Map<RaftGroupId, TermIndex> lastEntries(RaftServer server, Collection<RaftGroupId> groups) {
        Map<RaftGroupId, TermIndex> ends = new HashMap<>();
        for (RaftGroupId gid : groups) {
            try {
                TermIndex last = server.getDivision(gid).getRaftLog().getLastEntryTermIndex();
                // An empty log ends before any entry: (0, 0), as Ratis's group info says of it.
                ends.put(gid, last != null ? last : TermIndex.valueOf(0, 0));
            } catch (IOException | RuntimeException e) {
                // no replica of this group here (or it is closing): left out, as Ratis's group info would fail
            }
        }
        return ends;
    }

    static byte[] encodeRequest(Collection<RaftGroupId> groups) {
        if (groups.size() > MAX_GROUPS) {
            throw new IllegalArgumentException(groups.size() + " groups in one request; at most " + MAX_GROUPS);
        }
        ByteBuffer b = ByteBuffer.allocate(4 + groups.size() * GROUP_BYTES);
        b.putInt(groups.size());
        groups.forEach(gid -> putGroup(b, gid));
        return b.array();
    }

    static List<RaftGroupId> decodeRequest(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        int n = count(b, GROUP_BYTES);
        List<RaftGroupId> groups = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            groups.add(getGroup(b));
        }
        return groups;
    }

    static byte[] encodeAnswer(Map<RaftGroupId, TermIndex> ends) {
        ByteBuffer b = ByteBuffer.allocate(4 + ends.size() * END_BYTES);
        b.putInt(ends.size());
        ends.forEach((gid, last) -> {
            putGroup(b, gid);
            b.putLong(last.getTerm()).putLong(last.getIndex());
        });
        return b.array();
    }

    static Map<RaftGroupId, TermIndex> decodeAnswer(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        int n = count(b, END_BYTES);
        Map<RaftGroupId, TermIndex> ends = new HashMap<>(n * 2);
        for (int i = 0; i < n; i++) {
            ends.put(getGroup(b), TermIndex.valueOf(b.getLong(), b.getLong()));
        }
        return ends;
    }

    /** The count at the head of {@code b}, checked against the bound and against the bytes that follow it. */
    private static int count(ByteBuffer b, int recordBytes) {
        if (b.remaining() < 4) {
            throw new IllegalArgumentException("a log-ends message of " + b.remaining() + " bytes has no count");
        }
        int n = b.getInt();
        if (n < 0 || n > MAX_GROUPS || (long) n * recordBytes != b.remaining()) {
            throw new IllegalArgumentException("a log-ends message counts " + n + " records of " + recordBytes
                    + " bytes but holds " + b.remaining() + " bytes after its count (at most " + MAX_GROUPS + ")");
        }
        return n;
    }

    private static void putGroup(ByteBuffer b, RaftGroupId gid) {
        UUID u = gid.getUuid();
        b.putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits());
    }

    private static RaftGroupId getGroup(ByteBuffer b) {
        return RaftGroupId.valueOf(new UUID(b.getLong(), b.getLong()));
    }

    /** Messages are raw bytes; their layout is the class comment's. */
    private enum Bytes implements MethodDescriptor.Marshaller<byte[]> {
        INSTANCE;

        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw Status.INTERNAL.withDescription("reading a log-ends message failed").withCause(e).asRuntimeException();
            }
        }
    }
}
