package io.rafka.client.cli;

import io.rafka.client.internals.Fetched;
import io.rafka.client.internals.MetadataClient;
import io.rafka.client.internals.ClientException;
import io.rafka.client.internals.PartitionFetcher;

import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.TopicMetadata;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code consume TOPIC}: prints records as they arrive, from every partition or one. Runs until
 * {@code --max-messages} records were printed, or no record came for {@code --timeout-ms}; with
 * neither it follows the topic until killed, as {@code tail -f} and Kafka's console consumer do
 * (a default idle timeout would silently end a consumer waiting for a slow producer).
 */
final class ConsumeCommand {

    static final Set<String> VALUE_OPTIONS = Set.of(
            "--partition", "--offset", "--max-messages", "--timeout-ms", "--retry-timeout-ms",
            "--group", "--pattern", "--instance-id", "--offset-reset", "--session-timeout-ms", "--assignor");
    static final Set<String> FLAG_OPTIONS = Set.of("--from-beginning", "--print-key", "--print-offset");
    /** The long-poll wait of each Fetch: how late the idle timeout may be noticed, at most. */
    static final int POLL_MAX_WAIT_MS = 500;

    private ConsumeCommand() {
    }

    static int run(ParsedArgs args, CliContext context) {
        if (args.has("--group")) {
            return GroupConsumeCommand.run(args, context);
        }
        for (String groupOnly : GroupConsumeCommand.GROUP_ONLY_OPTIONS) {
            if (args.has(groupOnly)) {
                throw new UsageException(groupOnly + " needs --group");
            }
        }
        String topic = args.positionals(1, 1, "TOPIC").get(0);
        int partition = args.intValue("--partition", -1, 0, Integer.MAX_VALUE);
        long start = startOffset(args, partition);
        long maxMessages = args.longValue("--max-messages", Long.MAX_VALUE, 1, Long.MAX_VALUE);
        long timeoutMs = args.longValue("--timeout-ms", Long.MAX_VALUE, 1, Long.MAX_VALUE);
        long retryTimeoutMs = args.longValue("--retry-timeout-ms", ProduceCommand.DEFAULT_RETRY_TIMEOUT_MS, 0, Long.MAX_VALUE);
        RecordPrinter printer = new RecordPrinter(context.out(), args.flag("--print-key"), args.flag("--print-offset"));

        MetadataClient metadata = new MetadataClient(context.channels(), context.bootstrap(), context.time(), retryTimeoutMs);
        List<Integer> partitions = partitions(metadata.awaitTopic(topic, false), partition);
        PartitionFetcher fetcher = new PartitionFetcher(metadata, context.channels(), context.time(), retryTimeoutMs,
                warning -> context.err().println("rafka: warning: " + warning));
        for (int p : partitions) {
            fetcher.add(new TopicPartition(topic, p), start);
        }
        try {
            consume(fetcher, printer, context, maxMessages, timeoutMs);
        } finally {
            context.out().flush();
            context.err().println("consumed " + printer.printed() + " records from " + topic);
        }
        return 0;
    }

    /** The start position: an offset, or {@link PartitionFetcher#EARLIEST} or {@link PartitionFetcher#LATEST}. */
    static long startOffset(ParsedArgs args, int partition) {
        if (args.has("--offset")) {
            if (args.flag("--from-beginning")) {
                throw new UsageException("--offset and --from-beginning exclude each other");
            }
            if (partition < 0) {
                throw new UsageException("--offset needs --partition: offsets differ between partitions");
            }
            return args.longValue("--offset", 0, 0, Long.MAX_VALUE);
        }
        return args.flag("--from-beginning") ? PartitionFetcher.EARLIEST : PartitionFetcher.LATEST;
    }

    private static List<Integer> partitions(TopicMetadata topic, int partition) {
        int partitionCount = topic.getPartitionsCount();
        if (partition >= partitionCount) {
            throw ClientException.of(ErrorCode.INVALID_PARTITIONS,
                    "topic " + topic.getName() + " has " + partitionCount + " partitions, there is no partition " + partition);
        }
        if (partition >= 0) {
            return List.of(partition);
        }
        List<Integer> all = new ArrayList<>();
        for (int p = 0; p < partitionCount; p++) {
            all.add(p);
        }
        return all;
    }

    /** The poll loop, until {@code maxMessages} were printed or nothing came for {@code timeoutMs}. */
    private static void consume(PartitionFetcher fetcher, RecordPrinter printer, CliContext context,
                                long maxMessages, long timeoutMs) {
        long lastDataMs = context.time().hiResClockMs();
        while (true) {
            long idleLeftMs = timeoutMs == Long.MAX_VALUE ? Long.MAX_VALUE : lastDataMs + timeoutMs - context.time().hiResClockMs();
            if (idleLeftMs <= 0) {
                return;
            }
            List<Fetched> records = fetcher.poll((int) Math.min(POLL_MAX_WAIT_MS, idleLeftMs));
            for (Fetched fetched : records) {
                printer.print(fetched.partition(), fetched.record());
                if (printer.printed() >= maxMessages) {
                    return;
                }
            }
            if (!records.isEmpty()) {
                if (context.out().checkError()) {
                    return;   // stdout is gone (| head): the JVM ignores SIGPIPE, so stop here
                }
                lastDataMs = context.time().hiResClockMs();
            }
        }
    }
}
