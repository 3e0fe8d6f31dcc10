package io.rafka.client.cli;

import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.DescribeGroupResponse;
import io.rafka.proto.v1.GroupPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The group commands end to end through {@link RafkaCli#run}, against fake brokers and a scripted coordinator. */
class GroupCommandsTest {

    private FakeCoordinator coordinator;
    private CliRunner cli;

    @BeforeEach
    void start() throws Exception {
        coordinator = FakeCoordinator.start("orders", 2);
        coordinator.coordinatorId = "2";   // not the bootstrap broker: every command has to find it
        for (int i = 0; i < 3; i++) {
            coordinator.cluster.append(0, null, "a" + i);
            coordinator.cluster.append(1, null, "b" + i);
        }
        cli = new CliRunner(coordinator.cluster);
    }

    @AfterEach
    void stop() {
        coordinator.cluster.close();
    }

    private void describe(String state, long logEndOfPartition1) {
        coordinator.description = DescribeGroupResponse.newBuilder().setGroupId("billing").setState(state)
                .addPartitions(GroupPartition.newBuilder().setTopic("orders").setPartition(0).setCommittedOffset(1)
                        .setLogEndOffset(3).setLag(2))
                .addPartitions(GroupPartition.newBuilder().setTopic("orders").setPartition(1).setCommittedOffset(1)
                        .setLogEndOffset(logEndOfPartition1).setLag(-1))
                .build();
    }

    @Test
    void describeFillsUnknownLogEndOffsetsFromTheLeaders() {
        describe("EMPTY", -1);
        assertEquals(0, cli.run("", "group", "describe", "billing"), cli.err());
        List<String> lines = List.of(cli.out().split("\n"));
        assertTrue(lines.get(0).startsWith("Group: billing\tState: EMPTY"), cli.out());
        assertTrue(lines.get(0).endsWith(":9002"), "the broker that answered is the coordinator: " + lines.get(0));
        assertEquals(List.of("billing", "orders", "1", "1", "3", "2", "-", "-", "-"), List.of(lines.get(4).split(" +")), cli.out());

        assertEquals(0, cli.run("", "group", "describe", "billing", "--output", "json"), cli.err());
        assertTrue(cli.out().contains("\"partition\":1,\"committed_offset\":1,\"log_end_offset\":3,\"lag\":2"), cli.out());
    }

    @Test
    void aCallThatFindsTheCoordinatorMovedAsksAgain() {
        describe("STABLE", 3);
        try (io.rafka.client.internals.ChannelPool channels = coordinator.cluster.channels()) {
            io.rafka.client.group.CoordinatorClient client = new io.rafka.client.group.CoordinatorClient("billing", channels,
                    coordinator.cluster.bootstrap(), null, coordinator.cluster.time, 5_000);
            assertTrue(client.coordinator().toString().endsWith(":9002"));
            coordinator.coordinatorId = "1";   // moved: broker 2 now answers NOT_COORDINATOR
            coordinator.findErrors.add(io.rafka.proto.v1.ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
            DescribeGroupResponse answer = client.call(stub -> stub.describeGroup(
                    io.rafka.proto.v1.DescribeGroupRequest.newBuilder().setGroupId("billing").build()));
            assertEquals("STABLE", answer.getState());
            assertTrue(client.coordinator().toString().endsWith(":9001"));
        }
    }

    @Test
    void unknownGroupIsATypedError() {
        assertEquals(1, cli.run("", "group", "describe", "nobody"));
        assertEquals("rafka: GROUP_ID_NOT_FOUND: group nobody does not exist\n", cli.err());
        assertEquals(2, cli.run("", "group", "describe", "billing", "--output", "yaml"));
    }

    @Test
    void listAsksEveryBroker() {
        describe("STABLE", 3);
        assertEquals(0, cli.run("", "group", "list"), cli.err());
        assertEquals("GROUP    STATE   MEMBERS\nbilling  STABLE  0\n", cli.out());
        assertEquals(0, cli.run("", "group", "list", "--output", "json"), cli.err());
        assertEquals("[{\"group_id\":\"billing\",\"state\":\"STABLE\",\"members\":0}]\n", cli.out());
    }

    @Test
    void deleteRefusesAGroupWithMembers() {
        coordinator.hasMembers = true;
        assertEquals(1, cli.run("", "group", "delete", "billing"));
        assertTrue(cli.err().startsWith("rafka: NON_EMPTY_GROUP: "), cli.err());
        coordinator.hasMembers = false;
        assertEquals(0, cli.run("", "group", "delete", "billing"), cli.err());
        assertEquals("deleted group billing\n", cli.err());
    }

    @Test
    void resetOffsetsIsADryRunUnlessExecuted() {
        TopicPartition p0 = new TopicPartition("orders", 0);
        coordinator.committed.put(p0, 3L);
        assertEquals(0, cli.run("", "group", "reset-offsets", "billing", "--topic", "orders:0", "--shift-by", "-2"), cli.err());
        assertEquals(List.of("billing", "orders", "0", "3", "1"), List.of(cli.out().split("\n")[1].split(" +")), cli.out());
        assertTrue(cli.err().contains("dry run"), cli.err());
        assertEquals(1, cli.run("", "group", "reset-offsets", "billing", "--topic", "orders", "--shift-by", "-2"),
                "partition 1 has nothing committed to shift from");
        assertTrue(cli.err().startsWith("rafka: NO_COMMITTED_OFFSET: "), cli.err());

        assertEquals(0, cli.run("", "group", "reset-offsets", "billing", "--topic", "orders:0", "--shift-by", "-2"), cli.err());
        assertEquals(3L, coordinator.committed.get(p0), "a dry run changes nothing");
        assertEquals(0, cli.run("", "group", "reset-offsets", "billing", "--topic", "orders:0", "--shift-by", "-2", "--execute"),
                cli.err());
        assertEquals(1L, coordinator.committed.get(p0));
        assertEquals(0, cli.run("", "group", "reset-offsets", "billing", "--topic", "orders", "--to-latest", "--execute"));
        assertEquals(3L, coordinator.committed.get(new TopicPartition("orders", 1)));

        coordinator.hasMembers = true;
        assertEquals(1, cli.run("", "group", "reset-offsets", "billing", "--topic", "orders", "--to-earliest", "--execute"));
        assertTrue(cli.err().startsWith("rafka: NON_EMPTY_GROUP: "), cli.err());
        assertEquals(1, cli.run("", "group", "reset-offsets", "billing", "--topic", "orders:7", "--to-earliest"));
        assertTrue(cli.err().startsWith("rafka: UNKNOWN_TOPIC_OR_PARTITION: "), cli.err());
        assertEquals(2, cli.run("", "group", "reset-offsets", "billing", "--topic", "orders"), "no spec");
    }

    @Test
    void consumeWithAGroupPrintsThenCommitsAndLeaves() {
        coordinator.joinAssignment = List.of(0, 1);
        assertEquals(0, cli.run("", "consume", "orders", "--group", "billing", "--from-beginning", "--max-messages", "5",
                "--print-offset"), cli.err());
        assertEquals(5, cli.out().split("\n").length, cli.out());
        long committed = coordinator.committed.values().stream().mapToLong(Long::longValue).sum();
        assertEquals(5, committed, "exactly what was printed is committed: " + coordinator.committed);
        List<String> events = coordinator.events();
        assertTrue(events.get(events.size() - 1).startsWith("leave m-1"), events.toString());
        assertTrue(cli.err().contains("consumed 5 records from orders in group billing"), cli.err());

        List<String> first = List.of(cli.out().split("\n"));
        assertEquals(0, cli.run("", "consume", "orders", "--group", "billing", "--timeout-ms", "1500", "--print-offset"), cli.err());
        List<String> second = List.of(cli.out().split("\n"));
        assertEquals(1, second.size(), "the second member starts where the first committed: " + first + " then " + second);
        assertTrue(!first.contains(second.get(0)), first + " then " + second);
    }

    @Test
    void consumeWithAGroupKeepsGoingWhileCommitsFailAndCommitsWhatItPrintedOnceTheyWork() throws Exception {
        coordinator.joinAssignment = List.of(0, 1);
        coordinator.commitsFailWith = io.rafka.proto.v1.ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
        java.util.concurrent.CompletableFuture<Integer> exit = java.util.concurrent.CompletableFuture.supplyAsync(() ->
                cli.run("", "consume", "orders", "--group", "billing", "--from-beginning", "--max-messages", "7",
                        "--retry-timeout-ms", "1000"));
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (!exit.isDone() && !cli.err().contains("warning: commit failed") && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(!exit.isDone(), "a failing commit ended the command: " + cli.err());
        // Every record there is has been printed and none committed; the seventh arrives once commits work again.
        coordinator.commitsFailWith = null;
        coordinator.cluster.append(0, null, "a3");
        assertEquals(0, exit.get(30, java.util.concurrent.TimeUnit.SECONDS), cli.err());
        assertEquals(7, cli.out().split("\n").length, cli.out());
        assertEquals(java.util.Map.of(new TopicPartition("orders", 0), 4L, new TopicPartition("orders", 1), 3L),
                coordinator.committed, "what was printed while commits failed is committed with the next: " + cli.err());
        assertTrue(!cli.err().contains("not committed"), cli.err());
    }

    @Test
    void consumeWithAGroupSaysWhatItCouldNotCommit() {
        coordinator.joinAssignment = List.of(0, 1);
        coordinator.commitsFailWith = io.rafka.proto.v1.ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
        assertEquals(0, cli.run("", "consume", "orders", "--group", "billing", "--from-beginning", "--max-messages", "6",
                "--retry-timeout-ms", "1000"), cli.err());
        assertEquals(6, cli.out().split("\n").length, cli.out());
        assertTrue(coordinator.committed.isEmpty(), coordinator.committed.toString());
        assertTrue(cli.err().contains("warning: not committed, so the group's next reader prints them again: records up to"
                + " [orders-0 offset 2, orders-1 offset 2]"), cli.err());
    }

    @Test
    void consumeGroupUsageErrors() {
        assertEquals(2, cli.run("", "consume", "orders", "--group", "g", "--partition", "1"));
        assertEquals(2, cli.run("", "consume", "orders", "--instance-id", "x"));
        assertEquals(2, cli.run("", "consume", "orders", "--group", "g", "--offset-reset", "sometimes"));
        assertTrue(cli.err().startsWith("rafka: --offset-reset must be earliest, latest or none, not 'sometimes'"), cli.err());
        assertEquals(2, cli.run("", "consume", "orders", "--group", "g", "--offset-reset", "none", "--from-beginning"));
        assertEquals(2, cli.run("", "consume", "--group", "g"), "neither a topic nor a pattern");
        assertEquals(2, cli.run("", "consume", "orders", "--group", "g", "--assignor", "sticky"));
        assertTrue(cli.err().startsWith("rafka: --assignor must be uniform or range, not 'sticky'"), cli.err());
    }

    @Test
    void consumeGroupAssignorOption() {
        ConsumeCommand range = Commands.parse("consume", "orders", "--group", "g", "--assignor", "range");
        assertEquals(io.rafka.proto.v1.Assignor.ASSIGNOR_RANGE, GroupConsumeCommand.config(range).bootstrap("h:1").config().groupRemoteAssignor());
        ConsumeCommand plain = Commands.parse("consume", "orders", "--group", "g");
        assertEquals(io.rafka.proto.v1.Assignor.ASSIGNOR_UNIFORM, GroupConsumeCommand.config(plain).bootstrap("h:1").config().groupRemoteAssignor());
    }
}
