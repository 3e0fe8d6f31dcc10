package io.rafka.client.cli;

import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.DescribeGroupResponse;
import io.rafka.proto.v1.GroupListing;
import io.rafka.proto.v1.GroupPartition;
import io.rafka.proto.v1.MemberDescription;
import io.rafka.proto.v1.TopicPartitions;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GroupFormatterTest {

    static DescribeGroupResponse sample() {
        return DescribeGroupResponse.newBuilder()
                .setGroupId("billing").setState("STABLE").setGroupEpoch(7)
                .setCoordinator(Broker.newBuilder().setId("2").setHost("127.0.0.1").setPort(9292))
                .addMembers(MemberDescription.newBuilder().setMemberId("m-1").setClientId("rafka-cli").setHost("/127.0.0.1")
                        .setMemberEpoch(7).setConnected(true).setInstanceId("host-a")
                        .addAssignment(TopicPartitions.newBuilder().setTopic("orders").addPartitions(0).addPartitions(1))
                        .addTarget(TopicPartitions.newBuilder().setTopic("orders").addPartitions(0).addPartitions(1))
                        .addSubscribedTopics("orders"))
                .addMembers(MemberDescription.newBuilder().setMemberId("m-2").setClientId("rafka-cli").setHost("/127.0.0.2")
                        .setMemberEpoch(6).setConnected(true).addSubscribedTopics("orders"))
                .addPartitions(GroupPartition.newBuilder().setTopic("orders").setPartition(0).setCommittedOffset(10)
                        .setLogEndOffset(15).setLag(5).setOwner("m-1"))
                .addPartitions(GroupPartition.newBuilder().setTopic("orders").setPartition(1).setCommittedOffset(-1)
                        .setLogEndOffset(-1).setLag(-1).setOwner("m-1"))
                .build();
    }

    @Test
    void describeLikeKafkaConsumerGroups() {
        List<String> lines = GroupFormatter.describeText(sample());
        assertEquals("Group: billing\tState: STABLE\tEpoch: 7\tAssignor: uniform\tMembers: 2\tCoordinator: 2 (127.0.0.1:9292)",
                lines.get(0));
        assertEquals(List.of("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "OWNER", "HOST", "CLIENT-ID"),
                List.of(lines.get(2).split(" +")));
        assertEquals(List.of("billing", "orders", "0", "10", "15", "5", "m-1", "/127.0.0.1", "rafka-cli"),
                List.of(lines.get(3).split(" +")));
        assertEquals(List.of("billing", "orders", "1", "-", "-", "-", "m-1", "/127.0.0.1", "rafka-cli"),
                List.of(lines.get(4).split(" +")));
        assertEquals(lines.get(2).indexOf("LAG"), lines.get(3).indexOf(" 5 ") + 1, "columns line up");
        assertEquals(List.of("billing", "m-1", "host-a", "rafka-cli", "/127.0.0.1", "7", "true", "orders:0,1"),
                List.of(lines.get(7).split(" +")));
        assertEquals(List.of("billing", "m-2", "-", "rafka-cli", "/127.0.0.2", "6", "true", "idle"),
                List.of(lines.get(8).split(" +")), "a member without partitions is idle");
    }

    @Test
    void describeJsonKeepsTheApiNames() {
        String json = GroupFormatter.describeJson(sample());
        assertTrue(json.startsWith("{\"group_id\":\"billing\",\"state\":\"STABLE\",\"group_epoch\":7,\"assignor\":\"uniform\","), json);
        assertTrue(json.contains("\"idle\":true"), json);
        assertTrue(json.contains("{\"topic\":\"orders\",\"partition\":0,\"committed_offset\":10,\"log_end_offset\":15,\"lag\":5,"
                + "\"owner\":\"m-1\",\"metadata\":\"\"}"), json);
    }

    @Test
    void listTextAndJson() {
        List<GroupListing> groups = List.of(
                GroupListing.newBuilder().setGroupId("a").setState("EMPTY").build(),
                GroupListing.newBuilder().setGroupId("billing").setState("STABLE").setMembers(3).build());
        assertEquals(List.of("GROUP    STATE   MEMBERS", "a        EMPTY   0", "billing  STABLE  3"), GroupFormatter.listText(groups));
        assertEquals("[{\"group_id\":\"a\",\"state\":\"EMPTY\",\"members\":0},{\"group_id\":\"billing\",\"state\":\"STABLE\",\"members\":3}]",
                GroupFormatter.listJson(groups));
    }

    @Test
    void jsonEscapes() {
        Map<String, Object> map = new java.util.LinkedHashMap<>();
        map.put("k", "a\"b\\c\n\u0001");
        map.put("n", null);
        map.put("l", List.of(1, true));
        assertEquals("{\"k\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":null,\"l\":[1,true]}", Json.write(map));
    }
}
