package io.rafka.client.cli;

import io.rafka.proto.v1.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProduceBatcherTest {

    private final List<Map<Integer, List<ProducerRecord>>> flushes = new ArrayList<>();

    private ProduceBatcher batcher(Partitioner partitioner) {
        return new ProduceBatcher(partitioner, flushes::add);
    }

    private static LineRecord unkeyed(String value) {
        return new LineRecord(null, value.getBytes(StandardCharsets.UTF_8));
    }

    private static LineRecord keyed(String key, String value) {
        return new LineRecord(key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8));
    }

    private static List<String> values(List<ProducerRecord> records) {
        return records.stream().map(r -> r.getValue().toStringUtf8()).toList();
    }

    private static Map<Integer, List<String>> valuesByPartition(Map<Integer, List<ProducerRecord>> flush) {
        Map<Integer, List<String>> byPartition = new java.util.TreeMap<>();
        flush.forEach((partition, records) -> byPartition.put(partition, values(records)));
        return byPartition;
    }

    @Test
    void unkeyedRecordsFillOnePartitionsBatchThenMoveOn() {
        ProduceBatcher batcher = batcher(Partitioner.hashing(3, 0));
        for (int i = 0; i < 1200; i++) {
            batcher.add(unkeyed("v" + i));
        }
        batcher.flush();

        assertEquals(3, flushes.size());
        assertEquals(List.of(0), List.copyOf(flushes.get(0).keySet()));
        assertEquals(List.of(1), List.copyOf(flushes.get(1).keySet()));
        assertEquals(List.of(2), List.copyOf(flushes.get(2).keySet()));
        assertEquals(500, flushes.get(0).get(0).size());
        assertEquals(500, flushes.get(1).get(1).size());
        assertEquals(200, flushes.get(2).get(2).size());
        assertEquals("v0", values(flushes.get(0).get(0)).get(0));
        assertEquals("v500", values(flushes.get(1).get(1)).get(0));
        assertEquals("v1199", values(flushes.get(2).get(2)).get(199));
    }

    @Test
    void aFlushMovesTheStickyPartitionOn() {
        ProduceBatcher batcher = batcher(Partitioner.hashing(3, 2));
        batcher.add(unkeyed("a"));
        batcher.flush();
        batcher.add(unkeyed("b"));
        batcher.flush();
        batcher.flush();                       // nothing open: no empty flush, no move
        batcher.add(unkeyed("c"));
        batcher.flush();

        assertEquals(3, flushes.size());
        assertEquals(Map.of(2, List.of("a")), valuesByPartition(flushes.get(0)));
        assertEquals(Map.of(0, List.of("b")), valuesByPartition(flushes.get(1)));
        assertEquals(Map.of(1, List.of("c")), valuesByPartition(flushes.get(2)));
    }

    @Test
    void batchesStopAt256KiB() {
        ProduceBatcher batcher = batcher(Partitioner.fixed(1, 0));
        String value = "x".repeat(1000);
        for (int i = 0; i < 600; i++) {
            batcher.add(unkeyed(value));
        }
        batcher.flush();

        int perBatch = ProduceBatcher.MAX_BATCH_BYTES / ProduceBatcher.encodedSize(
                ProducerRecord.newBuilder().setValue(com.google.protobuf.ByteString.copyFromUtf8(value)).build());
        assertEquals(260, perBatch);
        assertEquals(List.of(260, 260, 80), flushes.stream().map(f -> f.get(0).size()).toList());
        for (Map<Integer, List<ProducerRecord>> flush : flushes) {
            int bytes = flush.get(0).stream().mapToInt(ProduceBatcher::encodedSize).sum();
            assertTrue(bytes <= ProduceBatcher.MAX_BATCH_BYTES, bytes + " bytes");
        }
    }

    @Test
    void aRecordLargerThanABatchTravelsAlone() {
        ProduceBatcher batcher = batcher(Partitioner.fixed(1, 0));
        batcher.add(unkeyed("small"));
        batcher.add(unkeyed("y".repeat(ProduceBatcher.MAX_BATCH_BYTES + 1)));
        batcher.add(unkeyed("after"));
        batcher.flush();

        assertEquals(3, flushes.size());
        assertEquals(List.of("small"), values(flushes.get(0).get(0)));
        assertEquals(1, flushes.get(1).get(0).size());
        assertEquals(List.of("after"), values(flushes.get(2).get(0)));
    }

    @Test
    void keyedRecordsGoToTheirHashPartitionInInputOrder() {
        ProduceBatcher batcher = batcher(Partitioner.hashing(3, 0));
        batcher.add(keyed("key-0", "a"));   // partition 1
        batcher.add(keyed("key-1", "b"));   // partition 0
        batcher.add(keyed("key-2", "c"));   // partition 2
        batcher.add(keyed("key-0", "d"));
        batcher.add(unkeyed("e"));           // sticky partition 0
        batcher.flush();

        assertEquals(1, flushes.size());
        Map<Integer, List<ProducerRecord>> flush = flushes.get(0);
        assertEquals(List.of("b", "e"), values(flush.get(0)));
        assertEquals(List.of("a", "d"), values(flush.get(1)));
        assertEquals(List.of("c"), values(flush.get(2)));
        assertEquals("key-0", flush.get(1).get(1).getKey().toStringUtf8());
        assertFalse(flush.get(0).get(1).hasKey());
    }

    @Test
    void oneFullBatchFlushesEveryOpenBatch() {
        ProduceBatcher batcher = batcher(Partitioner.hashing(3, 0));
        batcher.add(keyed("key-2", "other"));                 // partition 2, one record
        for (int i = 0; i < 501; i++) {
            batcher.add(keyed("key-0", "k" + i));               // partition 1
        }

        assertEquals(1, flushes.size());
        assertEquals(500, flushes.get(0).get(1).size());
        assertEquals(List.of("other"), values(flushes.get(0).get(2)));
        batcher.flush();
        assertEquals(List.of("k500"), values(flushes.get(1).get(1)));
    }
}
