package io.rafka.raft.internal;

import io.rafka.common.ErrorCode;
import io.rafka.raft.internal.PartitionMessages.AppendReply;
import io.rafka.raft.internal.PartitionMessages.DataEntry;
import io.rafka.raft.internal.PartitionMessages.EntryHeader;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.record.RecordBatches;
import io.rafka.testing.TestBatches;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static io.rafka.raft.internal.PartitionFixture.MAX;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Group commit on real logs: one Raft entry carrying several appends gives each its own verdict (appended,
 * duplicate, rejected) and offsets, checks a producer's batches in a row against each other, stores only the
 * appended ones, and leaves followers byte-identical whether they get the leader's in-memory copy (all
 * parts) or the bytes read back from its log (appended parts only).
 */
class GroupEntryTest {
    @TempDir
    Path dir;

    private static PendingAppend records(int count) {
        return PendingAppend.copyOf(5_000, TestBatches.batch(CompressionType.NONE, "v", count, 10L), MAX, MAX);
    }

    private static PendingAppend producer(long pid, int seq, int count) {
        RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.NONE).producer(pid, (short) 0, seq);
        for (int i = 0; i < count; i++) {
            b.append(10L, null, new byte[] {(byte) (seq + i)});
        }
        return PendingAppend.copyOf(5_000, b.build(), MAX, MAX);
    }

    @Test
    void eachAppendOfAGroupGetsItsOwnVerdictAndOnlyTheAppendedOnesAreStored() throws Exception {
        try (PartitionFixture leader = new PartitionFixture(dir.resolve("leader"));
             PartitionFixture fromMemory = new PartitionFixture(dir.resolve("follower-1"));
             PartitionFixture fromLog = new PartitionFixture(dir.resolve("follower-2"))) {
            DataEntry first = leader.appendAsLeader(producer(7, 0, 2), 1);
            PendingEntry group = PendingEntry.of(List.of(
                    records(2),           // 2..3
                    producer(7, 2, 2),    // 4..5: follows the lone entry
                    producer(7, 4, 1),    // 6: follows the part before it, in the same entry
                    producer(7, 0, 2),    // a retry of the first entry: its offsets, nothing stored
                    producer(7, 9, 1),    // a gap: refused, nothing stored, the others go on
                    records(1)));         // 7
            EntryHeader h = leader.appendAsLeader(group, 1);

            assertEquals(List.of(PartitionMessages.APPENDED, PartitionMessages.APPENDED, PartitionMessages.APPENDED,
                    PartitionMessages.DUPLICATE, PartitionMessages.REJECTED, PartitionMessages.APPENDED),
                    h.parts().stream().map(DataEntry::verdict).toList());
            assertEquals(8, leader.log.logEndOffset());
            List<RecordBatch> stored = RecordBatches.split(leader.log.read(0, MAX, 8).records());
            assertEquals(List.of(0L, 2L, 4L, 6L, 7L), stored.stream().map(RecordBatch::baseOffset).toList());
            stored.forEach(RecordBatch::ensureValid);

            assertEquals(List.of(new AppendReply(ErrorCode.NONE, 2, 3, -1), new AppendReply(ErrorCode.NONE, 4, 5, -1),
                    new AppendReply(ErrorCode.NONE, 6, 6, -1), new AppendReply(ErrorCode.NONE, 0, 1, -1),
                    AppendReply.error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), new AppendReply(ErrorCode.NONE, 7, 7, -1)),
                    leader.commitUpTo(2));
            assertEquals(8, leader.committed.applied().logEndOffset());
            assertEquals(8, leader.appendAsLeader(producer(7, 5, 1), 1).baseOffset(), "the producer goes on after the group");

            for (PartitionFixture follower : List.of(fromMemory, fromLog)) {
                follower.raftLog.putAll(leader.raftLog.headMap(2L, true));
                follower.dataLog.write(1, first, leader.dataLog.readEntry(EntryHeader.of(first), 1));
                follower.dataLog.write(2, h, follower == fromMemory ? group.data() : leader.dataLog.readEntry(h, 2));
                assertEquals(8, follower.log.logEndOffset());
                assertEquals(ByteString.copyFrom(leader.log.read(0, MAX, 8).records()),
                        ByteString.copyFrom(follower.log.read(0, MAX, 8).records()), "byte-identical replicas");
                assertEquals(AppendReply.error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), follower.commitUpTo(2).get(4));
            }
        }
    }

    @Test
    void aGroupWithNothingToStoreWritesNothing() throws Exception {
        try (PartitionFixture leader = new PartitionFixture(dir)) {
            leader.appendAsLeader(producer(7, 0, 2), 1);
            EntryHeader h = leader.appendAsLeader(PendingEntry.of(List.of(producer(7, 0, 2), producer(7, 5, 1))), 1);
            assertFalse(h.appended());
            assertEquals(2, leader.log.logEndOffset());
            assertEquals(List.of(new AppendReply(ErrorCode.NONE, 0, 1, -1), AppendReply.error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)),
                    leader.commitUpTo(2));
            assertEquals(2, leader.committed.applied().logEndOffset());
        }
    }
}
