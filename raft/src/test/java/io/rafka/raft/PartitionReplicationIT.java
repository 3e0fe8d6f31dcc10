package io.rafka.raft;

import io.rafka.common.TopicPartition;
import io.rafka.log.internal.LogFiles;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.record.Record;
import io.rafka.testing.TestBatches;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.server.raftlog.LogEntryHeader;
import org.apache.ratis.server.raftlog.RaftLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PartitionReplicationIT {
    @TempDir
    Path tmp;

    @Test
    void replicatesAppendsToEveryReplicaWithIdenticalFiles() throws IOException {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("orders", 0, 3);
            int leader = cluster.leaderIndex(tp);
            long term = cluster.node(leader).status(tp).term();
            long expected = 0;
            for (int i = 0; i < 200; i++) {
                AppendResult r = cluster.append(tp, TestBatches.batch(CompressionType.values()[i % 5], "m" + i, 3, 1_000L + i), Acks.ALL);
                assertEquals(expected, r.baseOffset());
                assertEquals(expected + 2, r.lastOffset());
                expected += 3;
            }
            cluster.awaitReplicated(tp, expected, 10_000);
            for (int i = 0; i < 3; i++) {
                List<Record> records = readAll(cluster.node(i), tp, expected);
                assertEquals(600, records.size());
                assertEquals("m199-2", TestBatches.value(records.get(599)));
            }
            assertEquals(term, io.rafka.record.RecordBatches.split(cluster.node(leader).read(tp, 0, 1 << 20).records())
                    .get(0).partitionLeaderEpoch(), "partitionLeaderEpoch is the Raft term");
            assertIdenticalLogs(cluster, tp);
        }
    }

    /**
     * A committed append costs one Raft entry and nothing more: Ratis's default appends a commit-index metadata
     * entry after every commit (written, fsynced and replicated like any other), which cost a third of acks=all
     * throughput on broker processes. Appends sent one at a time each take one entry, on every replica.
     */
    @Test
    void eachCommittedAppendIsOneRaftEntryWithNoCommitIndexEntries() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("lean", 0, 3);
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, "first", 1), Acks.ALL);
            int leader = cluster.leaderIndex(tp);
            cluster.awaitReplicated(tp, 1, 10_000);
            long before = cluster.node(leader).division(tp).getRaftLog().getLastEntryTermIndex().getIndex();
            int appends = 30;
            for (int i = 0; i < appends; i++) {
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "one-" + i, 1), Acks.ALL);
            }
            cluster.awaitReplicated(tp, 1 + appends, 10_000);
            for (int i = 0; i < 3; i++) {
                RaftLog log = cluster.node(i).division(tp).getRaftLog();
                long last = log.getLastEntryTermIndex().getIndex();
                assertEquals(before + appends, last, "node " + i + ": Raft log end after " + appends + " appends");
                for (LogEntryHeader h : log.getEntries(log.getStartIndex(), last + 1)) {
                    assertNotEquals(LogEntryProto.LogEntryBodyCase.METADATAENTRY, h.getLogEntryBodyCase(),
                            "node " + i + ": entry " + h.getIndex());
                }
            }
        }
    }

    /**
     * Every replica of a group starts from the same empty snapshot at (term 0, index 0), however the group opens:
     * created open, woken from hibernation for its first write, or re-created on a node whose data was lost. Ratis
     * 3.3 lets a follower commit its own index 0 on a heartbeat that names no previous entry, so a replica that
     * led a new group's first term alone and died kept an index 0 no other replica had, and refused every append
     * once back (docs/replication.md). With the shared base no replica holds an index 0 entry at all.
     */
    @Test
    void everyReplicaOfAGroupStartsFromTheSharedEmptySnapshot() throws IOException {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition open = cluster.createPartition("open", 0, 3);
            TopicPartition woken = cluster.createHibernatedPartitions("woken", 1, 3).get(0);
            for (TopicPartition tp : List.of(open, woken)) {
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "m", 2, 1L), Acks.ALL);
                cluster.awaitReplicated(tp, 2, 10_000);
            }
            int wiped = (cluster.leaderIndex(open) + 1) % 3;
            cluster.stop(wiped);
            cluster.wipe(wiped);
            cluster.append(open, TestBatches.batch(CompressionType.NONE, "n", 2, 2L), Acks.ALL);
            cluster.restart(wiped);
            cluster.recreatePartitionsOn(wiped);
            cluster.awaitReplicated(open, 4, 20_000);
            cluster.awaitReplicated(woken, 2, 20_000);
            assertEquals(4, readAll(cluster.node(wiped), open, 4).size());
            for (TopicPartition tp : List.of(open, woken)) {
                for (int i = 0; i < 3; i++) {
                    var division = cluster.node(i).division(tp);
                    String where = tp + " on node " + i;
                    var snapshot = division.getStateMachine().getLatestSnapshot();
                    assertTrue(snapshot != null, where + ": no snapshot");
                    assertEquals(org.apache.ratis.server.protocol.TermIndex.valueOf(0, 0), snapshot.getTermIndex(), where);
                    assertEquals(null, division.getRaftLog().getTermIndex(0), where + ": an index 0 entry");
                    assertTrue(division.getRaftLog().getTermIndex(1) != null, where + ": no entry at index 1");
                }
            }
        }
    }

    /** What a node's listener heard, in order. */
    private static final class Heard implements PartitionListener {
        final List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public void onLeader(TopicPartition tp) {
            events.add("leader " + tp);
        }

        @Override
        public void onResign(TopicPartition tp) {
            events.add("resign " + tp);
        }

        @Override
        public void onCommittedAppend(TopicPartition tp) {
            events.add("committed " + tp);
        }
    }

    @Test
    void listenersHearLeadershipMovesAndCommits() throws IOException {
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            List<Heard> heard = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Heard h = new Heard();
                cluster.node(i).addListener(h);
                heard.add(h);
            }
            TopicPartition tp = cluster.createPartition("orders", 0, 3);
            int leader = cluster.leaderIndex(tp);
            cluster.append(tp, TestBatches.batch(CompressionType.NONE, "m", 2, 1L), Acks.ALL);
            cluster.awaitReplicated(tp, 2, 10_000);
            assertTrue(heard.get(leader).events.contains("leader " + tp), heard.get(leader).events.toString());
            for (Heard h : heard) {
                awaitTrue(() -> h.events.contains("committed " + tp), "every replica commits: " + h.events);
            }
            assertEquals(0, cluster.node(leader).moveLeadershipsAway(10_000));
            int successor = cluster.leaderIndex(tp);
            assertTrue(successor != leader);
            awaitTrue(() -> heard.get(leader).events.contains("resign " + tp), "the old leader resigns: " + heard.get(leader).events);
            awaitTrue(() -> heard.get(successor).events.contains("leader " + tp), "the successor leads: " + heard.get(successor).events);
        }
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!condition.getAsBoolean()) {
            assertTrue(System.currentTimeMillis() < deadline, what);
            MiniCluster.sleep(20);
        }
    }

    static List<Record> readAll(RaftNode node, TopicPartition tp, long end) {
        List<Record> out = new ArrayList<>();
        long next = node.status(tp).logStartOffset();
        while (next < end) {
            List<Record> got = TestBatches.records(node.read(tp, next, 1 << 20).records());
            assertTrue(!got.isEmpty(), "no data at " + next);
            for (Record r : got) {
                if (r.offset() >= next) {
                    out.add(r);
                }
            }
            next = got.get(got.size() - 1).offset() + 1;
        }
        return out;
    }

    /** The segment (.log) files of every live replica are the same bytes. */
    static void assertIdenticalLogs(MiniCluster cluster, TopicPartition tp) throws IOException {
        List<Integer> replicas = cluster.replicaIndexes(tp).stream().filter(cluster::isUp).toList();
        Path first = cluster.dataDir(replicas.get(0)).resolve(tp.dirName());
        List<String> names;
        try (var files = Files.list(first)) {
            names = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(LogFiles.LOG_SUFFIX)).sorted().toList();
        }
        assertTrue(!names.isEmpty());
        for (int r : replicas.subList(1, replicas.size())) {
            Path other = cluster.dataDir(r).resolve(tp.dirName());
            try (var files = Files.list(other)) {
                assertEquals(names, files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(LogFiles.LOG_SUFFIX)).sorted().toList());
            }
            for (String name : names) {
                assertArrayEquals(Files.readAllBytes(first.resolve(name)), Files.readAllBytes(other.resolve(name)),
                        name + " differs between replicas");
            }
        }
    }
}
