package io.rafka.log.bench;

import io.rafka.common.Time;
import io.rafka.log.LogConfig;
import io.rafka.log.LogReadResult;
import io.rafka.log.PartitionLog;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatchBuilder;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Append and sequential-read throughput of {@link PartitionLog} against a plain {@link FileChannel} writing
 * and reading the same bytes, in the same run, so the figures are ratios that survive a noisy machine.
 *
 * <p>Batches are ~64 KiB of 1 KiB uncompressed records, built before timing. Each scenario alternates
 * baseline and log for several rounds; the report gives every round and the median ratio. Only the
 * append or read loop is timed; both sides fsync their file afterwards, untimed, so that one pass's
 * page-cache writeback does not land in the next pass's timing.
 *
 * <pre>
 * bin/rafka bench log [totalMiB=256] [fsyncMiB=64] [rounds=5] [dir=target/bench]
 * </pre>
 */
public final class PartitionLogBench {
    private static final int RECORD_BYTES = 1024;
    private static final int RECORDS_PER_BATCH = 63;

    public static void main(String[] args) throws IOException {
        int totalMiB = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        int fsyncMiB = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        Path root = Path.of(args.length > 3 ? args[3] : "target/bench");
        PrintStream out = System.out;

        List<ByteBuffer> batches = buildBatches(totalMiB);
        int batchBytes = batches.get(0).remaining();
        out.printf("batch: %d records x %d B = %d B; %d batches = %.1f MiB per pass; fsync pass %d MiB; %d rounds%n",
                RECORDS_PER_BATCH, RECORD_BYTES, batchBytes, batches.size(), mib(batchBytes * (long) batches.size()),
                fsyncMiB, rounds);
        int fsyncBatches = (int) Math.max(1, (long) fsyncMiB * 1024 * 1024 / batchBytes);

        List<double[]> append = new ArrayList<>();
        List<double[]> appendSync = new ArrayList<>();
        List<double[]> read = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            double base = plainWrite(root.resolve("plain"), batches, batches.size(), false);
            double log = logAppend(root.resolve("log-0"), batches, batches.size(), false);
            append.add(new double[] {base, log});
            out.printf("round %d  append, no fsync:     FileChannel %8.1f MiB/s   PartitionLog %8.1f MiB/s   ratio %.2f%n",
                    round, base, log, log / base);
            double baseSync = plainWrite(root.resolve("plain"), batches, fsyncBatches, true);
            double logSync = logAppend(root.resolve("log-0"), batches, fsyncBatches, true);
            appendSync.add(new double[] {baseSync, logSync});
            out.printf("round %d  append, fsync/batch:  FileChannel %8.1f MiB/s   PartitionLog %8.1f MiB/s   ratio %.2f%n",
                    round, baseSync, logSync, logSync / baseSync);
            // Read back what the no-fsync pass wrote (rewrite it first: the fsync pass replaced it).
            plainWrite(root.resolve("plain"), batches, batches.size(), false);
            logAppend(root.resolve("log-0"), batches, batches.size(), false);
            // Read each file twice and time the second pass, so both are served from the page cache alike.
            plainRead(root.resolve("plain"));
            double baseRead = plainRead(root.resolve("plain"));
            logRead(root.resolve("log-0"));
            double logRead = logRead(root.resolve("log-0"));
            read.add(new double[] {baseRead, logRead});
            out.printf("round %d  sequential read:     FileChannel %8.1f MiB/s   PartitionLog %8.1f MiB/s   ratio %.2f%n",
                    round, baseRead, logRead, logRead / baseRead);
        }
        out.printf("median ratio (PartitionLog / FileChannel): append %.2f, append+fsync %.2f, read %.2f%n",
                medianRatio(append), medianRatio(appendSync), medianRatio(read));
        deleteTree(root);
    }

    private static List<ByteBuffer> buildBatches(int totalMiB) {
        Random random = new Random(1);
        byte[] value = new byte[RECORD_BYTES];
        List<ByteBuffer> batches = new ArrayList<>();
        long bytes = 0;
        while (bytes < (long) totalMiB * 1024 * 1024) {
            RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.NONE);
            for (int i = 0; i < RECORDS_PER_BATCH; i++) {
                random.nextBytes(value);
                b.append(1_700_000_000_000L + batches.size(), null, value);
            }
            ByteBuffer batch = b.build();
            bytes += batch.remaining();
            batches.add(batch);
        }
        return batches;
    }

    private static double plainWrite(Path dir, List<ByteBuffer> batches, int count, boolean fsync) throws IOException {
        deleteTree(dir);
        Files.createDirectories(dir);
        long bytes = 0;
        double secs;
        try (FileChannel ch = FileChannel.open(dir.resolve("data"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long start = System.nanoTime();
            for (int i = 0; i < count; i++) {
                ByteBuffer b = batches.get(i).duplicate();
                bytes += b.remaining();
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                if (fsync) {
                    ch.force(false);
                }
            }
            secs = seconds(start);
            // Untimed: push the dirty pages out so the next measurement does not pay for this one's writeback.
            ch.force(false);
        }
        return mib(bytes) / secs;
    }

    private static double logAppend(Path dir, List<ByteBuffer> batches, int count, boolean fsync) throws IOException {
        deleteTree(dir);
        long bytes = 0;
        double secs;
        try (PartitionLog log = PartitionLog.open(dir, LogConfig.defaults(), Time.SYSTEM)) {
            long start = System.nanoTime();
            for (int i = 0; i < count; i++) {
                ByteBuffer b = batches.get(i).duplicate();
                bytes += b.remaining();
                log.append(b, 1, 1_700_000_000_000L + i);
                if (fsync) {
                    log.flush(log.logEndOffset());
                }
            }
            secs = seconds(start);
            // Untimed, like the baseline: close() fsyncs.
        }
        return mib(bytes) / secs;
    }

    private static double plainRead(Path dir) throws IOException {
        long bytes = 0;
        long start = System.nanoTime();
        try (FileChannel ch = FileChannel.open(dir.resolve("data"), StandardOpenOption.READ)) {
            long position = 0;
            long size = ch.size();
            while (position < size) {
                ByteBuffer buf = ByteBuffer.allocate(1024 * 1024);
                int n = ch.read(buf, position);
                position += n;
                bytes += n;
            }
        }
        return mib(bytes) / seconds(start);
    }

    private static double logRead(Path dir) {
        long bytes = 0;
        long start = System.nanoTime();
        try (PartitionLog log = PartitionLog.open(dir, LogConfig.defaults(), Time.SYSTEM)) {
            long offset = 0;
            long end = log.logEndOffset();
            while (offset < end) {
                LogReadResult r = log.read(offset, 1024 * 1024, end);
                ByteBuffer data = r.records();
                bytes += data.remaining();
                // Find the next offset from the last batch header: no per-record work.
                int last = 0;
                while (true) {
                    int size = data.getInt(last + 8) + 12;
                    if (last + size >= data.limit()) {
                        break;
                    }
                    last += size;
                }
                offset = data.getLong(last) + data.getInt(last + 23) + 1;
            }
        }
        return mib(bytes) / seconds(start);
    }

    private static double medianRatio(List<double[]> pairs) {
        double[] ratios = pairs.stream().mapToDouble(p -> p[1] / p[0]).sorted().toArray();
        return ratios[ratios.length / 2];
    }

    private static double mib(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private PartitionLogBench() {
    }

}
