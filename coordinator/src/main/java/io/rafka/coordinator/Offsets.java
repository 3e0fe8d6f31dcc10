package io.rafka.coordinator;

import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** Committing, reading, altering and deleting a group's offsets, on the coordinator's thread. */
final class Offsets {
    private final GroupCoordinator coordinator;
    private final GroupShard shard;

    Offsets(GroupCoordinator coordinator, GroupShard shard) {
        this.coordinator = coordinator;
        this.shard = shard;
    }

    CompletableFuture<List<GroupTypes.PartitionResult>> commit(String groupId, String memberId, int memberEpoch,
                                                               List<GroupTypes.OffsetCommit> offsets) {
        ConsumerGroup group = shard.groups.get(groupId);
        MemberState member = null;
        if (memberId.isEmpty() && memberEpoch == -1) {
            if (group != null && !group.isEmpty()) {
                throw new RafkaException(ErrorCode.UNKNOWN_MEMBER_ID, "group " + groupId + " has members: commit as"
                        + " one of them (member id and epoch), or stop them first");
            }
        } else {
            member = group == null ? null : group.members.get(memberId);
            if (member == null) {
                throw new RafkaException(ErrorCode.UNKNOWN_MEMBER_ID, "member " + memberId + " is not in group "
                        + groupId + " (it left or was fenced): join again");
            }
            if (memberEpoch > member.epoch) {
                throw new RafkaException(ErrorCode.FENCED_MEMBER_EPOCH, "member epoch " + memberEpoch
                        + " is newer than the coordinator's " + member.epoch + ": join again");
            }
            if (memberEpoch < member.epoch) {
                throw new RafkaException(ErrorCode.STALE_MEMBER_EPOCH, "member epoch " + memberEpoch
                        + " is older than the current " + member.epoch + ": retry with the newest");
            }
        }
        return apply(groupId, group, member, offsets);
    }

    CompletableFuture<List<GroupTypes.PartitionResult>> alter(String groupId, List<GroupTypes.OffsetCommit> offsets) {
        ConsumerGroup group = shard.groups.get(groupId);
        if (group != null && !group.isEmpty()) {
            throw nonEmpty(group, "its offsets cannot be reset");
        }
        return apply(groupId, group, null, offsets);
    }

    CompletableFuture<Void> delete(String groupId) {
        ConsumerGroup group = shard.groups.get(groupId);
        if (group == null) {
            throw new RafkaException(ErrorCode.GROUP_ID_NOT_FOUND, "group " + groupId + " does not exist");
        }
        if (!group.isEmpty()) {
            throw nonEmpty(group, "it cannot be deleted");
        }
        deleteGroup(group);
        return coordinator.answer(shard, null);
    }

    /** Removes a group without members and writes the tombstones of everything it had. */
    void deleteGroup(ConsumerGroup group) {
        group.dirtyOffsets.addAll(group.offsets.keySet());
        shard.groups.remove(group.groupId);
        shard.write(List.of(), List.of(group), coordinator.time.milliseconds(), e -> coordinator.writeFailed(shard, e));
    }

    static Map<TopicPartition, CommittedOffset> fetch(ConsumerGroup group, Collection<TopicPartition> partitions) {
        Map<TopicPartition, CommittedOffset> result = new HashMap<>();
        if (partitions.isEmpty()) {
            if (group != null) {
                result.putAll(group.offsets);
            }
            return result;
        }
        for (TopicPartition tp : partitions) {
            CommittedOffset o = group == null ? null : group.offsets.get(tp);
            result.put(tp, o == null ? new CommittedOffset(-1, "", -1) : o);
        }
        return result;
    }

    private ConsumerGroup newGroup(String groupId) {
        ConsumerGroup group = new ConsumerGroup(groupId);
        group.dirtyGroup = true;
        shard.groups.put(groupId, group);
        return group;
    }

    /**
     * Commits into {@code group}, made (as {@code groupId}) only once an offset is taken: a refused commit (no
     * offsets, BUSY, none valid) leaves no group behind, which would be listed and written for a retention.
     */
    private CompletableFuture<List<GroupTypes.PartitionResult>> apply(String groupId, ConsumerGroup group, MemberState member,
                                                                     List<GroupTypes.OffsetCommit> offsets) {
        if (offsets.isEmpty()) {
            throw new RafkaException(ErrorCode.INVALID_REQUEST, "no offsets to commit");
        }
        shard.requireRoomForWrites();
        long now = coordinator.time.milliseconds();
        List<GroupTypes.PartitionResult> results = new ArrayList<>();
        for (GroupTypes.OffsetCommit c : offsets) {
            GroupTypes.PartitionResult error = check(c, member);
            if (error != null) {
                results.add(error);
                continue;
            }
            if (group == null) {
                shard.requireRoomForGroup(groupId, coordinator.config.maxGroups());
                group = newGroup(groupId);
            }
            group.putOffset(c.partition(), new CommittedOffset(c.offset(), c.metadata(), now));
            group.dirtyOffsets.add(c.partition());
            results.add(GroupTypes.PartitionResult.ok(c.partition()));
        }
        if (group == null) {
            return coordinator.answer(shard, results);
        }
        shard.write(List.of(group), List.of(), now, e -> coordinator.writeFailed(shard, e));
        coordinator.metrics.commits.increment();
        return coordinator.answer(shard, results);
    }

    private GroupTypes.PartitionResult check(GroupTypes.OffsetCommit c, MemberState member) {
        TopicPartition tp = c.partition();
        if (c.offset() < 0) {
            return new GroupTypes.PartitionResult(tp, ErrorCode.INVALID_REQUEST, "offset " + c.offset() + " is negative");
        }
        int metadataBytes = c.metadata().getBytes(StandardCharsets.UTF_8).length;
        if (metadataBytes > coordinator.config.offsetMetadataMaxBytes()) {
            return new GroupTypes.PartitionResult(tp, ErrorCode.INVALID_COMMIT_OFFSET_SIZE, "metadata of "
                    + metadataBytes + " bytes is above group.offset.metadata.max.bytes ("
                    + coordinator.config.offsetMetadataMaxBytes() + ")");
        }
        Integer partitions = coordinator.topics.get(tp.topic());
        if (partitions == null || tp.partition() >= partitions) {
            return new GroupTypes.PartitionResult(tp, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, tp + " does not exist");
        }
        if (member != null && !member.owns(tp)) {
            return new GroupTypes.PartitionResult(tp, ErrorCode.PARTITION_NOT_OWNED, "member " + member.memberId
                    + " does not own " + tp + " (never had it, or released it)");
        }
        return null;
    }

    /**
     * NON_EMPTY_GROUP, with what to do: stop the consumers, or, when none is connected (static members that left for
     * a restart, or consumers gone without leaving), wait until their session timeouts remove them.
     */
    private static RafkaException nonEmpty(ConsumerGroup group, String what) {
        String prefix = "group " + group.groupId + " has " + group.members.size()
                + (group.members.size() == 1 ? " member" : " members") + ", so " + what + ": ";
        if (group.members.values().stream().anyMatch(m -> m.connected)) {
            return new RafkaException(ErrorCode.NON_EMPTY_GROUP, prefix + "stop its consumers first");
        }
        int longestSessionMs = group.members.values().stream().mapToInt(m -> m.sessionTimeoutMs).max().orElse(0);
        return new RafkaException(ErrorCode.NON_EMPTY_GROUP, prefix + "none is connected now; each is removed once its "
                + "session timeout (up to " + longestSessionMs + " ms) has passed since it was last heard from, or "
                + "comes back if its consumer restarts with the same group.instance.id");
    }
}
