package io.rafka.client.cli;

import io.rafka.client.consumer.ConsumerException;
import io.rafka.client.consumer.ConsumerRecord;
import io.rafka.client.consumer.ConsumerRecords;
import io.rafka.client.consumer.Deserializers;
import io.rafka.client.consumer.RafkaConsumer;
import io.rafka.client.internals.ClientException;

import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.ErrorCode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code consume TOPIC}: prints records as they arrive, from every partition or one, read by the Java SDK's
 * {@link RafkaConsumer} (assign and seek, no group; {@code --group} is {@link GroupConsumeCommand}). Runs until
 * {@code --max-messages} records were printed, or no record came for {@code --timeout-ms}; with
 * neither it follows the topic until killed, as {@code tail -f} and Kafka's console consumer do
 * (a default idle timeout would silently end a consumer waiting for a slow producer).
 */
@Command(name = "consume", header = "Print records on stdout, alone or as a member of a consumer group.", description = {
    "Print each record's value on its own line on stdout, prefixed with \"PARTITION:OFFSET<TAB>\" by --print-offset "
            + "(\"TOPIC:PARTITION:OFFSET<TAB>\" with --pattern) "
            + "and \"KEY<TAB>\" by --print-key (a missing key or value prints as null). Stops after N records, or once "
            + "no record arrived for T ms; with neither it runs until interrupted.",
    "",
    "Without --group: reads every partition, partitions added later too (from their beginning, found within 5 s), "
            + "or only P. Starts at the end (new records only), at the beginning "
            + "with --from-beginning, or at offset O of partition P (past the end: at the end, as Kafka's console "
            + "consumer; before the start: at the start); a position that leaves the log later (retention) restarts at "
            + "its start.",
    "",
    "With --group G: consumes as a member of consumer group G: the group's members share the partitions of TOPIC "
            + "(or of every topic matching REGEX; TOPIC may then be left out), and the group remembers how far it got. "
            + "A partition starts at the group's committed offset; without one at the end (latest, the default), at "
            + "the beginning with --from-beginning or --offset-reset earliest, or it fails with --offset-reset none. "
            + "Commits after printing each batch (at least once; a failed commit is retried with the next one and a "
            + "warning); on Ctrl-C or SIGTERM commits and leaves the group, "
            + "so its partitions move to the other members at once."})
final class ConsumeCommand extends CliCommand {

    /** The long-poll wait of each Fetch: how late the idle timeout may be noticed, at most. */
    static final int POLL_MAX_WAIT_MS = 500;
    /** How often a consumer without --group looks for partitions added to its topic (one metadata call). */
    static final long NEW_PARTITIONS_CHECK_MS = 5_000;
    /** How long that look may take before the consumer goes on polling (and looks again at the next check). */
    private static final long NEW_PARTITIONS_LOOKUP_MS = 2_000;

