package io.rafka.client.cli;

import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.FetchPositions;
import io.rafka.client.internals.FetchSettings;
import io.rafka.client.internals.Fetched;
import io.rafka.client.internals.MetadataClient;
import io.rafka.client.internals.PartitionFetcher;
import io.rafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pipelined fetcher against the fake brokers serving stored batches (honouring max_bytes as the broker does):
 * fetched bytes buffered plus bytes asked for in flight never pass fetch.max.bytes, every record is handed out
 * once and in order, and a paused partition is neither fetched nor handed out until resumed.
 */
class PipelinedFetchTest {
    private static final int PARTITIONS = 4;
    private static final int RECORDS = 120;
    private static final int MAX_BYTES = 10_000;
    private static final int PARTITION_MAX_BYTES = 3_000;

    private FakeCluster cluster;
    private ChannelPool channels;

    @BeforeEach
    void setUp() throws Exception {
        cluster = new FakeCluster("t", PARTITIONS);
        cluster.encodedFetch = true;
        channels = cluster.channels();
        String value = "v".repeat(1_000);
        for (int p = 0; p < PARTITIONS; p++) {
            for (int i = 0; i < RECORDS; i++) {
                cluster.append(p, null, p + ":" + i + ":" + value);
            }
        }
    }

    @AfterEach
    void tearDown() {
        channels.close();
        cluster.close();
    }

    private PartitionFetcher fetcher() {
        return fetcher(0, warning -> { });
    }

    /** A 10 s retry timeout; an empty long poll of {@code maxWaitMs} moves the fake clock on by that much. */
    private PartitionFetcher fetcher(int maxWaitMs, java.util.function.Consumer<String> warnings) {
        PartitionFetcher fetcher = new PartitionFetcher(new MetadataClient(channels, cluster.bootstrap(), cluster.time, 10_000),
                channels, cluster.time, 10_000, warnings);
        fetcher.settings(new FetchSettings(MAX_BYTES, PARTITION_MAX_BYTES, 1, maxWaitMs, true));
        return fetcher;
    }

    @Test
    void bufferedAndRequestedBytesStayWithinFetchMaxBytes() {
        PartitionFetcher fetcher = fetcher();
        for (int p = 0; p < PARTITIONS; p++) {
            fetcher.add(new TopicPartition("t", p), 0);
        }
        Map<Integer, Long> next = new HashMap<>();
        int read = 0;
        for (int round = 0; round < 10_000 && read < PARTITIONS * RECORDS; round++) {
            for (Fetched f : fetcher.poll(10, 3)) {
                assertEquals(next.getOrDefault(f.partition(), 0L), f.offset(), "in order, once: partition " + f.partition());
                next.put(f.partition(), f.offset() + 1);
                assertTrue(new String(f.value()).startsWith(f.partition() + ":" + f.offset() + ":"));
                read++;
            }
            assertTrue(fetcher.bufferedBytes() <= MAX_BYTES, "buffered " + fetcher.bufferedBytes());
        }
        assertEquals(PARTITIONS * RECORDS, read);
        assertTrue(fetcher.maxBufferedBytesSeen() <= MAX_BYTES, "at most " + fetcher.maxBufferedBytesSeen());
        assertTrue(fetcher.maxBufferedBytesSeen() > MAX_BYTES / 2, "the bound was used: " + fetcher.maxBufferedBytesSeen());
        for (String call : cluster.fetchCalls) {
            int requested = Integer.parseInt(call.substring(call.indexOf('@') + 1));
            assertTrue(requested <= MAX_BYTES && requested > 0, call);
        }
    }

    @Test
    void pausedPartitionIsNeitherFetchedNorHandedOut() {
        FetchPositions positions = new FetchPositions(fetcher());
        positions.settings(new FetchSettings(MAX_BYTES, PARTITION_MAX_BYTES, 1, 0, true));
        TopicPartition paused = new TopicPartition("t", 0);
        for (int p = 0; p < PARTITIONS; p++) {
            positions.add(new TopicPartition("t", p), 0);
        }
        List<Fetched> all = new ArrayList<>(positions.poll(10, 5, tp -> true));
        positions.pause(paused);
        long pausedAt = positions.position(paused);
        cluster.fetchCalls.clear();
        int afterPause = 0;
        for (int round = 0; round < 5_000 && afterPause < (PARTITIONS - 1) * RECORDS; round++) {
            for (Fetched f : positions.poll(10, 7, tp -> true)) {
                assertFalse(f.tp().equals(paused), "a paused partition's record was handed out: " + f.offset());
                all.add(f);
                afterPause++;
            }
        }
        assertFalse(cluster.fetchCalls.isEmpty());
        for (String call : cluster.fetchCalls) {
            assertFalse(call.contains("[0") || call.contains(" 0,") || call.contains(" 0]"), "paused partition fetched: " + call);
        }
        assertEquals(pausedAt, positions.position(paused), "pausing keeps the position");
        positions.resume(paused);
        for (int round = 0; round < 5_000 && all.size() < PARTITIONS * RECORDS; round++) {
            all.addAll(positions.poll(10, 7, tp -> true));
        }
        Map<Integer, Long> next = new HashMap<>();
        for (Fetched f : all) {
            assertEquals(next.getOrDefault(f.partition(), 0L), f.offset(), "in order, once: partition " + f.partition());
            next.put(f.partition(), f.offset() + 1);
        }
        assertEquals(PARTITIONS * RECORDS, all.size());
    }

