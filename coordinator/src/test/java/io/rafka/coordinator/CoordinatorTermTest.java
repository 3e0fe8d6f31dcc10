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
            assertEquals(Map.of(), replayFrom(disk, end), "nothing written in term 3 from term 1's state");

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

    /**
     * A write that timed out may still commit (it waits in the partition's queue or Raft log): the coordinator, which
     * rebuilds its groups after a failed write, must not serve them before that write settled, nor from a state
     * without it once it committed.
     */
    @Test
    void aCommitThatTimedOutAndCommittedLaterIsInTheReloadedState() throws Exception {
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, GroupConfig.defaults(), Map.of("t", 2, GroupConfig.TOPIC, 1))) {
            GroupCoordinator c = disk.coordinator;
            assertEquals(ErrorCode.NONE, commit(c, 5));
            disk.stall();
            var late = c.alterOffsets("g", List.of(new GroupTypes.OffsetCommit(TP, 9, "")));
            awaitStalled(disk, 1);
            assertEquals(1, disk.timeOutStalled());
            java.util.concurrent.ExecutionException timedOut = org.junit.jupiter.api.Assertions.assertThrows(
                    java.util.concurrent.ExecutionException.class, () -> late.get(10, TimeUnit.SECONDS));
            assertTrue(timedOut.getCause() instanceof io.rafka.common.RafkaException, timedOut.toString());

            // The coordinator reloads; while the timed-out write may still commit, the group's offsets are not served.
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
            while (System.nanoTime() < until) {
                try {
                    long seen = fetch(c);
                    org.junit.jupiter.api.Assertions.fail("served offset " + seen + " before the timed-out commit settled");
                } catch (java.util.concurrent.ExecutionException loading) {
                    assertTrue(loading.getCause() instanceof io.rafka.common.RafkaException, loading.toString());
                }
                Thread.sleep(20);
            }

            // The timed-out commit reaches the log after all (then whatever the coordinator wrote since).
            disk.release();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            long seen = -2;
            while (System.nanoTime() < deadline && seen != 9) {
                try {
                    seen = fetch(c);
                } catch (java.util.concurrent.ExecutionException notYet) {
                    Thread.sleep(10);
                }
            }
            assertEquals(9, seen, "the reloaded coordinator serves the commit that landed after its timeout");
            assertEquals(ErrorCode.NONE, commit(c, 11));
            assertEquals(11, fetch(disk.move()));
        }
    }

    /** The groups the records from {@code offset} on make by themselves (a reload's barrier makes none). */
    private static Map<String, ConsumerGroup> replayFrom(CoordinatorOnDisk disk, long offset) {
        Map<String, ConsumerGroup> groups = new java.util.HashMap<>();
        long end = disk.log.logEndOffset();
        if (offset < end) {
            GroupRecords.replay(disk.log.read(offset, 1 << 20, end).records(), groups);
        }
        return groups;
    }

    private static void awaitStalled(CoordinatorOnDisk disk, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (disk.stalledAppends() < count && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(count, disk.stalledAppends());
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