    @Parameters(paramLabel = "TOPIC", arity = "0..1", description = "The topic (may be left out with --pattern).")
    String topic;
    @Option(names = "--partition", paramLabel = "P", description = "Read only partition P (not with --group).")
    Integer partition;
    @Option(names = "--from-beginning", description = "Start at the beginning (with --group: where nothing is committed).")
    boolean fromBeginning;
    @Option(names = "--offset", paramLabel = "O", description = "Start at offset O of partition P (needs --partition).")
    Long offset;
    @Option(names = "--max-messages", paramLabel = "N", description = "Stop after N records.")
    long maxMessages = Long.MAX_VALUE;
    @Option(names = "--timeout-ms", paramLabel = "T", description = "Stop once no record arrived for T ms.")
    long timeoutMs = Long.MAX_VALUE;
    @Option(names = "--print-key", description = "Prefix each value with its key and a tab.")
    boolean printKey;
    @Option(names = "--print-offset",
            description = "Prefix each line with PARTITION:OFFSET (TOPIC:PARTITION:OFFSET with --pattern) and a tab.")
    boolean printOffset;
    @Option(names = "--retry-timeout-ms", paramLabel = "T", description = "How long retriable errors are retried (default 30000);"
            + " with --group it bounds finding the coordinator, while a partition whose leader is away is waited for"
            + " (as Kafka's console consumer does).")
    long retryTimeoutMs = ProduceCommand.DEFAULT_RETRY_TIMEOUT_MS;
    @Option(names = "--group", paramLabel = "G", description = "Consume as a member of consumer group G.")
    String group;
    @Option(names = "--pattern", paramLabel = "REGEX", description = "With --group: every topic matching REGEX.")
    String pattern;
    @Option(names = "--instance-id", paramLabel = "ID", description = {
        "With --group: a static member; a restart within the session timeout gets the same partitions back."})
    String instanceId;
    @Option(names = "--offset-reset", paramLabel = "earliest|latest|none",
            description = "With --group: where a partition without a committed offset starts (default latest).")
    String offsetReset;
    @Option(names = "--session-timeout-ms", paramLabel = "T", description = "With --group: the member's session timeout.")
    Integer sessionTimeoutMs;
    @Option(names = "--assignor", paramLabel = "uniform|range", description = {
        "With --group: uniform (default: balanced, sticky) or range (consecutive partitions per topic, for joins)."})
    String assignor;

    @Override
    void validate() {
        checkRange("--max-messages", maxMessages, 1, Long.MAX_VALUE);
        checkRange("--timeout-ms", timeoutMs, 1, Long.MAX_VALUE);
        checkRange("--retry-timeout-ms", retryTimeoutMs, 0, Long.MAX_VALUE);
        if (group != null) {
            GroupConsumeCommand.config(this);
            return;
        }
        for (Object groupOnly : new Object[] {pattern, instanceId, offsetReset, sessionTimeoutMs, assignor}) {
            if (groupOnly != null) {
                throw new UsageException(groupOption(groupOnly) + " needs --group");
            }
        }
        if (topic == null) {
            throw new UsageException("missing TOPIC");
        }
        if (partition != null) {
            checkRange("--partition", partition, 0, Integer.MAX_VALUE);
        }
        checkStart();
    }

    private String groupOption(Object value) {
        return value == pattern ? "--pattern" : value == instanceId ? "--instance-id" : value == offsetReset
                ? "--offset-reset" : value == sessionTimeoutMs ? "--session-timeout-ms" : "--assignor";
    }

    @Override
    int call(CliContext context) {
        if (group != null) {
            return GroupConsumeCommand.run(this, context);
        }
        RecordPrinter printer = new RecordPrinter(context.out(), printKey, printOffset);
        // Earliest: a position outside the log (deleted by retention, or a wrong --offset) restarts at its start.
        try (RafkaConsumer<byte[], byte[]> consumer = new RafkaConsumer<>(
                RafkaConsumer.builder(Deserializers.bytes(), Deserializers.bytes()).bootstrap(context.bootstrap().toString())
                        .autoOffsetReset("earliest").enableAutoCommit(false).fetchMaxWait(Duration.ofMillis(POLL_MAX_WAIT_MS))
                        .defaultApiTimeout(Duration.ofMillis(retryTimeoutMs)).config(),
                Deserializers.bytes(), Deserializers.bytes(), context.channels(), context.time())) {
            List<TopicPartition> partitions;
            try (WaitNotice notice = WaitNotice.start(context, WaitNotice.forTopic(context, topic, retryTimeoutMs))) {
                partitions = partitions(consumer.partitionsFor(topic));
            }
            consumer.assign(partitions);
            if (offset != null) {
                consumer.seek(partitions.get(0), startWithin(consumer, partitions.get(0), offset, context));
            } else if (fromBeginning) {
                consumer.seekToBeginning(partitions);
            } else {
                consumer.seekToEnd(partitions);
            }
            // Ctrl-C ends the loop at its next poll, so the summary below is still printed (as the group consumer's is).
            context.stop().watch();
            try {
                consume(consumer, printer, context, partitions);
            } finally {
                context.out().flush();
                context.err().println("consumed " + printer.printed() + " records from " + topic);
            }
        } catch (ConsumerException e) {
            throw toClientException(e);
        }
        return 0;
    }

