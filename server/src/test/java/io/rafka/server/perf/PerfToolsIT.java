package io.rafka.server.perf;

import io.rafka.client.perf.ConsumePerf;
import io.rafka.client.perf.E2ePerf;
import io.rafka.client.perf.ProducePerf;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.NewTopic;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The benchmark's load generator and reader ({@code bin/rafka perf produce|consume}) against three real brokers:
 * every record the producer counts as acknowledged is in its partition exactly once, in one idempotent
 * producer's sequence order with no gap, and the reader reads back exactly those records (on the SDK consumer,
 * assigned and in a group, and with the hand-written baseline reader), printing Kafka's consumer-perf-test summary
 * or JSON; {@code perf e2e} receives every record it sent and prints latency percentiles that parse. A benchmark
 * that lost, duplicated or reordered records would measure something other than what it claims.
 */
class PerfToolsIT {
    private static final String TOPIC = "perf";
    private static final int PARTITIONS = 3;
    private static final int RECORDS = 2_000;
    private static final int RECORD_SIZE = 1024;

    @TempDir
    Path tmp;

    @Test
    void producedRecordsAreInTheLogOnceInSequenceOrderAndReadBack() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false"))) {
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                    NewTopic.newBuilder().setName(TOPIC).setPartitions(PARTITIONS).setReplicationFactor(3)).build())
                    .getResults(0).getErrorCode());
            cluster.awaitLeaders(0, TOPIC, 30_000);
            String bootstrap = "127.0.0.1:" + cluster.grpcPort(0);
            ByteArrayOutputStream printed = new ByteArrayOutputStream();
            ProducePerf.Summary summary = ProducePerf.run(
                    ProducePerf.Options.defaults(bootstrap, TOPIC, RECORDS, RECORD_SIZE), new PrintStream(printed, true));

            String output = printed.toString(StandardCharsets.UTF_8);
            assertTrue(output.contains(RECORDS + " records sent, "), output);
            assertEquals(RECORDS, summary.records(), "records counted in the latency statistics");
            assertEquals(RECORDS, summary.recordsAcked(), "records acknowledged");
            assertTrue(summary.recordsPerSec() > 0, output);
            long[] acked = summary.ackedByPartition();
            for (int p = 0; p < PARTITIONS; p++) {
                assertTrue(acked[p] > 0, "sticky partitioning moves on after batch.size bytes: partition " + p + " got records");
                assertEquals(acked[p], readSequences(cluster, p, summary.producerId()), "partition " + p);
            }

            ConsumePerf.Options consume = ConsumePerf.Options.defaults(bootstrap, TOPIC, RECORDS);
            for (ConsumePerf.Options options : List.of(consume, consume.withRaw(true), consume.withGroup("perf-group"))) {
                ByteArrayOutputStream consumed = new ByteArrayOutputStream();
                ConsumePerf.Result read = ConsumePerf.run(options, new PrintStream(consumed, true));
                assertEquals(RECORDS, read.records(), options.toString());
                assertEquals((long) RECORDS * RECORD_SIZE, read.bytes());
                assertArrayEquals(acked, read.recordsByPartition());
                checkConsumeSummary(consumed.toString(StandardCharsets.UTF_8), options.group().isEmpty());
            }
            // Asked for more than the topic holds: each reader stops once no record came for its timeout, although
            // empty long polls keep answering.
            for (boolean raw : List.of(true, false)) {
                ConsumePerf.Options more = new ConsumePerf.Options(bootstrap, TOPIC, RECORDS + 100, 2_000, 8 << 20, 1 << 20,
                        500, "", 5_000, raw, false);
                ConsumePerf.Result partial = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                        java.time.Duration.ofSeconds(60), () -> ConsumePerf.run(more, new PrintStream(OutputStream.nullOutputStream())));
                assertEquals(RECORDS, partial.records(), more.toString());
            }
            ByteArrayOutputStream json = new ByteArrayOutputStream();
            ConsumePerf.run(new ConsumePerf.Options(bootstrap, TOPIC, RECORDS, 10_000, 8 << 20, 1 << 20, 500, "", 5_000,
                    false, true), new PrintStream(json, true));
            String jsonOut = json.toString(StandardCharsets.UTF_8).trim();
            String jsonLine = jsonOut.substring(jsonOut.lastIndexOf('\n') + 1);
            assertTrue(jsonLine.startsWith("{") && jsonLine.endsWith("}"), jsonLine);
            assertTrue(jsonLine.contains("\"records\":" + RECORDS + ",") && jsonLine.contains("\"bytes\":" + (long) RECORDS * RECORD_SIZE),
                    jsonLine);

            ByteArrayOutputStream e2eOut = new ByteArrayOutputStream();
            E2ePerf.Summary e2e = E2ePerf.run(new E2ePerf.Options(bootstrap, TOPIC, 300, 300, 100, 5_000, 30_000, false),
                    new PrintStream(e2eOut, true));
            assertEquals(300, e2e.sent());
            assertEquals(300, e2e.totals().records());
            String e2eLine = e2eOut.toString(StandardCharsets.UTF_8).trim();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(\\d+) records sent, (\\d+) received, ([\\d.]+) records/sec "
                    + "\\(([\\d.]+) MB/sec\\), end-to-end latency ([\\d.]+) ms avg, (\\d+) ms 50th, (\\d+) ms 99th, (\\d+) ms 99.9th, "
                    + "(\\d+) ms max\\.$").matcher(e2eLine.substring(e2eLine.lastIndexOf('\n') + 1));
            assertTrue(m.matches(), e2eLine);
            assertEquals(300, Integer.parseInt(m.group(2)));
            int p50 = Integer.parseInt(m.group(6));
            int max = Integer.parseInt(m.group(9));
            assertTrue(p50 <= Integer.parseInt(m.group(7)) && Integer.parseInt(m.group(8)) <= max, e2eLine);

            ProducePerf.Options paced = new ProducePerf.Options(bootstrap, TOPIC, 200, RECORD_SIZE, 1000, 16_384, 5, 5,
                    32L << 20, 30_000, 120_000, 5_000, 1 << 20);
            long start = System.nanoTime();
            assertEquals(200, ProducePerf.run(paced, new PrintStream(new ByteArrayOutputStream(), true)).recordsAcked());
            assertTrue(System.nanoTime() - start >= 150_000_000L, "200 records at 1000/s take about 0.2 s");
        }
    }

    /** Kafka's consumer-perf-test summary: the header, then ten comma-separated values that parse. */
    private static void checkConsumeSummary(String output, boolean assigned) {
        String[] lines = output.trim().split("\n");
        assertEquals(ConsumePerf.HEADER, lines[lines.length - 2], output);
        String[] values = lines[lines.length - 1].split(", ");
        assertEquals(10, values.length, output);
        for (int i = 0; i < 2; i++) {
            assertNotNull(new java.text.SimpleDateFormat("yyyy-MM-dd HH:mm:ss:SSS").parse(values[i],
                    new java.text.ParsePosition(0)), "start and end times: " + output);
        }
        assertEquals((double) RECORDS * RECORD_SIZE / (1024 * 1024), Double.parseDouble(values[2]), 0.001, output);
        assertEquals(RECORDS, Long.parseLong(values[4]), output);
        assertTrue(Double.parseDouble(values[3]) > 0 && Double.parseDouble(values[5]) > 0, output);
        long rebalanceMs = Long.parseLong(values[6]);
        assertTrue(rebalanceMs >= 0 && Long.parseLong(values[7]) >= 0, output);
        Double.parseDouble(values[8]);
        Double.parseDouble(values[9]);
    }

    /**
     * Reads partition {@code p} from its leader and checks every batch: written by the run's producer, sequences
     * continuing without gap or repeat from 0, offsets contiguous, full-size values. Returns the record count.
     */
    private static long readSequences(BrokerCluster cluster, int p, long producerId) {
        int leader = cluster.awaitLeaders(0, TOPIC, 30_000).get(p);
        long offset = 0;
        int nextSequence = 0;
        while (true) {
            PartitionFetchResult r = cluster.fetch(leader).fetch(FetchRequest.newBuilder()
                    .setFormat(RecordFormat.RECORD_FORMAT_ENCODED)
                    .addPartitions(PartitionFetch.newBuilder().setTopic(TOPIC).setPartition(p).setOffset(offset)).build())
                    .getResults(0);
            assertEquals(ErrorCode.NONE, r.getErrorCode(), r.getErrorMessage());
            if (offset >= r.getHighWatermark()) {
                return nextSequence;
            }
            List<RecordBatch> batches = RecordBatches.split(r.getEncodedBatches().asReadOnlyByteBuffer());
            assertTrue(!batches.isEmpty(), "data below the high watermark " + r.getHighWatermark() + " at " + offset);
            for (RecordBatch batch : batches) {
                batch.ensureValid();
                assertEquals(producerId, batch.producerId(), "partition " + p + " offset " + batch.baseOffset());
                assertEquals(0, batch.producerEpoch());
                assertEquals(nextSequence, batch.baseSequence(), "partition " + p + ": sequences in order, no repeat");
                assertEquals(offset, batch.baseOffset(), "partition " + p + ": offsets contiguous");
                for (Record record : batch.records()) {
                    assertEquals(RECORD_SIZE, record.value().length);
                }
                assertTrue(batch.sizeInBytes() <= 16_384, "batches up to batch.size: " + batch.sizeInBytes());
                nextSequence += batch.recordCount();
                offset = batch.nextOffset();
            }
        }
    }
}
