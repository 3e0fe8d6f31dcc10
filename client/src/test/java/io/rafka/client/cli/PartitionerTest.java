package io.rafka.client.cli;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PartitionerTest {

    private static byte[] key(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void keyedRecordsGoWhereKafkaPutsThem() {
        Partitioner partitioner = Partitioner.hashing(3, 0);
        assertEquals(1, partitioner.partition(key("key-0")));
        assertEquals(0, partitioner.partition(key("key-1")));
        assertEquals(2, partitioner.partition(key("key-2")));
        // Closing batches moves only unkeyed records; a key's partition never changes.
        partitioner.batchClosed(0);
        partitioner.batchClosed(1);
        assertEquals(1, partitioner.partition(key("key-0")));
        // An empty key is a key: hashed (to 0 for 3 partitions, as in Kafka), not sent to the sticky 2.
        assertEquals(2, partitioner.partition(null));
        assertEquals(0, partitioner.partition(new byte[0]));
    }

    @Test
    void unkeyedRecordsStickUntilTheirBatchCloses() {
        Partitioner partitioner = Partitioner.hashing(3, 1);
        assertEquals(1, partitioner.partition(null));
        assertEquals(1, partitioner.partition(null));
        partitioner.batchClosed(0);                 // not the sticky partition: no move
        assertEquals(1, partitioner.partition(null));
        partitioner.batchClosed(1);
        assertEquals(2, partitioner.partition(null));
        partitioner.batchClosed(2);
        assertEquals(0, partitioner.partition(null)); // round-robin wraps around
    }

    @Test
    void firstStickyPartitionIsTakenModuloTheCount() {
        assertEquals(1, Partitioner.hashing(3, 7).partition(null));
        assertEquals(2, Partitioner.hashing(3, -1).partition(null));
    }

    @Test
    void fixedPartitionTakesEveryRecord() {
        Partitioner partitioner = Partitioner.fixed(4, 2);
        assertEquals(2, partitioner.partition(null));
        assertEquals(2, partitioner.partition(key("key-0")));
        partitioner.batchClosed(2);
        assertEquals(2, partitioner.partition(null));
    }

    @Test
    void rejectsPartitionsThatDoNotExist() {
        assertThrows(IllegalArgumentException.class, () -> Partitioner.fixed(3, 3));
        assertThrows(IllegalArgumentException.class, () -> Partitioner.fixed(3, -1));
        assertThrows(IllegalArgumentException.class, () -> Partitioner.hashing(0, 0));
    }
}
