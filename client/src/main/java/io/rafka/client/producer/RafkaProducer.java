package io.rafka.client.producer;

import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.ConfigValues;
import io.rafka.client.producer.internals.ProducerMetadata;
import io.rafka.client.producer.internals.RecordAccumulator;
import io.rafka.client.producer.internals.Sender;
import io.rafka.common.ErrorCode;
import io.rafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * The Java SDK's producer, with the semantics of Kafka's: {@code send} serializes the record, picks its partition
 * ({@link Partitioner}) and appends it to that partition's batch in a bounded accumulator; one I/O thread seals
 * batches (full, or after {@code linger.ms}) into Kafka v2 record batches and ships them to the partitions'
 * leaders over pipelined {@code ProduceStream}s. Idempotent by default: a producer id from the cluster
 * ({@code InitProducerId}) and a sequence per partition let the brokers drop retried duplicates, so retries after
 * timeouts, broken connections and leader changes neither duplicate nor reorder records. Thread-safe: share one
 * producer between threads.
 *
 * <pre>{@code
 * try (RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
 *         .bootstrap("127.0.0.1:9192").acks(Acks.ALL).lingerMs(5).build()) {
 *     producer.send(new ProducerRecord<>("orders", "customer-42", "{\"total\": 12}"),
 *             (metadata, error) -> { if (error != null) error.printStackTrace(); });
 *     RecordMetadata m = producer.send(new ProducerRecord<>("orders", "customer-7", "{}")).join();
 * }
 * }</pre>
 *
 * <p>Errors: {@code send} throws only for a closed producer; everything else fails the returned future (and tells
 * the callback) with a {@link ProducerException} carrying the broker's {@link ErrorCode}:
 * {@link BufferExhaustedException} when {@code buffer.memory} stayed full for {@code max.block.ms}, the broker's
 * code for a record refused for good (RECORD_TOO_LARGE, INVALID_TOPIC, ...), or the last retriable code when
 * {@code delivery.timeout.ms} ran out. A failed record does not stop the producer.
 */
public final class RafkaProducer<K, V> implements Producer<K, V> {
    private final ProducerConfig config;
    private final Serializer<K> keySerializer;
    private final Serializer<V> valueSerializer;
    private final ProducerMetadata metadata;
    private final RecordAccumulator accumulator;
    private final Sender sender;
    private final Thread ioThread;
    private final Object producerIdLock = new Object();
    private volatile long producerId = -1;
    private volatile boolean closed;

    public static <K, V> ProducerBuilder<K, V> builder(Serializer<K> keySerializer, Serializer<V> valueSerializer) {
        return new ProducerBuilder<>(keySerializer, valueSerializer);
    }

    public RafkaProducer(ProducerConfig config, Serializer<K> keySerializer, Serializer<V> valueSerializer) {
        this(config, keySerializer, valueSerializer, ChannelPool.plaintext(), true);
    }

    /**
     * A producer on the given channels, which it leaves open on close (the caller owns them): for tools that
     * share their connections (the CLI) and tests on in-process transports.
     */
    public RafkaProducer(ProducerConfig config, Serializer<K> keySerializer, Serializer<V> valueSerializer,
                         ChannelPool channels) {
        this(config, keySerializer, valueSerializer, channels, false);
    }

    private RafkaProducer(ProducerConfig config, Serializer<K> keySerializer, Serializer<V> valueSerializer,
                          ChannelPool channels, boolean ownsChannels) {
        this.config = config;
        this.keySerializer = keySerializer;
        this.valueSerializer = valueSerializer;
        this.metadata = new ProducerMetadata(config.bootstrapServers().stream().map(BrokerAddress::parse).toList(),
                channels, ownsChannels, Math.max(ProducerMetadata.MIN_TOPIC_IDLE_MS, 2 * config.deliveryTimeoutMs()));
        this.accumulator = new RecordAccumulator(config);
        this.sender = new Sender(accumulator, metadata);
        this.ioThread = new Thread(sender, config.clientId().isEmpty() ? "rafka-producer-io" : "rafka-producer-io | " + config.clientId());
        this.ioThread.setDaemon(true);
        this.ioThread.start();
    }

    /** From Kafka's config keys, serializers given. */
    public RafkaProducer(Map<String, ?> configs, Serializer<K> keySerializer, Serializer<V> valueSerializer) {
        this(ProducerConfig.fromMap(configs), keySerializer, valueSerializer);
    }

    /**
     * From Kafka's config keys, serializers included: {@code key.serializer} and {@code value.serializer} name a
     * built-in by Kafka's class name (StringSerializer, ByteArraySerializer, ...) or are {@link Serializer}s.
     */
    @SuppressWarnings("unchecked")
    public RafkaProducer(Map<String, ?> configs) {
        this(ProducerConfig.fromMap(configs), (Serializer<K>) serializer(configs, "key.serializer"),
                (Serializer<V>) serializer(configs, "value.serializer"));
    }

    public RafkaProducer(Properties properties) {
        this(ConfigValues.toMap(properties));
    }

    private static Serializer<?> serializer(Map<String, ?> configs, String key) {
        Object v = configs.get(key);
        if (v == null) {
            throw new IllegalArgumentException(key + " is required");
        }
        if (v instanceof Serializer<?> s) {
            return s;
        }
        return Serializers.forClassName(key, v instanceof Class<?> c ? c.getName() : v.toString().trim(), configs);
    }

    public ProducerConfig config() {
        return config;
    }

    @Override
    public CompletableFuture<RecordMetadata> send(ProducerRecord<K, V> record) {
        return send(record, null);
    }

