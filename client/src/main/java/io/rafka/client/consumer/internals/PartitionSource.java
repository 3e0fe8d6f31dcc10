package io.rafka.client.consumer.internals;

import io.rafka.client.internals.Fetched;
import io.rafka.client.internals.FetchPositions;
import io.rafka.client.group.OffsetStore;
import io.rafka.common.TopicPartition;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where a consumer's partitions come from: a group membership ({@link GroupSource}) or a manual assignment
 * ({@link ManualAssignment}). The consumer drives either the same way. Poll-thread only, except
 * {@link #commit}, which runs on the consumer's commit thread ({@link AsyncCommits}).
 */
public interface PartitionSource {

    List<Fetched> poll(int waitMs, int maxRecords);

    Set<TopicPartition> assignment();

    /** Positions, seeks and pauses of the assigned partitions (their starts decided first, which may ask a broker). */
    FetchPositions positions();

    /** {@link #positions()} as they are now, without deciding any start (never asks a broker). */
    default FetchPositions positionsNow() {
        return positions();
    }

    /** A seek of an assigned partition; @throws IllegalStateException when it is not assigned */
    void seek(TopicPartition tp, long start);

    /** The positions a commit of "everything returned so far" stores. */
    Map<TopicPartition, Long> positionsToCommit();

    /** Whether commits have a group to go to. */
    boolean hasGroup();

    /**
     * What the source owns now, as a mark a commit made now carries until it is sent ({@link #commit}); 0 where
     * ownership does not change under the caller (a manual assignment).
     */
    long ownershipMark();

    /**
     * Commits the offsets, each with its metadata string (absent: empty). {@code madeAt}: per partition, the
     * {@link #ownershipMark()} when the offset was committed; a group member refuses (PARTITION_NOT_OWNED)
     * partitions it lost and took again since.
     */
    void commit(Map<TopicPartition, Long> offsets, Map<TopicPartition, String> metadata, Map<TopicPartition, Long> madeAt);

    /** The group's committed offsets with their metadata; offset -1 where none. */
    Map<TopicPartition, OffsetStore.Committed> committed(Set<TopicPartition> partitions);

    /** Ends it within about {@code timeoutMs}: a group member commits first if asked, then leaves. */
    void close(boolean commitFirst, long timeoutMs);
}
