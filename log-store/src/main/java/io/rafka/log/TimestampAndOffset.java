package io.rafka.log;

/** A record found by timestamp: its offset and its timestamp. */
public record TimestampAndOffset(long timestamp, long offset) {
}
