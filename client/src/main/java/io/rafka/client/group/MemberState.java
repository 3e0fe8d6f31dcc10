package io.rafka.client.group;

import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.HeartbeatRequest;
import io.rafka.proto.v1.HeartbeatResponse;
import io.rafka.proto.v1.TopicPartitions;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What a group member knows about its membership: its id and epoch as the coordinator last named them, the
 * assignment the coordinator last pushed (the target) and what the member owns. Owned is exactly what the
 * member may consume; the poll thread moves it towards the target in two steps ({@link #reconcile}):
 * first it releases what the target no longer holds (after committing it), then it takes what is new. So
 * the member never consumes a partition outside the latest assignment, and never tells the coordinator it
 * released a partition before its offsets were committed.
 *
 * <p>Thread-safe: the gRPC stream's observer thread writes responses in, the poll thread reads and
 * reconciles; every method holds the object's lock, and nothing slow runs under it.
 */
final class MemberState {

    /** A leave for good, and a static member's leave for a restart (keeps its partitions for a session). */
    static final int LEAVE_EPOCH = -1;
    static final int STATIC_LEAVE_EPOCH = -2;
    static final int DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000;

    /** What the poll thread must do now to match the latest assignment. */
    record Reconciliation(Set<TopicPartition> revoke, Set<TopicPartition> assign) {
        boolean isEmpty() {
            return revoke.isEmpty() && assign.isEmpty();
        }
    }

    /**
     * Chosen here and kept for the member's life, fencing included (as KIP-1082's): a join whose answer was lost (the
     * coordinator moved, the stream broke) is made again under the same id, and the coordinator drops the member the
     * lost one made instead of keeping it, with partitions, until its session times out.
     */
    private String memberId = java.util.UUID.randomUUID().toString();
    private int memberEpoch;
    private int heartbeatIntervalMs = DEFAULT_HEARTBEAT_INTERVAL_MS;
    /** The session timeout the coordinator applies to this member; 0 until it said. */
    private int sessionTimeoutMs;
    private int streamGraceMs;
    /** The assignment_version of the newest response, echoed in heartbeats; -1 before the first (groups.proto). */
    private long version = -1;
    /** The latest assignment pushed; null until the first response of a (re)join. */
    private Set<TopicPartition> target;
    private final Set<TopicPartition> owned = new LinkedHashSet<>();
    /** Owned partitions being released: no longer consumed, their offsets being committed before the release. */
    private final Set<TopicPartition> releasing = new LinkedHashSet<>();
    /** Counts acquisitions; each owned partition holds the count of its own ({@link #committable(Map)}). */
    private long grants;
    private final Map<TopicPartition, Long> grantOf = new java.util.HashMap<>();

    /** A response of the coordinator: the member's id, epoch, heartbeat interval and full target assignment. */
    synchronized void onResponse(HeartbeatResponse response) {
        if (!response.getMemberId().isEmpty()) {
            memberId = response.getMemberId();
        }
        memberEpoch = response.getMemberEpoch();
        if (response.getHeartbeatIntervalMs() > 0) {
            heartbeatIntervalMs = response.getHeartbeatIntervalMs();
        }
        if (response.getSessionTimeoutMs() > 0) {
            sessionTimeoutMs = response.getSessionTimeoutMs();
        }
        streamGraceMs = response.getStreamGraceMs();
        target = Set.copyOf(partitions(response.getAssignmentList()));
        version = response.getAssignmentVersion();
    }

    /**
     * What separates owned from the target: partitions to release first, then partitions to take. Empty
     * before the first assignment arrived.
     */
    synchronized Reconciliation reconcile() {
        if (target == null) {
            return new Reconciliation(Set.of(), Set.of());
        }
        Set<TopicPartition> revoke = new LinkedHashSet<>(owned);
        revoke.removeAll(target);
        revoke.removeAll(releasing);
        Set<TopicPartition> assign = new LinkedHashSet<>(target);
        assign.removeAll(owned);
        return new Reconciliation(sorted(revoke), sorted(assign));
    }

    /** The member stopped consuming these and commits them now: still owned until {@link #released}. */
    synchronized void releasing(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            if (owned.contains(tp)) {
                releasing.add(tp);
            }
        }
    }

    /** The member stopped consuming these and committed them: they are no longer owned. */
    synchronized void released(Collection<TopicPartition> partitions) {
        owned.removeAll(partitions);
        releasing.removeAll(partitions);
        grantOf.keySet().removeAll(partitions);
    }

    /**
     * The commit of partitions marked {@link #releasing} finished: those still being released are not owned any
     * more. A partition the member was fenced from meanwhile, and perhaps took again since, is left alone.
     */
    synchronized void releasedAfterCommit(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            if (releasing.remove(tp)) {
                owned.remove(tp);
                grantOf.remove(tp);
            }
        }
    }

    /**
     * The member took these (its positions are set). Only what the latest assignment still holds is taken:
     * a newer response may have come in while the offsets were being fetched. Returns what was taken.
     */
    synchronized Set<TopicPartition> acquired(Collection<TopicPartition> partitions) {
        Set<TopicPartition> taken = new LinkedHashSet<>();
        for (TopicPartition tp : partitions) {
            if (target != null && target.contains(tp)) {
                owned.add(tp);
                grantOf.put(tp, ++grants);
                taken.add(tp);
            }
        }
        return taken;
    }

    /** Whether the member may consume this partition now: owned, not being released, and still assigned. */
    synchronized boolean mayConsume(TopicPartition tp) {
        return owned.contains(tp) && !releasing.contains(tp) && target != null && target.contains(tp);
    }

    /**
     * The member was fenced or forgotten (UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH): it owns nothing any more
     * and joins again as a new member (under its id). Returns what it owned, which someone else may own already.
     */
    synchronized Set<TopicPartition> fence() {
        Set<TopicPartition> dropped = sorted(owned);
        owned.clear();
        releasing.clear();
        grantOf.clear();
        target = null;
        memberEpoch = 0;
        version = -1;
        return dropped;
    }

    /** A heartbeat (a join while the epoch is 0) saying what is owned now. */
    synchronized HeartbeatRequest heartbeat(GroupMemberConfig config) {
        return request(config, memberEpoch).addAllOwned(toProto(owned)).build();
    }

    /** The leave: {@link #LEAVE_EPOCH}, or {@link #STATIC_LEAVE_EPOCH} for a static member. */
    synchronized HeartbeatRequest leave(GroupMemberConfig config) {
        int epoch = config.instanceId().isEmpty() ? LEAVE_EPOCH : STATIC_LEAVE_EPOCH;
        return request(config, epoch).addAllOwned(toProto(owned)).build();
    }

    private HeartbeatRequest.Builder request(GroupMemberConfig config, int epoch) {
        return HeartbeatRequest.newBuilder()
                .setGroupId(config.groupId())
                .setMemberId(memberId)
                .setMemberEpoch(epoch)
                .setInstanceId(config.instanceId())
                .addAllSubscribedTopics(config.topics())
                .setSubscribedPattern(config.pattern())
                .setAssignor(config.assignor())
                .setSessionTimeoutMs(config.sessionTimeoutMs())
                .setRebalanceTimeoutMs(config.rebalanceTimeoutMs())
                .setClientId(config.clientId())
                .setAcknowledgedVersion(version);
    }

    synchronized String memberId() {
        return memberId;
    }

    synchronized int memberEpoch() {
        return memberEpoch;
    }

    synchronized int heartbeatIntervalMs() {
        return heartbeatIntervalMs;
    }

    /** The session timeout the coordinator said it applies to this member; 0 until it said. */
    synchronized int sessionTimeoutMs() {
        return sessionTimeoutMs;
    }

    /**
     * How long after its stream breaks the coordinator removes this member unless a new stream of it is answered;
     * 0 when it does not (a static member, or a coordinator that did not say).
     */
    synchronized int streamGraceMs() {
        return streamGraceMs;
    }

    synchronized Set<TopicPartition> owned() {
        return sorted(owned);
    }

    /** {@link #owned()} without the partitions being released, sorted. */
    synchronized Set<TopicPartition> active() {
        return sorted(committable());
    }

    /**
     * What the member's caller may still commit: owned and not being released. A partition being released has its
     * last position committed by the release; an older commit of it landing after that would move it back.
     */
    synchronized Set<TopicPartition> committable() {
        Set<TopicPartition> result = new LinkedHashSet<>(owned);
        result.removeAll(releasing);
        return result;
    }

    /**
     * The acquisitions so far: a commit made now records it ({@link #committable(Map)}), so that when it is sent
     * later it can tell a partition owned all along from one lost and taken again meanwhile.
     */
    synchronized long grants() {
        return grants;
    }

    /**
     * {@link #committable()}, of partitions owned without a break since their commit was made: {@code madeAt} holds,
     * per partition, {@link #grants()} as it was then. A partition the member lost and took again since had its
     * offset moved by other owners meanwhile; a commit made before that would move it back.
     */
    synchronized Set<TopicPartition> committable(Map<TopicPartition, Long> madeAt) {
        Set<TopicPartition> result = committable();
        result.removeIf(tp -> !madeAt.containsKey(tp) || grantOf.getOrDefault(tp, Long.MAX_VALUE) > madeAt.get(tp));
        return result;
    }

    /** Whether the coordinator answered since the last (re)join. */
    synchronized boolean joined() {
        return target != null;
    }

    static List<TopicPartitions> toProto(Collection<TopicPartition> partitions) {
        Map<String, List<Integer>> byTopic = new TreeMap<>();
        for (TopicPartition tp : partitions) {
            byTopic.computeIfAbsent(tp.topic(), t -> new ArrayList<>()).add(tp.partition());
        }
        List<TopicPartitions> result = new ArrayList<>();
        for (Map.Entry<String, List<Integer>> entry : byTopic.entrySet()) {
            entry.getValue().sort(null);
            result.add(TopicPartitions.newBuilder().setTopic(entry.getKey()).addAllPartitions(entry.getValue()).build());
        }
        return result;
    }

    static List<TopicPartition> partitions(List<TopicPartitions> proto) {
        List<TopicPartition> result = new ArrayList<>();
        for (TopicPartitions topic : proto) {
            for (int partition : topic.getPartitionsList()) {
                result.add(new TopicPartition(topic.getTopic(), partition));
            }
        }
        return result;
    }

    private static Set<TopicPartition> sorted(Collection<TopicPartition> partitions) {
        List<TopicPartition> list = new ArrayList<>(partitions);
        list.sort(TopicPartition.ORDER);
        return new LinkedHashSet<>(list);
    }
}
