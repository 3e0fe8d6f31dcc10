package io.rafka.coordinator;

import io.rafka.common.TopicPartition;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatchBuilder;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GroupRecordsTest {

    @Test
    void aMemberHoldingManyPartitionsOfFewTopicsFitsFarBelowTheRecordLimit() {
        ConsumerGroup group = new ConsumerGroup("g");
        MemberState m = new MemberState("m1");
        m.topics.addAll(List.of("a".repeat(200), "b".repeat(200)));
        m.epoch = 7;
        for (int p = 0; p < 10_000; p++) {
            m.assigned.add(new TopicPartition("a".repeat(200), p));
            m.target.add(new TopicPartition("a".repeat(200), p));
            m.target.add(new TopicPartition("b".repeat(200), p));
        }
        m.revoking.add(new TopicPartition("b".repeat(200), 3));
        GroupRecords records = new GroupRecords(1_000);
        records.addMember(group, m.memberId, m);
        List<ByteBuffer> batches = records.build();
        int bytes = batches.stream().mapToInt(ByteBuffer::remaining).sum();
        // Written with the topic's name beside each of its 30,001 partitions, the record held ~6 MiB.
        assertTrue(bytes < 200_000, "the member's record takes " + bytes + " bytes");

        assertReadBack(m, replay(batches));
    }

    /** A batch damaged on disk fails the load rather than loading a wrong offset. */
    @Test
    void aDamagedBatchIsRefusedNotReplayed() {
        ConsumerGroup group = new ConsumerGroup("g");
        CommittedOffset committed = new CommittedOffset(12_345, "", 1_000);
        group.putOffset(new TopicPartition("t", 0), committed);
        GroupRecords records = new GroupRecords(1_000);
        records.addOffset(group, new TopicPartition("t", 0), committed);
        ByteBuffer batch = records.build().get(0);
        assertEquals(12_345, replay(List.of(batch)).get("g").offsets.get(new TopicPartition("t", 0)).offset());
        ByteBuffer damaged = ByteBuffer.allocate(batch.remaining()).put(batch.duplicate()).flip();
        damaged.put(damaged.limit() - 3, (byte) (damaged.get(damaged.limit() - 3) ^ 1));
        org.junit.jupiter.api.Assertions.assertThrows(io.rafka.common.CorruptRecordException.class,
                () -> GroupRecords.replay(damaged, new HashMap<>()));
    }

    private static Map<String, ConsumerGroup> replay(List<ByteBuffer> batches) {
        Map<String, ConsumerGroup> read = new HashMap<>();
        batches.forEach(b -> GroupRecords.replay(b.duplicate(), read));
        return read;
    }

    /** Member m1 of group g as read back is {@code m}. */
    private static void assertReadBack(MemberState m, Map<String, ConsumerGroup> read) {
        MemberState back = read.get("g").members.get("m1");
        assertEquals(m.topics, back.topics);
        assertEquals(m.epoch, back.epoch);
        assertEquals(m.assigned, back.assigned);
        assertEquals(m.revoking, back.revoking);
        assertEquals(m.target, back.target);
    }

    /**
     * A member of 10,000 topics of two partitions each (within the subscription limit): its record, ~1.1 MB, was
     * above message.max.bytes (1 MiB), so its every write, and the reload after it, failed the whole partition.
     */
    @Test
    void aMemberOfThousandsOfTopicsIsWrittenWellBelowTheRecordLimit() {
        ConsumerGroup group = new ConsumerGroup("g");
        group.offsets.put(new TopicPartition("t", 0), new CommittedOffset(5, "", 1));
        MemberState m = new MemberState("m1");
        for (int t = 0; t < 10_000; t++) {
            String topic = "topic-of-some-length-" + t;
            m.topics.add(topic);
            for (int p = 0; p < 2; p++) {
                m.assigned.add(new TopicPartition(topic, p));
                m.target.add(new TopicPartition(topic, p));
            }
        }
        GroupRecords records = new GroupRecords(1_000);
        records.addOffset(group, new TopicPartition("t", 0), group.offsets.get(new TopicPartition("t", 0)));
        records.addMember(group, m.memberId, m);
        List<ByteBuffer> batches = records.build();
        for (ByteBuffer b : batches) {
            assertTrue(b.remaining() < 512 * 1024, "a batch of " + b.remaining() + " bytes");
        }
        Map<String, ConsumerGroup> read = replay(batches);
        assertReadBack(m, read);
        assertEquals(5, read.get("g").offsets.get(new TopicPartition("t", 0)).offset());
    }

    /** When a group became empty survives a reload, so its retention is not counted again from the new load. */
    @Test
    void whenAGroupBecameEmptyIsReadBackAndAGroupValueOfTheFirstVersionStillReads() throws IOException {
        ConsumerGroup empty = new ConsumerGroup("e");
        empty.groupEpoch = 4;
        empty.emptySinceMs = 1_700_000_000_000L;
        ConsumerGroup busy = new ConsumerGroup("b");
        busy.members.put("m1", new MemberState("m1"));
        busy.emptySinceMs = 5;   // stale: a group with members is not empty since anything
        GroupRecords records = new GroupRecords(1_000);
        records.addGroup(empty, false);
        records.addGroup(busy, false);
        Map<String, ConsumerGroup> read = new HashMap<>();
        records.build().forEach(b -> GroupRecords.replay(b, read));
        assertEquals(1_700_000_000_000L, read.get("e").emptySinceMs);
        assertEquals(4, read.get("e").groupEpoch);
        assertEquals(-1, read.get("b").emptySinceMs);

        ByteArrayOutputStream value = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(value);
        out.writeByte(0);
        out.writeInt(7);
        out.writeInt(6);
        ByteArrayOutputStream key = new ByteArrayOutputStream();
        DataOutputStream k = new DataOutputStream(key);
        k.writeByte(GroupRecords.GROUP);
        k.writeUTF("old");
        RecordBatchBuilder batch = new RecordBatchBuilder(CompressionType.NONE);
        batch.append(1_000, key.toByteArray(), value.toByteArray());
        GroupRecords.replay(batch.build(), read);
        assertEquals(7, read.get("old").groupEpoch);
        assertEquals(-1, read.get("old").emptySinceMs, "unknown: counted from the first tick after the load");
    }

    @Test
    void aMemberRecordOfTheFirstVersionStillReads() throws IOException {
        // Version 0's value, as it was written: the topic's name beside every partition.
        ByteArrayOutputStream value = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(value);
        out.writeByte(0);
        out.writeUTF("instance");
        out.writeUTF("client");
        out.writeUTF("host");
        out.writeInt(1);
        out.writeUTF("orders");
        out.writeUTF("");
        out.writeByte(AssignorType.RANGE.ordinal());
        out.writeInt(45_000);
        out.writeInt(60_000);
        out.writeInt(3);
        for (Set<Integer> partitions : List.of(Set.of(0, 1), Set.<Integer>of(), Set.of(1))) {
            out.writeInt(partitions.size());
            for (int p : partitions.stream().sorted().toList()) {
                out.writeUTF("orders");
                out.writeInt(p);
            }
        }
        ByteArrayOutputStream key = new ByteArrayOutputStream();
        DataOutputStream k = new DataOutputStream(key);
        k.writeByte(GroupRecords.MEMBER);
        k.writeUTF("g");
        k.writeUTF("m1");
        RecordBatchBuilder batch = new RecordBatchBuilder(CompressionType.NONE);
        batch.append(1_000, key.toByteArray(), value.toByteArray());

        Map<String, ConsumerGroup> read = new HashMap<>();
        GroupRecords.replay(batch.build(), read);
        MemberState m = read.get("g").members.get("m1");
        assertEquals("instance", m.instanceId);
        assertEquals(AssignorType.RANGE, m.assignor);
        assertEquals(3, m.epoch);
        assertEquals(Set.of(new TopicPartition("orders", 0), new TopicPartition("orders", 1)), m.assigned);
        assertEquals(Set.of(), m.revoking);
        assertEquals(Set.of(new TopicPartition("orders", 1)), m.target);
    }
}
