package io.rafka.raft.internal;

import io.rafka.log.LogConfig;
import io.rafka.log.PartitionLog;
import io.rafka.testing.MockTime;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.SizeInBytes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class SnapshotStoreTest {
    @TempDir
    Path raftDir;
    @TempDir
    Path logDir;

    private RaftStorage storage(RaftStorage.StartupOption option) throws Exception {
        RaftStorage s = RaftStorage.newBuilder().setDirectory(raftDir.toFile()).setOption(option)
                .setStorageFreeSpaceMin(SizeInBytes.ONE_KB)
                .setLogCorruptionPolicy(RaftServerConfigKeys.Log.CorruptionPolicy.getDefault()).build();
        s.initialize();
        return s;
    }

    private static PartitionSnapshot snapshot(long highWatermark) {
        return new PartitionSnapshot(highWatermark, 0, ByteBuffer.wrap(new byte[] {1, 2, 3, (byte) highWatermark}));
    }

    @Test
    void theNewestSnapshotSurvivesARestartAndOnlyTwoAreKept() throws Exception {
        try (PartitionLog log = PartitionLog.open(logDir, LogConfig.defaults(), new MockTime(0))) {
            SnapshotStore store = new SnapshotStore();
            try (RaftStorage s = storage(RaftStorage.StartupOption.FORMAT)) {
                store.init(s);
                assertNull(store.loadLatest());
                store.write(TermIndex.valueOf(1, 10), snapshot(0), log);
                store.write(TermIndex.valueOf(1, 20), snapshot(0), log);
                store.write(TermIndex.valueOf(2, 30), snapshot(0), log);
                assertEquals(30, store.latest().getIndex());
            }
            try (RaftStorage s = storage(RaftStorage.StartupOption.RECOVER)) {
                SnapshotStore reopened = new SnapshotStore();
                reopened.init(s);
                SnapshotStore.Loaded loaded = reopened.loadLatest();
                assertEquals(TermIndex.valueOf(2, 30), loaded.termIndex());
                assertEquals(snapshot(0).producerState(), loaded.snapshot().producerState());
                File dir = s.getStorageDir().getStateMachineDir();
                try (var files = Files.list(dir.toPath())) {
                    assertEquals(2, files.filter(f -> !f.getFileName().toString().endsWith(".md5")).count(),
                            "the oldest snapshot is cleaned up");
                }
            }
        }
    }
}
