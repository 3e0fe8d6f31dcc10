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
        PartitionFetcher fetcher = new PartitionFetcher(new MetadataClient(channels, cluster.bootstrap(), cluster.time, 10_000),
                channels, cluster.time, 10_000, warning -> { });
        fetcher.settings(new FetchSettings(MAX_BYTES, PARTITION_MAX_BYTES, 1, 0, true));
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
}
