package io.rafka.raft;

import io.rafka.common.TopicPartition;
import io.rafka.raft.internal.PartitionStateMachine;
import io.rafka.raft.internal.ReplicaRegistry;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftPeerId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A replica whose partition log lost committed records on disk (issue 12, point 3: a segment cut short, as a
 * lost write-back or a careless hand leaves it) repairs itself: it copies the missing records from another
 * replica, with no operator action, while the partition keeps taking writes, and ends byte-identical. So does a
 * replica whose Raft log is damaged (a flipped bit, a torn segment): it starts, with its Raft log cut at the
 * damage ({@link RaftLogRepair}), and gets the rest from the leader.
 */
class ReplicaRepairIT {
    @TempDir
    Path tmp;

    @Test
    void aReplicaWhoseLogLostCommittedRecordsCopiesThemBackByItself() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("repair", 0, 3);
            append(cluster, tp, "before-snapshot", 100);
            int damaged = (cluster.leaderIndex(tp) + 1) % 3;
            cluster.awaitReplicated(tp, 500, 30_000);
            // The snapshot says records up to offset 500 are in the log.
            assertTrue(cluster.node(damaged).snapshot(tp) > 0, "snapshot taken");
            append(cluster, tp, "after-snapshot", 100);
            cluster.awaitReplicated(tp, 1000, 30_000);
            long copiesBefore = PartitionStateMachine.catchUpsCompleted();

