package io.rafka.server;

import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.NewTopic;
import io.rafka.raft.testing.Tmpfs;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A broker whose disk fills up while the cluster's metadata changes: its metadata member's Raft log fails (Ratis then
 * refuses every later entry of it), so its view of the cluster freezes. It must say so (unhealthy, with the reason),
 * and, once space is free, start again: Ratis leaves the member's term-and-vote file empty when the write of a new
 * term fails, which made the broker refuse to start for good. Each broker's data folder is a tmpfs this test mounts
 * (root only, as CI runs).
 */
class FullDiskBrokerIT {
    @TempDir
    Path tmp;

    private final Tmpfs tmpfs = new Tmpfs();

    @AfterEach
    void unmount() throws Exception {
        tmpfs.close();
    }

    @Test
    void aBrokerWhoseMetadataLogFailedIsUnhealthyAndStartsAgainOnceSpaceIsFree() throws Exception {
        tmpfs.mount(64, tmp.resolve("broker-1"), tmp.resolve("broker-2"), tmp.resolve("broker-3"));  // BrokerCluster's data folders
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("auto.create.topics.enable", "false"))) {
            int controller = -1;
            for (int i = 0; i < 3 && controller < 0; i++) {
                controller = cluster.broker(i).metadata().isController() ? i : -1;
            }
            int full = controller == 1 ? 2 : 1;  // a follower of the metadata group
            Path filler = Tmpfs.fill(tmp.resolve("broker-" + (full + 1)));

            // Every topic is a few metadata entries (the topic, its placement, its leaders): the full broker's
            // member cannot write them.
            long deadline = System.currentTimeMillis() + 60_000;
            for (int t = 0; cluster.broker(full).isServing() && System.currentTimeMillis() < deadline; t++) {
                cluster.admin(controller < 0 ? 0 : controller).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                        NewTopic.newBuilder().setName("t" + t).setPartitions(1).setReplicationFactor(2)).build());
            }
            assertTrue(cluster.broker(full).metadata().logFailure() != null, "the metadata member's log failed");
            String health = get(cluster.httpPort(full), "/health", 503);
            assertTrue(health.contains("metadata member's Raft log failed"), health);

            Files.delete(filler);
            cluster.stop(full);
            cluster.restart(full);  // before: Ratis could not load the member's term and vote, and the broker exited
            cluster.awaitTrue(() -> cluster.broker(full).isServing(), 60_000, "the broker serves again");
            int other = (full + 1) % 3;
            cluster.awaitTrue(() -> cluster.broker(full).metadata().image().topics().keySet()
                    .equals(cluster.broker(other).metadata().image().topics().keySet()), 30_000, "its metadata view is current");
            assertEquals("ok\n", get(cluster.httpPort(full), "/health", 200));
        }
    }

    private static String get(int port, String path, int expectedStatus) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + path).toURL().openConnection();
        assertEquals(expectedStatus, c.getResponseCode());
        try (InputStream in = c.getResponseCode() >= 400 ? c.getErrorStream() : c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
