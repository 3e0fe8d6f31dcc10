package io.rafka.client.cli;

import io.rafka.client.internals.ClientException;
import io.rafka.client.producer.Acks;
import io.rafka.client.producer.ProducerException;
import io.rafka.client.producer.ProducerRecord;
import io.rafka.client.producer.RafkaProducer;
import io.rafka.client.producer.Serializers;
import io.rafka.proto.v1.ErrorCode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code produce TOPIC}: one record per line of stdin, sent with the Java SDK's {@link RafkaProducer}
 * (idempotent with {@code --acks all}, the default: a retry never duplicates a line). Lines are flushed whenever
 * stdin has nothing more to read right now, and at the end of input: typed lines go at once, piped files in full
 * batches. A line the broker refuses for itself (too large, an invalid record) is reported with its number and
 * the rest go on, as Kafka's console producer does; any other failure (no broker, topic gone, retries spent) stops
 * the command with its error.
 */
@Command(name = "produce", header = "Send each line of stdin as one record.", description = {
    "Send each line of stdin (UTF-8) as one record. With --key-separator the text before the first SEP is the key "
            + "and the rest the value; a line without SEP has no key. Records with a key go to partition "
            + "murmur2(key) %% partitions, as with Kafka's clients; records without one fill a batch on one partition, "
            + "then move on to the next. The topic is auto-created if the broker allows it. Lines are sent when a "
            + "batch is full (16 KiB) or stdin pauses. Prints \"produced N records to TOPIC\" on stderr at the end. "
            + "A line refused for itself (too large, an invalid record) is reported as \"line N: ERROR\" and the rest "
            + "are still sent; the command then exits with status 1. Any other failure (no broker, retries spent) stops "
            + "it (lines after the failed one may have been sent already). On Ctrl-C the lines read so far are still "
            + "sent (for up to 10 s) and the count is printed."})
final class ProduceCommand extends CliCommand {

    static final long DEFAULT_RETRY_TIMEOUT_MS = 30_000;
    /** The broker's request timeout is at most this, at least a second (and the delivery timeout covers it). */
    private static final long MAX_REQUEST_TIMEOUT_MS = 30_000;
    private static final long PROGRESS_INTERVAL_MS = 5_000;
    /** On Ctrl-C, how long the records already read may take to be sent before the command ends. */
    private static final long STOP_SEND_MS = 10_000;
    /** Refused lines reported one by one, at most this many; the summary counts them all. */
    static final int MAX_LINES_REPORTED = 100;

    @Parameters(paramLabel = "TOPIC", description = "The topic.")
    String topic;
    @Option(names = "--partition", paramLabel = "P", description = "Send every line to partition P.")
    Integer partitionOption;
    @Option(names = "--acks", paramLabel = "all|1|0", description = {
        "all (the default; idempotent: a retry never duplicates a line), 1 (the same in Rafka) or 0 (does not wait, "
                + "so errors go unseen)."})
    String acksText;
    @Option(names = "--key-separator", paramLabel = "SEP", description = "Split each line into key SEP value.")
    String keySeparator;
    @Option(names = "--retry-timeout-ms", paramLabel = "T",
            description = "How long leader changes and other retriable errors are retried (default 30000).")
    long retryTimeoutMs = DEFAULT_RETRY_TIMEOUT_MS;

    @Override
    void validate() {
        if (partitionOption != null) {
            checkRange("--partition", partitionOption, 0, Integer.MAX_VALUE);
        }
        parseAcks(acksText);
        if (keySeparator != null && keySeparator.isEmpty()) {
            throw new UsageException("--key-separator must not be empty");
        }
        checkRange("--retry-timeout-ms", retryTimeoutMs, 0, Long.MAX_VALUE);
    }

    @Override
    int call(CliContext context) {
        Acks acks = parseAcks(acksText);
        int partition = partitionOption == null ? -1 : partitionOption;
        long requestTimeoutMs = Math.max(1_000, Math.min(MAX_REQUEST_TIMEOUT_MS, retryTimeoutMs));
        AtomicLong sent = new AtomicLong();
        AtomicReference<ProducerException> failure = new AtomicReference<>();
        RefusedLines refused = new RefusedLines(context);
        try (RafkaProducer<byte[], byte[]> producer = new RafkaProducer<>(
                RafkaProducer.builder(Serializers.bytes(), Serializers.bytes()).bootstrap(context.bootstrap().toString())
                        .acks(acks).idempotence(acks == Acks.ALL).lingerMs(0)
                        .requestTimeout(Duration.ofMillis(requestTimeoutMs))
                        .deliveryTimeout(Duration.ofMillis(Math.max(retryTimeoutMs, requestTimeoutMs)))
                        .maxBlock(Duration.ofMillis(Math.max(retryTimeoutMs, 1))).config(),
                Serializers.bytes(), Serializers.bytes(), context.channels())) {
            int partitions;
            try (WaitNotice notice = WaitNotice.start(context, WaitNotice.forTopic(context, topic, retryTimeoutMs))) {
                partitions = producer.partitionsFor(topic).size();
            } catch (ProducerException e) {
                throw toClientException(e);
            }
            if (partition >= partitions) {
                throw ClientException.of(ErrorCode.INVALID_PARTITIONS,
                        "topic " + topic + " has " + partitions + " partitions, there is no partition " + partition);
            }
            // Ctrl-C or SIGTERM while the lines are read: what was read and handed to the producer still goes out
            // (for a bounded time) and the summary says how far it got, as Kafka's console producer closes its
            // producer on the way out. This thread may be blocked reading stdin, so the signal's thread does it.
            context.stop().onStop(() -> {
                try {
                    producer.close(Duration.ofMillis(STOP_SEND_MS));
                } catch (RuntimeException e) {
                    // what it could not send is not counted below
                }
                context.err().println("stopped: produced " + sent.get() + " records to " + topic);
            });
            try {
                produceLines(context, keySeparator, (number, line) -> producer.send(new ProducerRecord<>(topic,
                        partition < 0 ? null : partition, null, line.key(), line.value(), null), (m, e) -> {
                            if (e == null) {
                                sent.incrementAndGet();
                            } else if (refusedForItself((ProducerException) e)) {
                                refused.add(number, (ProducerException) e);
                            } else {
                                failure.compareAndSet(null, (ProducerException) e);
                            }
                        }), producer::flush, failure, new Progress(context, sent, topic));
            } catch (ProducerException e) {
                failure.compareAndSet(null, e);
            } finally {
                context.stop().onStop(null);
                context.err().println("produced " + sent.get() + " records to " + topic + refused.summary());
            }
        }
        if (failure.get() != null) {
            throw toClientException(failure.get());
        }
        return refused.count() == 0 ? 0 : 1;
    }

