package io.rafka.server.perf;

import io.rafka.client.perf.FailoverProbe;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.NewTopic;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The failover benchmark's probe ({@code bin/rafka bench failover}) against three in-process brokers while the
 * leader of a partition crashes: its writers find the new leaders, and every record they count as acknowledged
 * is read back exactly once at its acknowledged offset. A probe that lost or double-counted records across a
 * failover would report failover times for writes that never happened.
 */
class FailoverProbeIT {
    private static final String TOPIC = "probe";
    private static final int PARTITIONS = 3;

    @TempDir
    Path tmp;

    @Test
    void everyAcknowledgedRecordIsReadBackOnceAcrossALeaderCrash() throws Exception {
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false"))) {
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                    NewTopic.newBuilder().setName(TOPIC).setPartitions(PARTITIONS).setReplicationFactor(3)).build())
                    .getResults(0).getErrorCode());
            List<Integer> leaders = cluster.awaitLeaders(0, TOPIC, 30_000);
            int victim = leaders.get(0);
            int bootstrap = (victim + 1) % 3;
            List<FailoverProbe.Node> nodes = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                nodes.add(new FailoverProbe.Node(Integer.toString(i + 1), "127.0.0.1:" + cluster.grpcPort(i),
                        "127.0.0.1:" + cluster.httpPort(i)));
            }
            FailoverProbe.Options options = new FailoverProbe.Options("127.0.0.1:" + cluster.grpcPort(bootstrap), TOPIC,
                    PARTITIONS, 20, 20, nodes);
            try (FailoverProbe probe = FailoverProbe.start(options)) {
                awaitAcksAfter(cluster, probe, 0, "first acknowledgements");
                Thread.sleep(500);
                long killMs = System.currentTimeMillis();
                cluster.kill(victim);
                awaitAcksAfter(cluster, probe, killMs, "acknowledgements after broker " + (victim + 1) + " crashed");
                Thread.sleep(300);
                probe.stopWriters();
                assertNull(probe.writerFailure());

                FailoverProbe.Verification v = probe.verify();
                assertTrue(v.ok(), "lost " + v.lost() + ", duplicated " + v.duplicated() + ": " + v.problems());
                assertEquals(probe.acks().size(), v.acknowledged());
                assertTrue(v.acknowledged() >= PARTITIONS * 20L, "about 50 records a second per partition: " + v.acknowledged());
                assertTrue(v.readBack() >= v.acknowledged(), "every acknowledged record is read back");
            }
        }
    }

    private static void awaitAcksAfter(BrokerCluster cluster, FailoverProbe probe, long sinceMs, String what) {
        cluster.awaitTrue(() -> Arrays.stream(probe.lastAckMs()).allMatch(t -> t > sinceMs), 20_000, what);
    }
}
