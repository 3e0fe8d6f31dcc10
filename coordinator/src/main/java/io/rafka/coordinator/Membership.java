package io.rafka.coordinator;

import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Members' streams and liveness, on the coordinator's thread: joins, heartbeats, leaves, fencing (session timeout,
 * broken stream, release not in time), and telling members their assignments once they are durable.
 */
final class Membership {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Membership.class);
    private final GroupCoordinator coordinator;
    /** The stream each member is bound to, by group and member id. */
    private final Map<String, MemberSession> sessions = new HashMap<>();

    Membership(GroupCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    private static String key(String groupId, String memberId) {
        return groupId + '\u0000' + memberId;
    }

    void heartbeat(MemberSession s, GroupTypes.Heartbeat req) {
        if (s.ended) {
            return;
        }
        try {
            GroupShard shard = coordinator.shardFor(req.groupId());
            if (s.groupId != null && !s.groupId.equals(req.groupId())) {
                throw invalid("a Heartbeat stream serves one member of one group; this one is " + s.groupId);
            }
            switch (req.memberEpoch()) {
                case GroupTypes.Heartbeat.LEAVE -> leave(shard, s, req.groupId(), req.memberId());
                case GroupTypes.Heartbeat.STATIC_LEAVE -> staticLeave(shard, s, req);
                case GroupTypes.Heartbeat.JOIN -> join(shard, s, req);
                default -> {
                    if (req.memberEpoch() < 0) {
                        throw invalid("member epoch " + req.memberEpoch() + " means nothing (0 join, -1 leave, -2 static leave)");
                    }
                    beat(shard, s, req);
                }
            }
        } catch (RafkaException e) {
            end(s, e);
        } catch (RuntimeException e) {
            LOG.error("group {}: a heartbeat failed unexpectedly", req.groupId(), e);
            end(s, new RafkaException(ErrorCode.UNKNOWN_SERVER_ERROR, "the coordinator failed on this heartbeat: " + e));
        }
    }

    private void join(GroupShard shard, MemberSession s, GroupTypes.Heartbeat req) {
        if (s.memberId != null) {
            throw invalid("this stream already joined as member " + s.memberId + "; a new member opens a new stream");
        }
        validateSubscription(req, true);
        shard.requireRoomForWrites();   // a join writes its member: BUSY (the client retries) while writes pile up
        int sessionTimeout = sessionTimeout(req);
        ConsumerGroup g = shard.groups.get(req.groupId());
        if (g == null) {
            shard.requireRoomForGroup(req.groupId(), coordinator.config.maxGroups());
            g = new ConsumerGroup(req.groupId());
            g.dirtyGroup = true;
            shard.groups.put(g.groupId, g);
        }
        // A client names itself (as KIP-1082's): one whose join's answer was lost, e.g. to a coordinator move, joins
        // again under the same id, and the member that join made (the answer's write committed) goes at once
        // instead of holding partitions for a session timeout. Clients that send none get one made here.
        String id = req.memberId().isEmpty() ? UUID.randomUUID().toString() : req.memberId();
        MemberState known = g.members.get(id);
        if (known != null && !(known.isStatic() && known.instanceId.equals(req.instanceId()))) {
            removeMember(g, id, new RafkaException(ErrorCode.UNKNOWN_MEMBER_ID, "member " + id
                    + " joined again as a new member"));
        }
        MemberState m = req.instanceId().isEmpty() ? null : staticMember(g, req.instanceId(), id, s);
        if (m == null) {
            if (g.members.size() >= coordinator.config.maxGroupSize()) {
                throw new RafkaException(ErrorCode.GROUP_MAX_SIZE_REACHED, "group " + g.groupId + " has "
                        + g.members.size() + " members, the most group.max.size allows");
            }
            m = new MemberState(id);
            m.pushVersion = shard.versionBase;
            g.addMember(m);
        }
        m.instanceId = req.instanceId();
        m.clientId = req.clientId();
        m.host = s.host;
        m.sessionTimeoutMs = sessionTimeout;
        m.rebalanceTimeoutMs = req.rebalanceTimeoutMs() > 0 ? req.rebalanceTimeoutMs() : coordinator.config.rebalanceTimeoutMs();
        g.dirtyMembers.add(m.memberId);
        g.subscribe(m, new TreeSet<>(req.topics()), req.pattern(), req.assignor());
        g.released(m, req.owned(), req.acknowledgedVersion());
        bind(s, g, m);
        settle(shard, g, Set.of(m.memberId));
    }

    /**
     * The member a static join takes over, or null; fails if that instance is still active elsewhere. The takeover
     * gets the joining client's member id (a restarted process names itself anew) with the old one's partitions,
     * epoch and target, and the old id is removed: a zombie of the old process (back from a pause) is fenced
     * (UNKNOWN_MEMBER_ID) instead of resuming beside the new one.
     */
    private MemberState staticMember(ConsumerGroup g, String instanceId, String newId, MemberSession s) {
        for (MemberState m : List.copyOf(g.members.values())) {
            if (m.instanceId.equals(instanceId)) {
                MemberSession old = sessions.get(key(g.groupId, m.memberId));
                if (old != null && old != s && !old.ended && m.connected && !m.leftTemporarily) {
                    throw new RafkaException(ErrorCode.UNRELEASED_INSTANCE_ID, "instance id " + instanceId
                            + " is in use by active member " + m.memberId + " of group " + g.groupId);
                }
                if (old != null && old != s) {
                    end(old, new RafkaException(ErrorCode.FENCED_INSTANCE_ID, "a newer member with instance id "
                            + instanceId + " joined"));
                }
                MemberState taken = m.copy(newId);
                g.members.remove(m.memberId);
                g.dirtyMembers.add(m.memberId);
                g.members.put(taken.memberId, taken);
                g.dirtyMembers.add(taken.memberId);
                return taken;
            }
        }
        return null;
    }

    private void beat(GroupShard shard, MemberSession s, GroupTypes.Heartbeat req) {
        ConsumerGroup g = shard.groups.get(req.groupId());
        MemberState m = g == null ? null : g.members.get(req.memberId());
        if (m == null) {
            throw new RafkaException(ErrorCode.UNKNOWN_MEMBER_ID, "member " + req.memberId() + " is not in group "
                    + req.groupId() + " (it left or was fenced): join again");
        }
        if (req.memberEpoch() > m.epoch) {
            throw new RafkaException(ErrorCode.FENCED_MEMBER_EPOCH, "member epoch " + req.memberEpoch()
                    + " is newer than the coordinator's " + m.epoch + ": join again");
        }
        boolean first = s.memberId == null;
        if (!first && !s.memberId.equals(m.memberId)) {
            throw invalid("this stream belongs to member " + s.memberId);
        }
        boolean changed = first;
        if (!req.topics().isEmpty() || !req.pattern().isEmpty()) {
            // Compared before it is checked: checking costs a pass over up to 10,000 names and a compile of the
            // pattern, on the thread every group of this coordinator shares, and clients may repeat an unchanged
            // subscription on every heartbeat.
            TreeSet<String> topics = req.topics().size() > MAX_SUBSCRIBED_TOPICS ? null : new TreeSet<>(req.topics());
            boolean same = topics != null && m.topics.equals(topics) && m.pattern.equals(req.pattern());
            if (!same) {
                validateSubscription(req, false);
                // A new subscription is written with the member (up to ~1 MB each): BUSY while writes pile up, so a
                // client changing it on every heartbeat cannot grow the queue of unwritten records without bound.
                shard.requireRoomForWrites();
            }
            changed |= g.subscribe(m, topics, req.pattern(), req.assignor());
        }
        changed |= g.released(m, req.owned(), req.acknowledgedVersion());
        if (first) {
            MemberSession old = sessions.get(key(g.groupId, m.memberId));
            if (old != null && old != s) {
                end(old, new RafkaException(ErrorCode.UNKNOWN_MEMBER_ID, "member " + m.memberId
                        + " resumed on another stream"));
            }
            bind(s, g, m);
        }
        // Every other change of the group settled it when it happened (a join, a leave, a fencing, a topic change,
        // a load), so a heartbeat that changed nothing would only recompute the same assignments: skipped, or each
        // heartbeat would cost the whole group (members x subscribed topics, plus its partitions).
        if (changed) {
            settle(shard, g, first ? Set.of(m.memberId) : Set.of());
        }
        alive(m);
        answerPeriodically(shard, g, m);
    }

    /**
     * A heartbeat that changed nothing is not answered, except when the member has had no answer for a quarter of
     * its session timeout: then it gets its assignment again. So a member hears from its coordinator at least that
     * often, and a stream that stays open but silent for longer (the coordinator's process paused, packets dropped
     * without a reset) tells the member it may have been removed, and should stop consuming and find the
     * coordinator again, instead of consuming beside the partitions' new owners (groups.proto, Heartbeat).
     */
    private void answerPeriodically(GroupShard shard, ConsumerGroup g, MemberState m) {
        if (coordinator.time.milliseconds() - m.answeredAtMs >= m.sessionTimeoutMs / 4) {
            tell(shard, g, m);
        }
    }

    private void leave(GroupShard shard, MemberSession s, String groupId, String memberId) {
        String id = s.memberId != null ? s.memberId : memberId;
        ConsumerGroup g = shard.groups.get(s.groupId != null ? s.groupId : groupId);
        if (g != null && id != null && g.members.containsKey(id)) {
            // A leave sent on another stream than the member's (a client leaving on a new stream, or anyone naming
            // its id): the member's own stream, if it has one, is ended before its partitions go to others, so its
            // client stops consuming them at once rather than at its next heartbeat.
            removeMember(g, id, s.memberId != null ? null : new RafkaException(ErrorCode.UNKNOWN_MEMBER_ID, "member " + id
                    + " of group " + g.groupId + " left the group by a leave sent on another stream: join again"));
            settle(shard, g, Set.of());
        }
        s.ended = true;
        // Completed once the leave is durable; if its write failed the member is still there (until its session
        // times out), and the client hears so instead of believing it left.
        coordinator.answer(shard, null).whenComplete((v, e) -> {
            if (e == null) {
                s.channel.complete();
            } else {
                s.channel.fail(e instanceof RafkaException r ? r : shard.notCoordinator());
            }
        });
    }

    private void staticLeave(GroupShard shard, MemberSession s, GroupTypes.Heartbeat req) {
        ConsumerGroup g = shard.groups.get(req.groupId());
        MemberState m = g == null || s.memberId == null ? null : g.members.get(s.memberId);
        if (m == null || !m.isStatic()) {
            throw invalid("member epoch -2 is for a static member (one with an instance id) of this stream");
        }
        m.leftTemporarily = true;
        m.connected = false;
        sessions.remove(key(g.groupId, m.memberId));
        s.ended = true;
        s.channel.complete();
    }

    void broken(MemberSession s) {
        if (s.ended) {
            return;
        }
        s.ended = true;
        if (s.memberId != null && sessions.get(key(s.groupId, s.memberId)) == s) {
            sessions.remove(key(s.groupId, s.memberId));
            GroupShard shard = coordinator.shards.get(coordinator.partitionFor(s.groupId));
            ConsumerGroup g = shard == null ? null : shard.groups.get(s.groupId);
            MemberState m = g == null ? null : g.members.get(s.memberId);
            if (m != null) {
                m.connected = false;
                m.disconnectedAtMs = coordinator.time.milliseconds();
            }
        }
    }

    void completed(MemberSession s) {
        if (s.ended) {
            return;
        }
        GroupShard shard = s.groupId == null ? null : coordinator.shards.get(coordinator.partitionFor(s.groupId));
        if (shard == null) {
            s.ended = true;
            s.channel.complete();
            return;
        }
        leave(shard, s, s.groupId, s.memberId);
    }

    /** Fences members whose session timed out, whose stream broke longer ago than the grace, or who hold revoked partitions too long. */
    void tick() {
        long now = coordinator.time.milliseconds();
        int groups = 0;
        int members = 0;
        for (GroupShard shard : List.copyOf(coordinator.shards.values())) {
            for (ConsumerGroup g : List.copyOf(shard.groups.values())) {
                try {
                    members += tickGroup(shard, g, now);
                    groups++;
                } catch (RuntimeException e) {
                    LOG.error("group {}: liveness check failed", g.groupId, e);
                }
            }
        }
        coordinator.metrics.groups = groups;
        coordinator.metrics.members = members;
    }

    /** One group's liveness check; returns its members (0 once it expired). */
    private int tickGroup(GroupShard shard, ConsumerGroup g, long now) {
        boolean removed = false;
        for (MemberState m : List.copyOf(g.members.values())) {
            String why = expired(m, now);
            if (why != null) {
                LOG.info("group {}: removed member {} ({}): {}", g.groupId, m.memberId, m.clientId, why);
                coordinator.metrics.fencedMembers.increment();
                removeMember(g, m.memberId, new RafkaException(ErrorCode.UNKNOWN_MEMBER_ID,
                        "member " + m.memberId + " was removed from group " + g.groupId + ": " + why));
                removed = true;
            }
        }
        if (removed) {
            settle(shard, g, Set.of());
        }
        long emptySince = g.isEmpty() ? (g.emptySinceMs < 0 ? now : g.emptySinceMs) : -1;
        if (emptySince != g.emptySinceMs) {
            g.emptySinceMs = emptySince;
            if (emptySince >= 0) {
                // Written, so that a coordinator loading the group later counts its retention from here.
                g.dirtyGroup = true;
                shard.write(List.of(g), List.of(), now, e -> coordinator.writeFailed(shard, e));
            }
        }
        if (g.isEmpty() && expired(g, now)) {
            new Offsets(coordinator, shard).deleteGroup(g);
            return 0;
        }
        return g.members.size();
    }

    private String expired(MemberState m, long now) {
        if (now - m.lastHeartbeatMs > m.sessionTimeoutMs) {
            return "no heartbeat for " + (now - m.lastHeartbeatMs) + " ms (session timeout " + m.sessionTimeoutMs + " ms)";
        }
        if (!m.connected && !m.isStatic() && m.disconnectedAtMs >= 0
                && now - m.disconnectedAtMs > coordinator.config.streamGraceMs()) {
            return "its stream broke " + (now - m.disconnectedAtMs) + " ms ago";
        }
        if (!m.revoking.isEmpty() && now - m.revokingSinceMs > m.rebalanceTimeoutMs) {
            return "it did not release " + m.revoking + " within its rebalance timeout of " + m.rebalanceTimeoutMs + " ms";
        }
        return null;
    }

    /** An empty group expires offsets.retention after its last commit, or after it became empty if it has none. */
    private boolean expired(ConsumerGroup g, long now) {
        long newest = Math.max(g.emptySinceMs, g.newestCommitMs);
        return newest >= 0 && now - newest > coordinator.config.offsetsRetentionMs();
    }

    /** A shard was loaded: members get their session timeout to come back; targets follow the current topics. */
    void loaded(GroupShard shard) {
        long now = coordinator.time.milliseconds();
        for (ConsumerGroup g : shard.groups.values()) {
            for (MemberState m : g.members.values()) {
                m.lastHeartbeatMs = now;
                m.revokingSinceMs = now;
                startVersions(m, shard.versionBase);
            }
            try {
                settle(shard, g, Set.of());
            } catch (RuntimeException e) {
                LOG.error("group {}: settling it after the load failed", g.groupId, e);
            }
        }
    }

    /** A shard was unloaded: its members' streams end with NOT_COORDINATOR, so they go to the new coordinator. */
    void unloaded(GroupShard shard) {
        for (MemberSession s : List.copyOf(sessions.values())) {
            if (shard.groups.containsKey(s.groupId) || coordinator.partitionFor(s.groupId) == shard.partition) {
                end(s, shard.notCoordinator());
            }
        }
    }

    /**
     * Topics changed ({@code changed}: created, deleted or with a new partition count; {@code deleted} among them):
     * offsets of deleted topics go, groups with a member subscribed to a changed topic (by name or pattern)
     * rebalance. Other groups' assignments cannot change, so they are not recomputed.
     */
    void topicsChanged(Set<String> changed, Set<String> deleted) {
        long now = coordinator.time.milliseconds();
        for (GroupShard shard : coordinator.shards.values()) {
            for (ConsumerGroup g : shard.groups.values()) {
                if (!deleted.isEmpty()) {
                    for (TopicPartition tp : List.copyOf(g.offsets.keySet())) {
                        if (deleted.contains(tp.topic())) {
                            g.offsets.remove(tp);
                            g.dirtyOffsets.add(tp);
                        }
                    }
                }
                if (g.subscribesToAny(changed)) {
                    settle(shard, g, Set.of());
                } else if (!g.dirtyOffsets.isEmpty()) {
                    shard.write(List.of(g), List.of(), now, e -> coordinator.writeFailed(shard, e));
                }
            }
        }
    }

    /**
     * Rebalances the group, writes what changed, and tells every member whose assignment changed (and those in
     * {@code alsoTell}) once the write committed.
     */
    private void settle(GroupShard shard, ConsumerGroup g, Set<String> alsoTell) {
        long now = coordinator.time.milliseconds();
        Set<String> tell = g.rebalance(coordinator.topics, now);
        tell.addAll(alsoTell);
        trackRebalance(g, now);
        shard.write(List.of(g), List.of(), now, e -> coordinator.writeFailed(shard, e));
        for (String id : tell) {
            MemberState m = g.members.get(id);
            if (m != null) {
                tell(shard, g, m);
            }
        }
    }

    /** Sends the member its assignment as it is now, once every write made so far committed. */
    private void tell(GroupShard shard, ConsumerGroup g, MemberState m) {
        MemberSession s = sessions.get(key(g.groupId, m.memberId));
        if (s == null) {
            return;
        }
        // On the wire 0 means "not removed for a broken stream" (a static member): a grace of 0, removed at the next
        // liveness check, is told as 1 ms, or the member would go on consuming for most of a session meanwhile.
        GroupTypes.Assignment a = new GroupTypes.Assignment(m.memberId, m.epoch, coordinator.config.heartbeatIntervalMs(),
                m.sessionTimeoutMs, m.isStatic() ? 0 : Math.max(1, coordinator.config.streamGraceMs()),
                List.copyOf(m.assigned), ++m.pushVersion);
        m.answeredAtMs = coordinator.time.milliseconds();
        shard.afterWrites(() -> {
            if (!s.ended) {
                s.channel.send(a);
            }
        }, e -> end(s, e), () -> coordinator.post(shard::drain));
    }

    /**
     * A loaded member's versions start at this load's base; what it was releasing counts as told by the first
     * response of this coordinator (the earlier one's pushes may never have arrived).
     */
    static void startVersions(MemberState m, long base) {
        m.pushVersion = base;
        m.revokedAt.clear();
        m.revoking.forEach(tp -> m.revokedAt.put(tp, base + 1));
    }

    private void trackRebalance(ConsumerGroup g, long now) {
        boolean stable = !g.state().equals("RECONCILING");
        if (!stable && g.reconcilingSinceMs < 0) {
            g.reconcilingSinceMs = now;
        } else if (stable && g.reconcilingSinceMs >= 0) {
            coordinator.metrics.rebalances.increment();
            coordinator.metrics.rebalanceMillis.add(now - g.reconcilingSinceMs);
            g.reconcilingSinceMs = -1;
        }
    }

    private void removeMember(ConsumerGroup g, String memberId, RafkaException tellStream) {
        g.removeMember(memberId);
        MemberSession s = sessions.remove(key(g.groupId, memberId));
        if (s != null && tellStream != null) {
            end(s, tellStream);
        }
    }

    private void bind(MemberSession s, ConsumerGroup g, MemberState m) {
        s.groupId = g.groupId;
        s.memberId = m.memberId;
        sessions.put(key(g.groupId, m.memberId), s);
        alive(m);
    }

    private void alive(MemberState m) {
        m.lastHeartbeatMs = coordinator.time.milliseconds();
        m.connected = true;
        m.disconnectedAtMs = -1;
        m.leftTemporarily = false;
    }

    private void end(MemberSession s, RafkaException error) {
        if (s.ended) {
            return;
        }
        s.ended = true;
        if (s.memberId != null && sessions.get(key(s.groupId, s.memberId)) == s) {
            sessions.remove(key(s.groupId, s.memberId));
        }
        s.channel.fail(error);
    }

    private int sessionTimeout(GroupTypes.Heartbeat req) {
        GroupConfig c = coordinator.config;
        int t = req.sessionTimeoutMs() == 0 ? c.sessionTimeoutMs() : req.sessionTimeoutMs();
        if (t < c.minSessionTimeoutMs() || t > c.maxSessionTimeoutMs()) {
            throw new RafkaException(ErrorCode.INVALID_SESSION_TIMEOUT, "session timeout " + t + " ms is outside "
                    + c.minSessionTimeoutMs() + ".." + c.maxSessionTimeoutMs() + " ms");
        }
        return t;
    }

    static final int MAX_ID_LENGTH = 255;
    static final int MAX_TOPIC_LENGTH = 249;
    static final int MAX_SUBSCRIBED_TOPICS = 10_000;
    /**
     * The member's record (subscription, then what it owns and is assigned) is one record of the group's
     * coordinator partition, whose records are at most 1 MiB: a subscription that alone took most of it would fail
     * every write of the member, and with it the writes of every group of that partition.
     */
    static final int MAX_SUBSCRIPTION_CHARS = 256 * 1024;

    private static void validateSubscription(GroupTypes.Heartbeat req, boolean join) {
        if (join && req.topics().isEmpty() && req.pattern().isEmpty()) {
            throw invalid("a member subscribes to at least one topic or a pattern");
        }
        if (req.memberId().length() > MAX_ID_LENGTH || req.instanceId().length() > MAX_ID_LENGTH
                || req.clientId().length() > MAX_ID_LENGTH) {
            throw invalid("member, instance and client ids are at most " + MAX_ID_LENGTH + " characters long");
        }
        if (req.topics().size() > MAX_SUBSCRIBED_TOPICS || req.pattern().length() > SubscriptionPattern.MAX_LENGTH) {
            throw invalid("at most " + MAX_SUBSCRIBED_TOPICS + " subscribed topics and a pattern of at most "
                    + SubscriptionPattern.MAX_LENGTH + " characters");
        }
        long subscriptionChars = 0;
        for (String topic : req.topics()) {
            if (topic.isEmpty() || topic.length() > MAX_TOPIC_LENGTH) {
                throw invalid("a subscribed topic name is 1 to " + MAX_TOPIC_LENGTH + " characters long");
            }
            subscriptionChars += topic.length();
        }
        if (subscriptionChars > MAX_SUBSCRIPTION_CHARS) {
            throw invalid("a member's subscribed topic names are at most " + MAX_SUBSCRIPTION_CHARS + " characters together ("
                    + subscriptionChars + " here); subscribe to a pattern instead");
        }
        if (!req.pattern().isEmpty()) {
            try {
                SubscriptionPattern.compile(req.pattern());
            } catch (IllegalArgumentException e) {
                throw invalid(e.getMessage());
            }
        }
        if (req.rebalanceTimeoutMs() < 0) {
            throw invalid("negative rebalance timeout");
        }
    }

    private static RafkaException invalid(String message) {
        return new RafkaException(ErrorCode.INVALID_REQUEST, message);
    }
}
