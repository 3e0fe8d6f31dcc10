package io.rafka.client.producer.internals;

/**
 * MurmurHash2 (Austin Appleby's 32-bit hash) with the seed and the tail handling Kafka's clients use
 * to pick the partition of a keyed record. Bit-for-bit agreement with Kafka is the point: a key
 * produced by this CLI lands in the same partition as the same key produced by any Kafka client, so
 * per-key ordering holds across a mixed fleet of producers.
 *
 * <p>The hash reads the input as little-endian 32-bit words, mixes each into the state, then mixes in
 * the 1 to 3 trailing bytes and finishes with an avalanche. Stateless and thread-safe.
 */
public final class Murmur2 {

    /** Kafka's seed: the hash of a key must not depend on anything but its bytes. */
    private static final int SEED = 0x9747b28c;
    private static final int MULTIPLIER = 0x5bd1e995;
    private static final int SHIFT = 24;

    private Murmur2() {
    }

    public static int hash(byte[] data) {
        int length = data.length;
        int h = SEED ^ length;
        int wordBytes = length & ~3;
        for (int i = 0; i < wordBytes; i += 4) {
            h = h * MULTIPLIER ^ mixWord(littleEndianInt(data, i));
        }
        h = mixTail(h, data, wordBytes, length - wordBytes);
        h ^= h >>> 13;
        h *= MULTIPLIER;
        h ^= h >>> 15;
        return h;
    }

    /** The partition Kafka's default partitioner gives a record with this key. */
    public static int partition(byte[] key, int partitionCount) {
        return (hash(key) & 0x7fffffff) % partitionCount;
    }

    private static int mixWord(int k) {
        k *= MULTIPLIER;
        k ^= k >>> SHIFT;
        return k * MULTIPLIER;
    }

    /** The 1 to 3 bytes after the last whole word, as MurmurHash2's fall-through switch takes them. */
    private static int mixTail(int h, byte[] data, int offset, int count) {
        if (count == 0) {
            return h;
        }
        if (count == 3) {
            h ^= (data[offset + 2] & 0xff) << 16;
        }
        if (count >= 2) {
            h ^= (data[offset + 1] & 0xff) << 8;
        }
        h ^= data[offset] & 0xff;
        return h * MULTIPLIER;
    }

    private static int littleEndianInt(byte[] data, int offset) {
        return (data[offset] & 0xff)
                | (data[offset + 1] & 0xff) << 8
                | (data[offset + 2] & 0xff) << 16
                | (data[offset + 3] & 0xff) << 24;
    }
}
