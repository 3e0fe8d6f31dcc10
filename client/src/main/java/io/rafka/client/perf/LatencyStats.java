package io.rafka.client.perf;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;

/**
 * Throughput and latency of acknowledged records, kept and printed the way Kafka's {@code ProducerPerformance}
 * does (same sampling of at most ~500,000 latencies, same percentile rule, same line formats), so that the two
 * tools' output can be compared and parsed alike: a window line every reporting interval and one total line.
 * Latencies are whole milliseconds from the moment a record was handed to the producer (waiting for buffer
 * memory included) to its acknowledgement. Thread-safe.
 */
public final class LatencyStats {
    private static final double MIB = 1024.0 * 1024.0;

    private final long startMs;
    private final int sampling;
    private final int[] latencies;
    private final long reportingIntervalMs;
    private final PrintStream out;
    private final String verb;
    private int sampled;
    private long iteration;
    private long count;
    private long bytes;
    private long totalLatencyMs;
    private int maxLatencyMs;
    private long windowStartMs;
    private long windowCount;
    private long windowBytes;
    private long windowTotalLatencyMs;
    private int windowMaxLatencyMs;

    LatencyStats(long numRecords, long reportingIntervalMs, long startMs, PrintStream out) {
        this(numRecords, reportingIntervalMs, startMs, out, "sent");
    }

    /** @param verb what the window line says was done to the records ("sent", "received") */
    LatencyStats(long numRecords, long reportingIntervalMs, long startMs, PrintStream out, String verb) {
        this.verb = verb;
        this.startMs = startMs;
        this.windowStartMs = startMs;
        this.sampling = (int) Math.max(1, numRecords / Math.max(1, Math.min(numRecords, 500_000)));
        this.latencies = new int[(int) Math.min(numRecords / sampling + 1, 1_000_001)];
        this.reportingIntervalMs = reportingIntervalMs;
        this.out = out;
    }

    synchronized void record(int latencyMs, int recordBytes, long nowMs) {
        count++;
        bytes += recordBytes;
        totalLatencyMs += latencyMs;
        maxLatencyMs = Math.max(maxLatencyMs, latencyMs);
        windowCount++;
        windowBytes += recordBytes;
        windowTotalLatencyMs += latencyMs;
        windowMaxLatencyMs = Math.max(windowMaxLatencyMs, latencyMs);
        if (iteration++ % sampling == 0 && sampled < latencies.length) {
            latencies[sampled++] = latencyMs;
        }
        if (nowMs - windowStartMs >= reportingIntervalMs) {
            printWindow(nowMs);
            windowStartMs = nowMs;
            windowCount = 0;
            windowBytes = 0;
            windowTotalLatencyMs = 0;
            windowMaxLatencyMs = 0;
        }
    }

    private void printWindow(long nowMs) {
        long elapsed = Math.max(1, nowMs - windowStartMs);
        out.printf(Locale.ROOT, "%d records %s, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.%n",
                windowCount, verb, 1000.0 * windowCount / elapsed, 1000.0 * windowBytes / elapsed / MIB,
                (double) windowTotalLatencyMs / Math.max(1, windowCount), (double) windowMaxLatencyMs);
        out.flush();
    }

    synchronized long count() {
        return count;
    }

    /** The totals since the start; {@code nowMs} ends the measured time. */
    synchronized Totals totals(long nowMs) {
        long elapsed = Math.max(1, nowMs - startMs);
        int[] sorted = Arrays.copyOf(latencies, sampled);
        Arrays.sort(sorted);
        return new Totals(count, bytes, elapsed, 1000.0 * count / elapsed, 1000.0 * bytes / elapsed / MIB,
                (double) totalLatencyMs / Math.max(1, count), maxLatencyMs,
                percentile(sorted, 0.5), percentile(sorted, 0.95), percentile(sorted, 0.99), percentile(sorted, 0.999));
    }

    private static int percentile(int[] sorted, double p) {
        return sorted.length == 0 ? 0 : sorted[(int) (p * sorted.length)];
    }

    /** What the total line says. */
    public record Totals(long records, long bytes, long elapsedMs, double recordsPerSec, double mbPerSec, double avgLatencyMs,
                  int maxLatencyMs, int p50Ms, int p95Ms, int p99Ms, int p999Ms) {

        /** Kafka's {@code ProducerPerformance} total line, word for word. */
        public String line() {
            return String.format(Locale.ROOT, "%d records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, "
                            + "%.2f ms max latency, %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.",
                    records, recordsPerSec, mbPerSec, avgLatencyMs, (double) maxLatencyMs, p50Ms, p95Ms, p99Ms, p999Ms);
        }
    }
}
