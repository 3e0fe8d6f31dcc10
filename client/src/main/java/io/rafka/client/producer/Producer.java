package io.rafka.client.producer;

import io.rafka.common.TopicPartition;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Sends records to Rafka: {@link RafkaProducer} does it for real, {@link MockProducer} in users' unit tests.
 *
 * <pre>{@code
 * try (Producer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
 *         .bootstrap("127.0.0.1:9192").build()) {
 *     RecordMetadata m = producer.send(new ProducerRecord<>("orders", "k", "v")).join();
 * }
 * }</pre>
 */
public interface Producer<K, V> extends AutoCloseable {
    /**
     * Queues a record and returns at once (blocking only while buffer memory or metadata is missing, up to
     * {@code max.block.ms}); the future completes when the record is acknowledged or finally fails with a
     * {@link ProducerException}.
     *
     * @throws BufferExhaustedException no room in buffer memory within {@code max.block.ms}
     * @throws IllegalStateException    the producer is closed
     * @throws io.rafka.client.InterruptException the thread was interrupted while it waited for buffer memory
     */
    CompletableFuture<RecordMetadata> send(ProducerRecord<K, V> record);

    /** {@link #send(ProducerRecord)}, telling {@code callback} as well (on the producer's I/O thread). */
    CompletableFuture<RecordMetadata> send(ProducerRecord<K, V> record, Callback callback);

    /**
     * Sends everything queued now and waits until each of those records is acknowledged or failed.
     *
     * @throws io.rafka.client.InterruptException the thread was interrupted while it waited
     */
    void flush();

    /** The topic's partitions, waiting up to {@code max.block.ms} for its metadata (auto-creating it if allowed). */
    List<TopicPartition> partitionsFor(String topic);

    /** Delivers what is queued and stops, waiting as long as that takes. */
    @Override
    void close();

    /** Delivers what it can within {@code timeout}, then fails the rest and stops. */
    void close(Duration timeout);
}
