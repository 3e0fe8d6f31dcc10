package io.rafka.client.internals;

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
 *
 * <pre>{@code
 * List<Fetched> records = FetchDecoder.decode(tp, result, 1_000);
 * }</pre>
 */
final class FetchDecoder {

    private FetchDecoder() {
    }

    static List<Fetched> decode(TopicPartition tp, PartitionFetchResult result, long fromOffset) {
        if (result.getRecordsCount() > 0) {
            List<Fetched> out = new ArrayList<>(result.getRecordsCount());
            for (ConsumerRecord r : result.getRecordsList()) {
                if (r.getOffset() >= fromOffset) {
                    out.add(new Fetched(tp, r, r.getSerializedSize()));
                }
            }
            return out;
        }
        if (result.getEncodedBatches().isEmpty()) {
            return List.of();
        }
        List<Fetched> out = new ArrayList<>();
        for (RecordBatch batch : RecordBatches.split(result.getEncodedBatches().asReadOnlyByteBuffer())) {
            if (batch.lastOffset() < fromOffset || batch.isControl()) {
                continue;
            }
            batch.ensureValid();
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
        return out;
    }
}
