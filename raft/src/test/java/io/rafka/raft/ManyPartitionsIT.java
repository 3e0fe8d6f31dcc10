package io.rafka.raft;

import io.rafka.common.TopicPartition;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Multi-raft at scale: 100 partitions x 3 replicas (300 Raft divisions; -Dmany.partitions=300 for the 900 of
 * docs/BENCHMARKS.md, ~3 min) on 3 in-process nodes in one JVM on a 2-core machine. Election timeouts are 3-6 s, as a broker with this many groups per node should run
 * (see docs/BENCHMARKS.md: idle cost per division), and partitions are created in waves so the creation
 * burst does not starve the heartbeats of groups already running.
 */
class ManyPartitionsIT {
    private static final Logger LOG = LoggerFactory.getLogger(ManyPartitionsIT.class);
    /** 100 keeps CI's run near half a minute; the scale docs/BENCHMARKS.md reports is 300. */
    private static final int PARTITIONS = Integer.getInteger("many.partitions", 100);
    private static final int WAVE = 50;

    @TempDir
    Path tmp;

    @Test
    void hundredsOfPartitionsStartElectAndAcceptWrites() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, tmp, b -> b.rpcTimeoutMs(3000, 6000))) {
            long start = System.nanoTime();
            List<TopicPartition> tps = new ArrayList<>();
            for (int first = 0; first < PARTITIONS; first += WAVE) {
                List<TopicPartition> wave = cluster.createPartitions("wide", first, WAVE, 3);
                for (TopicPartition tp : wave) {
                    cluster.leaderIndex(tp, 120_000);
                }
                tps.addAll(wave);
            }
            long created = System.nanoTime();
            Map<Integer, Integer> leadersPerNode = new HashMap<>();
            for (TopicPartition tp : tps) {
                leadersPerNode.merge(cluster.leaderIndex(tp, 120_000), 1, Integer::sum);
            }
            long elected = System.nanoTime();
            List<CompletableFuture<AppendResult>> appends = new ArrayList<>();
            for (TopicPartition tp : tps) {
                appends.add(CompletableFuture.supplyAsync(() ->
                        cluster.append(tp, TestBatches.batch(CompressionType.NONE, tp.toString(), 2, 1L), Acks.ALL, 120_000)));
            }
            for (CompletableFuture<AppendResult> f : appends) {
                assertEquals(0, f.join().baseOffset());
            }
            long written = System.nanoTime();
            for (TopicPartition tp : tps) {
                cluster.awaitReplicated(tp, 2, 60_000);
            }
            LOG.info("{} partitions x 3 replicas: created and led in {} ms, all still led {} ms later, one write each in {} ms more; leaders per node {}",
                    PARTITIONS, (created - start) / 1_000_000, (elected - created) / 1_000_000, (written - elected) / 1_000_000,
                    leadersPerNode);
            assertEquals(3, leadersPerNode.size(), "leaderships spread over every node: " + leadersPerNode);
        }
    }
}
