package io.rafka.common;

import java.util.HashMap;
import java.util.Map;

/**
 * The stable error codes of Rafka, carried in every per-partition result of the API.
 *
 * <p>Names can change, codes cannot: clients in other languages compare numbers. Where Kafka has the
 * same condition we reuse Kafka's number, so people who know Kafka's protocol recognise them; codes
 * of Rafka's own start at 1000.
 */
public enum ErrorCode {
    UNKNOWN_SERVER_ERROR(-1, false),
    NONE(0, false),
    OFFSET_OUT_OF_RANGE(1, false),
    CORRUPT_MESSAGE(2, true),
    UNKNOWN_TOPIC_OR_PARTITION(3, true),
    INVALID_FETCH_SIZE(4, false),
    LEADER_NOT_AVAILABLE(5, true),
    NOT_LEADER(6, true),
    REQUEST_TIMED_OUT(7, true),
    RECORD_TOO_LARGE(10, false),
    INVALID_TOPIC(17, false),
    RECORD_LIST_TOO_LARGE(18, false),
    NOT_ENOUGH_REPLICAS(19, true),
    INVALID_REQUIRED_ACKS(21, false),
    TOPIC_ALREADY_EXISTS(36, false),
    INVALID_PARTITIONS(37, false),
    INVALID_REPLICATION_FACTOR(38, false),
    INVALID_REPLICA_ASSIGNMENT(39, false),
    NOT_CONTROLLER(41, true),
    INVALID_REQUEST(42, false),
    POLICY_VIOLATION(44, false),
    OUT_OF_ORDER_SEQUENCE_NUMBER(45, false),
    DUPLICATE_SEQUENCE_NUMBER(46, false),
    INVALID_PRODUCER_EPOCH(47, false),
    UNKNOWN_PRODUCER_ID(59, false),
    INVALID_CONFIG(40, false),
    STORAGE_ERROR(56, true),
    UNSUPPORTED_COMPRESSION_TYPE(76, false),
    INVALID_RECORD(87, false),
    BUSY(1000, true),
    COORDINATOR_LOAD_IN_PROGRESS(14, true),
    COORDINATOR_NOT_AVAILABLE(15, true),
    NOT_COORDINATOR(16, true),
    INVALID_GROUP_ID(24, false),
    UNKNOWN_MEMBER_ID(25, false),
    INVALID_SESSION_TIMEOUT(26, false),
    INVALID_COMMIT_OFFSET_SIZE(28, false),
    GROUP_MAX_SIZE_REACHED(64, false),
    NON_EMPTY_GROUP(68, false),
    GROUP_ID_NOT_FOUND(69, false),
    FENCED_INSTANCE_ID(82, false),
    FENCED_MEMBER_EPOCH(110, false),
    UNRELEASED_INSTANCE_ID(111, false),
    STALE_MEMBER_EPOCH(113, true),
    PARTITION_NOT_OWNED(1001, false);

    private static final Map<Integer, ErrorCode> BY_CODE = new HashMap<>();

    static {
        for (ErrorCode e : values()) {
            if (BY_CODE.put(e.code, e) != null) {
                throw new ExceptionInInitializerError("duplicate error code " + e.code);
            }
        }
    }

    private final int code;
    private final boolean retriable;

    ErrorCode(int code, boolean retriable) {
        this.code = code;
        this.retriable = retriable;
    }

    /** The number on the wire. */
    public int code() {
        return code;
    }

    /** Whether the same request may succeed if sent again (possibly to another broker). */
    public boolean retriable() {
        return retriable;
    }

    /** The error for a wire number; {@link #UNKNOWN_SERVER_ERROR} for numbers this version does not know. */
    public static ErrorCode forCode(int code) {
        return BY_CODE.getOrDefault(code, UNKNOWN_SERVER_ERROR);
    }
}
