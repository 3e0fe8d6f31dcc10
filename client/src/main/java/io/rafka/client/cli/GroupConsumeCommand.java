package io.rafka.client.cli;

import io.rafka.client.internals.Fetched;
import io.rafka.client.group.GroupMember;
import io.rafka.client.group.GroupMemberConfig;
import io.rafka.proto.v1.Assignor;

import java.util.List;

/**
 * {@code consume TOPIC --group G}: consumes as a member of a consumer group, so the group's members share the
 * topic's partitions and the group remembers how far it got. At least once: the records of each poll are
 * printed and flushed, then committed. Ends like the plain consumer ({@code --max-messages}, {@code --timeout-ms},
 * or never), and on Ctrl-C or SIGTERM: it commits what it printed and leaves the group, so the partitions move
 * to the other members at once and nothing printed is printed again by them.
 */
final class GroupConsumeCommand {

    private GroupConsumeCommand() {
    }

    static int run(ConsumeCommand args, CliContext context) {
        GroupMemberConfig config = config(args);
        RecordPrinter printer = new RecordPrinter(context.out(), args.printKey, args.printOffset);
        String subscription = config.topics().isEmpty() ? "topics matching " + config.pattern() : String.join(",", config.topics());
        context.stop().watch();
        GroupMember member = new GroupMember(config, context.channels(), context.bootstrap(), context.time());
        try {
            consume(member, printer, context, args.maxMessages, args.timeoutMs);
        } finally {
            context.out().flush();
            member.close();
            context.err().println("consumed " + printer.printed() + " records from " + subscription + " in group " + config.groupId());
        }
        return 0;
    }

    static GroupMemberConfig config(ConsumeCommand args) {
        if (args.pattern == null && args.topic == null) {
            throw new UsageException("missing TOPIC");
        }
        List<String> topics = args.topic == null ? List.of() : List.of(args.topic);
        if (args.partition != null || args.offset != null) {
            throw new UsageException("--partition and --offset do not go with --group: the group assigns partitions");
        }
        GroupMemberConfig.OffsetReset reset = GroupMemberConfig.OffsetReset.LATEST;
        if (args.offsetReset != null) {
            if (args.fromBeginning) {
                throw new UsageException("--from-beginning and --offset-reset exclude each other");
            }
            try {
                reset = GroupMemberConfig.OffsetReset.parse(args.offsetReset);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--offset-reset must be earliest, latest or none, not '" + args.offsetReset + "'");
            }
        } else if (args.fromBeginning) {
            reset = GroupMemberConfig.OffsetReset.EARLIEST;
        }
        Assignor assignor = switch (args.assignor == null ? "uniform" : args.assignor) {
            case "uniform" -> Assignor.ASSIGNOR_UNIFORM;
            case "range" -> Assignor.ASSIGNOR_RANGE;
            default -> throw new UsageException("--assignor must be uniform or range, not '" + args.assignor + "'");
        };
        int sessionTimeoutMs = args.sessionTimeoutMs == null ? 0
                : (int) CliCommand.checkRange("--session-timeout-ms", args.sessionTimeoutMs, 1, Integer.MAX_VALUE);
        try {
            return new GroupMemberConfig(args.group, topics, args.pattern == null ? "" : args.pattern,
                    args.instanceId == null ? "" : args.instanceId, "rafka-cli", reset, assignor,
                    sessionTimeoutMs, 0, args.retryTimeoutMs);
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
