package io.rafka.server;

import io.rafka.log.LogConfig;
import io.rafka.log.LogConfigKey;
import io.rafka.raft.NodeAddress;
import io.rafka.raft.RaftNodeConfig;
import io.rafka.metadata.MetadataNode;
import io.rafka.record.TimestampType;
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
        assertMessage("metadata.port", () -> ServerConfig.load(List.of("--controller.quorum.voters=1@127.0.0.1:9999"), Map.of()));
        assertMessage("broker.heartbeat.interval.ms", () -> ServerConfig.load(
                List.of("--broker.heartbeat.interval.ms=10000", "--broker.session.timeout.ms=9000"), Map.of()));
        assertMessage("controller.quorum.voters", () -> ServerConfig.load(List.of("--controller.quorum.voters=1@h:1,1@g:2"), Map.of()));
        assertMessage("raft.election.timeout.max.ms", () -> ServerConfig.load(
                List.of("--raft.election.timeout.min.ms=500", "--raft.election.timeout.max.ms=400"), Map.of()));
        assertMessage("--grpc.port needs a value", () -> ServerConfig.load(List.of("--grpc.port"), Map.of()));
        assertMessage("cannot read config file", () -> ServerConfig.load(List.of("--config", tmp.resolve("missing").toString()), Map.of()));
    }

    @Test
    void votersParseAndHelpListsEveryKey() {
        ServerConfig c = ServerConfig.load(List.of("--node.id=2", "--controller.quorum.voters=1@a:1, 2@b:9094 ,3@c:3"), Map.of());
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
        assertEquals(4096, c.logDefaults().segmentBytes());
        assertEquals(2000, c.logDefaults().maxMessageBytes());
        assertEquals(-1, c.logDefaults().retentionMs());
        assertMessage("log.segment.bytes", () -> ServerConfig.load(List.of("--log.segment.bytes=100"), Map.of()));
    }

    @Test
    void subConfigsAtTheirDefaultsAreTheComponentDefaults() {
        ServerConfig c = ServerConfig.load(List.of(), Map.of());
        assertEquals(LogConfig.defaults(), c.logDefaults());
        // Two deliberate differences: brokers hibernate idle partitions after a minute, and scrub their logs at 4 MiB/s;
        // the raft library leaves both off unless asked (its in-process tests wait for leaders of partitions they
        // create, and read their logs back only where a test asks for it).
        assertEquals(RaftNodeConfig.builder(new NodeAddress("1", "127.0.0.1", 9093), Path.of("./data"))
                .hibernateAfterMs(60_000).scrubBytesPerSecond(4L * 1024 * 1024).build(), c.raftConfig());
        assertEquals(MetadataNode.Settings.of(new NodeAddress("1", "127.0.0.1", 9094), c.voters(), Path.of("./data")),
                c.metadataConfig());
        assertEquals(new ApiConfig("127.0.0.1", 9092, 16 << 20, 1000, 1000, 64L << 20, 512L << 20, 100, 4 << 20, 128L << 20, 32, 50_000, 262_144, 5_000, 16 << 20, 30_000, 10_000, 32L << 20,
                30_000, true, 1, 0), c.apiConfig());
    }

    @Test
    void everyRaftNodeSettingHasAKey() {
        ServerConfig c = ServerConfig.load(List.of("--raft.election.timeout.min.ms=300", "--raft.election.timeout.max.ms=900",
                "--raft.leader.failure.detection=false", "--raft.snapshot.threshold.entries=77", "--raft.log.retained.entries=5", "--raft.segment.bytes=2097152",
                "--raft.write.buffer.bytes=4194304", "--partition.max.in.flight.bytes=3145728", "--partition.max.in.flight.entries=3", "--request.timeout.ms=4000",
                "--partition.max.producers=12", "--message.max.decompressed.bytes=8388608", "--raft.port=7001", "--host=h1",
                "--raft.appender.retry.policy=1ms,5, 100ms,2000000000"), Map.of());
        RaftNodeConfig r = c.raftConfig();
        assertEquals(new NodeAddress("1", "h1", 7001), r.address());
        assertEquals(300, r.rpcTimeoutMinMs());
        assertEquals(900, r.rpcTimeoutMaxMs());
        assertFalse(r.leaderFailureDetection());
        assertEquals(77, r.snapshotThresholdEntries());
        assertEquals(5, r.raftLogRetainedEntries());
        assertEquals(2 << 20, r.raftSegmentBytes());
        assertEquals(4 << 20, r.raftWriteBufferBytes());
        assertEquals(3 << 20, r.maxInFlightBytesPerPartition());
        assertEquals(3, r.maxEntriesInFlightPerPartition());
        assertEquals(4000, r.requestTimeoutMs());
        assertEquals(12, r.maxProducersPerPartition());
        assertEquals(8 << 20, r.maxDecompressedBytes());
        assertEquals("1ms,5, 100ms,2000000000", r.appenderRetryPolicy());
        assertEquals(c.logDefaults(), r.logConfig());
        assertEquals(LogConfig.DEFAULT_MAX_MESSAGE_BYTES + 64 * 1024,
                ServerConfig.load(List.of(), Map.of()).raftConfig().raftWriteBufferBytes(), "0 = message.max.bytes + 64 KiB");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.load(List.of("--raft.appender.retry.policy=1ms"), Map.of()));
        assertTrue(e.getMessage().contains("raft.appender.retry.policy = '1ms'"), e.getMessage());
    }

    @Test
    void theMetadataGroupFollowsTheRaftTimeoutsUnlessItHasItsOwn() {
        ServerConfig follows = ServerConfig.load(List.of("--raft.election.timeout.min.ms=400", "--raft.election.timeout.max.ms=800",
                "--raft.leader.failure.detection=false"), Map.of());
        assertEquals(400, follows.metadataConfig().electionTimeoutMinMs());
        assertEquals(800, follows.metadataConfig().electionTimeoutMaxMs());
        assertFalse(follows.metadataConfig().leaderFailureDetection());
        assertEquals("400", follows.get(ServerConfig.METADATA_ELECTION_TIMEOUT_MIN_MS), "the effective value is reported");
        assertFalse(follows.isSet(ServerConfig.METADATA_ELECTION_TIMEOUT_MIN_MS));
        ServerConfig own = ServerConfig.load(List.of("--metadata.election.timeout.min.ms=3000",
                "--metadata.election.timeout.max.ms=6000", "--metadata.port=7002"), Map.of("RAFKA_NODE_ID", "m"));
        assertEquals(3000, own.metadataConfig().electionTimeoutMinMs());
        assertEquals(6000, own.metadataConfig().electionTimeoutMaxMs());
        assertEquals(new NodeAddress("m", "127.0.0.1", 7002), own.metadataConfig().self());
        assertEquals(1000, own.raftConfig().rpcTimeoutMinMs(), "the partition groups keep theirs");
        assertMessage("metadata.election.timeout.max.ms", () -> ServerConfig.load(
                List.of("--metadata.election.timeout.min.ms=2500"), Map.of()));
    }

    @Test
    void apiConfigCarriesTheLimits() {
        ServerConfig c = ServerConfig.load(List.of("--bind.host=0.0.0.0", "--grpc.port=7000", "--max.request.bytes=2048",
                "--max.connections=5", "--max.calls.per.connection=6", "--grpc.flow.control.window.bytes=1048576",
                "--produce.memory.bytes=2097152", "--produce.stream.window=7", "--max.partitions.per.request=10",
                "--fetch.max.bytes=4096", "--fetch.max.wait.ms=8", "--fetch.max.waiters=9", "--fetch.buffer.pool.bytes=0",
                "--request.timeout.ms=1000",
                "--auto.create.topics.enable=false", "--num.partitions=3", "--default.replication.factor=2"), Map.of());
        assertEquals(new ApiConfig("0.0.0.0", 7000, 2048, 5, 6, 64L << 20, 512L << 20, 100, 1 << 20, 2L << 20, 7, 10, 262_144, 5_000, 4096, 8, 9, 0, 1000, false, 3, 2), c.apiConfig());
    }

    /** The broker's log keys are the topic keys' defaults: same parser, same single bound per key. */
    @Test
    void logKeysShareTheTopicKeysRules() {
        ServerConfig c = ServerConfig.load(List.of("--log.message.timestamp.type=LogAppendTime", "--log.index.interval.bytes=0",
                "--log.index.size.max.bytes=24", "--log.segment.bytes=1024"), Map.of());
        assertEquals(TimestampType.LOG_APPEND_TIME, c.logDefaults().messageTimestampType());
        assertEquals(0, c.logDefaults().indexIntervalBytes());
        assertEquals(24, c.logDefaults().segmentIndexBytes());
        assertEquals(1024, c.logDefaults().segmentBytes());
        assertMessage("log.message.timestamp.type", () -> ServerConfig.load(List.of("--log.message.timestamp.type=Now"), Map.of()));
        assertMessage("log.segment.bytes", () -> ServerConfig.load(List.of("--log.segment.bytes=1023"), Map.of()));
        assertThrows(IllegalArgumentException.class, () -> LogConfig.defaults().withOverrides(Map.of("segment.bytes", "1023")));
        for (LogConfigKey k : LogConfigKey.values()) {
            ConfigKey server = ServerConfig.KEYS.stream().filter(key -> key.name().equals(k.serverKey())).findFirst().orElseThrow();
            assertEquals(k.defaultValue(), server.defaultValue(), k.serverKey());
            assertEquals(k, server.logKey());
            if (k.type() != LogConfigKey.Type.TIMESTAMP_TYPE) {
                assertEquals(k.min(), server.min(), k.serverKey());
                assertEquals(k.max(), server.max(), k.serverKey());
            }
        }
    }

    @Test
    void settingsThatMustFitTogetherNameTheirKeys() {
        assertMessage("message.max.decompressed.bytes", () -> ServerConfig.load(
                List.of("--message.max.bytes=2000000", "--message.max.decompressed.bytes=1048576"), Map.of()));
        assertMessage("partition.max.in.flight.bytes", () -> ServerConfig.load(
                List.of("--message.max.bytes=4000000", "--partition.max.in.flight.bytes=2097152"), Map.of()));
        assertMessage("raft.write.buffer.bytes", () -> ServerConfig.load(
                List.of("--message.max.bytes=2000", "--raft.write.buffer.bytes=2500"), Map.of()));
        ServerConfig.load(List.of("--message.max.bytes=2000", "--raft.write.buffer.bytes=3024"), Map.of());
    }

    private static void assertMessage(String expected, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(expected), "'" + e.getMessage() + "' should mention " + expected);
    }
}
