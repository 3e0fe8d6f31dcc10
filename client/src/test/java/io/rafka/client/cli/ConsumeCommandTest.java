package io.rafka.client.cli;

import io.rafka.client.internals.ChannelPool;

import io.rafka.proto.v1.ErrorCode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code consume} end to end against in-process fake brokers (no real broker). */
class ConsumeCommandTest {

    private final FakeCluster cluster = new FakeCluster("orders", 2);
    private final CliRunner cli = new CliRunner(cluster);

    ConsumeCommandTest() throws IOException {
        for (int i = 0; i < 5; i++) {
            cluster.append(0, "k" + i, "p0-" + i);
        }
        cluster.append(1, null, "p1-0");
    }

    @AfterEach
    void close() {
        cluster.close();
    }

    @Test
    void fromBeginningReadsEveryPartitionFollowingNextOffset() {
        int status = cli.run("", "consume", "orders", "--from-beginning", "--max-messages", "6", "--print-offset");

        assertEquals(0, status, cli.err());
        // Partition 0 comes two records per fetch, partition 1's only record with its first one.
        assertEquals("0:0\tp0-0\n0:1\tp0-1\n1:0\tp1-0\n0:2\tp0-2\n0:3\tp0-3\n0:4\tp0-4\n", cli.out());
        assertEquals("consumed 6 records from orders\n", cli.err());
    }

    @Test
    @Timeout(30)
    void ctrlCEndsItWithTheCount() throws Exception {
        java.util.concurrent.CompletableFuture<Integer> run = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> cli.run("", "consume", "orders", "--from-beginning"));
        while (cli.err().isEmpty() && cli.out().split("\n").length < 6) {
            Thread.sleep(10);
        }
        cli.stop.requestAndWait();

        assertEquals(0, run.get());
        assertEquals("consumed 6 records from orders\n", cli.err());
    }

    @Test
    void stopsAfterMaxMessages() {
        assertEquals(0, cli.run("", "consume", "orders", "--partition", "0", "--from-beginning",
                "--max-messages", "3", "--print-key"));
        assertEquals("k0\tp0-0\nk1\tp0-1\nk2\tp0-2\n", cli.out());
    }

    @Test
    void startsAtAnOffset() {
        assertEquals(0, cli.run("", "consume", "orders", "--partition", "0", "--offset", "3", "--timeout-ms", "2000"));
        assertEquals("p0-3\np0-4\n", cli.out());
    }

    @Test
    void anOffsetPastTheEndStartsAtTheEnd() {
        assertEquals(0, cli.run("", "consume", "orders", "--partition", "0", "--offset", "100", "--timeout-ms", "1500"));
        assertEquals("", cli.out(), "not the partition again from its start");
        assertEquals("offset 100 of orders-0 is past its end (5): starting at the end\nconsumed 0 records from orders\n", cli.err());
    }

    @Test
    void byDefaultStartsAtTheEndAndStopsWhenIdle() {
        assertEquals(0, cli.run("", "consume", "orders", "--timeout-ms", "1500"));
        assertEquals("", cli.out());
        assertEquals("consumed 0 records from orders\n", cli.err());
    }

    @Test
    @Timeout(30)
    void offsetBelowTheLogStartRestartsFromTheEarliest() {
        cluster.logStartOffset = 1;
        assertEquals(0, cli.run("", "consume", "orders", "--partition", "0", "--offset", "0", "--max-messages", "2"));
        assertEquals("p0-1\np0-2\n", cli.out());
        // The SDK consumer logs the restart as a warning (slf4j: "WARN offset 0 of orders-0 is out of range ...").
    }

    @Test
    void followsNotLeaderToTheRealLeader() {
        cluster.staleMetadataLeaders.put(0, "2");

        assertEquals(0, cli.run("", "consume", "orders", "--partition", "0", "--from-beginning", "--max-messages", "5"),
                cli.err());
        assertEquals("p0-0\np0-1\np0-2\np0-3\np0-4\n", cli.out());
    }

    @Test
    void retriableFetchErrorsBackOffThenContinue() {
        cluster.script(0, ErrorCode.NONE, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.BUSY);   // ListOffsets, then 2 fetches

        assertEquals(0, cli.run("", "consume", "orders", "--partition", "0", "--from-beginning", "--max-messages", "2"),
                cli.err());
        assertEquals("p0-0\np0-1\n", cli.out());
        assertTrue(cluster.time.sleeps().size() >= 2 && cluster.time.sleeps().stream().allMatch(ms -> ms >= 100),
                "backs off after each retriable error: " + cluster.time.sleeps());
    }

    @Test
    @Timeout(10)
    void stopsWhenStdoutIsClosed() {
        OutputStream closedPipe = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Broken pipe");
            }
        };
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (ChannelPool channels = cluster.channels()) {
            int status = RafkaCli.run(List.of("--bootstrap", cluster.bootstrap().toString(), "consume", "orders",
                            "--from-beginning"), Map.of(), channels, cluster.time, new Random(),
                    new ByteArrayInputStream(new byte[0]), new PrintStream(closedPipe, false, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(0, status);
        }
        // Records were "printed" into the broken pipe before the first check noticed it.
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("consumed "), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void fatalFetchErrorEndsTheCommand() {
        cluster.script(1, ErrorCode.NONE, ErrorCode.UNKNOWN_SERVER_ERROR);

        assertEquals(1, cli.run("", "consume", "orders", "--partition", "1", "--from-beginning"));
        assertEquals("consumed 0 records from orders\nrafka: UNKNOWN_SERVER_ERROR: orders-1: fake UNKNOWN_SERVER_ERROR\n", cli.err());
    }

    @Test
    void missingTopicFailsAfterTheRetryTimeout() {
        cluster.metadataCallsBeforeTopicExists = Integer.MAX_VALUE;

        assertEquals(1, cli.run("", "consume", "orders", "--retry-timeout-ms", "1000"));
        assertTrue(cli.err().startsWith("rafka: UNKNOWN_TOPIC_OR_PARTITION: topic orders"), cli.err());
        assertTrue(cli.err().contains("1000 ms"), cli.err());
    }
}
