package io.rafka.client.producer.internals;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.rafka.client.producer.Callback;
import io.rafka.client.producer.RecordMetadata;
import io.rafka.common.TopicPartition;
import io.rafka.record.CompressionType;
import io.rafka.record.Header;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32C;

/**
 * One partition's batch: open while records are appended, then sealed into a Kafka v2 record batch, encoded
 * once on the client and sent as is on every attempt, so the broker recognises a retry by producer id, epoch and
 * sequence. A sealed batch is re-stamped (epoch and sequence patched, CRC recomputed) only when its partition's
 * sequence restarts after a batch failed for good ({@link #restamp}). Not thread-safe: guarded by the
 * accumulator's lock; completion runs outside it.
 */
public final class ProducerBatch {
    private static final Logger LOG = LoggerFactory.getLogger(ProducerBatch.class);

    /** One record's handle: what {@code send} returned, and the record's timestamp. */
    private record Thunk(CompletableFuture<RecordMetadata> future, Callback callback, long timestampMs) {
    }

    final TopicPartition tp;
    final PartitionQueue queue;
    final long createdNanos;
    private final List<Thunk> thunks = new ArrayList<>();
    private RecordBatchBuilder builder;
    private ByteBuffer data;
    /** Buffer memory this batch holds: what it reserved when opened, then (once sealed) what it uses. */
    long reservedBytes;
    int baseSequence = -1;
    /** The producer id the batch is stamped with; -1 without idempotence. */
    long producerId = -1;
    /**
     * Seal order within the partition (0, 1, 2, ...; -1 until sealed): retries go out in this order, whatever
     * their sequence, and the records' completions run in it.
     */
    long order = -1;
    /**
     * The seal orders this batch stands for, from {@link #order} on: its own and those its halves may take when it is
     * split ({@link PartitionQueue#ORDER_SPAN} for a batch sealed as it filled, half its batch's for a half).
     */
    long orderSpan;
    int attempts;
    /** The last retriable failure, reported if the batch expires. */
    io.rafka.common.ErrorCode lastError;
    String lastErrorMessage;
    /**
     * Whether an attempt may have written this batch: it went out on a stream that broke, or timed out. Cleared when
     * the leader refuses it as out of order (the leader's producer state, which covers its whole log, lacks it).
     */
    boolean mayBeWritten;
    /**
     * Whether any attempt ever may have written it (not cleared): a partition with no state of the producer at all
     * (UNKNOWN_PRODUCER_ID) may have lost it with the batch in it, so such a batch is not sent again under a new stamp.
     */
    boolean everMayHaveBeenWritten;
    /** Completes once every record's future did (flush waits on it). */
    final CompletableFuture<Void> done = new CompletableFuture<>();

    ProducerBatch(PartitionQueue queue, CompressionType compression, long nowNanos, long reservedBytes) {
        this.queue = queue;
        this.tp = queue.tp;
        this.createdNanos = nowNanos;
        this.builder = new RecordBatchBuilder(compression);
        this.reservedBytes = reservedBytes;
    }

    int recordCount() {
        return thunks.size();
    }

    int estimatedSizeInBytes() {
        return builder.estimatedSizeInBytes();
    }

    /**
     * Whether a record of {@code size} bytes (its accounted size, {@link RecordAccumulator#sizeOf}) still fits this
     * open batch: within {@code batchSizeBytes} and within the memory the batch reserved.
     */
    boolean fits(long size, int batchSizeBytes) {
        long after = builder.estimatedSizeInBytes() + size;
        return after <= batchSizeBytes && after <= reservedBytes;
    }

    CompletableFuture<RecordMetadata> append(long timestampMs, byte[] key, byte[] value, List<Header> headers,
                                             Callback callback) {
        builder.append(timestampMs, key, value, headers);
        CompletableFuture<RecordMetadata> future = new CompletableFuture<>();
        thunks.add(new Thunk(future, callback, timestampMs));
        return future;
    }

    /** Before sealing: keeps only the memory the batch uses and returns how much of its reservation is free again. */
    long releaseUnused() {
        long unused = Math.max(0, reservedBytes - builder.estimatedSizeInBytes());
        reservedBytes -= unused;
        return unused;
    }

    /** Encodes the batch, idempotent when {@code producerId >= 0}. */
    void seal(long producerId, short epoch, int baseSequence) {
        if (producerId >= 0) {
            this.producerId = producerId;
            builder.producer(producerId, epoch, baseSequence);
            this.baseSequence = baseSequence;
        }
        data = builder.build();
        builder = null;
    }

    boolean sealed() {
        return data != null;
    }

    ByteString data() {
        return UnsafeByteOperations.unsafeWrap(data.duplicate());
    }

