package io.rafka.client.consumer;

import io.rafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MockConsumerTest {
    private final TopicPartition p0 = new TopicPartition("orders", 0);
    private final TopicPartition p1 = new TopicPartition("orders", 1);

    @Test
    void returnsAddedRecordsFromThePositionAndCommitsPositions() {
        MockConsumer<String, String> consumer = new MockConsumer<>("earliest");
        consumer.subscribe(List.of("orders"));
        consumer.rebalance(List.of(p0, p1));
        consumer.addRecord(new ConsumerRecord<>("orders", 0, 0, "a", "1"));
        consumer.addRecord(new ConsumerRecord<>("orders", 0, 1, "b", "2"));
        consumer.addRecord(new ConsumerRecord<>("orders", 1, 0, "c", "3"));
        ConsumerRecords<String, String> records = consumer.poll(Duration.ZERO);
        assertEquals(3, records.count());
        assertEquals(List.of("1", "2"), records.records(p0).stream().map(ConsumerRecord::value).toList());
        assertEquals(2, consumer.position(p0));
        consumer.commitSync();
        assertEquals(2, consumer.committed(Set.of(p0)).get(p0).offset());
        assertTrue(consumer.poll(Duration.ZERO).isEmpty());
    }

    @Test
    void rebalanceTellsTheListenerAndPollTasksRunInsidePoll() {
        MockConsumer<String, String> consumer = new MockConsumer<>("latest");
        List<String> events = new ArrayList<>();
        consumer.subscribe(List.of("orders"), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                events.add("revoked " + partitions);
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                events.add("assigned " + partitions);
            }
        });
        consumer.rebalance(List.of(p0));
        consumer.schedulePollTask(() -> consumer.rebalance(List.of(p1)));
        consumer.poll(Duration.ZERO);
        assertEquals(List.of("assigned [orders-0]", "revoked [orders-0]", "assigned [orders-1]"), events);
        assertEquals(Set.of(p1), consumer.assignment());
    }

    @Test
    void seekPauseWakeupAndOffsetResetNone() {
        MockConsumer<String, String> consumer = new MockConsumer<>("none");
        consumer.assign(List.of(p0));
        assertThrows(NoOffsetForPartitionException.class, () -> consumer.position(p0));
        consumer.seek(p0, 1);
        consumer.addRecord(new ConsumerRecord<>("orders", 0, 0, "a", "skipped"));
        consumer.addRecord(new ConsumerRecord<>("orders", 0, 1, "b", "read"));
        consumer.pause(List.of(p0));
        assertTrue(consumer.poll(Duration.ZERO).isEmpty());
        consumer.resume(List.of(p0));
        assertEquals(List.of("read"), consumer.poll(Duration.ZERO).records(p0).stream().map(ConsumerRecord::value).toList());
        consumer.wakeup();
        assertThrows(WakeupException.class, () -> consumer.poll(Duration.ZERO));
        consumer.commitAsync(Map.of(p0, new OffsetAndMetadata(2)), (offsets, error) -> assertEquals(null, error));
        assertEquals(2, consumer.committed(Set.of(p0)).get(p0).offset());
        consumer.close();
        assertThrows(IllegalStateException.class, () -> consumer.poll(Duration.ZERO));
    }
}
