package io.rafka.raft.internal;

import io.rafka.common.InvalidRecordException;
import io.rafka.raft.PartitionStatus;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMessages.EntryHeader;
import io.rafka.raft.internal.PartitionMessages.FetchQuery;
import io.rafka.raft.internal.PartitionMessages.Query;
import io.rafka.raft.internal.PartitionMessages.StateQuery;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;
import io.rafka.common.ErrorCode;
import io.rafka.common.StorageException;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.rafka.raft.internal.PartitionFixture.MAX;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The catch-up client ({@link LogCatchUp}) against the leader's query side ({@link PartitionQueries}), both on real logs. */
class LogCatchUpTest {
    @TempDir
    Path leaderDir;
    @TempDir
    Path followerDir;

    private static PendingAppend records(String prefix, int count) {
        return PendingAppend.copyOf(5_000, TestBatches.batch(CompressionType.NONE, prefix, count), MAX, MAX);
    }

    @Test
    void copiesTheLeadersCommittedRecordsButNotItsUncommittedTail() throws Exception {
        try (PartitionFixture leader = new PartitionFixture(leaderDir); PartitionFixture follower = new PartitionFixture(followerDir)) {
            leader.appendAsLeader(records("a", 3), 2);
            leader.appendAsLeader(records("b", 2), 2);
            leader.commitUpTo(2);
            leader.appendAsLeader(records("c", 4), 2);  // uncommitted
            PartitionQueries queries = new PartitionQueries(leader.log, leader.committed);

            follower.appendAsLeader(records("stale", 7), 1);  // an uncommitted tail the copy replaces

            TermIndex installed = follower.catchUp.install(queries::answer);

            assertEquals(TermIndex.valueOf(2, 2), installed);
            assertEquals(new AppliedState(2, 2, 0, 5), follower.committed.applied(), "adopted the leader's position");
            assertEquals(5, follower.snapshots.get(0).logEndOffset(), "and recorded it as a snapshot");
            assertEquals(5, follower.log.logEndOffset());
            assertEquals(TestBatches.records(leader.log.read(0, MAX, 5).records()).stream().map(TestBatches::value).toList(),
                    TestBatches.records(follower.log.read(0, MAX, 5).records()).stream().map(TestBatches::value).toList());
        }
    }

    @Test
    void reportsWhereARunningCopyStandsAndNothingOnceItEnded() throws Exception {
        try (PartitionFixture leader = new PartitionFixture(leaderDir); PartitionFixture follower = new PartitionFixture(followerDir)) {
            for (int i = 0; i < 4; i++) {
                leader.appendAsLeader(records("r" + i, 5), 1);
            }
            leader.commitUpTo(4);
            PartitionQueries queries = new PartitionQueries(leader.log, leader.committed);
            List<PartitionStatus.CopyProgress> seen = new ArrayList<>();
            assertNull(follower.committed.copyProgress(), "no copy runs");

            follower.catchUp.install(query -> {
                // Each question to the leader is asked with the progress made so far.
                PartitionStatus.CopyProgress p = follower.committed.copyProgress();
                if (p != null) {
                    seen.add(p);
                }
                return queries.answer(query);
            });

            assertFalse(seen.isEmpty(), "progress was reported while the copy ran");
            assertEquals(20, seen.get(0).target(), "the leader's log end");
            assertEquals(0, seen.get(0).copiedTo());
            assertEquals(20, seen.get(0).remainingOffsets());
            for (int i = 1; i < seen.size(); i++) {
                assertTrue(seen.get(i).copiedTo() >= seen.get(i - 1).copiedTo(), "progress only grows: " + seen);
            }
            assertNull(follower.committed.copyProgress(), "nothing once the copy ended");
        }
    }

    /**
     * Seen in a chaos run: a follower repairing a cut segment kept receiving the leader's entries from Ratis, and
     * one written between copied batches cut the copy's bytes off; the copy ended on a log that lacked records up
     * to its end while the replica counted them applied, and it hibernated that way, 1,500 offsets short.
     */
    @Test
    void entriesArrivingDuringARepairCopyAreRefusedAndTheCopiedLogIsWhole() throws Exception {
        try (PartitionFixture leader = new PartitionFixture(leaderDir); PartitionFixture follower = new PartitionFixture(followerDir)) {
            for (int i = 0; i < 4; i++) {
                leader.appendAsLeader(records("r" + i, 5), 1);  // entry i + 1, offsets 5i..5i+4
            }
            leader.commitUpTo(4);
            PartitionQueries queries = new PartitionQueries(leader.log, leader.committed);
            List<Long> endsWhenRefused = new ArrayList<>();
            int[] fetches = {0};

            follower.catchUp.repair(query -> {
                if (Query.decode(query.duplicate()) instanceof FetchQuery f) {
                    if (fetches[0]++ == 2) {
                        // Ratis hands the follower entry 2 (offsets 5..9) from the leader while the copy is past it.
                        StorageException refused = assertThrows(StorageException.class,
                                () -> follower.dataLog.write(2, leaderEntry(leader, 2), leaderBytes(leader, 5, 10)));
                        assertTrue(refused.getMessage().contains("being copied"), refused.getMessage());
                        endsWhenRefused.add(follower.log.logEndOffset());
                    }
                    // One batch per answer, so that the copy takes several steps.
                    return queries.answer(new FetchQuery(f.offset(), 1, f.upToOffset()).encode());
                }
                return queries.answer(query);
            }, 4);

            assertEquals(List.of(10L), endsWhenRefused, "the entry came while the copy stood at offset 10, and changed nothing");
            assertEquals(20, follower.log.logEndOffset());
            assertEquals(new AppliedState(1, 4, 0, 20), follower.committed.applied());
            assertEquals(TestBatches.records(leader.log.read(0, MAX, 20).records()).stream().map(TestBatches::value).toList(),
                    TestBatches.records(follower.log.read(0, MAX, 20).records()).stream().map(TestBatches::value).toList());

            // After the copy: an entry it covered is skipped, the next one is written after it.
            follower.dataLog.write(2, leaderEntry(leader, 2), leaderBytes(leader, 5, 10));
            assertEquals(20, follower.log.logEndOffset());
            leader.appendAsLeader(records("r4", 5), 1);
            follower.dataLog.write(5, leaderEntry(leader, 5), leaderBytes(leader, 20, 25));
            assertEquals(25, follower.log.logEndOffset());
        }
    }

