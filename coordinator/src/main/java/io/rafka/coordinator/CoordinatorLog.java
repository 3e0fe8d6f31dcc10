package io.rafka.coordinator;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * The coordinator partitions as the coordinator uses them; the broker implements it over its partition replicas
 * (each partition of {@code __consumer_offsets} is a Raft group). Only the partition's leader appends.
 */
public interface CoordinatorLog {
    /**
     * Appends record batches to a coordinator partition, in Raft term {@code term} only; completes once they are
     * committed (on a majority, applied) or fails (not the leader any more, or the leader's term is not
     * {@code term}: nothing written; timed out: the write may still commit).
     */
    CompletableFuture<?> append(int partition, long term, ByteBuffer batches);

    /**
     * Committed batches of a partition from {@code offset}, or from its log start when that is later (at least one
     * batch if any is there; none for {@code maxBytes} 0).
     */
    Chunk read(int partition, long offset, int maxBytes);

    /**
     * The Raft term in which this broker leads the partition now, or -1 when it does not lead it. Read before the
     * log, it is the term whose writes may build on what was read: a leader that lost the partition and got it back
     * since (another leader wrote in between) is in a later term.
     */
    long leaderTerm(int partition);

    /** Read batches and where the partition's log starts and ends. */
    record Chunk(ByteBuffer batches, long logStartOffset, long logEndOffset) {
    }
}
