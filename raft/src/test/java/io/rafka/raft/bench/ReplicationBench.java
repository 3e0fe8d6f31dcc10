package io.rafka.raft.bench;

import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.raft.Acks;
import io.rafka.raft.AppendResult;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatchBuilder;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Replication figures on 3 in-process nodes (one JVM, real Ratis over loopback gRPC, real files):
 * acks=all throughput of batches of 1 KiB records for 1 and 6 partitions, the CPU time and threads started
 * per committed batch (all three nodes together), disk bytes written per payload byte per replica (write
 * amplification, from /proc/self/io), and the time from crashing a partition leader to the first append
 * committed by its successor.
 *
 * <pre>
 * bin/rafka bench raft [seconds=15] [inFlightPerPartition=4] [batchKiB=64] [failover=yes|no]
 * </pre>
 * With {@code -Dentries.in.flight=N} (java option) the leaders group appends once N entries await commit.
 */
public final class ReplicationBench {
    private static final int RECORD_BYTES = 1024;
    /** Raft entries a partition leader has awaiting commit before appends are grouped ({@code -Dentries.in.flight}). */
    private static final int ENTRIES_IN_FLIGHT = Integer.getInteger("entries.in.flight", 2);

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("failover")) {
            failover();
            return;
        }
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        int inFlight = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        int recordsPerBatch = args.length > 2 ? Math.max(1, Integer.parseInt(args[2]) - 1) : 63;
        boolean withFailover = args.length <= 3 || !args[3].equals("no");
        ByteBuffer batch = batch(recordsPerBatch);
        System.out.printf("replication bench: 3 nodes in one JVM, batches of %d x %d B = %d B, acks=all, %d in flight per partition, "
                + "at most %d Raft entries in flight per partition, %d s per run%n",
                recordsPerBatch, RECORD_BYTES, batch.remaining(), inFlight, ENTRIES_IN_FLIGHT, seconds);
        for (int partitions : new int[] {1, 6}) {
            Path dir = Files.createTempDirectory("rafka-repl-bench");
            try (MiniCluster cluster = MiniCluster.start(3, dir, b -> b.maxEntriesInFlightPerPartition(ENTRIES_IN_FLIGHT))) {
                List<TopicPartition> tps = cluster.createPartitions("bench", partitions, 3);
                for (TopicPartition tp : tps) {
                    cluster.leaderIndex(tp);
                }
                run(cluster, tps, batch, inFlight, 3, false); // warm-up
                long written0 = writeBytes();
                ProcessCost cost = ProcessCost.now();
                long[] result = run(cluster, tps, batch, inFlight, seconds, true);
                ProcessCost used = ProcessCost.now().minus(cost);
                for (TopicPartition tp : tps) {
                    for (int i : cluster.replicaIndexes(tp)) {
                        cluster.node(i).snapshot(tp); // flushes each partition log
                    }
                }
                Thread.sleep(2000);
                long written = writeBytes() - written0;
                printTopWriters();
                double payloadMiB = result[1] / 1048576.0;
                System.out.printf("%d partition(s): %.0f batches/s, %.1f MiB/s payload committed (acks=all); disk writes %.1f MiB = %.2f bytes per payload byte per replica%n",
                        partitions, result[0] / (double) seconds, payloadMiB / seconds, written / 1048576.0,
                        written / (3.0 * result[1]));
                System.out.printf("    per committed batch, 3 nodes together: %.2f ms CPU, %.2f threads started, %.3f GC pauses (%.1f ms)%n",
                        used.cpuNs() / 1e6 / result[0], used.threadsStarted() / (double) result[0],
                        used.gcCount() / (double) result[0], used.gcMs() / (double) result[0]);
            }
            deleteTree(dir);
        }
        if (withFailover) {
            failover();
        }
    }

    /** What the whole process (all three nodes) has used so far. */
    private record ProcessCost(long cpuNs, long threadsStarted, long gcCount, long gcMs) {
        static ProcessCost now() {
            long gcCount = 0;
            long gcMs = 0;
            for (var gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
                gcCount += Math.max(0, gc.getCollectionCount());
                gcMs += Math.max(0, gc.getCollectionTime());
            }
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            return new ProcessCost(os.getProcessCpuTime(),
                    java.lang.management.ManagementFactory.getThreadMXBean().getTotalStartedThreadCount(), gcCount, gcMs);
        }

        ProcessCost minus(ProcessCost o) {
            return new ProcessCost(cpuNs - o.cpuNs, threadsStarted - o.threadsStarted, gcCount - o.gcCount, gcMs - o.gcMs);
        }
    }

    /** Appends for {@code seconds}; returns {batches, payload bytes} acknowledged. */
    private static long[] run(MiniCluster cluster, List<TopicPartition> tps, ByteBuffer batch, int inFlight, int seconds,
                              boolean measure) throws InterruptedException {
        AtomicLong batches = new AtomicLong();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        Semaphore[] permits = new Semaphore[tps.size()];
        for (int i = 0; i < permits.length; i++) {
            permits[i] = new Semaphore(inFlight);
        }
        while (System.nanoTime() < deadline) {
            boolean sent = false;
            for (int p = 0; p < tps.size(); p++) {
                TopicPartition tp = tps.get(p);
                Semaphore s = permits[p];
                if (!s.tryAcquire()) {
                    continue;
                }
                sent = true;
                int leader = cluster.leaderIndex(tp);
                cluster.node(leader).append(tp, batch.duplicate(), Acks.ALL).whenComplete((r, e) -> {
                    if (e == null && System.nanoTime() < deadline) {
                        batches.incrementAndGet();
                    }
                    s.release();
                });
            }
            if (!sent) {
                Thread.sleep(0, 200_000);
            }
        }
        for (Semaphore s : permits) {
            s.acquire(inFlight);
        }
        return new long[] {batches.get(), batches.get() * (long) batch.remaining()};
    }

    private static void failover() throws Exception {
        record Setting(long minMs, boolean detection) {
        }
        for (Setting setting : new Setting[] {new Setting(1000, true), new Setting(1000, false), new Setting(300, false)}) {
            long minMs = setting.minMs();
            Path dir = Files.createTempDirectory("rafka-failover-bench");
            try (MiniCluster cluster = MiniCluster.start(3, dir,
                    b -> b.rpcTimeoutMs(minMs, 2 * minMs).leaderFailureDetection(setting.detection()))) {
                TopicPartition tp = cluster.createPartition("failover", 0, 3);
                ByteBuffer small = new RecordBatchBuilder(CompressionType.NONE).append(1L, null, new byte[100]).build();
                long[] samples = new long[3];
                for (int round = 0; round < samples.length; round++) {
                    cluster.append(tp, small, Acks.ALL);
                    int leader = cluster.leaderIndex(tp);
                    long start = System.nanoTime();
                    CompletableFuture<Void> kill = CompletableFuture.runAsync(() -> cluster.kill(leader));
                    AppendResult r = null;
                    while (r == null) {
                        for (int i = 0; i < 3 && r == null; i++) {
                            if (i == leader || !cluster.isUp(i)) {
                                continue;
                            }
                            try {
                                r = cluster.node(i).append(tp, small.duplicate(), Acks.ALL).get(5, TimeUnit.SECONDS);
                            } catch (Exception e) {
                                if (!(e.getCause() instanceof RafkaException)) {
                                    Thread.sleep(5);
                                }
                            }
                        }
                        Thread.sleep(5);
                    }
                    samples[round] = (System.nanoTime() - start) / 1_000_000;
                    kill.join();
                    cluster.restart(leader);
                    cluster.awaitReplicated(tp, r.lastOffset() + 1, 60_000);
                }
                System.out.printf("leader crash -> first committed append on the new leader, election timeout %d-%d ms, "
                                + "leader failure detection %s: %d, %d, %d ms%n", minMs, 2 * minMs,
                        setting.detection() ? "on" : "off", samples[0], samples[1], samples[2]);
            }
            deleteTree(dir);
        }
    }

    private static ByteBuffer batch(int records) {
        Random random = new Random(1);
        byte[] value = new byte[RECORD_BYTES];
        RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.NONE);
        for (int i = 0; i < records; i++) {
            random.nextBytes(value);
            b.append(1_700_000_000_000L, null, value);
        }
        return b.build();
    }

    /** Bytes this process caused to be written to storage (Linux /proc/self/io), or -1. */
    private static long writeBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
            if (line.startsWith("write_bytes:")) {
                return Long.parseLong(line.substring("write_bytes:".length()).trim());
            }
        }
        return -1;
    }

    /** Bytes written to storage by thread name (Linux /proc/self/task), to show what dominates. */
    private static void printTopWriters() throws IOException {
        java.util.Map<String, Long> byName = new java.util.TreeMap<>();
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                try {
                    String name = Files.readString(task.resolve("comm")).trim().replaceAll("[0-9]+", "#");
                    long bytes = 0;
                    for (String line : Files.readAllLines(task.resolve("io"))) {
                        if (line.startsWith("write_bytes:")) {
                            bytes = Long.parseLong(line.substring("write_bytes:".length()).trim());
                        }
                    }
                    byName.merge(name, bytes, Long::sum);
                } catch (IOException e) {
                    // The thread ended meanwhile.
                }
            }
        }
        byName.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(5)
                .forEach(e -> System.out.printf("    %8.1f MiB written since start by threads named %s%n", e.getValue() / 1048576.0, e.getKey()));
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private ReplicationBench() {
    }
}
