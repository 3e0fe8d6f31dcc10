package io.rafka.server.replica;

import io.rafka.controller.Controller;
import io.rafka.controller.ControllerLogic;
import io.rafka.metadata.BrokerInfo;
import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.MetadataNode;
import io.rafka.metadata.MetadataRecord;
import io.rafka.metadata.TopicInfo;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.log.LogConfig;
import io.rafka.raft.Acks;
import io.rafka.raft.AppendResult;
import io.rafka.raft.NodeAddress;
import io.rafka.raft.RaftNode;
import io.rafka.raft.RaftNodeConfig;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.controller.ControllerLogic.CreateTopicRequest;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three in-process brokers, each with a partition Raft node, a metadata group member, a controller role and
 * a partition reconciler, talking over loopback: topics survive controller failover and a full restart;
 * a controller crash in the middle of a big topic creation leaves no half-created topic and no orphan groups.
 */
class MetadataClusterIT {
    private static final long SESSION_TIMEOUT_MS = 6_000;

    @TempDir
    Path tmp;

    /** One broker's Raft roles, as the broker process will wire them. */
    static final class TestBroker {
        final String id;
        final NodeAddress raftAddress;
        final NodeAddress metadataAddress;
        final List<NodeAddress> voters;
        final Path dataDir;
        RaftNode raftNode;
        MetadataNode metadata;
        PartitionReconciler reconciler;
        Controller controller;
        ScheduledExecutorService heartbeats;
        long electionTimeoutMinMs = MetadataNode.Settings.DEFAULT_ELECTION_TIMEOUT_MIN_MS;
        long electionTimeoutMaxMs = MetadataNode.Settings.DEFAULT_ELECTION_TIMEOUT_MAX_MS;
        long commitTimeoutMs = 30_000;

        TestBroker(String id, NodeAddress raftAddress, NodeAddress metadataAddress, List<NodeAddress> voters, Path dataDir) {
            this.id = id;
            this.raftAddress = raftAddress;
            this.metadataAddress = metadataAddress;
            this.voters = voters;
            this.dataDir = dataDir;
        }

        void start() throws IOException {
            raftNode = RaftNode.start(RaftNodeConfig.builder(raftAddress, dataDir).build());
            metadata = MetadataNode.start(new MetadataNode.Settings(metadataAddress, voters, dataDir, electionTimeoutMinMs,
                    electionTimeoutMaxMs, true));
            reconciler = new PartitionReconciler(id, raftNode, metadata);
            controller = new Controller(metadata, LogConfig.defaults(), SESSION_TIMEOUT_MS,
                    Integer.parseInt(io.rafka.server.ServerConfig.MAX_PARTITIONS_PER_BROKER.defaultValue()), commitTimeoutMs);
            heartbeats = Executors.newSingleThreadScheduledExecutor();
            heartbeats.scheduleWithFixedDelay(() -> metadata.heartbeat(id), 0, 1, TimeUnit.SECONDS);
            CompletableFuture.runAsync(() -> {
                for (int attempt = 0; attempt < 300; attempt++) {
                    try {
                        metadata.submit(List.of(new MetadataRecord.RegisterBroker(
                                new BrokerInfo(id, raftAddress.host(), 0, raftAddress.port())))).get(10, TimeUnit.SECONDS);
                        return;
                    } catch (Exception e) {
                        sleep(100);
                    }
                }
            });
        }

        void kill() throws IOException {
            heartbeats.shutdownNow();
            reconciler.close();
            raftNode.halt();
            metadata.close();
            raftNode = null;
        }

        void stop() throws IOException {
            heartbeats.shutdownNow();
            reconciler.close();
            raftNode.close();
            metadata.close();
            raftNode = null;
        }

        boolean up() {
            return raftNode != null;
        }
    }

    private List<TestBroker> startCluster() throws IOException {
        return startCluster(b -> { });
    }

