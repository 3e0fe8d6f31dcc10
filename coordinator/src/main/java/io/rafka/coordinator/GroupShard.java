package io.rafka.coordinator;

import io.rafka.common.BusyException;
import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The groups of one coordinator partition that this broker leads, and the order of their writes.
 *
 * <p>Changes are applied in memory at once and written as records; nothing that depends on a change is said to
 * anyone before that change committed. Every answer is queued behind the newest write at the time it was made and
 * released in order once that write committed ({@link #afterWrites}). A write that fails unloads the shard: its
 * in-memory state may be ahead of the log, so the state is rebuilt from the log (by this broker if it still leads,
 * else by the new leader), and everything queued fails with NOT_COORDINATOR.
 *
 * <p>Writes go to the log in order, with at most {@code maxBytesInFlight} of them awaiting commit (the partition's
 * own bound, {@code partition.max.in.flight.bytes}, above which the log answers BUSY, which would unload the
 * shard); the rest wait here, and new offset commits are refused with BUSY while more than that waits.
 */
final class GroupShard {
    final int partition;
    final Map<String, ConsumerGroup> groups = new HashMap<>();
    private final CoordinatorLog log;
    private CompletableFuture<?> lastWrite = CompletableFuture.completedFuture(null);
    private final Deque<Pending> pending = new ArrayDeque<>();
    private volatile boolean failed;
    /** The Raft term this shard was loaded in and writes in ({@link #load}). */
    private long term = -1;
    private boolean checkpointing;
    /** Runs a step (of a checkpoint, after a write) on the coordinator's thread. */
    private final Consumer<Runnable> onCoordinatorThread;
    /** Records written (or replayed) since the last checkpoint: the tail a new leader would replay beyond it. */
    long recordsSinceCheckpoint;
    /** The bytes of those records: a few large ones (members subscribed to thousands of topics) replay slowly too. */
    long bytesSinceCheckpoint;
    /** The bytes of the last checkpoint this load wrote (what the live keys took then); 0 before one. */
    private long lastCheckpointBytes;
    /**
     * A checkpoint is also written once the bytes written since the last one reach this many per record of the
     * record threshold (80 MiB at 10,000), and twice what that one took: 212 members subscribed to 10,000 topics each
     * wrote well under the record threshold, and each later leader took 47-104 s to replay them, on the thread that
     * serves every group of the broker.
     */
    static final long CHECKPOINT_BYTES_PER_RECORD = 8 * 1024;
    /**
     * Where assignment versions start in this load of the partition: above every version an earlier coordinator
     * could have sent (time-based), so a heartbeat echoing one of those never counts as having seen a revocation
     * made here.
     */
    long versionBase;

    private record Pending(CompletableFuture<?> write, Runnable action, Consumer<RafkaException> onFailure) {
    }

    /** A batch not handed to the log yet, and the future its write completes. */
    private record Unsent(ByteBuffer batch, CompletableFuture<Object> written) {
    }

    private final Deque<Unsent> unsent = new ArrayDeque<>();
    private long unsentBytes;
    private long bytesInFlight;
    private final long maxBytesInFlight;
    private final long checkpointRecords;

    GroupShard(int partition, CoordinatorLog log, long checkpointRecords, long maxBytesInFlight,
               Consumer<Runnable> coordinatorThread) {
        this.partition = partition;
        this.log = log;
        this.checkpointRecords = checkpointRecords;
        this.maxBytesInFlight = maxBytesInFlight;
        this.onCoordinatorThread = coordinatorThread;
    }

    /**
     * Loads the partition's groups from its log, from its start to its committed end, as its leader in the term
     * read first: every write of this load goes to that term only (a write in a later term would rest on a state
     * that missed what another leader wrote in between).
     */
    void load(int maxBytes) {
        term = log.leaderTerm(partition);
        if (term < 0) {
            throw new RafkaException(ErrorCode.NOT_COORDINATOR, "this broker does not lead " + GroupConfig.TOPIC
                    + " partition " + partition + " (any more)");
        }
        CoordinatorLog.Chunk first = log.read(partition, 0, 0);
        long offset = first.logStartOffset();
        long end = first.logEndOffset();
        while (offset < end) {
            CoordinatorLog.Chunk chunk = log.read(partition, offset, maxBytes);
            if (chunk.logStartOffset() > offset) {
                // Segments were deleted under the read (below a complete checkpoint): what was replayed may miss the
                // tombstones that went with them. Start again from the new log start, which the checkpoint covers.
                groups.clear();
                recordsSinceCheckpoint = 0;
                bytesSinceCheckpoint = 0;
                offset = chunk.logStartOffset();
                continue;
            }
            ByteBuffer batches = chunk.batches();
            if (!batches.hasRemaining()) {
                throw new RafkaException(ErrorCode.STORAGE_ERROR, "coordinator partition " + partition
                        + ": nothing read at offset " + offset + " below its end " + end);
            }
            long next = GroupRecords.nextOffset(batches.duplicate());
            if (next <= offset) {
                // A base offset (outside the CRC) that does not move on: loading would read the same bytes forever.
                throw new RafkaException(ErrorCode.STORAGE_ERROR, "coordinator partition " + partition + ": the batches read at"
                        + " offset " + offset + " end at " + next);
            }
            bytesSinceCheckpoint += batches.remaining();
            recordsSinceCheckpoint += GroupRecords.replay(batches, groups);
            offset = next;
            end = Math.max(end, chunk.logEndOffset());
        }
        groups.values().removeIf(g -> g.members.isEmpty() && g.offsets.isEmpty() && g.groupEpoch == 0);
        // What a checkpoint of the live keys would take, about (uncompressed, so more than it would): a log that is
        // mostly live does not bring a checkpoint at every load, one that is mostly dead does.
        lastCheckpointBytes = liveBytes();
    }

    /** About the bytes of the live keys' records, uncompressed. */
    private long liveBytes() {
        long bytes = 0;
        for (ConsumerGroup g : groups.values()) {
            bytes += 64 + g.groupId.length();
            for (MemberState m : g.members.values()) {
                bytes += 128 + m.memberId.length() + m.pattern.length() + 8L * (m.assigned.size() + m.target.size());
                for (String t : m.topics) {
                    bytes += 2 + t.length();
                }
            }
            for (var e : g.offsets.entrySet()) {
                bytes += 48 + e.getKey().topic().length() + e.getValue().metadata().length();
            }
        }
        return bytes;
    }

    /**
     * Writes what the groups marked dirty (tombstones for {@code deleted}); returns at once. A shard that failed
     * writes nothing more.
     */
    void write(Collection<ConsumerGroup> changed, Collection<ConsumerGroup> deleted, long nowMs,
               Consumer<Throwable> onWriteFailure) {
        GroupRecords records = new GroupRecords(nowMs);
        changed.forEach(g -> records.addChanges(g, false));
        deleted.forEach(g -> records.addChanges(g, true));
        if (records.isEmpty() || failed) {
            return;
        }
        append(records, onWriteFailure);
        maybeCheckpoint(checkpointRecords, nowMs, onWriteFailure);
    }

    private CompletableFuture<?> append(GroupRecords records, Consumer<Throwable> onWriteFailure) {
        recordsSinceCheckpoint += records.count();
        CompletableFuture<?> last = lastWrite;
        for (ByteBuffer batch : records.build()) {
            bytesSinceCheckpoint += batch.remaining();
            CompletableFuture<Object> write = new CompletableFuture<>();
            lastWrite = write;
            last = write;
            write.whenComplete((r, e) -> {
                if (e != null) {
                    failed = true;   // at once, not when the coordinator's thread gets to it: nothing more is written
                    onWriteFailure.accept(e);
                }
            });
            unsent.add(new Unsent(batch, write));
            unsentBytes += batch.remaining();
        }
        send();
        return last;
    }

    /**
     * Hands waiting batches to the log, in order, while the bytes awaiting commit stay within the bound (one batch
     * at a time whatever its size); those of a failed shard fail instead.
     */
    private void send() {
        while (!unsent.isEmpty()) {
            Unsent next = unsent.peek();
            int size = next.batch().remaining();
            if (!failed && bytesInFlight > 0 && bytesInFlight + size > maxBytesInFlight) {
                return;
            }
            unsent.poll();
            unsentBytes -= size;
            if (failed) {
                next.written().completeExceptionally(notCoordinator());
                continue;
            }
            bytesInFlight += size;
            CompletableFuture<?> appended;
            try {
                appended = log.append(partition, term, next.batch());
            } catch (RuntimeException e) {
                appended = CompletableFuture.failedFuture(e);
            }
            appended.whenComplete((r, e) -> {
                onCoordinatorThread.accept(() -> {
                    bytesInFlight -= size;
                    send();
                });
                if (e != null) {
                    next.written().completeExceptionally(e);
                } else {
                    next.written().complete(r);
                }
            });
        }
    }

    /**
     * Refuses more offsets while more than one window of writes waits to be sent: memory for what clients send
     * faster than the partition commits stays bounded, and they are told to retry.
     */
    void requireRoomForWrites() {
        if (unsentBytes > maxBytesInFlight) {
            throw new BusyException(GroupConfig.TOPIC + " partition " + partition + " has " + unsentBytes
                    + " bytes of group records waiting to be written (bound " + maxBytesInFlight + "): retry");
        }
    }

    /**
     * Refuses a group more than {@code group.coordinator.max.groups} (POLICY_VIOLATION): a client can name any number
     * of groups, each held here until it expires, a retention after its last commit.
     */
    void requireRoomForGroup(String groupId, int maxGroups) {
        if (groups.size() >= maxGroups) {
            throw new RafkaException(ErrorCode.POLICY_VIOLATION, GroupConfig.TOPIC + " partition " + partition + " holds "
                    + groups.size() + " groups, the most group.coordinator.max.groups allows; group " + groupId
                    + " is not made (delete unused groups, or raise the limit)");
        }
    }

    /** The newest write issued (complete when everything written so far is settled, committed or failed). */
    CompletableFuture<?> lastWrite() {
        return lastWrite;
    }

    /** Keys live in this partition: what a checkpoint writes. */
    long liveRecords() {
        long n = 0;
        for (ConsumerGroup g : groups.values()) {
            n += 1 + g.members.size() + g.offsets.size();
        }
        return n;
    }

    /**
     * Writes a checkpoint when the records since the last one reach {@code threshold} and twice the live keys: every
     * live key again after a begin marker, in batches of at most 256 KiB, and, once all of them committed, an end
     * marker with the same id. Once the end marker committed, everything below the begin marker is dead (every live
     * key was written again after it; later writes only add newer values): each replica deletes those segments (the
     * broker's compaction task), so a new leader replays a bounded tail.
     */
    void maybeCheckpoint(long threshold, long nowMs, Consumer<Throwable> onWriteFailure) {
        // The thresholds first: counting the live keys walks every group, and this runs after every write.
        boolean manyBytes = bytesSinceCheckpoint >= threshold * CHECKPOINT_BYTES_PER_RECORD
                && bytesSinceCheckpoint >= 2 * lastCheckpointBytes;
        if (failed || checkpointing
                || (!manyBytes && (recordsSinceCheckpoint < threshold || recordsSinceCheckpoint < 2 * liveRecords()))) {
            return;
        }
        // Unique in the log, not counted per load: an end marker of an earlier load of this partition placed late
        // (a write handed to Raft before that load failed) must not close a begin marker of this one.
        long id = java.util.concurrent.ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        GroupRecords records = new GroupRecords(nowMs);
        records.addMarker(GroupRecords.CHECKPOINT_BEGIN, id);
        for (ConsumerGroup g : groups.values()) {
            records.addGroup(g, false);
            for (MemberState m : g.members.values()) {
                records.addMember(g, m.memberId, m);
            }
            for (var e : g.offsets.entrySet()) {
                records.addOffset(g, e.getKey(), e.getValue());
            }
        }
        checkpointing = true;
        long before = bytesSinceCheckpoint;
        CompletableFuture<?> written = append(records, onWriteFailure);
        lastCheckpointBytes = bytesSinceCheckpoint - before;
        recordsSinceCheckpoint = 0;
        bytesSinceCheckpoint = 0;
        // The end marker only once every batch of the checkpoint committed (what is below its begin is then dead);
        // a failed batch fails the shard instead, and a begin without its end is never trusted.
        written.whenComplete((r, e) -> onCoordinatorThread.accept(() -> {
            checkpointing = false;
            if (e == null && !failed) {
                GroupRecords end = new GroupRecords(nowMs);
                end.addMarker(GroupRecords.CHECKPOINT_END, id);
                append(end, onWriteFailure);
            }
        }));
    }

    /**
     * Runs {@code action} once every write made so far committed, in the order actions were queued; if one of
     * them fails, {@code onFailure} instead. Completion is noticed by {@link #drain}, on the coordinator's thread.
     */
    void afterWrites(Runnable action, Consumer<RafkaException> onFailure, Runnable drainLater) {
        CompletableFuture<?> write = lastWrite;
        pending.add(new Pending(write, action, onFailure));
        if (write.isDone()) {
            drain();
        } else {
            write.whenComplete((r, e) -> drainLater.run());
        }
    }

    /** Runs the queued actions whose writes are done, in order. */
    void drain() {
        while (!pending.isEmpty() && pending.peek().write().isDone()) {
            Pending p = pending.poll();
            if (p.write().isCompletedExceptionally() || failed) {
                p.onFailure().accept(notCoordinator());
            } else {
                p.action().run();
            }
        }
    }

    /** Unloads: every queued action fails; nothing more is written. */
    void fail() {
        failed = true;
        send();
        while (!pending.isEmpty()) {
            pending.poll().onFailure().accept(notCoordinator());
        }
    }

    RafkaException notCoordinator() {
        return new RafkaException(ErrorCode.NOT_COORDINATOR, "this broker no longer coordinates the groups of "
                + GroupConfig.TOPIC + " partition " + partition + ": ask FindCoordinator again");
    }
}
