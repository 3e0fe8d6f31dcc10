package io.rafka.client.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code group list|describe|delete|reset-offsets}: the options of each; {@link GroupCommands} does the calls. All
 * of them retry a moving coordinator for {@code --retry-timeout-ms}.
 */
@Command(name = "group", description = "Consumer groups, sent to the group's coordinator (results on stdout).",
        synopsisSubcommandLabel = "list|describe|delete|reset-offsets",
        subcommands = {GroupOptions.ListGroups.class, GroupOptions.Describe.class, GroupOptions.Delete.class,
            GroupOptions.ResetOffsets.class})
final class GroupOptions {

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Print this help and exit.")
    boolean help;

    /** The option every group command has. */
    abstract static class GroupCommand extends CliCommand {
        @Option(names = "--retry-timeout-ms", paramLabel = "T",
                description = "How long a moving coordinator is retried (default 30000).")
        long retryTimeoutMs = ProduceCommand.DEFAULT_RETRY_TIMEOUT_MS;

        @Override
        void validate() {
            checkRange("--retry-timeout-ms", retryTimeoutMs, 0, Long.MAX_VALUE);
        }

        GroupCommands commands(CliContext context) {
            return new GroupCommands(context, retryTimeoutMs);
        }
    }

    /** The output formats of list and describe. */
    enum Output { text, json }

    /** {@code group list}. */
    @Command(name = "list", description = "Every group of the cluster (asks each broker), with its state and member count.")
    static final class ListGroups extends GroupCommand {
        @Option(names = "--output", paramLabel = "text|json", description = "text (default) or json.")
        Output output = Output.text;

        @Override
        int call(CliContext context) {
            return commands(context).list(output == Output.json);
        }
    }

    /** {@code group describe G}. */
    @Command(name = "describe", description = {
        "The group's state and, per partition, the committed offset, log-end offset, lag and owner (member, host, "
                + "client id); then its members with their epoch, instance id and partitions (\"idle\" for a member "
                + "without any)."})
    static final class Describe extends GroupCommand {
        @Parameters(paramLabel = "GROUP", description = "The group.")
        String group;
        @Option(names = "--output", paramLabel = "text|json", description = "text (default) or json.")
        Output output = Output.text;

        @Override
        int call(CliContext context) {
            return commands(context).describe(group, output == Output.json);
        }
    }

    /** {@code group delete G}. */
    @Command(name = "delete", description = "Delete a group without members and its committed offsets.")
    static final class Delete extends GroupCommand {
        @Parameters(paramLabel = "GROUP", description = "The group.")
        String group;

        @Override
        int call(CliContext context) {
            return commands(context).delete(group);
        }
    }

    /** {@code group reset-offsets G --topic T ...}. */
    @Command(name = "reset-offsets", description = {
        "Print the new committed offsets (clamped to the log's start and end) of the partitions named (all of TOPIC "
                + "without :P); with --execute, set them. The group must have no members (NON_EMPTY_GROUP otherwise)."})
    static final class ResetOffsets extends GroupCommand {
        @Parameters(paramLabel = "GROUP", description = "The group.")
        String group;
        @Option(names = "--topic", paramLabel = "TOPIC[:P,P...]", description = "The partitions to reset; repeatable.")
        List<String> topics = new ArrayList<>();
        @Option(names = "--to-earliest", description = "To the log start.")
        boolean toEarliest;
        @Option(names = "--to-latest", description = "To the log end.")
        boolean toLatest;
        @Option(names = "--to-datetime", paramLabel = "2026-11-30T12:00:00Z",
                description = "To the first offset at or after the time (the end if none); no zone: this machine's.")
        String toDatetime;
        @Option(names = "--to-offset", paramLabel = "N", description = "To offset N.")
        Long toOffset;
        @Option(names = "--shift-by", paramLabel = "N", description = "By N from the committed offset (may be negative).")
        Long shiftBy;
        @Option(names = "--execute", description = "Set the offsets (without it: a dry run that only prints them).")
        boolean execute;

        ResetPlan.Spec spec() {
            return ResetPlan.Spec.of(toEarliest, toLatest, toDatetime, toOffset, shiftBy);
        }

        @Override
        void validate() {
            super.validate();
            spec();
            if (topics.isEmpty()) {
                throw new UsageException("group reset-offsets needs --topic TOPIC[:PARTITION,...]");
            }
        }

        @Override
        int call(CliContext context) {
            return commands(context).resetOffsets(group, spec(), topics, execute);
        }
    }
}
