package io.rafka.server;

import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.NewTopic;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 12 point 7: the graceful stop (SIGTERM, {@link Broker#close}) holds {@code shutdown.timeout.ms} as a
 * whole, also when nothing can be handed over: partitions and the metadata group without a live majority, or
 * every broker stopping at once.
 */
class GracefulStopIT {
    private static final long SHUTDOWN_TIMEOUT_MS = 4_000;
    /** Waking the stopping thread at the deadline on a loaded machine; below what the old unbounded steps added. */
    private static final long MARGIN_MS = 600;

    @TempDir
    Path tmp;

    @Test
    void aBrokerWhosePartitionsHaveNoMajorityStopsWithinTheBound() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("shutdown.timeout.ms", Long.toString(SHUTDOWN_TIMEOUT_MS)))) {
            createTopic(cluster, "stranded", 6);
            int controller = BrokerCluster.indexOf(cluster.admin(0).describeCluster(
                    io.rafka.proto.v1.DescribeClusterRequest.getDefaultInstance()).getControllerId());
            // The survivor leads some partitions and the metadata group, so it has hand-overs to try.
            for (int i = 0; i < 3; i++) {
                if (i != controller) {
                    cluster.kill(i);
                }
            }
            long ms = timeStop(cluster, controller);
            System.out.printf("stop without a majority: %d ms (shutdown.timeout.ms = %d)%n", ms, SHUTDOWN_TIMEOUT_MS);
            assertTrue(ms <= SHUTDOWN_TIMEOUT_MS + MARGIN_MS, "stopped in " + ms + " ms");
        }
    }

    @Test
    void everyBrokerStoppingAtOnceStopsWithinTheBound() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("shutdown.timeout.ms", Long.toString(SHUTDOWN_TIMEOUT_MS)))) {
            createTopic(cluster, "everyone", 6);
            List<CompletableFuture<Long>> stops = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                int b = i;
                stops.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return timeStop(cluster, b);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
            }
            for (int i = 0; i < 3; i++) {
                long ms = stops.get(i).get(60, TimeUnit.SECONDS);
                System.out.printf("stop of broker %d with all stopping at once: %d ms%n", i + 1, ms);
                assertTrue(ms <= SHUTDOWN_TIMEOUT_MS + MARGIN_MS, "broker " + (i + 1) + " stopped in " + ms + " ms");
            }
        }
    }

    private static void createTopic(BrokerCluster cluster, String name, int partitions) {
        assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
                .setName(name).setPartitions(partitions).setReplicationFactor(3)).build()).getResults(0).getErrorCode());
        for (int i = 0; i < 3; i++) {
            cluster.awaitLeaders(i, name, 30_000);
        }
    }

    private static long timeStop(BrokerCluster cluster, int broker) throws Exception {
        long t0 = System.nanoTime();
        cluster.stop(broker);
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }
}
