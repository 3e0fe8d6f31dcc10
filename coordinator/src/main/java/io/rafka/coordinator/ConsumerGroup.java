package io.rafka.coordinator;

import com.google.re2j.Pattern;
import io.rafka.common.TopicPartition;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A consumer group's state and its rebalance rules (KIP-848's, simplified). Used on the coordinator's one thread.
 *
 * <p>The group epoch grows with every change of membership, subscription or subscribed partitions; the assignor
 * then computes a new target for that epoch. Each member is reconciled towards its target: first it is told to
 * release what it owns outside the target (those partitions stay its own, "revoking", until it reports them
 * released); once nothing is left to release it gets every target partition that no other member owns, and with
 * them the target's epoch (a member the new target leaves as it was keeps its epoch). So a partition has at most
 * one owner at any moment, which is the invariant everything rests on ({@link #owners} checks it), and a member's
 * epoch grows whenever it gains a partition, which makes its commits from before stale.
 *
 * <p>Every change marks what must be written ({@link #dirtyMembers}, {@link #dirtyGroup}, {@link #dirtyOffsets});
 * the shard turns those into records in the group's coordinator partition before it answers anyone.
 */
final class ConsumerGroup {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ConsumerGroup.class);
    final String groupId;
    int groupEpoch;
    int assignmentEpoch;
    final SortedMap<String, MemberState> members = new TreeMap<>();
    final Map<TopicPartition, CommittedOffset> offsets = new HashMap<>();

    final Set<String> dirtyMembers = new LinkedHashSet<>();
    final Set<TopicPartition> dirtyOffsets = new LinkedHashSet<>();
    boolean dirtyGroup;
    /** Soft: partition counts of the subscribed topics the last target was computed for. */
    private Map<String, Integer> lastCounts;
    /** Soft: when the group last left STABLE (for the rebalance-duration metric); -1 while stable. */
    long reconcilingSinceMs = -1;
    /** Soft: since when the group has had no members (-1 while it has some). */
    long emptySinceMs = -1;
    /** Soft: each member's resolved subscription (see {@link #subscribedTopics}). */
    private final Map<String, Subscribed> subscribedCache = new HashMap<>();
    /** Soft: members' patterns compiled, by pattern (null: the pattern matches nothing, see {@link #compiled}). */
    private final Map<String, java.util.Optional<Pattern>> patterns = new HashMap<>();
    /**
     * Soft: the newest commit time of the offsets put since the group was created or loaded (not lowered when an
     * offset is removed), so the expiry check of an empty group does not go through all its offsets every tick.
     */
    long newestCommitMs = -1;

    ConsumerGroup(String groupId) {
        this.groupId = groupId;
    }

    boolean isEmpty() {
        return members.isEmpty();
    }

    /** EMPTY, RECONCILING (some member is not at its target yet) or STABLE. */
    String state() {
        if (members.isEmpty()) {
            return "EMPTY";
        }
        for (MemberState m : members.values()) {
            if (!m.revoking.isEmpty() || !m.assigned.equals(m.target)) {
                return "RECONCILING";
            }
        }
        return "STABLE";
    }

    void addMember(MemberState member) {
        members.put(member.memberId, member);
        dirtyMembers.add(member.memberId);
        bumpEpoch();
    }

    /** A member leaves or is fenced: what it owned is free at once. */
    MemberState removeMember(String memberId) {
        MemberState m = members.remove(memberId);
        if (m != null) {
            dirtyMembers.add(memberId);
            bumpEpoch();
        }
        subscribedCache.remove(memberId);   // a group left empty holds no member's subscription (nothing misses it)
        if (members.isEmpty()) {
            patterns.clear();
        }
        return m;
    }

    /** Members whose resolved subscription is cached (for tests). */
    int cachedSubscriptions() {
        return subscribedCache.size();
    }

    /** Updates what a member subscribes to; a change starts a rebalance. Returns whether anything changed. */
    boolean subscribe(MemberState m, SortedSet<String> topics, String pattern, AssignorType assignor) {
        if (!m.topics.equals(topics) || !m.pattern.equals(pattern) || m.assignor != assignor) {
            m.topics = new TreeSet<>(topics);
            m.pattern = pattern;
            m.assignor = assignor;
            dirtyMembers.add(m.memberId);
            bumpEpoch();
            return true;
        }
        return false;
    }

    /** Records a committed offset. */
    void putOffset(TopicPartition tp, CommittedOffset offset) {
        offsets.put(tp, offset);
        newestCommitMs = Math.max(newestCommitMs, offset.commitTimestampMs());
    }

    /**
     * Whether a change of these topics (created, deleted, partition count changed) can change what some member
     * subscribes to: one of them is named by a member or matches a member's pattern. Costs members x changed
     * topics, not members x all topics, so a topic created elsewhere does not rebalance every group.
     */
    boolean subscribesToAny(Set<String> changedTopics) {
        for (MemberState m : members.values()) {
            for (String t : changedTopics) {
                if (m.topics.contains(t)) {
                    return true;
                }
            }
            Pattern p = m.pattern.isEmpty() ? null : compiled(m);
            if (p != null) {
                for (String t : changedTopics) {
                    if (!t.equals(GroupConfig.TOPIC) && p.matcher(t).matches()) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /**
     * The member reports what it owns: revoking partitions it no longer lists are released, if the report saw their
     * revocation ({@code acknowledgedVersion} at least the version that revoked them; -1: the member saw no
     * assignment yet, so releases nothing; 0: the client does not track versions, taken as is).
     */
    boolean released(MemberState m, Set<TopicPartition> owned, long acknowledgedVersion) {
        boolean changed = m.revoking.removeIf(tp -> !owned.contains(tp)
                && (acknowledgedVersion == 0 || m.revokedAt.getOrDefault(tp, 0L) <= acknowledgedVersion));
        m.revokedAt.keySet().retainAll(m.revoking);
        if (changed) {
            dirtyMembers.add(m.memberId);
        }
        return changed;
    }

    void bumpEpoch() {
        groupEpoch++;
        dirtyGroup = true;
    }

    /** The group's assignor: the one most members ask for (uniform on a tie). */
    AssignorType assignor() {
        int range = 0;
        for (MemberState m : members.values()) {
            range += m.assignor == AssignorType.RANGE ? 1 : -1;
        }
        return range > 0 ? AssignorType.RANGE : AssignorType.UNIFORM;
    }

    /**
     * The existing topics a member subscribes to, by name or pattern. Cached per member until its subscription or
     * the topics change (the topics map is replaced, never changed, on every metadata change), so a heartbeat does not
     * run every member's pattern over every topic name.
     */
    Set<String> subscribedTopics(MemberState m, Map<String, Integer> topics) {
        Subscribed cached = subscribedCache.get(m.memberId);
        // The member's names are compared by identity: a subscription change replaces the set, never changes it.
        if (cached != null && cached.topics() == topics && cached.names() == m.topics && cached.pattern().equals(m.pattern)) {
            return cached.result();
        }
        Set<String> result = new TreeSet<>();
        for (String t : m.topics) {
            if (topics.containsKey(t)) {
                result.add(t);
            }
        }
        if (!m.pattern.isEmpty()) {
            Pattern p = compiled(m);
            for (String t : topics.keySet()) {
                if (p != null && !t.equals(GroupConfig.TOPIC) && p.matcher(t).matches()) {
                    result.add(t);
                }
            }
        }
        Set<String> frozen = java.util.Collections.unmodifiableSet(result);
        subscribedCache.put(m.memberId, new Subscribed(topics, m.topics, m.pattern, frozen));
        subscribedCache.keySet().retainAll(members.keySet());
        return frozen;
    }

    /**
     * The member's pattern compiled, or null (matching nothing) if it is not one the join would accept now: a member
     * record written before patterns were RE2 (java.util.regex's lookarounds and backreferences).
     */
    private Pattern compiled(MemberState m) {
        java.util.Optional<Pattern> known = patterns.get(m.pattern);
        if (known == null) {
            if (patterns.size() >= 2 * members.size() + 8) {
                Set<String> inUse = new java.util.HashSet<>();
                members.values().forEach(o -> inUse.add(o.pattern));
                patterns.keySet().retainAll(inUse);
            }
            try {
                known = java.util.Optional.of(SubscriptionPattern.compile(m.pattern));
            } catch (IllegalArgumentException e) {
                LOG.warn("group {}: member {}'s pattern '{}' matches no topic: {}", groupId, m.memberId, m.pattern, e.getMessage());
                known = java.util.Optional.empty();
            }
            patterns.put(m.pattern, known);
        }
        return known.orElse(null);
    }

    /** A member's resolved subscription and what it was resolved from. */
    private record Subscribed(Map<String, Integer> topics, Set<String> names, String pattern, Set<String> result) {
    }

    /**
     * Brings the target up to date (a new one when the group epoch moved or a subscribed topic's partition count
     * changed, e.g. partitions were added or a pattern now matches a new topic) and reconciles every member.
     *
     * @param topics every existing topic with its partition count; replaced, never changed in place, when topics
     *               change (subscriptions are cached by its identity)
     * @return the members whose epoch or owned partitions changed (they must be told)
     */
    Set<String> rebalance(Map<String, Integer> topics, long nowMs) {
        SortedMap<String, Set<String>> subscriptions = new TreeMap<>();
        Map<String, Integer> counts = new TreeMap<>();
        for (MemberState m : members.values()) {
            Set<String> subscribed = subscribedTopics(m, topics);
            subscriptions.put(m.memberId, subscribed);
            subscribed.forEach(t -> counts.put(t, topics.get(t)));
        }
        if (groupEpoch > assignmentEpoch || !counts.equals(lastCounts)) {
            updateTarget(subscriptions, counts);
        }
        lastCounts = counts;
        Map<TopicPartition, String> owners = ownersRepairing();
        Set<String> changed = new LinkedHashSet<>();
        for (MemberState m : members.values()) {
            if (reconcile(m, owners, nowMs)) {
                changed.add(m.memberId);
                dirtyMembers.add(m.memberId);
            }
        }
        return changed;
    }

    private void updateTarget(SortedMap<String, Set<String>> subscriptions, Map<String, Integer> counts) {
        Map<String, SortedSet<TopicPartition>> previous = new HashMap<>();
        members.values().forEach(m -> previous.put(m.memberId, m.target));
        SortedMap<String, SortedSet<TopicPartition>> target = Assignors.assign(assignor(), subscriptions, counts, previous);
        if (groupEpoch == assignmentEpoch && target.equals(previous)) {
            return;
        }
        if (groupEpoch == assignmentEpoch) {
            bumpEpoch();
        }
        assignmentEpoch = groupEpoch;
        dirtyGroup = true;
        for (MemberState m : members.values()) {
            SortedSet<TopicPartition> t = target.get(m.memberId);
            if (!t.equals(m.target)) {
                m.target = t;
                dirtyMembers.add(m.memberId);
            }
        }
    }

    /**
     * One member's step towards its target: first release what is outside it (everything at once, also while an
     * earlier release is under way); once nothing is left to release, the target's epoch and every target partition
     * nobody else owns.
     */
    private boolean reconcile(MemberState m, Map<TopicPartition, String> owners, long nowMs) {
        List<TopicPartition> revoke = new ArrayList<>();
        for (TopicPartition tp : m.assigned) {
            if (!m.target.contains(tp)) {
                revoke.add(tp);
            }
        }
        if (!revoke.isEmpty()) {
            if (m.revoking.isEmpty()) {
                m.revokingSinceMs = nowMs;
            }
            revoke.forEach(m.assigned::remove);
            m.revoking.addAll(revoke);
            revoke.forEach(tp -> m.revokedAt.put(tp, m.pushVersion + 1));   // told in the next response
            return true;
        }
        if (!m.revoking.isEmpty()) {
            return false;
        }
        boolean gained = false;
        for (TopicPartition tp : m.target) {
            if (!m.assigned.contains(tp) && !owners.containsKey(tp)) {
                m.assigned.add(tp);
                owners.put(tp, m.memberId);
                gained = true;
            }
        }
        // The member takes the target's epoch when it gains partitions (so a commit it sent before it last lost one
        // is stale once it owns that one again) and when it has none yet (0 is a join). A member whose assignment a
        // new target leaves as it was keeps its epoch and is told nothing: a member joining or leaving costs the
        // group's other members no push, no record and no stale commit (a group of N members joining one by one
        // would otherwise be N^2 pushes).
        if ((gained || m.epoch == 0) && m.epoch != assignmentEpoch) {
            m.epoch = assignmentEpoch;
            return true;
        }
        return gained;
    }

    /** Every owned partition and its one owner; throws if two members own the same partition (for tests). */
    Map<TopicPartition, String> owners() {
        Map<TopicPartition, String> owners = new HashMap<>();
        for (MemberState m : members.values()) {
            for (Set<TopicPartition> set : List.of(m.assigned, m.revoking)) {
                for (TopicPartition tp : set) {
                    String other = owners.put(tp, m.memberId);
                    if (other != null) {
                        throw new IllegalStateException("group " + groupId + ": " + tp + " owned by both " + other
                                + " and " + m.memberId);
                    }
                }
            }
        }
        return owners;
    }

    /**
     * Every owned partition and its owner, repairing double ownership instead of failing: the rules never make it,
     * but a stored state can hold it when a write was lost while a later one committed (a partition's release lost,
     * its grant to another member kept). The member that has it assigned keeps it; one that was releasing it is
     * taken to have released it (the lost write said so); of two that have it assigned, the one with the newer
     * epoch keeps it and the other is told to release it.
     */
    private Map<TopicPartition, String> ownersRepairing() {
        Map<TopicPartition, String> owners = new HashMap<>();
        Set<TopicPartition> mustRelease = new java.util.HashSet<>();
        for (MemberState m : members.values()) {
            for (TopicPartition tp : List.copyOf(m.assigned)) {
                String other = owners.putIfAbsent(tp, m.memberId);
                if (other != null) {
                    MemberState o = members.get(other);
                    MemberState loser = o.epoch >= m.epoch ? m : o;
                    owners.put(tp, loser == m ? other : m.memberId);
                    loser.assigned.remove(tp);
                    loser.revoking.add(tp);
                    mustRelease.add(tp);
                    dirtyMembers.add(loser.memberId);
                    LOG.warn("group {}: {} was assigned to both {} and {}; {} must release it", groupId, tp, other,
                            m.memberId, loser.memberId);
                }
            }
        }
        for (MemberState m : members.values()) {
            for (TopicPartition tp : List.copyOf(m.revoking)) {
                String other = owners.get(tp);
                if (other != null && !other.equals(m.memberId)) {
                    if (!mustRelease.contains(tp) && !members.get(other).revoking.contains(tp)) {
                        m.revoking.remove(tp);
                        dirtyMembers.add(m.memberId);
                        LOG.warn("group {}: {} was being released by {} but is assigned to {}: taken as released",
                                groupId, tp, m.memberId, other);
                    }
                } else {
                    owners.put(tp, m.memberId);
                }
            }
        }
        return owners;
    }
}
