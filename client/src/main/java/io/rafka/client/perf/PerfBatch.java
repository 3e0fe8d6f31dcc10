package io.rafka.client.perf;

import com.google.protobuf.ByteString;

/**
 * One sealed Kafka v2 record batch of the perf producer: its partition, its idempotence sequence range and,
 * per record, the moment it was handed to the producer (for latencies). Immutable once sealed; a retry sends
 * the same bytes, so the broker recognises it by producer id, epoch and sequence.
 */
record PerfBatch(int partition, int baseSequence, int records, long payloadBytes, ByteString data,
                 long[] startNanos, long createdNanos) {
}
