package io.rafka.client.perf;

import io.rafka.client.producer.Acks;
import io.rafka.client.producer.ProducerMetrics;
import io.rafka.client.producer.ProducerRecord;
import io.rafka.client.producer.RafkaProducer;
import io.rafka.client.producer.Serializers;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;
import java.util.concurrent.locks.LockSupport;

/**
 * A load generator for Rafka with the producer semantics of Kafka's {@code ProducerPerformance} as the
 * side-by-side benchmark runs it (acks=all, idempotent, linger 5 ms, 16 KiB batches, 5 requests in flight per
 * broker, on the Java SDK's {@link RafkaProducer}), and its output: a window line every 5 s and one total line in the same
 * format, so both tools are read alike. For example:
 *
 * <pre>
 * rafka perf produce --topic bench --num-records 1000000 --record-size 1024 --throughput -1
 * </pre>
 *
 * <p>Records have no key and the same random payload (as {@code ProducerPerformance} sends with
 * {@code --record-size}). {@code --throughput R} paces the records at R per second; -1 sends as fast as the
 * producer takes them.
 */
public final class ProducePerf {

    static final Set<String> OPTIONS = Set.of("bootstrap", "topic", "num-records", "record-size", "throughput",
            "batch-size", "linger-ms", "max-in-flight", "buffer-memory", "request-timeout-ms", "delivery-timeout-ms",
            "reporting-interval-ms", "max-request-bytes");
    /** Throttled sends sleep only when this far ahead of schedule, as Kafka's throttler does. */
    private static final long MIN_SLEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    /** Producer settings, with Kafka's defaults where the benchmark does not set them. */
    public record Options(String bootstrap, String topic, long numRecords, int recordSize, double throughput,
                          int batchSizeBytes, int lingerMs, int maxInFlight, long bufferMemoryBytes,
                          int requestTimeoutMs, long deliveryTimeoutMs, long reportingIntervalMs, int maxRequestBytes) {
        public Options {
            if (numRecords < 1 || recordSize < 1 || batchSizeBytes < 1 || lingerMs < 0 || maxInFlight < 1
                    || bufferMemoryBytes < recordSize || requestTimeoutMs < 1 || reportingIntervalMs < 1) {
                throw new IllegalArgumentException("records, record size, batch size, in-flight requests, buffer memory,"
                        + " request timeout and reporting interval must be positive (buffer memory >= record size)");
            }
            if (throughput == 0) {
                throw new IllegalArgumentException("--throughput must be positive, or -1 for no limit");
            }
        }

        /** The benchmark's settings for {@code numRecords} records of {@code recordSize} bytes. */
        public static Options defaults(String bootstrap, String topic, long numRecords, int recordSize) {
            return new Options(bootstrap, topic, numRecords, recordSize, -1, 16_384, 5, 5, 32L * 1024 * 1024,
                    30_000, 120_000, 5_000, 1024 * 1024);
        }

        static Options parse(List<String> args) {
            PerfArgs a = PerfArgs.parse(args, OPTIONS);
            Options d = defaults(a.bootstrap(), a.required("topic"), a.longValue("num-records", 1_000_000),
                    a.intValue("record-size", 1024));
            return new Options(d.bootstrap, d.topic, d.numRecords, d.recordSize, a.doubleValue("throughput", -1),
                    a.intValue("batch-size", d.batchSizeBytes), a.intValue("linger-ms", d.lingerMs),
                    a.intValue("max-in-flight", d.maxInFlight), a.longValue("buffer-memory", d.bufferMemoryBytes),
                    a.intValue("request-timeout-ms", d.requestTimeoutMs),
                    a.longValue("delivery-timeout-ms", d.deliveryTimeoutMs),
                    a.longValue("reporting-interval-ms", d.reportingIntervalMs),
                    a.intValue("max-request-bytes", d.maxRequestBytes));
        }
    }

    /**
     * What a run did. {@code ackedByPartition} counts acknowledged records per partition; {@code leaderChanges}
     * how often the tool saw a partition's leader move; {@code retries} batches sent again.
     */
    public record Summary(LatencyStats.Totals totals, long producerId, long[] ackedByPartition, long retries,
                          long notLeaderAnswers, long leaderChanges) {
        public long recordsAcked() {
            return Arrays.stream(ackedByPartition).sum();
        }

        public long records() {
            return totals.records();
        }

        public double recordsPerSec() {
            return totals.recordsPerSec();
        }

        public String line() {
            return totals.line();
        }
    }

    private ProducePerf() {
    }

