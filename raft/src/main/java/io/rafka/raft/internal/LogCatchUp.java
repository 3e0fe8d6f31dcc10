package io.rafka.raft.internal;

import io.rafka.common.StorageException;
import io.rafka.common.TopicPartition;
import io.rafka.log.PartitionLog;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMessages.FetchQuery;
import io.rafka.raft.internal.PartitionMessages.StateQuery;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The follower's side of log catch-up: copies the leader's committed batches into the local log through
 * read-only queries ({@link PartitionQueries} answers them), in bounded chunks, until the local log ends
 * where the leader's applied position does, then adopts that position as a local snapshot. Used instead of
 * Ratis's install-snapshot when the leader has purged entries this replica needs. Copied batches keep their
 * offsets, epochs and timestamps.
 *
 * <p>One copy at a time (Ratis asks for one install at a time); apply waits meanwhile
 * ({@link CommittedState#beginCopy}), and a failed copy puts the log back to the applied state.
 */
final class LogCatchUp {
    private static final Logger LOG = LoggerFactory.getLogger(LogCatchUp.class);
    private static final AtomicLong COMPLETED = new AtomicLong();

    /** How a copy reaches the leader: sends one encoded query, returns the answer. */
    interface Leader {
        ByteBuffer query(ByteBuffer query) throws IOException;
    }

    /** Where the copied state is recorded, so a restart starts from it. */
    interface SnapshotWriter {
        void write(TermIndex ti, PartitionSnapshot snapshot) throws IOException;
    }

    /** Where a copy ended: the leader's applied position and its producer state there. */
    record Result(AppliedState target, ByteBuffer producerState) {
    }

    private final TopicPartition topicPartition;
    private final PartitionLog log;
    private final CommittedState committed;
    private final DataLog dataLog;
    private final Object copyLock = new Object();
    private final SnapshotWriter snapshots;

    LogCatchUp(TopicPartition topicPartition, PartitionLog log, CommittedState committed, DataLog dataLog,
               SnapshotWriter snapshots) {
        this.topicPartition = topicPartition;
        this.log = log;
        this.committed = committed;
        this.dataLog = dataLog;
        this.snapshots = snapshots;
    }

    /** How many copies completed in this JVM (a metric, and a probe for tests). */
    static long completed() {
        return COMPLETED.get();
    }

    /** A leader reached through a Raft client's read-only queries. */
    static Leader over(RaftClient client) {
        return query -> {
            RaftClientReply reply = client.io().sendReadOnly(Message.valueOf(UnsafeByteOperations.unsafeWrap(query)));
            if (!reply.isSuccess()) {
                throw new IOException("query failed: " + reply.getException());
            }
            return reply.getMessage().getContent().asReadOnlyByteBuffer();
        };
    }

    /**
     * Any replica of the group, reached through a client's stale reads (answered from that replica's applied
     * state, whatever its role): how a replica that lost records copies them, even while it leads itself.
     */
    static Leader fromPeer(RaftClient client, RaftPeerId peer) {
        return query -> {
            RaftClientReply reply = client.io().sendStaleRead(Message.valueOf(UnsafeByteOperations.unsafeWrap(query)), 0, peer);
            if (!reply.isSuccess()) {
                throw new IOException("query to " + peer + " failed: " + reply.getException());
            }
            return reply.getMessage().getContent().asReadOnlyByteBuffer();
        };
    }

    /** Opens a client to the leader for one copy. */
    interface ClientSource {
        RaftClient open() throws IOException;
    }

    /** {@link #install} on {@code executor}, through a client of its own that is closed afterwards. */
    CompletableFuture<TermIndex> installAsync(RaftPeerId leader, ClientSource clients, Executor executor) {
        return CompletableFuture.supplyAsync(() -> {
            try (RaftClient client = clients.open()) {
                return install(over(client));
            } catch (IOException e) {
                throw new StorageException(topicPartition + ": catch-up from " + leader + " failed: " + e.getMessage(), e);
            }
        }, executor);
    }

    /**
     * Replaces this replica's state with the leader's: copies its log, records the copied position as a
     * snapshot and returns it. On failure, puts the log back and throws STORAGE_ERROR.
     */
    TermIndex install(Leader leader) {
        return install(leader, -1, true);
    }

    /**
     * Copies the records a damaged replica lost ({@link ReplicaRepair}) from a source whose applied position
     * reaches Raft index {@code minIndex}; fails at once (STORAGE_ERROR, the log untouched) if it does not. No
     * snapshot is recorded: Ratis's log is not reset to it (as it is after an install it asked for), so it keeps
     * receiving the entries the copy covered, and apply and write skip them.
     */
    TermIndex repair(Leader source, long minIndex) {
        return install(source, minIndex, false);
    }

    private TermIndex install(Leader leader, long minIndex, boolean recordSnapshot) {
        // One copy at a time, from beginCopy to afterCopy or copyEnded: a repair started the moment another copy's
        // finishCopy let apply go on (apply or a gap check finding records still missing) would otherwise have its
        // copyRunning cleared by that copy's afterCopy, and Ratis's writes would land among the batches it copies.
        synchronized (copyLock) {
            return installAlone(leader, minIndex, recordSnapshot);
        }
    }

    private TermIndex installAlone(Leader leader, long minIndex, boolean recordSnapshot) {
        try {
            committed.beginCopy();
            dataLog.beforeCopy();
            if (minIndex >= 0) {
                AppliedState state = AppliedState.decodeHeader(leader.query(new StateQuery().encode()));
                if (state.index() < minIndex) {
                    throw new IOException("the source has applied Raft index " + state.index() + "; index " + minIndex + " is needed");
                }
            }
            Result copied = copy(leader);
            AppliedState target = copied.target();
            TermIndex ti = TermIndex.valueOf(target.term(), target.index());
            if (recordSnapshot) {
                snapshots.write(ti, new PartitionSnapshot(target.logEndOffset(), log.logStartOffset(), copied.producerState()));
            }
            // Adopted first, so that entries Ratis hands over once writes go on again are skipped up to it.
            committed.finishCopy(target, copied.producerState());
            dataLog.afterCopy();
            COMPLETED.incrementAndGet();
            LOG.info("{}: copied the log of another replica to offset {} (its applied entry {})", topicPartition,
                    target.logEndOffset(), ti);
            return ti;
        } catch (IOException | RuntimeException e) {
            StorageException failed = new StorageException(topicPartition + ": catch-up failed: " + e.getMessage(), e);
            try {
                committed.undoCopy(e);
            } catch (RuntimeException undo) {
                // The log could not be put back (its truncation failed: a full or failing disk): apply keeps waiting
                // for the next copy, but Ratis's entries must not be refused as "being copied" for good.
                failed.addSuppressed(undo);
                LOG.warn("{}: putting the log back after a failed copy failed too: {}", topicPartition, undo.toString());
            } finally {
                dataLog.copyEnded();
            }
            throw failed;
        }
    }

    /** Copies until the local log matches the leader's applied position; again if the leader's log start overtook the copy. */
    Result copy(Leader leader) throws IOException {
        while (true) {
            ByteBuffer stateReply = leader.query(new StateQuery().encode());
            AppliedState target = AppliedState.decodeHeader(stateReply);
            ByteBuffer producerState = stateReply.slice();
            committed.copyTarget(target.logEndOffset());
            if (copyUpTo(leader, target)) {
                return new Result(target, producerState);
            }
        }
    }

    /** Copies batches until the local log ends where {@code target} does; false if the leader moved its log start past us. */
    private boolean copyUpTo(Leader leader, AppliedState target) throws IOException {
        if (log.logEndOffset() > target.logEndOffset()) {
            log.truncateTo(target.logEndOffset());
        }
        if (log.logEndOffset() < target.logStartOffset()) {
            log.truncateFullyAndStartAt(target.logStartOffset());
        }
        while (log.logEndOffset() < target.logEndOffset()) {
            FetchQuery fetch = new FetchQuery(log.logEndOffset(), PartitionQueries.CATCH_UP_CHUNK_BYTES, target.logEndOffset());
            ByteBuffer reply = leader.query(fetch.encode());
            AppliedState now = AppliedState.decodeHeader(reply);
            if (!reply.hasRemaining()) {
                if (now.logStartOffset() > log.logEndOffset()) {
                    log.truncateFullyAndStartAt(now.logStartOffset());
                    return false;
                }
                throw new IOException("leader returned no data at offset " + log.logEndOffset());
            }
            log.appendReplicated(reply.slice());
        }
        return true;
    }
}