    int sizeInBytes() {
        return data.remaining();
    }

    /** Gives the sealed batch a new producer id, epoch and base sequence: patched in a copy, CRC recomputed. */
    void restamp(long producerId, short epoch, int newBaseSequence) {
        ByteBuffer copy = ByteBuffer.allocate(data.remaining());
        copy.put(data.duplicate()).flip();
        copy.putLong(RecordBatch.PRODUCER_ID_OFFSET, producerId);
        copy.putShort(RecordBatch.PRODUCER_EPOCH_OFFSET, epoch);
        copy.putInt(RecordBatch.BASE_SEQUENCE_OFFSET, newBaseSequence);
        this.producerId = producerId;
        CRC32C crc = new CRC32C();
        crc.update(copy.duplicate().position(RecordBatch.ATTRIBUTES_OFFSET)); // the CRC covers attributes to the end
        copy.putInt(RecordBatch.CRC_OFFSET, (int) crc.getValue());
        data = copy;
        baseSequence = newBaseSequence;
    }

    /** Whether {@link #split} can halve this batch: sealed, more than one record, and seal orders left for halves. */
    boolean splittable() {
        return sealed() && thunks.size() > 1 && orderSpan >= 2;
    }

    /**
     * This batch in two, for a broker that refused it as too large for the topic without writing it: the first half
     * of its records, then the rest, each encoded again as a sealed batch (same compression, producer id and epoch;
     * the first half keeps the base sequence, the second's follows the first's records), in this batch's place in
     * the partition's order and with its delivery deadline. Its buffer memory moves to them, and its {@link #done}
     * completes once both halves' have; the batch itself must not be completed.
     */
    List<ProducerBatch> split() {
        if (!splittable()) {
            throw new IllegalStateException(this + " cannot be split");
        }
        RecordBatch stored = new RecordBatch(data.duplicate());
        List<Record> records = stored.records();
        if (records.size() != thunks.size()) {
            throw new IllegalStateException(this + " holds " + records.size() + " records, not " + thunks.size());
        }
        int firstCount = records.size() / 2;
        long halfSpan = orderSpan / 2;
        long memory = reservedBytes;
        List<ProducerBatch> halves = new ArrayList<>(2);
        for (int h = 0; h < 2; h++) {
            int from = h == 0 ? 0 : firstCount;
            int to = h == 0 ? firstCount : records.size();
            ProducerBatch half = new ProducerBatch(queue, stored.compressionType(), createdNanos, 0);
            for (int i = from; i < to; i++) {
                Record r = records.get(i);
                half.builder.append(r.timestamp(), r.key(), r.value(), r.headers());
                half.thunks.add(thunks.get(i));
            }
            half.order = order + h * halfSpan;
            half.orderSpan = halfSpan;
            half.attempts = Math.max(0, attempts - 1);  // the refused attempt is not a retry, as in Kafka's producer
            half.seal(producerId, stored.producerEpoch(), producerId < 0 ? -1 : PartitionQueue.next(baseSequence, from));
            half.reservedBytes = h == 0 ? Math.min(memory, half.sizeInBytes()) : memory;
            memory -= half.reservedBytes;
            halves.add(half);
        }
        reservedBytes = 0;
        CompletableFuture.allOf(halves.get(0).done, halves.get(1).done).whenComplete((v, e) -> done.complete(null));
        return halves;
    }

    /** Completes every record's future and callback; call outside any lock (user code runs here). */
    void complete(long baseOffset, long logAppendTimeMs) {
        for (int i = 0; i < thunks.size(); i++) {
            Thunk t = thunks.get(i);
            RecordMetadata m = new RecordMetadata(tp.topic(), tp.partition(), baseOffset < 0 ? -1 : baseOffset + i,
                    logAppendTimeMs >= 0 ? logAppendTimeMs : t.timestampMs());
            callback(t, m, null);
            t.future().complete(m);
        }
        done.complete(null);
    }

    /** Fails every record's future and callback; call outside any lock. */
    void fail(RuntimeException error) {
        RecordMetadata failed = RecordMetadata.failed(tp.topic(), tp.partition());
        for (Thunk t : thunks) {
            callback(t, failed, error);
            t.future().completeExceptionally(error);
        }
        done.complete(null);
    }

    private static void callback(Thunk t, RecordMetadata m, Exception e) {
        if (t.callback() == null) {
            return;
        }
        try {
            t.callback().onCompletion(m, e);
        } catch (Throwable thrown) {
            // An Error too (an assertion in a test's callback): the records after it must still complete.
            LOG.error("a producer callback threw", thrown);
        }
    }

    @Override
    public String toString() {
        return tp + "@seq" + baseSequence + "(" + thunks.size() + " records)";
    }
}
