package io.rafka.server;

import io.rafka.client.internals.Fetched;
import com.google.protobuf.ByteString;
import io.rafka.client.group.GroupMember;
import io.rafka.client.group.GroupMemberConfig;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordSet;
import io.rafka.server.testing.BrokerCluster;
import io.rafka.server.testing.CliRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Consumer groups through the client as users run it, on three in-process brokers: two {@link GroupMember}s
 * share a six-partition topic (disjoint partitions, every record consumed exactly once: nobody crashed, and a
 * revoked partition is committed before its new owner starts from the committed offset), and the {@code group}
 * commands describe, list, refuse and reset it.
 */
class ConsumerGroupCliIT {
    private static final String TOPIC = "shared";
    private static final int PARTITIONS = 6;
    private static final int RECORDS_PER_PARTITION = 50;

    @TempDir
    Path tmp;

    /** One member on its own thread: polls, records what it got, commits after each poll. */
    private static final class Member implements Runnable {
        final GroupMember member;
        final List<String> consumed = Collections.synchronizedList(new ArrayList<>());
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        volatile Set<TopicPartition> assignment = Set.of();
        final Thread thread = new Thread(this, "member");

        Member(GroupMember member) {
            this.member = member;
        }

        @Override
        public void run() {
            try {
                while (!stop.get()) {
                    for (Fetched f : member.poll(200)) {
                        consumed.add(f.tp().partition() + ":" + f.record().getOffset());
                    }
                    member.commit();
                    assignment = member.assignment();
                }
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                member.close();
            }
        }
    }

