package io.rafka.client.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code cluster describe|replace-broker}: the client's cluster commands ({@code bin/rafka cluster start|stop|...}
 * are the launcher's own and never reach this tool).
 */
@Command(name = "cluster", description = "Describe the cluster, replace a dead broker.",
        synopsisSubcommandLabel = "describe|replace-broker",
        subcommands = {ClusterCommands.Describe.class, ClusterCommands.ReplaceBroker.class})
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
}