    private List<TestBroker> startCluster(java.util.function.Consumer<TestBroker> customize) throws IOException {
        List<NodeAddress> voters = new ArrayList<>();
        List<NodeAddress> raft = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            voters.add(new NodeAddress("b" + i, "127.0.0.1", freePort()));
            raft.add(new NodeAddress("b" + i, "127.0.0.1", freePort()));
        }
        List<TestBroker> brokers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            TestBroker b = new TestBroker("b" + i, raft.get(i), voters.get(i), voters, tmp.resolve("b" + i));
            customize.accept(b);
            b.start();
            brokers.add(b);
        }
        await(() -> brokers.stream().allMatch(b -> b.metadata.image().brokers().size() == 3), 60_000, "all brokers registered");
        return brokers;
    }

    private static TestBroker controller(List<TestBroker> brokers) {
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            for (TestBroker b : brokers) {
                if (b.up() && b.metadata.isController()) {
                    return b;
                }
            }
            sleep(50);
        }
        throw new IllegalStateException("no controller");
    }

    /** Every live broker hosts exactly the partitions its image assigns to it, and the images agree. */
    private static void awaitConverged(List<TestBroker> brokers) {
        await(() -> {
            MetadataImage reference = null;
            for (TestBroker b : brokers) {
                if (!b.up()) {
                    continue;
                }
                MetadataImage image = b.metadata.image();
                if (reference != null && !reference.topics().equals(image.topics())) {
                    return false;
                }
                reference = image;
                if (!b.raftNode.partitions().equals(PartitionReconciler.desired(image, b.id).keySet())) {
                    return false;
                }
            }
            return true;
        }, 120_000, "brokers converge on the metadata image");
    }

    private static AppendResult append(List<TestBroker> brokers, TopicPartition tp, String value) {
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            for (TestBroker b : brokers) {
                try {
                    if (b.up() && b.raftNode.partitions().contains(tp) && b.raftNode.status(tp).isLeader()) {
                        return b.raftNode.append(tp, TestBatches.batch(CompressionType.NONE, value, 1, 1L), Acks.ALL).get(30, TimeUnit.SECONDS);
                    }
                } catch (Exception e) {
                    // Leadership moved; look again.
                }
            }
            sleep(50);
        }
        throw new IllegalStateException("could not append to " + tp);
    }

    /**
     * Every member of the metadata group starts from the same empty image at (term 0, index 0), so the group's
     * first entry is index 1: Ratis 3.3 lets a follower commit its own index 0 on a heartbeat naming no previous
     * entry, which stranded a member that led the first term alone and died (docs/replication.md).
     */
    @Test
    void everyMetadataMemberStartsFromTheSharedEmptySnapshot() throws Exception {
        List<TestBroker> brokers = startCluster();
        try {
            for (TestBroker b : brokers) {
                Path current = b.dataDir.resolve("metadata-raft").resolve(MetadataNode.GROUP_ID.getUuid().toString()).resolve("current");
                List<String> names;
                try (var files = Files.list(current)) {
                    names = files.map(f -> f.getFileName().toString()).sorted().toList();
                }
                List<String> all;
                try (var files = Files.walk(current.getParent())) {
                    all = files.map(f -> current.getParent().relativize(f).toString()).sorted().toList();
                }
                assertTrue(all.contains("sm/snapshot.0_0"), b.id + ": no snapshot 0_0 in " + all);   // the state machine's storage
                List<String> logs = names.stream().filter(n -> n.startsWith("log_")).toList();
                assertTrue(!logs.isEmpty(), b.id + ": " + names);
                for (String log : logs) {
                    long start = Long.parseLong(log.replace("log_inprogress_", "").replace("log_", "").split("-")[0]);
                    assertTrue(start >= 1, b.id + ": a log segment from index 0: " + names);
                }
            }
            // A snapshot damaged on disk is not loaded as if it were whole: the member refuses to start, saying so.
            TestBroker damaged = brokers.get(2);
            damaged.stop();
            Path sm = damaged.dataDir.resolve("metadata-raft").resolve(MetadataNode.GROUP_ID.getUuid().toString()).resolve("sm");
            Path snapshot;
            try (var files = Files.list(sm)) {   // the newest (stopping took one)
                snapshot = files.filter(f -> f.getFileName().toString().matches("snapshot\\.\\d+_\\d+"))
                        .max(java.util.Comparator.comparingLong(f -> Long.parseLong(f.getFileName().toString().split("_")[1])))
                        .orElseThrow();
            }
            byte[] bytes = Files.readAllBytes(snapshot);
            bytes[bytes.length - 1] ^= 1;
            Files.write(snapshot, bytes);
            Throwable refused = org.junit.jupiter.api.Assertions.assertThrows(Throwable.class,
                    () -> MetadataNode.start(damaged.metadataAddress, damaged.voters, damaged.dataDir).close());
            String messages = "";
            for (Throwable t = refused; t != null; t = t.getCause()) {
                messages += t + "\n";
            }
            assertTrue(messages.contains("does not match its MD5"), messages);
        } finally {
            for (TestBroker b : brokers) {
                if (b.up()) {
                    b.stop();
                }
            }
        }
    }

    /**
     * A change that did not commit in time is still in the controller's log, not in its image: the next change is
     * decided only once it settled (old: the same partitions were added twice once both committed).
     */
    @Test
    void aChangeThatTimedOutSettlesBeforeTheNextIsDecided() throws Exception {
        // Long election timeouts: the controller keeps its role (for up to 10 s) while it cannot commit.
        List<TestBroker> brokers = startCluster(b -> {
            b.electionTimeoutMinMs = 5_000;
            b.electionTimeoutMaxMs = 10_000;
            b.commitTimeoutMs = 500;
        });
        try {
            TestBroker controller = controller(brokers);
            controller.controller.createTopic(new CreateTopicRequest("grow", 1, 1, Map.of()));
            List<TestBroker> others = brokers.stream().filter(b -> b != controller).toList();
            for (TestBroker b : others) {
                b.stop();
            }
            RafkaException first = org.junit.jupiter.api.Assertions.assertThrows(RafkaException.class,
                    () -> controller.controller.createPartitions("grow", 2));
            assertEquals(io.rafka.common.ErrorCode.REQUEST_TIMED_OUT, first.errorCode(), first.toString());
            RafkaException second = org.junit.jupiter.api.Assertions.assertThrows(RafkaException.class,
                    () -> controller.controller.createPartitions("grow", 2));
            assertEquals(io.rafka.common.ErrorCode.REQUEST_TIMED_OUT, second.errorCode(), second.toString());
            // A create meanwhile times out too, once: it used to wait for the unsettled change again and again,
            // holding the controller until the role was lost.
            List<Controller.CreateResult> blocked = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                    java.time.Duration.ofSeconds(4), () -> controller.controller.createTopics(List.of(
                            new CreateTopicRequest("blocked-a", 1, 1, Map.of()), new CreateTopicRequest("blocked-b", 1, 1, Map.of()))));
            for (Controller.CreateResult r : blocked) {
                assertEquals(io.rafka.common.ErrorCode.REQUEST_TIMED_OUT, r.error() == null ? null : r.error().errorCode(),
                        String.valueOf(r));
            }
            others.get(0).start();
            await(() -> controller.metadata.image().topic("grow").partitionCount() >= 2, 30_000, "the first change committed");
            // One more change, decided after both: the count it sees is the first change's alone.
            controller.controller.alterConfigs("grow", Map.of("retention.ms", "60000"), List.of());
            assertEquals(2, controller.metadata.image().topic("grow").partitionCount(), "partitions added once");
        } finally {
            for (TestBroker b : brokers) {
                if (b.up()) {
                    b.stop();
                }
            }
        }
    }

    @Test
    void topicsSurviveControllerFailoverAndFullRestart() throws Exception {
        List<TestBroker> brokers = startCluster();
        try {
            TopicInfo a = controller(brokers).controller.createTopic(new CreateTopicRequest("alpha", 6, 3, Map.of()));
            assertEquals(6, a.partitionCount());
            controller(brokers).controller.createTopic(new CreateTopicRequest("beta", 3, 2, Map.of("retention.ms", "60000")));
            awaitConverged(brokers);
            for (int p = 0; p < 6; p++) {
                assertEquals(0, append(brokers, new TopicPartition("alpha", p), "a" + p).baseOffset());
            }
            // Once everything is in place, a pass over the same topics and brokers is skipped (it runs every
            // second otherwise, which with thousands of hibernated partitions was most of an idle broker's CPU).
            await(() -> {
                List<Long> passes = brokers.stream().map(b -> b.reconciler.passes()).toList();
                sleep(2_500);
                return passes.equals(brokers.stream().map(b -> b.reconciler.passes()).toList());
            }, 30_000, "no reconciliation passes over an unchanged image");
            Map<String, Integer> leaders = brokers.get(0).metadata.image().preferredLeaderCounts();
            assertTrue(leaders.values().stream().allMatch(c -> c == 3), "9 partitions, 3 brokers: 3 preferred leaders each " + leaders);

            TestBroker oldController = controller(brokers);
            oldController.kill();
            TestBroker newController = controller(brokers);
            assertTrue(newController != oldController);
            newController.controller.createTopic(new CreateTopicRequest("gamma", 2, 2, Map.of()));
            for (TestBroker b : brokers) {
                if (b.up()) {
                    await(() -> b.metadata.image().topic("gamma") != null, 30_000, "gamma visible on " + b.id);
                }
            }
            oldController.start();
            awaitConverged(brokers);
            MetadataImage before = brokers.get(0).metadata.image();

            for (TestBroker b : brokers) {
                b.stop();
            }
            for (TestBroker b : brokers) {
                b.start();
            }
            awaitConverged(brokers);
            for (TestBroker b : brokers) {
                MetadataImage after = b.metadata.image();
                assertEquals(before.topics(), after.topics(), "topics, ids, configs and placements intact on " + b.id);
                assertEquals("60000", after.topic("beta").configs().get("retention.ms"));
            }
            // Topic configs reach the partition logs, and an alter reaches them too.
            for (TestBroker b : brokers) {
                for (TopicPartition tp : b.raftNode.partitions()) {
                    if (tp.topic().equals("beta")) {
                        await(() -> b.raftNode.log(tp).config().retentionMs() == 60_000, 10_000, "beta retention on " + b.id);
                    }
                }
            }
            controller(brokers).controller.alterConfigs("beta", Map.of("retention.ms", "1234", "segment.bytes", "1048576"));
            for (TestBroker b : brokers) {
                for (TopicPartition tp : b.raftNode.partitions()) {
                    if (tp.topic().equals("beta")) {
                        await(() -> b.raftNode.log(tp).config().retentionMs() == 1234
                                && b.raftNode.log(tp).config().segmentBytes() == 1048576, 10_000, "altered beta on " + b.id);
                    }
                }
            }
            for (int p = 0; p < 6; p++) {
                assertEquals(1, append(brokers, new TopicPartition("alpha", p), "again").baseOffset(), "data kept in alpha-" + p);
            }
        } finally {
            for (TestBroker b : brokers) {
                if (b.up()) {
                    b.stop();
                }
            }
        }
    }

    /** Partitions of the big topic: enough that the controller is killed while it still creates them. */
    private static final int BIG = 50;

    @Test
    void controllerCrashDuringABigCreateLeavesNoHalfTopicAndNoOrphans() throws Exception {
        List<TestBroker> brokers = startCluster();
        try {
            TestBroker first = controller(brokers);
            CompletableFuture<TopicInfo> create = CompletableFuture.supplyAsync(() ->
                    first.controller.createTopic(new CreateTopicRequest("big", BIG, 3, Map.of())));
            sleep(30);
            first.kill();
            try {
                create.get(60, TimeUnit.SECONDS);
            } catch (Exception e) {
                // The request may or may not have committed before the crash.
            }
            TestBroker second = controller(brokers);
            if (second.metadata.image().topic("big") == null) {
                second.controller.createTopic(new CreateTopicRequest("big", BIG, 3, Map.of()));
            }
            first.start();
            awaitConverged(brokers);
            TopicInfo big = brokers.get(0).metadata.image().topic("big");
            assertNotNull(big);
            assertEquals(BIG, big.partitionCount());
            for (TestBroker b : brokers) {
                Set<String> dirs = new HashSet<>();
                try (var list = Files.list(b.dataDir)) {
                    list.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("big-")).forEach(dirs::add);
                }
                assertEquals(BIG, dirs.size(), "RF 3 on 3 brokers: every broker holds all " + BIG + " partition folders, no more");
                assertEquals(BIG, b.raftNode.partitions().size(), "no orphan groups on " + b.id);
            }
            // And a delete removes every group and folder everywhere.
            controller(brokers).controller.deleteTopic("big");
            awaitConverged(brokers);
            for (TestBroker b : brokers) {
                assertTrue(b.raftNode.partitions().isEmpty());
                // A replica leaves the hosted set at once; its folder goes when its group has closed.
                await(() -> {
                    try (var list = Files.list(b.dataDir)) {
                        return list.noneMatch(p -> p.getFileName().toString().startsWith("big-"));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, 30_000, "big's folders deleted on " + b.id);
            }
        } finally {
            for (TestBroker b : brokers) {
                if (b.up()) {
                    b.stop();
                }
            }
        }
    }

    @Test
    void nonControllersRefuseAndValidationErrorsAreTyped() throws Exception {
        List<TestBroker> brokers = startCluster();
        try {
            TestBroker c = controller(brokers);
            TestBroker other = brokers.stream().filter(b -> b != c).findFirst().orElseThrow();
            RafkaException e = org.junit.jupiter.api.Assertions.assertThrows(RafkaException.class,
                    () -> other.controller.createTopic(new CreateTopicRequest("x", 1, 1, Map.of())));
            assertEquals(io.rafka.common.ErrorCode.NOT_CONTROLLER, e.errorCode());
            assertEquals(c.id, ((io.rafka.common.NotControllerException) e).controllerId().orElseThrow());
            c.controller.createTopic(new CreateTopicRequest("x", 1, 1, Map.of()));
            assertEquals(io.rafka.common.ErrorCode.TOPIC_ALREADY_EXISTS, org.junit.jupiter.api.Assertions.assertThrows(RafkaException.class,
                    () -> c.controller.createTopic(new CreateTopicRequest("x", 1, 1, Map.of()))).errorCode());
            assertEquals(io.rafka.common.ErrorCode.INVALID_REPLICATION_FACTOR, org.junit.jupiter.api.Assertions.assertThrows(RafkaException.class,
                    () -> c.controller.createTopic(new CreateTopicRequest("y", 1, 4, Map.of()))).errorCode());

            // One request of many topics: each decided after the ones before it, a refused one fails alone, and
            // all of them appear in the image at once (one metadata entry), not one entry per topic.
            List<Integer> topicCounts = new java.util.concurrent.CopyOnWriteArrayList<>();
            int before = c.metadata.image().topics().size();
            c.metadata.addListener(image -> topicCounts.add(image.topics().size()));
            List<CreateTopicRequest> many = new java.util.ArrayList<>();
            for (int i = 0; i < 300; i++) {
                many.add(new CreateTopicRequest(i == 100 ? "bad name" : i == 200 ? "x" : "bulk-" + i, 1, 1, Map.of()));
            }
            List<Controller.CreateResult> results = c.controller.createTopics(many);
            assertEquals(io.rafka.common.ErrorCode.INVALID_TOPIC, results.get(100).error().errorCode());
            assertEquals(io.rafka.common.ErrorCode.TOPIC_ALREADY_EXISTS, results.get(200).error().errorCode());
            assertEquals(298, results.stream().filter(r -> r.error() == null && r.topic() != null).count());
            assertEquals(List.of(before + 298), topicCounts.stream().filter(n -> n > before).distinct().toList(),
                    "the topic count went straight from " + before + " to " + (before + 298));
        } finally {
            for (TestBroker b : brokers) {
                if (b.up()) {
                    b.stop();
                }
            }
        }
    }

    private static void await(BooleanSupplier condition, long timeoutMs, String what) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("timed out waiting: " + what);
            }
            sleep(100);
        }
    }

    private static int freePort() throws IOException {
        return MiniCluster.freePort();
    }

    private static void sleep(long ms) {
        MiniCluster.sleep(ms);
    }
}