    @Test
    void twoMembersShareATopicAndTheGroupCommandsSeeThem() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false"));
             ChannelPool channels = ChannelPool.plaintext()) {
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                    NewTopic.newBuilder().setName(TOPIC).setPartitions(PARTITIONS).setReplicationFactor(3)).build())
                    .getResults(0).getErrorCode());
            List<Integer> leaders = cluster.awaitLeaders(0, TOPIC, 30_000);
            String bootstrap = "127.0.0.1:" + cluster.grpcPort(0);
            GroupMemberConfig config = GroupMemberConfig.of("billing", List.of(TOPIC))
                    .withOffsetReset(GroupMemberConfig.OffsetReset.EARLIEST).withClientId("it");
            Member a = new Member(new GroupMember(config, channels, BrokerAddress.parse(bootstrap), Time.SYSTEM));
            Member b = new Member(new GroupMember(config, channels, BrokerAddress.parse(bootstrap), Time.SYSTEM));
            a.thread.start();
            produce(cluster, leaders, 0, RECORDS_PER_PARTITION / 2);
            b.thread.start();
            produce(cluster, leaders, RECORDS_PER_PARTITION / 2, RECORDS_PER_PARTITION);
            try {
                cluster.awaitTrue(() -> a.consumed.size() + b.consumed.size() >= PARTITIONS * RECORDS_PER_PARTITION
                        && a.assignment.size() == 3 && b.assignment.size() == 3, 60_000, "everything consumed, 3 partitions each");
                Set<TopicPartition> overlap = new HashSet<>(a.assignment);
                overlap.retainAll(b.assignment);
                assertEquals(Set.of(), overlap, "the members own disjoint partitions");
                Set<String> all = new HashSet<>(a.consumed);
                all.addAll(b.consumed);
                assertEquals(PARTITIONS * RECORDS_PER_PARTITION, all.size(), "every record consumed");
                assertEquals(all.size(), a.consumed.size() + b.consumed.size(), "and none twice: " + a.consumed + " / " + b.consumed);

                cluster.awaitTrue(() -> CliRun.run(bootstrap, "group", "describe", "billing").out().contains("STABLE"), 30_000, "stable");
                CliRun.Result describe = CliRun.run(bootstrap, "group", "describe", "billing");
                assertEquals(0, describe.status(), describe.err());
                for (int p = 0; p < PARTITIONS; p++) {
                    assertTrue(describe.out().matches("(?s).*billing +shared +" + p + " +50 +50 +0 +\\S+ +\\S+ +it\n.*"), describe.out());
                }
                CliRun.Result list = CliRun.run(bootstrap, "group", "list", "--output", "json");
                assertTrue(list.out().contains("{\"group_id\":\"billing\",\"state\":\"STABLE\",\"members\":2}"), list.out() + list.err());
                CliRun.Result reset = CliRun.run(bootstrap, "group", "reset-offsets", "billing", "--topic", TOPIC, "--to-earliest", "--execute");
                assertEquals(1, reset.status());
                assertTrue(reset.err().contains("rafka: NON_EMPTY_GROUP: "), reset.err());
                assertEquals("", reset.out(), "no plan on stdout for a reset that was not made");
                CliRun.Result unknown = CliRun.run(bootstrap, "group", "describe", "nobody");
                assertEquals(1, unknown.status());
                assertTrue(unknown.err().startsWith("rafka: GROUP_ID_NOT_FOUND: "), unknown.err());
            } finally {
                a.stop.set(true);
                b.stop.set(true);
                a.thread.join(10_000);
                b.thread.join(10_000);
            }
            assertEquals(null, a.failure.get());
            assertEquals(null, b.failure.get());

            cluster.awaitTrue(() -> CliRun.run(bootstrap, "group", "describe", "billing").out().contains("State: EMPTY"), 30_000,
                    "the members left");
            CliRun.Result reset = CliRun.run(bootstrap, "group", "reset-offsets", "billing", "--topic", TOPIC + ":0,1", "--shift-by", "-20", "--execute");
            assertEquals(0, reset.status(), reset.err());
            assertTrue(reset.out().contains("billing  shared  1          50              30"), reset.out());
            CliRun.Result after = CliRun.run(bootstrap, "group", "describe", "billing", "--output", "json");
            assertTrue(after.out().contains("\"partition\":1,\"committed_offset\":30,\"log_end_offset\":50,\"lag\":20"), after.out());
            CliRun.Result delete = CliRun.run(bootstrap, "group", "delete", "billing");
            assertEquals(0, delete.status(), delete.err());
            assertEquals(1, CliRun.run(bootstrap, "group", "describe", "billing").status());

            CliRun.Result pattern = CliRun.run(bootstrap, "consume", "--pattern", "sh.*", "--group", "by-pattern", "--from-beginning",
                    "--max-messages", Integer.toString(PARTITIONS * RECORDS_PER_PARTITION), "--timeout-ms", "20000");
            assertEquals(0, pattern.status(), pattern.err());
            assertEquals(PARTITIONS * RECORDS_PER_PARTITION, Set.of(pattern.out().split("\n")).size(), pattern.err());
        }
    }

    /**
     * A member that printed nothing from a partition still commits where it started there (as Kafka's consumer
     * commits every assigned partition's position): a group restarted without --from-beginning then prints what
     * arrived in that partition while it was down, instead of looking "latest" up again and skipping it.
     */
    @Test
    void aPartitionTheGroupPrintedNothingFromKeepsItsStartSoARestartMissesNothing() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(1, tmp, Map.of("auto.create.topics.enable", "false"))) {
            String bootstrap = singleReplicaTopic(cluster, "quiet", 2);
            produceTo(cluster, "quiet", 1, "busy", 5);
            CliRun.Result first = CliRun.run(bootstrap, "consume", "quiet", "--group", "g", "--from-beginning", "--max-messages", "5",
                    "--timeout-ms", "20000");
            assertEquals(0, first.status(), first.err());
            assertEquals(5, first.out().split("\n").length, first.out() + first.err());
            CliRun.Result describe = CliRun.run(bootstrap, "group", "describe", "g", "--output", "json");
            assertTrue(describe.out().contains("\"partition\":0,\"committed_offset\":0,"), "partition 0's start committed: "
                    + describe.out());

            produceTo(cluster, "quiet", 0, "while-down", 3);
            CliRun.Result second = CliRun.run(bootstrap, "consume", "quiet", "--group", "g", "--max-messages", "3", "--timeout-ms", "20000");
            assertEquals(0, second.status(), second.err());
            assertEquals(List.of("while-down-0", "while-down-1", "while-down-2"), List.of(second.out().split("\n")),
                    second.err());
        }
    }

    /** Without --group, consume also reads partitions added to its topic while it runs, from their beginning. */
    @Test
    void consumeWithoutAGroupReadsPartitionsAddedWhileItRuns() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(1, tmp, Map.of("auto.create.topics.enable", "false"))) {
            String bootstrap = singleReplicaTopic(cluster, "grow", 1);
            produceTo(cluster, "grow", 0, "first", 1);
            java.util.concurrent.CompletableFuture<CliRun.Result> consumed = java.util.concurrent.CompletableFuture.supplyAsync(() ->
                    CliRun.run(bootstrap, "consume", "grow", "--from-beginning", "--max-messages", "2", "--timeout-ms", "20000"));
            Thread.sleep(1_000);  // the consumer reads partition 0 before partition 1 exists
            assertEquals(ErrorCode.NONE, cluster.admin(0).createPartitions(io.rafka.proto.v1.CreatePartitionsRequest.newBuilder()
                    .setTopic("grow").setTotalCount(2).build()).getResult().getErrorCode());
            cluster.awaitLeaders(0, "grow", 30_000);
            produceTo(cluster, "grow", 1, "added", 1);
            CliRun.Result out = consumed.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(0, out.status(), out.err());
            assertEquals(java.util.Set.of("first-0", "added-0"), java.util.Set.of(out.out().split("\\n")), out.out() + out.err());
        }
    }

    /** Creates {@code topic} with one replica per partition on the one broker, waits for its leaders; its address. */
    private static String singleReplicaTopic(BrokerCluster cluster, String topic, int partitions) {
        assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                NewTopic.newBuilder().setName(topic).setPartitions(partitions).setReplicationFactor(1)).build())
                .getResults(0).getErrorCode());
        cluster.awaitLeaders(0, topic, 30_000);
        return "127.0.0.1:" + cluster.grpcPort(0);
    }

    private static void produceTo(BrokerCluster cluster, String topic, int partition, String prefix, int count) {
        RecordSet.Builder records = RecordSet.newBuilder();
        for (int i = 0; i < count; i++) {
            records.addRecords(ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8(prefix + "-" + i)));
        }
        cluster.produce(0).produce(ProduceRequest.newBuilder().addPartitions(PartitionData.newBuilder().setTopic(topic)
                .setPartition(partition).setRecords(records)).build()).getResultsList()
                .forEach(r -> assertEquals(ErrorCode.NONE, r.getErrorCode(), r.toString()));
    }

    /** Records {@code from..to-1} into every partition, each partition through its leader. */
    private static void produce(BrokerCluster cluster, List<Integer> leaders, int from, int to) {
        Map<Integer, ProduceRequest.Builder> byLeader = new HashMap<>();
        for (int p = 0; p < PARTITIONS; p++) {
            RecordSet.Builder records = RecordSet.newBuilder();
            for (int i = from; i < to; i++) {
                records.addRecords(ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8("p" + p + "-" + i)));
            }
            byLeader.computeIfAbsent(leaders.get(p), l -> ProduceRequest.newBuilder())
                    .addPartitions(PartitionData.newBuilder().setTopic(TOPIC).setPartition(p).setRecords(records));
        }
        byLeader.forEach((leader, request) -> cluster.produce(leader).produce(request.build()).getResultsList()
                .forEach(r -> assertEquals(ErrorCode.NONE, r.getErrorCode(), r.toString())));
    }
}
