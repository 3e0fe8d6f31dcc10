package io.rafka.log;

import io.rafka.record.TimestampType;

import java.util.List;
import java.util.Optional;

/**
 * The one table of partition-log settings: for each, the topic-level key, the broker-level key that sets
 * its default for every topic (Kafka's "synonym"), the type, the default, the allowed range and the doc.
 * The broker's {@code log.*} keys and the per-topic overrides parse and check values here, and
 * {@link LogConfig}'s constructor checks the same bounds, so a value is valid in one place exactly when it
 * is valid in the others.
 */
public enum LogConfigKey {
    SEGMENT_BYTES("segment.bytes", "log.segment.bytes", Type.INT, LogConfig.DEFAULT_SEGMENT_BYTES, 1024, Integer.MAX_VALUE,
            "Roll to a new segment before one grows past this many bytes; at least 1 KiB (Kafka's floor of 1 MiB "
                    + "would keep tests from making many small segments)."),
    SEGMENT_MS("segment.ms", "log.segment.ms", Type.LONG, LogConfig.DEFAULT_SEGMENT_MS, 1, Long.MAX_VALUE,
            "Roll to a new segment once a new batch is this much newer than the segment's first one."),
    SEGMENT_INDEX_BYTES("segment.index.bytes", "log.index.size.max.bytes", Type.INT, LogConfig.DEFAULT_SEGMENT_INDEX_BYTES,
            24, Integer.MAX_VALUE, "Preallocated size of each segment index; a full index rolls the segment. At least two "
                    + "time-index entries (24 bytes)."),
    INDEX_INTERVAL_BYTES("index.interval.bytes", "log.index.interval.bytes", Type.INT, LogConfig.DEFAULT_INDEX_INTERVAL_BYTES,
            0, Integer.MAX_VALUE, "Log bytes between two entries of the sparse offset and time indexes."),
    RETENTION_MS("retention.ms", "log.retention.ms", Type.LONG, LogConfig.DEFAULT_RETENTION_MS, -1, Long.MAX_VALUE,
            "Delete closed segments whose newest batch is older than this; -1 keeps them forever."),
    RETENTION_BYTES("retention.bytes", "log.retention.bytes", Type.LONG, LogConfig.DEFAULT_RETENTION_BYTES, -1, Long.MAX_VALUE,
            "Delete the oldest closed segments while a partition stays at least this large without them; -1 for no limit."),
    MAX_MESSAGE_BYTES("max.message.bytes", "message.max.bytes", Type.INT, LogConfig.DEFAULT_MAX_MESSAGE_BYTES,
            LogConfig.MIN_MAX_MESSAGE_BYTES, LogConfig.MAX_MAX_MESSAGE_BYTES,
            "Largest record batch accepted. At least one batch header (61 bytes); at most 64 MiB, which bounds the "
                    + "per-partition Raft buffers."),
    MESSAGE_TIMESTAMP_TYPE("message.timestamp.type", "log.message.timestamp.type", Type.TIMESTAMP_TYPE, 0, 0, 0,
            "CreateTime keeps the producer's timestamps; LogAppendTime makes the broker stamp each batch."),
    MESSAGE_TIMESTAMP_AFTER_MAX_MS("message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms", Type.LONG,
            LogConfig.DEFAULT_TIMESTAMP_AFTER_MAX_MS, 0, Long.MAX_VALUE,
            "With CreateTime, refuse a batch whose newest record is dated more than this ahead of the leader's clock "
                    + "(INVALID_RECORD): time retention goes by the newest record of a segment, so one record dated in "
                    + "the future would keep its segment, and every later one, for as long.");

    /** How a value is written. */
    public enum Type { INT, LONG, TIMESTAMP_TYPE }

    private static final String CREATE_TIME = "CreateTime";
    private static final String LOG_APPEND_TIME = "LogAppendTime";

    private final String topicKey;
    private final String serverKey;
    private final Type type;
    private final String defaultValue;
    private final long min;
    private final long max;
    private final String doc;

    LogConfigKey(String topicKey, String serverKey, Type type, long defaultValue, long min, long max, String doc) {
        this.topicKey = topicKey;
        this.serverKey = serverKey;
        this.type = type;
        this.defaultValue = type == Type.TIMESTAMP_TYPE ? CREATE_TIME : Long.toString(defaultValue);
        this.min = min;
        this.max = max;
        this.doc = doc;
    }

    /** The key a topic sets, e.g. {@code segment.bytes}. */
    public String topicKey() {
        return topicKey;
    }