    static final String USAGE = """
            usage: rafka perf produce --topic T [--num-records N] [--record-size S] [--throughput R] [--bootstrap HOST:PORT]
                                      [--batch-size B] [--linger-ms L] [--max-in-flight M] [--buffer-memory BYTES]
                                      [--request-timeout-ms T] [--delivery-timeout-ms T] [--reporting-interval-ms T]
                                      [--max-request-bytes BYTES]
              Sends N (1000000) records of S (1024) random bytes to topic T (auto-created with the broker's defaults
              if missing and the broker allows it) as Kafka's ProducerPerformance does: idempotent, acks=all,
              batches of up to B (16384) bytes per partition sent
              after L (5) ms, M (5) requests in flight per broker, buffer 32 MiB, retries until the delivery
              timeout (120000 ms). R records/s, or -1 (the default) for as fast as possible. Prints a line every
              5 s and a total line with throughput and latency percentiles. The bootstrap broker is --bootstrap,
              else $RAFKA_BOOTSTRAP, else 127.0.0.1:9092.
            """;

    public static void main(String[] args) {
        PerfMain.main("rafka perf produce", USAGE, args, Options::parse, o -> {
            run(o, System.out);
            return 0;
        });
    }

    /** Produces {@code options.numRecords()} records, printing progress and the total line on {@code out}. */
    public static Summary run(Options options, PrintStream out) {
        byte[] payload = randomPayload(options.recordSize(), new Random());
        try (RafkaProducer<byte[], byte[]> producer = RafkaProducer.builder(Serializers.bytes(), Serializers.bytes())
                .bootstrap(options.bootstrap()).acks(Acks.ALL).batchSize(options.batchSizeBytes())
                .lingerMs(options.lingerMs()).maxInFlightRequestsPerConnection(options.maxInFlight())
                .bufferMemory(options.bufferMemoryBytes()).requestTimeout(Duration.ofMillis(options.requestTimeoutMs()))
                .deliveryTimeout(Duration.ofMillis(options.deliveryTimeoutMs())).maxRequestSize(options.maxRequestBytes())
                .maxBlock(Duration.ofMillis(options.deliveryTimeoutMs())).build()) {
            int partitions = producer.partitionsFor(options.topic()).size();
            long startNanos = System.nanoTime();
            LatencyStats stats = new LatencyStats(options.numRecords(), options.reportingIntervalMs(),
                    TimeUnit.NANOSECONDS.toMillis(startNanos), out);
            AtomicLongArray acked = new AtomicLongArray(partitions);
            AtomicReference<Exception> failure = new AtomicReference<>();
            generate(options, startNanos, failure, sentAt -> producer.send(new ProducerRecord<>(options.topic(), payload),
                    (m, e) -> {
                        if (e != null) {
                            failure.compareAndSet(null, e);
                            return;
                        }
                        long now = System.nanoTime();
                        acked.incrementAndGet(m.partition());
                        stats.record((int) TimeUnit.NANOSECONDS.toMillis(now - sentAt), payload.length,
                                TimeUnit.NANOSECONDS.toMillis(now));
                    }));
            producer.flush();
            if (failure.get() != null) {
                throw new PerfException("a record was not delivered: " + failure.get().getMessage(), failure.get());
            }
            LatencyStats.Totals totals = stats.totals(TimeUnit.NANOSECONDS.toMillis(System.nanoTime()));
            ProducerMetrics metrics = producer.metrics();
            out.println(totals.line());
            out.printf(Locale.ROOT, "producer id %d, %d batches re-sent, %d NOT_LEADER answers, %d leader changes seen%n",
                    producer.producerId(), metrics.batchesRetried(), metrics.notLeaderAnswers(), metrics.leaderChanges());
            out.flush();
            long[] byPartition = new long[partitions];
            for (int p = 0; p < partitions; p++) {
                byPartition[p] = acked.get(p);
            }
            return new Summary(totals, producer.producerId(), byPartition, metrics.batchesRetried(),
                    metrics.notLeaderAnswers(), metrics.leaderChanges());
        }
    }

    /** Sends the records, paced at the requested throughput; stops early once a record failed for good. */
    private static void generate(Options options, long startNanos, AtomicReference<Exception> failure, LongConsumer send) {
        double nanosPerRecord = options.throughput() > 0 ? 1e9 / options.throughput() : 0;
        for (long i = 0; i < options.numRecords() && failure.get() == null; i++) {
            if (nanosPerRecord > 0) {
                long ahead = startNanos + (long) (i * nanosPerRecord) - System.nanoTime();
                if (ahead >= MIN_SLEEP_NANOS) {
                    LockSupport.parkNanos(ahead);
                }
            }
            send.accept(System.nanoTime());
        }
    }

    /** Random uppercase letters, as {@code ProducerPerformance} fills its payload. */
    static byte[] randomPayload(int size, Random random) {
        byte[] payload = new byte[size];
        for (int i = 0; i < size; i++) {
            payload[i] = (byte) ('A' + random.nextInt(26));
        }
        return payload;
    }
}
