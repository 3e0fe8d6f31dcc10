package io.rafka.server.api;

import com.google.protobuf.ByteString;
import io.rafka.common.ErrorCode;
import io.rafka.common.NotLeaderException;
import io.rafka.common.OffsetOutOfRangeException;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.log.LogReadResult;
import io.rafka.proto.v1.ConsumerRecord;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.RecordFormat;
import io.rafka.proto.v1.RecordHeader;
import io.rafka.proto.v1.TimestampType;
import io.rafka.raft.PartitionStatus;
import io.rafka.metadata.TopicNames;
import io.rafka.record.Header;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;
import io.rafka.server.metrics.BrokerMetrics;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * Reads one partition for a fetch or a subscription: committed data only, from the leader's replica, as
 * encoded batches or decoded records. Errors become the partition result's error code.
 */
final class PartitionReader {
    static final int DEFAULT_PARTITION_MAX_BYTES = 1024 * 1024;

    private final ClusterView view;
    private final BrokerMetrics metrics;
    private final int maxDecompressedBytes;

    PartitionReader(ClusterView view, BrokerMetrics metrics, int maxDecompressedBytes) {
        this.view = view;
        this.metrics = metrics;
        this.maxDecompressedBytes = maxDecompressedBytes;
    }

    /** A partition's result and how many bytes of records it carries (stored, or decoded). */
    record Read(PartitionFetchResult result, int bytes) {
        boolean failed() {
            return result.getErrorCode() != io.rafka.proto.v1.ErrorCode.NONE;
        }
    }

    Read read(String topic, int partition, long offset, int partitionMaxBytes, int budget, RecordFormat format) {
        PartitionFetchResult.Builder result = PartitionFetchResult.newBuilder().setTopic(topic).setPartition(partition)
                .setHighWatermark(-1).setLogStartOffset(-1).setNextOffset(offset);
        try {
            TopicNames.validate(topic);
            view.requirePartition(topic, partition);
            if (partitionMaxBytes < 0) {
                throw new RafkaException(ErrorCode.INVALID_FETCH_SIZE, "max_bytes must not be negative: " + partitionMaxBytes);
            }
            TopicPartition tp = new TopicPartition(topic, partition);
            PartitionStatus status = leaderStatus(tp);
            result.setHighWatermark(status.highWatermark()).setLogStartOffset(status.logStartOffset());
            if (offset < status.logStartOffset() || offset > status.highWatermark()) {
                throw new OffsetOutOfRangeException("offset " + offset + " of " + tp + " is outside the readable range ["
                        + status.logStartOffset() + ", " + status.highWatermark() + "]");
            }
            int maxBytes = Math.min(partitionMaxBytes == 0 ? DEFAULT_PARTITION_MAX_BYTES : partitionMaxBytes, budget);
            if (offset == status.highWatermark() || maxBytes <= 0) {
                return new Read(result.build(), 0);
            }
            LogReadResult read = view.raftNode().read(tp, offset, maxBytes);
            ByteBuffer records = read.records();
            int bytes = records.remaining();
            if (bytes == 0) {
                return new Read(result.build(), 0);
            }
            List<RecordBatch> batches = RecordBatches.split(records.duplicate());
            result.setNextOffset(batches.get(batches.size() - 1).nextOffset());
            int responseBytes = bytes;
            if (format == RecordFormat.RECORD_FORMAT_ENCODED) {
                result.setEncodedBatches(ByteString.copyFrom(records));
            } else {
                responseBytes = decode(batches, offset, maxBytes, result);
            }
            metrics.fetched(topic, bytes);
            return new Read(result.build(), responseBytes);
        } catch (RuntimeException e) {
            ApiErrors.Failure f = ApiErrors.classify(e);
            result.setErrorCode(f.code()).setErrorMessage(f.message());
            if (e instanceof NotLeaderException nle) {
                nle.leaderId().flatMap(view::broker).ifPresent(result::setLeader);
            }
            return new Read(result.build(), 0);
        }
    }

    /** The local replica's status if this broker leads the partition, else NOT_LEADER with the leader's id. */
    PartitionStatus leaderStatus(TopicPartition tp) {
        PartitionStatus status = view.localStatus(tp).orElse(null);
        if (status == null || !status.isLeader()) {
            String leader = status != null && status.leaderId().isPresent() ? status.leaderId().get()
                    : view.leaderOf(tp).map(ClusterView.Leader::id).orElse(null);
            throw new NotLeaderException("broker " + view.brokerId() + " does not lead " + tp
                    + (leader == null ? " and knows no leader yet" : "; the leader is " + leader), leader);
        }
        return status;
    }

    /**
     * Decodes records from {@code fromOffset} on until their keys, values and headers reach {@code maxBytes}
     * (at least one record): compressed batches can decode to far more than they store, and the response must
     * stay within the limit. {@code next_offset} then points at the first record left out.
     */
    private int decode(List<RecordBatch> batches, long fromOffset, int maxBytes, PartitionFetchResult.Builder result) {
        long decoded = 0;
        for (RecordBatch batch : batches) {
            boolean appendTime = batch.timestampType() == io.rafka.record.TimestampType.LOG_APPEND_TIME;
            for (Record r : batch.records(maxDecompressedBytes)) {
                if (r.offset() < fromOffset) {
                    continue;
                }
                long size = 32 + (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
                for (Header h : r.headers()) {
                    size += h.key().length() + (h.value() == null ? 0 : h.value().length);
                }
                if (decoded > 0 && decoded + size > maxBytes) {
                    result.setNextOffset(r.offset());
                    return (int) decoded;
                }
                decoded += size;
                ConsumerRecord.Builder c = ConsumerRecord.newBuilder().setOffset(r.offset())
                        .setTimestampMs(appendTime ? batch.maxTimestamp() : r.timestamp())
                        .setTimestampType(appendTime ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME);
                if (r.key() != null) {
                    c.setKey(ByteString.copyFrom(r.key()));
                }
                if (r.value() != null) {
                    c.setValue(ByteString.copyFrom(r.value()));
                }
                for (Header h : r.headers()) {
                    c.addHeaders(RecordHeader.newBuilder().setKey(h.key())
                            .setValue(h.value() == null ? ByteString.EMPTY : ByteString.copyFrom(h.value())));
                }
                result.addRecords(c);
            }
        }
        return (int) Math.min(decoded, Integer.MAX_VALUE);
    }
}
