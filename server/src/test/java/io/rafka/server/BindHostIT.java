package io.rafka.server;

import io.rafka.metadata.MetadataNode;
import io.rafka.raft.RaftNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@code bind.host} is where the Raft and metadata ports listen, as for the gRPC and HTTP ports; {@code host} is
 * only what peers are told. Both ports used to listen on {@code host}, so a broker whose advertised name is not an
 * address of its own (NAT, a load balancer) could not start. Here the broker advertises 127.0.0.1 and binds
 * 127.0.0.2 (both loopback on Linux).
 */
class BindHostIT {
    @TempDir
    Path tmp;

    @Test
    void theRaftAndMetadataPortsListenOnTheBindHost() throws Exception {
        int raftPort = freePort();
        int metadataPort = freePort();
        ServerConfig config = ServerConfig.load(List.of("--host=127.0.0.1", "--bind.host=127.0.0.2",
                "--raft.port=" + raftPort, "--metadata.port=" + metadataPort,
                "--controller.quorum.voters=1@127.0.0.1:" + metadataPort, "--data.dir=" + tmp), Map.of());
        assertEquals("127.0.0.2", config.raftConfig().bindHost());
        assertEquals("127.0.0.2", config.metadataConfig().bindHost());
        try (RaftNode raft = RaftNode.start(config.raftConfig());
             MetadataNode metadata = MetadataNode.start(config.metadataConfig())) {
            for (int port : List.of(raftPort, metadataPort)) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.2", port), 5_000);
                }
                assertThrows(ConnectException.class, () -> {
                    try (Socket s = new Socket()) {
                        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
                    }
                }, "port " + port + " listens on the bind host only");
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