    @Override
    public CompletableFuture<RecordMetadata> send(ProducerRecord<K, V> record, Callback callback) {
        if (closed) {
            throw new IllegalStateException("the producer is closed");
        }
        try {
            return append(record, callback);
        } catch (ProducerException e) {
            if (callback != null) {
                callback.onCompletion(failedMetadata(record), e);
            }
            return CompletableFuture.failedFuture(e);
        } catch (InterruptedException e) {
            // As Kafka's: thrown, not handed to the callback (the record was not taken).
            throw new io.rafka.client.InterruptException("interrupted while send waited for buffer memory", e);
        }
    }

    /** What a callback is told for a record refused at send: its partition if the record names one, else -1. */
    private static RecordMetadata failedMetadata(ProducerRecord<?, ?> record) {
        return RecordMetadata.failed(record.topic(), record.partition() != null ? record.partition() : -1);
    }

    private CompletableFuture<RecordMetadata> append(ProducerRecord<K, V> record, Callback callback) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMillis(config.maxBlockMs()).toNanos();
        String topic = record.topic();
        byte[] key = keySerializer.serialize(topic, record.key());
        byte[] value = valueSerializer.serialize(topic, record.value());
        int partitions = metadata.partitionCount(topic, record.partition() != null ? record.partition() : -1, deadline);
        ensureProducerId(deadline);
        long timestamp = record.timestampMs() != null ? record.timestampMs() : System.currentTimeMillis();
        if (record.partition() != null) {
            return accumulator.append(new TopicPartition(topic, record.partition()), timestamp, key, value,
                    record.headers(), callback, deadline, false);
        }
        Partitioner partitioner = config.partitioner();
        int p = partitioner.partition(topic, key, partitions);
        CompletableFuture<RecordMetadata> f = accumulator.append(new TopicPartition(topic, p), timestamp, key,
                value, record.headers(), callback, deadline, key == null);
        if (f == null) {
            // The sticky partition's batch is full: let the partitioner move on before this record starts a batch.
            partitioner.onBatchClosed(topic, p, partitions);
            p = partitioner.partition(topic, key, partitions);
            f = accumulator.append(new TopicPartition(topic, p), timestamp, key, value, record.headers(),
                    callback, deadline, false);
        }
        if (key == null) {
            // The record's size in a batch, overhead included (as the accumulator counts it), so the sticky partition
            // moves on about when a batch of it would be full, however soon the sender seals batches.
            partitioner.onAppend(topic, p, (int) RecordAccumulator.sizeOf(null, value, record.headers()), config.batchSizeBytes(), partitions);
        }
        return f;
    }

    private void ensureProducerId(long deadline) {
        if (!config.idempotence() || producerId >= 0) {
            return;
        }
        synchronized (producerIdLock) {
            if (producerId < 0) {
                long id = metadata.initProducerId(deadline);
                accumulator.setProducerId(id);
                producerId = id;
            }
        }
    }

    /** The producer id the cluster gave this producer; -1 before the first send or without idempotence. */
    public long producerId() {
        return producerId;
    }

    /** Retries, NOT_LEADER answers and leader changes so far. */
    public ProducerMetrics metrics() {
        return sender.metrics();
    }

    @Override
    public void flush() {
        if (inCallback()) {
            throw new IllegalStateException("flush() from a callback would wait for the callback's own batch, which "
                    + "completes only once the callback returned");
        }
        try {
            accumulator.flush();
        } catch (InterruptedException e) {
            throw new io.rafka.client.InterruptException("interrupted while flush waited for its batches' answers", e);
        }
    }

    @Override
    public List<TopicPartition> partitionsFor(String topic) {
        int n = metadata.partitionCount(topic, System.nanoTime() + Duration.ofMillis(config.maxBlockMs()).toNanos());
        return new ArrayList<>(IntStream.range(0, n).mapToObj(p -> new TopicPartition(topic, p)).toList());
    }

    @Override
    public void close() {
        close(Duration.ofMillis(Long.MAX_VALUE));
    }

    @Override
    public void close(Duration timeout) {
        closed = true;
        if (inCallback()) {
            sender.forceClose(closedError());  // from a callback: cannot wait for itself
            // The connections are closed once the I/O thread ended, by a thread that may wait for it (this one, a
            // callback on the I/O thread or on one of those connections' threads, may not).
            Thread closer = new Thread(() -> {
                try {
                    ioThread.join(5_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    accumulator.close();
                    metadata.close();
                }
            }, "rafka-producer-close");
            closer.setDaemon(true);
            closer.start();
            return;
        }
        long startNs = System.nanoTime();
        long timeoutMs = Math.max(1, Math.min(Long.MAX_VALUE / 2, timeout.toMillis()));
        sender.initiateClose();
        try {
            ioThread.join(timeoutMs);
            if (ioThread.isAlive()) {
                sender.forceClose(closedError());
                ioThread.join(5_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            sender.forceClose(closedError());
        } finally {
            accumulator.close();
            // What is left of the timeout, so close(timeout) ends near it even with every broker hung.
            metadata.close(Math.max(0, timeoutMs - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs)));
        }
    }

    /** Callbacks run on the I/O thread or on the gRPC thread that got the answer ({@code RecordAccumulator}). */
    private boolean inCallback() {
        return Thread.currentThread() == ioThread || accumulator.inCallback();
    }

    private static ProducerException closedError() {
        return new ProducerException(ErrorCode.REQUEST_TIMED_OUT, "the producer was closed before the record was"
                + " acknowledged; it may or may not have been written");
    }
}
