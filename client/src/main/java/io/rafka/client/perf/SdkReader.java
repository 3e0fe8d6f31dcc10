package io.rafka.client.perf;

import io.rafka.client.consumer.ConsumerRebalanceListener;
import io.rafka.client.consumer.ConsumerRecord;
import io.rafka.client.consumer.ConsumerRecords;
import io.rafka.client.consumer.Deserializers;
import io.rafka.client.consumer.RafkaConsumer;
import io.rafka.common.TopicPartition;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * {@code perf consume} on the Java SDK's consumer, as Kafka's {@code ConsumerPerformance} runs its consumer: with
 * {@code --group} it subscribes (rebalance time counted from the start to the first assignment), without one it
 * assigns every partition; both start at the earliest offset. Fetches are pipelined ahead of poll within
 * {@code fetch.max.bytes} / {@code max.partition.fetch.bytes}. Prints a progress line every reporting interval.
 *
 * <pre>{@code
 * ConsumePerf.Result r = SdkReader.read(ConsumePerf.Options.defaults("127.0.0.1:9192", "bench", 1_000_000), System.out);
 * }</pre>
 */
final class SdkReader {
    private static final double MIB = 1024.0 * 1024.0;

    private SdkReader() {
    }

    static ConsumePerf.Result read(ConsumePerf.Options o, PrintStream out) {
        int partitions;
        try (LeaderTable leaders = new LeaderTable(o.bootstrap(), o.topic())) {
            leaders.refresh(30_000);
            partitions = leaders.partitionCount();
        }
        long startWallMs = System.currentTimeMillis();
        long startNanos = System.nanoTime();
        long[] assignedAt = {-1};
        long[] byPartition = new long[partitions];
        long records = 0;
        long bytes = 0;
        long lastNanos = startNanos;
        long firstNanos = -1;
        try (RafkaConsumer<byte[], byte[]> consumer = RafkaConsumer.builder(Deserializers.bytes(), Deserializers.bytes())
                .bootstrap(o.bootstrap()).groupId(o.group()).autoOffsetReset("earliest").enableAutoCommit(!o.group().isEmpty())
                .fetchMaxBytes(o.fetchMaxBytes()).maxPartitionFetchBytes(o.partitionMaxBytes())
                .fetchMaxWait(Duration.ofMillis(o.maxWaitMs())).build()) {
            if (o.group().isEmpty()) {
                List<TopicPartition> all = new ArrayList<>();
                for (int p = 0; p < partitions; p++) {
                    all.add(new TopicPartition(o.topic(), p));
                }
                consumer.assign(all);
                consumer.seekToBeginning(all);
                assignedAt[0] = System.nanoTime();
            } else {
                consumer.subscribe(List.of(o.topic()), new ConsumerRebalanceListener() {
                    @Override
                    public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
                    }

                    @Override
                    public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
                        if (assignedAt[0] < 0) {
                            assignedAt[0] = System.nanoTime();
                        }
                    }
                });
            }
            long windowStart = startNanos;
            long windowRecords = 0;
            long windowBytes = 0;
            while (records < o.numRecords() && System.nanoTime() - lastNanos < o.timeoutMs() * 1_000_000L) {
                ConsumerRecords<byte[], byte[]> polled = consumer.poll(Duration.ofMillis(100));
                for (ConsumerRecord<byte[], byte[]> r : polled) {
                    int size = (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
                    records++;
                    bytes += size;
                    windowRecords++;
                    windowBytes += size;
                    byPartition[r.partition()]++;
                }
                long now = System.nanoTime();
                if (!polled.isEmpty()) {
                    lastNanos = now;
                    firstNanos = firstNanos < 0 ? now : firstNanos;
                }
                if (now - windowStart >= o.reportingIntervalMs() * 1_000_000L) {
                    out.println(ConsumePerf.progressLine(now, windowRecords, windowBytes, (now - windowStart) / 1_000_000L,
                            records, bytes));
                    out.flush();
                    windowStart = now;
                    windowRecords = 0;
                    windowBytes = 0;
                }
            }
        }
        long elapsedMs = (lastNanos - startNanos) / 1_000_000L;
        long rebalanceMs = assignedAt[0] < 0 ? 0 : Math.max(0, (assignedAt[0] - startNanos) / 1_000_000L);
        return new ConsumePerf.Result(records, bytes, elapsedMs, byPartition, startWallMs, startWallMs + elapsedMs,
                Math.min(rebalanceMs, elapsedMs), firstNanos < 0 ? -1 : (firstNanos - startNanos) / 1_000_000L);
    }

    static double mb(long bytes) {
        return bytes / MIB;
    }
}
