package io.rafka.client.cli;

import io.rafka.client.internals.Fetched;
import io.rafka.client.group.GroupMember;
import io.rafka.client.group.GroupMemberConfig;
import io.rafka.proto.v1.Assignor;

import java.util.List;
import java.util.Set;

/**
 * {@code consume TOPIC --group G}: consumes as a member of a consumer group, so the group's members share the
 * topic's partitions and the group remembers how far it got. At least once: the records of each poll are
 * printed and flushed, then committed. Ends like the plain consumer ({@code --max-messages}, {@code --timeout-ms},
 * or never), and on Ctrl-C or SIGTERM: it commits what it printed and leaves the group, so the partitions move
 * to the other members at once and nothing printed is printed again by them.
 */
final class GroupConsumeCommand {

    static final Set<String> GROUP_ONLY_OPTIONS = Set.of("--pattern", "--instance-id", "--offset-reset", "--session-timeout-ms",
            "--assignor");

    private GroupConsumeCommand() {
    }

    static int run(ParsedArgs args, CliContext context) {
        GroupMemberConfig config = config(args);
        long maxMessages = args.longValue("--max-messages", Long.MAX_VALUE, 1, Long.MAX_VALUE);
        long timeoutMs = args.longValue("--timeout-ms", Long.MAX_VALUE, 1, Long.MAX_VALUE);
        RecordPrinter printer = new RecordPrinter(context.out(), args.flag("--print-key"), args.flag("--print-offset"));
        String subscription = config.topics().isEmpty() ? "topics matching " + config.pattern() : String.join(",", config.topics());
        context.stop().watch();
        GroupMember member = new GroupMember(config, context.channels(), context.bootstrap(), context.time());
        try {
            consume(member, printer, context, maxMessages, timeoutMs);
        } finally {
            context.out().flush();
            member.close();
            context.err().println("consumed " + printer.printed() + " records from " + subscription + " in group " + config.groupId());
        }
        return 0;
    }

    static GroupMemberConfig config(ParsedArgs args) {
        String pattern = args.value("--pattern");
        List<String> topics = pattern == null ? args.positionals(1, 1, "TOPIC") : args.positionals(0, 1, "TOPIC");
        if (args.has("--partition") || args.has("--offset")) {
            throw new UsageException("--partition and --offset do not go with --group: the group assigns partitions");
        }
        GroupMemberConfig.OffsetReset reset = GroupMemberConfig.OffsetReset.LATEST;
        if (args.has("--offset-reset")) {
            if (args.flag("--from-beginning")) {
                throw new UsageException("--from-beginning and --offset-reset exclude each other");
            }
            String value = args.value("--offset-reset");
            try {
                reset = GroupMemberConfig.OffsetReset.parse(value);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--offset-reset must be earliest, latest or none, not '" + value + "'");
            }
        } else if (args.flag("--from-beginning")) {
            reset = GroupMemberConfig.OffsetReset.EARLIEST;
        }
        String instanceId = args.value("--instance-id");
        Assignor assignor = switch (args.has("--assignor") ? args.value("--assignor") : "uniform") {
            case "uniform" -> Assignor.ASSIGNOR_UNIFORM;
            case "range" -> Assignor.ASSIGNOR_RANGE;
            default -> throw new UsageException("--assignor must be uniform or range, not '" + args.value("--assignor") + "'");
        };
        try {
            return new GroupMemberConfig(args.value("--group"), topics, pattern == null ? "" : pattern,
                    instanceId == null ? "" : instanceId, "rafka-cli", reset, assignor,
                    args.intValue("--session-timeout-ms", 0, 1, Integer.MAX_VALUE), 0,
                    args.longValue("--retry-timeout-ms", ProduceCommand.DEFAULT_RETRY_TIMEOUT_MS, 0, Long.MAX_VALUE));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** Polls, prints, flushes, commits; until enough records, an idle timeout or a stop request. */
    private static void consume(GroupMember member, RecordPrinter printer, CliContext context,
                                long maxMessages, long timeoutMs) {
        long lastDataMs = context.time().hiResClockMs();
        while (!context.stop().requested()) {
            long idleLeftMs = timeoutMs == Long.MAX_VALUE ? Long.MAX_VALUE : lastDataMs + timeoutMs - context.time().hiResClockMs();
            if (idleLeftMs <= 0) {
                return;
            }
            int maxRecords = (int) Math.min(Integer.MAX_VALUE, maxMessages - printer.printed());
            List<Fetched> records = member.poll((int) Math.min(ConsumeCommand.POLL_MAX_WAIT_MS, idleLeftMs),
                    maxRecords);
            for (Fetched fetched : records) {
                printer.print(fetched.partition(), fetched.record());
            }
            if (!records.isEmpty()) {
                context.out().flush();
                if (context.out().checkError()) {
                    return;   // stdout is gone (| head): stop here (the JVM ignores SIGPIPE)
                }
                member.commit();
                lastDataMs = context.time().hiResClockMs();
            }
            if (printer.printed() >= maxMessages) {
                return;
            }
        }
    }
}
