package io.rafka.server.broker;

import io.rafka.record.Header;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.OptionalLong;

/** One partition's data in a produce request, as the API layer hands it over. */
public record ProducePartition(String topic, int partition, Data data) {

    /** What a client sends: stored-format batches, structured records, or (wrongly) nothing. */
    public sealed interface Data permits EncodedBatches, Records, Missing {
    }

    /** Kafka v2 record batches, as they will be stored; validated before they are replicated. */
    public record EncodedBatches(ByteBuffer batches) implements Data {
    }

    /**
     * Records the broker encodes into one batch. {@code compressionId} is the codec's Kafka id, unchecked
     * (an unknown one is this partition's UNSUPPORTED_COMPRESSION_TYPE); {@code producer} is null unless the
     * set is idempotent.
     */
    public record Records(int compressionId, Producer producer, List<NewRecord> records) implements Data {
    }

    /** Partition data that carries neither form: answered with INVALID_RECORD. */
    public record Missing() implements Data {
    }

    /** An idempotent producer's identity and the first record's sequence number, as sent (unchecked). */
    public record Producer(long producerId, int producerEpoch, int baseSequence) {
    }

    /** One record to encode; no timestamp means the broker's clock at encoding. */
    public record NewRecord(OptionalLong timestampMs, byte[] key, byte[] value, List<Header> headers) {
    }
}
