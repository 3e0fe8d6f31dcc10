package io.rafka.client.internals;

import io.rafka.common.CorruptRecordException;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.ConsumerRecord;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;
import io.rafka.record.TimestampType;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns one partition's fetch result into records from the fetch offset on. Stored batches
 * (RECORD_FORMAT_ENCODED) are checked (CRC, as Kafka's {@code check.crcs}) and decoded here, on the gRPC thread
 * that received them, so the work overlaps with the application's processing; records below the fetch offset
 * (a batch may start before it) and control batches are skipped. A broker that answered decoded records is
 * read as well. Each record carries its share of the result's bytes, which the fetcher's memory bound counts.
 * A batch that does not check ends the result there: the records before it are kept, and the result says where
 * the damage is, so that the fetcher can have the broker check its copy.
 *
 * <pre>{@code
 * FetchDecoder.Decoded d = FetchDecoder.decode(tp, result, 1_000);
 * }</pre>
 */
final class FetchDecoder {

    private FetchDecoder() {
    }

    /**
     * The records of one partition's result from the fetch offset on, up to the first batch that does not check if
     * any: {@code damagedOffset} is then where reading must go on (the damaged batch's first offset, or the fetch
     * offset when the batch holds it), else -1.
     */
    record Decoded(List<Fetched> records, long damagedOffset, String damage) {
        static final Decoded EMPTY = new Decoded(List.of(), -1, null);

        boolean damaged() {
            return damagedOffset >= 0;
        }
    }

    static Decoded decode(TopicPartition tp, PartitionFetchResult result, long fromOffset) {
        if (result.getRecordsCount() > 0) {
            List<Fetched> out = new ArrayList<>(result.getRecordsCount());
            for (ConsumerRecord r : result.getRecordsList()) {
                if (r.getOffset() >= fromOffset) {
                    out.add(new Fetched(tp, r, r.getSerializedSize()));
                }
            }
            return new Decoded(out, -1, null);
        }
        if (result.getEncodedBatches().isEmpty()) {
            return Decoded.EMPTY;
        }
        List<RecordBatch> batches;
        try {
            batches = RecordBatches.split(result.getEncodedBatches().asReadOnlyByteBuffer());
        } catch (CorruptRecordException e) {
            return new Decoded(List.of(), fromOffset, e.getMessage());  // a length that does not fit: nothing is trusted
        }
        List<Fetched> out = new ArrayList<>();
        long expected = -1;
        for (RecordBatch batch : batches) {
            // Checked before anything in the batch is trusted: its attributes (control) are under the CRC, its base
            // offset is not, so a batch must also start where the one before it ended (the broker sends them
            // contiguous), or a flipped bit there would skip records or jump the position ahead.
            try {
                batch.ensureValid();
            } catch (CorruptRecordException e) {
                return new Decoded(out, Math.max(fromOffset, expected >= 0 ? expected : batch.baseOffset()), e.getMessage());
            }
            if (expected >= 0 && batch.baseOffset() != expected) {
                return new Decoded(out, Math.max(fromOffset, expected), "a batch at offset " + batch.baseOffset()
                        + " follows one that ended before offset " + expected);
            }
            expected = batch.nextOffset();
            if (batch.lastOffset() < fromOffset || batch.isControl()) {
                continue;
            }
            boolean appendTime = batch.timestampType() == TimestampType.LOG_APPEND_TIME;
            List<Record> records = batch.records();
            int share = batch.sizeInBytes() / Math.max(1, records.size());
            int first = batch.sizeInBytes() - share * (records.size() - 1);
            boolean firstTaken = false;
            for (Record r : records) {
                if (r.offset() >= fromOffset) {
                    out.add(new Fetched(tp, r, appendTime ? batch.maxTimestamp() : r.timestamp(), appendTime,
                            firstTaken ? share : first));
                    firstTaken = true;
                }
            }
        }
        return new Decoded(out, -1, null);
    }
}
