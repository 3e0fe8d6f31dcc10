package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.common.StorageException;
import io.rafka.log.LogConfig;
import io.rafka.raft.internal.PartitionMessages.DataEntry;
import io.rafka.raft.internal.PartitionMessages.EntryHeader;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.record.RecordBatches;
import io.rafka.record.TimestampType;
import io.rafka.testing.TestBatches;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

import static io.rafka.raft.internal.PartitionFixture.MAX;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DataLogTest {
    @TempDir
    Path dir;

    private static PendingAppend records(int count) {
        return PendingAppend.copyOf(5_000, TestBatches.batch(CompressionType.NONE, "v", count, 10L), MAX, MAX);
    }

    private static PendingAppend producer(long pid, int seq, int count) {
        RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.NONE).producer(pid, (short) 0, seq);
        for (int i = 0; i < count; i++) {
            b.append(10L, null, new byte[] {(byte) i});
        }
        return PendingAppend.copyOf(5_000, b.build(), MAX, MAX);
    }

    @Test
    void theLeaderAssignsOffsetsAfterTheLastEntryAndStampsTheTermAsEpoch() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            DataEntry first = f.appendAsLeader(records(3), 4);
            DataEntry second = f.appendAsLeader(records(2), 4);
            assertEquals(0, first.baseOffset());
            assertEquals(2, first.lastOffset());
            assertEquals(3, second.baseOffset());
            assertEquals(4, second.lastOffset());
            assertEquals(5, f.log.logEndOffset(), "written before commit");
            assertEquals(0, f.committed.applied().logEndOffset(), "not committed yet");
            List<RecordBatch> stored = RecordBatches.split(f.log.read(0, MAX, 5).records());
            assertEquals(4, stored.get(1).partitionLeaderEpoch());
            assertEquals(3, stored.get(1).baseOffset());
            stored.forEach(RecordBatch::ensureValid);
        }
    }

    @Test
    void logAppendTimeTopicsGetTheLeadersAppendTime() throws Exception {
        LogConfig cfg = LogConfig.defaults().toBuilder().messageTimestampType(TimestampType.LOG_APPEND_TIME).build();
        try (PartitionFixture f = new PartitionFixture(dir, cfg)) {
            DataEntry h = f.appendAsLeader(records(2), 1);
            assertEquals(5_000, h.replyTimeMs());
            RecordBatch stored = RecordBatches.split(f.log.read(0, MAX, 2).records()).get(0);
            stored.ensureValid();
            assertEquals(5_000, stored.maxTimestamp());
        }
    }

    /** Appends enter the log in another order than they arrived in: a later one never gets an earlier append time. */
    @Test
    void logAppendTimeNeverGoesBackInLogOrder() throws Exception {
        LogConfig cfg = LogConfig.defaults().toBuilder().messageTimestampType(TimestampType.LOG_APPEND_TIME).build();
        try (PartitionFixture f = new PartitionFixture(dir, cfg)) {
            DataEntry first = f.appendAsLeader(PendingAppend.copyOf(5_000, TestBatches.sized(1, 10, 1L), MAX, MAX), 1);
            DataEntry second = f.appendAsLeader(PendingAppend.copyOf(4_000, TestBatches.sized(1, 10, 1L), MAX, MAX), 1);
            assertEquals(5_000, first.replyTimeMs());
            assertEquals(5_000, second.replyTimeMs(), "arrived earlier, placed later: stamped no earlier than the one before");
            List<RecordBatch> stored = RecordBatches.split(f.log.read(0, MAX, 2).records());
            assertEquals(List.of(5_000L, 5_000L), stored.stream().map(RecordBatch::maxTimestamp).toList());
        }
    }

    @Test
    void aProducerRetryBecomesADuplicateOfTheOriginalAndAGapIsRefused() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            f.appendAsLeader(records(1), 1);
            DataEntry original = f.appendAsLeader(producer(7, 0, 2), 1);
            DataEntry retry = f.appendAsLeader(producer(7, 0, 2), 1);
            assertFalse(retry.appended());
            assertEquals(original.baseOffset(), retry.baseOffset());
            assertEquals(original.lastOffset(), retry.lastOffset());
            assertEquals(3, f.log.logEndOffset(), "a duplicate stores nothing");
            // A gap is a verdict in the entry (Ratis would keep a refused entry's pending-request place), stored nothing.
            DataEntry gap = f.appendAsLeader(producer(7, 0, 5), 1);
            assertFalse(gap.appended());
            assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, gap.error());
            assertEquals(3, f.log.logEndOffset());
            assertEquals(List.of(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), f.commitUpTo(4).stream().map(r -> r.error()).toList());
            assertEquals(3, f.committed.applied().logEndOffset());
            DataEntry next = f.appendAsLeader(producer(7, 2, 1), 1);
            assertEquals(3, next.baseOffset(), "the producer goes on from its last accepted batch");
        }
    }

    /** An append bound to a term (the group coordinator's) is refused in any other, writing nothing. */
    @Test
    void anAppendBoundToAnotherTermIsRefusedAndStoresNothing() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            f.appendAsLeader(records(1), 3);
            DataEntry stale = f.appendAsLeader(PendingAppend.copyOf(5_000, TestBatches.sized(1, 10, 1L), MAX, MAX, 2), 3);
            assertFalse(stale.appended());
            assertEquals(ErrorCode.NOT_LEADER, stale.error());
            assertEquals(1, f.log.logEndOffset(), "nothing stored");
            DataEntry current = f.appendAsLeader(PendingAppend.copyOf(5_000, TestBatches.sized(1, 10, 1L), MAX, MAX, 3), 3);
            assertTrue(current.appended());
            assertEquals(1, current.baseOffset());
            assertEquals(List.of(ErrorCode.NOT_LEADER), f.commitUpTo(2).stream().map(r -> r.error()).toList());
            assertEquals(List.of(ErrorCode.NONE), f.commitUpTo(3).stream().map(r -> r.error()).toList());
            assertEquals(2, f.committed.applied().logEndOffset());
        }
    }

    @Test
    void aNewLeaderWaitsUntilItHasAppliedItsLog() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            f.appendAsLeader(records(1), 1);
            StateMachineException e = assertThrows(StateMachineException.class, () -> f.dataLog.place(PendingEntry.of(records(1)), 2));
            assertEquals(ErrorCode.LEADER_NOT_AVAILABLE, ((RafkaException) e.getCause()).errorCode());
            f.commitUpTo(1);
            assertEquals(1, f.appendAsLeader(records(1), 2).baseOffset());
        }
    }

    @Test
    void writeReplacesAnUncommittedTailButNeverCommittedRecordsOrLeavesAGap() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            f.appendAsLeader(records(2), 1);
            f.appendAsLeader(records(2), 1);
            f.commitUpTo(1);
            // A new leader's entry 2 starts at offset 2: the old uncommitted tail is cut first.
            PendingAppend other = records(3);
            DataEntry h = new DataEntry(PartitionMessages.APPENDED, 0, 2, 4, -1, other.data.length, -1, (short) -1, -1, -1);
            ByteBuffer stamped = ByteBuffer.wrap(other.data);
            new RecordBatch(stamped).setBaseOffset(2);
            f.dataLog.write(2, h, ByteString.copyFrom(other.data));
            assertEquals(5, f.log.logEndOffset());
            DataEntry belowHw = new DataEntry(PartitionMessages.APPENDED, 0, 1, 1, -1, 10, -1, (short) -1, -1, -1);
            assertThrows(IllegalStateException.class, () -> f.dataLog.write(3, belowHw, ByteString.copyFrom(other.data)));
            DataEntry gap = new DataEntry(PartitionMessages.APPENDED, 0, 9, 9, -1, 10, -1, (short) -1, -1, -1);
            assertThrows(StorageException.class, () -> f.dataLog.write(3, gap, ByteString.copyFrom(other.data)));
        }
    }

    @Test
    void truncateCutsTheRecordsOfDroppedEntries() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            f.appendAsLeader(records(2), 1);
            f.appendAsLeader(records(3), 1);
            f.dataLog.truncate(2);
            assertEquals(2, f.log.logEndOffset());
            f.raftLog.remove(2L);
            f.commitUpTo(1);
            assertEquals(2, f.appendAsLeader(records(1), 3).baseOffset(), "offsets continue after the kept entry");
        }
    }

    @Test
    void reconcileCutsATailThatNeverReachedTheRaftLog() throws Exception {
        PartitionFixture before = new PartitionFixture(dir);
        before.appendAsLeader(records(2), 1);
        before.appendAsLeader(records(3), 1);
        before.raftLog.remove(2L);  // the crash lost Ratis's copy of entry 2, not the partition log's
        before.close();
        try (PartitionFixture restarted = new PartitionFixture(dir)) {
            restarted.raftLog.putAll(before.raftLog);
            assertEquals(5, restarted.log.logEndOffset());
            assertFalse(restarted.dataLog.tailReconciled());
            restarted.dataLog.reconcileTail();
            assertTrue(restarted.dataLog.tailReconciled());
            assertEquals(2, restarted.log.logEndOffset());
            assertEquals(0, restarted.raftLogReadsUnderDataLogLock, "reconcileTail reads Ratis's log before taking its lock"
                    + " (Ratis calls write() holding its log's lock: the other order deadlocked)");
        }
    }

    @Test
    void reconcileCutsTheLogWhereItsRecordsAreNotThoseOfAnEntryToReplay() throws Exception {
        PartitionFixture before = new PartitionFixture(dir);
        before.appendAsLeader(producer(7, 0, 2), 1);   // entry 1: offsets 0-1
        before.appendAsLeader(producer(7, 2, 3), 1);   // entry 2: offsets 2-4
        before.close();
        try (PartitionFixture intact = new PartitionFixture(dir)) {
            intact.raftLog.putAll(before.raftLog);
            intact.dataLog.reconcileTail();
            assertEquals(5, intact.log.logEndOffset(), "records matching their entries stay");
            replaceEntryTwosRecords(intact);
        }
        try (PartitionFixture restarted = new PartitionFixture(dir)) {
            restarted.raftLog.putAll(before.raftLog);
            assertEquals(5, restarted.log.logEndOffset());
            restarted.dataLog.reconcileTail();
            assertEquals(2, restarted.log.logEndOffset(), "cut where the records stop matching; apply then copies them");
            assertEquals(0, restarted.raftLogReadsUnderDataLogLock, "Ratis's log is read before taking DataLog's lock");
            assertEquals(ErrorCode.NONE, restarted.commitUpTo(1).get(0).error(), "entry 1 applies");
        }
    }

    /** What a lost page cache can leave: other records (another producer's, as long) at entry 2's offsets 2-4. */
    private static void replaceEntryTwosRecords(PartitionFixture f) {
        f.log.truncateTo(2);
        ByteBuffer other = ByteBuffer.wrap(producer(9, 0, 3).data);
        new RecordBatch(other).setBaseOffset(2);
        f.log.appendReplicated(other);
    }

    /**
     * As above, when the leader's first request after the restart brings a new entry before reconcileTail ran: the
     * entries still to apply are checked by that write, not skipped.
     */
    @Test
    void aWriteBeforeReconcileChecksTheEntriesToReplayToo() throws Exception {
        PartitionFixture before = new PartitionFixture(dir);
        before.appendAsLeader(producer(7, 0, 2), 1);   // entry 1: offsets 0-1
        before.appendAsLeader(producer(7, 2, 3), 1);   // entry 2: offsets 2-4
        PendingEntry third = PendingEntry.of(producer(7, 5, 1));
        EntryHeader thirdHeader = before.appendAsLeader(third, 1);   // entry 3: offset 5, the leader's next
        before.raftLog.remove(3L);
        before.close();
        try (PartitionFixture damaged = new PartitionFixture(dir)) {
            replaceEntryTwosRecords(damaged);
        }
        try (PartitionFixture restarted = new PartitionFixture(dir)) {
            restarted.raftLog.putAll(before.raftLog);
            assertFalse(restarted.dataLog.tailReconciled());
            StorageException gap = assertThrows(StorageException.class, () -> restarted.dataLog.write(3, thirdHeader, third.data()));
            assertTrue(gap.getMessage().contains("records of earlier entries are missing"), gap.getMessage());
            assertTrue(restarted.dataLog.tailReconciled());
            assertEquals(2, restarted.log.logEndOffset(), "cut where the records stop matching; apply then copies them");
            assertEquals(0, restarted.raftLogReadsUnderDataLogLock, "Ratis's log is read before taking DataLog's lock");
        }
    }

    @Test
    void anEntryWhoseRecordsRetentionDeletedIsReadAsDeleted() throws Exception {
        try (PartitionFixture f = new PartitionFixture(dir)) {
            DataEntry h = f.appendAsLeader(records(2), 1);
            ByteString bytes = f.dataLog.readEntry(EntryHeader.of(h), 1);
            assertEquals(h.dataBytes(), bytes.size());
            f.log.truncateFullyAndStartAt(10);
            assertEquals(DataLog.DELETED, f.dataLog.readEntry(EntryHeader.of(h), 1));
        }
    }
}
