package io.rafka.raft.internal;

import io.rafka.common.OffsetOutOfRangeException;
import io.rafka.log.PartitionLog;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMessages.FetchQuery;
import io.rafka.raft.internal.PartitionMessages.Query;
import io.rafka.raft.internal.PartitionMessages.StateQuery;

import java.nio.ByteBuffer;

/**
 * The leader's side of log catch-up: answers the read-only queries of {@link PartitionMessages} from the
 * committed part of the partition log. Never serves bytes past the high watermark. Thread-safe.
 */
final class PartitionQueries {
    /** Largest chunk a catching-up replica asks for in one query, and the most one answer carries. */
    static final int CATCH_UP_CHUNK_BYTES = 4 * 1024 * 1024;

    private final PartitionLog log;
    private final CommittedState committed;

    PartitionQueries(PartitionLog log, CommittedState committed) {
        this.log = log;
        this.committed = committed;
    }

    /** The answer to an encoded query; throws {@code InvalidRecordException} for one it does not know. */
    ByteBuffer answer(ByteBuffer query) {
        Query q = Query.decode(query);
        if (q instanceof FetchQuery f) {
            return fetch(f);
        }
        if (q instanceof StateQuery) {
            return committed.encodeState();
        }
        throw new IllegalStateException("unhandled query " + q);
    }

    private ByteBuffer fetch(FetchQuery f) {
        AppliedState state = committed.applied();
        long end = Math.min(f.upToOffset(), state.logEndOffset());
        ByteBuffer data;
        try {
            data = f.offset() >= end ? ByteBuffer.allocate(0)
                    : log.read(f.offset(), Math.min(f.maxBytes(), CATCH_UP_CHUNK_BYTES), end).records();
        } catch (OffsetOutOfRangeException e) {
            data = ByteBuffer.allocate(0);
        }
        return new AppliedState(state.term(), state.index(), log.logStartOffset(), state.logEndOffset()).encodeWith(data);
    }
}
