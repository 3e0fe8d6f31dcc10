package io.rafka.coordinator;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * The coordinator partitions as the coordinator uses them; the broker implements it over its partition replicas
 * (each partition of {@code __consumer_offsets} is a Raft group). Only the partition's leader appends.
 */
public interface CoordinatorLog {
    /**
     * Appends record batches to a coordinator partition; completes once they are committed (on a majority, applied)
     * or fails (not the leader any more, timed out: the write may still commit).
     */
    CompletableFuture<?> append(int partition, ByteBuffer batches);

    /**
     * Committed batches of a partition from {@code offset}, or from its log start when that is later (at least one
     * batch if any is there; none for {@code maxBytes} 0).
     */
    Chunk read(int partition, long offset, int maxBytes);

    /** Whether this broker leads the partition now. */
    boolean isLeader(int partition);

    /** Read batches and where the partition's log starts and ends. */
    record Chunk(ByteBuffer batches, long logStartOffset, long logEndOffset) {
    }
}
