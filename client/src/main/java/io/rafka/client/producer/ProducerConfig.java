package io.rafka.client.producer;

import io.rafka.client.internals.ConfigValues;
import io.rafka.record.CompressionType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * <pre>{@code
 * Properties props = new Properties();
 * props.load(Files.newBufferedReader(Path.of("producer.properties")));   // Kafka's keys
 * ProducerConfig config = ProducerConfig.fromMap((Map) props);
 * }</pre>
 *
 * A producer's settings, validated when made, with Kafka's names and defaults ({@link #fromMap} reads Kafka's
 * config keys, so existing {@code producer.properties} files work). Immutable. Idempotence is on by default
 * and then needs {@code acks=all}, {@code retries > 0} and at most 5 requests in flight per broker (the broker
 * de-duplicates a retried batch only among a producer's last five of a partition).
 *
 * @param bootstrapServers  brokers to ask for metadata first ({@code host:port}); any one that answers will do
 * @param lingerMs          how long a batch waits for more records before it is sent
 * @param batchSizeBytes    a batch is sent once this full (a larger record still goes, alone)
 * @param bufferMemoryBytes bytes of records waiting to be acknowledged, at most; {@code send} blocks beyond it
 * @param maxBlockMs        how long {@code send} blocks for buffer memory or metadata before it throws
 * @param deliveryTimeoutMs how long a record may take from {@code send} to its answer, retries included
 * @param requestTimeoutMs  how long the broker may take to commit a request (sent as its timeout)
 * @param retries           attempts after the first, at most (within the delivery timeout)
 * @param maxInFlight       unanswered requests per broker, at most
 * @param maxRequestBytes   batches per request, in bytes, at most (one larger batch still goes alone); well
 *                          under the broker's {@code max.request.bytes}
 * @param metadataMaxAgeMs  how often the partitions and leaders of the topics in use are asked again even when
 *                          nothing failed, at least: a topic given more partitions gets records on them after this
 * @param clientId          Kafka's {@code client.id}: names the producer's I/O thread (logs, thread dumps); may be empty
 */
public record ProducerConfig(List<String> bootstrapServers, Acks acks, long lingerMs, int batchSizeBytes,
                             long bufferMemoryBytes, long maxBlockMs, CompressionType compression, boolean idempotence,
                             long deliveryTimeoutMs, int requestTimeoutMs, int retries, long retryBackoffMs,
                             int maxInFlight, int maxRequestBytes, long metadataMaxAgeMs, Partitioner partitioner,
                             String clientId) {
    private static final Logger LOG = LoggerFactory.getLogger(ProducerConfig.class);
    public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
    public static final String ACKS = "acks";
    public static final String LINGER_MS = "linger.ms";
    public static final String BATCH_SIZE = "batch.size";
    public static final String BUFFER_MEMORY = "buffer.memory";
    public static final String MAX_BLOCK_MS = "max.block.ms";
    public static final String COMPRESSION_TYPE = "compression.type";
    public static final String ENABLE_IDEMPOTENCE = "enable.idempotence";
    public static final String DELIVERY_TIMEOUT_MS = "delivery.timeout.ms";
    public static final String REQUEST_TIMEOUT_MS = "request.timeout.ms";
    public static final String RETRIES = "retries";
    public static final String RETRY_BACKOFF_MS = "retry.backoff.ms";
    public static final String MAX_IN_FLIGHT = "max.in.flight.requests.per.connection";
    public static final String PARTITIONER = "partitioner.class";
    public static final String MAX_REQUEST_SIZE = "max.request.size";
    public static final String METADATA_MAX_AGE_MS = "metadata.max.age.ms";
    public static final String CLIENT_ID = "client.id";
    /** Kafka's limit for idempotent producers: the broker remembers a producer's last five batches per partition. */
    public static final int MAX_IN_FLIGHT_IDEMPOTENT = 5;

    public ProducerConfig {
        bootstrapServers = List.copyOf(bootstrapServers);
        Objects.requireNonNull(acks, "acks");
        Objects.requireNonNull(compression, "compression");
        Objects.requireNonNull(partitioner, "partitioner");
        Objects.requireNonNull(clientId, "clientId");
        if (bootstrapServers.isEmpty()) {
            throw new IllegalArgumentException(BOOTSTRAP_SERVERS + " is required");
        }
        if (lingerMs < 0 || batchSizeBytes < 1 || bufferMemoryBytes < 1 || maxBlockMs < 0 || requestTimeoutMs < 1
                || retries < 0 || retryBackoffMs < 0 || maxInFlight < 1 || maxRequestBytes < 1 || metadataMaxAgeMs < 0) {
            throw new IllegalArgumentException("linger.ms, max.block.ms, retries, retry.backoff.ms and metadata.max.age.ms must be >= 0;"
                    + " batch.size, buffer.memory, request.timeout.ms, max.in.flight and max.request.size must be > 0");
        }
        if (deliveryTimeoutMs < lingerMs + requestTimeoutMs) {
            throw new IllegalArgumentException(DELIVERY_TIMEOUT_MS + " (" + deliveryTimeoutMs + ") must be at least "
                    + LINGER_MS + " + " + REQUEST_TIMEOUT_MS + " (" + (lingerMs + requestTimeoutMs) + ")");
        }
        if (idempotence && !idempotenceFits(acks, retries, maxInFlight)) {
            throw new IllegalArgumentException(ENABLE_IDEMPOTENCE + " needs acks=all, retries > 0 and "
                    + MAX_IN_FLIGHT + " <= " + MAX_IN_FLIGHT_IDEMPOTENT + " (or set enable.idempotence=false)");
        }
    }

    /**
     * Whether the default idempotence can hold with these settings: as Kafka's producer (since 3.2), a producer that
     * does not set {@code enable.idempotence} but sets {@code acks} other than all, {@code retries=0} or more than
     * {@value #MAX_IN_FLIGHT_IDEMPOTENT} requests in flight runs without idempotence instead of failing; setting it
     * to true with those still fails.
     */
    static boolean idempotenceFits(Acks acks, int retries, int maxInFlight) {
        return acks == Acks.ALL && retries > 0 && maxInFlight <= MAX_IN_FLIGHT_IDEMPOTENT;
    }

    /** Kafka's defaults, for the given bootstrap servers. */
    public static ProducerConfig defaults(List<String> bootstrapServers) {
        return new ProducerConfig(bootstrapServers, Acks.ALL, 5, 16_384, 32L * 1024 * 1024, 60_000,
                CompressionType.NONE, true, 120_000, 30_000, Integer.MAX_VALUE, 100, 5, 1024 * 1024, 300_000,
                new DefaultPartitioner(), "");
    }

    /**
     * Settings from Kafka's config keys (values as strings or numbers); keys it does not know are logged and
     * ignored, as Kafka's clients do. {@code key.serializer} and {@code value.serializer} are read by
     * {@link RafkaProducer#RafkaProducer(Map)}.
     */
    public static ProducerConfig fromMap(Map<String, ?> props) {
        ProducerConfig d = defaults(ConfigValues.servers(props, BOOTSTRAP_SERVERS));
        for (String key : props.keySet()) {
            if (!KNOWN.contains(key)) {
                LOG.warn("ignoring unknown producer config '{}'", key);
            }
        }
        Acks acks = props.containsKey(ACKS) ? Acks.fromConfig(props.get(ACKS).toString()) : d.acks;
        int retries = (int) Math.min(Integer.MAX_VALUE, ConfigValues.number(props, RETRIES, d.retries));
        int maxInFlight = (int) ConfigValues.number(props, MAX_IN_FLIGHT, d.maxInFlight);
        boolean idempotence = props.containsKey(ENABLE_IDEMPOTENCE)
                ? Boolean.parseBoolean(props.get(ENABLE_IDEMPOTENCE).toString().trim())
                : idempotenceFits(acks, retries, maxInFlight);
        if (!props.containsKey(ENABLE_IDEMPOTENCE) && !idempotence) {
            LOG.info("idempotence is off: acks={}, retries={}, {}={} do not allow it and {} is not set", acks, retries,
                    MAX_IN_FLIGHT, maxInFlight, ENABLE_IDEMPOTENCE);
        }
        return new ProducerConfig(d.bootstrapServers, acks,
                ConfigValues.number(props, LINGER_MS, d.lingerMs), (int) ConfigValues.number(props, BATCH_SIZE, d.batchSizeBytes),
                ConfigValues.number(props, BUFFER_MEMORY, d.bufferMemoryBytes), ConfigValues.number(props, MAX_BLOCK_MS, d.maxBlockMs),
                props.containsKey(COMPRESSION_TYPE) ? CompressionType.forName(props.get(COMPRESSION_TYPE).toString().trim())
                        : d.compression,
                idempotence,
                ConfigValues.number(props, DELIVERY_TIMEOUT_MS, d.deliveryTimeoutMs), (int) ConfigValues.number(props, REQUEST_TIMEOUT_MS, d.requestTimeoutMs),
                retries, ConfigValues.number(props, RETRY_BACKOFF_MS, d.retryBackoffMs),
                maxInFlight, (int) ConfigValues.number(props, MAX_REQUEST_SIZE, d.maxRequestBytes),
                ConfigValues.number(props, METADATA_MAX_AGE_MS, d.metadataMaxAgeMs), partitioner(props.get(PARTITIONER), d.partitioner),
                ConfigValues.text(props, CLIENT_ID, d.clientId));
    }

    private static final java.util.Set<String> KNOWN = java.util.Set.of(BOOTSTRAP_SERVERS, ACKS, LINGER_MS, BATCH_SIZE,
            BUFFER_MEMORY, MAX_BLOCK_MS, COMPRESSION_TYPE, ENABLE_IDEMPOTENCE, DELIVERY_TIMEOUT_MS, REQUEST_TIMEOUT_MS,
            RETRIES, RETRY_BACKOFF_MS, MAX_IN_FLIGHT, PARTITIONER, MAX_REQUEST_SIZE, METADATA_MAX_AGE_MS, CLIENT_ID, "partitioner", "key.serializer",
            "value.serializer");

    /** A {@link Partitioner} instance, or the name of a class with a no-argument constructor. */
    private static Partitioner partitioner(Object value, Partitioner fallback) {
        if (value == null) {
            return fallback;
        }
        if (value instanceof Partitioner p) {
            return p;
        }
        String name = value instanceof Class<?> c ? c.getName() : value.toString().trim();
        // Kafka's partitioners by their class names: the default (murmur2 of the key, else sticky) and round robin.
        return switch (name) {
            case "org.apache.kafka.clients.producer.internals.DefaultPartitioner", "DefaultPartitioner" -> new DefaultPartitioner();
            case "org.apache.kafka.clients.producer.RoundRobinPartitioner", "RoundRobinPartitioner" -> new RoundRobinPartitioner();
            default -> ConfigValues.instance(PARTITIONER, name, Partitioner.class);
        };
    }
}
