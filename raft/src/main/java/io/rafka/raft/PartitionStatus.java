package io.rafka.raft;

import java.util.Optional;

/**
 * A replica's view of its partition.
 *
 * @param leaderId       the current leader's node id, if known
 * @param isLeader       whether this replica leads and may serve produce and fetch
 * @param term           the Raft term this replica knows (the leader epoch)
 * @param highWatermark  end of the committed and applied data: consumers may read below it
 * @param logEndOffset   end of this replica's log: past the high watermark by what it holds but has not applied as
 *                       committed yet (a follower that received entries it has not heard are committed)
 * @param logStartOffset first offset still stored
 * @param appliedIndex   last Raft index applied
 * @param repairing      the replica's log lacks committed records (lost from disk) and it is copying them from
 *                       another replica; it cannot serve meanwhile
 * @param copy           where a copy of another replica's log stands (catch-up of a replica that was far
 *                       behind, wiped or damaged), if one runs
 * @param hibernated     the partition's Raft group is closed here until the next write: the figures are the
 *                       frozen ones every replica closed at, {@code leaderId} the replica clients should use (any
 *                       replica serves reads below the high watermark and wakes the group on a write)
 */
public record PartitionStatus(Optional<String> leaderId, boolean isLeader, long term, long highWatermark,
                              long logEndOffset, long logStartOffset, long appliedIndex, boolean repairing, Optional<CopyProgress> copy,
                              boolean hibernated) {

    /** The status of an open replica. */
    public PartitionStatus(Optional<String> leaderId, boolean isLeader, long term, long highWatermark, long logEndOffset,
                           long logStartOffset, long appliedIndex, boolean repairing, Optional<CopyProgress> copy) {
        this(leaderId, isLeader, term, highWatermark, logEndOffset, logStartOffset, appliedIndex, repairing, copy, false);
    }

    /** A running copy: the local log ends at {@code copiedTo}, the copy goes up to {@code target}. */
    public record CopyProgress(long copiedTo, long target) {
        public long remainingOffsets() {
            return Math.max(0, target - copiedTo);
        }
    }
}
