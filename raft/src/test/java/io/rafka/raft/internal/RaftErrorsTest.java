package io.rafka.raft.internal;

import io.rafka.common.BusyException;
import io.rafka.common.ErrorCode;
import io.rafka.common.InvalidRecordException;
import io.rafka.common.NotLeaderException;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.ResourceUnavailableException;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RaftErrorsTest {
    private static final TopicPartition TP = new TopicPartition("orders", 3);
    private static final RaftGroupMemberId MEMBER = RaftGroupMemberId.valueOf(RaftPeerId.valueOf("n1"), RaftGroupId.randomId());
    private final RaftErrors errors = new RaftErrors("n1", 5_000);

    @Test
    void typedErrorsPassThroughEvenWhenWrapped() {
        InvalidRecordException refused = new InvalidRecordException("bad batch");
        assertSame(refused, errors.forAppend(TP, new StateMachineException(MEMBER, refused)));
        assertSame(refused, errors.forAppend(TP, new CompletionException(refused)));
    }

    @Test
    void notLeaderCarriesTheSuggestedLeader() {
        RaftPeer n2 = RaftPeer.newBuilder().setId("n2").setAddress("127.0.0.1:1").build();
        var nle = new org.apache.ratis.protocol.exceptions.NotLeaderException(MEMBER, n2, List.of(n2));
        NotLeaderException e = assertInstanceOf(NotLeaderException.class, errors.forAppend(TP, new CompletionException(nle)));
        assertEquals("n2", e.leaderId().orElseThrow());
        var noHint = new org.apache.ratis.protocol.exceptions.NotLeaderException(MEMBER, null, List.of());
        assertTrue(errors.notLeader(TP, noHint).leaderId().isEmpty());
    }

    @Test
    void transientRaftStatesAreRetriable() {
        assertCode(ErrorCode.LEADER_NOT_AVAILABLE, new LeaderNotReadyException(MEMBER));
        assertCode(ErrorCode.LEADER_NOT_AVAILABLE, new AlreadyClosedException("closing"));
        assertInstanceOf(BusyException.class, errors.forAppend(TP, new ResourceUnavailableException("queue full")));
        assertCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, new GroupMismatchException("no such group"));
        assertCode(ErrorCode.REQUEST_TIMED_OUT, new CompletionException(new TimeoutException()));
    }

    @Test
    void unknownFailuresAreUnknownServerErrorsNotRetriedForever() {
        IllegalStateException bug = new IllegalStateException("bug");
        RafkaException e = errors.forAppend(TP, new CompletionException(bug));
        assertEquals(ErrorCode.UNKNOWN_SERVER_ERROR, e.errorCode());
        assertFalse(e.retriable());
        assertSame(bug, e.getCause(), "the stack of the real failure is kept");
        RafkaException fromStateMachine = errors.forAppend(TP, new StateMachineException(MEMBER, new IllegalStateException("x")));
        assertEquals(ErrorCode.UNKNOWN_SERVER_ERROR, fromStateMachine.errorCode());
    }

    private void assertCode(ErrorCode expected, Throwable error) {
        RafkaException e = errors.forAppend(TP, error);
        assertEquals(expected, e.errorCode(), e.getMessage());
        assertEquals(expected.retriable(), e.retriable());
    }
}
