package io.rafka.client.internals;

import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** A fetch answer's batches are trusted only once checked: damage ends the records there and says where. */
class FetchDecoderTest {
    private static final TopicPartition TP = new TopicPartition("t", 0);

    /** Two batches, offsets 0-1 and 2-3. */
    private static ByteBuffer twoBatches() {
        ByteBuffer all = ByteBuffer.allocate(4096);
        for (int base : new int[] {0, 2}) {
            RecordBatchBuilder b = new RecordBatchBuilder(CompressionType.NONE).baseOffset(base);
            b.append(1_000L, null, ("v" + base).getBytes(StandardCharsets.UTF_8));
            b.append(1_000L, null, ("v" + (base + 1)).getBytes(StandardCharsets.UTF_8));
            all.put(b.build());
        }
        return all.flip();
    }

    private static FetchDecoder.Decoded decode(ByteBuffer batches, long from) {
        PartitionFetchResult result = PartitionFetchResult.newBuilder().setTopic(TP.topic()).setPartition(0)
                .setEncodedBatches(com.google.protobuf.ByteString.copyFrom(batches.duplicate())).build();
        return FetchDecoder.decode(TP, result, from);
    }

    private static List<Long> offsets(FetchDecoder.Decoded d) {
        return d.records().stream().map(Fetched::offset).toList();
    }

    @Test
    void checkedBatchesFromTheFetchOffsetOn() {
        FetchDecoder.Decoded d = decode(twoBatches(), 1);
        assertEquals(List.of(1L, 2L, 3L), offsets(d));
        assertNull(d.damage());
    }

    /** The base offset is outside the CRC: a batch that does not start where the one before ended is damage. */
    @Test
    void aBatchNotFollowingTheOneBeforeIsDamageNotAJump() {
        ByteBuffer batches = twoBatches();
        RecordBatch second = io.rafka.record.RecordBatches.split(batches.duplicate()).get(1);
        second.setBaseOffset(1_000);
        FetchDecoder.Decoded d = decode(batches, 0);
        assertEquals(List.of(0L, 1L), offsets(d));
        assertEquals(2, d.damagedOffset());
    }

    /** A flipped attribute bit reads as a control batch: checked first, it is damage, not records silently skipped. */
    @Test
    void aDamagedBatchIsNotSkippedAsAControlBatch() {
        ByteBuffer batches = twoBatches();
        int attributesLow = 8 + 4 + 4 + 1 + 4 + 1;   // base offset, length, leader epoch, magic, CRC, then attributes
        batches.put(attributesLow, (byte) (batches.get(attributesLow) | 0x20));
        FetchDecoder.Decoded d = decode(batches, 0);
        assertEquals(List.of(), offsets(d));
        assertEquals(0, d.damagedOffset());
    }
}
