package io.rafka.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServerConfigTest {
    @TempDir
    Path tmp;

    @Test
    void defaultsAreASingleNodeOnLoopback() {
        ServerConfig c = ServerConfig.load(List.of(), Map.of());
        assertEquals("1", c.nodeId());
        assertEquals("127.0.0.1", c.get(ServerConfig.BIND_HOST));
        assertEquals(9092, c.getInt(ServerConfig.GRPC_PORT));
        assertEquals(Path.of("./data"), c.dataDir());
        assertEquals(1, c.voters().size());
        assertEquals(9094, c.voters().get(0).port());
        assertFalse(c.isSet(ServerConfig.GRPC_PORT));
    }

    @Test
    void flagsBeatEnvironmentWhichBeatsTheFile() throws IOException {
        Path file = tmp.resolve("rafka.properties");
        Files.writeString(file, "grpc.port=1111\nhttp.port=2222\nnum.partitions=3\n");
        ServerConfig c = ServerConfig.load(List.of("--config", file.toString(), "--grpc.port=3333"),
                Map.of("RAFKA_GRPC_PORT", "4444", "RAFKA_HTTP_PORT", "5555", "UNRELATED", "x"));
        assertEquals(3333, c.getInt(ServerConfig.GRPC_PORT), "flag");
        assertEquals(5555, c.getInt(ServerConfig.HTTP_PORT), "environment over file");
        assertEquals(3, c.getInt(ServerConfig.NUM_PARTITIONS), "file over default");
        assertTrue(c.isSet(ServerConfig.NUM_PARTITIONS));
        ServerConfig spaced = ServerConfig.load(List.of("--node.id", "b-7"), Map.of("RAFKA_CONFIG", file.toString()));
        assertEquals("b-7", spaced.nodeId());
        assertEquals(1111, spaced.getInt(ServerConfig.GRPC_PORT), "RAFKA_CONFIG names the file");
    }

    @Test
    void badValuesFailNamingTheKey() {
        assertMessage("grpc.port", () -> ServerConfig.load(List.of("--grpc.port=70000"), Map.of()));
        assertMessage("grpc.port", () -> ServerConfig.load(List.of("--grpc.port=abc"), Map.of()));
        assertMessage("auto.create.topics.enable", () -> ServerConfig.load(List.of(), Map.of("RAFKA_AUTO_CREATE_TOPICS_ENABLE", "yes")));
        assertMessage("no.such.key", () -> ServerConfig.load(List.of("--no.such.key=1"), Map.of()));
        assertMessage("node.id", () -> ServerConfig.load(List.of("--node.id=a b"), Map.of()));
        assertMessage("controller.quorum.voters", () -> ServerConfig.load(List.of("--controller.quorum.voters=2@h:1"), Map.of()));
        assertMessage("controller.quorum.voters", () -> ServerConfig.load(List.of("--controller.quorum.voters=1@h"), Map.of()));
        assertMessage("controller.quorum.voters", () -> ServerConfig.load(List.of("--controller.quorum.voters=1@h:1,1@g:2"), Map.of()));
        assertMessage("raft.election.timeout.max.ms", () -> ServerConfig.load(
                List.of("--raft.election.timeout.min.ms=500", "--raft.election.timeout.max.ms=400"), Map.of()));
        assertMessage("--grpc.port needs a value", () -> ServerConfig.load(List.of("--grpc.port"), Map.of()));
        assertMessage("cannot read config file", () -> ServerConfig.load(List.of("--config", tmp.resolve("missing").toString()), Map.of()));
    }

    @Test
    void votersParseAndHelpListsEveryKey() {
        ServerConfig c = ServerConfig.load(List.of("--node.id=2", "--controller.quorum.voters=1@a:1, 2@b:2 ,3@c:3"), Map.of());
        assertEquals(List.of("1", "2", "3"), c.voters().stream().map(v -> v.id()).toList());
        assertEquals("b", c.voters().get(1).host());
        String help = ServerConfig.help();
        for (ConfigKey k : ServerConfig.KEYS) {
            assertTrue(help.contains(k.name()) && help.contains(k.envName()), k.name());
        }
        assertEquals("RAFKA_LOG_RETENTION_MS", ServerConfig.LOG_RETENTION_MS.envName());
    }

    @Test
    void logDefaultsComeFromTheLogKeys() {
        ServerConfig c = ServerConfig.load(List.of("--log.segment.bytes=4096", "--message.max.bytes=2000", "--log.retention.ms=-1"), Map.of());
        assertEquals(4096, c.logConfig().segmentBytes());
        assertEquals(2000, c.logConfig().maxMessageBytes());
        assertEquals(-1, c.logConfig().retentionMs());
        assertMessage("log.segment.bytes", () -> ServerConfig.load(List.of("--log.segment.bytes=100"), Map.of()));
    }

    private static void assertMessage(String expected, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(expected), "'" + e.getMessage() + "' should mention " + expected);
    }
}
