package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.raft.internal.PartitionMessages.AppendReply;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMessages.DataEntry;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;
import org.apache.ratis.server.protocol.TermIndex;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.rafka.record.RecordBatch;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.nio.file.Path;

import static io.rafka.raft.internal.PartitionFixture.MAX;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

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
    void aCommittedEntryWhoseRecordsAreMissingWaitsForACopyInsteadOfServingAGap() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            List<Long> told = new CopyOnWriteArrayList<>();
            f.committed.onDamage(told::add);
            DataEntry h = f.appendAsLeader(records(3), 1);
            f.log.truncateTo(1);  // as if a crash lost unsynced pages
            CompletableFuture<AppendReply> applying = CompletableFuture.supplyAsync(() -> f.committed.apply(1, 1, h));
            Thread.sleep(300);
            assertFalse(applying.isDone(), "apply waits: the high watermark never passes missing records");
            assertEquals(0, f.committed.applied().logEndOffset());
            assertEquals(1, f.committed.damagedAt());
            assertEquals(List.of(1L), told, "the repair was asked for once");
            assertNull(f.committed.snapshotView(), "no snapshot of a damaged replica");

            // A copy that reaches the entry lets apply go on; the entry counts as covered by it.
            f.committed.beginCopy();
            f.log.truncateTo(0);
            f.log.appendReplicated(ByteBuffer.wrap(copied(3)));
            f.committed.finishCopy(new AppliedState(1, 1, 0, 3), new ProducerStateManager(10).serialize());
            assertEquals(ErrorCode.NOT_LEADER, applying.get(5, TimeUnit.SECONDS).error(), "covered by the copy");
            assertEquals(-1, f.committed.damagedAt());
            assertEquals(3, f.committed.applied().logEndOffset());
        }
    }

    /**
     * Ratis closes a division by letting its apply thread run to the commit index before it closes the state machine,
     * with no time limit: an apply waiting for a copy must give up once the division closes, or the close (and
     * whoever asked for it: a node's stop, the heal loop) waits as long as the copy, for ever if none can succeed.
     * It gives up without applying: the high watermark stays, no snapshot is offered, and the next opening applies the
     * entry again from the Raft log.
     */
    @Test
    void anApplyWaitingForACopyGivesUpWithoutApplyingOnceTheDivisionCloses() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
            f.committed.closingWhen(closing::get);
            DataEntry h = f.appendAsLeader(records(3), 1);
            f.log.truncateTo(1);
            CompletableFuture<AppendReply> applying = CompletableFuture.supplyAsync(() -> f.committed.apply(1, 1, h));
            Thread.sleep(300);
            assertFalse(applying.isDone(), "apply waits for the copy");

            closing.set(true);
            assertEquals(ErrorCode.NOT_LEADER, applying.get(5, TimeUnit.SECONDS).error(), "gave up: the writer looks again");
            assertEquals(new AppliedState(0, -1, 0, 0), f.committed.applied(), "nothing applied");
            assertNull(f.appliedIndex.value, "Ratis's applied index of the machine did not move");
            assertNull(f.committed.snapshotView(), "no snapshot past the missing records");
            f.committed.indexUpdated(1, 2);  // a configuration entry after it gives up at once too
            assertEquals(-1, f.committed.applied().index());
        }
    }

    @Test
    void aSnapshotPastTheEndOfTheLogMarksTheReplicaDamaged() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            List<Long> told = new CopyOnWriteArrayList<>();
            f.committed.onDamage(told::add);
            f.appendAsLeader(records(3), 1);
            f.committed.load(new PartitionSnapshot(10, 0, new ProducerStateManager(10).serialize()), TermIndex.valueOf(1, 5));
            assertEquals(5, f.committed.damagedAt());
            assertEquals(List.of(5L), told);
            assertEquals(10, f.committed.applied().logEndOffset(), "the snapshot's position, never served from here");
            assertNull(f.committed.snapshotView());
        }
    }

    /** The batches another replica would send for offsets 0..count-1 of {@link #records}. */
    private static byte[] copied(int count) {
        PendingAppend p = records(count);
        new RecordBatch(ByteBuffer.wrap(p.data)).setBaseOffset(0);
        return p.data;
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
            assertEquals(-1, reloaded.damagedAt(), "a snapshot the log covers is no damage");
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
            f.committed.indexUpdated(1, 3);  // gives up at once, applying nothing (it would throw or wait before)
            assertEquals(2, f.committed.applied().index());
        }
    }

    /** {@code count} records already stamped at {@code baseOffset}, as a copy from the leader brings them. */
    private static ByteBuffer stampedAt(long baseOffset, int count) {
        ByteBuffer b = TestBatches.batch(CompressionType.NONE, "c", count);
        new io.rafka.record.RecordBatch(b).setBaseOffset(baseOffset);
        return b;
    }
}