    /**
     * Whether the broker (or the producer's own size check) refused this record for what it is, so that the lines
     * after it can still be written: the same line sent again would be refused again, and nothing else is wrong.
     */
    static boolean refusedForItself(ProducerException e) {
        return switch (e.errorCode()) {
            case RECORD_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_RECORD, CORRUPT_MESSAGE -> true;
            default -> false;
        };
    }

    /** The lines refused for themselves: each reported on stderr with its number (the first line is 1), then counted. */
    private static final class RefusedLines {
        private final CliContext context;
        private long count;

        RefusedLines(CliContext context) {
            this.context = context;
        }

        synchronized void add(long lineNumber, ProducerException e) {
            count++;
            if (count <= MAX_LINES_REPORTED) {
                ClientException error = toClientException(e);
                context.err().println("line " + lineNumber + ": " + error.code() + ": " + error.getMessage() + " (not written)");
            } else if (count == MAX_LINES_REPORTED + 1) {
                context.err().println("... more lines refused; only the first " + MAX_LINES_REPORTED + " are listed");
            }
        }

        synchronized long count() {
            return count;
        }

        /** {@code ""}, or {@code "; N lines refused (not written)"}. */
        synchronized String summary() {
            return count == 0 ? "" : "; " + count + (count == 1 ? " line" : " lines") + " refused (not written)";
        }
    }

    /** The SDK's failure as the CLI reports it: the broker's code, or the transport's (UNAVAILABLE, ...) when no broker answered. */
    private static ClientException toClientException(ProducerException e) {
        if (e.getCause() instanceof ClientException c) {
            return c;
        }
        return new ClientException(e.errorCode().name(), e.detail());
    }

    /** {@code all} (or Kafka's {@code -1}), {@code 1} or {@code 0}; all when not given. */
    static Acks parseAcks(String text) {
        if (text == null) {
            return Acks.ALL;
        }
        return switch (text) {
            case "all", "-1" -> Acks.ALL;
            case "1" -> Acks.LEADER;
            case "0" -> Acks.NONE;
            default -> throw new UsageException("--acks must be all, 1 or 0, not '" + text + "'");
        };
    }

    /** A line on stderr every {@value #PROGRESS_INTERVAL_MS} ms while a long input is being sent. */
    private static final class Progress {
        private final CliContext context;
        private final AtomicLong sent;
        private final String topic;
        private long lastMs;

        Progress(CliContext context, AtomicLong sent, String topic) {
            this.context = context;
            this.sent = sent;
            this.topic = topic;
            this.lastMs = context.time().hiResClockMs();
        }

        void maybeReport() {
            long now = context.time().hiResClockMs();
            if (now - lastMs >= PROGRESS_INTERVAL_MS) {
                lastMs = now;
                context.err().println("... " + sent.get() + " records produced to " + topic + " so far");
            }
        }
    }

    /** One line to send, with its number in the input (the first is 1). */
    private interface LineSender {
        void send(long number, LineRecord line);
    }

    /** Sends each line; flushes when the input pauses and at its end; stops once a failure that is not one line's is seen. */
    private static void produceLines(CliContext context, String keySeparator, LineSender send,
                                     Runnable flush, AtomicReference<ProducerException> failure, Progress progress) {
        BufferedReader reader = new BufferedReader(new InputStreamReader(context.in(), StandardCharsets.UTF_8));
        try {
            String line;
            long number = 0;
            while (failure.get() == null && (line = reader.readLine()) != null) {
                send.send(++number, LineRecord.parse(line, keySeparator));
                if (!reader.ready()) {
                    flush.run();
                }
                progress.maybeReport();
            }
        } catch (IOException e) {
            flush.run();
            throw new ClientException("IO_ERROR", "reading stdin: " + e.getMessage());
        }
        flush.run();
    }
}
