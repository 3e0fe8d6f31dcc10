package io.rafka.metadata;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MetadataCodecTest {
    @Test
    void recordsAndImagesRoundTrip() {
        List<MetadataRecord> records = List.of(
                new MetadataRecord.RegisterBroker(new BrokerInfo("b0", "127.0.0.1", 9092, 9093)),
                new MetadataRecord.RegisterBroker(new BrokerInfo("b1", "host-1", 9092, 9093)),
                new MetadataRecord.CreateTopic(new TopicInfo("orders", UUID.randomUUID(),
                        List.of(List.of("b0", "b1"), List.of("b1", "b0")), Map.of("retention.ms", "1000"))),
                new MetadataRecord.CreatePartitions("orders", List.of(List.of("b0", "b1"))),
                new MetadataRecord.AlterConfigs("orders", Map.of("segment.bytes", "1048576", "retention.ms", "5")),
                new MetadataRecord.ReorderReplicas("orders", 2, List.of("b1", "b0")),
                new MetadataRecord.CreateTopic(new TopicInfo("gone", UUID.randomUUID(), List.of(List.of("b0")), Map.of())),
                new MetadataRecord.PartitionLeaders("b1", List.of(new MetadataRecord.LeaderEpoch("orders", 0, 3),
                        new MetadataRecord.LeaderEpoch("orders", 1, 2), new MetadataRecord.LeaderEpoch("gone", 0, 1))),
                new MetadataRecord.PartitionLeaders("b0", List.of(new MetadataRecord.LeaderEpoch("orders", 0, 2),
                        new MetadataRecord.LeaderEpoch("orders", 1, 5), new MetadataRecord.LeaderEpoch("orders", 9, 5))),
                new MetadataRecord.DeleteTopic("gone"),
                new MetadataRecord.UnregisterBroker("b9"));
        assertEquals(records, MetadataCodec.decodeRecords(MetadataCodec.encodeRecords(records)));
        MetadataImage image = MetadataImage.EMPTY;
        for (MetadataRecord r : records) {
            image = image.apply(r);
        }
        assertEquals(image, MetadataCodec.decodeImage(MetadataCodec.encodeImage(image)));
        assertEquals(List.of("b1", "b0"), image.topic("orders").assignments().get(2));
        assertEquals(11, image.version());
        // A leader is replaced only by one of the same or a newer epoch; deleted topics lose theirs.
        assertEquals(new MetadataImage.PartitionLeader("b1", 3), image.leader(new io.rafka.common.TopicPartition("orders", 0)));
        assertEquals(new MetadataImage.PartitionLeader("b0", 5), image.leader(new io.rafka.common.TopicPartition("orders", 1)));
        assertEquals(2, image.leaders().size(), "no leader for a partition that does not exist, none for the deleted topic");
        assertThrows(IllegalArgumentException.class, () -> MetadataCodec.decodeRecords(new byte[] {9, 0, 0}));
    }

    /**
     * Bytes that are not a whole entry are refused as unreadable (skipped alike on every member), whatever they
     * claim: a forged count is not an allocation of that many elements (it ended every member's apply thread).
     */
    @Test
    void truncatedOrForgedBytesAreUnreadableNotFatal() {
        List<MetadataRecord> records = List.of(
                new MetadataRecord.CreateTopic(new TopicInfo("t", UUID.randomUUID(), List.of(List.of("b0", "b1")), Map.of("k", "v"))),
                new MetadataRecord.ReassignReplicas("t", 0, List.of("b1", "b2")),
                new MetadataRecord.PartitionLeaders("b1", List.of(new MetadataRecord.LeaderEpoch("t", 0, 3))));
        byte[] whole = MetadataCodec.encodeRecords(records);
        assertEquals(records, MetadataCodec.decodeRecords(whole));
        for (int length = 0; length < whole.length; length++) {
            byte[] cut = java.util.Arrays.copyOf(whole, length);
            assertThrows(IllegalArgumentException.class, () -> MetadataCodec.decodeRecords(cut), "cut at " + length);
        }
        byte version = whole[0];
        assertThrows(IllegalArgumentException.class, () -> MetadataCodec.decodeRecords(new byte[] {version, 0x7f, -1, -1, -1}));
        assertThrows(IllegalArgumentException.class, () -> MetadataCodec.decodeRecords(new byte[] {version, -1, -1, -1, -1}));
        // A count inside a record: a reassignment claiming 2^31-1 replicas.
        java.nio.ByteBuffer forged = java.nio.ByteBuffer.allocate(17).put(version).putInt(1).put((byte) 9)
                .putShort((short) 1).put((byte) 't').putInt(0).putInt(Integer.MAX_VALUE);
        assertThrows(IllegalArgumentException.class, () -> MetadataCodec.decodeRecords(java.util.Arrays.copyOf(forged.array(), forged.position())));
    }

    /**
     * A leader publication decided for a topic that was then deleted and created again under its name (its
     * partitions' terms restart at 1) is ignored when it is applied late, instead of naming a leader with an epoch
     * the new topic's leaders cannot replace.
     */
    @Test
    void aLatePublicationForADeletedTopicDoesNotStickToItsNamesake() {
        UUID first = UUID.randomUUID();
        UUID second = UUID.randomUUID();
        MetadataRecord stale = new MetadataRecord.PartitionLeaders("b1", List.of(new MetadataRecord.LeaderEpoch("t", 0, 57, first)));
        MetadataImage image = MetadataImage.EMPTY
                .apply(new MetadataRecord.CreateTopic(new TopicInfo("t", first, List.of(List.of("b0", "b1")), Map.of())))
                .apply(new MetadataRecord.DeleteTopic("t"))
                .apply(new MetadataRecord.CreateTopic(new TopicInfo("t", second, List.of(List.of("b0", "b1")), Map.of())));
        io.rafka.common.TopicPartition tp = new io.rafka.common.TopicPartition("t", 0);
        image = image.apply(MetadataCodec.decodeRecords(MetadataCodec.encodeRecords(List.of(stale))).get(0));
        assertEquals(null, image.leader(tp), "the deleted incarnation's leader is not the new one's");
        image = image.apply(new MetadataRecord.PartitionLeaders("b0", List.of(new MetadataRecord.LeaderEpoch("t", 0, 1, second))));
        assertEquals(new MetadataImage.PartitionLeader("b0", 1), image.leader(tp));

        // Entries of the format before topic ids (type 8) still read, for whichever incarnation has the name.
        java.nio.ByteBuffer old = java.nio.ByteBuffer.allocate(64).put(MetadataCodec.encodeRecords(List.of())[0]).putInt(1)
                .put((byte) 8).putShort((short) 2).put("b1".getBytes()).putInt(1)
                .putShort((short) 1).put((byte) 't').putInt(0).putLong(3);
        List<MetadataRecord> decoded = MetadataCodec.decodeRecords(java.util.Arrays.copyOf(old.array(), old.position()));
        assertEquals(List.of(new MetadataRecord.PartitionLeaders("b1", List.of(new MetadataRecord.LeaderEpoch("t", 0, 3)))), decoded);
        assertEquals(new MetadataImage.PartitionLeader("b1", 3), image.apply(decoded.get(0)).leader(tp));
    }

    @Test
    void producerIdBlocksAdvanceOnlyFromTheNextFreeId() {
        MetadataImage image = MetadataImage.EMPTY
                .apply(new MetadataRecord.AllocateProducerIds("b0", 0, 1000))
                .apply(new MetadataRecord.AllocateProducerIds("b1", 1000, 1000))
                // A stale decision (a block that starts anywhere else) is ignored on every member alike.
                .apply(new MetadataRecord.AllocateProducerIds("b2", 1000, 1000));
        assertEquals(2000, image.nextProducerId());
        List<MetadataRecord> records = List.of(new MetadataRecord.AllocateProducerIds("b1", 1000, 1000));
        assertEquals(records, MetadataCodec.decodeRecords(MetadataCodec.encodeRecords(records)));
        MetadataImage decoded = MetadataCodec.decodeImage(MetadataCodec.encodeImage(image));
        assertEquals(image, decoded);
        assertEquals(2000, decoded.nextProducerId(), "the next block survives a snapshot (and so a restart)");
    }
}
