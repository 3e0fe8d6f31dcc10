package io.rafka.raft.bench;

import io.rafka.common.TopicPartition;
import io.rafka.raft.Acks;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Idle cost of many partitions: starts 3 in-process nodes, creates P partitions x 3 replicas, waits for
 * leaders, writes one batch to each, then measures the process's CPU time over an idle window and
 * counts threads by kind. All three nodes share this JVM, so per-node figures are the totals / 3.
 *
 * <pre>
 * bin/rafka bench idle [partitions=100] [idleSeconds=20] [electionTimeoutMinMs=1000]
 * </pre>
 */
public final class IdleCostBench {
    public static void main(String[] args) throws Exception {
        int partitions = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        int idleSeconds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        long rpcMinMs = args.length > 2 ? Long.parseLong(args[2]) : 1000;
        Path dir = Files.createTempDirectory("rafka-idle-bench");
        System.out.printf("idle bench: %d partitions x 3 replicas on 3 in-process nodes, %d s idle window, election timeout %d-%d ms%n",
                partitions, idleSeconds, rpcMinMs, 2 * rpcMinMs);
        try (MiniCluster cluster = MiniCluster.start(3, dir, b -> b.rpcTimeoutMs(rpcMinMs, 2 * rpcMinMs))) {
            long t0 = System.nanoTime();
            List<TopicPartition> tps = cluster.createPartitions("idle", partitions, 3);
            long t1 = System.nanoTime();
            for (TopicPartition tp : tps) {
                cluster.leaderIndex(tp, 300_000);
            }
            long t2 = System.nanoTime();
            for (TopicPartition tp : tps) {
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "x", 1, 1L), Acks.ALL, 120_000);
            }
            long t3 = System.nanoTime();
            System.out.printf("created %d groups in %.1f s, all led %.1f s later, one write each %.1f s later%n",
                    partitions, (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
            Thread.sleep(5_000);
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            var threadsBean = ManagementFactory.getThreadMXBean();
            Map<Long, Long> before = new java.util.HashMap<>();
            for (long id : threadsBean.getAllThreadIds()) {
                before.put(id, threadsBean.getThreadCpuTime(id));
            }
            long cpu0 = os.getProcessCpuTime();
            long w0 = System.nanoTime();
            Thread.sleep(idleSeconds * 1000L);
            double cpuSeconds = (os.getProcessCpuTime() - cpu0) / 1e9;
            Map<String, Long> cpuByKind = new TreeMap<>();
            for (long id : threadsBean.getAllThreadIds()) {
                var info = threadsBean.getThreadInfo(id);
                long now = threadsBean.getThreadCpuTime(id);
                if (info == null || now < 0) {
                    continue;
                }
                String kind = info.getThreadName().replaceAll("group-[0-9A-F]{12}", "group-*").replaceAll("[0-9]+", "#");
                cpuByKind.merge(kind, now - before.getOrDefault(id, 0L), Long::sum);
            }
            double wallSeconds = (System.nanoTime() - w0) / 1e9;
            Map<String, Integer> kinds = new TreeMap<>();
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                String name = t.getName().replaceAll("group-[0-9A-F]{12}", "group-*").replaceAll("[0-9]+", "#");
                kinds.merge(name, 1, Integer::sum);
            }
            int threads = Thread.activeCount();
            System.out.printf("idle: %.1f%% of one core for the whole JVM (3 nodes), %.1f%% per node; %d threads (%.1f per division)%n",
                    100 * cpuSeconds / wallSeconds, 100 * cpuSeconds / wallSeconds / 3, threads, threads / (3.0 * partitions));
            kinds.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue()).limit(12)
                    .forEach(e -> System.out.printf("  %5d threads  %s%n", e.getValue(), e.getKey()));
            System.out.println("CPU by thread kind over the idle window (JVM and GC threads not included):");
            cpuByKind.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(10)
                    .forEach(e -> System.out.printf("  %5.1f%%  %s%n", 100.0 * e.getValue() / 1e9 / wallSeconds, e.getKey()));
        }
    }

    private IdleCostBench() {
    }
}