    private static EntryHeader leaderEntry(PartitionFixture leader, long index) {
        return EntryHeader.decode(leader.raftLog.get(index).getStateMachineLogEntry().getLogData());
    }

    private static ByteString leaderBytes(PartitionFixture leader, long from, long to) {
        return ByteString.copyFrom(leader.log.read(from, MAX, to).records());
    }

    @Test
    void startsWhereTheLeadersLogStartsWhenRetentionDeletedTheBeginning() throws Exception {
        try (PartitionFixture leader = new PartitionFixture(leaderDir); PartitionFixture follower = new PartitionFixture(followerDir)) {
            leader.log.truncateFullyAndStartAt(100);
            leader.committed.load(null, null);
            leader.appendAsLeader(records("a", 3), 1);
            leader.commitUpTo(1);

            follower.catchUp.copy(new PartitionQueries(leader.log, leader.committed)::answer);

            assertEquals(100, follower.log.logStartOffset());
            assertEquals(103, follower.log.logEndOffset());
        }
    }

    @Test
    void aFailedCopyPutsTheLogBackAndFailsWithAStorageError() throws Exception {
        try (PartitionFixture follower = new PartitionFixture(followerDir)) {
            follower.committed.apply(1, 1, follower.appendAsLeader(records("a", 2), 1));
            follower.appendAsLeader(records("b", 2), 1);
            StorageException e = assertThrows(StorageException.class, () -> follower.catchUp.install(query -> {
                throw new IOException("leader gone");
            }));
            assertEquals(ErrorCode.STORAGE_ERROR, e.errorCode());
            assertEquals(2, follower.log.logEndOffset(), "back at the high watermark");
            follower.committed.indexUpdated(1, 2);  // apply goes on
            assertEquals(List.of(), follower.snapshots);
        }
    }

    /**
     * Putting the log back can fail too (its truncation on a failing disk; here the log is closed under the copy):
     * the copy's own failure is reported, and Ratis's entries are no longer refused as "being copied", which they
     * were for good when the undo threw past the end of the copy.
     */
    @Test
    void aCopyWhoseUndoFailsStillEndsTheCopy() throws Exception {
        try (PartitionFixture leader = new PartitionFixture(leaderDir); PartitionFixture follower = new PartitionFixture(followerDir)) {
            leader.appendAsLeader(records("a", 2), 1);  // entry 1, offsets 0..1
            leader.appendAsLeader(records("b", 2), 1);  // entry 2, offsets 2..3
            leader.commitUpTo(2);
            PartitionQueries queries = new PartitionQueries(leader.log, leader.committed);
            int[] fetches = {0};

            StorageException e = assertThrows(StorageException.class, () -> follower.catchUp.install(query -> {
                if (Query.decode(query.duplicate()) instanceof FetchQuery f) {
                    if (fetches[0]++ == 1) {
                        follower.log.close();  // the first batch is copied; the undo must cut it and cannot
                        throw new IOException("leader gone");
                    }
                    return queries.answer(new FetchQuery(f.offset(), 1, f.upToOffset()).encode());  // one batch
                }
                return queries.answer(query);
            }));

            assertTrue(e.getMessage().contains("leader gone"), "the copy's failure is reported: " + e.getMessage());
            assertEquals(1, e.getSuppressed().length, "with the undo's");
            leader.appendAsLeader(records("c", 1), 1);  // entry 3, offset 4
            StorageException write = assertThrows(StorageException.class,
                    () -> follower.dataLog.write(3, leaderEntry(leader, 3), leaderBytes(leader, 4, 5)));
            assertFalse(write.getMessage().contains("being copied"), "no copy runs any more: " + write.getMessage());
        }
    }

    @Test
    void queriesAreToldApartByTheirTypeAndMustHaveTheirTypesSize() {
        assertEquals(new FetchQuery(5, 100, 9), Query.decode(new FetchQuery(5, 100, 9).encode()));
        assertEquals(new StateQuery(), Query.decode(new StateQuery().encode()));
        ByteBuffer fetchTooLong = ByteBuffer.allocate(FetchQuery.SIZE + 1).put(new FetchQuery(1, 2, 3).encode()).rewind();
        assertThrows(InvalidRecordException.class, () -> Query.decode(fetchTooLong));
        ByteBuffer unknown = ByteBuffer.allocate(FetchQuery.SIZE).put(0, (byte) 9);
        assertThrows(InvalidRecordException.class, () -> Query.decode(unknown));
        assertThrows(InvalidRecordException.class, () -> Query.decode(ByteBuffer.allocate(0)));
    }
}
