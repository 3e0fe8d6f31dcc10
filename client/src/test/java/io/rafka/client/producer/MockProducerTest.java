package io.rafka.client.producer;

import io.rafka.common.ErrorCode;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MockProducerTest {
    @Test
    void autoCompleteAcknowledgesWithOffsetsPerPartition() {
        MockProducer<String, String> p = new MockProducer<>(true, Serializers.string(), Serializers.string(),
                new DefaultPartitioner(), 3);
        RecordMetadata a = p.send(new ProducerRecord<>("t", "key-0", "a")).join();
        RecordMetadata b = p.send(new ProducerRecord<>("t", "key-0", "b")).join();
        assertEquals(1, a.partition(), "murmur2, as the real producer");
        assertEquals(0, a.offset());
        assertEquals(1, b.offset());
        assertEquals(2, p.history().size());
        assertEquals("b", p.history().get(1).value());
    }

    @Test
    void testsDecideWhenAndHowSendsAreAnswered() {
        MockProducer<String, String> p = new MockProducer<>(false, Serializers.string(), Serializers.string());
        AtomicReference<Exception> told = new AtomicReference<>();
        CompletableFuture<RecordMetadata> first = p.send(new ProducerRecord<>("t", "a"));
        CompletableFuture<RecordMetadata> second = p.send(new ProducerRecord<>("t", "b"), (m, e) -> told.set(e));
        assertFalse(first.isDone());
        assertTrue(p.completeNext());
        ProducerException tooLarge = new ProducerException(ErrorCode.RECORD_TOO_LARGE, "big");
        assertTrue(p.errorNext(tooLarge));
        assertEquals(0, first.join().offset());
        CompletionException e = assertThrows(CompletionException.class, second::join);
        assertSame(tooLarge, e.getCause());
        assertSame(tooLarge, told.get());
        p.failNextSend(tooLarge);
        assertTrue(p.send(new ProducerRecord<>("t", "c")).isCompletedExceptionally());
        p.close();
        assertThrows(IllegalStateException.class, () -> p.send(new ProducerRecord<>("t", "d")));
    }
}
