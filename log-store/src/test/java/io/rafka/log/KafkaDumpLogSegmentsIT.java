package io.rafka.log;

import io.rafka.common.Time;
import io.rafka.log.internal.LogFiles;
import io.rafka.record.CompressionType;
import io.rafka.record.Header;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.record.RecordBatches;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Byte compatibility with Kafka: Kafka's own {@code kafka-dump-log} tool
 * ({@code org.apache.kafka.tools.DumpLogSegments} from kafka-tools) reads our {@code .log}, {@code .index}
 * and {@code .timeindex} files, verifies the indexes against the log, and reports exactly the batches,
 * records, offsets, positions and timestamps that we wrote. It runs as a separate JVM, as an operator
 * would run it.
 */
class KafkaDumpLogSegmentsIT {
    private static final Pattern BATCH = Pattern.compile(
            "^baseOffset: (\\d+) lastOffset: (\\d+) count: (\\d+) .*partitionLeaderEpoch: (-?\\d+) .*position: (\\d+) "
                    + "CreateTime: (-?\\d+) size: (\\d+) magic: 2 compresscodec: (\\w+) crc: (\\d+) isvalid: (\\w+)$");
    private static final Pattern RECORD = Pattern.compile(
            "^\\| offset: (\\d+) CreateTime: (-?\\d+) keySize: (-?\\d+) valueSize: (-?\\d+) .*headerKeys: \\[([^]]*)] "
                    + "(?:key: (\\S*) )?payload: (.*)$");
    private static final Pattern INDEX = Pattern.compile("^offset: (\\d+) position: (\\d+)$");
    private static final Pattern TIME_INDEX = Pattern.compile("^timestamp: (\\d+) offset: (\\d+)$");

    @TempDir
    Path tmp;

    @Test
    void kafkasDumpToolReadsAndVerifiesOurSegments() throws Exception {
        Path dir = tmp.resolve("orders-3");
        LogConfig config = LogConfig.builder().segmentBytes(6 * 1024).indexIntervalBytes(512).build();
        List<Record> written = new ArrayList<>();
        List<RecordBatch> writtenBatches = new ArrayList<>();
        try (PartitionLog log = PartitionLog.open(dir, config, Time.SYSTEM)) {
            long ts = 1_700_000_000_000L;
            for (int i = 0; i < 120; i++) {
                CompressionType codec = CompressionType.values()[i % CompressionType.values().length];
                RecordBatchBuilder b = new RecordBatchBuilder(codec);
                if (i % 7 == 0) {
                    b.producer(1000L + i, (short) 1, i * 10);
                }
                int n = 1 + i % 9;
                for (int r = 0; r < n; r++) {
                    // Timestamps mostly rise but sometimes step back, to exercise the time index rules.
                    long t = ts + i * 100L + (r % 3 == 2 ? -150 : r);
                    b.append(t, r % 2 == 0 ? ("k" + i + "." + r).getBytes(StandardCharsets.UTF_8) : null,
                            ("value-" + i + "-" + r + "-" + "z".repeat(i % 40)).getBytes(StandardCharsets.UTF_8),
                            r % 4 == 1 ? List.of(new Header("h1", new byte[] {1}), new Header("h2", null)) : List.of());
                }
                long first = log.logEndOffset();
                log.append(b.build(), 9, ts + i);
                ByteBuffer stored = log.read(first, 1 << 20, log.logEndOffset()).records();
                writtenBatches.addAll(RecordBatches.split(stored));
                written.addAll(io.rafka.testing.TestBatches.records(stored));
            }
            assertTrue(log.segmentCount() >= 4, "several segments, some with a non-zero base: " + log.segmentCount());
        }

        List<String> files = new ArrayList<>();
        List<Long> bases = new ArrayList<>();
        try (var list = Files.list(dir)) {
            list.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(LogFiles.LOG_SUFFIX)).sorted()
                    .forEach(n -> bases.add(LogFiles.baseOffsetOf(n, LogFiles.LOG_SUFFIX)));
        }
        for (long base : bases) {
            files.add(LogFiles.logFile(dir, base).toString());
            files.add(LogFiles.offsetIndexFile(dir, base).toString());
            files.add(LogFiles.timeIndexFile(dir, base).toString());
        }
        String[] out = runDumpTool(String.join(",", files));
        String stdout = out[0];
        String stderr = out[1];

