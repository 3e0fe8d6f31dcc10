package io.rafka.raft.internal;

import io.rafka.common.TopicPartition;
import io.rafka.raft.PartitionSpec;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.LeaderElectionManagementRequest;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.exceptions.AlreadyExistsException;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Starts and stops the Raft groups of the partition replicas hosted on a node: records the replica
 * ({@link PartitionMetadataFile}, {@link ReplicaRegistry}) before its group starts, so Ratis finds it when it
 * builds the group's state machine, and forgets it again if the start fails. Thread-safe.
 */
public final class ReplicaGroups {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ReplicaGroups.class);
    /** How long after a removal that found no division it is asked again (a wake-up may have been opening it). */
    private static final long REMOVE_AGAIN_MS = 1_000;
    private final LocalServer local;
    private final ReplicaRegistry registry;
    private final Path dataDir;
    private final String nodeId;
    /** Where divisions of removed replicas close (several side by side). */
    private final Executor closer;
    /** Told the peers of every group started here (the leader failure detector watches them). */
    private final Consumer<List<RaftPeer>> onPeers;
    /**
     * Removals still under way, by partition: a replica of the same partition (a topic deleted and made again at once)
     * starts only after its folder, which has the same name, is gone; otherwise the new replica would open the old
     * one's segments as its own, and the old one's deletion would then delete the new one's records.
     */
    private final Map<TopicPartition, CompletableFuture<Void>> removals = new ConcurrentHashMap<>();

    public ReplicaGroups(LocalServer local, ReplicaRegistry registry, Path dataDir, String nodeId, Executor closer,
                         Consumer<List<RaftPeer>> onPeers) {
        this.local = local;
        this.registry = registry;
        this.dataDir = dataDir;
        this.nodeId = nodeId;
        this.closer = closer;
        this.onPeers = onPeers;
    }

    /** Starts hosting a replica of {@code spec} and joins its group; succeeds if it is already hosted. */
    public CompletableFuture<Void> create(PartitionSpec spec) {
        return create(spec, false);
    }

    /**
     * {@link #create(PartitionSpec)}; with {@code joining} (the group runs elsewhere already: a reassignment gave this
     * broker a replica, or its data was lost) the new member does not stand for election until it has heard from
     * a leader ({@link #resumeElectionsOnceLed}). It starts empty with the new replica list as its group; where the
     * members it joins with have not been added by the leader yet (a list made before the previous change was
     * done), empty new members could otherwise elect one of them, and the partition would have a second, empty
     * group under its id. A member never led has nothing a group needs from a leader.
     */
    public CompletableFuture<Void> create(PartitionSpec spec, boolean joining) {
        TopicPartition tp = spec.topicPartition();
        CompletableFuture<Void> removing = removals.get(tp);
        if (removing != null) {
            return removing.handle((done, failed) -> null).thenCompose(v -> create(spec));
        }
        RaftGroupId gid = ReplicaRegistry.groupId(spec.topicId(), tp.partition());
        if (spec.replicas().stream().noneMatch(a -> a.id().equals(nodeId))) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(
                    "node " + nodeId + " is not a replica of " + tp + ": " + spec.replicas()));
        }
        ReplicaRegistry.Replica existing = registry.get(tp);
        if (existing != null && !existing.groupId().equals(gid)) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                    tp + " is already hosted here for another topic id (" + existing.spec().topicId() + ")"));
        }
        try {
            if (existing == null) {
                clearLeftover(spec);
                // A Raft folder left set aside by a deletion that did not finish (a crash) is not this new replica's.
                new HibernationFiles(dataDir).deleteSetAside(gid);
            }
            PartitionMetadataFile.write(dataDir, spec);
        } catch (IOException | UncheckedIOException e) {
            return CompletableFuture.failedFuture(e);
        }
        ReplicaRegistry.Replica replica = registry.register(spec);
        // All replicas get the same Ratis priority: Ratis hands leadership only to a peer of the highest
        // priority, which would forbid moving it off a preferred leader for a controlled shutdown. The preferred
        // (first) replica gets leadership back through LeadershipMover.electPreferred instead.
        List<RaftPeer> peers = spec.replicas().stream().map(MembershipChanger::peer).toList();
        onPeers.accept(peers);
        GroupManagementRequest add = GroupManagementRequest.newAdd(local.clientId(), local.server().getId(),
                local.nextCallId(), RaftGroup.valueOf(gid, peers), true);
        boolean pause = joining && existing == null;
        return local.server().groupManagementAsync(add).handle((reply, error) -> {
            Throwable cause = failure(reply, error);
            if (cause != null && !(cause instanceof AlreadyExistsException)) {
                // Forget it, so that the next attempt adds it again rather than taking it for hosted.
                registry.forget(replica);
                throw new CompletionException(new IOException("adding " + tp + " on " + nodeId + " failed", cause));
            }
            return cause == null && pause;
        }).thenCompose(paused -> paused ? pauseElections(replica) : CompletableFuture.completedFuture(null));
    }

    private CompletableFuture<Void> pauseElections(ReplicaRegistry.Replica replica) {
        replica.electionsPausedUntilLed = true;
        return local.server().leaderElectionManagementAsync(LeaderElectionManagementRequest.newPause(local.clientId(),
                local.server().getId(), replica.groupId(), local.nextCallId())).handle((reply, error) -> {
                    Throwable cause = failure(reply, error);
                    if (cause != null) {
                        replica.electionsPausedUntilLed = false;
                        LOG.warn("{}: pausing the elections of the joining replica failed: {}", replica.spec().topicPartition(),
                                cause.toString());
                    }
                    return null;
                });
    }

    /**
     * Lets joining replicas ({@link #create(PartitionSpec, boolean)}) stand for election again once they have heard
     * from a leader. Called periodically.
     */
    public void resumeElectionsOnceLed() {
        for (ReplicaRegistry.Replica replica : registry.replicas()) {
            if (!replica.electionsPausedUntilLed) {
                continue;
            }
            try {
                if (local.server().getDivision(replica.groupId()).getInfo().getLeaderId() == null) {
                    continue;
                }
            } catch (IOException | RuntimeException e) {
                continue;  // not open here at the moment
            }
            replica.electionsPausedUntilLed = false;
            local.server().leaderElectionManagementAsync(LeaderElectionManagementRequest.newResume(local.clientId(),
                    local.server().getId(), replica.groupId(), local.nextCallId())).whenComplete((reply, error) -> {
                        Throwable cause = failure(reply, error);
                        if (cause != null) {
                            replica.electionsPausedUntilLed = true;  // tried again on the next call
                        }
                    });
        }
    }

    /**
     * Starts hosting a replica of a partition nobody has written yet, hibernated: its folder, metadata file and
     * frozen (empty) state, and no Raft group until the first write opens it ({@link Hibernation}).
     */
    public CompletableFuture<Void> createHibernated(PartitionSpec spec, HibernationFiles files) {
        TopicPartition tp = spec.topicPartition();
        CompletableFuture<Void> removing = removals.get(tp);
        if (removing != null) {
            return removing.handle((done, failed) -> null).thenCompose(v -> createHibernated(spec, files));
        }
        if (spec.replicas().stream().noneMatch(a -> a.id().equals(nodeId))) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(
                    "node " + nodeId + " is not a replica of " + tp + ": " + spec.replicas()));
        }
        try {
            if (registry.get(tp) == null) {
                clearLeftover(spec);
            }
            PartitionMetadataFile.write(dataDir, spec);
            files.write(tp, HibernationFiles.Frozen.empty());
        } catch (IOException | UncheckedIOException e) {
            return CompletableFuture.failedFuture(e);
        }
        registry.register(spec, HibernationFiles.Frozen.empty());
        onPeers.accept(spec.replicas().stream().map(MembershipChanger::peer).toList());
        return CompletableFuture.completedFuture(null);
    }

    /**
     * Deletes the partition's folder if it holds a replica of another topic of the same name (a deleted one whose
     * removal failed, or was cut short by a stop): the new topic's replica must not open the old records as its own.
     */
    private void clearLeftover(PartitionSpec spec) throws IOException {
        TopicPartition tp = spec.topicPartition();
        java.util.Optional<java.util.UUID> old = PartitionMetadataFile.topicId(dataDir, tp);
        if (old.isPresent() && !old.get().equals(spec.topicId())) {
            LOG.warn("{}: deleting the folder left by topic id {} before the replica of topic id {} starts", tp, old.get(),
                    spec.topicId());
            deleteTree(dataDir.resolve(tp.dirName()));
        }
    }

    /** Stops hosting a replica and deletes its Raft storage and, if asked, its log folder. */
    public CompletableFuture<Void> remove(TopicPartition tp, boolean deleteData, HibernationFiles files) {
        // Registered before the replica leaves the registry, so no create of the partition starts in between.
        CompletableFuture<Void> gate = new CompletableFuture<>();
        removals.put(tp, gate);
        CompletableFuture<Void> removed;
        try {
            removed = removeNow(tp, deleteData, files);
        } catch (RuntimeException e) {
            removed = CompletableFuture.failedFuture(e);
        }
        removed.whenComplete((v, e) -> {
            removals.remove(tp, gate);
            gate.complete(null);
        });
        return removed;
    }

    private CompletableFuture<Void> removeNow(TopicPartition tp, boolean deleteData, HibernationFiles files) {
        ReplicaRegistry.Replica replica = registry.remove(tp);
        if (replica == null) {
            return CompletableFuture.completedFuture(null);
        }
        replica.frozenLog().seal();  // a read racing the removal must not open (and so re-create) the folder
        ReplicaRegistry.Lifecycle lifecycle;
        synchronized (replica.lifecycleLock) {
            // From here no hibernation closes it (which would move its open storage aside, or write a marker into
            // a folder deleted meanwhile) and no wake-up opens it: what it is now is what gets deleted.
            replica.removed = true;
            lifecycle = replica.lifecycle();
        }
        if (lifecycle == ReplicaRegistry.Lifecycle.HIBERNATED) {
            try {
                if (deleteData) {
                    files.deleteHiddenGroup(replica.groupId());
                    deleteTree(dataDir.resolve(tp.dirName()));
                }
                return CompletableFuture.completedFuture(null);
            } catch (IOException | UncheckedIOException e) {
                return CompletableFuture.failedFuture(e);
            }
        }
        if (deleteData && replica.stateMachine() != null) {
            replica.stateMachine().deleteOnClose();
        }
        GroupManagementRequest remove = GroupManagementRequest.newRemove(local.clientId(), local.server().getId(),
                local.nextCallId(), replica.groupId(), deleteData, false);
        // Ratis closes the division on the calling thread: off it, so a caller can remove many at once.
        CompletableFuture<RaftClientReply> closed;
        try {
            closed = CompletableFuture.supplyAsync(() -> local.server().groupManagementAsync(remove), closer)
                    .thenCompose(f -> f);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new IOException("removing " + tp + " failed: node " + nodeId + " is closing"));
        }
        CompletableFuture<Void> removed = closed.handle((reply, error) -> {
            Throwable cause = failure(reply, error);
            if (cause != null && !(cause instanceof GroupMismatchException)) {
                throw new CompletionException(new IOException("removing " + tp + " failed", cause));
            }
            if (cause != null) {
                // Not open here: unless a wake-up was opening it just now and Ratis had yet to list it. Asked again
                // once that has had time to finish, so such a division is not left open with nobody claiming it.
                removeAgainLater(replica.groupId(), deleteData, tp, files);
            }
            if (deleteData) {
                deleteTree(dataDir.resolve(tp.dirName()));
            }
            return null;
        });
        return removed;
    }

    private void removeAgainLater(RaftGroupId gid, boolean deleteData, TopicPartition tp, HibernationFiles files) {
        try {
            CompletableFuture.delayedExecutor(REMOVE_AGAIN_MS, TimeUnit.MILLISECONDS, closer).execute(() -> {
                Throwable cause;
                try {
                    RaftClientReply reply = local.server().groupManagement(GroupManagementRequest.newRemove(
                            local.clientId(), local.server().getId(), local.nextCallId(), gid, deleteData, false));
                    if (reply.isSuccess()) {
                        LOG.info("{}: removed a division that was opening while the replica was removed", tp);
                        return;
                    }
                    cause = failure(reply, null);
                } catch (IOException | RuntimeException e) {
                    cause = RaftErrors.unwrap(e);
                }
                LOG.debug("{}: nothing left to remove: {}", tp, String.valueOf(cause));
                if (deleteData && cause instanceof GroupMismatchException) {
                    // Still not open (no open can start now: the replica is marked removed): a division that was
                    // closed when the removal came (its log failed and it waits for disk space, or its start
                    // failed, or the node started on a full disk and set it aside) leaves its Raft storage, which
                    // Ratis would load at the next start with no partition claiming it (the broker would not start).
                    deleteTree(files.activeGroupDir(gid));
                    try {
                        files.deleteSetAside(gid);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            // the node is closing
        }
    }

    private static Throwable failure(RaftClientReply reply, Throwable error) {
        return RaftErrors.unwrap(error != null ? error : reply.isSuccess() ? null : reply.getException());
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }
}
