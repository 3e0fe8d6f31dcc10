package io.rafka.metadata;

import io.rafka.common.InvalidConfigException;
import io.rafka.log.LogConfig;
import io.rafka.record.TimestampType;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The per-topic configuration keys a topic may set, with Kafka's names; each is validated and turned into
 * the partition logs' {@link LogConfig}. Unknown keys and out-of-range values are refused with
 * INVALID_CONFIG naming the key.
 */
public final class TopicConfigs {
    public static final String SEGMENT_BYTES = "segment.bytes";
    public static final String SEGMENT_MS = "segment.ms";
    public static final String SEGMENT_INDEX_BYTES = "segment.index.bytes";
    public static final String INDEX_INTERVAL_BYTES = "index.interval.bytes";
    public static final String RETENTION_MS = "retention.ms";
    public static final String RETENTION_BYTES = "retention.bytes";
    public static final String MAX_MESSAGE_BYTES = "max.message.bytes";
    public static final String MESSAGE_TIMESTAMP_TYPE = "message.timestamp.type";

    public static final Set<String> KEYS = Set.of(SEGMENT_BYTES, SEGMENT_MS, SEGMENT_INDEX_BYTES, INDEX_INTERVAL_BYTES,
            RETENTION_MS, RETENTION_BYTES, MAX_MESSAGE_BYTES, MESSAGE_TIMESTAMP_TYPE);

    private TopicConfigs() {
    }

    /**
     * Validates {@code overrides} and applies them on top of {@code defaults}.
     *
     * @throws InvalidConfigException naming the first bad key
     */
    public static LogConfig toLogConfig(Map<String, String> overrides, LogConfig defaults) {
        LogConfig.Builder b = defaults.toBuilder();
        for (Map.Entry<String, String> e : new TreeMap<>(overrides).entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            switch (key) {
                case SEGMENT_BYTES -> b.segmentBytes(intValue(key, value, 14, Integer.MAX_VALUE));
                case SEGMENT_MS -> b.segmentMs(longValue(key, value, 1, Long.MAX_VALUE));
                case SEGMENT_INDEX_BYTES -> b.segmentIndexBytes(intValue(key, value, 24, Integer.MAX_VALUE));
                case INDEX_INTERVAL_BYTES -> b.indexIntervalBytes(intValue(key, value, 0, Integer.MAX_VALUE));
                case RETENTION_MS -> b.retentionMs(longValue(key, value, -1, Long.MAX_VALUE));
                case RETENTION_BYTES -> b.retentionBytes(longValue(key, value, -1, Long.MAX_VALUE));
                case MAX_MESSAGE_BYTES -> b.maxMessageBytes(intValue(key, value, 61, Integer.MAX_VALUE));
                case MESSAGE_TIMESTAMP_TYPE -> b.messageTimestampType(timestampType(value));
                default -> throw new InvalidConfigException("unknown topic config '" + key + "'; known: "
                        + new java.util.TreeSet<>(KEYS));
            }
        }
        try {
            return b.build();
        } catch (IllegalArgumentException ex) {
            throw new InvalidConfigException(ex.getMessage());
        }
    }

    /** The effective value of every topic config key, in the form {@link #toLogConfig} accepts. */
    public static Map<String, String> describe(LogConfig c) {
        Map<String, String> m = new TreeMap<>();
        m.put(SEGMENT_BYTES, Integer.toString(c.segmentBytes()));
        m.put(SEGMENT_MS, Long.toString(c.segmentMs()));
        m.put(SEGMENT_INDEX_BYTES, Integer.toString(c.segmentIndexBytes()));
        m.put(INDEX_INTERVAL_BYTES, Integer.toString(c.indexIntervalBytes()));
        m.put(RETENTION_MS, Long.toString(c.retentionMs()));
        m.put(RETENTION_BYTES, Long.toString(c.retentionBytes()));
        m.put(MAX_MESSAGE_BYTES, Integer.toString(c.maxMessageBytes()));
        m.put(MESSAGE_TIMESTAMP_TYPE, c.messageTimestampType() == TimestampType.LOG_APPEND_TIME ? "LogAppendTime" : "CreateTime");
        return m;
    }

    private static long longValue(String key, String value, long min, long max) {
        long v;
        try {
            v = Long.parseLong(value.trim());
        } catch (NumberFormatException | NullPointerException e) {
            throw new InvalidConfigException(key + " = '" + value + "' is not a number");
        }
        if (v < min || v > max) {
            throw new InvalidConfigException(key + " = " + v + " is out of range [" + min + ", " + max + "]");
        }
        return v;
    }

    private static int intValue(String key, String value, int min, int max) {
        return (int) longValue(key, value, min, max);
    }

    private static TimestampType timestampType(String value) {
        if ("CreateTime".equals(value)) {
            return TimestampType.CREATE_TIME;
        }
        if ("LogAppendTime".equals(value)) {
            return TimestampType.LOG_APPEND_TIME;
        }
        throw new InvalidConfigException(MESSAGE_TIMESTAMP_TYPE + " = '" + value + "' must be CreateTime or LogAppendTime");
    }
}
