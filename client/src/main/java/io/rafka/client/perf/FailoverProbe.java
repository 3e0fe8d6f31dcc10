package io.rafka.client.perf;

import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What a client sees of a failover: one idempotent acks=all writer per partition ({@link ProbeWriter}, a record
 * every interval, each acknowledged write logged with its send and ack time and the broker that acknowledged
 * it), and a watch of every broker's {@code /status} ({@link LeaderWatch}) that logs when each broker first
 * reports itself leader of a partition in a new epoch. Times are {@link System#currentTimeMillis}, the clock a
 * shell's {@code date +%s%3N} reads, so a kill timed by a script lines up with them. At the end {@link #verify}
 * reads every partition back and checks that every acknowledged record is there once, at its acknowledged
 * offset. {@code bin/rafka bench failover} drives it ({@link FailoverProbeMain}); tests drive it in process:
 *
 * <pre>
 * try (FailoverProbe probe = FailoverProbe.start(options)) {
 *     ... kill a leader ...
 *     probe.stopWriters();
 *     assertTrue(probe.verify().ok());
 * }
 * </pre>
 */
public final class FailoverProbe implements AutoCloseable {
    /** A broker: its id, {@code host:grpcPort} and {@code host:httpPort}. */
    public record Node(String id, String grpc, String status) {
    }

    /**
     * {@code intervalMs}: how often each partition's writer writes; {@code statusIntervalMs}: how often each
     * broker's {@code /status} is polled (the resolution of "leader ready").
     */
    public record Options(String bootstrap, String topic, int partitions, long intervalMs, long statusIntervalMs,
                          List<Node> nodes) {
        public Options {
            if (partitions < 1 || intervalMs < 1 || statusIntervalMs < 1 || nodes.isEmpty()) {
                throw new IllegalArgumentException("partitions, intervals and nodes must be given");
            }
            nodes = List.copyOf(nodes);
        }
    }

    /** The read-back check: acknowledged records missing or not at their offset, and records found twice. */
    public record Verification(long acknowledged, long lost, long duplicated, long readBack, List<String> problems) {
        public boolean ok() {
            return lost == 0 && duplicated == 0;
        }
    }

    private static final long READ_BACK_TIMEOUT_MS = 60_000;

    private final Options options;
    private final LeaderTable leaders;
    private final long[] producerIds;
    private final List<ProbeWriter> writers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final List<ProbeWriter.Ack> acks = new ArrayList<>();
    private final List<LeaderWatch.LeaderEvent> leaderEvents = new ArrayList<>();
    private final LeaderWatch watch;

    private FailoverProbe(Options options) {
        this.options = options;
        this.leaders = new LeaderTable(options.bootstrap(), options.topic());
        this.producerIds = new long[options.partitions()];
        Map<String, String> status = new LinkedHashMap<>();
        for (Node n : options.nodes()) {
            status.put(n.id(), n.status());
        }
        this.watch = new LeaderWatch(options.topic(), status, options.statusIntervalMs(), this::onLeaderEvent);
    }

    /** Learns the leaders (up to 30 s), then starts the watch and one writer per partition. */
    public static FailoverProbe start(Options options) {
        FailoverProbe probe = new FailoverProbe(options);
        try {
            probe.leaders.refresh(30_000);
            if (probe.leaders.partitionCount() != options.partitions()) {
                throw new PerfException("topic " + options.topic() + " has " + probe.leaders.partitionCount()
                        + " partitions, not " + options.partitions(), true);
            }
            SecureRandom random = new SecureRandom();
            for (int p = 0; p < options.partitions(); p++) {
                probe.producerIds[p] = random.nextLong() & Long.MAX_VALUE;
                ProbeWriter w = new ProbeWriter(options.topic(), p, probe.producerIds[p], options.intervalMs(),
                        probe.leaders, probe::onAck);
                Thread t = new Thread(w, "probe-writer-" + p);
                t.setDaemon(true);
                probe.writers.add(w);
                probe.threads.add(t);
                t.start();
            }
            return probe;
        } catch (RuntimeException e) {
            probe.close();
            throw e;
        }
    }

    private void onAck(ProbeWriter.Ack ack) {
        synchronized (acks) {
            acks.add(ack);
        }
    }

    private void onLeaderEvent(LeaderWatch.LeaderEvent event) {
        synchronized (leaderEvents) {
            leaderEvents.add(event);
        }
    }

    /** The time of each partition's latest acknowledgement (0: none yet). */
    public long[] lastAckMs() {
        long[] last = new long[writers.size()];
        for (int p = 0; p < last.length; p++) {
            ProbeWriter.Ack a = writers.get(p).lastAck();
            last[p] = a == null ? 0 : a.ackMs();
        }
        return last;
    }

    /** Each partition's latest acknowledgement (null: none yet). */
    List<ProbeWriter.Ack> lastAcks() {
        List<ProbeWriter.Ack> last = new ArrayList<>();
        for (ProbeWriter w : writers) {
            last.add(w.lastAck());
        }
        return last;
    }

    /** The first writer that stopped on a non-retriable error, if any. */
    public RuntimeException writerFailure() {
        for (ProbeWriter w : writers) {
            if (w.failure() != null) {
                return w.failure();
            }
        }
        return null;
    }

    public List<ProbeWriter.Ack> acks() {
        synchronized (acks) {
            return List.copyOf(acks);
        }
    }

    public List<LeaderWatch.LeaderEvent> leaderEvents() {
        synchronized (leaderEvents) {
            return List.copyOf(leaderEvents);
        }
    }

    /** Stops the writers (a write still unacknowledged is abandoned) and waits for them. */
    public void stopWriters() throws InterruptedException {
        writers.forEach(ProbeWriter::stop);
        for (Thread t : threads) {
            t.join(ProbeWriter.RETRY_BACKOFF_MS + 20_000);
        }
    }

    /** Reads every partition back and checks every acknowledged record against it. */
    public Verification verify() {
        Map<Integer, List<ProbeWriter.Ack>> byPartition = new HashMap<>();
        for (ProbeWriter.Ack a : acks()) {
            byPartition.computeIfAbsent(a.partition(), k -> new ArrayList<>()).add(a);
        }
        long acknowledged = 0;
        long lost = 0;
        long duplicated = 0;
        long readBack = 0;
        List<String> problems = new ArrayList<>();
        for (int p = 0; p < options.partitions(); p++) {
            Map<Integer, List<Long>> offsets = readSequences(p);
            for (List<Long> o : offsets.values()) {
                readBack += o.size();
                if (o.size() > 1) {
                    duplicated += o.size() - 1;
                    if (problems.size() < 20) {
                        problems.add("partition " + p + ": one record at offsets " + o);
                    }
                }
            }
            for (ProbeWriter.Ack a : byPartition.getOrDefault(p, List.of())) {
                acknowledged++;
                List<Long> found = offsets.get(a.sequence());
                if (found == null || !found.contains(a.offset())) {
                    lost++;
                    if (problems.size() < 20) {
                        problems.add("partition " + p + ": record " + a.sequence() + " acknowledged at offset "
                                + a.offset() + " by " + a.broker() + " is " + (found == null ? "missing" : "at " + found));
                    }
                }
            }
        }
        return new Verification(acknowledged, lost, duplicated, readBack, problems);
    }

    /** The offsets at which each of this probe's records of partition {@code p} sits in the log. */
    private Map<Integer, List<Long>> readSequences(int p) {
        Map<Integer, List<Long>> offsets = new HashMap<>();
        long position = 0;
        long deadline = System.currentTimeMillis() + READ_BACK_TIMEOUT_MS;
        while (System.currentTimeMillis() < deadline) {
            PartitionFetchResult r = fetchOnce(p, position, deadline);
            for (RecordBatch batch : RecordBatches.split(r.getEncodedBatches().asReadOnlyByteBuffer())) {
                batch.ensureValid();
                if (batch.producerId() != producerIds[p]) {
                    continue;
                }
                for (Record record : batch.records()) {
                    if (record.offset() >= position) {
                        int sequence = Integer.parseInt(new String(record.value(), StandardCharsets.UTF_8));
                        offsets.computeIfAbsent(sequence, k -> new ArrayList<>()).add(record.offset());
                    }
                }
            }
            position = Math.max(position, r.getNextOffset());
            if (position >= r.getHighWatermark()) {
                return offsets;
            }
        }
        throw new PerfException("partition " + p + ": not read back to its high watermark within "
                + READ_BACK_TIMEOUT_MS + " ms (at offset " + position + ")");
    }

    private PartitionFetchResult fetchOnce(int p, long position, long deadline) {
        RuntimeException last = null;
        while (System.currentTimeMillis() < deadline) {
            try {
                leaders.refreshOnce();
                String leader = leaders.leader(p);
                if (leader != null) {
                    PartitionFetchResult r = FetchServiceGrpc.newBlockingStub(leaders.channel(leader))
                            .withDeadlineAfter(10, TimeUnit.SECONDS)
                            .fetch(FetchRequest.newBuilder().setFormat(RecordFormat.RECORD_FORMAT_ENCODED)
                                    .addPartitions(PartitionFetch.newBuilder().setTopic(options.topic()).setPartition(p)
                                            .setOffset(position).setMaxBytes(1 << 20)).build())
                            .getResults(0);
                    if (r.getErrorCode() == ErrorCode.NONE) {
                        return r;
                    }
                    last = new PerfException(r.getErrorCode() + ": " + r.getErrorMessage());
                }
            } catch (RuntimeException e) {
                last = e;
            }
            LeaderTable.sleepMs(100);
        }
        throw new PerfException("partition " + p + ": could not read back from offset " + position + ": " + last, last);
    }

    @Override
    public void close() {
        writers.forEach(ProbeWriter::stop);
        try {
            watch.close();
            for (Thread t : threads) {
                t.join(2_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        leaders.close();
    }
}
