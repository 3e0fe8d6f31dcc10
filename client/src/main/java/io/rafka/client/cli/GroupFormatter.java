package io.rafka.client.cli;

import io.rafka.proto.v1.Assignor;
import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.DescribeGroupResponse;
import io.rafka.proto.v1.GroupListing;
import io.rafka.proto.v1.GroupPartition;
import io.rafka.proto.v1.MemberDescription;
import io.rafka.proto.v1.TopicPartitions;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The output of the {@code group} commands. Text is laid out like Kafka's {@code kafka-consumer-groups.sh}
 * (columns padded with spaces, {@code -} for an unknown value) so people used to it read it unchanged; JSON
 * ({@code --output json}) carries the same facts with the API's field names, for scripts.
 */
final class GroupFormatter {

    private GroupFormatter() {
    }

    static List<String> listText(List<GroupListing> groups) {
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("GROUP", "STATE", "MEMBERS"));
        for (GroupListing group : groups) {
            rows.add(List.of(group.getGroupId(), group.getState(), Integer.toString(group.getMembers())));
        }
        return table(rows);
    }

    static String listJson(List<GroupListing> groups) {
        List<Object> list = new ArrayList<>();
        for (GroupListing group : groups) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("group_id", group.getGroupId());
            map.put("state", group.getState());
            map.put("members", group.getMembers());
            list.add(map);
        }
        return Json.write(list);
    }

    /** The state line, the per-partition table and the member table. */
    static List<String> describeText(DescribeGroupResponse group) {
        List<String> lines = new ArrayList<>();
        Broker coordinator = group.getCoordinator();
        lines.add("Group: " + group.getGroupId() + "\tState: " + group.getState() + "\tEpoch: " + group.getGroupEpoch()
                + "\tAssignor: " + assignor(group.getAssignor()) + "\tMembers: " + group.getMembersCount()
                + "\tCoordinator: " + coordinator(coordinator));
        lines.add("");
        Map<String, MemberDescription> members = new LinkedHashMap<>();
        group.getMembersList().forEach(m -> members.put(m.getMemberId(), m));
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "OWNER", "HOST", "CLIENT-ID"));
        for (GroupPartition p : group.getPartitionsList()) {
            MemberDescription owner = members.get(p.getOwner());
            rows.add(List.of(group.getGroupId(), p.getTopic(), Integer.toString(p.getPartition()),
                    known(p.getCommittedOffset()), known(p.getLogEndOffset()), known(p.getLag()),
                    orDash(p.getOwner()), owner == null ? "-" : orDash(owner.getHost()),
                    owner == null ? "-" : orDash(owner.getClientId())));
        }
        lines.addAll(table(rows));
        lines.add("");
        rows = new ArrayList<>();
        rows.add(List.of("GROUP", "MEMBER-ID", "INSTANCE-ID", "CLIENT-ID", "HOST", "EPOCH", "CONNECTED", "PARTITIONS"));
        for (MemberDescription m : group.getMembersList()) {
            String owned = m.getAssignmentCount() == 0 ? "idle" : partitions(m.getAssignmentList());
            if (!m.getTargetList().equals(m.getAssignmentList())) {
                owned += " (moving to " + (m.getTargetCount() == 0 ? "none" : partitions(m.getTargetList())) + ")";
            }
            rows.add(List.of(group.getGroupId(), m.getMemberId(), orDash(m.getInstanceId()), orDash(m.getClientId()),
                    orDash(m.getHost()), Integer.toString(m.getMemberEpoch()), Boolean.toString(m.getConnected()), owned));
        }
        lines.addAll(table(rows));
        return lines;
    }

    private static String coordinator(Broker broker) {
        if (broker.getHost().isEmpty()) {
            return "-";
        }
        String address = broker.getHost() + ":" + broker.getPort();
        return broker.getId().isEmpty() ? address : broker.getId() + " (" + address + ")";
    }

    static String describeJson(DescribeGroupResponse group) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("group_id", group.getGroupId());
        map.put("state", group.getState());
        map.put("group_epoch", group.getGroupEpoch());
        map.put("assignor", assignor(group.getAssignor()));
        Broker c = group.getCoordinator();
        map.put("coordinator", c.getHost().isEmpty() ? null : Map.of("id", c.getId(), "host", c.getHost(), "port", c.getPort()));
        List<Object> members = new ArrayList<>();
        for (MemberDescription m : group.getMembersList()) {
            Map<String, Object> member = new LinkedHashMap<>();
            member.put("member_id", m.getMemberId());
            member.put("instance_id", m.getInstanceId());
            member.put("client_id", m.getClientId());
            member.put("host", m.getHost());
            member.put("member_epoch", m.getMemberEpoch());
            member.put("connected", m.getConnected());
            member.put("idle", m.getAssignmentCount() == 0);
            member.put("assignment", partitionsJson(m.getAssignmentList()));
            member.put("target", partitionsJson(m.getTargetList()));
            member.put("subscribed_topics", new ArrayList<>(m.getSubscribedTopicsList()));
            member.put("subscribed_pattern", m.getSubscribedPattern());
            members.add(member);
        }
        map.put("members", members);
        List<Object> partitions = new ArrayList<>();
        for (GroupPartition p : group.getPartitionsList()) {
            Map<String, Object> partition = new LinkedHashMap<>();
            partition.put("topic", p.getTopic());
            partition.put("partition", p.getPartition());
            partition.put("committed_offset", p.getCommittedOffset());
            partition.put("log_end_offset", p.getLogEndOffset());
            partition.put("lag", p.getLag());
            partition.put("owner", p.getOwner());
            partition.put("metadata", p.getMetadata());
            partitions.add(partition);
        }
        map.put("partitions", partitions);
        return Json.write(map);
    }

    static List<String> resetText(String groupId, List<ResetPlan.Row> plan) {
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"));
        for (ResetPlan.Row row : plan) {
            rows.add(List.of(groupId, row.tp().topic(), Integer.toString(row.tp().partition()), known(row.current()),
                    Long.toString(row.target())));
        }
        return table(rows);
    }

    /** {@code orders:0,1,2 payments:3}: a member's partitions, per topic. */
    static String partitions(List<TopicPartitions> partitions) {
        return partitions.stream()
                .map(t -> t.getTopic() + ":" + t.getPartitionsList().stream().map(String::valueOf).collect(Collectors.joining(",")))
                .collect(Collectors.joining(" "));
    }

    private static List<Object> partitionsJson(List<TopicPartitions> partitions) {
        List<Object> list = new ArrayList<>();
        for (TopicPartitions t : partitions) {
            list.add(Map.of("topic", t.getTopic(), "partitions", new ArrayList<>(t.getPartitionsList())));
        }
        return list;
    }

    static String assignor(Assignor assignor) {
        return switch (assignor) {
            case ASSIGNOR_RANGE -> "range";
            case ASSIGNOR_UNIFORM -> "uniform";
            default -> "unknown";
        };
    }

    /** Columns padded to their widest cell and separated by two spaces; the last column is not padded. */
    static List<String> table(List<List<String>> rows) {
        int columns = rows.get(0).size();
        int[] widths = new int[columns];
        for (List<String> row : rows) {
            for (int i = 0; i < columns; i++) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        List<String> lines = new ArrayList<>();
        for (List<String> row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < columns; i++) {
                line.append(row.get(i));
                if (i < columns - 1) {
                    line.append(" ".repeat(widths[i] - row.get(i).length() + 2));
                }
            }
            lines.add(line.toString());
        }
        return lines;
    }

    private static String known(long value) {
        return value < 0 ? "-" : Long.toString(value);
    }

    private static String orDash(String text) {
        return text.isEmpty() ? "-" : text;
    }
}
