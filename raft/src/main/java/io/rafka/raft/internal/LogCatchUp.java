package io.rafka.raft.internal;

import io.rafka.log.PartitionLog;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMessages.FetchQuery;
import io.rafka.raft.internal.PartitionMessages.StateQuery;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The follower's side of log catch-up: copies the leader's committed batches into the local log through
 * read-only queries ({@link PartitionQueries} answers them), in bounded chunks, until the local log ends
 * where the leader's applied position does. Used instead of Ratis's install-snapshot when the leader has
 * purged entries this replica needs. Copied batches keep their offsets, epochs and timestamps.
 *
 * <p>Not thread-safe: one copy at a time, while apply waits ({@link CommittedState#beginCopy}).
 */
final class LogCatchUp {
    /** How a copy reaches the leader: sends one encoded query, returns the answer. */
    interface Leader {
        ByteBuffer query(ByteBuffer query) throws IOException;
    }

    /** Where a copy ended: the leader's applied position and its producer state there. */
    record Result(AppliedState target, ByteBuffer producerState) {
    }

    private final PartitionLog log;

    LogCatchUp(PartitionLog log) {
        this.log = log;
    }

    /** Copies until the local log matches the leader's applied position at some moment; retries if the leader's log start overtook the copy. */
    Result copy(Leader leader) throws IOException {
        while (true) {
            ByteBuffer stateReply = leader.query(new StateQuery().encode());
            AppliedState target = AppliedState.decodeHeader(stateReply);
            ByteBuffer producerState = stateReply.slice();
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
            log.appendAsCopy(reply.slice());
        }
        return true;
    }
}
