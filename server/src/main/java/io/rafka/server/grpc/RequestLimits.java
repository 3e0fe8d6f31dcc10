package io.rafka.server.grpc;

import io.rafka.common.InvalidRequestException;

/**
 * What one request may list ({@code max.partitions.per.request}): the work a request makes the broker do (reads
 * repeated on every commit while a fetch waits, one answer per entry) grows with what it lists, and the request
 * size alone lets a 16 MiB request list over a million partitions.
 */
public record RequestLimits(int maxPartitions) {

    public RequestLimits {
        if (maxPartitions <= 0) {
            throw new IllegalArgumentException("maxPartitions must be positive: " + maxPartitions);
        }
    }

    /** Refuses, with INVALID_REQUEST, a request that lists more than {@link #maxPartitions} partitions. */
    void partitions(long count) {
        if (count > maxPartitions) {
            throw new InvalidRequestException("a request lists at most " + maxPartitions
                    + " partitions (max.partitions.per.request); this one lists " + count);
        }
    }
}