            cluster.kill(damaged);
            Path segment = onlySegment(cluster.dataDir(damaged).resolve(tp.dirName()));
            try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() / 3);  // loses records below the snapshot's high watermark and after it
            }
            cluster.restart(damaged);
            append(cluster, tp, "while-repairing", 50);

            cluster.awaitReplicated(tp, 1250, 60_000);
            RaftNode repaired = cluster.node(damaged);
            assertFalse(repaired.status(tp).repairing());
            // Counted just after the copied state is adopted (which awaitReplicated sees): a moment later, under load.
            long deadline = System.currentTimeMillis() + 10_000;
            while (PartitionStateMachine.catchUpsCompleted() == copiesBefore && System.currentTimeMillis() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(PartitionStateMachine.catchUpsCompleted() > copiesBefore, "the missing records were copied");
            RaftNode leader = cluster.node(cluster.leaderIndex(tp));
            assertEquals(leader.read(tp, 0, Integer.MAX_VALUE).records(), repaired.read(tp, 0, Integer.MAX_VALUE).records(),
                    "byte-identical to the leader");
            assertEquals(1250, repaired.status(tp).highWatermark());

            // The partition goes on taking writes, the repaired replica among those acknowledging them.
            append(cluster, tp, "after", 1);
            cluster.awaitReplicated(tp, 1255, 30_000);
        }
    }

    /**
     * Records lost past what the replica had seen committed: its Raft log still holds their entries, so neither its
     * snapshot nor the replay at start shows damage, and the leader's next entries cannot be written behind the gap.
     * The replica refused every append from then on, so it never learnt the commit that would have shown the damage
     * to apply, until the leader's appender fell back to a bare heartbeat (3.3 and ~10 s after the restart in two
     * runs, with hundreds of refused appends logged with their stack traces meanwhile). The refused write itself
     * starts the copy now.
     */
    @Test
    void aReplicaMissingRecordsOfEntriesItHadNotSeenCommittedCopiesThemAtTheFirstRefusedEntry() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("gap", 0, 3);
            int leader = cluster.leaderIndex(tp);
            int damaged = (leader + 1) % 3;
            append(cluster, tp, "before-snapshot", 100);
            cluster.awaitReplicated(tp, 500, 30_000);
            // Applied and snapshotted up to offset 500; after the restart, nothing past it is known committed.
            assertTrue(cluster.node(damaged).snapshot(tp) > 0, "snapshot taken");
            append(cluster, tp, "after-snapshot", 100);
            cluster.awaitReplicated(tp, 1000, 30_000);
            long copiesBefore = PartitionStateMachine.catchUpsCompleted();
            long gapsBefore = PartitionStateMachine.gapsFoundByWrites();

            cluster.kill(damaged);
            Path segment = onlySegment(cluster.dataDir(damaged).resolve(tp.dirName()));
            try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() * 3 / 4);  // records of entries past the snapshot lost, their Raft entries kept
            }
            append(cluster, tp, "while-down", 20);
            cluster.restart(damaged);

            // Writes go on, so the leader always has entries for the replica and never sends a bare heartbeat.
            RaftNode repaired = cluster.node(damaged);
            long end = 1100;
            long deadline = System.currentTimeMillis() + 30_000;
            while (logEndOffset(repaired, tp) < end - 5 && System.currentTimeMillis() < deadline) {
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "after-restart-" + end, 5), Acks.ALL);
                end += 5;
            }
            cluster.awaitReplicated(tp, end, 30_000);
            // Counted just after the copied state is adopted (which awaitReplicated sees): a moment later, under load.
            long countedBy = System.currentTimeMillis() + 10_000;
            while (PartitionStateMachine.catchUpsCompleted() == copiesBefore && System.currentTimeMillis() < countedBy) {
                Thread.sleep(10);
            }
            assertTrue(PartitionStateMachine.catchUpsCompleted() > copiesBefore, "the missing records were copied");
            assertTrue(PartitionStateMachine.gapsFoundByWrites() > gapsBefore,
                    "the copy was started by the refused write, not by a heartbeat's news of the commit");
            assertFalse(repaired.status(tp).repairing());
            assertEquals(cluster.node(cluster.leaderIndex(tp)).read(tp, 0, Integer.MAX_VALUE).records(),
                    repaired.read(tp, 0, Integer.MAX_VALUE).records(), "byte-identical to the leader");
        }
    }

    /**
     * A copy asks one replica; when that one is dead the copy must fail so the repair tries the next source (or
     * again later). Ratis's default client retried a refused call for ever, without a pause: the repair spun on
     * the dead replica and never asked the live one.
     */
    @Test
    void aCopyFromADeadReplicaFailsWithinSecondsInsteadOfRetryingForever() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("dead-source", 0, 3);
            append(cluster, tp, "r", 1);
            int dead = cluster.leaderIndex(tp);
            int asking = (dead + 1) % 3;
            NodeAddress source = cluster.addresses().get(dead);
            cluster.kill(dead);
            try (RaftClient client = cluster.node(asking).copyClient(tp, source)) {
                assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThrows(IOException.class,
                        () -> client.io().sendStaleRead(Message.EMPTY, 0, RaftPeerId.valueOf(source.id()))));
            }
        }
    }

    @Test
    void aFlippedBitInAnOlderRaftLogSegmentCutsTheLogThereAndTheReplicaCatchesUp() throws Exception {
        raftLogDamage((segments, tp) -> flipByteInTheMiddle(segments.get(0)), true);
    }

    @Test
    void aFlippedBitInTheOpenRaftLogSegmentCutsTheLogThereAndTheReplicaCatchesUp() throws Exception {
        raftLogDamage((segments, tp) -> flipByteInTheMiddle(segments.get(segments.size() - 1)), false);
    }

    @Test
    void aClosedRaftLogSegmentCutShortIsRenamedAfterWhatItKeepsAndTheReplicaCatchesUp() throws Exception {
        raftLogDamage((segments, tp) -> {
            try (FileChannel ch = FileChannel.open(segments.get(0), StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() / 2);
            }
        }, true);
    }

    private interface Damage {
        void apply(List<Path> raftSegments, TopicPartition tp) throws IOException;
    }

    /**
     * Writes enough for the partition's Raft log to span several segments, kills a follower, damages its Raft log
     * files, restarts it (before RaftLogRepair the restart failed: Ratis refused to load the group) and checks that
     * it ends byte-identical to the leader with every record; with {@code setAside}, the segments after the damaged
     * one were moved aside.
     */
    private void raftLogDamage(Damage damage, boolean setAside) throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> b.raftSegmentBytes(1024 * 1024))) {
            TopicPartition tp = cluster.createPartition("raftlog", 0, 3);
            int batches = 0;
            while (raftSegments(cluster, 0, tp).size() < 3 && batches < 500) {
                cluster.append(tp, TestBatches.sized(10, 5_000, 1L), Acks.ALL);
                batches++;
            }
            int damaged = (cluster.leaderIndex(tp) + 1) % 3;
            cluster.awaitReplicated(tp, batches * 10L, 30_000);
            cluster.kill(damaged);
            List<Path> segments = raftSegments(cluster, damaged, tp);
            assertTrue(segments.size() >= 3, "Raft log segments: " + segments);
            damage.apply(segments, tp);

            cluster.restart(damaged);
            append(cluster, tp, "after-damage", 20);
            long end = batches * 10L + 20 * 5;
            cluster.awaitReplicated(tp, end, 60_000);
            RaftNode leader = cluster.node(cluster.leaderIndex(tp));
            RaftNode repaired = cluster.node(damaged);
            assertEquals(end, repaired.status(tp).highWatermark());
            assertEquals(leader.read(tp, 0, Integer.MAX_VALUE).records(), repaired.read(tp, 0, Integer.MAX_VALUE).records(),
                    "byte-identical to the leader");
            if (setAside) {
                try (Stream<Path> files = Files.list(raftGroupDir(cluster, damaged, tp).resolve("current"))) {
                    List<String> names = files.map(p -> p.getFileName().toString()).toList();
                    assertTrue(names.stream().anyMatch(n -> n.startsWith("corrupt-")
                            && n.endsWith(segments.get(segments.size() - 1).getFileName().toString())),
                            "the newest segment, after the damage, was moved aside: " + names);
                    // The damaged (closed, first) segment was cut at its last good entry and renamed after it.
                    String first = segments.get(0).getFileName().toString();
                    long start = startIndex(segments.get(0));
                    long firstEnd = Long.parseLong(first.replaceAll(".*-", ""));
                    assertTrue(names.stream().anyMatch(n -> n.matches("log_" + start + "-\\d+")
                                    && Long.parseLong(n.replaceAll(".*-", "")) < firstEnd),
                            "segment " + first + " cut short and renamed after what it keeps: " + names);
                }
            }
        }
    }

    private static Path raftGroupDir(MiniCluster cluster, int node, TopicPartition tp) {
        return cluster.dataDir(node).resolve("raft")
                .resolve(ReplicaRegistry.groupId(cluster.spec(tp).topicId(), tp.partition()).getUuid().toString());
    }

    /** The group's Raft log segment files in index order (the open one last). */
    private static List<Path> raftSegments(MiniCluster cluster, int node, TopicPartition tp) throws IOException {
        try (Stream<Path> files = Files.list(raftGroupDir(cluster, node, tp).resolve("current"))) {
            return files.filter(p -> p.getFileName().toString().startsWith("log_"))
                    .sorted(Comparator.comparingLong(ReplicaRepairIT::startIndex)).toList();
        }
    }

    private static long startIndex(Path segment) {
        String name = segment.getFileName().toString();
        return Long.parseLong(name.replace("log_inprogress_", "").replace("log_", "").replaceAll("-.*", ""));
    }

    private static void flipByteInTheMiddle(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int last = bytes.length - 1;
        while (last > 0 && bytes[last] == 0) {
            last--;  // the open segment is preallocated: past its entries there are only zeros
        }
        bytes[last / 2] ^= 0x10;
        Files.write(file, bytes);
    }

    private static void append(MiniCluster cluster, TopicPartition tp, String prefix, int batches) {
        for (int i = 0; i < batches; i++) {
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, prefix + "-" + i, 5), Acks.ALL);
        }
    }

    /** The replica's log end; 0 while it is still opening. */
    private static long logEndOffset(RaftNode node, TopicPartition tp) {
        try {
            return node.status(tp).logEndOffset();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private static Path onlySegment(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> logs = files.filter(p -> p.getFileName().toString().endsWith(".log")).toList();
            assertEquals(1, logs.size(), logs.toString());
            return logs.get(0);
        }
    }
}