    /** The broker key holding the default for every topic, e.g. {@code log.segment.bytes}. */
    public String serverKey() {
        return serverKey;
    }

    public Type type() {
        return type;
    }

    /** The default in the form {@link #validate} returns. */
    public String defaultValue() {
        return defaultValue;
    }

    /** Smallest allowed value (numeric keys). */
    public long min() {
        return min;
    }

    /** Largest allowed value (numeric keys). */
    public long max() {
        return max;
    }

    public String doc() {
        return doc;
    }

    /** The values a {@link Type#TIMESTAMP_TYPE} key accepts; empty for numeric keys. */
    public List<String> validValues() {
        return type == Type.TIMESTAMP_TYPE ? List.of(CREATE_TIME, LOG_APPEND_TIME) : List.of();
    }

    /** The key whose {@link #topicKey()} is {@code topicKey}. */
    public static Optional<LogConfigKey> forTopicKey(String topicKey) {
        for (LogConfigKey k : values()) {
            if (k.topicKey.equals(topicKey)) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }

    /**
     * Parses and checks a value, returning it in canonical form.
     *
     * @param keyName the name to put in the error: the topic or the broker key, whichever the user wrote
     * @throws IllegalArgumentException naming {@code keyName}
     */
    public String validate(String keyName, String value) {
        if (value == null) {
            throw new IllegalArgumentException(keyName + " must have a value");
        }
        String v = value.trim();
        if (type == Type.TIMESTAMP_TYPE) {
            if (!validValues().contains(v)) {
                throw new IllegalArgumentException(keyName + " = '" + shown(value) + "' must be " + CREATE_TIME + " or " + LOG_APPEND_TIME);
            }
            return v;
        }
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(keyName + " = '" + shown(value) + "' is not a whole number");
        }
        checkRange(keyName, n);
        return Long.toString(n);
    }

    /** A value as an error message quotes it: at most 64 characters (a message travels in a gRPC trailer). */
    private static String shown(String value) {
        return value.length() <= 64 ? value : value.substring(0, 64) + "... (" + value.length() + " characters)";
    }

    /** Checks a numeric value against this key's bounds; the message names {@code keyName}. */
    void checkRange(String keyName, long value) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(keyName + " = " + value + " is out of range [" + min + ", " + max + "]");
        }
    }

    /** Sets this key's field of {@code b} from a value {@link #validate} accepted. */
    void apply(LogConfig.Builder b, String canonical) {
        switch (this) {
            case SEGMENT_BYTES -> b.segmentBytes(Integer.parseInt(canonical));
            case SEGMENT_MS -> b.segmentMs(Long.parseLong(canonical));
            case SEGMENT_INDEX_BYTES -> b.segmentIndexBytes(Integer.parseInt(canonical));
            case INDEX_INTERVAL_BYTES -> b.indexIntervalBytes(Integer.parseInt(canonical));
            case RETENTION_MS -> b.retentionMs(Long.parseLong(canonical));
            case RETENTION_BYTES -> b.retentionBytes(Long.parseLong(canonical));
            case MAX_MESSAGE_BYTES -> b.maxMessageBytes(Integer.parseInt(canonical));
            case MESSAGE_TIMESTAMP_TYPE -> b.messageTimestampType(
                    LOG_APPEND_TIME.equals(canonical) ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME);
            case MESSAGE_TIMESTAMP_AFTER_MAX_MS -> b.messageTimestampAfterMaxMs(Long.parseLong(canonical));
            default -> throw new IllegalStateException("no field for " + this);
        }
    }

    /** This key's value in {@code c}, in canonical form. */
    String valueOf(LogConfig c) {
        return switch (this) {
            case SEGMENT_BYTES -> Integer.toString(c.segmentBytes());
            case SEGMENT_MS -> Long.toString(c.segmentMs());
            case SEGMENT_INDEX_BYTES -> Integer.toString(c.segmentIndexBytes());
            case INDEX_INTERVAL_BYTES -> Integer.toString(c.indexIntervalBytes());
            case RETENTION_MS -> Long.toString(c.retentionMs());
            case RETENTION_BYTES -> Long.toString(c.retentionBytes());
            case MAX_MESSAGE_BYTES -> Integer.toString(c.maxMessageBytes());
            case MESSAGE_TIMESTAMP_TYPE -> c.messageTimestampType() == TimestampType.LOG_APPEND_TIME ? LOG_APPEND_TIME : CREATE_TIME;
            case MESSAGE_TIMESTAMP_AFTER_MAX_MS -> Long.toString(c.messageTimestampAfterMaxMs());
        };
    }
}
