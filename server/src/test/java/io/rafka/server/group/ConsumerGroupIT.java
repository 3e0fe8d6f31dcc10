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
        cluster = BrokerCluster.start(3, tmp, Map.of("group.coordinator.partitions", "4", "auto.create.topics.enable", "false"));
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

            members.get(2).close();
            awaitStable("g1", 2, 6, checker);
            producer.stop();
            awaitAllConsumed(producer, consumed);
            long produced = producer.ends.values().stream().mapToLong(Long::longValue).sum();
            LOG.info("produced {} records; consumed with {} duplicates", produced,
                    java.util.stream.IntStream.range(0, 6).map(p -> consumed.duplicates(new TopicPartition("orders", p)).size()).sum());
            assertEquals(6, producer.ends.size(), "records were produced to every partition");
            assertTrue(produced >= 100, "records were produced throughout: " + produced);
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
        return coordinator(group).describeGroup(DescribeGroupRequest.newBuilder().setGroupId(group).build());
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
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
