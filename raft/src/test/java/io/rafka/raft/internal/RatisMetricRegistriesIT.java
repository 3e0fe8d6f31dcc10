package io.rafka.raft.internal;

import io.rafka.common.TopicPartition;
import io.rafka.raft.Acks;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.CompressionType;
import io.rafka.testing.TestBatches;
import org.apache.ratis.metrics.MetricRegistries;
import org.apache.ratis.metrics.MetricRegistryInfo;
import org.apache.ratis.metrics.RatisMetricRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ratis reports to Rafka's {@link RatisMetricRegistries} (found through ServiceLoader, with no other provider on
 * the class path), its timers count what a real cluster does, and a division's registries go when it closes.
 */
class RatisMetricRegistriesIT {
    private static final String LOG_WORKER_TIMER = "flushTime";

    @TempDir
    Path tmp;

    @Test
    void ratisTimesARealClustersLogWorkThroughRafkasRegistries() throws Exception {
        RatisMetricRegistries global = assertInstanceOf(RatisMetricRegistries.class, MetricRegistries.global());
        Set<MetricRegistryInfo> before = global.getMetricRegistryInfos();
        try (MiniCluster cluster = MiniCluster.start(3, tmp)) {
            TopicPartition tp = cluster.createPartition("metrics", 0, 3);
            for (int i = 0; i < 20; i++) {
                cluster.append(tp, TestBatches.batch(CompressionType.NONE, "m" + i, 1), Acks.ALL);
            }
            long timed = 0;
            for (RatisMetricRegistry r : global.getMetricRegistries()) {
                if (((RatisMetricRegistries.Registry) r).metric(LOG_WORKER_TIMER)
                        instanceof RatisMetricRegistries.Timer t) {
                    assertTrue(t.totalNanos() > 0 || t.count() == 0, "a timer with counts has a duration");
                    timed += t.count();
                }
            }
            // Each node's log worker flushes at least once per committed entry it wrote; three nodes, 20 appends.
            assertTrue(timed >= 20, "log flushes timed: " + timed + " in " + names(global));
        }
        Set<MetricRegistryInfo> left = new java.util.HashSet<>(global.getMetricRegistryInfos());
        left.removeAll(before);
        assertTrue(left.stream().noneMatch(i -> i.getMetricsComponentName().equals("log_worker")),
                "log worker registries of closed divisions: " + left);
    }

    @Test
    void registriesAreCountedPerInfoAndGoWithTheLastRemove() {
        RatisMetricRegistries registries = new RatisMetricRegistries();
        MetricRegistryInfo info = new MetricRegistryInfo("g1", "ratis", "log_worker", "test");
        RatisMetricRegistry first = registries.create(info);
        assertSame(first, registries.create(info), "the same registry for the same component");
        first.counter("c").inc(3);
        first.counter("c").dec();
        assertEquals(2, first.counter("c").getCount());
        assertTrue(registries.remove(info));
        assertSame(first, registries.get(info).orElseThrow(), "still used by its second creator");
        assertTrue(registries.remove(info));
        assertFalse(registries.get(info).isPresent());
        assertFalse(registries.remove(info), "unknown by now");
    }

    @Test
    void inconsistencyAnswersAreSummedPerServerAndOutliveTheirDivisionsRegistries() {
        RatisMetricRegistries registries = new RatisMetricRegistries();
        long before = RatisMetricRegistries.followerRefusals("77");
        // As Ratis's GrpcServerMetrics names them: one registry per leader division ("server@group"), one counter
        // per follower and kind of answer.
        MetricRegistryInfo groupA = new MetricRegistryInfo("77@group-A", "ratis_grpc", "log_appender", "test");
        MetricRegistryInfo groupB = new MetricRegistryInfo("77@group-B", "ratis_grpc", "log_appender", "test");
        MetricRegistryInfo otherServer = new MetricRegistryInfo("78@group-A", "ratis_grpc", "log_appender", "test");
        registries.create(groupA).counter("78_inconsistency_reply_count").inc(3);
        registries.create(groupA).counter("79_inconsistency_reply_count").inc();
        registries.create(groupA).counter("78_success_reply_count").inc(100);
        registries.create(groupB).counter("78_inconsistency_reply_count").inc(2);
        registries.create(otherServer).counter("77_inconsistency_reply_count").inc(50);
        assertEquals(before + 6, RatisMetricRegistries.followerRefusals("77"), "3 + 1 + 2, not the successes, not 78's");
        while (registries.remove(groupA)) {
            // every creator's reference
        }
        assertFalse(registries.get(groupA).isPresent());
        assertEquals(before + 6, RatisMetricRegistries.followerRefusals("77"), "a closed division's answers still count");
        assertEquals(0, RatisMetricRegistries.followerRefusals("no-such-server"));
    }

    private static String names(RatisMetricRegistries global) {
        return global.getMetricRegistryInfos().stream().map(MetricRegistryInfo::toString).collect(Collectors.joining(", "));
    }
}
