package io.rafka.raft.internal;

import io.rafka.common.CorruptRecordException;
import io.rafka.common.ErrorCode;
import io.rafka.common.InvalidRecordException;
import io.rafka.common.RafkaException;
import io.rafka.common.RecordTooLargeException;
import io.rafka.record.CompressionType;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.testing.TestBatches;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PendingAppendTest {
    private static final int MAX = 1 << 20;

    private static ByteBuffer producerBatch(long pid, int seq) {
        return new RecordBatchBuilder(CompressionType.NONE).producer(pid, (short) 0, seq)
                .append(1L, null, new byte[] {1}).build();
    }

    private static ByteBuffer concat(ByteBuffer a, ByteBuffer b) {
        return ByteBuffer.allocate(a.remaining() + b.remaining()).put(a.duplicate()).put(b.duplicate()).flip();
    }

    @Test
    void refusesARecordDatedFurtherAheadOfTheClockThanAllowed() {
        long now = 1_000_000_000L;
        ByteBuffer ahead = new RecordBatchBuilder(CompressionType.NONE).append(now, null, new byte[] {1})
                .append(now + 3_600_001, null, new byte[] {2}).build();
        InvalidRecordException e = assertThrows(InvalidRecordException.class,
                () -> PendingAppend.copyOf(now, ahead, MAX, MAX, 3_600_000, -1));
        assertEquals(true, e.getMessage().contains("3600001 ms ahead"), e.getMessage());
        assertEquals(2, PendingAppend.copyOf(now, ahead, MAX, MAX, 3_600_001, -1).batches.get(0).recordCount(),
                "at the bound: taken");
        ByteBuffer undated = TestBatches.batch(CompressionType.NONE, "none", 1);
        assertEquals(1, PendingAppend.copyOf(now, undated, MAX, MAX, 0, -1).batches.size(), "no timestamp: not checked");
    }

    @Test
    void takesAPrivateCopyAndLeavesTheCallersBufferAsItWas() {
        ByteBuffer in = TestBatches.batch(CompressionType.NONE, "v", 3);
        int position = in.position();
        PendingAppend p = PendingAppend.copyOf(42, in, MAX, MAX);
        byte[] before = p.data.clone();
        in.put(in.position() + RecordBatch.RECORDS_OFFSET, (byte) 0x7f);  // the caller reuses its buffer
        assertArrayEquals(before, p.data, "the copy does not see the caller's later writes");
        assertEquals(position, in.position());
        assertEquals(1, p.batches.size());
        assertNull(p.producerBatch);
        assertEquals(42, p.appendTimeMs);
    }

    @Test
    void checksSizeCrcAndProducerRules() {
        ByteBuffer big = TestBatches.sized(1, 2000, 1L);
        assertThrows(RecordTooLargeException.class, () -> PendingAppend.copyOf(0, big, 1000, MAX));
        ByteBuffer corrupt = TestBatches.batch(CompressionType.NONE, "v", 2);
        corrupt.put(RecordBatch.RECORDS_OFFSET + 3, (byte) (corrupt.get(RecordBatch.RECORDS_OFFSET + 3) ^ 1));
        assertThrows(CorruptRecordException.class, () -> PendingAppend.copyOf(0, corrupt, MAX, MAX));
        assertThrows(InvalidRecordException.class, () -> PendingAppend.copyOf(0, ByteBuffer.allocate(0), MAX, MAX));
        ByteBuffer twoWithProducer = concat(producerBatch(7, 0), TestBatches.batch(CompressionType.NONE, "v", 1));
        InvalidRecordException e = assertThrows(InvalidRecordException.class,
                () -> PendingAppend.copyOf(0, twoWithProducer, MAX, MAX));
        assertEquals("a batch with a producer id must be appended alone", e.getMessage());
        assertEquals(7, PendingAppend.copyOf(0, producerBatch(7, 0), MAX, MAX).producerBatch.producerId());
    }

    @Test
    void anInProcessMessageCarriesTheAppendItselfAndItsBytesOnRequest() {
        PendingAppend p = PendingAppend.copyOf(99, TestBatches.batch(CompressionType.NONE, "v", 2), MAX, MAX);
        PendingEntry entry = PendingEntry.of(p);
        Message m = entry.toMessage();
        assertSame(entry, PendingEntry.of(m), "the state machine takes the same copy, no second one");
        assertEquals(m.getContent().size(), m.size());
        PendingEntry decoded = PendingEntry.decode(m.getContent(), MAX, MAX);
        assertArrayEquals(p.data, decoded.parts.get(0).data);
        assertEquals(99, decoded.parts.get(0).appendTimeMs);
        assertArrayEquals(entry.header, decoded.header);
        assertNull(PendingEntry.of(Message.valueOf(m.getContent())), "bytes from elsewhere are decoded, not trusted");
    }

    @Test
    void aGroupOfAppendsTravelsAsOneMessageAndDecodesPartByPart() {
        PendingAppend a = PendingAppend.copyOf(5, TestBatches.batch(CompressionType.NONE, "a", 2), MAX, MAX);
        PendingAppend b = PendingAppend.copyOf(6, producerBatch(7, 0), MAX, MAX);
        PendingEntry group = PendingEntry.of(java.util.List.of(a, b));
        Message m = group.toMessage();
        assertEquals(m.getContent().size(), m.size());
        assertEquals(a.data.length + b.data.length, group.data().size());
        PendingEntry decoded = PendingEntry.decode(m.getContent(), MAX, MAX);
        assertEquals(2, decoded.parts.size());
        assertArrayEquals(b.data, decoded.parts.get(1).data);
        assertEquals(6, decoded.parts.get(1).appendTimeMs);
        assertArrayEquals(group.header, decoded.header);
        PartitionMessages.EntryHeader h = PartitionMessages.EntryHeader.decode(ByteString.copyFrom(group.header));
        assertEquals(java.util.List.of(-1L, 7L), h.parts().stream().map(PartitionMessages.DataEntry::producerId).toList());
        RafkaException e = assertThrows(RafkaException.class, () -> PendingEntry.decode(
                m.getContent().substring(0, m.size() - 1), MAX, MAX));
        assertEquals(ErrorCode.INVALID_REQUEST, e.errorCode());
    }

    @Test
    void anAppendBiggerThanOneRaftEntryIsRefusedBeforeRaftSeesIt() {
        Message m = PendingEntry.of(PendingAppend.copyOf(1, TestBatches.sized(1, 2000, 1L), MAX, MAX)).toMessage();
        RafkaException e = assertThrows(RafkaException.class, () -> PendingEntry.take(m, 1000, MAX, MAX));
        assertEquals(ErrorCode.RECORD_LIST_TOO_LARGE, e.errorCode());
        assertSame(PendingEntry.of(m), PendingEntry.take(m, 4000, MAX, MAX));
    }

    @Test
    void refusesBytesThatAreNotAnAppendRequest() {
        RafkaException e = assertThrows(RafkaException.class,
                () -> PendingEntry.decode(ByteString.copyFrom(new byte[] {PartitionMessages.STATE}), MAX, MAX));
        assertEquals(ErrorCode.INVALID_REQUEST, e.errorCode());
    }
}
