package io.rafka.server;

import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.NewTopic;
import io.rafka.raft.testing.Tmpfs;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A broker whose disk fills up while the cluster's metadata changes: its metadata member's Raft log fails (Ratis then
 * refuses every later entry of it), so its view of the cluster freezes. It must say so (unhealthy, with the reason),
 * and, once space is free, start again: Ratis leaves the member's term-and-vote file empty when the write of a new
 * term fails, which made the broker refuse to start for good. Each broker's data folder is a tmpfs this test mounts
 * (root only, as CI runs).
 */
class FullDiskBrokerIT {
    @TempDir
    Path tmp;

    private final Tmpfs tmpfs = new Tmpfs();

    @AfterEach
    void unmount() throws Exception {
        tmpfs.close();
    }

    @Test
    void aBrokerWhoseMetadataLogFailedIsUnhealthyAndStartsAgainOnceSpaceIsFree() throws Exception {
        tmpfs.mount(64, tmp.resolve("broker-1"), tmp.resolve("broker-2"), tmp.resolve("broker-3"));  // BrokerCluster's data folders
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false"))) {
            int controller = -1;
            for (int i = 0; i < 3 && controller < 0; i++) {
                controller = cluster.broker(i).metadata().isController() ? i : -1;
            }
            int full = controller == 1 ? 2 : 1;  // a follower of the metadata group
            Path filler = Tmpfs.fill(tmp.resolve("broker-" + (full + 1)));

            // Every topic is a few metadata entries (the topic, its placement, its leaders): the full broker's
            // member cannot write them.
            long deadline = System.currentTimeMillis() + 60_000;
            for (int t = 0; cluster.broker(full).isServing() && System.currentTimeMillis() < deadline; t++) {
                cluster.admin(controller < 0 ? 0 : controller).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                        NewTopic.newBuilder().setName("t" + t).setPartitions(1).setReplicationFactor(2)).build());
            }
            assertTrue(cluster.broker(full).metadata().logFailure() != null, "the metadata member's log failed");
            String health = get(cluster.httpPort(full), "/health", 503);
            assertTrue(health.contains("metadata member's Raft log failed"), health);

            Files.delete(filler);
            cluster.stop(full);
            cluster.restart(full);  // before: Ratis could not load the member's term and vote, and the broker exited
            cluster.awaitTrue(() -> cluster.broker(full).isServing(), 60_000, "the broker serves again");
            int other = (full + 1) % 3;
            cluster.awaitTrue(() -> cluster.broker(full).metadata().image().topics().keySet()
                    .equals(cluster.broker(other).metadata().image().topics().keySet()), 30_000, "its metadata view is current");
            assertEquals("ok\n", get(cluster.httpPort(full), "/health", 200));
        }
    }

    /**
     * The controller's disk fills up. Ratis's leader keeps leading on a log that fails every entry (it still sends
     * heartbeats, so no other member stands for election), which left the cluster without a working controller: no
     * topic could be created or placed until an operator restarted that broker. Its member must give way at once,
     * and come back by itself, current, once space is free: no restart.
     */
    @Test
    void aControllerWhoseMetadataLogFailedGivesWayAndItsMemberHealsOnceSpaceIsFree() throws Exception {
        tmpfs.mount(64, tmp.resolve("broker-1"), tmp.resolve("broker-2"), tmp.resolve("broker-3"));
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false"))) {
            cluster.awaitTrue(() -> controllerIndex(cluster) >= 0, 30_000, "a controller");
            int full = controllerIndex(cluster);
            int other = (full + 1) % 3;
            // Topics are only added here: the full broker's view must never lose one, also while its member reopens.
            List<Integer> topicCounts = new CopyOnWriteArrayList<>();
            cluster.broker(full).metadata().addListener(image -> topicCounts.add(image.topics().size()));
            Path filler = Tmpfs.fill(tmp.resolve("broker-" + (full + 1)));

            long deadline = System.currentTimeMillis() + 60_000;
            for (int t = 0; cluster.broker(full).metadata().logFailure() == null && System.currentTimeMillis() < deadline; t++) {
                createTopic(cluster, other, "t" + t);
            }
            assertTrue(cluster.broker(full).metadata().logFailure() != null, "the controller's metadata log failed");

            // Another member takes over as controller, and metadata changes again, while the disk is still full.
            cluster.awaitTrue(() -> createTopic(cluster, other, "after"), 30_000, "a topic created after the failure");
            int controller = controllerIndex(cluster);
            assertTrue(controller >= 0 && controller != full, "the controller moved away from the full broker: " + controller);
            assertFalse(cluster.broker(full).metadata().isController(), "the failed member does not lead");
            assertTrue(get(cluster.httpPort(full), "/health", 503).contains("metadata member's Raft log failed"));

            Files.delete(filler);
            createTopic(cluster, other, "freed");
            cluster.awaitTrue(() -> cluster.broker(full).metadata().logFailure() == null
                    && cluster.broker(full).metadata().image().topics().keySet()
                    .equals(cluster.broker(other).metadata().image().topics().keySet()), 60_000,
                    "the member heals and its view is current, without a restart");
            assertTrue(cluster.broker(full).metadata().image().topics().containsKey("freed"));
            cluster.awaitTrue(() -> cluster.broker(full).isServing(), 30_000, "the broker serves again");
            assertEquals("ok\n", get(cluster.httpPort(full), "/health", 200));
            // and it takes entries again: a topic created now reaches it
            cluster.awaitTrue(() -> createTopic(cluster, full, "last"), 30_000, "a topic created through it");
            cluster.awaitTrue(() -> cluster.broker(full).metadata().image().topics().containsKey("last"), 30_000,
                    "its view moves");
            for (int i = 1; i < topicCounts.size(); i++) {
                assertTrue(topicCounts.get(i) >= topicCounts.get(i - 1), "its view went back: " + topicCounts);
            }
        }
    }

    /**
     * The controller's disk fills and its member closes, its group removed from its Raft server, which still answers.
     * Ratis's client fails a call to such a server at once with GroupMismatchException and, unlike after a refused
     * connection or a NotLeader answer, keeps it as its guess of the leader: the other brokers, whose clients had
     * the old controller as their guess, could neither heartbeat nor register, and stopped serving once their
     * session timed out (9 s), for as long as the full disk lasted.
     */
    @Test
    void theOtherBrokersKeepServingWhileTheFormerControllersMemberIsClosed() throws Exception {
        tmpfs.mount(64, tmp.resolve("broker-1"), tmp.resolve("broker-2"), tmp.resolve("broker-3"));
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false"))) {
            cluster.awaitTrue(() -> controllerIndex(cluster) >= 0, 30_000, "a controller");
            int full = controllerIndex(cluster);
            int other = (full + 1) % 3;
            Path filler = Tmpfs.fill(tmp.resolve("broker-" + (full + 1)));
            long deadline = System.currentTimeMillis() + 60_000;
            for (int t = 0; cluster.broker(full).metadata().logFailure() == null && System.currentTimeMillis() < deadline; t++) {
                createTopic(cluster, other, "t" + t);
            }
            assertTrue(cluster.broker(full).metadata().logFailure() != null, "the controller's metadata log failed");
            cluster.awaitTrue(() -> controllerIndex(cluster) >= 0 && controllerIndex(cluster) != full, 30_000, "a new controller");

            // Longer than the session timeout, the disk still full: the two others serve throughout.
            long until = System.currentTimeMillis() + 15_000;
            while (System.currentTimeMillis() < until) {
                for (int i = 0; i < 3; i++) {
                    if (i != full) {
                        int b = i;
                        assertTrue(cluster.broker(b).isServing(), () -> "broker " + (b + 1) + " stopped serving: "
                                + get(cluster.httpPort(b), "/health"));
                    }
                }
                Thread.sleep(200);
            }
            // A broker that crashes and starts meanwhile (not the controller: the metadata group has only two working
            // members) serves again too; its new client's first guess is the first voter, maybe the closed member.
            int controller = controllerIndex(cluster);
            int restarted = 3 - full - controller;
            cluster.kill(restarted);
            cluster.restart(restarted);
            cluster.awaitTrue(() -> cluster.broker(restarted).isServing(), 30_000, "the restarted broker serves");
            cluster.awaitTrue(() -> createTopic(cluster, restarted, "through-the-restarted"), 30_000,
                    "a topic created through the restarted broker");
            Files.delete(filler);
        }
    }

    /**
     * A broker stopped while its disk is full (a crash, a deploy, the OOM killer) starts again before anyone frees
     * space: it says it is unhealthy and why, its replicas wait closed for room while the others serve its
     * partitions, and once there is room it serves again and its replicas catch up, with no second restart. Before,
     * its start failed in the first partition log's recovery and the process exited.
     */
    @Test
    void aBrokerStartedOnAFullDiskStartsUnhealthyAndServesOnceSpaceIsFree() throws Exception {
        tmpfs.mount(64, tmp.resolve("broker-1"), tmp.resolve("broker-2"), tmp.resolve("broker-3"));
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false"))) {
            createTopic(cluster, 0, "before");
            assertTrue(cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
                    .setName("full").setPartitions(3).setReplicationFactor(3)).build()).getResults(0).getErrorCode()
                    == io.rafka.proto.v1.ErrorCode.NONE);
            List<Integer> leaders = cluster.awaitLeaders(0, "full", 30_000);
            for (int i = 0; i < 30; i++) {
                produce(cluster, leaders, i % 3);
            }
            int full = 1;
            Path filler = Tmpfs.fill(tmp.resolve("broker-" + (full + 1)));
            cluster.kill(full);
            cluster.restart(full);  // before: "cannot open partition log ...: No space left on device", no broker

            String health = get(cluster.httpPort(full), "/health", 503);
            assertTrue(health.contains("Raft logs failing to write"), health);
            leaders = cluster.awaitLeaders(0, "full", 30_000);
            assertFalse(leaders.contains(full), "the partitions are led elsewhere: " + leaders);
            for (int i = 0; i < 30; i++) {
                produce(cluster, leaders, i % 3);  // the other two replicas take them
            }
            createTopic(cluster, 0, "while-full");  // and the cluster's metadata moves on

            Files.delete(filler);
            cluster.awaitTrue(() -> cluster.broker(full).isServing(), 60_000, "the broker serves again");
            cluster.awaitTrue(() -> caughtUp(cluster, full, "full", 3, 20), 60_000, "its replicas caught up");
            cluster.awaitTrue(() -> cluster.broker(full).metadata().image().topics().containsKey("while-full"), 30_000,
                    "its metadata view is current");
            // healthy once no replica's log failed for 30 s (a disk that filled lately may fill again)
            cluster.awaitTrue(() -> healthy(cluster.httpPort(full)), 60_000, "healthy");
            for (int p = 0; p < 3; p++) {
                io.rafka.common.TopicPartition tp = new io.rafka.common.TopicPartition("full", p);
                assertEquals(cluster.broker(0).raftNode().read(tp, 0, Integer.MAX_VALUE).records(),
                        cluster.broker(full).raftNode().read(tp, 0, Integer.MAX_VALUE).records(), "partition " + p + " byte-identical");
            }
        }
    }

    /**
     * A broker that crashed after its metadata member's write of a new term failed on a full disk (Ratis leaves the
     * term-and-vote file empty) starts again before anyone frees space, so the repair of that file cannot write
     * either. Before, the broker exited at every start ("broker failed to start: No space left on device", seen in
     * bin/rafka chaos --faults full-restart); now its member starts closed, and opens, repaired, once there is room.
     */
    @Test
    void aBrokerWhoseMetadataVoteFileIsEmptyStartsOnAFullDiskAndServesOnceSpaceIsFree() throws Exception {
        tmpfs.mount(64, tmp.resolve("broker-1"), tmp.resolve("broker-2"), tmp.resolve("broker-3"));
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false"))) {
            cluster.awaitTrue(() -> createTopic(cluster, 0, "before"), 30_000, "a topic created");
            int full = 1;
            cluster.kill(full);
            Path meta = tmp.resolve("broker-" + (full + 1)).resolve("metadata-raft")
                    .resolve(io.rafka.metadata.MetadataNode.GROUP_ID.getUuid().toString()).resolve("current").resolve("raft-meta");
            assertTrue(Files.exists(meta), meta.toString());
            Files.write(meta, new byte[0]);  // as Ratis leaves it when the write of a new term fails
            Path filler = Tmpfs.fill(tmp.resolve("broker-" + (full + 1)));
            cluster.restart(full);  // before: "No space left on device" from the repair, and no broker

            String health = get(cluster.httpPort(full), "/health", 503);
            assertTrue(health.contains("metadata member's Raft log failed"), health);
            cluster.awaitTrue(() -> createTopic(cluster, 0, "while-full"), 30_000, "a topic created while the disk is full");
            Thread.sleep(3_000);  // a few of the member's heal checks (every 500 ms) on the full disk
            Path setAside = meta.getParent().getParent().resolveSibling(io.rafka.metadata.MetadataNode.GROUP_ID.getUuid()
                    + ".waiting-for-room");
            assertTrue(Files.isDirectory(setAside) && !Files.exists(meta.getParent().getParent()),
                    "the member's folder waits set aside while the disk is full");

            Files.delete(filler);
            cluster.awaitTrue(() -> cluster.broker(full).isServing(), 60_000, "the broker serves again");
            cluster.awaitTrue(() -> cluster.broker(full).metadata().image().topics().containsKey("while-full"), 30_000,
                    "its metadata view is current");
            assertTrue(cluster.broker(full).metadata().image().topics().containsKey("before"));
        }
    }

    private static void produce(BrokerCluster cluster, List<Integer> leaders, int partition) {
        io.rafka.proto.v1.ProduceResponse r = cluster.produce(leaders.get(partition)).withDeadlineAfter(30, TimeUnit.SECONDS)
                .produce(io.rafka.proto.v1.ProduceRequest.newBuilder().addPartitions(io.rafka.proto.v1.PartitionData.newBuilder()
                        .setTopic("full").setPartition(partition).setRecords(io.rafka.proto.v1.RecordSet.newBuilder()
                                .addRecords(io.rafka.proto.v1.ProducerRecord.newBuilder()
                                        .setValue(com.google.protobuf.ByteString.copyFrom(new byte[100]))))).build());
        assertEquals(io.rafka.proto.v1.ErrorCode.NONE, r.getResults(0).getErrorCode(), r.toString());
    }

    /** Whether broker {@code i}'s replicas of the topic hold {@code records} records each, as the others do. */
    private static boolean caughtUp(BrokerCluster cluster, int i, String topic, int partitions, long records) {
        for (int p = 0; p < partitions; p++) {
            io.rafka.common.TopicPartition tp = new io.rafka.common.TopicPartition(topic, p);
            try {
                if (cluster.broker(i).raftNode().status(tp).highWatermark() != records
                        || cluster.broker((i + 1) % 3).raftNode().status(tp).highWatermark() != records) {
                    return false;
                }
            } catch (RuntimeException notOpen) {
                return false;
            }
        }
        return true;
    }

    private static int controllerIndex(BrokerCluster cluster) {
        for (int i = 0; i < cluster.size(); i++) {
            if (cluster.broker(i).metadata().isController()) {
                return i;
            }
        }
        return -1;
    }

    /** Creates a topic through broker {@code via}; false if the call failed (e.g. no working controller). */
    private static boolean createTopic(BrokerCluster cluster, int via, String name) {
        try {
            cluster.admin(via).withDeadlineAfter(5, TimeUnit.SECONDS).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                    NewTopic.newBuilder().setName(name).setPartitions(1).setReplicationFactor(2)).build());
            return cluster.broker(via).metadata().image().topics().containsKey(name)
                    || cluster.broker((via + 1) % 3).metadata().image().topics().containsKey(name);
        } catch (io.grpc.StatusRuntimeException e) {
            return false;
        }
    }

    private static boolean healthy(int port) {
        try {
            return "ok\n".equals(get(port, "/health", 200));
        } catch (IOException | AssertionError notYet) {
            return false;
        }
    }

    private static String get(int port, String path) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + path).toURL().openConnection();
            try (InputStream in = c.getResponseCode() >= 400 ? c.getErrorStream() : c.getInputStream()) {
                return c.getResponseCode() + " " + new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static String get(int port, String path, int expectedStatus) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + path).toURL().openConnection();
        assertEquals(expectedStatus, c.getResponseCode());
        try (InputStream in = c.getResponseCode() >= 400 ? c.getErrorStream() : c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
