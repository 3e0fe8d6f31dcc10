package io.rafka.raft.metadata;

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
                new MetadataRecord.DeleteTopic("gone"),
                new MetadataRecord.UnregisterBroker("b9"));
        assertEquals(records, MetadataCodec.decodeRecords(MetadataCodec.encodeRecords(records)));
        MetadataImage image = MetadataImage.EMPTY;
        for (MetadataRecord r : records) {
            image = image.apply(r);
        }
        assertEquals(image, MetadataCodec.decodeImage(MetadataCodec.encodeImage(image)));
        assertEquals(List.of("b1", "b0"), image.topic("orders").assignments().get(2));
        assertEquals(9, image.version());
        assertThrows(IllegalArgumentException.class, () -> MetadataCodec.decodeRecords(new byte[] {9, 0, 0}));
    }
}
