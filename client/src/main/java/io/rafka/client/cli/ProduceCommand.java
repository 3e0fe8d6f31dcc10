package io.rafka.client.cli;

import io.rafka.client.internals.MetadataClient;
import io.rafka.client.internals.ClientException;

import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.TopicMetadata;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * {@code produce TOPIC}: one record per line of stdin. Lines are batched per partition (see
 * {@link ProduceBatcher}); the batches go out when one is full, when stdin has nothing more to read
 * right now, or at the end of input. Sending whenever the input pauses gives typed lines at once and
 * piped files in full batches, without a linger timer.
 */
final class ProduceCommand {

    static final Set<String> VALUE_OPTIONS = Set.of("--partition", "--acks", "--key-separator", "--retry-timeout-ms");
    static final Set<String> FLAG_OPTIONS = Set.of();
    static final long DEFAULT_RETRY_TIMEOUT_MS = 30_000;

    private ProduceCommand() {
    }

    static int run(ParsedArgs args, CliContext context) {
        String topic = args.positionals(1, 1, "TOPIC").get(0);
        int partition = args.intValue("--partition", -1, 0, Integer.MAX_VALUE);
        Acks acks = parseAcks(args.value("--acks"));
        String keySeparator = args.value("--key-separator");
        if (keySeparator != null && keySeparator.isEmpty()) {
            throw new UsageException("--key-separator must not be empty");
        }
        long retryTimeoutMs = args.longValue("--retry-timeout-ms", DEFAULT_RETRY_TIMEOUT_MS, 0, Long.MAX_VALUE);

        MetadataClient metadata = new MetadataClient(context.channels(), context.bootstrap(), context.time(), retryTimeoutMs);
        TopicMetadata topicMetadata = metadata.awaitTopic(topic, true);
        Partitioner partitioner = partitioner(topicMetadata, partition, context);
        ProduceSender sender = new ProduceSender(topic, acks, metadata, context.channels(), context.time(), retryTimeoutMs);
        try {
            Progress progress = new Progress(context, sender, topic);
            produceLines(context, new ProduceBatcher(partitioner, sender), keySeparator, progress);
        } finally {
            context.err().println("produced " + sender.recordsSent() + " records to " + topic);
        }
        return 0;
    }

    /** {@code all} (or Kafka's {@code -1}), {@code 1} or {@code 0}; all when not given. */
    static Acks parseAcks(String text) {
        if (text == null) {
            return Acks.ACKS_ALL;
        }
        return switch (text) {
            case "all", "-1" -> Acks.ACKS_ALL;
            case "1" -> Acks.ACKS_LEADER;
            case "0" -> Acks.ACKS_NONE;
            default -> throw new UsageException("--acks must be all, 1 or 0, not '" + text + "'");
        };
    }

    private static Partitioner partitioner(TopicMetadata topic, int partition, CliContext context) {
        int partitionCount = topic.getPartitionsCount();
        if (partition < 0) {
            return Partitioner.hashing(partitionCount, context.random().nextInt(partitionCount));
        }
        if (partition >= partitionCount) {
            throw ClientException.of(ErrorCode.INVALID_PARTITIONS,
                    "topic " + topic.getName() + " has " + partitionCount + " partitions, there is no partition " + partition);
        }
        return Partitioner.fixed(partitionCount, partition);
    }

    /** A line on stderr every {@value #PROGRESS_INTERVAL_MS} ms while a long input is being sent. */
    private static final class Progress {
        private final CliContext context;
        private final ProduceSender sender;
        private final String topic;
        private long lastMs;

        Progress(CliContext context, ProduceSender sender, String topic) {
            this.context = context;
            this.sender = sender;
            this.topic = topic;
            this.lastMs = context.time().hiResClockMs();
        }

        void maybeReport() {
            long now = context.time().hiResClockMs();
            if (now - lastMs >= PROGRESS_INTERVAL_MS) {
                lastMs = now;
                context.err().println("... " + sender.recordsSent() + " records produced to " + topic + " so far");
            }
        }
    }

    private static final long PROGRESS_INTERVAL_MS = 5_000;

    private static void produceLines(CliContext context, ProduceBatcher batcher, String keySeparator, Progress progress) {
        BufferedReader reader = new BufferedReader(new InputStreamReader(context.in(), StandardCharsets.UTF_8));
        try {
            String line;
            while ((line = reader.readLine()) != null) {
                batcher.add(LineRecord.parse(line, keySeparator));
                if (!reader.ready()) {
                    batcher.flush();
                }
                progress.maybeReport();
            }
        } catch (IOException e) {
            batcher.flush();
            throw new ClientException("IO_ERROR", "reading stdin: " + e.getMessage());
        }
        batcher.flush();
    }
}
