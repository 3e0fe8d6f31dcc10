package io.rafka.client.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code topic create|list|describe|alter|delete}: the options of each; {@link AdminCommands} does the calls. */
@Command(name = "topic", description = "Create, list, describe, alter and delete topics (results on stdout).",
        synopsisSubcommandLabel = "create|list|describe|alter|delete",
        subcommands = {TopicCommands.Create.class, TopicCommands.ListTopics.class, TopicCommands.Describe.class,
            TopicCommands.Alter.class, TopicCommands.Delete.class})
final class TopicCommands {

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Print this help and exit.")
    boolean help;

    /** {@code topic create NAME}. */
    @Command(name = "create", description = {"Create a topic and print its placement."})
    static final class Create extends CliCommand {
        @Parameters(paramLabel = "NAME", description = "The topic.")
        String name;
        @Option(names = "--partitions", paramLabel = "N", description = "Partitions (default: the broker's num.partitions).")
        Integer partitions;
        @Option(names = "--replication-factor", paramLabel = "R",
                description = "Replicas per partition (default: the broker's default.replication.factor).")
        Integer replicationFactor;
        @Option(names = "--config", paramLabel = "KEY=VALUE", description = "A config override; repeatable.")
        Map<String, String> configs = new LinkedHashMap<>();

        @Override
        void validate() {
            if (partitions != null) {
                checkRange("--partitions", partitions, 1, Integer.MAX_VALUE);
            }
            if (replicationFactor != null) {
                checkRange("--replication-factor", replicationFactor, 1, Short.MAX_VALUE);
            }
        }

        @Override
        int call(CliContext context) {
            return new AdminCommands(context).createTopic(name, partitions == null ? 0 : partitions,
                    replicationFactor == null ? 0 : replicationFactor, configs);
        }
    }

    /** {@code topic list}. */
    @Command(name = "list", description = "Print the topic names, one per line.")
    static final class ListTopics extends CliCommand {
        @Override
        int call(CliContext context) {
            return new AdminCommands(context).listTopics();
        }
    }

    /** {@code topic describe [NAME]...}. */
    @Command(name = "describe",
            description = "Print partitions, leaders, replicas and config overrides of the topics (all if none).")
    static final class Describe extends CliCommand {
        @Parameters(paramLabel = "NAME", arity = "0..*", description = "The topics.")
        List<String> names = new ArrayList<>();

        @Override
        int call(CliContext context) {
            return new AdminCommands(context).describeTopics(names);
        }
    }

    /** {@code topic alter NAME}. */
    @Command(name = "alter", description = {"Add partitions, set config overrides, or drop them back to the broker "
            + "default. Partitions can only be added: records with a key may then go to another partition than "
            + "before, so the order of a key's records holds only among those written after the change."})
    static final class Alter extends CliCommand {
        @Parameters(paramLabel = "NAME", description = "The topic.")
        String name;
        @Option(names = "--partitions", paramLabel = "N", description = "Grow the topic to N partitions in all.")
        Integer partitions;
        @Option(names = "--config", paramLabel = "KEY=VALUE", description = "Set an override; repeatable.")
        Map<String, String> set = new LinkedHashMap<>();
        @Option(names = "--delete-config", paramLabel = "KEY", description = "Drop an override; repeatable.")
        List<String> delete = new ArrayList<>();

        @Override
        void validate() {
            if (partitions == null && set.isEmpty() && delete.isEmpty()) {
                throw new UsageException("topic alter needs --partitions N, --config KEY=VALUE or --delete-config KEY");
            }
            if (partitions != null) {
                checkRange("--partitions", partitions, 1, Integer.MAX_VALUE);
            }
        }

        @Override
        int call(CliContext context) {
            return new AdminCommands(context).alterTopic(name, partitions == null ? 0 : partitions, set, delete);
        }
    }

    /** {@code topic delete NAME}. */
    @Command(name = "delete", description = "Delete a topic and its data.")
    static final class Delete extends CliCommand {
        @Parameters(paramLabel = "NAME", description = "The topic.")
        String name;

        @Override
        int call(CliContext context) {
            return new AdminCommands(context).deleteTopic(name);
        }
    }
}
