package io.rafka.coordinator;

/** A committed offset: the next offset the group consumes in a partition, with the committer's metadata. */
public record CommittedOffset(long offset, String metadata, long commitTimestampMs) {
}
