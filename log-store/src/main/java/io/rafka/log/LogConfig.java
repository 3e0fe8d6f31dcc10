package io.rafka.log;

import io.rafka.record.TimestampType;

import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The settings of one partition log, with Kafka's topic-level names and defaults. Immutable; validated
 * when built, against the bounds of {@link LogConfigKey}, the table that also parses the broker's
 * {@code log.*} defaults and the per-topic overrides.
 */
public record LogConfig(
        int segmentBytes,
        long segmentMs,
        int segmentIndexBytes,
        int indexIntervalBytes,
        long retentionMs,
        long retentionBytes,
        int maxMessageBytes,
        TimestampType messageTimestampType,
        long messageTimestampAfterMaxMs) {

    public static final int DEFAULT_SEGMENT_BYTES = 1024 * 1024 * 1024;
    public static final long DEFAULT_SEGMENT_MS = 7L * 24 * 60 * 60 * 1000;
    public static final int DEFAULT_SEGMENT_INDEX_BYTES = 10 * 1024 * 1024;
    public static final int DEFAULT_INDEX_INTERVAL_BYTES = 4096;
    public static final long DEFAULT_RETENTION_MS = 7L * 24 * 60 * 60 * 1000;
    public static final long DEFAULT_RETENTION_BYTES = -1L;
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024 + 12;
    /** Kafka's default since 4.0: a record at most an hour ahead of the broker's clock. */
    public static final long DEFAULT_TIMESTAMP_AFTER_MAX_MS = 60L * 60 * 1000;

    /** The smallest max.message.bytes: one batch header. */
    public static final int MIN_MAX_MESSAGE_BYTES = 61;
    /** The largest max.message.bytes: the Raft write buffers and the decompression cap are sized from it. */
    public static final int MAX_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

    public LogConfig {
        check(LogConfigKey.SEGMENT_BYTES, segmentBytes);
        check(LogConfigKey.SEGMENT_MS, segmentMs);
        check(LogConfigKey.SEGMENT_INDEX_BYTES, segmentIndexBytes);
        check(LogConfigKey.INDEX_INTERVAL_BYTES, indexIntervalBytes);
        check(LogConfigKey.RETENTION_MS, retentionMs);
        check(LogConfigKey.RETENTION_BYTES, retentionBytes);
        check(LogConfigKey.MAX_MESSAGE_BYTES, maxMessageBytes);
        check(LogConfigKey.MESSAGE_TIMESTAMP_AFTER_MAX_MS, messageTimestampAfterMaxMs);
        if (messageTimestampType == null) {
            throw new IllegalArgumentException(LogConfigKey.MESSAGE_TIMESTAMP_TYPE.topicKey() + " must be set");
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
                .messageTimestampType(messageTimestampType)
                .messageTimestampAfterMaxMs(messageTimestampAfterMaxMs);
    }

    /**
     * These settings with {@code overrides} (topic keys such as {@code retention.ms} to values) applied on top,
     * each parsed and checked by its {@link LogConfigKey}.
     *
     * @throws IllegalArgumentException naming the first unknown key or bad value, in key order
     */
    public LogConfig withOverrides(Map<String, String> overrides) {
        Builder b = toBuilder();
        for (Map.Entry<String, String> e : new TreeMap<>(overrides).entrySet()) {
            LogConfigKey key = LogConfigKey.forTopicKey(e.getKey()).orElseThrow(() -> new IllegalArgumentException(
                    "unknown log config '" + e.getKey() + "'; known: " + topicKeys()));
            key.apply(b, key.validate(e.getKey(), e.getValue()));
        }
        return b.build();
    }

    /** Every setting by topic key, in the form {@link #withOverrides} accepts; sorted by key. */
    public Map<String, String> toTopicValues() {
        Map<String, String> m = new TreeMap<>();
        for (LogConfigKey k : LogConfigKey.values()) {
            m.put(k.topicKey(), k.valueOf(this));
        }
        return m;
    }

    /** The topic keys of every setting, sorted; unmodifiable. */
    public static Set<String> topicKeys() {
        Set<String> keys = new TreeSet<>();
        for (LogConfigKey k : LogConfigKey.values()) {
            keys.add(k.topicKey());
        }
        return Collections.unmodifiableSet(keys);
    }

    private static void check(LogConfigKey key, long value) {
        key.checkRange(key.topicKey(), value);
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
        private long messageTimestampAfterMaxMs = DEFAULT_TIMESTAMP_AFTER_MAX_MS;

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

        public Builder messageTimestampAfterMaxMs(long v) {
            messageTimestampAfterMaxMs = v;
            return this;
        }

        public LogConfig build() {
            return new LogConfig(segmentBytes, segmentMs, segmentIndexBytes, indexIntervalBytes, retentionMs,
                    retentionBytes, maxMessageBytes, messageTimestampType, messageTimestampAfterMaxMs);
        }
    }
}
