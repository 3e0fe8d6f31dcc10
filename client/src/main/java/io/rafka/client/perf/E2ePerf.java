package io.rafka.client.perf;

import io.rafka.client.consumer.ConsumerRecord;
import io.rafka.client.consumer.Deserializers;
import io.rafka.client.consumer.RafkaConsumer;
import io.rafka.client.producer.Acks;
import io.rafka.client.producer.ProducerRecord;
import io.rafka.client.producer.RafkaProducer;
import io.rafka.client.producer.Serializers;
import io.rafka.common.TopicPartition;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * End-to-end latency: the SDK producer sends at a fixed rate (acks=all, idempotent, linger 5 ms), the SDK consumer
 * (every partition assigned, from the end as it was before the first send) reads, and each record's latency is
 * the consumer's clock at poll minus the record's timestamp (the producer's clock at send: both run in this
 * process, so the clocks agree). Prints a window line every reporting interval and a summary with p50, p99,
 * p99.9 and max, or one JSON object with {@code --json}. For example:
 *
 * <pre>
 * rafka perf e2e --topic bench --records 20000 --rate 2000
 * </pre>
 */
public final class E2ePerf {
    static final Set<String> OPTIONS = Set.of("bootstrap", "topic", "records", "num-records", "rate", "record-size",
            "reporting-interval-ms", "timeout-ms");
    static final Set<String> FLAGS = Set.of("json");
    private static final double MIB = 1024.0 * 1024.0;

    public record Options(String bootstrap, String topic, long records, double rate, int recordSize,
                          long reportingIntervalMs, long timeoutMs, boolean json) {
        public Options {
            if (records < 1 || rate <= 0 || recordSize < 1 || reportingIntervalMs < 1 || timeoutMs < 1) {
                throw new IllegalArgumentException("records, rate, record size, reporting interval and timeout must be positive");
            }
        }

        static Options parse(List<String> args) {
            PerfArgs a = PerfArgs.parse(args, OPTIONS, FLAGS);
            return new Options(a.bootstrap(), a.required("topic"), a.longValue("records", a.longValue("num-records", 10_000)),
                    a.doubleValue("rate", 1_000), a.intValue("record-size", 1024), a.longValue("reporting-interval-ms", 5_000),
                    a.longValue("timeout-ms", 30_000), a.flag("json"));
        }
    }

    /** What the run measured: records sent and received, and the end-to-end latency totals. */
    public record Summary(long sent, LatencyStats.Totals totals) {
        public String line() {
            return String.format(Locale.ROOT, "%d records sent, %d received, %.1f records/sec (%.2f MB/sec), end-to-end "
                            + "latency %.2f ms avg, %d ms 50th, %d ms 99th, %d ms 99.9th, %d ms max.",
                    sent, totals.records(), totals.recordsPerSec(), totals.mbPerSec(), totals.avgLatencyMs(),
                    totals.p50Ms(), totals.p99Ms(), totals.p999Ms(), totals.maxLatencyMs());
        }

        public String json() {
            return String.format(Locale.ROOT, "{\"sent\":%d,\"received\":%d,\"records_per_sec\":%.1f,\"mb_per_sec\":%.4f,"
                            + "\"latency_avg_ms\":%.2f,\"latency_p50_ms\":%d,\"latency_p99_ms\":%d,\"latency_p999_ms\":%d,"
                            + "\"latency_max_ms\":%d}",
                    sent, totals.records(), totals.recordsPerSec(), totals.mbPerSec(), totals.avgLatencyMs(),
                    totals.p50Ms(), totals.p99Ms(), totals.p999Ms(), totals.maxLatencyMs());
        }
    }

    private E2ePerf() {
    }

    static final String USAGE = """
            usage: rafka perf e2e --topic T [--records N] [--rate R] [--record-size S] [--bootstrap HOST:PORT]
                                  [--reporting-interval-ms T] [--timeout-ms T] [--json]
              Sends N (10000) records of S (1024) bytes to topic T (which must exist) at R (1000) records/s with the
              SDK producer (acks=all) and reads them with the SDK consumer; prints a line every 5 s and the
              end-to-end latency (record timestamp to poll) p50/p99/p99.9/max. Stops T (30000) ms after the last
              record arrived if some never do.
            """;

    public static void main(String[] args) {
        PerfMain.main("rafka perf e2e", USAGE, args, Options::parse, o -> run(o, System.out).totals().records() >= o.records() ? 0 : 1);
    }

    public static Summary run(Options o, PrintStream out) {
        List<TopicPartition> all = new ArrayList<>();
        try (LeaderTable leaders = new LeaderTable(o.bootstrap(), o.topic())) {
            leaders.refresh(30_000);
            for (int p = 0; p < leaders.partitionCount(); p++) {
                all.add(new TopicPartition(o.topic(), p));
            }
        }
        try (RafkaConsumer<byte[], byte[]> consumer = RafkaConsumer.builder(Deserializers.bytes(), Deserializers.bytes())
                .bootstrap(o.bootstrap()).enableAutoCommit(false).build();
             RafkaProducer<byte[], byte[]> producer = RafkaProducer.builder(Serializers.bytes(), Serializers.bytes())
                     .bootstrap(o.bootstrap()).acks(Acks.ALL).lingerMs(5).build()) {
            consumer.assign(all);
            consumer.seekToEnd(all);
            all.forEach(consumer::position);   // decided now, before the first record is sent
            long startMs = System.currentTimeMillis();
            LatencyStats stats = new LatencyStats(o.records(), o.reportingIntervalMs(), startMs, out, "received");
            AtomicReference<Exception> failure = new AtomicReference<>();
            long[] sent = {0};
            Thread sender = new Thread(() -> send(o, producer, failure, sent), "e2e-producer");
            sender.setDaemon(true);
            sender.start();
            long lastMs = System.currentTimeMillis();
            while (stats.count() < o.records() && failure.get() == null
                    && System.currentTimeMillis() - lastMs < o.timeoutMs()) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    long now = System.currentTimeMillis();
                    lastMs = now;
                    stats.record((int) Math.max(0, now - r.timestampMs()), r.value() == null ? 0 : r.value().length, now);
                }
            }
            joinQuietly(sender);
            if (failure.get() != null) {
                throw new PerfException("a record was not delivered: " + failure.get().getMessage(), failure.get());
            }
            Summary summary = new Summary(sent[0], stats.totals(lastMs));
            out.println(o.json() ? summary.json() : summary.line());
            out.flush();
            return summary;
        }
    }

    private static void send(Options o, RafkaProducer<byte[], byte[]> producer, AtomicReference<Exception> failure, long[] sent) {
        byte[] payload = ProducePerf.randomPayload(o.recordSize(), new Random());
        long start = System.nanoTime();
        double nanosPerRecord = 1e9 / o.rate();
        for (long i = 0; i < o.records() && failure.get() == null; i++) {
            long ahead = start + (long) (i * nanosPerRecord) - System.nanoTime();
            if (ahead > 0) {
                LockSupport.parkNanos(ahead);
            }
            producer.send(new ProducerRecord<>(o.topic(), payload), (m, e) -> {
                if (e != null) {
                    failure.compareAndSet(null, e);
                }
            });
            synchronized (sent) {
                sent[0]++;
            }
        }
        producer.flush();
    }

    private static void joinQuietly(Thread t) {
        try {
            t.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
