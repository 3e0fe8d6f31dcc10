package io.rafka.client.cli;

import io.rafka.client.consumer.CommitFailedException;
import io.rafka.client.consumer.ConsumerConfig;
import io.rafka.client.consumer.ConsumerException;
import io.rafka.client.consumer.ConsumerRecord;
import io.rafka.client.consumer.ConsumerRecords;
import io.rafka.client.consumer.Deserializers;
import io.rafka.client.consumer.OffsetAndMetadata;
import io.rafka.client.consumer.RafkaConsumer;
import io.rafka.common.TopicPartition;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * {@code consume TOPIC --group G}: consumes as a member of a consumer group with the Java SDK's
 * {@link RafkaConsumer#subscribe}, so the group's members share the topic's partitions and the group remembers how
 * far it got. At least once: the records of each poll are printed and flushed, then exactly the printed ones are
 * committed (auto-commit is off), and the start of a partition taken with nothing printed from it yet. Ends like the plain consumer ({@code --max-messages}, {@code --timeout-ms}, or
 * never), and on Ctrl-C or SIGTERM: it has committed what it printed and closes, leaving the group, so the
 * partitions move to the other members at once and nothing printed is printed again by them.
 */
final class GroupConsumeCommand {

    /** How long, at the end, the starts of partitions taken but not yet looked up may take to be looked up. */
    private static final long EXIT_START_LOOKUP_MS = 1_000;

    private GroupConsumeCommand() {
    }

    static int run(ConsumeCommand args, CliContext context) {
        ConsumerConfig config;
        try {
            config = config(args).bootstrap(context.bootstrap().toString()).config();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        RecordPrinter printer = new RecordPrinter(context.out(), args.printKey, args.printOffset, args.pattern != null);
        String subscription = args.pattern == null ? args.topic
                : "topics matching " + (args.topic == null ? args.pattern : subscription(args).pattern());
        context.stop().watch();
        boolean ended = false;
        try (RafkaConsumer<byte[], byte[]> consumer = new RafkaConsumer<>(config, Deserializers.bytes(), Deserializers.bytes(),
                context.channels(), context.time())) {
            if (args.pattern == null) {
                consumer.subscribe(List.of(args.topic));
            } else {
                consumer.subscribe(subscription(args));
            }
            try {
                consume(consumer, printer, context, args.maxMessages, args.timeoutMs);
                ended = true;
            } finally {
                context.out().flush();
            }
        } catch (ConsumerException e) {
            throw ConsumeCommand.toClientException(e);
        } finally {
            if (ended || printer.printed() > 0) {
                // A failure before anything was printed (a refused join, say) is reported alone, without "consumed 0".
                context.err().println("consumed " + printer.printed() + " records from " + subscription + " in group " + args.group);
            }
        }
        return 0;
    }

    /** The consumer's settings the options ask for (without the bootstrap broker); checks them. */
    static io.rafka.client.consumer.ConsumerBuilder<byte[], byte[]> config(ConsumeCommand args) {
        if (args.pattern == null && args.topic == null) {
            throw new UsageException("missing TOPIC");
        }
        if (args.partition != null || args.offset != null) {
            throw new UsageException("--partition and --offset do not go with --group: the group assigns partitions");
        }
        if (args.group.isEmpty()) {
            throw new UsageException("--group must not be empty");
        }
        String reset = "latest";
        if (args.offsetReset != null) {
            if (args.fromBeginning) {
                throw new UsageException("--from-beginning and --offset-reset exclude each other");
            }
            if (!List.of("earliest", "latest", "none").contains(args.offsetReset)) {
                throw new UsageException("--offset-reset must be earliest, latest or none, not '" + args.offsetReset + "'");
            }
            reset = args.offsetReset;
        } else if (args.fromBeginning) {
            reset = "earliest";
        }
        String assignor = args.assignor == null ? "uniform" : args.assignor;
        if (!assignor.equals("uniform") && !assignor.equals("range")) {
            throw new UsageException("--assignor must be uniform or range, not '" + args.assignor + "'");
        }
        if (args.pattern != null) {
            subscription(args);
        }
        io.rafka.client.consumer.ConsumerBuilder<byte[], byte[]> builder = RafkaConsumer
                .builder(Deserializers.bytes(), Deserializers.bytes())
                .groupId(args.group).clientId("rafka-cli").autoOffsetReset(reset).groupRemoteAssignor(assignor)
                .enableAutoCommit(false).fetchMaxWait(Duration.ofMillis(ConsumeCommand.POLL_MAX_WAIT_MS))
                .defaultApiTimeout(Duration.ofMillis(args.retryTimeoutMs));
        if (args.instanceId != null) {
            builder.groupInstanceId(args.instanceId);
        }
        if (args.sessionTimeoutMs != null) {
            builder.sessionTimeout(Duration.ofMillis(CliCommand.checkRange("--session-timeout-ms", args.sessionTimeoutMs,
                    1, Integer.MAX_VALUE)));
        }
        return builder;
    }

    /** --pattern, plus TOPIC when both are given (the group then reads the topic and every match). */
    private static Pattern subscription(ConsumeCommand args) {
        try {
            return Pattern.compile(args.topic == null ? args.pattern : Pattern.quote(args.topic) + "|(?:" + args.pattern + ")");
        } catch (PatternSyntaxException e) {
            throw new UsageException("--pattern is not a regular expression: " + e.getDescription());
        }
    }

    /**
     * Polls, prints, flushes, commits what it printed; until enough records, an idle timeout or a stop request. A
     * commit that fails for a while (a coordinator that moves or does not answer) does not end the command: what it
     * would have committed goes with the next commit, and what is still uncommitted at the end is said on stderr.
     */
    private static void consume(RafkaConsumer<byte[], byte[]> consumer, RecordPrinter printer, CliContext context,
                                long maxMessages, long timeoutMs) {
        Map<TopicPartition, OffsetAndMetadata> unsaved = new HashMap<>();
        Set<TopicPartition> started = new HashSet<>();
        Set<TopicPartition> printedFrom = new HashSet<>();
        try {
            long lastDataMs = context.time().hiResClockMs();
            while (!context.stop().requested()) {
                long idleLeftMs = timeoutMs == Long.MAX_VALUE ? Long.MAX_VALUE : lastDataMs + timeoutMs - context.time().hiResClockMs();
                if (idleLeftMs <= 0) {
                    return;
                }
                ConsumerRecords<byte[], byte[]> records = consumer.poll(
                        Duration.ofMillis(Math.min(ConsumeCommand.POLL_MAX_WAIT_MS, idleLeftMs)));
                boolean printedAny = false;
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    if (printer.printed() >= maxMessages) {
                        break;   // polled past --max-messages: those records stay uncommitted for the next reader
                    }
                    printer.print(record);
                    unsaved.put(record.topicPartition(), new OffsetAndMetadata(record.offset() + 1));
                    printedFrom.add(record.topicPartition());
                    printedAny = true;
                }
                if (printedAny) {
                    context.out().flush();
                    if (context.out().checkError()) {
                        return;   // stdout is gone (| head): stop here (the JVM ignores SIGPIPE)
                    }
                    lastDataMs = context.time().hiResClockMs();
                }
                commitStarts(consumer, records, started, unsaved, 0);
                commit(consumer, unsaved, context);
                if (printer.printed() >= maxMessages) {
                    return;
                }
            }
        } finally {
            try {
                // Starts not known at the last poll get a second or so to be looked up, so a member that ends soon
                // after it took a partition still leaves where it started there.
                commitStarts(consumer, ConsumerRecords.empty(), started, unsaved, EXIT_START_LOOKUP_MS);
            } catch (RuntimeException e) {
                context.err().println("warning: could not look up where partitions started: " + e.getMessage());
            }
            try {
                if (!unsaved.isEmpty() && !context.out().checkError()) {
                    commit(consumer, unsaved, context);
                }
            } catch (ConsumerException e) {
                context.err().println("warning: the last commit failed: " + e.getMessage());
            }
            List<String> printedUnsaved = unsaved.entrySet().stream().filter(e -> printedFrom.contains(e.getKey()))
                    .sorted(Map.Entry.comparingByKey(TopicPartition.ORDER))
                    .map(e -> e.getKey() + " offset " + (e.getValue().offset() - 1)).toList();
            if (!printedUnsaved.isEmpty()) {
                context.err().println("warning: not committed, so the group's next reader prints them again: records up to "
                        + printedUnsaved);
            }
            if (printedUnsaved.size() < unsaved.size()) {
                context.err().println("warning: where this member started in " + unsaved.keySet().stream()
                        .filter(tp -> !printedFrom.contains(tp)).sorted(TopicPartition.ORDER).toList() + " was not committed");
            }
        }
    }

    /**
     * Adds to {@code unsaved} the start position of each partition this member took since the last poll and got no
     * record of in {@code records}, as Kafka's consumer (and the SDK's {@code commitSync()}) commits every assigned
     * partition's position: without it a partition nothing was printed from kept no committed offset, and a restarted
     * group looked "latest" up again and skipped what arrived while it was down. A partition whose records were polled
     * but not printed ({@code --max-messages}) is left alone: its position is past them. Starts not known yet are looked
     * up for at most {@code lookupMs} in all (0 in the poll loop), else tried again at the next call.
     */
    private static void commitStarts(RafkaConsumer<byte[], byte[]> consumer, ConsumerRecords<byte[], byte[]> records,
                                     Set<TopicPartition> started, Map<TopicPartition, OffsetAndMetadata> unsaved,
                                     long lookupMs) {
        Set<TopicPartition> owned = consumer.assignment();
        started.retainAll(owned);
        long endMs = System.nanoTime() / 1_000_000 + lookupMs;
        for (TopicPartition tp : owned) {
            if (!started.add(tp) || !records.records(tp).isEmpty() || unsaved.containsKey(tp)) {
                continue;
            }
            try {
                // In the poll loop only a start already known (the next polls look it up for the fetch): a wait
                // here would hold printed records unflushed and the loop still while a partition's leader moves.
                long leftMs = Math.max(0, endMs - System.nanoTime() / 1_000_000);
                unsaved.put(tp, new OffsetAndMetadata(consumer.position(tp, Duration.ofMillis(leftMs))));
            } catch (ConsumerException e) {
                started.remove(tp);  // its start is not known yet: again after the next poll
            }
        }
    }

    /**
     * Commits {@code unsaved} (the printed records not committed yet) and empties it. Offsets of partitions that are
     * no longer this member's are dropped with a warning (the group has moved them; their new owner starts at the
     * last commit). A retriable failure keeps them for the next try, with a warning; a fatal one ends the command.
     */
    private static void commit(RafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, OffsetAndMetadata> unsaved,
                               CliContext context) {
        if (unsaved.isEmpty()) {
            return;
        }
        java.util.Set<TopicPartition> owned = consumer.assignment();
        List<TopicPartition> moved = unsaved.keySet().stream().filter(tp -> !owned.contains(tp))
                .sorted(TopicPartition.ORDER).toList();
        if (!moved.isEmpty()) {
            context.err().println("warning: " + moved + " moved to another member before their printed records were"
                    + " committed; it may print some of them again");
            unsaved.keySet().removeAll(moved);
            if (unsaved.isEmpty()) {
                return;
            }
        }
        try {
            consumer.commitSync(Map.copyOf(unsaved));
            unsaved.clear();
        } catch (CommitFailedException e) {
            // The member lost these partitions while committing: as above, their new owner starts at the last commit.
            context.err().println("warning: commit refused, " + unsaved.keySet() + " moved to another member: " + e.getMessage());
            unsaved.clear();
        } catch (ConsumerException e) {
            if (!e.retriable()) {
                throw e;
            }
            context.err().println("warning: commit failed, retried with the next one: " + e.getMessage());
        }
    }
}
