package io.rafka.server;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.DescribeClusterRequest;
import io.rafka.proto.v1.DescribeTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionDescription;
import io.rafka.proto.v1.PartitionReassignment;
import io.rafka.proto.v1.ReassignPartitionsRequest;
import io.rafka.proto.v1.ReassignPartitionsResponse;
import io.rafka.server.testing.BrokerCluster;
import io.rafka.server.testing.CliRun;
import io.rafka.server.testing.ReplicaChecks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Partition reassignment (AdminService.ReassignPartitions) on four brokers: a broker that joins after a topic was
 * placed takes its share of the replicas with their data, a partition's replication factor goes down and up, writes
 * go on with the new members, the brokers that lost a replica delete it, and bad lists get typed errors.
 */
class ReassignPartitionsIT {
    private static final String TOPIC = "spread";
    private static final int PARTITIONS = 4;

    @TempDir
    Path tmp;

    @Test
    void aBrokerAddedLaterTakesItsShareAndPartitionsChangeTheirReplicationFactor() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(4, tmp, Map.of("broker.session.timeout.ms", "3000"))) {
            cluster.stop(3);   // broker 4 leaves (a graceful stop counts it down at once): the topic goes on 1-3
            cluster.awaitTrue(() -> !liveBrokers(cluster).contains("4"), 30_000, "broker 4 seen gone");
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
                    .setName(TOPIC).setPartitions(PARTITIONS).setReplicationFactor(3)).build()).getResults(0).getErrorCode());
            List<Integer> leaders = cluster.awaitLeaders(0, TOPIC, 30_000);
            for (int p = 0; p < PARTITIONS; p++) {
                ReplicaChecks.produce(cluster, TOPIC, leaders.get(p), p, 0, 30);
            }
            Map<Integer, List<String>> before = replicaLists(cluster, 0);
            cluster.restart(3);  // broker 4 joins again, holding nothing
            cluster.awaitTrue(() -> liveBrokers(cluster).contains("4"), 30_000, "broker 4 live");

            // A dry run plans the moves and changes nothing (through the command line: `cluster rebalance --dry-run`).
            String bootstrap = "127.0.0.1:" + cluster.grpcPort(1);
            CliRun.Result dryRun = CliRun.run(bootstrap, "cluster", "rebalance", "--dry-run");
            assertEquals(0, dryRun.status(), dryRun.toString());
            assertTrue(dryRun.err().contains("dry run: would have moved 3 partitions"), dryRun.err());
            ReassignPartitionsResponse planned = cluster.admin(1).reassignPartitions(ReassignPartitionsRequest.newBuilder()
                    .setBalance(true).setValidateOnly(true).build());
            assertEquals(before, replicaLists(cluster, 1), "a dry run changes nothing");
            // 12 replicas over 4 brokers: broker 4 takes 3, one from each of the others, in 3 partitions.
            assertEquals(3, planned.getResultsCount(), planned.toString());
            assertEquals(3, dryRun.out().lines().filter(l -> l.startsWith(TOPIC + "-") && l.contains("4")).count(), dryRun.out());
            ReassignPartitionsResponse moved = cluster.admin(1).reassignPartitions(ReassignPartitionsRequest.newBuilder()
                    .setBalance(true).build());
            assertEquals(asSets(planned), asSets(moved), "the plan is what is done");
            Map<String, Integer> load = new TreeMap<>();
            // The broker that forwarded the call may apply the new lists a moment after the controller answered.
            cluster.awaitTrue(() -> replicaLists(cluster, 1).entrySet().stream().allMatch(e -> !asSets(moved).containsKey(e.getKey())
                    || asSets(moved).get(e.getKey()).equals(Set.copyOf(e.getValue()))), 10_000, "the new lists seen by broker 2");
            Map<Integer, List<String>> after = replicaLists(cluster, 1);
            after.values().forEach(r -> r.forEach(b -> load.merge(b, 1, Integer::sum)));
            assertEquals(Map.of("1", 3, "2", 3, "3", 3, "4", 3), load, "as many replicas on every broker: " + after);
            for (PartitionReassignment r : moved.getResultsList()) {
                assertEquals(ErrorCode.NONE, r.getErrorCode(), r.toString());
                assertTrue(r.getReplicasList().contains("4"), r.toString());
            }

            // The moved partitions' groups now have the new members, which copied the data; writes go on.
            for (int p = 0; p < PARTITIONS; p++) {
                TopicPartition tp = new TopicPartition(TOPIC, p);
                List<String> members = after.get(p);
                cluster.awaitTrue(() -> ReplicaChecks.caughtUp(cluster, tp, members, 30), 60_000, tp + " on " + members);
            }
            leaders = cluster.awaitLeaders(1, TOPIC, 30_000);
            for (int p = 0; p < PARTITIONS; p++) {
                ReplicaChecks.produce(cluster, TOPIC, leaders.get(p), p, 30, 10);
            }
            for (int p = 0; p < PARTITIONS; p++) {
                TopicPartition tp = new TopicPartition(TOPIC, p);
                List<String> members = after.get(p);
                cluster.awaitTrue(() -> ReplicaChecks.caughtUp(cluster, tp, members, 40), 30_000, tp + " replicated to " + members);
                ReplicaChecks.assertSameData(cluster, tp, members);
            }
            // A broker that lost a replica deletes it.
            for (int p : moved.getResultsList().stream().map(PartitionReassignment::getPartition).toList()) {
                for (String gone : before.get(p)) {
                    if (!after.get(p).contains(gone)) {
                        Path folder = dataDir(cluster, gone).resolve(TOPIC + "-" + p);
                        cluster.awaitTrue(() -> !Files.exists(folder), 30_000, folder + " deleted on broker " + gone);
                    }
                }
            }

            // Replication factor 3 -> 2 for partition 0, 3 -> 4 for partition 1 (every broker).
            List<String> two = after.get(0).subList(0, 2);
            List<String> four = new ArrayList<>(after.get(1));
            List.of("1", "2", "3", "4").stream().filter(b -> !four.contains(b)).forEach(four::add);
            // Through the command line (`cluster reassign TOPIC-PARTITION=BROKERS...`), with one list that names an
            // unknown broker: that partition is refused and stays as it was, the others move, the exit status is 1.
            CliRun.Result resized = CliRun.run("127.0.0.1:" + cluster.grpcPort(2), "cluster", "reassign",
                    TOPIC + "-0=" + String.join(",", two), TOPIC + "-1=" + String.join(",", four), TOPIC + "-2=" + after.get(2).get(0) + ",9");
            assertEquals(1, resized.status(), resized.toString());
            assertTrue(resized.out().contains(TOPIC + "-0\treplicas " + String.join(",", two)), resized.out());
            assertTrue(resized.out().contains(TOPIC + "-1\treplicas " + String.join(",", four)), resized.out());
            assertTrue(resized.err().contains("INVALID_REPLICA_ASSIGNMENT: " + TOPIC + "-2: broker 9 is not registered"), resized.err());
            assertEquals(Set.copyOf(after.get(2)), Set.copyOf(replicaLists(cluster, 2).get(2)), "a refused list leaves the partition as it was");
            CliRun.Result malformed = CliRun.run(bootstrap, "cluster", "reassign", TOPIC + "=1,2");
            assertEquals(2, malformed.status(), "a usage error: " + malformed);
            for (var entry : Map.of(0, two, 1, four).entrySet()) {
                TopicPartition tp = new TopicPartition(TOPIC, entry.getKey());
                cluster.awaitTrue(() -> ReplicaChecks.caughtUp(cluster, tp, entry.getValue(), 40), 60_000, tp + " on " + entry.getValue());
            }
            leaders = cluster.awaitLeaders(3, TOPIC, 30_000);
            ReplicaChecks.produce(cluster, TOPIC, leaders.get(0), 0, 40, 5);
            ReplicaChecks.produce(cluster, TOPIC, leaders.get(1), 1, 40, 5);
            for (var entry : Map.of(0, two, 1, four).entrySet()) {
                TopicPartition tp = new TopicPartition(TOPIC, entry.getKey());
                cluster.awaitTrue(() -> ReplicaChecks.caughtUp(cluster, tp, entry.getValue(), 45), 30_000, tp + " written with " + entry.getValue());
                ReplicaChecks.assertSameData(cluster, tp, entry.getValue());
            }

            // Two requests back to back, the second before the first is made: [a,b] -> [a,b,c] -> [a,c,d]. The group may
            // still be [a,b] when it sees [a,c,d], two members added and one kept, which Ratis refuses in one change; it
            // gets there in steps. c and d start empty with [a,c,d] as their group and must not elect one of them.
            TopicPartition p0 = new TopicPartition(TOPIC, 0);
            String keptA = two.get(0);
            String droppedB = two.get(1);
            List<String> others = List.of("1", "2", "3", "4").stream().filter(x -> !two.contains(x)).toList();
            List<String> grown = List.of(keptA, droppedB, others.get(0));
            List<String> moved2 = List.of(keptA, others.get(0), others.get(1));
            for (List<String> list : List.of(grown, moved2)) {
                ReassignPartitionsResponse r = cluster.admin(0).reassignPartitions(ReassignPartitionsRequest.newBuilder()
                        .addReassignments(PartitionReassignment.newBuilder().setTopic(TOPIC).setPartition(0).addAllReplicas(list))
                        .build());
                assertEquals(ErrorCode.NONE, r.getResults(0).getErrorCode(), r.toString());
            }
            cluster.awaitTrue(() -> ReplicaChecks.caughtUp(cluster, p0, moved2, 45), 60_000, p0 + " moved to " + moved2 + " in steps");
            // A dropped leader steps down once the group runs without it: the partition is then led by a member.
            cluster.awaitTrue(() -> moved2.contains(String.valueOf(cluster.awaitLeaders(0, TOPIC, 30_000).get(0) + 1)), 30_000,
                    p0 + " led by one of " + moved2);
            leaders = cluster.awaitLeaders(0, TOPIC, 30_000);
            ReplicaChecks.produce(cluster, TOPIC, leaders.get(0), 0, 45, 5);
            cluster.awaitTrue(() -> ReplicaChecks.caughtUp(cluster, p0, moved2, 50), 30_000, p0 + " written with " + moved2);
            ReplicaChecks.assertSameData(cluster, p0, moved2);
            Path bFolder = dataDir(cluster, droppedB).resolve(TOPIC + "-0");
            cluster.awaitTrue(() -> !Files.exists(bFolder), 30_000, bFolder + " deleted once the group ran without it");

            // A follower dropped while another member is dead stays until the change is made: it is needed for the old
            // members' majority (leaving at once, it took that away and the partition could never change again).
            TopicPartition p3 = new TopicPartition(TOPIC, 3);
            List<String> p3Now = replicaLists(cluster, 0).get(3);
            String p3Leader = String.valueOf(cluster.awaitLeaders(0, TOPIC, 30_000).get(3) + 1);
            List<String> followers = p3Now.stream().filter(b -> !b.equals(p3Leader)).toList();
            String dead = followers.get(0);
            String dropped = followers.get(1);
            String added = List.of("1", "2", "3", "4").stream().filter(b -> !p3Now.contains(b)).findFirst().orElseThrow();
            cluster.kill(BrokerCluster.indexOf(dead));
            List<String> p3New = p3Now.stream().map(b -> b.equals(dropped) ? added : b).toList();
            ReassignPartitionsResponse swap = cluster.admin(BrokerCluster.indexOf(p3Leader)).reassignPartitions(
                    ReassignPartitionsRequest.newBuilder().addReassignments(PartitionReassignment.newBuilder().setTopic(TOPIC)
                            .setPartition(3).addAllReplicas(p3New)).build());
            assertEquals(ErrorCode.NONE, swap.getResults(0).getErrorCode(), swap.toString());
            cluster.awaitTrue(() -> ReplicaChecks.caughtUp(cluster, p3, List.of(p3Leader, added), p3New, 40), 60_000,
                    p3 + " moved to " + p3New + " with broker " + dead + " dead");
            ReplicaChecks.produce(cluster, TOPIC, BrokerCluster.indexOf(p3Leader), 3, 40, 5);
            cluster.awaitTrue(() -> ReplicaChecks.caughtUp(cluster, p3, List.of(p3Leader, added), p3New, 45), 30_000,
                    p3 + " written with " + p3New);
            ReplicaChecks.assertSameData(cluster, p3, List.of(p3Leader, added));
            Path droppedFolder = dataDir(cluster, dropped).resolve(TOPIC + "-3");
            cluster.awaitTrue(() -> !Files.exists(droppedFolder), 30_000, droppedFolder + " deleted once the change was made");

            // A request that names nothing is refused as a whole.
            StatusRuntimeException empty = assertThrows(StatusRuntimeException.class,
                    () -> cluster.admin(BrokerCluster.indexOf(p3Leader)).reassignPartitions(ReassignPartitionsRequest.getDefaultInstance()));
            assertEquals(Status.Code.INVALID_ARGUMENT, empty.getStatus().getCode(), empty.toString());
        }
    }

    private static List<String> liveBrokers(BrokerCluster cluster) {
        return cluster.admin(0).describeCluster(DescribeClusterRequest.getDefaultInstance()).getLiveBrokerIdsList();
    }

    /** Partition to replica set: the preferred leaders may be reordered once replicas moved. */
    private static Map<Integer, Set<String>> asSets(ReassignPartitionsResponse response) {
        Map<Integer, Set<String>> sets = new TreeMap<>();
        response.getResultsList().forEach(r -> sets.put(r.getPartition(), Set.copyOf(r.getReplicasList())));
        return sets;
    }

    private static Map<Integer, List<String>> replicaLists(BrokerCluster cluster, int asking) {
        Map<Integer, List<String>> lists = new HashMap<>();
        for (PartitionDescription p : cluster.admin(asking).describeTopics(DescribeTopicsRequest.newBuilder().addNames(TOPIC).build())
                .getTopics(0).getPartitionsList()) {
            lists.put(p.getPartition(), List.copyOf(p.getReplicasList()));
        }
        assertFalse(lists.isEmpty());
        return lists;
    }

    private static Path dataDir(BrokerCluster cluster, String brokerId) {
        return Path.of(cluster.broker(BrokerCluster.indexOf(brokerId)).config().get(ServerConfig.DATA_DIR));
    }
}
