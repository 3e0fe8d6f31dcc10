package io.rafka.coordinator;

import io.rafka.common.ErrorCode;
import io.rafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A coordinator writes only in the Raft term it loaded its groups in: one that lost its partition and got it back
 * before hearing of it (leadership A, then B, then A again) must not write from what it read before B wrote.
 */
class CoordinatorTermTest {
    private static final TopicPartition TP = new TopicPartition("t", 0);

    @TempDir
    Path dir;

    @Test
    void aCoordinatorThatMissedAnotherLeadersTermWritesNothingAndReloads() throws Exception {
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, GroupConfig.defaults(), Map.of("t", 2, GroupConfig.TOPIC, 1))) {
            GroupCoordinator a = disk.coordinator;
            assertEquals(ErrorCode.NONE, commit(a, 5));

            // Another broker leads the partition in term 2 and moves the group on to 500.
            GroupCoordinator b = disk.startAnother();
            assertEquals(5, fetch(b), "B loaded A's commit");
            assertEquals(ErrorCode.NONE, commit(b, 500));
            b.close();
            // A leads again, in term 3, and has not heard of term 2 (its resign and new leadership still queued).
            disk.term++;
            long end = disk.log.logEndOffset();
            ErrorCode stale = commit(a, 300);
            assertNotEquals(ErrorCode.NONE, stale, "a commit resting on term 1's state is refused");
            assertEquals(end, disk.log.logEndOffset(), "nothing written in term 3 from term 1's state");

            // A rebuilds its groups from the log, in term 3, and serves what B committed; it writes again.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            long seen = -2;
            while (System.nanoTime() < deadline) {
                try {
                    seen = fetch(a);
                    if (seen == 500) {
                        break;
                    }
                } catch (java.util.concurrent.ExecutionException notYet) {
                    // NOT_COORDINATOR while it reloads
                }
                Thread.sleep(10);
            }
            assertEquals(500, seen);
            assertEquals(ErrorCode.NONE, commit(a, 501));
            assertEquals(501, fetch(disk.move()), "the reloaded coordinator's commit is in the log");
        }
    }

    private static ErrorCode commit(GroupCoordinator c, long offset) throws Exception {
        List<GroupTypes.PartitionResult> results;
        try {
            results = c.alterOffsets("g", List.of(new GroupTypes.OffsetCommit(TP, offset, ""))).get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            assertTrue(e.getCause() instanceof io.rafka.common.RafkaException, e.toString());
            return ((io.rafka.common.RafkaException) e.getCause()).errorCode();
        }
        return results.get(0).error();
    }

    private static long fetch(GroupCoordinator c) throws Exception {
        return c.fetchOffsets("g", List.of(TP)).get(10, TimeUnit.SECONDS).get(TP).offset();
    }
}
