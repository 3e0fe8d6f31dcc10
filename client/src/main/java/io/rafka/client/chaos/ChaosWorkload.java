package io.rafka.client.chaos;

import io.rafka.client.chaos.History.Outcome;
import io.rafka.client.chaos.History.Send;
import io.rafka.client.producer.Acks;
import io.rafka.client.producer.BufferExhaustedException;
import io.rafka.client.producer.ProducerException;
import io.rafka.client.producer.ProducerRecord;
import io.rafka.client.producer.RafkaProducer;
import io.rafka.client.producer.RecordMetadata;
import io.rafka.client.producer.Serializers;
import io.rafka.common.ErrorCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The chaos run's writers: SDK producers (idempotent ones, and one without idempotence whose duplicates are only
 * information), each sending unique values ({@code <producer>-<n>}) round-robin over the partitions at a fixed
 * rate, acks=all, for a given time. Every send's outcome goes to the {@link History}: acknowledged with its
 * offset, failed for certain (a refusal the broker gives before writing anything, or a full buffer), or
 * unknown (timed out; the record may or may not have been written).
 */
final class ChaosWorkload {
    private static final Logger LOG = LoggerFactory.getLogger(ChaosWorkload.class);
    /** Errors a broker gives before anything is written: the record is certainly not in the log. */
    private static final Set<ErrorCode> REFUSED_BEFORE_WRITING = EnumSet.of(ErrorCode.RECORD_TOO_LARGE,
            ErrorCode.INVALID_RECORD, ErrorCode.CORRUPT_MESSAGE, ErrorCode.INVALID_TOPIC, ErrorCode.INVALID_REQUEST,
            ErrorCode.RECORD_LIST_TOO_LARGE, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);

    /**
     * @param consumers members of consumer group {@code group} reading along, besides one reader with manual
     *                  assignment ({@link ChaosConsumers}); 0 for no readers
     */
    record Settings(String bootstrap, String topic, int partitions, int producers, int ratePerProducer, long durationMs,
                    int consumers, String group) {
    }

    /** How long the group may take, after the writers stopped, to consume every acknowledged value. */
    private static final long DRAIN_TIMEOUT_MS = 90_000;

    private final Settings settings;
    private final History history;
    private final AtomicLong acked = new AtomicLong();
    private final Set<String> ackedValues = ConcurrentHashMap.newKeySet();
    private final AtomicLong failed = new AtomicLong();
    /** Why sends failed: message → count, summarised at the end. */
    private final Map<String, Integer> failures = new ConcurrentHashMap<>();

    ChaosWorkload(Settings settings, History history) {
        this.settings = settings;
        this.history = history;
    }

    /** Sends for the configured time, then waits for every outstanding send's outcome (up to the delivery timeout). */
    void run() throws InterruptedException {
        ChaosConsumers readers = new ChaosConsumers(settings.bootstrap(), settings.topic(), history);
        readers.start(settings.consumers(), settings.group());
        if (settings.consumers() > 0) {
            readers.startAssigned(settings.partitions());
        }
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < settings.producers(); i++) {
            // The last producer runs without idempotence when there are several: its duplicates are information.
            boolean idempotent = settings.producers() == 1 || i < settings.producers() - 1;
            String name = (idempotent ? "idem" : "plain") + i;
            Thread t = new Thread(() -> produce(name, idempotent), "chaos-" + name);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        if (settings.consumers() > 0) {
            readers.drainAndStop(ackedValues, () -> true, DRAIN_TIMEOUT_MS);
        }
        LOG.warn("workload done: {} acknowledged, {} failed or unknown{}", acked.get(), failed.get(),
                failures.isEmpty() ? "" : "; failures: " + new TreeMap<>(failures));
    }

    private void produce(String name, boolean idempotent) {
        try (RafkaProducer<String, String> producer = RafkaProducer.builder(Serializers.string(), Serializers.string())
                .bootstrap(settings.bootstrap()).acks(Acks.ALL).idempotence(idempotent).lingerMs(2)
                .requestTimeout(Duration.ofSeconds(10)).deliveryTimeout(Duration.ofSeconds(30)).build()) {
            long start = System.currentTimeMillis();
            long intervalNanos = 1_000_000_000L / Math.max(1, settings.ratePerProducer());
            long next = System.nanoTime();
            for (long n = 0; System.currentTimeMillis() - start < settings.durationMs(); n++) {
                int partition = (int) (n % settings.partitions());
                String value = name + "-" + n;
                long sentMs = System.currentTimeMillis();
                producer.send(new ProducerRecord<>(settings.topic(), partition, null, value))
                        .whenComplete((m, e) -> record(name, idempotent, partition, value, sentMs, m, e));
                next += intervalNanos;
                long sleep = next - System.nanoTime();
                if (sleep > 0) {
                    Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
                }
            }
            producer.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.warn("producer {} stopped: {}", name, e.toString());
        }
    }

    private void record(String producer, boolean idempotent, int partition, String value, long sentMs,
                        RecordMetadata metadata, Throwable error) {
        long now = System.currentTimeMillis();
        if (error == null) {
            acked.incrementAndGet();
            ackedValues.add(value);
            history.send(new Send(producer, idempotent, partition, value, sentMs, now, Outcome.OK, metadata.offset()));
            return;
        }
        failed.incrementAndGet();
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (failures.merge(String.valueOf(cause.getMessage()).replaceAll("\\d+", "N"), 1, Integer::sum) == 1) {
            LOG.warn("{}: {} to partition {} failed: {}", producer, value, partition, cause.toString());
        }
        boolean certain = cause instanceof BufferExhaustedException
                || (cause instanceof ProducerException p && REFUSED_BEFORE_WRITING.contains(p.errorCode()));
        history.send(new Send(producer, idempotent, partition, value, sentMs, now, certain ? Outcome.FAIL : Outcome.UNKNOWN, -1));
    }
}
