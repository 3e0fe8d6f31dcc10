package io.rafka.raft.internal;

import io.rafka.log.PartitionLog;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A partition's snapshots in Ratis's state-machine folder: one {@link PartitionSnapshot} file per snapshot,
 * named by term and index, with an MD5 file beside it; the newest two are kept.
 *
 * <p>A snapshot is cheap because the records stay in the partition log: writing one fsyncs the log up to
 * the snapshot's high watermark first, so the snapshot never names records that a crash could lose.
 */
final class SnapshotStore {
    private static final SnapshotRetentionPolicy KEEP_TWO = new SnapshotRetentionPolicy() {
        @Override
        public int getNumSnapshotsRetained() {
            return 2;
        }
    };

    /** A snapshot read back: the Raft position it stands for, and its content. */
    record Loaded(TermIndex termIndex, PartitionSnapshot snapshot) {
    }

    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();

    void init(RaftStorage raftStorage) throws IOException {
        SnapshotMd5.clean(raftStorage.getStorageDir().getStateMachineDir().toPath());
        storage.init(raftStorage);
    }

    StateMachineStorage storage() {
        return storage;
    }

    SnapshotInfo latest() {
        return storage.getLatestSnapshot();
    }

    /** The newest snapshot, or null if there is none. */
    Loaded loadLatest() throws IOException {
        SingleFileSnapshotInfo info = storage.loadLatestSnapshot();
        if (info == null) {
            return null;
        }
        return new Loaded(info.getTermIndex(), PartitionSnapshot.readFrom(info.getFile().getPath()));
    }

    /**
     * Deletes the snapshot at index 0 (a new replica's empty start) and its MD5 file, if that is the newest one;
     * true if it did. Only for a replica whose division is closed: the storage here keeps its old view.
     */
    boolean deleteEmptyStart() throws IOException {
        SnapshotInfo latest = latest();
        if (latest == null || latest.getIndex() != 0) {
            return false;
        }
        for (FileInfo f : latest.getFiles()) {
            Files.deleteIfExists(f.getPath());
            Files.deleteIfExists(f.getPath().resolveSibling(f.getPath().getFileName() + ".md5"));
        }
        return true;
    }

    /** Writes the snapshot of a partition with no records and no producers, for {@code ti}. */
    void writeEmpty(TermIndex ti, int maxProducers) throws IOException {
        save(ti, new PartitionSnapshot(0, 0, new ProducerStateManager(maxProducers).serialize()));
    }

    /** Flushes {@code log} up to the snapshot's high watermark, then writes the snapshot for {@code ti}. */
    void write(TermIndex ti, PartitionSnapshot snapshot, PartitionLog log) throws IOException {
        log.flush(snapshot.logEndOffset());
        save(ti, snapshot);
    }

    private void save(TermIndex ti, PartitionSnapshot snapshot) throws IOException {
        Path file = storage.getSnapshotFile(ti.getTerm(), ti.getIndex()).toPath();
        snapshot.writeTo(file);
        MD5Hash md5 = SnapshotMd5.save(file);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file, md5), ti));
        storage.cleanupOldSnapshots(KEEP_TWO);
    }
}
