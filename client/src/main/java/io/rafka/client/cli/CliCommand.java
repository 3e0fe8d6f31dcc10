package io.rafka.client.cli;

import picocli.CommandLine.Option;

/**
 * One runnable command of the tool ({@code topic create}, {@code consume}, ...): picocli fills its annotated fields
 * from the command line, then {@link RafkaCli} checks what picocli cannot ({@link UsageException}) and runs it with
 * the context ({@link RafkaCli#commandLine} sets the help layout of all of them). Commands never exit; they return the status and throw ClientException for a failure.
 */
abstract class CliCommand {

    /** Every command takes it, before or after its arguments; one given here wins over the one before the command. */
    @Option(names = RafkaCli.BOOTSTRAP_OPTION, paramLabel = "HOST:PORT",
            description = "Any broker of the cluster (default: $RAFKA_BOOTSTRAP, else " + RafkaCli.DEFAULT_BOOTSTRAP + ").")
    String bootstrap;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Print this help and exit.")
    boolean help;

    /** Runs the command; the arguments were checked by {@link #validate()} just before. */
    abstract int call(CliContext context);

    /** False for commands that talk to no broker: a bad {@code $RAFKA_BOOTSTRAP} does not stop them. */
    boolean usesCluster() {
        return true;
    }

    /** Checks the arguments picocli could not (ranges, combinations): throws {@link UsageException}. */
    void validate() {
    }

    /** Fails unless {@code value} is in {@code [min, max]}. */
    static long checkRange(String option, long value, long min, long max) {
        if (value < min || value > max) {
            throw new UsageException(option + " must be in " + min + ".." + max + ", not " + value);
        }
        return value;
    }
}
