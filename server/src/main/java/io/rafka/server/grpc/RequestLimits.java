package io.rafka.server.grpc;

import io.rafka.common.InvalidRequestException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * What one request may list ({@code max.partitions.per.request}, {@code max.records.per.request}): the work a
 * request makes the broker do (reads repeated on every commit while a fetch waits, one answer per entry, an object
 * per structured record) grows with what it lists, and the request size alone lets a 16 MiB request list over a
 * million partitions, or eight million empty records.
 */
public record RequestLimits(int maxPartitions, int maxRecords, int maxListedGroups) {

    public RequestLimits {
        if (maxPartitions <= 0 || maxRecords <= 0 || maxListedGroups <= 0) {
            throw new IllegalArgumentException("request limits must be positive: " + maxPartitions + ", " + maxRecords
                    + ", " + maxListedGroups);
        }
    }

    /** Refuses, with INVALID_REQUEST, a request that lists more than {@link #maxPartitions} partitions. */
    void partitions(long count) {
        if (count > maxPartitions) {
            throw new InvalidRequestException("a request lists at most " + maxPartitions
                    + " partitions (max.partitions.per.request); this one lists " + count);
        }
    }

    /**
     * Refuses, before it is parsed, a produce request with more than {@link #maxRecords} structured records and
     * headers (parsing builds an object for each). Requests too small to hold that many are not looked at.
     */
    StrictParsing.RawCheck structuredRecords() {
        return message -> {
            // A request as it came (a KnownLength buffer of the transport, which can be marked) tells its size; a
            // compressed one (grpc-encoding gzip) is a decompressing stream whose size is known only once read, so it
            // is read into an array first (gRPC bounds what it may decompress to by max.request.bytes).
            InputStream scanned = message instanceof io.grpc.KnownLength && message.markSupported()
                    ? message : new ByteArrayInputStream(message.readAllBytes());
            if (scanned.available() / ProduceRequestScan.MIN_ELEMENT_BYTES <= maxRecords) {
                return scanned;
            }
            long count;
            try {
                count = ProduceRequestScan.structuredElements(scanned);
            } catch (IOException notProtobuf) {
                return scanned;   // reset: its parse says what is wrong
            }
            if (count > maxRecords) {
                throw new InvalidRequestException("a produce request holds at most " + maxRecords
                        + " structured records and headers (max.records.per.request); this one holds " + count
                        + ": send fewer per request, or encoded batches");
            }
            return scanned;
        };
    }
}
