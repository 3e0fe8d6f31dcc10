package io.rafka.coordinator;

import io.rafka.common.TopicPartition;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** A group as {@code DescribeGroup} shows it. */
final class Descriptions {
    private Descriptions() {
    }

    static GroupTypes.GroupDescription describe(ConsumerGroup g, Map<String, Integer> topics) {
        List<GroupTypes.MemberDescription> members = new ArrayList<>();
        Map<TopicPartition, String> owners = new TreeMap<>(MemberState.ORDER);
        for (MemberState m : g.members.values()) {
            members.add(new GroupTypes.MemberDescription(m.memberId, m.instanceId, m.clientId, m.host, m.epoch,
                    owned(m), List.copyOf(m.target), List.copyOf(m.topics), m.pattern, m.connected));
            m.assigned.forEach(tp -> owners.put(tp, m.memberId));
            m.revoking.forEach(tp -> owners.put(tp, m.memberId));
        }
        Set<TopicPartition> partitions = new TreeSet<>(MemberState.ORDER);
        partitions.addAll(g.offsets.keySet());
        for (MemberState m : g.members.values()) {
            for (String t : g.subscribedTopics(m, topics)) {
                for (int p = 0; p < topics.get(t); p++) {
                    partitions.add(new TopicPartition(t, p));
                }
            }
        }
        List<GroupTypes.GroupPartition> rows = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            CommittedOffset o = g.offsets.get(tp);
            rows.add(new GroupTypes.GroupPartition(tp, o == null ? -1 : o.offset(), o == null ? "" : o.metadata(),
                    owners.getOrDefault(tp, "")));
        }
        return new GroupTypes.GroupDescription(g.groupId, g.state(), g.groupEpoch, g.assignor(), members, rows);
    }

    private static List<TopicPartition> owned(MemberState m) {
        Set<TopicPartition> owned = new TreeSet<>(MemberState.ORDER);
        owned.addAll(m.assigned);
        owned.addAll(m.revoking);
        return List.copyOf(owned);
    }
}
