package io.rafka.server.broker;

/**
 * One partition's produce outcome: on success the first offset written and the log append time (-1 unless
 * the topic uses LogAppendTime) and the log start offset; with acks=none all three are -1. On failure the
 * offsets are -1 and {@code error} says why.
 */
public record ProduceResult(String topic, int partition, long baseOffset, long logAppendTimeMs, long logStartOffset,
                            PartitionError error) {

    static ProduceResult unknownOffsets(String topic, int partition) {
        return new ProduceResult(topic, partition, -1, -1, -1, null);
    }

    static ProduceResult failed(String topic, int partition, PartitionError error) {
        return new ProduceResult(topic, partition, -1, -1, -1, error);
    }
}
