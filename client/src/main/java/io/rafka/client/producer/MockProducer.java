package io.rafka.client.producer;

import io.rafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;

/**
 * A {@link Producer} for users' unit tests, as Kafka's {@code MockProducer}: it keeps every record sent
 * ({@link #history()}) and, with auto-complete (the default), acknowledges each at once with increasing offsets
 * per partition. Without it, the test decides: {@link #completeNext()} or {@link #errorNext} answer the oldest
 * unanswered send. Partitions are picked with the real {@link DefaultPartitioner} over {@code partitionCount}
 * partitions, so tests see the partition a key would get. Thread-safe.
 *
 * <pre>{@code
 * MockProducer<String, String> producer = new MockProducer<>(true, Serializers.string(), Serializers.string());
 * service.placeOrder(producer, order);
 * assertEquals("orders", producer.history().get(0).topic());
 * }</pre>
 */
public final class MockProducer<K, V> implements Producer<K, V> {
    private final boolean autoComplete;
    private final Serializer<K> keySerializer;
    private final Serializer<V> valueSerializer;
    private final Partitioner partitioner;
    private final int partitionCount;
    private final List<ProducerRecord<K, V>> sent = new ArrayList<>();
    private final Deque<Completion> unanswered = new ArrayDeque<>();
    private final Map<TopicPartition, Long> offsets = new HashMap<>();
    private RuntimeException sendError;
    private boolean closed;
    private int flushes;

    private record Completion(TopicPartition tp, long timestampMs, CompletableFuture<RecordMetadata> future,
                              Callback callback) {
    }

    public MockProducer(boolean autoComplete, Serializer<K> keySerializer, Serializer<V> valueSerializer) {
        this(autoComplete, keySerializer, valueSerializer, new DefaultPartitioner(), 1);
    }

    public MockProducer(boolean autoComplete, Serializer<K> keySerializer, Serializer<V> valueSerializer,
                        Partitioner partitioner, int partitionCount) {
        this.autoComplete = autoComplete;
        this.keySerializer = keySerializer;
        this.valueSerializer = valueSerializer;
        this.partitioner = partitioner;
        this.partitionCount = partitionCount;
    }

    @Override
    public CompletableFuture<RecordMetadata> send(ProducerRecord<K, V> record) {
        return send(record, null);
    }

    @Override
    public CompletableFuture<RecordMetadata> send(ProducerRecord<K, V> record, Callback callback) {
        Completion c;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("the producer is closed");
            }
            byte[] key = keySerializer.serialize(record.topic(), record.key());
            valueSerializer.serialize(record.topic(), record.value());
            int partition = record.partition() != null ? record.partition()
                    : partitioner.partition(record.topic(), key, partitionCount);
            sent.add(record);
            long ts = record.timestampMs() != null ? record.timestampMs() : System.currentTimeMillis();
            c = new Completion(new TopicPartition(record.topic(), partition), ts, new CompletableFuture<>(), callback);
            if (sendError != null) {
                RuntimeException e = sendError;
                sendError = null;
                fail(c, e);
                return c.future();
            }
            if (!autoComplete) {
                unanswered.addLast(c);
                return c.future();
            }
        }
        complete(c);
        return c.future();
    }

    /** Makes the next {@code send} fail with {@code error} (once). */
    public synchronized void failNextSend(RuntimeException error) {
        this.sendError = error;
    }

    /** Acknowledges the oldest unanswered send; false if there is none. */
    public boolean completeNext() {
        Completion c;
        synchronized (this) {
            c = unanswered.pollFirst();
        }
        if (c == null) {
            return false;
        }
        complete(c);
        return true;
    }

    /** Fails the oldest unanswered send with {@code error}; false if there is none. */
    public boolean errorNext(RuntimeException error) {
        Completion c;
        synchronized (this) {
            c = unanswered.pollFirst();
        }
        if (c == null) {
            return false;
        }
        fail(c, error);
        return true;
    }

    private void complete(Completion c) {
        long offset;
        synchronized (this) {
            offset = offsets.merge(c.tp(), 1L, Long::sum) - 1;
        }
        RecordMetadata m = new RecordMetadata(c.tp().topic(), c.tp().partition(), offset, c.timestampMs());
        if (c.callback() != null) {
            c.callback().onCompletion(m, null);
        }
        c.future().complete(m);
    }

    private static void fail(Completion c, RuntimeException error) {
        if (c.callback() != null) {
            c.callback().onCompletion(RecordMetadata.failed(c.tp().topic(), c.tp().partition()), error);
        }
        c.future().completeExceptionally(error);
    }

    /** Every record sent so far, in order. */
    public synchronized List<ProducerRecord<K, V>> history() {
        return List.copyOf(sent);
    }

    /** Forgets the history (unanswered sends stay unanswered). */
    public synchronized void clear() {
        sent.clear();
    }

    /** How often {@link #flush} was called. */
    public synchronized int flushes() {
        return flushes;
    }

    public synchronized boolean closed() {
        return closed;
    }

    /** With auto-complete off, answers every unanswered send (as a real flush waits for them). */
    @Override
    public void flush() {
        synchronized (this) {
            flushes++;
        }
        while (completeNext()) {
            // answered in order
        }
    }

    @Override
    public List<TopicPartition> partitionsFor(String topic) {
        return IntStream.range(0, partitionCount).mapToObj(p -> new TopicPartition(topic, p)).toList();
    }

    @Override
    public synchronized void close() {
        closed = true;
    }

    @Override
    public void close(Duration timeout) {
        close();
    }
}
