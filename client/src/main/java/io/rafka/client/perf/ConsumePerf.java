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
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Reads a topic from the beginning as fast as one consumer can, for the side-by-side benchmark's consumer
 * figure (Kafka's {@code ConsumerPerformance}): one Fetch in flight per leader broker (all partitions it leads,
 * stored batches, {@link #PARTITION_MAX_BYTES} per partition as Kafka's {@code max.partition.fetch.bytes}),
 * every batch's CRC checked and every record decoded (as Kafka's consumer does), until {@code --num-records}
 * records were read or none came for {@code --timeout-ms}. MB/s counts key and value bytes, as Kafka's tool does.
 *
 * <pre>
 * rafka perf consume --topic bench --num-records 1000000
 * </pre>
 */
public final class ConsumePerf {
    static final Set<String> OPTIONS = Set.of("bootstrap", "topic", "num-records", "timeout-ms", "fetch-max-bytes",
            "partition-max-bytes", "max-wait-ms");
    static final int PARTITION_MAX_BYTES = 1024 * 1024;
    private static final double MIB = 1024.0 * 1024.0;

    /** Consumer settings. */
    public record Options(String bootstrap, String topic, long numRecords, long timeoutMs, int fetchMaxBytes,
                          int partitionMaxBytes, int maxWaitMs) {
        public static Options defaults(String bootstrap, String topic, long numRecords) {
            return new Options(bootstrap, topic, numRecords, 10_000, 8 * 1024 * 1024, PARTITION_MAX_BYTES, 500);
        }

        static Options parse(List<String> args) {
            PerfArgs a = PerfArgs.parse(args, OPTIONS);
            return new Options(a.bootstrap(), a.required("topic"), a.longValue("num-records", Long.MAX_VALUE),
                    a.longValue("timeout-ms", 10_000), a.intValue("fetch-max-bytes", 8 * 1024 * 1024),
                    a.intValue("partition-max-bytes", PARTITION_MAX_BYTES), a.intValue("max-wait-ms", 500));
        }
    }

    /** What was read; {@code elapsedMs} runs from the first fetch to the last record counted. */
    public record Result(long records, long bytes, long elapsedMs, long[] recordsByPartition) {
        public double recordsPerSec() {
            return 1000.0 * records / Math.max(1, elapsedMs);
        }

        public double mbPerSec() {
            return 1000.0 * bytes / Math.max(1, elapsedMs) / MIB;
        }

        public String line() {
            return String.format(Locale.ROOT, "%d records consumed, %.1f records/sec (%.2f MB/sec), %.2f MB in %d ms",
                    records, recordsPerSec(), mbPerSec(), bytes / MIB, elapsedMs);
        }
    }

    /** One broker's answer (or failure) to a fetch for some partitions. */
    private record Answer(String broker, List<Integer> partitions, FetchResponse response, Throwable failure) {
    }

    private ConsumePerf() {
    }

    static final String USAGE = """
            usage: rafka perf consume --topic T [--num-records N] [--timeout-ms T] [--bootstrap HOST:PORT]
                                      [--fetch-max-bytes BYTES] [--partition-max-bytes BYTES] [--max-wait-ms T]
              Reads topic T from the beginning of every partition, one fetch in flight per leader, until N records
              were read or none came for T (10000) ms, and prints records/s and MB/s (key and value bytes).
            """;

    public static void main(String[] args) {
        Logger.getLogger("io.grpc").setLevel(Level.SEVERE);
        if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
            System.out.print(USAGE);
            System.exit(0);
        }
        Options options;
        try {
            options = Options.parse(Arrays.asList(args));
        } catch (IllegalArgumentException e) {
            System.err.println("rafka perf consume: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
            return;
        }
        try {
            Result r = run(options, System.out);
            System.exit(r.records() >= options.numRecords() || options.numRecords() == Long.MAX_VALUE ? 0 : 1);
        } catch (RuntimeException e) {
            System.err.println("rafka perf consume: " + e.getMessage());
            System.exit(1);
        }
    }

    /** Reads the topic from offset 0 of every partition; prints the result line on {@code out}. */
    public static Result run(Options options, PrintStream out) {
        try (LeaderTable leaders = new LeaderTable(options.bootstrap(), options.topic())) {
            leaders.refresh(30_000);
            Reader reader = new Reader(options, leaders);
            Result result = reader.readAll();
            out.println(result.line());
            if (result.records() < options.numRecords() && options.numRecords() != Long.MAX_VALUE) {
                out.println("stopped: no record for " + options.timeoutMs() + " ms after " + result.records() + " records");
            }
            out.flush();
            return result;
        }
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
            long start = System.nanoTime();
            long last = start;
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
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PerfException("interrupted", e);
            }
            return new Result(records, bytes, TimeUnit.NANOSECONDS.toMillis(last - start), counts.clone());
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
