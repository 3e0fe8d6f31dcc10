package io.rafka.raft.bench;

import io.rafka.common.TopicPartition;
import io.rafka.raft.Acks;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Idle cost of many partitions on 3 in-process nodes (all in this JVM, so per-node figures are totals / 3).
 *
 * <p>{@code hibernated} (the broker's way): creates P partitions x 3 replicas hibernated (folders only), measures
 * the idle CPU, threads and heap per replica, then writes to {@code writes} partitions picked at random, one
 * after the other, timing each first acknowledged write (the wake-up), waits until they hibernate again and
 * measures the idle cost once more. {@code open}: every partition keeps an open Raft group (as before
 * hibernation), one write each, then the idle window.
 *
 * <pre>
 * bin/rafka bench idle [partitions=1000] [idleSeconds=20] [mode=hibernated|open] [writes=200]
 * </pre>
 */
public final class IdleCostBench {
    private static final long HIBERNATE_AFTER_MS = 3_000;

    public static void main(String[] args) throws Exception {
        int partitions = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int idleSeconds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        boolean hibernated = args.length <= 2 || !args[2].equals("open");
        int writes = Math.min(partitions, args.length > 3 ? Integer.parseInt(args[3]) : 200);
        Path dir = Files.createTempDirectory("rafka-idle-bench");
        System.out.printf("idle bench: %d partitions x 3 replicas on 3 in-process nodes, %s, %d s idle windows%n",
                partitions, hibernated ? "hibernated (idle after " + HIBERNATE_AFTER_MS + " ms)" : "open groups", idleSeconds);
        try (MiniCluster cluster = MiniCluster.start(3, dir, b -> b.hibernateAfterMs(hibernated ? HIBERNATE_AFTER_MS : 0))) {
            long heapBefore = usedHeapAfterGc();
            long t0 = System.nanoTime();
            List<TopicPartition> tps;
            if (hibernated) {
                tps = cluster.createHibernatedPartitions("idle", partitions, 3);
                System.out.printf("created %d partitions (hibernated) in %.1f s%n", partitions, (System.nanoTime() - t0) / 1e9);
            } else {
                tps = cluster.createPartitions("idle", partitions, 3);
                long t1 = System.nanoTime();
                for (TopicPartition tp : tps) {
                    cluster.leaderIndex(tp, 300_000);
                }
                for (TopicPartition tp : tps) {
                    cluster.append(tp, TestBatches.batch(CompressionType.NONE, "x", 1, 1L), Acks.ALL, 120_000);
                }
                System.out.printf("created %d groups in %.1f s, led and written once %.1f s later%n",
                        partitions, (t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9);
            }
            Thread.sleep(3_000);
            long heapAfter = usedHeapAfterGc();
            System.out.printf("heap: %.1f MiB more after creating them, %.1f KiB per partition replica%n",
                    (heapAfter - heapBefore) / 1048576.0, (heapAfter - heapBefore) / 1024.0 / (3.0 * partitions));
            idleWindow(idleSeconds, partitions);
            if (hibernated && writes > 0) {
                List<TopicPartition> picked = new ArrayList<>(tps);
                Collections.shuffle(picked, new Random(42));
                picked = picked.subList(0, writes);
                List<Double> ms = new ArrayList<>();
                var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
                long cpu0 = os.getProcessCpuTime();
                for (TopicPartition tp : picked) {
                    long s = System.nanoTime();
                    cluster.append(tp, TestBatches.batch(CompressionType.NONE, "x", 1, 1L), Acks.ALL, 60_000);
                    ms.add((System.nanoTime() - s) / 1e6);
                }
                Collections.sort(ms);
                System.out.printf("first acknowledged write to a hibernated partition (%d partitions, one after the other): "
                                + "p50 %.0f ms, p99 %.0f ms, max %.0f ms%n", ms.size(), pct(ms, 0.50), pct(ms, 0.99), ms.get(ms.size() - 1));
                System.out.printf("CPU per wake-up (3 replicas opened, an election, the write; the JVM's idle cost included): %.0f ms%n",
                        (os.getProcessCpuTime() - cpu0) / 1e6 / ms.size());
                long cpu1 = os.getProcessCpuTime();
                long hibernatedNow;
                long deadline = System.currentTimeMillis() + 120_000;
                do {
                    Thread.sleep(1_000);
                    hibernatedNow = 0;
                    for (int i = 0; i < 3; i++) {
                        hibernatedNow += cluster.node(i).hibernatedCount();
                    }
                } while (hibernatedNow < 3L * partitions && System.currentTimeMillis() < deadline);
                System.out.printf("hibernated again: %d of %d replicas; CPU from the last write until then per woken partition"
                        + " (waiting %d ms to go idle, then closing 3 replicas; idle cost included): %.0f ms%n", hibernatedNow,
                        3L * partitions, HIBERNATE_AFTER_MS, (os.getProcessCpuTime() - cpu1) / 1e6 / ms.size());
                idleWindow(idleSeconds, partitions);
            }
        }
    }

    private static double pct(List<Double> sorted, double p) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    /** CPU of the whole JVM over an idle window, and the threads by kind. */
    private static void idleWindow(int idleSeconds, int partitions) throws InterruptedException {
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
        double wallSeconds = (System.nanoTime() - w0) / 1e9;
        Map<String, Long> cpuByKind = new TreeMap<>();
        for (long id : threadsBean.getAllThreadIds()) {
            var info = threadsBean.getThreadInfo(id);
            long now = threadsBean.getThreadCpuTime(id);
            if (info == null || now < 0) {
                continue;
            }
            cpuByKind.merge(kind(info.getThreadName()), now - before.getOrDefault(id, 0L), Long::sum);
        }
        Map<String, Integer> kinds = new TreeMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            kinds.merge(kind(t.getName()), 1, Integer::sum);
        }
        int threads = Thread.activeCount();
        System.out.printf("idle: %.1f%% of one core for the whole JVM (3 nodes), %.1f%% per node; %d threads (%.0f per node, %.2f per partition replica)%n",
                100 * cpuSeconds / wallSeconds, 100 * cpuSeconds / wallSeconds / 3, threads, threads / 3.0, threads / (3.0 * partitions));
        kinds.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue()).limit(8)
                .forEach(e -> System.out.printf("  %5d threads  %s%n", e.getValue(), e.getKey()));
        System.out.println("CPU by thread kind over the idle window (JVM and GC threads not included):");
        cpuByKind.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(8)
                .forEach(e -> System.out.printf("  %5.1f%%  %s%n", 100.0 * e.getValue() / 1e9 / wallSeconds, e.getKey()));
    }

    private static String kind(String threadName) {
        return threadName.replaceAll("group-[0-9A-F]{12}", "group-*").replaceAll("[0-9]+", "#");
    }

    private IdleCostBench() {
    }
}
