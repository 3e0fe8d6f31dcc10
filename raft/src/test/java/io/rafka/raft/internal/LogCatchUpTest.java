package io.rafka.raft.internal;

import io.rafka.common.InvalidRecordException;
import io.rafka.raft.PartitionStatus;
import io.rafka.raft.internal.PartitionMessages.AppliedState;
import io.rafka.raft.internal.PartitionMessages.FetchQuery;
import io.rafka.raft.internal.PartitionMessages.Query;
import io.rafka.raft.internal.PartitionMessages.StateQuery;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;
import io.rafka.common.ErrorCode;
import io.rafka.common.StorageException;
import org.apache.ratis.server.protocol.TermIndex;
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
