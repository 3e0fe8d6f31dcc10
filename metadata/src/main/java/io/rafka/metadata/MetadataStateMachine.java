package io.rafka.metadata;

import io.rafka.common.Time;
import io.rafka.raft.internal.AtomicFiles;
import io.rafka.raft.internal.FailedLogs;
import io.rafka.raft.internal.SnapshotMd5;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The metadata group's state machine: applies batches of {@link MetadataRecord}s to the {@link MetadataImage},
 * snapshots the whole image (it is small), and notifies listeners (the broker's reconciler) of every new image.
 * Broker heartbeats arrive as read-only queries on the leader and are kept there as soft state.
 */
public final class MetadataStateMachine extends BaseStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(MetadataStateMachine.class);
    static final byte HEARTBEAT = 'H';
    /** A broker stopping on purpose: no longer live from now on, until its next heartbeat. */
    static final byte LEAVING = 'L';
    /** Asks the leader for its commit index (8 bytes, big-endian): how far a member must have applied to be current. */
    static final byte COMMIT_INDEX = 'C';

    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final List<Consumer<MetadataImage>> listeners = new CopyOnWriteArrayList<>();
    private final Map<String, Long> heartbeats = new ConcurrentHashMap<>();
    private final java.util.Set<String> left = ConcurrentHashMap.newKeySet();
    private final SnapshotRetentionPolicy retention = new SnapshotRetentionPolicy() {
        @Override
        public int getNumSnapshotsRetained() {
            return 2;
        }
    };
    private volatile MetadataImage image = MetadataImage.EMPTY;
    private volatile long leaderSinceMs = NOT_LEADER;
    /** Why this member's Raft log stopped taking entries (a full disk, an I/O error); null while it works. */
    private volatile Throwable logFailure;
    /** Whether Ratis initialized this state machine before: a later initialize is the member reopening in this process. */
    private volatile boolean initialized;
    /**
     * The last index the image held when the member reopened after its log failed ({@link MetadataNode}): Ratis replays
     * the log from the snapshot again, and entries up to here are in the image already, so they are not applied twice
     * and listeners never see the image go back. -1 when not reopened.
     */
    private volatile long appliedBeforeReopen = -1;
    /** Set while the member's division is closed (a late failure report of the closed one must not touch a reopened one). */
    private volatile boolean closed;
    /** Set once the member's division is being closed because its log failed; cleared when it reopens. */
    private final AtomicBoolean closingForFailure = new AtomicBoolean();

    public MetadataImage image() {
        return image;
    }

    public void addListener(Consumer<MetadataImage> listener) {
        listeners.add(listener);
    }

    /** Brokers that announced a controlled shutdown and have not heart-beaten since (on the controller). */
    java.util.Set<String> left() {
        return left;
    }

    /**
     * Last heartbeat time of each broker (monotonic, {@code Time.hiResClockMs}: the wall clock stepped back would keep a
     * dead broker alive, stepped forward end every broker's session), as seen by this node (meaningful on the
     * controller).
     */
    Map<String, Long> heartbeats() {
        return heartbeats;
    }

    /** {@link #leaderSinceMs()} of a node that does not lead (the monotonic clock may be negative). */
    static final long NOT_LEADER = Long.MIN_VALUE;

    /** When this node last became the leader (monotonic, as {@link #heartbeats()}), or {@link #NOT_LEADER}. */
    long leaderSinceMs() {
        return leaderSinceMs;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        SnapshotMd5.clean(raftStorage.getStorageDir().getStateMachineDir().toPath());
        storage.init(raftStorage);
        if (initialized) {
            reopen();
            return;
        }
        initialized = true;
        String[] logs = raftStorage.getStorageDir().getCurrentDir().list((dir, name) -> name.startsWith("log_"));
        if (storage.getLatestSnapshot() == null && (logs == null || logs.length == 0)) {
            // A member new here starts, as every member does, from the empty image at (term 0, index 0), so the
            // group's first entry is index 1. Ratis 3.3's follower takes a heartbeat that names no previous entry
            // as confirming its own index 0 (ServerImplUtils.effectiveCommitIndex), so a member that led the first
            // term alone, wrote its index 0 and died would come back committing an entry no other member has, and
            // refuse every append after it: a broker whose metadata view never moves (docs/replication.md).
            writeSnapshot(MetadataImage.EMPTY, TermIndex.valueOf(0, 0));
        }
        load();
    }

    /**
     * The member opens again in this process after its log failed and was closed ({@link MetadataNode}): Ratis replays
     * its log from the latest snapshot, as at a start, but the image is kept (it is at least as new: the log lost at
     * most entries this member had applied from memory, committed all the same) and entries up to what it held are
     * skipped, so listeners never see an older image.
     */
    private void reopen() throws IOException {
        SingleFileSnapshotInfo snapshot = storage.loadLatestSnapshot();
        // The image holds at least what was applied; if the member reopens again while still replaying, the last
        // applied index is behind the image, and the earlier bound stands.
        long applied = Math.max(appliedBeforeReopen, getLastAppliedTermIndex().getIndex());
        appliedBeforeReopen = applied;
        closed = false;
        closingForFailure.set(false);
        setLastAppliedTermIndex(snapshot == null ? TermIndex.INITIAL_VALUE : snapshot.getTermIndex());
        logFailure = null;
        LOG.info("metadata member reopens: replaying its log from {} up to the index {} its image holds",
                getLastAppliedTermIndex(), applied);
    }

    /**
     * Ratis pauses the machine before it installs a snapshot from the leader (a member back after the leader's log was
     * purged past its own), and {@link #reinitialize} then asserts it is paused: without these moves of its life cycle
     * the install failed and the member stopped for good.
     */
    @Override
    public void pause() {
        LifeCycle lifeCycle = getLifeCycle();
        if (lifeCycle.getCurrentState() == LifeCycle.State.NEW) {
            lifeCycle.transition(LifeCycle.State.STARTING);
            lifeCycle.transition(LifeCycle.State.RUNNING);
        }
        if (lifeCycle.getCurrentState() == LifeCycle.State.RUNNING) {
            lifeCycle.transition(LifeCycle.State.PAUSING);
            lifeCycle.transition(LifeCycle.State.PAUSED);
        }
    }

    @Override
    public void reinitialize() throws IOException {
        appliedBeforeReopen = -1;  // a snapshot installed from the leader replaces the image whole
        if (getLifeCycle().getCurrentState() == LifeCycle.State.PAUSED) {
            getLifeCycle().startAndTransition(this::load, IOException.class);
        } else {
            load();
        }
    }

    private void load() throws IOException {
        SingleFileSnapshotInfo snapshot = storage.loadLatestSnapshot();
        if (snapshot == null) {
            image = MetadataImage.EMPTY;
            return;
        }
        Path file = snapshot.getFile().getPath();
        MD5Hash stored = snapshot.getFile().getFileDigest();
        // A snapshot is complete once renamed (written and synced before); its MD5 file comes after and may be missing.
        if (stored != null && !stored.equals(MD5FileUtil.computeMd5ForFile(file.toFile()))) {
            throw new IOException("the metadata snapshot " + file + " does not match its MD5 file: damaged on disk."
                    + " Move it away to start from the previous snapshot, or from the other brokers' log");
        }
        image = MetadataCodec.decodeImage(Files.readAllBytes(file));
        setLastAppliedTermIndex(snapshot.getTermIndex());
        LOG.info("metadata: loaded snapshot {} ({} brokers, {} topics)", snapshot.getTermIndex(), image.brokers().size(),
                image.topics().size());
        publish();
    }

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    @Override
    public SnapshotInfo getLatestSnapshot() {
        return storage.getLatestSnapshot();
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        if (entry.getIndex() <= appliedBeforeReopen) {
            updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());  // in the image already (reopen)
            return CompletableFuture.completedFuture(Message.EMPTY);
        }
        MetadataImage next = image;
        try {
            for (MetadataRecord r : MetadataCodec.decodeRecords(entry.getStateMachineLogEntry().getLogData().toByteArray())) {
                next = next.apply(r);
            }
        } catch (IllegalArgumentException e) {
            // Unreadable entries are skipped identically on every node.
            LOG.error("metadata: skipping unreadable entry {}: {}", entry.getIndex(), e.getMessage());
        }
        image = next;
        updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        publish();
        return CompletableFuture.completedFuture(Message.EMPTY);
    }

    private void publish() {
        MetadataImage current = image;
        for (Consumer<MetadataImage> l : listeners) {
            try {
                l.accept(current);
            } catch (RuntimeException e) {
                LOG.warn("metadata listener failed", e);
            }
        }
    }

    @Override
    public long takeSnapshot() throws IOException {
        TermIndex ti = getLastAppliedTermIndex();
        if (ti == null || ti.getIndex() < 0) {
            return -1;
        }
        if (ti.getIndex() < appliedBeforeReopen) {
            // Replaying after a reopen: the image is ahead of the applied index and would be saved under the wrong one.
            SnapshotInfo latest = storage.getLatestSnapshot();
            return latest == null ? -1 : latest.getIndex();
        }
        writeSnapshot(image, ti);
        return ti.getIndex();
    }

    void writeSnapshot(MetadataImage current, TermIndex ti) throws IOException {
        Path file = storage.getSnapshotFile(ti.getTerm(), ti.getIndex()).toPath();
        // Synced and renamed, the folder too, before Ratis purges the log entries the snapshot replaces.
        AtomicFiles.replace(file, java.nio.ByteBuffer.wrap(MetadataCodec.encodeImage(current)));
        MD5Hash md5 = SnapshotMd5.save(file);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file, md5), ti));
        storage.cleanupOldSnapshots(retention);
    }

    @Override
    public CompletableFuture<Message> query(Message request) {
        byte[] bytes = request.getContent().toByteArray();
        if (bytes.length > 1 && bytes[0] == HEARTBEAT) {
            String id = new String(bytes, 1, bytes.length - 1, StandardCharsets.UTF_8);
            heartbeats.put(id, Time.SYSTEM.hiResClockMs());
            left.remove(id);
            return CompletableFuture.completedFuture(Message.EMPTY);
        }
        if (bytes.length > 1 && bytes[0] == LEAVING) {
            String id = new String(bytes, 1, bytes.length - 1, StandardCharsets.UTF_8);
            heartbeats.remove(id);
            left.add(id);
            return CompletableFuture.completedFuture(Message.EMPTY);
        }
        if (bytes.length == 1 && bytes[0] == COMMIT_INDEX) {
            return getServer().thenApply(server -> {
                try {
                    long committed = server.getDivision(getGroupId()).getRaftLog().getLastCommittedIndex();
                    return Message.valueOf(org.apache.ratis.thirdparty.com.google.protobuf.ByteString.copyFrom(
                            java.nio.ByteBuffer.allocate(Long.BYTES).putLong(committed).array()));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
        return CompletableFuture.failedFuture(new IllegalArgumentException("unknown metadata query"));
    }

    /**
     * Ratis's log of this member failed to write or sync (a full disk, an I/O error): from then on it fails every
     * entry until the member is closed and opened again ({@link MetadataNode} does, once its disk has room), so this
     * broker's image stops moving. Ratis calls this for every entry it fails; noted once. A follower is closed at once
     * ({@link FailedLogs#stopAcknowledging}: it must not acknowledge entries it could not write).
     */
    @Override
    public void notifyLogFailed(Throwable cause, LogEntryProto failedEntry) {
        if (closed) {
            return;
        }
        if (logFailure == null) {
            logFailure = cause;
            LOG.error("metadata member: writing its Raft log failed{}; this broker's metadata view stops until the member "
                            + "reopens (once its disk has room)",
                    failedEntry == null ? "" : " at index " + failedEntry.getIndex(), cause);
        }
        RaftServer server = getServer().getNow(null);
        if (server != null) {
            try {
                FailedLogs.stopAcknowledging(server.getDivision(getGroupId()), closingForFailure, "metadata member");
            } catch (IOException | RuntimeException e) {
                LOG.warn("metadata member: could not close its division after its log failed: {}", e.toString());
            }
        }
    }

    /** Why this member's Raft log failed, or null while it works. */
    public Throwable logFailure() {
        return logFailure;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        super.close();
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
        if (groupMemberId.getPeerId().equals(newLeaderId)) {
            // Both went to the previous controller meanwhile: start from "every registered broker is alive".
            heartbeats.clear();
            left.clear();
            leaderSinceMs = Time.SYSTEM.hiResClockMs();
        } else {
            leaderSinceMs = NOT_LEADER;
        }
    }
}
