package io.rafka.client.internals;

import com.google.protobuf.ByteString;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.ConsumerRecord;
import io.rafka.proto.v1.RecordHeader;
import io.rafka.proto.v1.TimestampType;
import io.rafka.record.Header;
import io.rafka.record.Record;

import java.util.ArrayList;
import java.util.List;

/**
 * A fetched record and the partition it came from, decoded on the client from a stored batch (the SDK's fast
 * path: no protobuf message per record) or taken from a broker-decoded {@link ConsumerRecord}. {@code sizeBytes}
 * is its share of the fetched bytes, which the fetcher's memory bound counts. Immutable.
 *
 * <pre>{@code
 * for (Fetched f : fetcher.poll(500, 500)) process(f.partition(), f.offset(), f.value());
 * }</pre>
 */
public final class Fetched {
    private final TopicPartition tp;
    private final long offset;
    private final long timestampMs;
    private final boolean logAppendTime;
    private final byte[] key;
    private final byte[] value;
    private final List<Header> headers;
    private final int sizeBytes;
    private ConsumerRecord proto;

    Fetched(TopicPartition tp, Record record, long timestampMs, boolean logAppendTime, int sizeBytes) {
        this.tp = tp;
        this.offset = record.offset();
        this.timestampMs = timestampMs;
        this.logAppendTime = logAppendTime;
        this.key = record.key();
        this.value = record.value();
        this.headers = record.headers();
        this.sizeBytes = sizeBytes;
    }

    Fetched(TopicPartition tp, ConsumerRecord record, int sizeBytes) {
        this.tp = tp;
        this.offset = record.getOffset();
        this.timestampMs = record.getTimestampMs();
        this.logAppendTime = record.getTimestampType() == TimestampType.LOG_APPEND_TIME;
        this.key = record.hasKey() ? record.getKey().toByteArray() : null;
        this.value = record.hasValue() ? record.getValue().toByteArray() : null;
        List<Header> hs = new ArrayList<>(record.getHeadersCount());
        for (RecordHeader h : record.getHeadersList()) {
            hs.add(new Header(h.getKey(), h.getValue().toByteArray()));
        }
        this.headers = hs;
        this.sizeBytes = sizeBytes;
        this.proto = record;
    }

    public TopicPartition tp() {
        return tp;
    }

    public int partition() {
        return tp.partition();
    }

    public long offset() {
        return offset;
    }

    public long timestampMs() {
        return timestampMs;
    }

    /** Null for a null key. */
    public byte[] key() {
        return key;
    }

    /** Null for a null value. */
    public byte[] value() {
        return value;
    }

    public List<Header> headers() {
        return headers;
    }

    int sizeBytes() {
        return sizeBytes;
    }

    /** The record as the API's message, for the command-line printers (built on first use). */
    public synchronized ConsumerRecord record() {
        if (proto == null) {
            ConsumerRecord.Builder b = ConsumerRecord.newBuilder().setOffset(offset).setTimestampMs(timestampMs)
                    .setTimestampType(logAppendTime ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME);
            if (key != null) {
                b.setKey(ByteString.copyFrom(key));
            }
            if (value != null) {
                b.setValue(ByteString.copyFrom(value));
            }
            for (Header h : headers) {
                RecordHeader.Builder hb = RecordHeader.newBuilder().setKey(h.key());
                if (h.value() != null) {
                    hb.setValue(ByteString.copyFrom(h.value()));
                }
                b.addHeaders(hb);
            }
            proto = b.build();
        }
        return proto;
    }
}
