package io.rafka.raft.internal;

import io.rafka.common.BusyException;
import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.log.LogConfig;
import io.rafka.raft.Acks;
import io.rafka.raft.AppendCounts;
import io.rafka.raft.AppendResult;
import io.rafka.raft.RaftNodeConfig;
import io.rafka.raft.internal.PartitionMessages.AppendReply;
import io.rafka.record.TimestampType;
import org.apache.ratis.protocol.RaftClientAsynchronousProtocol;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Submits appends to the local division of a partition, in-process (no loopback Raft client), and turns the
 * outcome into an {@link AppendResult} or a typed {@link RafkaException}. Bounds the bytes each partition has
 * awaiting commit and answers BUSY above the bound.
 *
 * <p>The batches are checked and copied once, before {@link #append} returns ({@link PendingAppend}); the
 * caller may reuse its buffer at once. {@link #append} never waits for Ratis: a partition's appends are handed
 * over in call order on a pool, several as one Raft entry while earlier entries await commit
 * ({@link AppendQueue}: group commit), and each is answered (at worst REQUEST_TIMED_OUT) within the request
 * timeout counted from the call, so a produce stream answering in order cannot go silent behind one. Thread-safe.
 */
public final class PartitionAppender {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionAppender.class);

    private final LocalServer local;
    private final RaftErrors errors;
    private final Time time;
    private final long maxInFlightBytes;
    private final long requestTimeoutMs;
    private final int maxDecompressedBytes;
    private final FollowerLiveness liveness;
    private final Executor submitExecutor;
    private final int maxEntriesInFlight;
    private final int maxEntryBytes;
    private final LongAdder appendsSent = new LongAdder();
    private final LongAdder entriesSent = new LongAdder();

    public PartitionAppender(LocalServer local, RaftErrors errors, Time time, RaftNodeConfig config, FollowerLiveness liveness,
                             Executor submitExecutor) {
        this.local = local;
        this.liveness = liveness;
        this.maxInFlightBytes = config.maxInFlightBytesPerPartition();
        this.requestTimeoutMs = config.requestTimeoutMs();
        this.maxDecompressedBytes = config.maxDecompressedBytes();
        this.errors = errors;
        this.time = time;
        this.submitExecutor = submitExecutor;
        this.maxEntriesInFlight = config.maxEntriesInFlightPerPartition();
        this.maxEntryBytes = PartitionStateMachine.maxEntryBytes(config);
    }

    /**
     * Appends {@code batches}, in {@code requiredTerm} only (-1: any): if the leader's term is another one when the
     * entry gets its place, the append fails with NOT_LEADER and writes nothing.
     */
    public CompletableFuture<AppendResult> append(ReplicaRegistry.Replica replica, ByteBuffer batches, Acks acks,
                                                  long requiredTerm) {
        TopicPartition tp = replica.topicPartition();
        int size = batches.remaining();
        BusyException busy = reserve(replica, size);
        if (busy != null) {
            return CompletableFuture.failedFuture(busy);
        }
        PendingAppend pending;
        try {
            requireLiveMajority(replica);
            pending = checkedCopy(replica, batches, requiredTerm);
        } catch (IOException | RuntimeException e) {
            replica.inFlightBytes.addAndGet(-size);
            return CompletableFuture.failedFuture(errors.forAppend(tp, e));
        } catch (Error e) {
            replica.inFlightBytes.addAndGet(-size);   // kept, the partition would answer BUSY for good
            throw e;
        }
        // The timeout runs from here, not from when Ratis takes the entry: the append may wait in the queue.
        CompletableFuture<AppendReply> reply = new CompletableFuture<AppendReply>()
                .orTimeout(requestTimeoutMs, TimeUnit.MILLISECONDS);
        replica.appends.add(new AppendQueue.Waiting(pending, reply), new Sender(replica));
        CompletableFuture<AppendResult> result = reply
                .handle((r, error) -> {
                    replica.inFlightBytes.addAndGet(-size);
                    if (error != null) {
                        throw new CompletionException(errors.forAppend(tp, error));
                    }
                    return toResult(tp, r);
                });
        if (acks == Acks.NONE) {
            result.whenComplete((r, e) -> {
                if (e != null) {
                    LOG.debug("acks=0 append to {} failed: {}", tp, e.toString());
                }
            });
            return CompletableFuture.completedFuture(AppendResult.UNKNOWN);
        }
        return result;
    }

    /**
     * Refuses a write this leader cannot commit now, before it enters the Raft log, so the refusal means
     * "not written" (a write appended and then not committed in time may still commit later, when followers
     * come back). Replicas that do not lead are left to Ratis, which answers "not leader".
     */
    private void requireLiveMajority(ReplicaRegistry.Replica replica) throws IOException {
        RaftServer.Division division = local.division(replica.groupId());
        if (division.getInfo().isLeader() && !liveness.hasLiveMajority(division)) {
            throw new RafkaException(ErrorCode.NOT_ENOUGH_REPLICAS, "the leader of " + replica.topicPartition()
                    + " has no live majority (live followers: " + liveness.liveFollowers(division) + " of group "
                    + division.getGroup().getPeers().size() + "); the write was not made");
        }
    }

    /** Appends and Raft entries handed to Ratis so far. */
    public AppendCounts counts() {
        return new AppendCounts(appendsSent.sum(), entriesSent.sum());
    }

    /** Hands one partition's entries to its local Raft division. */
    private final class Sender implements AppendQueue.Sender {
        private final ReplicaRegistry.Replica replica;

        Sender(ReplicaRegistry.Replica replica) {
            this.replica = replica;
        }

        @Override
        public Executor executor() {
            return submitExecutor;
        }

        @Override
        public int maxEntriesInFlight() {
            return maxEntriesInFlight;
        }

        @Override
        public int maxEntryBytes() {
            return maxEntryBytes;
        }

        /**
         * Ratis takes the request on this thread ({@link #submit}), behind the division's lock and its log's
         * lock, which a role change or a stuck log worker can hold for long. Hence this runs on
         * {@code submitExecutor}, never on the caller's thread.
         */
        @Override
        public CompletableFuture<List<AppendReply>> send(PendingEntry entry) {
            TopicPartition tp = replica.topicPartition();
            appendsSent.add(entry.parts.size());
            entriesSent.increment();
            CompletableFuture<List<AppendReply>> replies = new CompletableFuture<List<AppendReply>>()
                    .orTimeout(requestTimeoutMs, TimeUnit.MILLISECONDS);
            RaftClientRequest request = RaftClientRequest.newBuilder()
                    .setClientId(local.clientId())
                    .setServerId(local.server().getId())
                    .setGroupId(replica.groupId())
                    .setCallId(local.nextCallId())
                    .setMessage(entry.toMessage())
                    .setType(RaftClientRequest.writeRequestType())
                    .build();
            try {
                submit(request).whenComplete((r, e) -> {
                    if (e != null) {
                        replies.completeExceptionally(e);
                    } else if (r.isSuccess()) {
                        replies.complete(AppendReply.decodeAll(r.getMessage().getContent().asReadOnlyByteBuffer()));
                    } else if (r.getNotLeaderException() != null) {
                        replies.completeExceptionally(errors.notLeader(tp, r.getNotLeaderException()));
                    } else {
                        replies.completeExceptionally(r.getException());
                    }
                });
            } catch (IOException | RuntimeException e) {
                replies.completeExceptionally(e);
            }
            return replies;
        }
    }

    /**
     * Hands the request straight to the partition's division. Through the server ({@code RaftServer}'s
     * {@code submitClientRequestAsync}) Ratis would run it on one of the division's client threads while this
     * thread waits for it: two wake-ups per Raft entry for nothing, since this thread is already one that may
     * block. A division is Ratis's client protocol too; should one not be, the server's way is taken.
     */
    private CompletableFuture<RaftClientReply> submit(RaftClientRequest request) throws IOException {
        RaftServer.Division division = local.division(request.getRaftGroupId());
        if (division instanceof RaftClientAsynchronousProtocol protocol) {
            return protocol.submitClientRequestAsync(request);
        }
        return local.server().submitClientRequestAsync(request);
    }

    /**
     * Counts {@code size} more bytes against the partition's limit of bytes awaiting commit (partition.max.in.flight.bytes;
     * an append alone may exceed it); null if they fit, else the error to answer, nothing counted. Appends that
     * wait for their partition to wake are counted too, until they are handed to {@link #append}.
     */
    public BusyException reserve(ReplicaRegistry.Replica replica, int size) {
        long inFlight = replica.inFlightBytes.addAndGet(size);
        if (inFlight > maxInFlightBytes && inFlight > size) {
            replica.inFlightBytes.addAndGet(-size);
            return new BusyException("partition " + replica.topicPartition() + " has " + (inFlight - size)
                    + " bytes awaiting commit (limit " + maxInFlightBytes + ")");
        }
        return null;
    }

    /**
     * Checks, as an append to an open replica is checked, batches that will wait for {@code replica} to wake up:
     * an acks=0 write is answered before that, so its errors must be found now. {@code batches} must be the caller's
     * private copy (a batch flagged LogAppendTime is rewritten in place). {@code config} is the topic's log settings.
     */
    public void checkBeforeWake(ByteBuffer batches, LogConfig config) {
        PendingAppend.copyOf(time.milliseconds(), batches, config.maxMessageBytes(), maxDecompressedBytes,
                maxAheadMs(config), -1);
    }

    /** How far ahead of the leader's clock a record may be dated: unbounded where the leader stamps its own time. */
    private static long maxAheadMs(LogConfig config) {
        return config.messageTimestampType() == TimestampType.LOG_APPEND_TIME ? Long.MAX_VALUE
                : config.messageTimestampAfterMaxMs();
    }

    private PendingAppend checkedCopy(ReplicaRegistry.Replica replica, ByteBuffer batches, long requiredTerm) {
        PartitionStateMachine sm = replica.runningStateMachine();
        if (sm == null) {
            throw new RafkaException(ErrorCode.LEADER_NOT_AVAILABLE, "the replica of " + replica.topicPartition()
                    + " is still starting");
        }
        LogConfig config = sm.log().config();
        return PendingAppend.copyOf(time.milliseconds(), batches, config.maxMessageBytes(), maxDecompressedBytes,
                maxAheadMs(config), requiredTerm);
    }

    private static AppendResult toResult(TopicPartition tp, AppendReply r) {
        if (r.error() != ErrorCode.NONE) {
            throw new CompletionException(new RafkaException(r.error(), "append to " + tp + " rejected: " + r.error()));
        }
        return new AppendResult(r.baseOffset(), r.lastOffset(), r.logAppendTimeMs());
    }
}
