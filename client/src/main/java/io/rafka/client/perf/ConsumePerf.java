package io.rafka.client.perf;

import io.grpc.stub.StreamObserver;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchResponse;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Reads a topic from the beginning as fast as one consumer can, for the side-by-side benchmark's consumer
 * figure (Kafka's {@code ConsumerPerformance}), until {@code --num-records} records were read or none came for
 * {@code --timeout-ms}. By default on the Java SDK's consumer ({@link SdkReader}: {@code --group G} subscribes,
 * without it every partition is assigned); {@code --raw} runs the hand-written reader this tool had before the
 * SDK consumer existed (one Fetch in flight per leader, stored batches decoded in the loop), kept as the
 * baseline the SDK is measured against. MB counts key and value bytes, as Kafka's tool does; the summary is
 * Kafka's two lines (header and values), or one JSON object with {@code --json}.
 *
 * <pre>
 * rafka perf consume --topic bench --num-records 1000000 --group perf
 * </pre>
 */
public final class ConsumePerf {
    static final Set<String> OPTIONS = Set.of("bootstrap", "topic", "num-records", "records", "timeout-ms",
            "fetch-max-bytes", "partition-max-bytes", "max-wait-ms", "group", "reporting-interval-ms");
    static final Set<String> FLAGS = Set.of("raw", "json", "unpipelined", "decoded");
    static final int PARTITION_MAX_BYTES = 1024 * 1024;
    private static final double MIB = 1024.0 * 1024.0;
    /** Kafka's ConsumerPerformance header. */
    public static final String HEADER = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,"
            + " rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";

    /** Consumer settings; {@code group} empty = assign every partition; {@code raw} = the hand-written reader. */
    public record Options(String bootstrap, String topic, long numRecords, long timeoutMs, int fetchMaxBytes,
                          int partitionMaxBytes, int maxWaitMs, String group, long reportingIntervalMs, boolean raw,
                          boolean json) {
        public static Options defaults(String bootstrap, String topic, long numRecords) {
            return new Options(bootstrap, topic, numRecords, 10_000, 8 * 1024 * 1024, PARTITION_MAX_BYTES, 500, "",
                    5_000, false, false);
        }

        public Options withGroup(String newGroup) {
            return new Options(bootstrap, topic, numRecords, timeoutMs, fetchMaxBytes, partitionMaxBytes, maxWaitMs,
                    newGroup, reportingIntervalMs, raw, json);
        }

        public Options withRaw(boolean useRaw) {
            return new Options(bootstrap, topic, numRecords, timeoutMs, fetchMaxBytes, partitionMaxBytes, maxWaitMs,
                    group, reportingIntervalMs, useRaw, json);
        }

        static Options parse(List<String> args) {
            PerfArgs a = PerfArgs.parse(args, OPTIONS, FLAGS);
            // Benchmark switches: the SDK consumer as it was before pipelining (one fetch per poll, waited for)
            // and/or asking the broker for decoded records. This JVM runs nothing else.
            if (a.flag("unpipelined")) {
                System.setProperty(io.rafka.client.internals.FetchSettings.UNPIPELINED_PROPERTY, "true");
            }
            if (a.flag("decoded")) {
                System.setProperty(io.rafka.client.internals.FetchSettings.DECODED_PROPERTY, "true");
            }
            long n = a.longValue("num-records", a.longValue("records", Long.MAX_VALUE));
            return new Options(a.bootstrap(), a.required("topic"), n,
                    a.longValue("timeout-ms", 10_000), a.intValue("fetch-max-bytes", 8 * 1024 * 1024),
                    a.intValue("partition-max-bytes", PARTITION_MAX_BYTES), a.intValue("max-wait-ms", 500),
                    a.string("group", ""), a.longValue("reporting-interval-ms", 5_000),
                    a.flag("raw"), a.flag("json"));
        }
    }

