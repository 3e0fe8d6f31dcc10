package io.rafka.client.internals;

/**
 * How a {@link PartitionFetcher} sizes and times its Fetch requests, with the meaning of Kafka's consumer settings.
 *
 * <pre>{@code
 * fetcher.settings(new FetchSettings(50 << 20, 1 << 20, 1, 500, true));
 * }</pre>
 *
 * @param maxBytes          {@code fetch.max.bytes}: data buffered plus data asked for by requests in flight, at most
 *                          (one batch of a partition still comes whole when it alone is larger)
 * @param maxPartitionBytes {@code max.partition.fetch.bytes}: per partition per request (same exception)
 * @param minBytes          {@code fetch.min.bytes}: the broker answers once this much is there, or after the wait
 * @param maxWaitMs         {@code fetch.max.wait.ms}: the broker's long-poll wait of a pipelined fetch
 * @param pipelined         whether {@code poll} sends the next fetches before it returns, so they are in flight
 *                          while the caller processes records; otherwise each poll fetches and waits
 * @param encoded           ask for stored batches and decode them here (the fast path); false asks the broker to
 *                          decode (RECORD_FORMAT_DECODED: kept to measure the difference)
 */
public record FetchSettings(int maxBytes, int maxPartitionBytes, int minBytes, int maxWaitMs, boolean pipelined,
                            boolean encoded) {
    /** Kafka's max.partition.fetch.bytes default. */
    public static final int DEFAULT_MAX_PARTITION_BYTES = 1024 * 1024;

    public FetchSettings {
        if (maxBytes < 1 || maxPartitionBytes < 1 || minBytes < 0 || maxWaitMs < 0) {
            throw new IllegalArgumentException("fetch max bytes and max partition bytes must be positive,"
                    + " fetch min bytes and max wait not negative");
        }
    }

    /**
     * System properties that switch the SDK consumer's fetch path back to what it was before pipelining, for
     * benchmarks only ({@code bin/rafka perf consume --unpipelined --decoded} sets them): not a setting.
     */
    public static final String UNPIPELINED_PROPERTY = "rafka.consumer.fetch.unpipelined";
    public static final String DECODED_PROPERTY = "rafka.consumer.fetch.decoded";

    public FetchSettings(int maxBytes, int maxPartitionBytes, int minBytes, int maxWaitMs, boolean pipelined) {
        this(maxBytes, maxPartitionBytes, minBytes, maxWaitMs, pipelined, true);
    }

    /** What the command-line tools use: one fetch per poll, waiting the poll's time. */
    public static FetchSettings unpipelined(int maxBytes) {
        return new FetchSettings(maxBytes, DEFAULT_MAX_PARTITION_BYTES, 1, 500, false);
    }

    /** These settings with the benchmark switches ({@link #UNPIPELINED_PROPERTY}, {@link #DECODED_PROPERTY}) applied. */
    public FetchSettings withBenchmarkSwitches() {
        return new FetchSettings(maxBytes, maxPartitionBytes, minBytes, maxWaitMs,
                pipelined && !Boolean.getBoolean(UNPIPELINED_PROPERTY), encoded && !Boolean.getBoolean(DECODED_PROPERTY));
    }

    public FetchSettings withMaxBytes(int bytes) {
        return new FetchSettings(bytes, maxPartitionBytes, minBytes, maxWaitMs, pipelined, encoded);
    }
}
