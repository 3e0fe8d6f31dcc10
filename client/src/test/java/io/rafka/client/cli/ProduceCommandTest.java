package io.rafka.client.cli;

import io.rafka.proto.v1.ErrorCode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code produce} end to end against in-process fake brokers (no real broker): routing, retries, errors. The
 * command runs on the SDK producer, whose own clock is real: retries here take real (short) pauses.
 */
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
        assertTrue(cluster.values(0).contains("b"), "key-1 hashes to 0");
        assertEquals(List.of("a", "d"), cluster.values(1).stream().filter(v -> !v.equals("no separator")).toList());
        assertTrue(cluster.values(2).contains("c"));
        assertEquals(5, cluster.values(0).size() + cluster.values(1).size() + cluster.values(2).size());
        assertEquals("key-0", cluster.logs.get(1).get(0).getKey().toStringUtf8());
        assertEquals("produced 5 records to orders\n", cli.err());
        assertEquals("", cli.out());
    }

    @Test
    void eachLeaderGetsOneRequestWithItsPartitions() {
        cli.run("key-0:a\nkey-1:b\nkey-2:c\n", "produce", "orders", "--key-separator", ":");

        // Partitions 0 and 2 are led by broker 1, partition 1 by broker 2: one request each.
        assertEquals(List.of("1:0=1", "1:2=1", "2:1=1"), cluster.produceCalls.stream().sorted().toList());
    }

    @Test
    void unkeyedLinesFillABatchPerPartitionInTurn() {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 3001; i++) {
            lines.append("line-").append(i).append('\n');
        }
        assertEquals(0, cli.run(lines.toString(), "produce", "orders"), cli.err());

        // Sticky: each batch (16 KiB) fills one partition, then the next one takes over; each partition in order.
        int total = 0;
        for (int p = 0; p < 3; p++) {
            List<Integer> seen = cluster.values(p).stream().map(v -> Integer.parseInt(v.substring(5))).toList();
            assertEquals(seen.stream().sorted().toList(), seen, "partition " + p + " in input order");
            assertTrue(seen.size() > 0, "every partition got batches");
            total += seen.size();
        }
        assertEquals(3001, total);
        // The CLI sends with linger.ms 0: a batch leaves as soon as the sender is free, so how full batches get depends
        // on how the reading and sending threads are scheduled (under 100 requests for these 3,001 lines in earlier
        // runs, 105 in one fresh-clone CI run). What must not happen is a request per line.
        assertTrue(cluster.produceCalls.size() < 300, "batches, not one request per line: " + cluster.produceCalls.size());
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
    }

    @Test
    void withoutAHintRefreshesMetadataAndRetries() {
        cluster.hintLeader = false;
        cluster.script(1, ErrorCode.NOT_LEADER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.BUSY, ErrorCode.REQUEST_TIMED_OUT);
        int metadataCallsBefore = cluster.metadataCalls;

        assertEquals(0, cli.run("x\n", "produce", "orders", "--partition", "1"), cli.err());
        assertEquals(List.of("x"), cluster.values(1));
        assertEquals(5, cluster.produceCalls.size(), "four errors, then the write");
        assertTrue(cluster.metadataCalls - metadataCallsBefore >= 3, "metadata refreshed after the errors");
    }

    @Test
    void waitsForAnAutoCreatedTopic() {
        cluster.metadataCallsBeforeTopicExists = 2;

        assertEquals(0, cli.run("x\n", "produce", "orders", "--partition", "0"), cli.err());
        assertEquals(List.of("x"), cluster.values(0));
        assertTrue(cluster.metadataCalls >= 3, "asked until the topic appeared");
    }

    @Test
    void fatalErrorStopsAtOnce() {
        cluster.script(0, ErrorCode.INVALID_REQUEST);

        assertEquals(1, cli.run("x\n", "produce", "orders", "--partition", "0"));
        assertEquals("produced 0 records to orders\nrafka: INVALID_REQUEST: orders-0: fake INVALID_REQUEST\n", cli.err());
        assertEquals(List.of("1:0=1"), cluster.produceCalls, "not retried");
    }

    @Test
    void aLineRefusedForItselfIsReportedAndTheRestAreWritten() {
        // key-1 hashes to partition 0, key-0 to 1, key-2 to 2: only the second line's batch is refused by the broker.
        cluster.script(0, ErrorCode.RECORD_TOO_LARGE);

        assertEquals(1, cli.run("key-0:a\nkey-1:b\nkey-2:c\n", "produce", "orders", "--key-separator", ":"));
        assertEquals(List.of(), cluster.values(0));
        assertEquals(List.of("a"), cluster.values(1));
        assertEquals(List.of("c"), cluster.values(2));
        assertEquals("line 2: RECORD_TOO_LARGE: orders-0: fake RECORD_TOO_LARGE (not written)\n"
                + "produced 2 records to orders; 1 line refused (not written)\n", cli.err());
    }

    @Test
    void linesAfterOneTooLargeForTheProducerAreStillRead() {
        // The producer refuses a record above max.request.size before sending it, while later lines are still unread.
        String huge = "y".repeat(2_000_000);

        assertEquals(1, cli.run("pre\n" + huge + "\npost-1\npost-2\n", "produce", "orders", "--partition", "0"));
        assertEquals(List.of("pre", "post-1", "post-2"), cluster.values(0));
        assertTrue(cli.err().startsWith("line 2: RECORD_TOO_LARGE: "), cli.err());
        assertTrue(cli.err().endsWith("produced 3 records to orders; 1 line refused (not written)\n"), cli.err());
    }

    @Test
    void retriableErrorGivesUpAfterTheRetryTimeout() {
        for (int i = 0; i < 100; i++) {
            cluster.script(0, ErrorCode.BUSY);
        }

        long start = System.nanoTime();
        assertEquals(1, cli.run("x\n", "produce", "orders", "--partition", "0", "--retry-timeout-ms", "1000"));
        assertTrue(System.nanoTime() - start >= 900_000_000L, "retried for the retry timeout");
        assertTrue(cli.err().contains("rafka: BUSY: orders-0: not delivered within delivery.timeout.ms (1000 ms)"), cli.err());
        assertTrue(cli.err().endsWith("last error: BUSY: fake BUSY\n"), cli.err());
    }

    @Test
    void bootstrapDownBeforeAnyMetadataFails() {
        cluster.down.put("1", true);

        assertEquals(1, cli.run("x\n", "produce", "orders", "--retry-timeout-ms", "300"));
        assertTrue(cli.err().startsWith("rafka: UNAVAILABLE: broker " + cluster.bootstrap() + ": broker 1 is down"),
                cli.err());
    }

    @Test
    void aLongWaitForTheTopicIsSaidWhileItLasts() {
        cluster.down.put("1", true);

        assertEquals(1, cli.run("x\n", "produce", "orders", "--retry-timeout-ms", "2600"));
        String notice = "waiting for the partitions of topic orders (bootstrap " + cluster.bootstrap() + ")";
        assertTrue(cli.err().startsWith(notice), cli.err());
        assertTrue(cli.err().contains("retrying for up to 2600 ms (--retry-timeout-ms)\nrafka: UNAVAILABLE: "), cli.err());
    }

    @Test
    void leaderGoingDownMidRunIsRetriedOnTheNewLeader() {
        cluster.down.put("2", true);
        cluster.staleMetadataLeaders.put(1, "2");
        cluster.staleMetadataCalls = 1;
        cluster.leaders.put(1, "1");   // broker 2 died; broker 1 took over, the first metadata answer lags

        assertEquals(0, cli.run("x\n", "produce", "orders", "--partition", "1"), cli.err());
        assertEquals(List.of("x"), cluster.values(1));
        assertTrue(cluster.metadataCalls >= 2, "metadata asked again after the broken stream");
    }
}
