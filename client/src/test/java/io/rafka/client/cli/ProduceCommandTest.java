package io.rafka.client.cli;

import io.rafka.proto.v1.ErrorCode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code produce} end to end against in-process fake brokers (no real broker): routing, retries, errors. */
class ProduceCommandTest {

    private final FakeCluster cluster = new FakeCluster("orders", 3);
    private final CliRunner cli = new CliRunner(cluster);

    ProduceCommandTest() throws IOException {
    }

    @AfterEach
    void close() {
        cluster.close();
    }

    @Test
    void keyedLinesLandInKafkasPartitionsInOrder() {
        int status = cli.run("key-0:a\nkey-1:b\nkey-2:c\nkey-0:d\nno separator\n", "produce", "orders", "--key-separator", ":");

        assertEquals(0, status, cli.err());
        assertEquals(List.of("b", "no separator"), cluster.values(0));   // key-1 hashes to 0; unkeyed sticks to 0
        assertEquals(List.of("a", "d"), cluster.values(1));
        assertEquals(List.of("c"), cluster.values(2));
        assertEquals("key-0", cluster.logs.get(1).get(0).getKey().toStringUtf8());
        assertTrue(!cluster.logs.get(0).get(1).hasKey());
        assertEquals("produced 5 records to orders\n", cli.err());
        assertEquals("", cli.out());
    }

    @Test
    void eachLeaderGetsOneRequestWithItsPartitions() {
        cli.run("key-0:a\nkey-1:b\nkey-2:c\n", "produce", "orders", "--key-separator", ":");

        // Partitions 0 and 2 are led by broker 1, partition 1 by broker 2: one request each.
        assertEquals(List.of("1:0=1", "1:2=1", "2:1=1"), cluster.produceCalls);
    }

    @Test
    void unkeyedLinesFillABatchPerPartitionInTurn() {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 1001; i++) {
            lines.append("line-").append(i).append('\n');
        }
        assertEquals(0, cli.run(lines.toString(), "produce", "orders"), cli.err());

        assertEquals(500, cluster.values(0).size());
        assertEquals(500, cluster.values(1).size());
        assertEquals(List.of("line-1000"), cluster.values(2));
        assertEquals("line-500", cluster.values(1).get(0));
    }

    @Test
    void explicitPartitionTakesKeyedAndUnkeyedLines() {
        assertEquals(0, cli.run("key-0:a\nb\n", "produce", "orders", "--partition", "2", "--key-separator", ":"));
        assertEquals(List.of("a", "b"), cluster.values(2));
    }

    @Test
    void partitionThatDoesNotExistFails() {
        assertEquals(1, cli.run("a\n", "produce", "orders", "--partition", "3"));
        assertEquals("rafka: INVALID_PARTITIONS: topic orders has 3 partitions, there is no partition 3\n", cli.err());
    }

    @Test
    void followsTheLeaderHintOfNotLeader() {
        cluster.staleMetadataLeaders.put(0, "2");    // metadata says 2, broker 1 really leads

        assertEquals(0, cli.run("x\n", "produce", "orders", "--partition", "0"), cli.err());
        assertEquals(List.of("x"), cluster.values(0));
        assertEquals(List.of("2:0=1", "1:0=1"), cluster.produceCalls);
        assertEquals(List.of(100L), cluster.time.sleeps());
    }

    @Test
    void withoutAHintRefreshesMetadataAndRetries() {
        cluster.hintLeader = false;
        cluster.script(1, ErrorCode.NOT_LEADER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.BUSY, ErrorCode.REQUEST_TIMED_OUT);
        int metadataCallsBefore = cluster.metadataCalls;

        assertEquals(0, cli.run("x\n", "produce", "orders", "--partition", "1"), cli.err());
        assertEquals(List.of("x"), cluster.values(1));
        assertEquals(List.of(100L, 200L, 400L, 800L), cluster.time.sleeps());
        assertTrue(cluster.metadataCalls - metadataCallsBefore >= 3, "metadata refreshed after the errors");
    }

    @Test
    void waitsForAnAutoCreatedTopic() {
        cluster.metadataCallsBeforeTopicExists = 2;

        assertEquals(0, cli.run("x\n", "produce", "orders", "--partition", "0"), cli.err());
        assertEquals(List.of("x"), cluster.values(0));
        assertEquals(List.of(100L, 200L), cluster.time.sleeps());
    }

    @Test
    void fatalErrorStopsAtOnce() {
        cluster.script(0, ErrorCode.RECORD_TOO_LARGE);

        assertEquals(1, cli.run("x\n", "produce", "orders", "--partition", "0"));
        assertEquals("produced 0 records to orders\nrafka: RECORD_TOO_LARGE: orders-0: fake RECORD_TOO_LARGE\n", cli.err());
        assertEquals(List.of(), cluster.time.sleeps());
    }

    @Test
    void retriableErrorGivesUpAfterTheRetryTimeout() {
        for (int i = 0; i < 100; i++) {
            cluster.script(0, ErrorCode.BUSY);
        }

        assertEquals(1, cli.run("x\n", "produce", "orders", "--partition", "0", "--retry-timeout-ms", "2000"));
        assertEquals(List.of(100L, 200L, 400L, 800L, 500L), cluster.time.sleeps());
        assertTrue(cli.err().endsWith("rafka: BUSY: orders-0: fake BUSY (still failing after retrying for 2000 ms)\n"),
                cli.err());
    }

    @Test
    void bootstrapDownBeforeAnyMetadataFails() {
        cluster.down.put("1", true);

        assertEquals(1, cli.run("x\n", "produce", "orders", "--retry-timeout-ms", "300"));
        assertTrue(cli.err().startsWith("rafka: UNAVAILABLE: broker " + cluster.bootstrap() + ": broker 1 is down"),
                cli.err());
    }

    @Test
    void leaderGoingDownMidRunIsRetriedOnTheNewLeader() {
        cluster.down.put("2", true);
        cluster.staleMetadataLeaders.put(1, "2");
        cluster.staleMetadataCalls = 1;
        cluster.leaders.put(1, "1");   // broker 2 died; broker 1 took over, the first metadata answer lags

        assertEquals(0, cli.run("x\n", "produce", "orders", "--partition", "1"), cli.err());
        assertEquals(List.of("x"), cluster.values(1));
        assertEquals(List.of(100L), cluster.time.sleeps());
        assertEquals(2, cluster.metadataCalls);
    }
}
