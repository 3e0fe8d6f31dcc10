package io.rafka.client.producer.internals;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The hash and the partition must equal Kafka's bit for bit. Expected values: the first group are the
 * vectors of Kafka's own UtilsTest; the others were computed with kafka-clients 4.3.1's
 * {@code Utils.murmur2} and {@code Utils.toPositive(hash) % n} (the default partitioner's formula), which
 * {@link #equalsKafkaClientsOnRandomKeys} also calls directly.
 */
class Murmur2Test {

    @Test
    void matchesKafkasTestVectors() {
        assertEquals(-973932308, hash("21"));
        assertEquals(-790332482, hash("foobar"));
        assertEquals(-985981536, hash("a-little-bit-long-string"));
        assertEquals(-1486304829, hash("a-little-bit-longer-string"));
        assertEquals(-58897971, hash("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"));
        assertEquals(479470107, hash("abc"));
    }

    @Test
    void everyTailLengthMatchesKafka() {
        // 0 to 3 bytes after the last whole 4-byte word, then a whole word and no tail.
        assertEquals(275646681, hash(""));
        assertEquals(-1563381124, hash("a"));
        assertEquals(316155434, hash("ab"));
        assertEquals(479470107, hash("abc"));
        assertEquals(-1323649548, hash("abcd"));
        assertEquals(-1993445489, hash("1"));
        assertEquals(126087238, hash("12"));
        assertEquals(-267702483, hash("123"));
        assertEquals(-1614185708, hash("1234"));
        assertEquals(-1188365604, hash("12345"));
    }

    @Test
    void bytesAreReadUnsigned() {
        // Sign-extending a byte instead of masking it would change these.
        assertEquals(768357719, Murmur2.hash(new byte[] {(byte) 0xff, (byte) 0x80, 0x00, 0x7f, (byte) 0xfe}));
        assertEquals(614509002, hash("héllo"));
    }

    @Test
    void partitionIsKafkasDefaultPartitionersChoice() {
        assertEquals(1, partition("key-0", 3));
        assertEquals(0, partition("key-1", 3));
        assertEquals(2, partition("key-2", 3));
        assertEquals(0, partition("user-42", 10));
        assertEquals(9, partition("orders/7", 10));
        assertEquals(6, partition("orders/7", 7));
        // Negative hashes: the sign bit is masked off, not abs()'d.
        assertEquals(0, partition("21", 3));
        assertEquals(6, partition("foobar", 10));
        assertEquals(5, partition("abcd", 7));
        assertEquals(1, partition("", 10));
    }

    /** Against kafka-clients itself (test scope): random keys of every length up to 64 bytes, several partition counts. */
    @Test
    void equalsKafkaClientsOnRandomKeys() {
        java.util.Random random = new java.util.Random(20261130);
        for (int i = 0; i < 20_000; i++) {
            byte[] key = new byte[random.nextInt(65)];
            random.nextBytes(key);
            assertEquals(org.apache.kafka.common.utils.Utils.murmur2(key), Murmur2.hash(key));
            int partitions = 1 + random.nextInt(200);
            assertEquals(org.apache.kafka.common.utils.Utils.toPositive(org.apache.kafka.common.utils.Utils.murmur2(key))
                    % partitions, Murmur2.partition(key, partitions), "partition of a " + key.length + "-byte key");
        }
    }

    private static int hash(String text) {
        return Murmur2.hash(text.getBytes(StandardCharsets.UTF_8));
    }

    private static int partition(String key, int partitions) {
        return Murmur2.partition(key.getBytes(StandardCharsets.UTF_8), partitions);
    }
}
