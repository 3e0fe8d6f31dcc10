package io.rafka.log;

/**
 * What an append did: the offsets it assigned, the timestamps it saw, and its size.
 *
 * @param firstOffset          base offset of the first batch
 * @param lastOffset           last offset of the last batch
 * @param maxTimestamp         largest batch timestamp (the append time for LogAppendTime topics), -1 if none
 * @param offsetOfMaxTimestamp last offset of the first batch carrying {@code maxTimestamp}
 * @param logAppendTimeMs      the append time, if the topic stamps it; else -1
 * @param batchCount           batches appended
 * @param recordCount          records appended
 * @param sizeInBytes          bytes appended
 */
public record LogAppendInfo(
        long firstOffset,
        long lastOffset,
        long maxTimestamp,
        long offsetOfMaxTimestamp,
        long logAppendTimeMs,
        int batchCount,
        int recordCount,
        int sizeInBytes) {
}
