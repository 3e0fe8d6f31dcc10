package io.rafka.log;

import io.rafka.record.TimestampType;

/**
 * The settings of one partition log, with Kafka's topic-level names and defaults. Immutable; validated
 * when built.
 *
 * <table>
 *   <caption>Keys</caption>
 *   <tr><th>key</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>segment.bytes</td><td>1 GiB</td><td>roll to a new segment before one grows past this</td></tr>
 *   <tr><td>segment.ms</td><td>7 days</td><td>roll once a segment's first batch is this much older than a new one</td></tr>
 *   <tr><td>segment.index.bytes</td><td>10 MiB</td><td>preallocated size of each index; a full index rolls the segment</td></tr>
 *   <tr><td>index.interval.bytes</td><td>4096</td><td>log bytes between two entries of the sparse indexes</td></tr>
 *   <tr><td>retention.ms</td><td>7 days</td><td>delete closed segments whose newest batch is older; -1 keeps forever</td></tr>
 *   <tr><td>retention.bytes</td><td>-1</td><td>delete the oldest closed segments while the log is larger; -1 for no limit</td></tr>
 *   <tr><td>max.message.bytes</td><td>1048588</td><td>largest record batch accepted</td></tr>
 *   <tr><td>message.timestamp.type</td><td>CreateTime</td><td>LogAppendTime makes the broker stamp each batch</td></tr>
 * </table>
 */
public record LogConfig(
        int segmentBytes,
        long segmentMs,
        int segmentIndexBytes,
        int indexIntervalBytes,
        long retentionMs,
        long retentionBytes,
        int maxMessageBytes,
        TimestampType messageTimestampType) {

    public static final int DEFAULT_SEGMENT_BYTES = 1024 * 1024 * 1024;
    public static final long DEFAULT_SEGMENT_MS = 7L * 24 * 60 * 60 * 1000;
    public static final int DEFAULT_SEGMENT_INDEX_BYTES = 10 * 1024 * 1024;
    public static final int DEFAULT_INDEX_INTERVAL_BYTES = 4096;
    public static final long DEFAULT_RETENTION_MS = 7L * 24 * 60 * 60 * 1000;
    public static final long DEFAULT_RETENTION_BYTES = -1L;
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024 + 12;

    /** The smallest segment.bytes allowed: one batch header. Kafka's floor is 1 MiB; tests need less. */
    public static final int MIN_SEGMENT_BYTES = 61;

    public LogConfig {
        require(segmentBytes >= MIN_SEGMENT_BYTES, "segment.bytes", segmentBytes, ">= " + MIN_SEGMENT_BYTES);
        require(segmentMs >= 1, "segment.ms", segmentMs, ">= 1");
        require(segmentIndexBytes >= 24, "segment.index.bytes", segmentIndexBytes, ">= 24");
        require(indexIntervalBytes >= 0, "index.interval.bytes", indexIntervalBytes, ">= 0");
        require(retentionMs >= -1, "retention.ms", retentionMs, ">= -1");
        require(retentionBytes >= -1, "retention.bytes", retentionBytes, ">= -1");
        require(maxMessageBytes >= 61, "max.message.bytes", maxMessageBytes, ">= 61");
        if (messageTimestampType == null) {
            throw new IllegalArgumentException("message.timestamp.type must be set");
        }
    }

    public static LogConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder()
                .segmentBytes(segmentBytes)
                .segmentMs(segmentMs)
                .segmentIndexBytes(segmentIndexBytes)
                .indexIntervalBytes(indexIntervalBytes)
                .retentionMs(retentionMs)
                .retentionBytes(retentionBytes)
                .maxMessageBytes(maxMessageBytes)
                .messageTimestampType(messageTimestampType);
    }

    private static void require(boolean ok, String key, long value, String rule) {
        if (!ok) {
            throw new IllegalArgumentException("invalid " + key + " = " + value + ": must be " + rule);
        }
    }

    /** Builder with Kafka's defaults. */
    public static final class Builder {
        private int segmentBytes = DEFAULT_SEGMENT_BYTES;
        private long segmentMs = DEFAULT_SEGMENT_MS;
        private int segmentIndexBytes = DEFAULT_SEGMENT_INDEX_BYTES;
        private int indexIntervalBytes = DEFAULT_INDEX_INTERVAL_BYTES;
        private long retentionMs = DEFAULT_RETENTION_MS;
        private long retentionBytes = DEFAULT_RETENTION_BYTES;
        private int maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
        private TimestampType messageTimestampType = TimestampType.CREATE_TIME;

        public Builder segmentBytes(int v) {
            segmentBytes = v;
            return this;
        }

        public Builder segmentMs(long v) {
            segmentMs = v;
            return this;
        }

        public Builder segmentIndexBytes(int v) {
            segmentIndexBytes = v;
            return this;
        }

        public Builder indexIntervalBytes(int v) {
            indexIntervalBytes = v;
            return this;
        }

        public Builder retentionMs(long v) {
            retentionMs = v;
            return this;
        }

        public Builder retentionBytes(long v) {
            retentionBytes = v;
            return this;
        }

        public Builder maxMessageBytes(int v) {
            maxMessageBytes = v;
            return this;
        }

        public Builder messageTimestampType(TimestampType v) {
            messageTimestampType = v;
            return this;
        }

        public LogConfig build() {
            return new LogConfig(segmentBytes, segmentMs, segmentIndexBytes, indexIntervalBytes, retentionMs,
                    retentionBytes, maxMessageBytes, messageTimestampType);
        }
    }
}
