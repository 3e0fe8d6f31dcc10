package io.rafka.coordinator;

import io.rafka.common.TopicPartition;
import io.rafka.log.PartitionLog;
import io.rafka.testing.MockTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Empty groups expire {@code offsets.retention} after their newest commit (or after they became empty, if later),
 * also when a new coordinator loaded them from their records in between. The coordinator partition is a real
 * partition log on disk (the broker's is the same log under a Raft group); the clock is a test clock.
 */
class GroupExpiryTest {
    private static final long RETENTION_MS = TimeUnit.MINUTES.toMillis(10);
    private static final TopicPartition TP = new TopicPartition("t", 0);

    @TempDir
    Path dir;

    @Test
    void anEmptyGroupExpiresRetentionAfterItsNewestCommitAcrossACoordinatorMove() throws Exception {
        GroupConfig d = GroupConfig.defaults();
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, new GroupConfig(1, d.sessionTimeoutMs(), d.minSessionTimeoutMs(),
                    d.maxSessionTimeoutMs(), d.heartbeatIntervalMs(), d.streamGraceMs(), d.rebalanceTimeoutMs(), d.maxGroupSize(),
                    d.offsetMetadataMaxBytes(), RETENTION_MS, d.checkpointRecords(), d.maxWriteBytesInFlight(), d.maxGroups()),
                    Map.of("t", 2, GroupConfig.TOPIC, 1))) {
            PartitionLog log = disk.log;
            MockTime time = disk.time;
            GroupCoordinator coordinator = disk.coordinator;
            assertNoError(coordinator.alterOffsets("g", List.of(new GroupTypes.OffsetCommit(TP, 5, ""))));
            // The next tick writes the group as empty since now: waited for by its record, not by a guess of time.
            long committedEnd = log.logEndOffset();
            long written = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (log.logEndOffset() == committedEnd && System.nanoTime() < written) {
                Thread.sleep(10);
            }
            assertTrue(log.logEndOffset() > committedEnd, "the tick wrote when the group became empty");
            time.sleep(60_000);
            assertNoError(coordinator.alterOffsets("g", List.of(new GroupTypes.OffsetCommit(new TopicPartition("t", 1), 7, ""))));
            long newestCommit = time.milliseconds();

            // The coordinator moves: the new one knows the group only from its records.
            coordinator = disk.move();
            time.sleep(RETENTION_MS - 30_000);
            // Past retention since the group became empty and since its first commit, not since its newest: a few
            // ticks later the group is still there.
            Thread.sleep(300);
            assertEquals(5, coordinator.fetchOffsets("g", List.of(TP)).get(5, TimeUnit.SECONDS).get(TP).offset());
            assertTrue(time.milliseconds() - newestCommit < RETENTION_MS);

            time.sleep(31_000);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!coordinator.listGroups().get(5, TimeUnit.SECONDS).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(List.of(), coordinator.listGroups().get(5, TimeUnit.SECONDS));
            assertEquals(-1, coordinator.fetchOffsets("g", List.of(TP)).get(5, TimeUnit.SECONDS).get(TP).offset());

            // And the expiry is durable: a later coordinator does not bring the group back.
            coordinator = disk.move();
            Thread.sleep(300);
            assertEquals(List.of(), coordinator.listGroups().get(5, TimeUnit.SECONDS));
        }
    }

    /**
     * A topic deleted and created again under its name, seen in one metadata change (same partition count, new id):
     * the group's offsets of the old topic go, as a deleted topic's do, instead of placing the group far into the new
     * topic (it would skip the new topic's first records, or reset).
     */
    @Test
    void offsetsOfATopicCreatedAgainUnderItsNameGo() throws Exception {
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, GroupConfig.defaults(), Map.of("t", 2, "u", 1, GroupConfig.TOPIC, 1))) {
            GroupCoordinator coordinator = disk.coordinator;
            TopicPartition u = new TopicPartition("u", 0);
            coordinator.onTopicsChanged(Map.of("t", 2, "u", 1, GroupConfig.TOPIC, 1), Map.of("t", "id-1", "u", "id-2", GroupConfig.TOPIC, "id-0"));
            assertNoError(coordinator.alterOffsets("g", List.of(new GroupTypes.OffsetCommit(TP, 5, ""), new GroupTypes.OffsetCommit(u, 3, ""))));
            coordinator.onTopicsChanged(Map.of("t", 2, "u", 1, GroupConfig.TOPIC, 1), Map.of("t", "id-9", "u", "id-2", GroupConfig.TOPIC, "id-0"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (coordinator.fetchOffsets("g", List.of(TP)).get(5, TimeUnit.SECONDS).get(TP).offset() != -1
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(-1, coordinator.fetchOffsets("g", List.of(TP)).get(5, TimeUnit.SECONDS).get(TP).offset());
            assertEquals(3, coordinator.fetchOffsets("g", List.of(u)).get(5, TimeUnit.SECONDS).get(u).offset(), "another topic's stay");
            // Written: a new coordinator reading the records agrees.
            coordinator = disk.move();
            assertEquals(-1, coordinator.fetchOffsets("g", List.of(TP)).get(5, TimeUnit.SECONDS).get(TP).offset());
            assertEquals(3, coordinator.fetchOffsets("g", List.of(u)).get(5, TimeUnit.SECONDS).get(u).offset());
        }
    }

    /** A commit refused whole or in every partition makes no group (it would be listed, and kept for a retention). */
    @Test
    void aRefusedCommitLeavesNoGroupBehind() throws Exception {
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, GroupConfig.defaults(), Map.of("t", 2, GroupConfig.TOPIC, 1))) {
            GroupCoordinator coordinator = disk.coordinator;
            List<GroupTypes.PartitionResult> refused = coordinator.alterOffsets("ghost",
                    List.of(new GroupTypes.OffsetCommit(new TopicPartition("nope", 0), 1, ""))).get(5, TimeUnit.SECONDS);
            assertEquals(io.rafka.common.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, refused.get(0).error());
            java.util.concurrent.ExecutionException empty = org.junit.jupiter.api.Assertions.assertThrows(
                    java.util.concurrent.ExecutionException.class,
                    () -> coordinator.commit("ghost2", "", -1, List.of()).get(5, TimeUnit.SECONDS));
            assertTrue(empty.getCause().getMessage().contains("no offsets"), empty.toString());
            assertNoError(coordinator.alterOffsets("real", List.of(new GroupTypes.OffsetCommit(TP, 1, ""))));
            assertEquals(List.of("real"), coordinator.listGroups().get(5, TimeUnit.SECONDS).stream()
                    .map(GroupTypes.GroupListing::groupId).toList());
        }
    }

    private static void assertNoError(CompletableFuture<List<GroupTypes.PartitionResult>> results) throws Exception {
        for (GroupTypes.PartitionResult r : results.get(5, TimeUnit.SECONDS)) {
            assertEquals(io.rafka.common.ErrorCode.NONE, r.error(), r.toString());
        }
    }
}
