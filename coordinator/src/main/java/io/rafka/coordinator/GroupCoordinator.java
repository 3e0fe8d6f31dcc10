package io.rafka.coordinator;

import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The consumer-group coordinator of one broker: it serves the groups whose coordinator partition (of
 * {@code __consumer_offsets}) this broker leads. Everything runs on one thread of its own, so group state needs no
 * locks; callers get futures (or, for member streams, calls on their {@link MemberChannel}).
 *
 * <p>Durable: members with their epochs, targets and owned partitions, group epochs, committed offsets, written to
 * the coordinator partition before anything that depends on them is answered. Soft (rebuilt or restarted on a
 * new leader): heartbeat times, stream state. A new leader loads the partition's records and gives every loaded
 * member its session timeout to come back.
 */
public final class GroupCoordinator implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCoordinator.class);
    private static final long TICK_MS = 100;
    private static final int LOAD_READ_BYTES = 1 << 20;
    static final int MAX_GROUP_ID_LENGTH = 255;

    final GroupConfig config;
    final CoordinatorLog log;
    final Time time;
    private final ScheduledThreadPoolExecutor thread;
    final Map<Integer, GroupShard> shards = new HashMap<>();
    private final Set<Integer> led = new HashSet<>();
    /** Every existing topic with its partition count, as of the newest metadata. */
    volatile Map<String, Integer> topics = Map.of();
    /** Every existing topic's id, as of the newest metadata (coordinator thread only). */
    private Map<String, String> topicIds = Map.of();
    /** Whether the broker told the topics yet (from a current metadata view); no partition is loaded before. */
    private boolean topicsKnown;
    final Membership membership;
    /** Whether a tick waits in the queue (one at most, however long the thread is busy). */
    private final java.util.concurrent.atomic.AtomicBoolean tickQueued = new java.util.concurrent.atomic.AtomicBoolean();
    final GroupMetrics metrics = new GroupMetrics();

    public GroupCoordinator(GroupConfig config, CoordinatorLog log, Time time) {
        this.config = config;
        this.log = log;
        this.time = time;
        this.membership = new Membership(this);
        this.thread = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "rafka-group-coordinator");
            t.setDaemon(true);
            return t;
        });
        // Retries scheduled for later (a load, a reload barrier) must not run once the coordinator closed.
        thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        // The tick goes behind what is queued when it is due: after the thread was busy for a while (a long load), the
        // heartbeats that arrived meanwhile run first, or the tick would remove members whose heartbeats wait behind it.
        thread.scheduleWithFixedDelay(() -> {
            if (tickQueued.compareAndSet(false, true)) {
                post(() -> {
                    tickQueued.set(false);
                    membership.tick();
                });
            }
        }, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }

    public GroupConfig config() {
        return config;
    }

    /**
     * Tasks waiting for the coordinator's thread (its periodic tick included): requests, stream events and write
     * completions. Each member stream has at most one heartbeat here at a time (the API reads the next one only once
     * this one ran), so a long queue means the thread is slow, not that a client floods it.
     */
    public int queuedTasks() {
        return thread.getQueue().size();
    }

    /** Counters and gauges for the broker's metrics endpoint. */
    public GroupMetrics metrics() {
        return metrics;
    }

    /**
     * This broker now leads coordinator partition {@code partition}: load its groups and serve them (once the
     * topics are known: targets and offset clean-up depend on them).
     */
    public void onLeader(int partition) {
        post(() -> {
            led.add(partition);
            if (topicsKnown) {
                load(partition);
            }
        });
    }

    /** This broker stopped leading {@code partition}: its groups move to the new leader. */
    public void onResign(int partition) {
        post(() -> {
            led.remove(partition);
            unload(partition, "leadership moved");
        });
    }

    /** The topics changed (created, deleted, partitions added): rebalance the groups that subscribe to them. */
    public void onTopicsChanged(Map<String, Integer> partitionCounts) {
        onTopicsChanged(partitionCounts, Map.of());
    }

    /**
     * {@link #onTopicsChanged(Map)} with each topic's id: a topic whose id changed was deleted and created again
     * under its name (both maybe within one metadata change), so its offsets, which belonged to the deleted topic,
     * go as with any deleted topic's.
     */
    public void onTopicsChanged(Map<String, Integer> partitionCounts, Map<String, String> ids) {
        Map<String, Integer> copy = Map.copyOf(partitionCounts);
        Map<String, String> idsCopy = Map.copyOf(ids);
        post(() -> {
            if (!topicsKnown) {
                topics = copy;
                topicIds = idsCopy;
                topicsKnown = true;
                for (int partition : List.copyOf(led)) {
                    load(partition);
                }
            } else if (!copy.equals(topics) || !idsCopy.equals(topicIds)) {
                Set<String> deleted = new HashSet<>(topics.keySet());
                deleted.removeAll(copy.keySet());
                topicIds.forEach((topic, id) -> {
                    String now = idsCopy.get(topic);
                    if (now != null && !now.equals(id)) {
                        deleted.add(topic);   // created again
                    }
                });
                Set<String> changed = new HashSet<>(deleted);
                copy.forEach((topic, count) -> {
                    if (!count.equals(topics.get(topic))) {
                        changed.add(topic);
                    }
                });
                topics = copy;
                topicIds = idsCopy;
                membership.topicsChanged(changed, deleted);
            }
        });
    }

    /** The coordinator partition of a group: by the partitions {@value GroupConfig#TOPIC} has, once it exists. */
    public int partitionFor(String groupId) {
        Integer count = topics.get(GroupConfig.TOPIC);
        return Math.floorMod(groupId.hashCode(), count != null ? count : config.coordinatorPartitions());
    }

    /** Opens a member's stream; its requests go through the returned session. */
    public MemberSession openSession(String host, MemberChannel channel) {
        return new MemberSession(this, host, channel);
    }

    private void load(int partition) {
        if (shards.containsKey(partition)) {
            return;
        }
        long start = time.milliseconds();
        GroupShard shard = new GroupShard(partition, log, config.checkpointRecords(), config.maxWriteBytesInFlight(),
                this::post);
        try {
            shard.load(LOAD_READ_BYTES);
        } catch (RuntimeException e) {
            LOG.warn("loading the groups of {} partition {} failed (retried while this broker leads it): {}",
                    GroupConfig.TOPIC, partition, e.toString());
            thread.schedule(() -> run(() -> {
                if (led.contains(partition)) {
                    load(partition);
                }
            }), 500, TimeUnit.MILLISECONDS);
            return;
        }
        shard.versionBase = nextVersionBase();
        shards.put(partition, shard);
        membership.loaded(shard);
        LOG.info("coordinating {} groups of {} partition {} (loaded in {} ms)", shard.groups.size(), GroupConfig.TOPIC,
                partition, time.milliseconds() - start);
    }

    private long lastVersionBase;

    /** A base for assignment versions above every earlier one, across loads and broker restarts (clock-based). */
    private long nextVersionBase() {
        lastVersionBase = Math.max(time.milliseconds() << 20, lastVersionBase + (1L << 20));
        return lastVersionBase;
    }

    private void unload(int partition, String why) {
        GroupShard shard = shards.remove(partition);
        if (shard != null) {
            shard.fail();
            membership.unloaded(shard);
            LOG.info("no longer coordinating the groups of {} partition {}: {}", GroupConfig.TOPIC, partition, why);
        }
    }

    /**
     * A write failed: the shard's memory may be ahead of its log; rebuild it from the log while this broker leads
     * the partition, once every write it issued is settled (a later write may still commit after the failed one).
     */
    void writeFailed(GroupShard shard, Throwable error) {
        post(() -> {
            if (shards.get(shard.partition) != shard) {
                return;
            }
            unload(shard.partition, "a write failed: " + error);
            shard.lastWrite().whenComplete((r, e) -> post(() -> reloadAfterBarrier(shard.partition, 0)));
        });
    }

    private static final long BARRIER_RETRY_MS = 500;
    private static final long BARRIER_RETRY_MAX_MS = 5_000;

    /**
     * Reloads a partition after a failed write, once a {@link GroupRecords#BARRIER} written now committed. A write
     * that failed by timing out is settled for the shard but may still wait in the partition's queue or Raft log,
     * and commit later in the same term: a load before it would serve, and write on top of, a state without it.
     * Raft commits in order, so once the barrier committed every earlier write has committed or never will.
     */
    private void reloadAfterBarrier(int partition, int failures) {
        if (!led.contains(partition) || shards.containsKey(partition)) {
            return;
        }
        long term = log.leaderTerm(partition);
        CompletableFuture<?> barrier;
        try {
            barrier = term < 0
                    ? CompletableFuture.failedFuture(new RafkaException(ErrorCode.NOT_COORDINATOR, "not the leader"))
                    : log.append(partition, term, GroupRecords.barrier(time.milliseconds()));
        } catch (RuntimeException e) {
            barrier = CompletableFuture.failedFuture(e);
        }
        barrier.whenComplete((r, e) -> post(() -> {
            if (!led.contains(partition) || shards.containsKey(partition)) {
                return;   // moved away, or loaded meanwhile in a new term (onLeader: that needs no barrier)
            }
            if (e == null && log.leaderTerm(partition) == term) {
                load(partition);
                return;
            }
            // Failed (no majority: refused at once), or the term moved on under the barrier: only a barrier of the
            // term that loads vouches for it. Again, backing off while the partition cannot commit.
            long delayMs = Math.min(BARRIER_RETRY_MAX_MS, BARRIER_RETRY_MS << Math.min(failures, 4));
            String why = e != null ? e.toString() : "the term moved on";
            if (failures == 0) {
                LOG.warn("reloading the groups of {} partition {} waits for earlier writes to settle (retried while this"
                        + " broker leads it): {}", GroupConfig.TOPIC, partition, why);
            } else {
                LOG.debug("reload barrier of {} partition {} again in {} ms: {}", GroupConfig.TOPIC, partition, delayMs, why);
            }
            thread.schedule(() -> run(() -> reloadAfterBarrier(partition, failures + 1)), delayMs, TimeUnit.MILLISECONDS);
        }));
    }

    /** The shard serving {@code groupId}, or the error telling the caller where to go. */
    GroupShard shardFor(String groupId) {
        validateGroupId(groupId);
        int partition = partitionFor(groupId);
        GroupShard shard = shards.get(partition);
        if (shard != null) {
            return shard;
        }
        if (led.contains(partition)) {
            throw new RafkaException(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, "the coordinator of group " + groupId
                    + " is loading " + GroupConfig.TOPIC + " partition " + partition);
        }
        throw new RafkaException(ErrorCode.NOT_COORDINATOR, "this broker does not coordinate group " + groupId
                + " (" + GroupConfig.TOPIC + " partition " + partition + "): ask FindCoordinator");
    }

    static void validateGroupId(String groupId) {
        if (groupId == null || groupId.isEmpty() || groupId.length() > MAX_GROUP_ID_LENGTH) {
            throw new RafkaException(ErrorCode.INVALID_GROUP_ID, "a group id must be 1 to " + MAX_GROUP_ID_LENGTH
                    + " characters long" + (groupId == null || groupId.isEmpty() ? "; it is empty" : ""));
        }
    }

    /** Commits offsets for a member (or, with no member id and epoch -1, for a group without members). */
    public CompletableFuture<List<GroupTypes.PartitionResult>> commit(String groupId, String memberId, int memberEpoch,
                                                                      List<GroupTypes.OffsetCommit> offsets) {
        return call(groupId, shard -> new Offsets(this, shard).commit(groupId, memberId, memberEpoch, offsets));
    }

    /** Committed offsets of {@code partitions} (all when empty); -1 where nothing is committed. */
    public CompletableFuture<Map<TopicPartition, CommittedOffset>> fetchOffsets(String groupId,
                                                                               Collection<TopicPartition> partitions) {
        return call(groupId, shard -> answer(shard, Offsets.fetch(shard.groups.get(groupId), partitions)));
    }

    /** Sets offsets of a group without members. */
    public CompletableFuture<List<GroupTypes.PartitionResult>> alterOffsets(String groupId,
                                                                            List<GroupTypes.OffsetCommit> offsets) {
        return call(groupId, shard -> new Offsets(this, shard).alter(groupId, offsets));
    }

    /** Deletes a group without members, with its offsets. */
    public CompletableFuture<Void> deleteGroup(String groupId) {
        return call(groupId, shard -> new Offsets(this, shard).delete(groupId));
    }

    public CompletableFuture<GroupTypes.GroupDescription> describeGroup(String groupId) {
        return call(groupId, shard -> {
            ConsumerGroup g = shard.groups.get(groupId);
            if (g == null) {
                throw new RafkaException(ErrorCode.GROUP_ID_NOT_FOUND, "group " + groupId + " does not exist");
            }
            return answer(shard, Descriptions.describe(g, topics));
        });
    }

    /** Every committed offset of the groups coordinated here, by group (for lag metrics). */
    public CompletableFuture<Map<String, Map<TopicPartition, Long>>> committedOffsets() {
        CompletableFuture<Map<String, Map<TopicPartition, Long>>> result = new CompletableFuture<>();
        post(() -> {
            Map<String, Map<TopicPartition, Long>> all = new HashMap<>();
            for (GroupShard shard : shards.values()) {
                for (ConsumerGroup g : shard.groups.values()) {
                    Map<TopicPartition, Long> offsets = new HashMap<>();
                    g.offsets.forEach((tp, o) -> offsets.put(tp, o.offset()));
                    all.put(g.groupId, offsets);
                }
            }
            result.complete(all);
        });
        return result;
    }

    /** The groups this broker coordinates. */
    public CompletableFuture<List<GroupTypes.GroupListing>> listGroups() {
        CompletableFuture<List<GroupTypes.GroupListing>> result = new CompletableFuture<>();
        post(() -> {
            List<GroupTypes.GroupListing> listings = new ArrayList<>();
            for (GroupShard shard : shards.values()) {
                for (ConsumerGroup g : shard.groups.values()) {
                    listings.add(new GroupTypes.GroupListing(g.groupId, g.state(), g.members.size()));
                }
            }
            listings.sort((a, b) -> a.groupId().compareTo(b.groupId()));
            result.complete(listings);
        });
        return result;
    }

    /** Runs {@code op} on the coordinator's thread against the group's shard; its future is the call's. */
    private <T> CompletableFuture<T> call(String groupId, java.util.function.Function<GroupShard, CompletableFuture<T>> op) {
        CompletableFuture<T> result = new CompletableFuture<>();
        post(() -> {
            try {
                op.apply(shardFor(groupId)).whenComplete((v, e) -> {
                    if (e != null) {
                        result.completeExceptionally(e);
                    } else {
                        result.complete(v);
                    }
                });
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    /**
     * {@code value} (computed now), once every write made so far committed: so no answer reflects a change that
     * could still be lost.
     */
    <T> CompletableFuture<T> answer(GroupShard shard, T value) {
        CompletableFuture<T> result = new CompletableFuture<>();
        shard.afterWrites(() -> result.complete(value), result::completeExceptionally, () -> post(shard::drain));
        return result;
    }

    void post(Runnable task) {
        try {
            thread.execute(() -> run(task));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.debug("coordinator closed; dropped a task");
        }
    }

    private void run(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            LOG.error("group coordinator task failed", e);
        }
    }

    /**
     * Stops: every group's pending calls fail and member streams end with NOT_COORDINATOR (the partitions' new
     * leaders take over), then the thread goes.
     */
    @Override
    public void close() {
        post(() -> {
            for (int partition : List.copyOf(shards.keySet())) {
                unload(partition, "the broker is stopping");
            }
        });
        thread.shutdown();
        try {
            if (!thread.awaitTermination(1, TimeUnit.SECONDS)) {
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            thread.shutdownNow();
        }
    }
}
