package io.rafka.raft.internal;

import io.rafka.common.BusyException;
import io.rafka.common.ErrorCode;
import io.rafka.common.NotLeaderException;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.common.UnknownTopicOrPartitionException;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.LeaderSteppingDownException;
import org.apache.ratis.protocol.exceptions.ResourceUnavailableException;
import org.apache.ratis.protocol.exceptions.ServerNotReadyException;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.protocol.exceptions.TimeoutIOException;
import org.apache.ratis.protocol.exceptions.TransferLeadershipException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * The one place where a failure out of Ratis becomes a typed {@link RafkaException}, so that nothing else
 * leaves the raft module. A failure it does not know is a bug or an unforeseen state: it becomes
 * {@link ErrorCode#UNKNOWN_SERVER_ERROR} (not retriable, so clients do not retry a bug forever) and is logged
 * here, once, with its stack.
 */
public final class RaftErrors {
    private static final Logger LOG = LoggerFactory.getLogger(RaftErrors.class);

    private final String nodeId;
    private final long requestTimeoutMs;

    public RaftErrors(String nodeId, long requestTimeoutMs) {
        this.nodeId = nodeId;
        this.requestTimeoutMs = requestTimeoutMs;
    }

    /** Strips the wrappers futures put around a failure. */
    public static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** The typed error for a failed append to {@code tp}. */
    public RafkaException forAppend(TopicPartition tp, Throwable error) {
        Throwable e = unwrap(error);
        if (e instanceof StateMachineException && e.getCause() instanceof RafkaException r) {
            return r;  // refused by the state machine before it reached the Raft log (bad batch, sequence error)
        }
        if (e instanceof RafkaException r) {
            return r;
        }
        if (e instanceof org.apache.ratis.protocol.exceptions.NotLeaderException nle) {
            return notLeader(tp, nle);
        }
        if (e instanceof LeaderNotReadyException || e instanceof LeaderSteppingDownException
                || e instanceof TransferLeadershipException) {
            return new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, "the leader of " + tp + " is changing: " + e.getMessage());
        }
        if (e instanceof ServerNotReadyException || e instanceof AlreadyClosedException) {
            return new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, "the replica of " + tp + " on node " + nodeId
                    + " is starting or stopping: " + e.getMessage());
        }
        if (e instanceof ResourceUnavailableException) {
            return new BusyException("Raft queue of " + tp + " is full: " + e.getMessage());
        }
        if (e instanceof GroupMismatchException) {
            return new UnknownTopicOrPartitionException("partition " + tp + " is not hosted on node " + nodeId);
        }
        if (e instanceof TimeoutException || e instanceof TimeoutIOException) {
            return new RafkaException(ErrorCode.REQUEST_TIMED_OUT, "append to " + tp + " not committed within "
                    + requestTimeoutMs + " ms; it may still commit");
        }
        LOG.error("append to {} on node {} failed unexpectedly", tp, nodeId, e);
        return new RafkaException(ErrorCode.UNKNOWN_SERVER_ERROR, "append to " + tp + " failed: " + e, e);
    }

    /** Ratis's "not leader", with the leader it suggests if it knows one. */
    public NotLeaderException notLeader(TopicPartition tp, org.apache.ratis.protocol.exceptions.NotLeaderException nle) {
        RaftPeer suggested = nle.getSuggestedLeader();
        return new NotLeaderException("node " + nodeId + " does not lead " + tp,
                suggested == null ? null : suggested.getId().toString());
    }
}
