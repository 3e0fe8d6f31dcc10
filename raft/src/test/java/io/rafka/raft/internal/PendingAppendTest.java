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
        Message m = p.toMessage();
        assertSame(p, PendingAppend.of(m), "the state machine takes the same copy, no second one");
        assertEquals(m.getContent().size(), m.size());
        PendingAppend decoded = PendingAppend.decode(m.getContent(), MAX, MAX);
        assertArrayEquals(p.data, decoded.data);
        assertEquals(99, decoded.appendTimeMs);
        assertArrayEquals(p.header, decoded.header);
        assertNull(PendingAppend.of(Message.valueOf(m.getContent())), "bytes from elsewhere are decoded, not trusted");
    }

    @Test
    void anAppendBiggerThanOneRaftEntryIsRefusedBeforeRaftSeesIt() {
        Message m = PendingAppend.copyOf(1, TestBatches.sized(1, 2000, 1L), MAX, MAX).toMessage();
        RafkaException e = assertThrows(RafkaException.class, () -> PendingAppend.take(m, 1000, MAX, MAX));
        assertEquals(ErrorCode.RECORD_LIST_TOO_LARGE, e.errorCode());
        assertSame(PendingAppend.of(m), PendingAppend.take(m, 4000, MAX, MAX));
    }

    @Test
    void refusesBytesThatAreNotAnAppendRequest() {
        RafkaException e = assertThrows(RafkaException.class,
                () -> PendingAppend.decode(ByteString.copyFrom(new byte[] {PartitionMessages.STATE}), MAX, MAX));
        assertEquals(ErrorCode.INVALID_REQUEST, e.errorCode());
    }
}
