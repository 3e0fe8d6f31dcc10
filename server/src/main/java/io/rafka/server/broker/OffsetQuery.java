package io.rafka.server.broker;

/**
 * A ListOffsets question for one partition: {@value #LATEST} = the high watermark, {@value #EARLIEST} = the log
 * start offset, otherwise the first offset whose timestamp is at least {@code timestampMs}.
 */
public record OffsetQuery(String topic, int partition, long timestampMs) {
    public static final long LATEST = -1;
    public static final long EARLIEST = -2;
}