    /**
     * A poll that took records out of the buffers and then failed sending the next fetches (another partition's
     * retries used up) returns those records and throws on the next poll: thrown away, they would be skipped for
     * good, since the positions are already past them.
     */
    @Test
    void recordsAlreadyTakenAreReturnedWhenAnotherPartitionsFailureEndsThePoll() {
        FetchPositions positions = new FetchPositions(fetcher(5, warning -> { }));
        TopicPartition healthy = new TopicPartition("t", 0);
        positions.add(healthy, 0);
        List<Long> got = new ArrayList<>();
        positions.poll(10, 3, tp -> true).forEach(f -> got.add(f.offset()));
        io.rafka.proto.v1.ErrorCode[] away = new io.rafka.proto.v1.ErrorCode[200];
        java.util.Arrays.fill(away, io.rafka.proto.v1.ErrorCode.LEADER_NOT_AVAILABLE);
        cluster.script(1, away);
        positions.add(new TopicPartition("t", 1), PartitionFetcher.EARLIEST);
        int failures = 0;
        for (int round = 0; round < 40; round++) {
            try {
                positions.poll(10, 3, tp -> true).stream().filter(f -> f.partition() == 0).forEach(f -> got.add(f.offset()));
            } catch (RuntimeException e) {
                failures++;
            }
            cluster.time.advance(1_000);
        }
        assertTrue(failures > 0, "partition 1 failed past the 10 s retry timeout");
        synchronized (cluster) {
            cluster.scriptedErrors.get(1).clear();
        }
        for (int round = 0; round < 5_000 && got.size() < RECORDS; round++) {
            positions.poll(10, 3, tp -> true).stream().filter(f -> f.partition() == 0).forEach(f -> got.add(f.offset()));
        }
        List<Long> expected = new ArrayList<>();
        for (long o = 0; o < RECORDS; o++) {
            expected.add(o);
        }
        assertEquals(expected, got, "every record of the healthy partition once, in order");
    }

    /**
     * Without a retry limit (the SDK consumer, as Kafka's): a partition whose leader stays away is fetched again for
     * as long as that lasts, with a warning, no poll throws, and the other partitions are read meanwhile.
     */
    @Test
    void withoutALimitAPartitionWhoseLeaderIsAwayIsWaitedForWhileTheOthersAreRead() {
        List<String> warnings = new ArrayList<>();
        FetchPositions positions = new FetchPositions(fetcher(5, warnings::add));
        positions.retryWithoutLimit();
        io.rafka.proto.v1.ErrorCode[] away = new io.rafka.proto.v1.ErrorCode[150];
        java.util.Arrays.fill(away, io.rafka.proto.v1.ErrorCode.LEADER_NOT_AVAILABLE);
        cluster.script(1, away);
        for (int p = 0; p < 2; p++) {
            positions.add(new TopicPartition("t", p), 0);
        }
        Map<Integer, List<Long>> got = new HashMap<>();
        for (int round = 0; round < 5_000 && got.getOrDefault(0, List.of()).size() < RECORDS; round++) {
            positions.poll(10, 3, tp -> true).forEach(f -> got.computeIfAbsent(f.partition(), k -> new ArrayList<>()).add(f.offset()));
            cluster.time.advance(100);
        }
        assertEquals(RECORDS, got.get(0).size(), "the healthy partition is read while the other's leader is away");
        assertTrue(got.getOrDefault(1, List.of()).isEmpty());
        for (int round = 0; round < 200; round++) {
            positions.poll(10, 3, tp -> true).forEach(f -> got.computeIfAbsent(f.partition(), k -> new ArrayList<>()).add(f.offset()));
            cluster.time.advance(1_000);   // far past the 10 s retry timeout
        }
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("t-1 could not be fetched for")), warnings.toString());
        for (int round = 0; round < 5_000 && got.getOrDefault(1, List.of()).size() < RECORDS; round++) {
            positions.poll(10, 3, tp -> true).forEach(f -> got.computeIfAbsent(f.partition(), k -> new ArrayList<>()).add(f.offset()));
            cluster.time.advance(100);
        }
        List<Long> expected = new ArrayList<>();
        for (long o = 0; o < RECORDS; o++) {
            expected.add(o);
        }
        assertEquals(expected, got.get(1), "once its leader is back, every record once, in order");
    }
}
