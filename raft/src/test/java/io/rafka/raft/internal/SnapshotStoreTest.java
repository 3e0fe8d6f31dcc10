package io.rafka.raft.internal;

import io.rafka.log.LogConfig;
import io.rafka.log.PartitionLog;
import io.rafka.testing.MockTime;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.SizeInBytes;
import io.rafka.raft.testing.Tmpfs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

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

    /**
     * Ratis's MD5 writer left an empty MD5 file when its write failed on a full disk (Ratis takes a snapshot whenever
     * a member closes, as one whose log failed is), and one such file hid every snapshot of the folder from Ratis: the
     * replica came back from nothing.
     */
    @Test
    void anMd5FileLeftEmptyByAFailedWriteDoesNotHideTheSnapshots() throws Exception {
        try (PartitionLog log = PartitionLog.open(logDir, LogConfig.defaults(), new MockTime(0))) {
            Path dir;
            try (RaftStorage s = storage(RaftStorage.StartupOption.FORMAT)) {
                SnapshotStore store = new SnapshotStore();
                store.init(s);
                store.write(TermIndex.valueOf(1, 10), snapshot(0), log);
                store.write(TermIndex.valueOf(1, 20), snapshot(0), log);
                dir = s.getStorageDir().getStateMachineDir().toPath();
            }
            Files.write(dir.resolve("snapshot.1_20.md5"), new byte[0]);          // what the failed write left
            Files.write(dir.resolve("snapshot.1_30.tmp"), new byte[] {1, 2});  // a snapshot write cut short
            try (RaftStorage s = storage(RaftStorage.StartupOption.RECOVER)) {
                SnapshotStore reopened = new SnapshotStore();
                reopened.init(s);
                SnapshotStore.Loaded loaded = reopened.loadLatest();
                // Before: none at all. The snapshot without its MD5 is whole (renamed into place once synced), but its
                // save failed, so Ratis had not purged the log up to it: the one before it is as good a start.
                assertEquals(TermIndex.valueOf(1, 10), loaded == null ? null : loaded.termIndex(),
                        "the newest snapshot with a readable MD5");
            }
            assertFalse(Files.exists(dir.resolve("snapshot.1_30.tmp")));
        }
    }

    @Test
    void anMd5WriteThatFailsOnAFullDiskLeavesNoFileBehind() throws Exception {
        try (Tmpfs tmpfs = new Tmpfs()) {
            Path dir = raftDir.resolve("full");
            tmpfs.mount(1, dir);
            Path snapshot = dir.resolve("snapshot.1_10");
            Files.write(snapshot, new byte[100]);
            Tmpfs.fill(dir);
            assertThrows(IOException.class, () -> SnapshotMd5.save(snapshot));
            assertFalse(Files.exists(dir.resolve("snapshot.1_10.md5")), "no MD5 file (Ratis's writer left an empty one)");
            assertFalse(Files.exists(dir.resolve("snapshot.1_10.md5.tmp")));
        }
    }
}