    /** The topic's partitions now, the new ones read from their beginning; {@code reading} if the lookup fails. */
    private List<TopicPartition> readNewPartitions(RafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> reading) {
        List<TopicPartition> all;
        try {
            all = consumer.partitionsFor(topic, Duration.ofMillis(NEW_PARTITIONS_LOOKUP_MS));
        } catch (ConsumerException e) {
            return reading;   // a broker away: looked for again at the next check
        }
        List<TopicPartition> added = all.stream().filter(tp -> !reading.contains(tp)).toList();
        if (added.isEmpty()) {
            return reading;
        }
        List<TopicPartition> now = new ArrayList<>(reading);
        now.addAll(added);
        consumer.assign(now);
        consumer.seekToBeginning(added);
        return now;
    }

    /**
     * Where {@code --offset} starts: the offset itself when it is in the log or at its end; the end, with a warning,
     * when it is past it (Kafka's console consumer, whose reset is latest, goes there too: replaying the whole
     * partition instead would surprise); below the log start the consumer's reset (earliest) moves it to the start.
     */
    private static long startWithin(RafkaConsumer<byte[], byte[]> consumer, TopicPartition tp, long offset, CliContext context) {
        long end = consumer.endOffsets(List.of(tp)).get(tp);
        if (offset <= end) {
            return offset;
        }
        context.err().println("offset " + offset + " of " + tp + " is past its end (" + end + "): starting at the end");
        return end;
    }

    /** The SDK's failure as the CLI reports it: the broker's code, or the transport's when no broker answered. */
    static ClientException toClientException(ConsumerException e) {
        return e.getCause() instanceof ClientException c ? c : new ClientException(e.code(), e.getMessage());
    }

    /** --offset needs --partition and excludes --from-beginning. */
    private void checkStart() {
        if (offset != null) {
            if (fromBeginning) {
                throw new UsageException("--offset and --from-beginning exclude each other");
            }
            if (partition == null) {
                throw new UsageException("--offset needs --partition: offsets differ between partitions");
            }
            checkRange("--offset", offset, 0, Long.MAX_VALUE);
        }
    }

    /** Every partition of the topic, or only --partition's. */
    private List<TopicPartition> partitions(List<TopicPartition> all) {
        if (partition == null) {
            return all;
        }
        if (partition >= all.size()) {
            throw ClientException.of(ErrorCode.INVALID_PARTITIONS,
                    "topic " + topic + " has " + all.size() + " partitions, there is no partition " + partition);
        }
        return List.of(all.get(partition));
    }

    /**
     * The poll loop, until --max-messages were printed or nothing came for --timeout-ms. Without --partition it also
     * looks for partitions added to the topic, every {@value #NEW_PARTITIONS_CHECK_MS} ms, and reads them from their
     * beginning (as a Kafka console consumer, subscribed, would find them; it starts them at the end).
     */
    private void consume(RafkaConsumer<byte[], byte[]> consumer, RecordPrinter printer, CliContext context,
                         List<TopicPartition> assigned) {
        long lastDataMs = context.time().hiResClockMs();
        long nextCheckMs = lastDataMs + NEW_PARTITIONS_CHECK_MS;
        List<TopicPartition> reading = assigned;
        while (!context.stop().requested()) {
            long idleLeftMs = timeoutMs == Long.MAX_VALUE ? Long.MAX_VALUE : lastDataMs + timeoutMs - context.time().hiResClockMs();
            if (idleLeftMs <= 0) {
                return;
            }
            if (partition == null && context.time().hiResClockMs() >= nextCheckMs) {
                reading = readNewPartitions(consumer, reading);
                nextCheckMs = context.time().hiResClockMs() + NEW_PARTITIONS_CHECK_MS;
            }
            ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(Math.min(POLL_MAX_WAIT_MS, idleLeftMs)));
            for (ConsumerRecord<byte[], byte[]> record : records) {
                printer.print(record);
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
