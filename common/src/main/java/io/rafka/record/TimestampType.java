package io.rafka.record;

/** What a batch's timestamps mean: set by the producer, or stamped by the broker on append. */
public enum TimestampType {
    CREATE_TIME,
    LOG_APPEND_TIME
}
