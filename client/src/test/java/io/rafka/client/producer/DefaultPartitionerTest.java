package io.rafka.client.producer;

import io.rafka.client.producer.internals.Murmur2;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class DefaultPartitionerTest {
    private final DefaultPartitioner partitioner = new DefaultPartitioner();

    @Test
    void keyedRecordsLandWhereKafkasClientsPutThem() {
        // Murmur2Test holds the values kafka-clients computes; here: the partitioner uses exactly that function.
        assertEquals(9, partition("orders/7", 10));
        for (int i = 0; i < 1000; i++) {
            String key = "key-" + i;
            assertEquals(Murmur2.partition(key.getBytes(StandardCharsets.UTF_8), 12), partition(key, 12), key);
        }
    }

    @Test
    void keylessRecordsStickForABatchsWorthOfBytes() {
        int first = partitioner.partition("t", null, 4);
        for (int i = 0; i < 15; i++) {
            assertEquals(first, partitioner.partition("t", null, 4));
            partitioner.onAppend("t", first, 1000, 16_384, 4);
        }
        partitioner.onAppend("t", (first + 1) % 4, 5000, 16_384, 4);  // another partition's record: no move
        assertEquals(first, partitioner.partition("t", null, 4));
        partitioner.onAppend("t", first, 1384, 16_384, 4);  // 16,384 bytes in all
        int second = partitioner.partition("t", null, 4);
        assertEquals((first + 1) % 4, second);
        partitioner.onAppend("t", second, 100, 16_384, 4);
        assertEquals(second, partitioner.partition("t", null, 4), "the count starts over on the next partition");
    }

    @Test
    void aFullBatchMovesTheStickyPartitionOnAtOnce() {
        int first = partitioner.partition("t", null, 4);
        partitioner.onAppend("t", first, 100, 16_384, 4);
        partitioner.onBatchClosed("t", (first + 1) % 4, 4);  // another partition's batch: no move
        assertEquals(first, partitioner.partition("t", null, 4));
        partitioner.onBatchClosed("t", first, 4);
        int second = partitioner.partition("t", null, 4);
        assertEquals((first + 1) % 4, second);
        assertNotEquals(first, second);
    }

    private int partition(String key, int n) {
        return partitioner.partition("t", key.getBytes(StandardCharsets.UTF_8), n);
    }
}
