package io.rafka.client.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import io.rafka.proto.v1.ProducerRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Groups produced records into one batch per partition and hands all open batches to a sink, in one
 * go, when a batch is full or the caller flushes (input went quiet, or ended). A batch holds at most
 * {@value #MAX_BATCH_RECORDS} records and {@value #MAX_BATCH_BYTES} bytes (the records' encoded size),
 * except that a single record larger than that still forms a batch of its own: the broker, not the
 * CLI, decides whether it is too large.
 *
 * <p>Pure: no I/O, so the routing and batching rules are tested on their own. Flushing everything when
 * one batch is full keeps each partition's records in input order without tracking in-flight batches.
 * Not thread-safe.
 */
final class ProduceBatcher {

    static final int MAX_BATCH_RECORDS = 500;
    static final int MAX_BATCH_BYTES = 256 * 1024;

    private final Partitioner partitioner;
    private final Consumer<Map<Integer, List<ProducerRecord>>> sink;
    private final Map<Integer, Batch> open = new TreeMap<>();

    /** @param sink receives the batches of one flush, by partition; it owns the lists it is given */
    ProduceBatcher(Partitioner partitioner, Consumer<Map<Integer, List<ProducerRecord>>> sink) {
        this.partitioner = partitioner;
        this.sink = sink;
    }

    void add(LineRecord line) {
        ProducerRecord record = toRecord(line);
        int size = encodedSize(record);
        int partition = partitioner.partition(line.key());
        Batch batch = open.get(partition);
        if (batch != null && !batch.hasRoomFor(size)) {
            flush();
            partition = partitioner.partition(line.key());   // the sticky partition has moved on
        }
        open.computeIfAbsent(partition, p -> new Batch()).add(record, size);
    }

    /** Hands every non-empty batch to the sink; the sticky partition moves on if its batch was among them. */
    void flush() {
        if (open.isEmpty()) {
            return;
        }
        Map<Integer, List<ProducerRecord>> batches = new TreeMap<>();
        for (Map.Entry<Integer, Batch> entry : open.entrySet()) {
            batches.put(entry.getKey(), entry.getValue().records);
        }
        open.clear();
        for (int partition : batches.keySet()) {
            partitioner.batchClosed(partition);
        }
        sink.accept(batches);
    }

    /** The record's bytes inside its RecordSet: the message plus its field tag and length prefix. */
    static int encodedSize(ProducerRecord record) {
        int size = record.getSerializedSize();
        return 1 + CodedOutputStream.computeUInt32SizeNoTag(size) + size;
    }

    private static ProducerRecord toRecord(LineRecord line) {
        ProducerRecord.Builder record = ProducerRecord.newBuilder().setValue(ByteString.copyFrom(line.value()));
        if (line.key() != null) {
            record.setKey(ByteString.copyFrom(line.key()));
        }
        return record.build();
    }

    /** The records bound for one partition in the next request. */
    private static final class Batch {
        private final List<ProducerRecord> records = new ArrayList<>();
        private int bytes;

        boolean hasRoomFor(int size) {
            return records.size() < MAX_BATCH_RECORDS && bytes + size <= MAX_BATCH_BYTES;
        }

        void add(ProducerRecord record, int size) {
            records.add(record);
            bytes += size;
        }
    }
}
