package io.rafka.client.producer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class DefaultPartitionerTest {
    private final DefaultPartitioner partitioner = new DefaultPartitioner();

    @Test
    void keyedRecordsLandWhereKafkasClientsPutThem() {
        // Computed with kafka-clients' Utils.toPositive(Utils.murmur2(key)) % n (see Murmur2Test).
        assertEquals(1, partition("key-0", 3));
        assertEquals(0, partition("key-1", 3));
        assertEquals(2, partition("key-2", 3));
        assertEquals(0, partition("user-42", 10));
        assertEquals(9, partition("orders/7", 10));
        assertEquals(6, partition("foobar", 10));
    }

    @Test
    void keylessRecordsStickUntilTheirBatchCloses() {
        int first = partitioner.partition("t", null, 4);
        for (int i = 0; i < 100; i++) {
            assertEquals(first, partitioner.partition("t", null, 4));
        }
        partitioner.onBatchClosed("t", (first + 1) % 4, 4); // another partition's batch: no move
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
