package io.rafka.server.group;

import io.grpc.StatusRuntimeException;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.AlterOffsetsRequest;
import io.rafka.proto.v1.CommitOffsetsRequest;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.DeleteGroupRequest;
import io.rafka.proto.v1.DescribeGroupRequest;
import io.rafka.proto.v1.DescribeGroupResponse;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchOffsetsRequest;
import io.rafka.proto.v1.FindCoordinatorRequest;
import io.rafka.proto.v1.GroupServiceGrpc;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.OffsetCommit;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordSet;
import io.rafka.proto.v1.TopicPartitions;
import io.rafka.server.grpc.ApiErrors;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Consumer groups on three in-process brokers, driven by members written against the raw gRPC API
 * ({@link TestMember}), checked from outside: no partition consumed by two members at once, every produced record
 * consumed, duplicates only where a crash left offsets uncommitted, committed offsets never going back.
 */
class ConsumerGroupIT {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ConsumerGroupIT.class);
    @TempDir
    static Path tmp;
    static BrokerCluster cluster;

    @BeforeAll
    static void start() throws IOException {
        cluster = BrokerCluster.start(3, tmp, Map.of("group.coordinator.partitions", "4", "auto.create.topics.enable", "false",
                // small checkpoints and segments, so the compaction path runs in every test here
                "group.coordinator.checkpoint.records", "200", "group.coordinator.segment.bytes", "16384",
                // a low bound on each partition's bytes awaiting commit, which bulky commits exceed together
                "partition.max.in.flight.bytes", Integer.toString(2 << 20), "group.offset.metadata.max.bytes", "16384",
                // leaderships stay where the tests leave them: handed back to a broker restarted by one test, they
                // moved coordinators in the middle of the next (seen failing the bulky commits' test, which counts
                // unloads)
                "auto.leader.rebalance.enable", "false"));
    }

    @AfterAll
    static void stop() throws IOException {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void membersShareATopicThroughJoinCrashAndLeave() throws Exception {
        createTopic("orders", 6);
        OwnershipChecker checker = new OwnershipChecker();
        Consumed consumed = new Consumed();
        Producer producer = new Producer("orders", 6);
        List<TestMember> members = new ArrayList<>();
        try {
            for (int i = 1; i <= 3; i++) {
                members.add(new TestMember("m" + i, cluster, "g1", List.of("orders"), "", checker, consumed));
            }
            awaitStable("g1", 3, 6, checker);
            members.add(new TestMember("m4", cluster, "g1", List.of("orders"), "", checker, consumed));
            awaitStable("g1", 4, 6, checker);
            for (var m : describe("g1").getMembersList()) {
                int owned = m.getAssignmentList().stream().mapToInt(TopicPartitions::getPartitionsCount).sum();
                assertTrue(owned == 1 || owned == 2, "4 members on 6 partitions own 1 or 2 each: " + m);
            }

            TestMember crashed = members.get(1);
            Map<TopicPartition, Long> committedAtCrash = new HashMap<>();
            crashed.owned().forEach(tp -> committedAtCrash.put(tp, consumed.committed(tp)));
            long crashAt = System.currentTimeMillis();
            crashed.kill();
            awaitStable("g1", 3, 6, checker);
            LOG.info("after a member's crash every partition was consumed again within {} ms", System.currentTimeMillis() - crashAt);

            String metrics = metrics(coordinatorIndex("g1"));
            assertTrue(metrics.contains("rafka_group_rebalances_total"), metrics);
            assertTrue(metrics.matches("(?s).*rafka_group_members_removed_total [1-9].*"), "the crashed member counted as removed");
            assertTrue(metrics.contains("rafka_group_lag{group=\"g1\",partition=\"0\",topic=\"orders\"}"), "lag per group and partition");

            members.get(2).close();
            awaitStable("g1", 2, 6, checker);
            producer.stopAfter(300);
            awaitAllConsumed(producer, consumed);
            long produced = producer.ends.values().stream().mapToLong(Long::longValue).sum();
            LOG.info("produced {} records; consumed with {} duplicates", produced,
                    java.util.stream.IntStream.range(0, 6).map(p -> consumed.duplicates(new TopicPartition("orders", p)).size()).sum());
            assertEquals(6, producer.ends.size(), "records were produced to every partition");
            assertEquals(List.of(), checker.violations(), "no partition consumed by two members at once");
            for (int p = 0; p < 6; p++) {
                TopicPartition tp = new TopicPartition("orders", p);
                assertEquals(List.of(), consumed.missing(tp, producer.ends.getOrDefault(p, 0L)), "every record of " + tp + " consumed");
                for (long dup : consumed.duplicates(tp)) {
                    assertTrue(committedAtCrash.containsKey(tp) && dup >= committedAtCrash.get(tp),
                            tp + " offset " + dup + " consumed twice, but it was no crashed member's uncommitted record");
                }
            }
        } finally {
            producer.stop();
            members.forEach(TestMember::close);
        }
    }

    private void awaitAllConsumed(Producer producer, Consumed consumed) {
        cluster.awaitTrue(() -> producer.ends.entrySet().stream().allMatch(e ->
                consumed.committed(new TopicPartition(producer.topic, e.getKey())) >= e.getValue()), 60_000,
                "every produced record of " + producer.topic + " consumed and committed: ends " + producer.ends
                        + ", committed " + java.util.stream.IntStream.range(0, producer.partitions).mapToObj(p ->
                        consumed.committed(new TopicPartition(producer.topic, p))).toList());
    }

    @Test
    void aCoordinatorCrashLosesNoCommittedOffsetAndTheGroupResumes() throws Exception {
        createTopic("events", 4);
        OwnershipChecker checker = new OwnershipChecker();
        Consumed consumed = new Consumed();
        Producer producer = new Producer("events", 4);
        List<TestMember> members = new ArrayList<>();
        OffsetWatch watch = new OffsetWatch("g2", "events", 4);
        try {
            for (int i = 1; i <= 2; i++) {
                members.add(new TestMember("c" + i, cluster, "g2", List.of("events"), "", checker, consumed));
            }
            awaitStable("g2", 2, 4, checker);
            cluster.awaitTrue(() -> watch.max().values().stream().filter(o -> o > 0).count() == 4, 30_000, "commits on every partition");
            int coordinator = coordinatorIndex("g2");
            cluster.kill(coordinator);
            long killedAt = System.currentTimeMillis();
            Map<TopicPartition, Long> before = watch.max();
            cluster.awaitTrue(() -> {
                Map<TopicPartition, Long> now = watch.max();
                return before.entrySet().stream().allMatch(e -> now.getOrDefault(e.getKey(), -1L) > e.getValue());
            }, 60_000, "commits advancing on every partition after the coordinator's crash");
            LOG.info("the coordinator's crash: commits advanced on every partition again after {} ms", System.currentTimeMillis() - killedAt);
            producer.stop();
            awaitAllConsumed(producer, consumed);
            watch.stop();
            assertEquals(List.of(), watch.violations(), "no committed offset went backwards");
            assertEquals(List.of(), checker.violations(), "no partition consumed by two members at once");
            for (int p = 0; p < 4; p++) {
                TopicPartition tp = new TopicPartition("events", p);
                assertEquals(List.of(), consumed.missing(tp, producer.ends.getOrDefault(p, 0L)), "every record of " + tp + " consumed");
                assertEquals(List.of(), consumed.duplicates(tp), "the members kept their partitions and positions: nothing re-read");
            }
            cluster.restart(coordinator);
        } finally {
            watch.stop();
            producer.stop();
            members.forEach(TestMember::close);
        }
    }

    @Test
    void twoGroupsEachGetEverythingAndAPatternPicksUpANewTopic() throws Exception {
        createTopic("feed-a", 3);
        OwnershipChecker checkerA = new OwnershipChecker();
        OwnershipChecker checkerB = new OwnershipChecker();
        Consumed consumedA = new Consumed();
        Consumed consumedB = new Consumed();
        Producer first = new Producer("feed-a", 3);
        try (TestMember a = new TestMember("a1", cluster, "group-a", List.of("feed-a"), "", checkerA, consumedA);
             TestMember b = new TestMember("b1", cluster, "group-b", List.of(), "feed-.*", checkerB, consumedB)) {
            sleep(500);
            first.stop();
            awaitAllConsumed(first, consumedA);
            awaitAllConsumed(first, consumedB);
            createTopic("feed-b", 2);
            Producer second = new Producer("feed-b", 2);
            sleep(300);
            second.stop();
            awaitAllConsumed(second, consumedB);
            assertTrue(a.owned().stream().noneMatch(tp -> tp.topic().equals("feed-b")), "group-a subscribes to feed-a only");
            assertEquals(5, b.owned().size(), "the pattern member owns feed-a and feed-b: " + b.owned());
            for (int p = 0; p < 3; p++) {
                TopicPartition tp = new TopicPartition("feed-a", p);
                long end = first.ends.getOrDefault(p, 0L);
                assertEquals(List.of(), consumedA.missing(tp, end));
                assertEquals(List.of(), consumedB.missing(tp, end));
            }
        } finally {
            first.stop();
        }
    }

    @Test
    void checkpointsLetOldRecordsGoAndAFailoverRebuildsTheSameOffsets() throws Exception {
        createTopic("compacted", 3);
        String group = "gc";
        for (int i = 1; i <= 750; i++) {
            int offset = i;
            var r = retrying(() -> coordinator(group).commitOffsets(commit(group, "", -1, "compacted", offset % 3, offset))).getResults(0);
            assertEquals(ErrorCode.NONE, r.getErrorCode(), r.toString());
        }
        TopicPartition partition = new TopicPartition("__consumer_offsets",
                cluster.broker(0).groups().coordinator().partitionFor(group));
        cluster.awaitTrue(() -> java.util.stream.IntStream.range(0, 3).allMatch(i ->
                        cluster.broker(i).raftNode().log(partition).logStartOffset() > 400), 30_000,
                "every replica of " + partition + " deleted the segments below a checkpoint");
        LOG.info("{}: log start offsets after 750 commits: {}", partition, java.util.stream.IntStream.range(0, 3)
                .mapToObj(i -> cluster.broker(i).raftNode().log(partition).logStartOffset()).toList());
        int coordinator = coordinatorIndex(group);
        cluster.kill(coordinator);
        try {
            var offsets = retrying(() -> coordinator(group).fetchOffsets(FetchOffsetsRequest.newBuilder().setGroupId(group).build()));
            Map<Integer, Long> got = new HashMap<>();
            offsets.getOffsetsList().forEach(o -> got.put(o.getPartition(), o.getOffset()));
            assertEquals(Map.of(0, 750L, 1, 748L, 2, 749L), got, "the new coordinator rebuilt the latest commit of each partition");
        } finally {
            cluster.restart(coordinator);
        }
    }

    @Test
    void aStaticMemberRestartsWithoutMovingPartitions() throws Exception {
        createTopic("static", 4);
        OwnershipChecker checker = new OwnershipChecker();
        Consumed consumed = new Consumed();
        TestMember first = new TestMember("s1", cluster, "gs", List.of("static"), "", checker, consumed, "instance-1", 30_000);
        try (TestMember other = new TestMember("s2", cluster, "gs", List.of("static"), "", checker, consumed, "instance-2", 30_000)) {
            awaitStable("gs", 2, 4, checker);
            Set<TopicPartition> before = first.owned();
            Set<TopicPartition> otherBefore = other.owned();
            String memberId = first.memberId();
            first.leaveTemporarily();
            sleep(1_500);
            DescribeGroupResponse away = describe("gs");
            assertEquals(2, away.getMembersCount(), "the static member stays during its session: " + away);
            assertEquals(otherBefore, other.owned(), "nothing moved to the other member while it was away");
            try (TestMember back = new TestMember("s1-restarted", cluster, "gs", List.of("static"), "", checker, consumed, "instance-1", 30_000)) {
                awaitStable("gs", 2, 4, checker);
                assertTrue(!memberId.equals(back.memberId()), "under a new member id (the old one is fenced)");
                assertEquals(before, back.owned(), "with the same partitions");
                TopicPartition mine = before.iterator().next();
                assertCode(ErrorCode.UNKNOWN_MEMBER_ID, () -> coordinator("gs").commitOffsets(
                        commit("gs", memberId, 1, mine.topic(), mine.partition(), 0)));
                assertEquals(otherBefore, other.owned());
            }
        }
        assertEquals(List.of(), checker.violations());
    }

    @Test
    void aHungMemberLosesItsPartitionsAfterItsSessionTimeout() throws Exception {
        createTopic("hang", 2);
        OwnershipChecker checker = new OwnershipChecker();
        Consumed consumed = new Consumed();
        try (TestMember hung = new TestMember("h1", cluster, "gh", List.of("hang"), "", checker, consumed, "", 3_000);
             TestMember healthy = new TestMember("h2", cluster, "gh", List.of("hang"), "", checker, consumed, "", 3_000)) {
            awaitStable("gh", 2, 2, checker);
            long hungAt = System.currentTimeMillis();
            hung.hang();
            cluster.awaitTrue(() -> healthy.owned().size() == 2, 20_000, "the healthy member owns both partitions");
            long tookMs = System.currentTimeMillis() - hungAt;
            LOG.info("a hung member's partitions were taken over after {} ms (session timeout 3,000 ms)", tookMs);
            assertTrue(tookMs >= 2_900, "not before the session timeout (its connection stayed open): " + tookMs);
        }
        assertEquals(List.of(), checker.violations());
    }

    @Test
    void addedPartitionsAreConsumedAndOffsetsOfDeletedTopicsGo() throws Exception {
        createTopic("growing", 2);
        createTopic("doomed", 1);
        OwnershipChecker checker = new OwnershipChecker();
        try (TestMember m = new TestMember("p1", cluster, "gp", List.of("growing"), "", checker, new Consumed())) {
            awaitStable("gp", 1, 2, checker);
            var grown = cluster.admin(0).createPartitions(io.rafka.proto.v1.CreatePartitionsRequest.newBuilder()
                    .setTopic("growing").setTotalCount(4).build());
            assertEquals(ErrorCode.NONE, grown.getResult().getErrorCode(), grown.toString());
            cluster.awaitTrue(() -> m.owned().size() == 4, 30_000, "the member consumes the 2 added partitions too");
        }
        var r = retrying(() -> coordinator("gd").commitOffsets(commit("gd", "", -1, "doomed", 0, 7))).getResults(0);
        assertEquals(ErrorCode.NONE, r.getErrorCode());
        var deleted = cluster.admin(0).deleteTopics(io.rafka.proto.v1.DeleteTopicsRequest.newBuilder().addNames("doomed").build());
        assertEquals(ErrorCode.NONE, deleted.getResults(0).getErrorCode(), deleted.toString());
        cluster.awaitTrue(() -> retrying(() -> coordinator("gd").fetchOffsets(FetchOffsetsRequest.newBuilder().setGroupId("gd")
                .build())).getOffsetsCount() == 0, 30_000, "the offsets of the deleted topic removed");
    }

    @Test
    void badInputGetsTypedErrors() throws Exception {
        createTopic("bad", 2);
        var any = GroupServiceGrpc.newBlockingStub(cluster.channel(0)).withDeadlineAfter(10, TimeUnit.SECONDS);
        assertCode(ErrorCode.INVALID_GROUP_ID, () -> any.findCoordinator(FindCoordinatorRequest.getDefaultInstance()));
        assertCode(ErrorCode.GROUP_ID_NOT_FOUND, () -> describe("no-such-group"));
        assertCode(ErrorCode.GROUP_ID_NOT_FOUND, () -> coordinator("no-such-group")
                .deleteGroup(DeleteGroupRequest.newBuilder().setGroupId("no-such-group").build()));
        assertCode(ErrorCode.UNKNOWN_MEMBER_ID, () -> coordinator("gb").commitOffsets(commit("gb", "nobody", 1, "bad", 0, 5)));
        // A message that echoes a long member id still fits the client's header limit, with its code.
        assertCode(ErrorCode.UNKNOWN_MEMBER_ID, () -> coordinator("gb").commitOffsets(commit("gb", "n\u00e9".repeat(10_000), 1, "bad", 0, 5)));
        assertCode(ErrorCode.INVALID_REQUEST, () -> heartbeatOnce(io.rafka.proto.v1.HeartbeatRequest.newBuilder()
                .setGroupId("gb").addSubscribedTopics("bad").setClientId("c".repeat(70_000)).build()));
        // 10,000 names of 249 characters: a member record larger than the coordinator partition's records may be,
        // so every write of its group's partition would fail.
        var huge = io.rafka.proto.v1.HeartbeatRequest.newBuilder().setGroupId("gb").setClientId("c");
        for (int i = 0; i < 10_000; i++) {
            huge.addSubscribedTopics(String.format("%05d", i) + "t".repeat(244));
        }
        assertCode(ErrorCode.INVALID_REQUEST, () -> retrying(() -> heartbeatOnce(huge.build())));
        var internalProduce = cluster.produce(0).produce(ProduceRequest.newBuilder().addPartitions(PartitionData.newBuilder()
                .setTopic("__consumer_offsets").setPartition(0).setRecords(RecordSet.newBuilder()
                        .addRecords(ProducerRecord.newBuilder().setValue(com.google.protobuf.ByteString.copyFromUtf8("x"))))).build());
        assertEquals(ErrorCode.INVALID_TOPIC, internalProduce.getResults(0).getErrorCode(), "nobody but the coordinator writes it");
        var internalDelete = cluster.admin(0).deleteTopics(io.rafka.proto.v1.DeleteTopicsRequest.newBuilder()
                .addNames("__consumer_offsets").build());
        assertEquals(ErrorCode.INVALID_TOPIC, internalDelete.getResults(0).getErrorCode(), "the groups' state cannot be deleted");
        for (var alter : List.of(io.rafka.proto.v1.AlterConfigsRequest.newBuilder().setTopic("__consumer_offsets").putSet("retention.ms", "1000"),
                io.rafka.proto.v1.AlterConfigsRequest.newBuilder().setTopic("__consumer_offsets").addDelete("retention.bytes"),
                io.rafka.proto.v1.AlterConfigsRequest.newBuilder().setTopic("__consumer_offsets").putSet("max.message.bytes", "1024"))) {
            var r = cluster.admin(0).alterConfigs(alter.build()).getResult();
            assertEquals(ErrorCode.INVALID_CONFIG, r.getErrorCode(), "committed offsets must not expire or stop fitting: " + r);
        }
        var kept = cluster.admin(0).describeTopics(io.rafka.proto.v1.DescribeTopicsRequest.newBuilder()
                .addNames("__consumer_offsets").build()).getTopics(0).getConfigsMap();
        assertEquals("-1", kept.get("retention.ms"), kept.toString());
        assertEquals("-1", kept.get("retention.bytes"), kept.toString());

        OwnershipChecker checker = new OwnershipChecker();
        try (TestMember m = new TestMember("x1", cluster, "gb", List.of("bad"), "", checker, new Consumed())) {
            awaitStable("gb", 1, 2, checker);
            String id = m.memberId();
            int epoch = m.epoch();
            assertCode(ErrorCode.FENCED_MEMBER_EPOCH, () -> coordinator("gb").commitOffsets(commit("gb", id, epoch + 1, "bad", 0, 5)));
            assertCode(ErrorCode.STALE_MEMBER_EPOCH, () -> coordinator("gb").commitOffsets(commit("gb", id, epoch - 1, "bad", 0, 5)));
            var negative = coordinator("gb").commitOffsets(commit("gb", id, epoch, "bad", 0, -3)).getResults(0);
            assertEquals(ErrorCode.INVALID_REQUEST, negative.getErrorCode(), negative.toString());
            try (TestMember other = new TestMember("x2", cluster, "gb", List.of("bad"), "", checker, new Consumed())) {
                awaitStable("gb", 2, 2, checker);
                TopicPartition notMine = other.owned().iterator().next();
                var r = coordinator("gb").commitOffsets(commit("gb", m.memberId(), m.epoch(), notMine.topic(), notMine.partition(), 1))
                        .getResults(0);
                assertEquals(ErrorCode.PARTITION_NOT_OWNED, r.getErrorCode(), r.toString());
            }
            assertCode(ErrorCode.NON_EMPTY_GROUP, () -> coordinator("gb").alterOffsets(AlterOffsetsRequest.newBuilder()
                    .setGroupId("gb").addOffsets(OffsetCommit.newBuilder().setTopic("bad").setPartition(0).setOffset(0)).build()));
            assertCode(ErrorCode.NON_EMPTY_GROUP, () -> coordinator("gb").deleteGroup(DeleteGroupRequest.newBuilder().setGroupId("gb").build()));
        }
        cluster.awaitTrue(() -> describe("gb").getMembersCount() == 0, 10_000, "gb empty after its members left");
        var altered = coordinator("gb").alterOffsets(AlterOffsetsRequest.newBuilder().setGroupId("gb")
                .addOffsets(OffsetCommit.newBuilder().setTopic("bad").setPartition(1).setOffset(0)).build());
        assertEquals(ErrorCode.NONE, altered.getResults(0).getErrorCode());
        coordinator("gb").deleteGroup(DeleteGroupRequest.newBuilder().setGroupId("gb").build());
        assertCode(ErrorCode.GROUP_ID_NOT_FOUND, () -> describe("gb"));
    }

    @Test
    void commitsAboveTheCoordinatorPartitionsInFlightLimitWaitTheirTurnInsteadOfUnloadingItsGroups() throws Exception {
        int partitions = 50;
        createTopic("bulky", partitions);
        String group = "gbulk";
        String metadata = "m".repeat(16384);
        var first = retrying(() -> coordinator(group).commitOffsets(commit(group, "", -1, "bulky", 0, 0))).getResults(0);
        assertEquals(ErrorCode.NONE, first.getErrorCode(), first.toString());
        int index = coordinatorIndex(group);
        var stub = GroupServiceGrpc.newFutureStub(cluster.channel(index)).withDeadlineAfter(30, TimeUnit.SECONDS);
        // 30 commits of ~820 KB sent at once: ~25 MB for one coordinator partition, whose limit is 2 MiB. Those the
        // coordinator cannot hold get BUSY and are sent again, as the SDK does.
        List<CommitOffsetsRequest> requests = new ArrayList<>();
        List<com.google.common.util.concurrent.ListenableFuture<io.rafka.proto.v1.CommitOffsetsResponse>> sent = new ArrayList<>();
        for (int n = 0; n < 30; n++) {
            CommitOffsetsRequest.Builder b = CommitOffsetsRequest.newBuilder().setGroupId(group).setMemberEpoch(-1);
            for (int p = 0; p < partitions; p++) {
                b.addOffsets(OffsetCommit.newBuilder().setTopic("bulky").setPartition(p).setOffset(n).setMetadata(metadata));
            }
            requests.add(b.build());
            sent.add(stub.commitOffsets(requests.get(n)));
        }
        List<String> failures = new ArrayList<>();
        int busy = 0;
        for (int n = 0; n < requests.size(); n++) {
            io.rafka.proto.v1.CommitOffsetsResponse response = null;
            for (int attempt = 0; response == null && attempt < 200; attempt++) {
                try {
                    response = attempt == 0 ? sent.get(n).get(60, TimeUnit.SECONDS)
                            : GroupServiceGrpc.newBlockingStub(cluster.channel(index)).withDeadlineAfter(30, TimeUnit.SECONDS)
                                    .commitOffsets(requests.get(n));
                } catch (java.util.concurrent.ExecutionException | StatusRuntimeException e) {
                    StatusRuntimeException error = (StatusRuntimeException) (e instanceof StatusRuntimeException ? e : e.getCause());
                    if (!Integer.toString(ErrorCode.BUSY.getNumber()).equals(error.getTrailers().get(ApiErrors.ERROR_CODE_TRAILER))) {
                        failures.add(error.toString());
                        break;
                    }
                    busy++;
                    sleep(20);
                }
            }
            if (response != null) {
                response.getResultsList().stream().filter(r -> r.getErrorCode() != ErrorCode.NONE)
                        .forEach(r -> failures.add(r.getErrorCode() + " " + r.getErrorMessage()));
            }
        }
        assertEquals(List.of(), failures.stream().distinct().toList(), "every commit was taken; none unloaded the group's partition");
        assertTrue(busy > 0, "the coordinator held back some of ~25 MB of commits for a partition bounded to 2 MiB in flight");
        LOG.info("bulky commits: {} BUSY answers (retried)", busy);
        var last = coordinator(group).commitOffsets(commit(group, "", -1, "bulky", 0, 1000)).getResults(0);
        assertEquals(ErrorCode.NONE, last.getErrorCode(), last.toString());
        var offsets = coordinator(group).fetchOffsets(FetchOffsetsRequest.newBuilder().setGroupId(group).build());
        assertEquals(partitions, offsets.getOffsetsCount());
        // Each commit set every partition at once, so all but partition 0 hold the offset of whichever came last.
        assertEquals(1, offsets.getOffsetsList().stream().filter(o -> o.getPartition() > 0)
                .map(o -> o.getOffset() + "/" + o.getMetadata().length()).distinct().count(),
                offsets.getOffsetsList().stream().map(o -> o.getPartition() + "@" + o.getOffset()).toList().toString());
        assertTrue(offsets.getOffsetsList().stream().anyMatch(o -> o.getPartition() == 0 && o.getOffset() == 1000));
    }

    @Test
    void aPatternIsMatchedInTimeLinearInTopicNamesAndAnUnboundedOneIsRefused() throws Exception {
        // Matched by java.util.regex, this pattern tries ~2^60 ways to split the name before it fails: the
        // coordinator's thread, and every group on it, would never answer again.
        createTopic("p".repeat(60), 1);
        var joined = retrying(() -> heartbeatOnce(io.rafka.proto.v1.HeartbeatRequest.newBuilder().setGroupId("gp")
                .setClientId("c").setSubscribedPattern("(.|.){1,300}#").build()));
        assertTrue(!joined.getMemberId().isEmpty() && joined.getAssignmentCount() == 0, joined.toString());
        assertCode(ErrorCode.INVALID_REQUEST, () -> retrying(() -> heartbeatOnce(io.rafka.proto.v1.HeartbeatRequest.newBuilder()
                .setGroupId("gp2").setClientId("c").setSubscribedPattern("((p{1,1000}){1,1000}){1,1000}").build())));
        assertCode(ErrorCode.INVALID_REQUEST, () -> retrying(() -> heartbeatOnce(io.rafka.proto.v1.HeartbeatRequest.newBuilder()
                .setGroupId("gp2").setClientId("c").setSubscribedPattern("(?=p)p+").build())));
    }

    @Test
    void aClientFloodingItsHeartbeatStreamIsHeldBackInsteadOfFillingTheCoordinatorsQueue() throws Exception {
        createTopic("flood", 1);
        String group = "gf";
        var answers = new java.util.concurrent.LinkedBlockingQueue<Object>();
        io.grpc.stub.ClientCallStreamObserver<io.rafka.proto.v1.HeartbeatRequest> stream = null;
        io.rafka.proto.v1.HeartbeatResponse joined = null;
        int coordinator = -1;
        for (int attempt = 0; joined == null; attempt++) {
            assertTrue(attempt < 20, "joined group " + group + ": " + answers);
            coordinator = coordinatorIndex(group);
            answers.clear();
            stream = heartbeatStream(cluster.channel(coordinator), answers);
            stream.onNext(io.rafka.proto.v1.HeartbeatRequest.newBuilder().setGroupId(group).setClientId("flood")
                    .addSubscribedTopics("flood").build());
            Object first = answers.poll(10, TimeUnit.SECONDS);
            if (first instanceof io.rafka.proto.v1.HeartbeatResponse r) {
                joined = r;
            } else {
                stream.onCompleted();
                sleep(200);  // the coordinator moved, or is loading its partition
            }
        }
        try {
            // Heartbeats that each restate a subscription of 10,000 topics cost the coordinator more than the stream
            // takes to carry them; sent as fast as the stream takes them, without flow control they would pile up
            // in the coordinator's queue.
            var beat = io.rafka.proto.v1.HeartbeatRequest.newBuilder().setGroupId(group).setMemberId(joined.getMemberId())
                    .setMemberEpoch(joined.getMemberEpoch()).setClientId("flood").addSubscribedTopics("flood");
            for (int i = 0; i < 9_999; i++) {
                beat.addSubscribedTopics(String.format("flood-unused-%05d", i));
            }
            var request = beat.build();
            var groups = cluster.broker(coordinator).groups().coordinator();
            int sent = 0;
            int mostQueued = 0;
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (sent < 1_000 && System.nanoTime() < end) {
                if (stream.isReady()) {
                    stream.onNext(request);
                    sent++;
                } else {
                    Thread.sleep(1);
                }
                mostQueued = Math.max(mostQueued, groups.queuedTasks());
            }
            LOG.info("flooding heartbeats: {} sent, at most {} coordinator tasks queued", sent, mostQueued);
            assertTrue(mostQueued <= 20, "the coordinator's queue held " + mostQueued + " tasks while " + sent + " heartbeats were sent");
            var other = retrying(() -> coordinator("gf-other").commitOffsets(commit("gf-other", "", -1, "flood", 0, 1))).getResults(0);
            assertEquals(ErrorCode.NONE, other.getErrorCode(), "the coordinator still serves: " + other);
        } finally {
            stream.onCompleted();
        }
    }

    /** Retries a call the coordinator refused because it moved (leaderships move now and then: preferred leaders). */
    private static <T> T retrying(java.util.function.Supplier<T> call) {
        for (int attempt = 0; ; attempt++) {
            try {
                return call.get();
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE || attempt >= 100) {
                    throw e;
                }
                sleep(100);
            }
        }
    }

    /** A Heartbeat stream on {@code channel}: its answers, its error or "completed" go into {@code answers}. */
    private static io.grpc.stub.ClientCallStreamObserver<io.rafka.proto.v1.HeartbeatRequest> heartbeatStream(
            io.grpc.Channel channel, java.util.concurrent.BlockingQueue<Object> answers) {
        return (io.grpc.stub.ClientCallStreamObserver<io.rafka.proto.v1.HeartbeatRequest>) GroupServiceGrpc.newStub(channel)
                .heartbeat(new io.grpc.stub.StreamObserver<>() {
                    @Override
                    public void onNext(io.rafka.proto.v1.HeartbeatResponse r) {
                        answers.add(r);
                    }

                    @Override
                    public void onError(Throwable t) {
                        answers.add(t);
                    }

                    @Override
                    public void onCompleted() {
                        answers.add("completed");
                    }
                });
    }

    /** Opens a Heartbeat stream to the group's coordinator, sends one request, returns its first answer or throws its error. */
    private static io.rafka.proto.v1.HeartbeatResponse heartbeatOnce(io.rafka.proto.v1.HeartbeatRequest request) {
        var answers = new java.util.concurrent.LinkedBlockingQueue<Object>();
        var stream = heartbeatStream(coordinator(request.getGroupId()).getChannel(), answers);
        stream.onNext(request);
        try {
            Object first = answers.poll(10, TimeUnit.SECONDS);
            stream.onCompleted();
            if (first instanceof StatusRuntimeException e) {
                throw e;
            }
            if (first instanceof io.rafka.proto.v1.HeartbeatResponse r) {
                return r;
            }
            throw new AssertionError("no answer to the heartbeat: " + first);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static CommitOffsetsRequest commit(String group, String member, int epoch, String topic, int partition, long offset) {
        return CommitOffsetsRequest.newBuilder().setGroupId(group).setMemberId(member).setMemberEpoch(epoch)
                .addOffsets(OffsetCommit.newBuilder().setTopic(topic).setPartition(partition).setOffset(offset)).build();
    }

    private static void assertCode(ErrorCode expected, Runnable call) {
        try {
            call.run();
            fail("expected " + expected);
        } catch (StatusRuntimeException e) {
            String code = e.getTrailers() == null ? null : e.getTrailers().get(ApiErrors.ERROR_CODE_TRAILER);
            assertEquals(Integer.toString(expected.getNumber()), code, e.getStatus() + ": " + e.getMessage());
        }
    }

    private static String metrics(int broker) throws Exception {
        var http = java.net.http.HttpClient.newHttpClient();
        var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + cluster.httpPort(broker) + "/metrics")).build();
        return http.send(req, java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }

    private int coordinatorIndex(String group) {
        var c = coordinator(group).findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId(group).build());
        return BrokerCluster.indexOf(c.getCoordinator().getId());
    }

    /** Polls a group's committed offsets from its coordinator and notes any that went backwards. */
    static final class OffsetWatch {
        private final Map<TopicPartition, Long> max = new ConcurrentHashMap<>();
        private final List<String> violations = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread;

        OffsetWatch(String group, String topic, int partitions) {
            thread = new Thread(() -> {
                long deadline = System.currentTimeMillis() + 180_000;
                while (!stop.get() && System.currentTimeMillis() < deadline) {
                    try {
                        FetchOffsetsRequest.Builder b = FetchOffsetsRequest.newBuilder().setGroupId(group);
                        b.addPartitions(TopicPartitions.newBuilder().setTopic(topic)
                                .addAllPartitions(java.util.stream.IntStream.range(0, partitions).boxed().toList()));
                        for (var o : coordinator(group).fetchOffsets(b.build()).getOffsetsList()) {
                            TopicPartition tp = new TopicPartition(o.getTopic(), o.getPartition());
                            Long prev = max.get(tp);
                            if (prev != null && o.getOffset() < prev) {
                                violations.add(tp + " went back from " + prev + " to " + o.getOffset());
                            }
                            max.merge(tp, o.getOffset(), Math::max);
                        }
                    } catch (RuntimeException | AssertionError e) {
                        // the coordinator is moving
                    }
                    sleep(50);
                }
            }, "offset-watch-" + group);
            thread.start();
        }

        Map<TopicPartition, Long> max() {
            return new HashMap<>(max);
        }

        List<String> violations() {
            return new ArrayList<>(violations);
        }

        void stop() throws InterruptedException {
            stop.set(true);
            thread.join(10_000);
        }
    }

    private void createTopic(String name, int partitions) {
        var r = cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
                .setName(name).setPartitions(partitions).setReplicationFactor(3)).build());
        assertEquals(ErrorCode.NONE, r.getResults(0).getErrorCode(), r.toString());
        cluster.awaitLeaders(0, name, 30_000);
    }

    /** Waits until the group has {@code members} members, is STABLE, and the checker sees {@code partitions} consumed. */
    private void awaitStable(String group, int members, int partitions, OwnershipChecker checker) {
        cluster.awaitTrue(() -> {
            DescribeGroupResponse d = describe(group);
            return d.getState().equals("STABLE") && d.getMembersCount() == members && checker.owners().size() == partitions;
        }, 30_000, "group " + group + " stable with " + members + " members consuming " + partitions + " partitions");
    }

    private DescribeGroupResponse describe(String group) {
        return retrying(() -> coordinator(group).describeGroup(DescribeGroupRequest.newBuilder().setGroupId(group).build()));
    }

    /** A stub on the group's coordinator. */
    static GroupServiceGrpc.GroupServiceBlockingStub coordinator(String group) {
        for (int attempt = 0; attempt < 100; attempt++) {
            for (int i = 0; i < cluster.size(); i++) {
                if (!cluster.isUp(i)) {
                    continue;
                }
                try {
                    var c = GroupServiceGrpc.newBlockingStub(cluster.channel(i)).withDeadlineAfter(5, TimeUnit.SECONDS)
                            .findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId(group).build()).getCoordinator();
                    int index = BrokerCluster.indexOf(c.getId());
                    if (cluster.isUp(index)) {
                        return GroupServiceGrpc.newBlockingStub(cluster.channel(index)).withDeadlineAfter(10, TimeUnit.SECONDS);
                    }
                } catch (StatusRuntimeException e) {
                    // not yet
                }
            }
            sleep(100);
        }
        throw new AssertionError("no coordinator found for " + group);
    }

    /** Produces small batches round-robin over the partitions until stopped; remembers each partition's end. */
    static final class Producer {
        final String topic;
        final int partitions;
        final Map<Integer, Long> ends = new ConcurrentHashMap<>();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread;

        Producer(String topic, int partitions) {
            this.topic = topic;
            this.partitions = partitions;
            thread = new Thread(this::run, "producer-" + topic);
            thread.start();
        }

        private void run() {
            long deadline = System.currentTimeMillis() + 120_000;
            for (int i = 0; !stop.get() && i < 5_000 && System.currentTimeMillis() < deadline; i++) {
                int p = i % partitions;
                ProducerRecord rec = ProducerRecord.newBuilder().setValue(com.google.protobuf.ByteString.copyFromUtf8("r" + i)).build();
                ProduceRequest req = ProduceRequest.newBuilder().addPartitions(PartitionData.newBuilder().setTopic(topic)
                        .setPartition(p).setRecords(RecordSet.newBuilder().addRecords(rec))).build();
                boolean sent = false;
                for (int b = 0; b < cluster.size() && !sent; b++) {
                    if (!cluster.isUp(b)) {
                        continue;
                    }
                    try {
                        var r = cluster.produce(b).produce(req).getResults(0);
                        if (r.getErrorCode() == ErrorCode.NONE) {
                            ends.merge(p, r.getBaseOffset() + 1, Math::max);
                            sent = true;
                        }
                    } catch (StatusRuntimeException e) {
                        // next broker
                    }
                }
                sleep(sent ? 10 : 100);
            }
        }

        void stop() throws InterruptedException {
            stop.set(true);
            thread.join(30_000);
        }

        long produced() {
            return ends.values().stream().mapToLong(Long::longValue).sum();
        }

        /** Lets the producer run until it has written {@code n} records in all, then stops it. */
        void stopAfter(long n) throws InterruptedException {
            cluster.awaitTrue(() -> produced() >= n, 60_000, n + " records produced to " + topic);
            stop();
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