    /**
     * What was read; {@code elapsedMs} runs from the start (joining the group included) to the last record
     * counted, {@code rebalanceMs} the part of it until the first assignment, {@code firstRecordMs} until the first
     * record (start-up: connections, metadata, offsets, class loading; -1 when none came).
     */
    public record Result(long records, long bytes, long elapsedMs, long[] recordsByPartition, long startWallMs,
                         long endWallMs, long rebalanceMs, long firstRecordMs) {
        public double recordsPerSec() {
            return 1000.0 * records / Math.max(1, elapsedMs);
        }

        public double mbPerSec() {
            return 1000.0 * bytes / Math.max(1, elapsedMs) / MIB;
        }

        public long fetchMs() {
            return Math.max(0, elapsedMs - rebalanceMs);
        }

        /** One line, for logs. */
        public String line() {
            return String.format(Locale.ROOT, "%d records consumed, %.1f records/sec (%.2f MB/sec), %.2f MB in %d ms",
                    records, recordsPerSec(), mbPerSec(), bytes / MIB, elapsedMs);
        }

        /** Kafka's ConsumerPerformance values line (under {@link #HEADER}). */
        public String kafkaLine() {
            double mb = bytes / MIB;
            double secs = Math.max(1, elapsedMs) / 1000.0;
            double fetchSecs = Math.max(1, fetchMs()) / 1000.0;
            return String.format(Locale.ROOT, "%s, %s, %.4f, %.4f, %d, %.4f, %d, %d, %.4f, %.4f",
                    time(startWallMs), time(endWallMs), mb, mb / secs, records, records / secs, rebalanceMs, fetchMs(),
                    mb / fetchSecs, records / fetchSecs);
        }

        public String json() {
            return String.format(Locale.ROOT, "{\"start_ms\":%d,\"end_ms\":%d,\"records\":%d,\"bytes\":%d,"
                            + "\"elapsed_ms\":%d,\"rebalance_ms\":%d,\"fetch_ms\":%d,\"records_per_sec\":%.1f,"
                            + "\"mb_per_sec\":%.4f,\"first_record_ms\":%d}",
                    startWallMs, endWallMs, records, bytes, elapsedMs, rebalanceMs, fetchMs(), recordsPerSec(), mbPerSec(),
                    firstRecordMs);
        }
    }

    /** Kafka's timestamp format in ConsumerPerformance. */
    static String time(long wallMs) {
        return new java.text.SimpleDateFormat("yyyy-MM-dd HH:mm:ss:SSS", Locale.ROOT).format(new java.util.Date(wallMs));
    }

    /** A progress line, Kafka's detailed-stats columns: time, thread, window MB, MB/s, window records, records/s, totals. */
    static String progressLine(long nowNanos, long windowRecords, long windowBytes, long windowMs, long records, long bytes) {
        double secs = Math.max(1, windowMs) / 1000.0;
        return String.format(Locale.ROOT, "%s, 0, %.4f, %.4f, %d, %.4f (total %d records, %.4f MB)",
                time(System.currentTimeMillis()), windowBytes / MIB, windowBytes / MIB / secs, windowRecords,
                windowRecords / secs, records, bytes / MIB);
    }

    /** One broker's answer (or failure) to a fetch for some partitions. */
    private record Answer(String broker, List<Integer> partitions, FetchResponse response, Throwable failure) {
    }

    private ConsumePerf() {
    }

    static final String USAGE = """
            usage: rafka perf consume --topic T [--num-records N] [--group G] [--timeout-ms T] [--bootstrap HOST:PORT]
                                      [--fetch-max-bytes BYTES] [--partition-max-bytes BYTES] [--max-wait-ms T]
                                      [--reporting-interval-ms T] [--json] [--raw] [--unpipelined] [--decoded]
              Reads topic T from the beginning of every partition with the SDK consumer (in group G, or assigning
              every partition without --group) until N records were read or none came for T (10000) ms. Prints a
              progress line every 5 s and Kafka's consumer-perf-test summary (or one JSON object with --json).
              --raw: the hand-written reader instead of the SDK (the baseline). --unpipelined, --decoded: the SDK
              consumer with one fetch per poll / broker-decoded records (to measure what each one brings).
              --records is --num-records.
            """;

    public static void main(String[] args) {
        PerfMain.main("rafka perf consume", USAGE, args, Options::parse, o -> run(o, System.out).records() >= o.numRecords() || o.numRecords() == Long.MAX_VALUE ? 0 : 1);
    }

    /** Reads the topic from offset 0 of every partition; prints progress and the summary on {@code out}. */
    public static Result run(Options options, PrintStream out) {
        Result result;
        if (options.raw()) {
            try (LeaderTable leaders = new LeaderTable(options.bootstrap(), options.topic())) {
                leaders.refresh(30_000);
                result = new Reader(options, leaders).readAll();
            }
        } else {
            result = SdkReader.read(options, out);
        }
        if (options.json()) {
            out.println(result.json());
        } else {
            out.println(result.line());   // the line bench/kafka/compare.sh reads
            out.println(HEADER);
            out.println(result.kafkaLine());
        }
        if (result.records() < options.numRecords() && options.numRecords() != Long.MAX_VALUE) {
            out.println("stopped: no record for " + options.timeoutMs() + " ms after " + result.records() + " records");
        }
        out.flush();
        return result;
    }

    /** The read loop: owns the positions; gRPC threads only hand answers over through the queue. */
    private static final class Reader {
        private final Options options;
        private final LeaderTable leaders;
        private final long[] positions;
        private final long[] counts;
        private final Set<Integer> inFlight = new HashSet<>();
        private final Set<String> busy = new HashSet<>();
        private final BlockingQueue<Answer> answers = new LinkedBlockingQueue<>();
        private long records;
        private long bytes;
        private boolean refresh;

