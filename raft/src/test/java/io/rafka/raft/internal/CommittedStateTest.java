package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.common.StorageException;
import io.rafka.raft.internal.PartitionMessages.AppendReply;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMessages.DataEntry;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;
import org.apache.ratis.server.protocol.TermIndex;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;

import static io.rafka.raft.internal.PartitionFixture.MAX;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CommittedStateTest {
    @TempDir
    Path dir;

    private static PendingAppend records(int count) {
        return PendingAppend.copyOf(5_000, TestBatches.batch(CompressionType.NONE, "v", count), MAX, MAX);
    }

    @Test
    void applyMovesTheHighWatermarkAndRatisAppliedIndexTogether() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            DataEntry h = f.appendAsLeader(records(3), 2);
            AppendReply reply = f.committed.apply(2, 1, h);
            assertEquals(new AppendReply(ErrorCode.NONE, 0, 2, -1), reply);
            assertEquals(new AppliedState(2, 1, 0, 3), f.committed.applied());
            assertEquals(TermIndex.valueOf(2, 1), f.appliedIndex.value);
            // A configuration entry moves the index, not the high watermark.
            f.committed.indexUpdated(2, 2);
            assertEquals(new AppliedState(2, 2, 0, 3), f.committed.applied());
            assertEquals(ErrorCode.INVALID_REQUEST, f.committed.apply(2, 3, (DataEntry) null).error());
            assertEquals(3, f.committed.applied().logEndOffset());
        }
    }

    @Test
    void aCommittedEntryWhoseRecordsAreMissingStopsTheReplica() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            DataEntry h = f.appendAsLeader(records(3), 1);
            f.log.truncateTo(1);  // as if a crash lost unsynced pages
            assertThrows(StorageException.class, () -> f.committed.apply(1, 1, h));
            assertEquals(0, f.committed.applied().logEndOffset());
        }
    }

    @Test
    void aSnapshotCapturesTheHighWatermarkAndLoadsBack() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            assertNull(f.committed.snapshotView(), "nothing applied yet");
            f.committed.apply(1, 1, f.appendAsLeader(records(2), 1));
            f.appendAsLeader(records(2), 1);  // uncommitted: not in the snapshot
            CommittedState.View view = f.committed.snapshotView();
            assertNotNull(view);
            assertEquals(TermIndex.valueOf(1, 1), view.termIndex());
            assertEquals(2, view.snapshot().logEndOffset());
            CommittedState reloaded = new CommittedState(PartitionFixture.TP, f.log, 100, new PartitionFixture.AppliedIndexHolder().view());
            reloaded.load(view.snapshot(), view.termIndex());
            assertEquals(new AppliedState(1, 1, 0, 2), reloaded.applied());
            PartitionSnapshot tooLong = new PartitionSnapshot(99, 0, ByteBuffer.allocate(4));
            assertThrows(IllegalStateException.class, () -> reloaded.load(tooLong, TermIndex.valueOf(1, 5)));
        }
    }

    @Test
    void afterACopyEntriesUpToTheCopiedIndexAreSkippedAndNoSnapshotIsTakenMeanwhile() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            f.committed.beginCopy();
            f.log.appendReplicated(stampedAt(0, 4));
            assertNull(f.committed.snapshotView(), "no snapshot of a half-copied log");
            AppliedState target = new AppliedState(3, 10, 0, 4);
            f.committed.finishCopy(target, new ProducerStateManager(10).serialize());
            assertEquals(new AppliedState(3, 10, 0, 4), f.committed.applied());
            DataEntry old = new DataEntry(PartitionMessages.APPENDED, 0, 0, 1, -1, 10, -1, (short) -1, -1, -1);
            assertEquals(ErrorCode.NOT_LEADER, f.committed.apply(3, 7, old).error(), "contained in the copy");
            assertEquals(4, f.committed.applied().logEndOffset());
        }
    }

    @Test
    void aFailedCopyGoesBackToTheAppliedStateAndAClosingReplicaStopsWaiting() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            f.committed.apply(1, 1, f.appendAsLeader(records(2), 1));
            f.committed.beginCopy();
            f.log.appendReplicated(stampedAt(2, 3));
            f.committed.undoCopy(new java.io.IOException("leader gone"));
            assertEquals(2, f.log.logEndOffset(), "the half copy is cut");
            f.committed.indexUpdated(1, 2);  // does not block: the copy is over
            f.committed.beginCopy();
            f.committed.close();
            assertThrows(IllegalStateException.class, () -> f.committed.indexUpdated(1, 3));
        }
    }

    /** {@code count} records already stamped at {@code baseOffset}, as a copy from the leader brings them. */
    private static ByteBuffer stampedAt(long baseOffset, int count) {
        ByteBuffer b = TestBatches.batch(CompressionType.NONE, "c", count);
        new io.rafka.record.RecordBatch(b).setBaseOffset(baseOffset);
        return b;
    }
}
