package io.rafka.raft.internal;

import io.rafka.common.TopicPartition;
import io.rafka.common.UnknownTopicOrPartitionException;
import io.rafka.raft.PartitionSpec;
import org.apache.ratis.protocol.RaftGroupId;

import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The partition replicas a node hosts, found by partition (callers) or by Raft group (Ratis). A replica is
 * registered before its group starts, so Ratis finds it when it builds the group's state machine.
 * Thread-safe.
 */
public final class ReplicaRegistry {
    /**
     * Whether a replica's Raft division is open: OPEN (it replicates and may lead), HIBERNATING (an idle leader
     * asked its group to close, or the group applied that; appends wait), HIBERNATED (closed on this node;
     * reads are served from the frozen log, an append wakes the group).
     */
    public enum Lifecycle { OPEN, HIBERNATING, HIBERNATED }

    /** A partition replica hosted here. */
    public static final class Replica {
        private volatile PartitionSpec spec;
        private final RaftGroupId groupId;
        /** Bytes of appends submitted but not yet committed or failed (bounded per partition). */
        public final AtomicLong inFlightBytes = new AtomicLong();
        private volatile PartitionStateMachine stateMachine;
        /** Appends waiting to be handed to Ratis as few entries as possible (group commit). */
        final AppendQueue appends = new AppendQueue();
        /** Guards the lifecycle fields below and their moves ({@link Hibernation}). */
        final Object lifecycleLock = new Object();
        private volatile Lifecycle lifecycle = Lifecycle.OPEN;
        /** What a hibernated replica froze at; null while its division is open. */
        private volatile HibernationFiles.Frozen frozen;
        /** When this replica last took an append or opened (System.nanoTime). */
        volatile long lastActivityNanos = System.nanoTime();
        /** The topic's log settings as last applied here (null: the node's defaults). */
        private volatile io.rafka.log.LogConfig logConfig;
        /** The replicas changed since the group's members last matched them (a reassignment under way). */
        public volatile boolean membershipChangePending;
        /**
         * Joined a group that runs elsewhere (a reassignment, a wiped replica): its elections are paused until it
         * hears from a leader ({@link ReplicaGroups#create}).
         */
        public volatile boolean electionsPausedUntilLed;
        /** Orders appends that wait for a wake-up ({@link #waitingAppends}). */
        private final Object appendOrder = new Object();
        /** Completes once the last append that waited for a wake-up was handed to Raft; done when none waits. */
        private CompletableFuture<Void> waitingAppends = CompletableFuture.completedFuture(null);
        /** When the lifecycle last changed (System.nanoTime). */
        volatile long lifecycleSinceNanos = System.nanoTime();
        /** When the hibernation tick first found this open replica without a Raft division (0: it has one). */
        volatile long missingSinceNanos;
        /** When this replica last hibernated (System.nanoTime), and how soon a wake-up after it counts as thrashing. */
        volatile long hibernatedAtNanos;
        volatile long rewakeWindowNanos;
        /** Its idle threshold is the node's times this: doubled each time it is woken soon after hibernating. */
        volatile int idleFactor = 1;
        /** When the hibernation tick last saw this open replica lead or know its leader (System.nanoTime). */
        volatile long leaderSeenNanos = System.nanoTime();
        /** When the hibernation tick first saw this replica unservable by its known leader (0: not; {@link Hibernation}). */
        volatile long unservedSinceNanos;
        /** Whether a heal of this replica as one that has applied nothing runs ({@link Hibernation}). */
        final java.util.concurrent.atomic.AtomicBoolean unservedHeal = new java.util.concurrent.atomic.AtomicBoolean();
        /** When {@link Hibernation} last opened this group's peers to heal it (System.nanoTime). */
        volatile long lastHealNanos;
        /** When this damaged replica, leading, asked to hand its leadership over before its reopen (System.nanoTime; 0: not). */
        volatile long repairHandOverNanos;
        /**
         * When Ratis's log of this replica last failed to write (System.nanoTime; 0: never): a full disk or an I/O
         * error. The division is reopened after it, and a reopened division fails again while the cause lasts.
         */
        public volatile long logFailedNanos;
        /** Whether this replica's election stopped for good ({@link Hibernation}'s checks). */
        final io.rafka.raft.StoppedElections stoppedElections = new io.rafka.raft.StoppedElections();
        /** When {@link Hibernation} last opened this division again after its log failed (System.nanoTime; 0: never). */
        volatile long failedLogReopenedNanos;
        /** How many failures of its log in a row that reopen followed, less one ({@link Hibernation}'s back-off). */
        volatile int logFailuresInARow;
        /** When {@link Hibernation} last said this replica waits for disk space to reopen (System.nanoTime; 0: never). */
        volatile long roomWarnedNanos;
        /** The offset of the last damaged batch a read reported here ({@link LogScrubber#readBackDamaged}); -1 if none. */
        volatile long damageReportedAt = -1;
        /** While HIBERNATING: completes once the division is closed (or hibernation was called off). */
        CompletableFuture<Void> closing;
        /** While a wake-up runs or waits its turn: completes once the group has a leader again (set under lifecycleLock). */
        volatile CompletableFuture<Void> waking;
        /** When an append last asked for the wake-up under way or waiting (System.nanoTime). */
        volatile long wakeAskedNanos;
        /** The log of a hibernated replica, opened read-only while reads come. */
        final FrozenLog frozenLog = new FrozenLog();
        /**
         * Set (under {@link #lifecycleLock}) once the replica is being removed: a hibernation under way does not close
         * it (its removal deletes the open division's storage), and it is not opened again.
         */
        boolean removed;

