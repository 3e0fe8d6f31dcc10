package io.rafka.client.perf;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The perf producer against a broker that answers NOT_LEADER and REQUEST_TIMED_OUT at random: batches are
 * retried in sequence order, so the log holds every record once, with the sequence continuing from 0, and the
 * summary counts exactly the records written. The total line is Kafka's, so bench/kafka/compare.sh reads both.
 */
class ProducePerfTest {
    /** What compare.sh's parse_producer matches (the same regular expression, in Java's syntax). */
    private static final Pattern TOTAL_LINE = Pattern.compile("^(\\d+) records sent, ([0-9.]+) records/sec \\(([0-9.]+) MB/sec\\), "
            + "([0-9.]+) ms avg.*, ([0-9.]+) ms max latency, (\\d+) ms 50th, (\\d+) ms 95th, (\\d+) ms 99th, (\\d+) ms 99\\.9th\\.$",
            Pattern.MULTILINE);

    @Test
    void retriedBatchesLandOnceInSequenceOrder() throws Exception {
        for (long seed = 1; seed <= SEEDS; seed++) {
            produceAgainstFaultyBroker(seed);
        }
    }

    private static void produceAgainstFaultyBroker(long seed) throws Exception {
        int records = 3_000;
        try (FaultyBroker broker = new FaultyBroker("t", 3, seed, 0.08, 0.05)) {
            ProducePerf.Options options = new ProducePerf.Options(broker.address(), "t", records, 100, -1, 1024, 1, 5,
                    1 << 20, 30_000, 60_000, 5_000, 1 << 20);
            ByteArrayOutputStream printed = new ByteArrayOutputStream();
            ProducePerf.Summary summary = ProducePerf.run(options, new PrintStream(printed, true, StandardCharsets.UTF_8));

            assertEquals(records, summary.recordsAcked(), "seed " + seed);
            assertEquals(records, summary.records());
            assertTrue(broker.notLeaderAnswers > 0 && broker.timedOutAnswers > 0, "faults were injected");
            assertTrue(summary.retries() >= broker.notLeaderAnswers + broker.timedOutAnswers, "every failed batch re-sent");
            for (int p = 0; p < 3; p++) {
                List<FaultyBroker.Stored> log = broker.logs.get(p);
                int nextSequence = 0;
                long nextOffset = 0;
                for (FaultyBroker.Stored s : log) {
                    assertEquals(summary.producerId(), s.producerId());
                    assertEquals(nextSequence, s.firstSeq(), "seed " + seed + ", partition " + p + ": no gap, no repeat");
                    assertEquals(nextOffset, s.baseOffset());
                    nextSequence = s.lastSeq() + 1;
                    nextOffset += s.records();
                }
                assertEquals(summary.ackedByPartition()[p], nextSequence, "partition " + p + ": acknowledged = written");
            }
            String output = printed.toString(StandardCharsets.UTF_8);
            var m = TOTAL_LINE.matcher(output);
            assertTrue(m.find(), output);
            assertEquals(Integer.toString(records), m.group(1));
        }
    }

    /** Seeds of the fault injection; raise with -Dperf.seeds=N to search for an ordering bug. */
    private static final long SEEDS = Long.getLong("perf.seeds", 4);

    @Test
    void optionsComeFromTheCommandLine() {
        ProducePerf.Options o = ProducePerf.Options.parse(List.of("--topic", "x", "--num-records=10", "--throughput", "500",
                "--bootstrap", "h:1"));
        assertEquals("x", o.topic());
        assertEquals(10, o.numRecords());
        assertEquals(500, o.throughput());
        assertEquals(16_384, o.batchSizeBytes());
        assertEquals(5, o.lingerMs());
        assertEquals(5, o.maxInFlight());
        assertEquals("h:1", o.bootstrap());
    }

    @Test
    void latencyPercentilesFollowKafkasRule() {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        LatencyStats stats = new LatencyStats(1000, 1_000_000, 0, new PrintStream(printed, true));
        for (int i = 1; i <= 1000; i++) {
            stats.record(i, 100, 10);
        }
        LatencyStats.Totals t = stats.totals(1000);
        assertEquals(1000, t.records());
        assertEquals(501, t.p50Ms());
        assertEquals(991, t.p99Ms());
        assertEquals(1000, t.p999Ms());
        assertEquals(1000, t.maxLatencyMs());
        assertEquals(1000.0, t.recordsPerSec(), 1e-9);
        assertTrue(TOTAL_LINE.matcher(t.line()).find(), t.line());
    }
}