        // 1. No verification errors, except the tool's known report that the first record of a segment
        //    with a non-zero base offset "follows -1" (its previous-offset counter starts at -1).
        for (String line : stderr.split("\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("Non-consecutive offsets in") || l.startsWith("SLF4J")) {
                continue;
            }
            Matcher m = Pattern.compile("^-1 is followed by (\\d+)$").matcher(l);
            assertTrue(m.matches() && bases.contains(Long.parseLong(m.group(1))), "kafka-dump-log reported: " + l);
        }
        assertTrue(!stdout.contains("invalid bytes"), stdout);

        // 2. Batches and records: exactly what we wrote, with valid CRCs.
        List<String[]> batchLines = new ArrayList<>();
        List<String[]> recordLines = new ArrayList<>();
        List<long[]> indexEntries = new ArrayList<>();
        List<long[]> timeEntries = new ArrayList<>();
        for (String line : stdout.split("\n")) {
            Matcher m;
            if ((m = BATCH.matcher(line)).matches()) {
                batchLines.add(groups(m));
            } else if ((m = RECORD.matcher(line)).matches()) {
                recordLines.add(groups(m));
            } else if ((m = INDEX.matcher(line)).matches()) {
                indexEntries.add(new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))});
            } else if ((m = TIME_INDEX.matcher(line)).matches()) {
                timeEntries.add(new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))});
            }
        }
        assertEquals(writtenBatches.size(), batchLines.size(), stdout);
        for (int i = 0; i < writtenBatches.size(); i++) {
            RecordBatch ours = writtenBatches.get(i);
            String[] theirs = batchLines.get(i);
            assertEquals(ours.baseOffset(), Long.parseLong(theirs[0]));
            assertEquals(ours.lastOffset(), Long.parseLong(theirs[1]));
            assertEquals(ours.recordCount(), Integer.parseInt(theirs[2]));
            assertEquals(9, Integer.parseInt(theirs[3]));
            assertEquals(ours.maxTimestamp(), Long.parseLong(theirs[5]));
            assertEquals(ours.sizeInBytes(), Integer.parseInt(theirs[6]));
            assertEquals(ours.compressionType().configName, theirs[7]);
            assertEquals(ours.checksum(), Long.parseLong(theirs[8]));
            assertEquals("true", theirs[9]);
        }
        assertEquals(written.size(), recordLines.size());
        for (int i = 0; i < written.size(); i++) {
            Record ours = written.get(i);
            String[] theirs = recordLines.get(i);
            assertEquals(ours.offset(), Long.parseLong(theirs[0]));
            assertEquals(ours.timestamp(), Long.parseLong(theirs[1]));
            assertEquals(ours.key() == null ? -1 : ours.key().length, Integer.parseInt(theirs[2]));
            assertEquals(new String(ours.value(), StandardCharsets.UTF_8), theirs[6]);
            assertEquals(ours.headers().isEmpty() ? "" : "h1,h2", theirs[4]);
        }

        // 3. Index entries: the tool printed every entry of our index files, and verified each against the log.
        int ourIndexEntries = 0;
        int ourTimeEntries = 0;
        for (long base : bases) {
            ourIndexEntries += (int) Files.size(LogFiles.offsetIndexFile(dir, base)) / 8;
            ourTimeEntries += (int) Files.size(LogFiles.timeIndexFile(dir, base)) / 12;
        }
        assertTrue(ourIndexEntries > 10 && ourTimeEntries > 10, ourIndexEntries + " / " + ourTimeEntries);
        assertEquals(ourIndexEntries, indexEntries.size());
        assertEquals(ourTimeEntries, timeEntries.size());
    }

    private static String[] groups(Matcher m) {
        String[] g = new String[m.groupCount()];
        for (int i = 0; i < g.length; i++) {
            g[i] = m.group(i + 1);
        }
        return g;
    }

    private String[] runDumpTool(String files) throws IOException, InterruptedException {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path stdout = tmp.resolve("dump.out");
        Path stderr = tmp.resolve("dump.err");
        Process p = new ProcessBuilder(java.toString(), "-Xmx256m", "-cp", classpath,
                "org.apache.kafka.tools.DumpLogSegments", "--files", files, "--deep-iteration", "--print-data-log")
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile())
                .start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "kafka-dump-log did not finish");
        String err = Files.readString(stderr);
        assertEquals(0, p.exitValue(), "kafka-dump-log failed: " + err);
        return new String[] {Files.readString(stdout), err};
    }
}