        Replica(PartitionSpec spec, RaftGroupId groupId) {
            this.spec = spec;
            this.groupId = groupId;
        }

        public PartitionSpec spec() {
            return spec;
        }

        public void spec(PartitionSpec spec) {
            this.spec = spec;
        }

        public RaftGroupId groupId() {
            return groupId;
        }

        public TopicPartition topicPartition() {
            return spec.topicPartition();
        }

        /** The state machine once Ratis has built it and its log is open; null before. */
        public PartitionStateMachine runningStateMachine() {
            PartitionStateMachine sm = stateMachine;
            return sm == null || sm.log() == null ? null : sm;
        }

        public io.rafka.log.LogConfig logConfig() {
            return logConfig;
        }

        public void logConfig(io.rafka.log.LogConfig logConfig) {
            this.logConfig = logConfig;
        }

        public Object appendOrder() {
            return appendOrder;
        }

        /** Caller holds {@link #appendOrder()}. */
        public CompletableFuture<Void> waitingAppends() {
            return waitingAppends;
        }

        /** Caller holds {@link #appendOrder()}. */
        public void waitingAppends(CompletableFuture<Void> last) {
            this.waitingAppends = last;
        }

        public FrozenLog frozenLog() {
            return frozenLog;
        }

        public Lifecycle lifecycle() {
            return lifecycle;
        }

        /** Frozen state while hibernated, else null. */
        public HibernationFiles.Frozen frozen() {
            return frozen;
        }

        /** Caller holds {@link #lifecycleLock}. */
        void lifecycle(Lifecycle lifecycle, HibernationFiles.Frozen frozen) {
            if (this.lifecycle != lifecycle) {
                lifecycleSinceNanos = System.nanoTime();
            }
            this.lifecycle = lifecycle;
            this.frozen = frozen;
            if (lifecycle == Lifecycle.HIBERNATED) {
                frozenLog.unseal();  // the state machine and its log are closed
            }
        }

        public PartitionStateMachine stateMachine() {
            return stateMachine;
        }

        public void stateMachine(PartitionStateMachine sm) {
            this.stateMachine = sm;
        }
    }

    private final String nodeId;
    private final Map<RaftGroupId, Replica> byGroup = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Replica> byPartition = new ConcurrentHashMap<>();

    public ReplicaRegistry(String nodeId) {
        this.nodeId = nodeId;
    }

    /** The Raft group of a partition: derived from the topic id (not the name) so a re-created topic gets new groups. */
    public static RaftGroupId groupId(UUID topicId, int partition) {
        return RaftGroupId.valueOf(UUID.nameUUIDFromBytes((topicId + "/" + partition).getBytes(StandardCharsets.UTF_8)));
    }

    /** Registers a replica of {@code spec}, or returns the one already registered for its group. */
    public Replica register(PartitionSpec spec) {
        return register(spec, null);
    }

    /**
     * Registers a replica of {@code spec}, hibernated at {@code frozen} if that is not null (so it is never seen
     * open before it is marked so), or returns the one already registered for its group.
     */
    public Replica register(PartitionSpec spec, HibernationFiles.Frozen frozen) {
        RaftGroupId gid = groupId(spec.topicId(), spec.topicPartition().partition());
        Replica replica = byGroup.computeIfAbsent(gid, g -> {
            Replica r = new Replica(spec, g);
            if (frozen != null) {
                r.lifecycle(Lifecycle.HIBERNATED, frozen);
            }
            return r;
        });
        byPartition.put(spec.topicPartition(), replica);
        return replica;
    }

    /** Forgets {@code replica}, if it is still the one registered. */
    public void forget(Replica replica) {
        byPartition.remove(replica.topicPartition(), replica);
        byGroup.remove(replica.groupId, replica);
    }

    /** Forgets the replica of {@code tp}; returns it, or null if none was registered. */
    public Replica remove(TopicPartition tp) {
        Replica replica = byPartition.remove(tp);
        if (replica != null) {
            byGroup.remove(replica.groupId, replica);
        }
        return replica;
    }

    public Replica get(TopicPartition tp) {
        return byPartition.get(tp);
    }

    public Replica get(RaftGroupId groupId) {
        return byGroup.get(groupId);
    }

    /** The replica of {@code tp}; UNKNOWN_TOPIC_OR_PARTITION if it is not hosted here. */
    public Replica require(TopicPartition tp) {
        Replica replica = byPartition.get(tp);
        if (replica == null) {
            throw notHosted(tp);
        }
        return replica;
    }

    /** The running state machine of {@code tp}; UNKNOWN_TOPIC_OR_PARTITION if it is not hosted or not started. */
    public PartitionStateMachine requireRunning(TopicPartition tp) {
        Replica replica = byPartition.get(tp);
        PartitionStateMachine sm = replica == null ? null : replica.runningStateMachine();
        if (sm == null) {
            throw notHosted(tp);
        }
        return sm;
    }

    public UnknownTopicOrPartitionException notHosted(TopicPartition tp) {
        return new UnknownTopicOrPartitionException("partition " + tp + " is not hosted on node " + nodeId);
    }

    public boolean contains(TopicPartition tp) {
        return byPartition.containsKey(tp);
    }

    public Set<TopicPartition> partitions() {
        return Set.copyOf(byPartition.keySet());
    }

    public Collection<Replica> replicas() {
        return byPartition.values();
    }

    public int size() {
        return byGroup.size();
    }
}