        Reader(Options options, LeaderTable leaders) {
            this.options = options;
            this.leaders = leaders;
            this.positions = new long[leaders.partitionCount()];
            this.counts = new long[leaders.partitionCount()];
        }

        Result readAll() {
            long startWallMs = System.currentTimeMillis();
            long start = System.nanoTime();
            long last = start;
            long firstNanos = -1;
            try {
                while (records < options.numRecords()) {
                    if (refresh) {
                        refresh = false;
                        refreshQuietly();
                    }
                    startFetches();
                    Answer a = answers.poll(options.timeoutMs(), TimeUnit.MILLISECONDS);
                    if (a == null) {
                        break;
                    }
                    long before = records;
                    handle(a);
                    if (records > before) {
                        last = System.nanoTime();
                        firstNanos = firstNanos < 0 ? last : firstNanos;
                    } else if (System.nanoTime() - last > TimeUnit.MILLISECONDS.toNanos(options.timeoutMs())) {
                        break;   // answers keep coming (empty long polls at the end of the data), records do not
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PerfException("interrupted", e);
            }
            long elapsedMs = TimeUnit.NANOSECONDS.toMillis(last - start);
            return new Result(records, bytes, elapsedMs, counts.clone(), startWallMs, startWallMs + elapsedMs, 0,
                    firstNanos < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(firstNanos - start));
        }

        private void startFetches() {
            Map<String, List<Integer>> byLeader = new LinkedHashMap<>();
            for (int p = 0; p < positions.length; p++) {
                String leader = leaders.leader(p);
                if (leader == null) {
                    refresh = true;
                } else if (!inFlight.contains(p) && !busy.contains(leader)) {
                    byLeader.computeIfAbsent(leader, k -> new ArrayList<>()).add(p);
                }
            }
            byLeader.forEach(this::fetch);
        }

        private void fetch(String broker, List<Integer> partitions) {
            FetchRequest.Builder request = FetchRequest.newBuilder().setMaxWaitMs(options.maxWaitMs()).setMinBytes(1)
                    .setMaxBytes(options.fetchMaxBytes()).setFormat(RecordFormat.RECORD_FORMAT_ENCODED);
            for (int p : partitions) {
                request.addPartitions(PartitionFetch.newBuilder().setTopic(options.topic()).setPartition(p)
                        .setOffset(positions[p]).setMaxBytes(options.partitionMaxBytes()));
            }
            busy.add(broker);
            inFlight.addAll(partitions);
            FetchServiceGrpc.newStub(leaders.channel(broker))
                    .withDeadlineAfter(options.maxWaitMs() + 30_000L, TimeUnit.MILLISECONDS)
                    .fetch(request.build(), new StreamObserver<>() {
                        @Override
                        public void onNext(FetchResponse value) {
                            answers.add(new Answer(broker, partitions, value, null));
                        }

                        @Override
                        public void onError(Throwable t) {
                            answers.add(new Answer(broker, partitions, null, t));
                        }

                        @Override
                        public void onCompleted() {
                        }
                    });
        }

        private void handle(Answer a) {
            busy.remove(a.broker());
            a.partitions().forEach(inFlight::remove);
            if (a.failure() != null) {
                refresh = true;
                LeaderTable.sleepMs(100);
                return;
            }
            for (PartitionFetchResult r : a.response().getResultsList()) {
                if (r.getErrorCode() == ErrorCode.NONE) {
                    consume(r);
                } else if (r.getErrorCode() == ErrorCode.NOT_LEADER || r.getErrorCode() == ErrorCode.LEADER_NOT_AVAILABLE
                        || r.getErrorCode() == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
                    if (!leaders.hint(r.getPartition(), r.hasLeader(), r.getLeader())) {
                        refresh = true;
                    }
                } else {
                    throw new PerfException(r.getErrorCode() + " on partition " + r.getPartition() + ": " + r.getErrorMessage(), true);
                }
            }
        }

        private void consume(PartitionFetchResult r) {
            int p = r.getPartition();
            long position = positions[p];
            for (RecordBatch batch : RecordBatches.split(r.getEncodedBatches().asReadOnlyByteBuffer())) {
                batch.ensureValid();
                if (batch.lastOffset() < position) {
                    continue;
                }
                for (Record record : batch.records()) {
                    if (record.offset() >= position) {
                        records++;
                        counts[p]++;
                        bytes += (record.key() == null ? 0 : record.key().length)
                                + (record.value() == null ? 0 : record.value().length);
                        position = record.offset() + 1;
                    }
                }
            }
            positions[p] = Math.max(position, r.getNextOffset());
        }

        private void refreshQuietly() {
            try {
                leaders.refresh(5_000);
            } catch (PerfException e) {
                if (e.fatal()) {
                    throw e;
                }
            }
        }
    }
}
