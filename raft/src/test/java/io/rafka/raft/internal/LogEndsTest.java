package io.rafka.raft.internal;

import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.thirdparty.io.grpc.CallOptions;
import org.apache.ratis.thirdparty.io.grpc.ManagedChannel;
import org.apache.ratis.thirdparty.io.grpc.Server;
import org.apache.ratis.thirdparty.io.grpc.ServerServiceDefinition;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.apache.ratis.thirdparty.io.grpc.StatusRuntimeException;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyChannelBuilder;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyServerBuilder;
import org.apache.ratis.thirdparty.io.grpc.stub.ClientCalls;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LogEndsTest {
    @Test
    void requestsAndAnswersSurviveTheirEncoding() {
        List<RaftGroupId> groups = List.of(RaftGroupId.randomId(), RaftGroupId.randomId(), RaftGroupId.randomId());
        assertEquals(groups, LogEnds.decodeRequest(LogEnds.encodeRequest(groups)));
        assertEquals(List.of(), LogEnds.decodeRequest(LogEnds.encodeRequest(List.of())));

        Map<RaftGroupId, TermIndex> ends = Map.of(groups.get(0), TermIndex.valueOf(3, 1_000_000_007L),
                groups.get(2), TermIndex.valueOf(Long.MAX_VALUE, 0));
        assertEquals(ends, LogEnds.decodeAnswer(LogEnds.encodeAnswer(ends)));
    }

    @Test
    void messagesWhoseCountDoesNotMatchTheirBytesAreRefused() {
        byte[] request = LogEnds.encodeRequest(List.of(RaftGroupId.randomId(), RaftGroupId.randomId()));
        ByteBuffer.wrap(request).putInt(3);
        assertThrows(IllegalArgumentException.class, () -> LogEnds.decodeRequest(request));
        ByteBuffer.wrap(request).putInt(-1);
        assertThrows(IllegalArgumentException.class, () -> LogEnds.decodeRequest(request));
        assertThrows(IllegalArgumentException.class, () -> LogEnds.decodeRequest(new byte[3]));
        byte[] huge = ByteBuffer.allocate(4).putInt(LogEnds.MAX_GROUPS + 1).array();
        assertThrows(IllegalArgumentException.class, () -> LogEnds.decodeRequest(huge));
        byte[] answer = LogEnds.encodeAnswer(Map.of(RaftGroupId.randomId(), TermIndex.valueOf(1, 1)));
        assertThrows(IllegalArgumentException.class,
                () -> LogEnds.decodeAnswer(java.util.Arrays.copyOf(answer, answer.length - 1)));
    }

    /** Over real gRPC on loopback: bad bytes get INVALID_ARGUMENT, a server without the method UNIMPLEMENTED. */
    @Test
    void theServiceAnswersBadInputWithATypedErrorAndCallersTellAnOldPeerApart() throws Exception {
        Server withService = start(LogEnds.service(() -> null));
        Server without = start(ServerServiceDefinition.builder("other").build());
        ManagedChannel toService = channel(withService);
        ManagedChannel toOld = channel(without);
        try {
            StatusRuntimeException bad = assertThrows(StatusRuntimeException.class, () -> ClientCalls.blockingUnaryCall(
                    toService, LogEnds.METHOD, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), new byte[]{1, 2}));
            assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
            assertTrue(bad.getStatus().getDescription().contains("no count"), bad.getStatus().getDescription());

            // A server still starting (no Ratis server yet) cannot answer: the caller counts that peer as silent.
            StatusRuntimeException starting = assertThrows(StatusRuntimeException.class, () -> ClientCalls.blockingUnaryCall(
                    toService, LogEnds.METHOD, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS),
                    LogEnds.encodeRequest(List.of(RaftGroupId.randomId()))));
            assertEquals(Status.Code.UNAVAILABLE, starting.getStatus().getCode());
            assertNull(LogEnds.ask(toService, List.of(RaftGroupId.randomId()), 5_000));
            assertThrows(UnsupportedOperationException.class,
                    () -> LogEnds.ask(toOld, List.of(RaftGroupId.randomId()), 5_000));
        } finally {
            toService.shutdownNow();
            toOld.shutdownNow();
            withService.shutdownNow();
            without.shutdownNow();
        }
    }

    private static Server start(ServerServiceDefinition service) throws java.io.IOException {
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(service).build().start();
    }

    private static ManagedChannel channel(Server server) {
        return NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    }
}
