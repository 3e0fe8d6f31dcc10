package io.rafka.client.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code cluster describe|replace-broker|reassign|rebalance}: the client's cluster commands ({@code bin/rafka cluster start|stop|...}
 * are the launcher's own and never reach this tool).
 */
@Command(name = "cluster", description = "Describe the cluster, replace a dead broker, move partition replicas.",
        synopsisSubcommandLabel = "describe|replace-broker|reassign|rebalance",
        subcommands = {ClusterCommands.Describe.class, ClusterCommands.ReplaceBroker.class, ClusterCommands.Reassign.class,
                ClusterCommands.Rebalance.class})
final class ClusterCommands {

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Print this help and exit.")
    boolean help;

    /** {@code cluster describe}. */
    @Command(name = "describe", description = "Print the controller and the brokers, and which are live.")
    static final class Describe extends CliCommand {
        @Override
        int call(CliContext context) {
            return new AdminCommands(context).describeCluster();
        }
    }

    /** {@code cluster replace-broker BROKER_ID}. */
    @Command(name = "replace-broker", description = {
        "Move every replica of a (dead) broker to other live brokers: TARGET_ID, or per partition the live broker "
                + "holding the fewest replicas. The data is copied in the background."})
    static final class ReplaceBroker extends CliCommand {
        @Parameters(paramLabel = "BROKER_ID", description = "The broker to empty.")
        String broker;
        @Option(names = "--with", paramLabel = "TARGET_ID", description = "The broker that takes every replica.")
        String target;

        @Override
        int call(CliContext context) {
            return new AdminCommands(context).replaceBroker(broker, target);
        }
    }

    /** {@code cluster reassign TOPIC-PARTITION=BROKERS...}. */
    @Command(name = "reassign", description = {
        "Give partitions new replica lists: onto a broker that was added, off a broker to retire, or to change a "
                + "partition's replication factor. The first broker of a list is the preferred leader. The data is "
                + "copied in the background; `topic describe` shows the lists."})
    static final class Reassign extends CliCommand {
        @Parameters(paramLabel = "TOPIC-PARTITION=BROKERS", arity = "1..*",
                description = "A partition and its new replicas, e.g. orders-0=1,2,4.")
        java.util.List<String> moves;
        @Option(names = "--dry-run", description = "Check the lists and print them, changing nothing.")
        boolean dryRun;

        @Override
        int call(CliContext context) {
            return new AdminCommands(context).reassign(moves, dryRun);
        }
    }

    /** {@code cluster rebalance}. */
    @Command(name = "rebalance", description = {
        "Spread partition replicas evenly over the live brokers (after adding a broker, say): replicas move from the "
                + "brokers holding the most to those holding the fewest until no two differ by more than one, as few "
                + "as that takes. The data is copied in the background."})
    static final class Rebalance extends CliCommand {
        @Option(names = "--dry-run", description = "Print the moves the controller would make, changing nothing.")
        boolean dryRun;

        @Override
        int call(CliContext context) {
            return new AdminCommands(context).rebalance(dryRun);
        }
    }
}
