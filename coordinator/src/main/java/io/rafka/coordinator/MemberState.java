package io.rafka.coordinator;

import io.rafka.common.TopicPartition;

import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.Comparator;

/**
 * One member of a group as the coordinator keeps it. The durable part (everything but the fields marked soft) is
 * what a member record in {@code __consumer_offsets} holds, so a new coordinator knows who owns what.
 *
 * <p>{@code assigned} are the partitions the member may consume; {@code revoking} those it was told to release
 * and has not yet reported released: it still owns them, so nobody else gets them meanwhile. {@code target} is
 * what the assignor wants it to own once the rebalance completes.
 */
final class MemberState {
    static final Comparator<TopicPartition> ORDER = TopicPartition.ORDER;

    final String memberId;
    String instanceId = "";
    String clientId = "";
    String host = "";
    /** Replaced when the subscription changes, never changed in place (ConsumerGroup caches by identity). */
    SortedSet<String> topics = new TreeSet<>();
    String pattern = "";
    AssignorType assignor = AssignorType.UNIFORM;
    int sessionTimeoutMs;
    int rebalanceTimeoutMs;
    int epoch;
    SortedSet<TopicPartition> assigned = new TreeSet<>(ORDER);
    SortedSet<TopicPartition> revoking = new TreeSet<>(ORDER);
    SortedSet<TopicPartition> target = new TreeSet<>(ORDER);

    /** Soft: when the coordinator last heard from the member (or loaded it). */
    long lastHeartbeatMs;
    /** Soft: when the member was asked to release {@code revoking}. */
    long revokingSinceMs;
    /** Soft: when its stream broke; -1 while connected or never connected here. */
    long disconnectedAtMs = -1;
    /** Soft: whether it holds a stream to this coordinator now. */
    boolean connected;
    /** Soft: a static member that left for a restart (member epoch -2): kept until its session times out. */
    boolean leftTemporarily;
    /** Soft: the version of the newest assignment sent to the member. */
    long pushVersion;
    /** Soft: when the newest answer to the member was sent (see {@code Membership#answerPeriodically}). */
    long answeredAtMs;
    /** Soft: per partition being revoked, the version of the response that tells the member so. */
    final java.util.Map<TopicPartition, Long> revokedAt = new java.util.HashMap<>();

    MemberState(String memberId) {
        this.memberId = memberId;
    }

    boolean isStatic() {
        return !instanceId.isEmpty();
    }

    /** Partitions the member owns: assigned or still being released. */
    boolean owns(TopicPartition tp) {
        return assigned.contains(tp) || revoking.contains(tp);
    }

    MemberState copy() {
        return copy(memberId);
    }

    /** This member's state under another id (a static member's takeover by its restarted process). */
    MemberState copy(String newId) {
        MemberState m = new MemberState(newId);
        m.instanceId = instanceId;
        m.clientId = clientId;
        m.host = host;
        m.topics = new TreeSet<>(topics);
        m.pattern = pattern;
        m.assignor = assignor;
        m.sessionTimeoutMs = sessionTimeoutMs;
        m.rebalanceTimeoutMs = rebalanceTimeoutMs;
        m.epoch = epoch;
        m.assigned = sorted(assigned);
        m.revoking = sorted(revoking);
        m.target = sorted(target);
        m.lastHeartbeatMs = lastHeartbeatMs;
        m.revokingSinceMs = revokingSinceMs;
        m.disconnectedAtMs = disconnectedAtMs;
        m.connected = connected;
        m.leftTemporarily = leftTemporarily;
        m.pushVersion = pushVersion;
        m.revokedAt.putAll(revokedAt);
        return m;
    }

    static SortedSet<TopicPartition> sorted(Set<TopicPartition> partitions) {
        SortedSet<TopicPartition> s = new TreeSet<>(ORDER);
        s.addAll(partitions);
        return s;
    }
}
