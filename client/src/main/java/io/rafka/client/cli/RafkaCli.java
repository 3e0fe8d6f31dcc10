package io.rafka.client.cli;

import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.ClientException;

import io.rafka.common.Time;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The {@code rafka} command-line tool: topic and cluster administration, producing stdin lines and
 * consuming records to stdout, over the public gRPC API. For example:
 *
 * <pre>
 * rafka topic create orders --partitions 3
 * printf 'k1:hello\nk2:world\n' | rafka produce orders --key-separator :
 * rafka consume orders --from-beginning --max-messages 2 --print-key
 * </pre>
 *
 * Arguments are parsed by picocli from the annotated fields of each {@link CliCommand}, which also give the
 * generated {@code --help} of every command and the bash completion ({@code rafka completion}). Exit status: 0 on
 * success, 1 on a failure (printed as {@code rafka: <ERROR_CODE>: <message>}), 2 on a usage error. {@link #run}
 * does everything but exit, so tests drive the whole tool in-process.
 */
@Command(name = "rafka", synopsisSubcommandLabel = "COMMAND",
        commandListHeading = "%nCommands (rafka COMMAND --help lists each one's options):%n",
        description = {
            "Talks to a Rafka cluster over gRPC. Any broker can be the bootstrap broker: --bootstrap, else "
                    + "$RAFKA_BOOTSTRAP, else " + RafkaCli.DEFAULT_BOOTSTRAP + ". Options may come before or after a "
                    + "command's arguments, as --name VALUE or --name=VALUE; '--' ends the options."},
        footerHeading = "%n",
        footer = {"Exit status: 0 success, 1 failure (printed as \"rafka: ERROR_CODE: message\" on stderr), 2 bad usage."},
        subcommands = {TopicCommands.class, ClusterCommands.class, ProduceCommand.class, ConsumeCommand.class,
            GroupOptions.class, CommandLine.HelpCommand.class, CompletionCommand.class})
public final class RafkaCli {

    static final String DEFAULT_BOOTSTRAP = "127.0.0.1:9092";
    static final String BOOTSTRAP_ENV = "RAFKA_BOOTSTRAP";
    static final String BOOTSTRAP_OPTION = "--bootstrap";

    @Option(names = BOOTSTRAP_OPTION, paramLabel = "HOST:PORT", description = "Any broker of the cluster.")
    String bootstrap;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Print this help and exit.")
    boolean help;

    /**
     * gRPC logs through java.util.logging, and logs connection and name-resolution failures as WARNINGs
     * with stack traces: noise in a CLI that already reports each failure as one {@code rafka: ...}
     * line. Held in a field because JUL keeps loggers weakly, which would drop the level set here.
     */
    private static final Logger GRPC_LOGGER = Logger.getLogger("io.grpc");

    /** picocli makes the root command; {@link #main} and {@link #run} are the entry points. */
    RafkaCli() {
    }

    public static void main(String[] args) {
        GRPC_LOGGER.setLevel(Level.SEVERE);
        PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16),
                false, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        // Ctrl-C ends a consumer that follows a topic: what it printed must still reach stdout.
        Runtime.getRuntime().addShutdownHook(new Thread(out::flush, "rafka-flush-stdout"));
        configureLogging();
        StopSignal stop = StopSignal.onShutdown();
        int status;
        try (ChannelPool channels = ChannelPool.plaintext()) {
            status = run(Arrays.asList(args), System.getenv(), channels, Time.SYSTEM, new Random(), System.in, out, err, stop);
        }
        out.flush();
        stop.finished();
        System.exit(status);
    }

    /**
     * The client library logs through slf4j; in the CLI the simple binding prints warnings and errors on stderr
     * as one line each ({@code WARN ...}) and nothing below. Set before the first logger is made.
     */
    private static void configureLogging() {
        setDefault("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        setDefault("org.slf4j.simpleLogger.logFile", "System.err");
        setDefault("org.slf4j.simpleLogger.showThreadName", "false");
        setDefault("org.slf4j.simpleLogger.showLogName", "false");
        setDefault("org.slf4j.simpleLogger.showShortLogName", "false");
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /**
     * Runs one command line in this JVM as {@code main} would, without exiting: for programs and tests that
     * drive the tool (the broker's integration tests). Reads no stdin.
     */
    public static int run(List<String> args, PrintStream out, PrintStream err) {
        try (ChannelPool channels = ChannelPool.plaintext()) {
            return run(args, System.getenv(), channels, Time.SYSTEM, new Random(), InputStream.nullInputStream(), out, err);
        }
    }

    /**
     * Runs one command line and returns its exit status. Never throws for usage errors or failures:
     * they are printed on {@code err}.
     */
    static int run(List<String> args, Map<String, String> env, ChannelPool channels, Time time, Random random,
                   InputStream in, PrintStream out, PrintStream err) {
        return run(args, env, channels, time, random, in, out, err, new StopSignal());
    }

    static int run(List<String> args, Map<String, String> env, ChannelPool channels, Time time, Random random,
                   InputStream in, PrintStream out, PrintStream err, StopSignal stop) {
        CommandLine root = commandLine(new RafkaCli());
        root.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        CommandLine leaf = root;
        try {
            ParseResult parsed = root.parseArgs(args.toArray(String[]::new));
            List<CommandLine> chain = parsed.asCommandLineList();
            leaf = chain.get(chain.size() - 1);
            if (CommandLine.printHelpIfRequested(parsed)) {
                out.flush();
                return 0;
            }
            if (!(leaf.getCommand() instanceof CliCommand command)) {
                throw new UsageException(leaf == root ? "missing COMMAND" : "'" + leaf.getCommandName() + "' needs a subcommand");
            }
            command.validate();
            CliContext context = new CliContext(command.usesCluster() ? bootstrap(parsed, env) : null, channels, time, random, in, out, err, stop);
            int status = command.call(context);
            out.flush();
            return status;
        } catch (ParameterException e) {
            return usageError(parameterMessage(e), e.getCommandLine(), out, err);
        } catch (UsageException e) {
            return usageError(e.getMessage(), leaf, out, err);
        } catch (ClientException e) {
            out.flush();
            err.println(errorLine(e));
            return 1;
        }
    }

    /**
     * The tool's command tree, help in plain text (no ANSI colours: help is also read from pipes and logs), and
     * option values that look like options accepted ({@code --key-separator -}).
     */
    static CommandLine commandLine(RafkaCli root) {
        CommandLine commandLine = new CommandLine(root);
        commandLine.setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
        commandLine.setAllowOptionsAsOptionParameters(true);
        headings(commandLine);
        return commandLine;
    }

    /** The same headings in every command's help, the parent commands' included. */
    private static void headings(CommandLine command) {
        command.getCommandSpec().usageMessage().synopsisHeading("usage: ").descriptionHeading("%n")
                .parameterListHeading("%nArguments:%n").optionListHeading("%nOptions:%n").sortOptions(false)
                .autoWidth(true);
        command.getSubcommands().values().forEach(RafkaCli::headings);
    }

    /**
     * picocli's message for a bad command line, in the tool's words where picocli's read oddly: a mistyped command
     * ({@code group lst}) is named as such with the ones there are, instead of "Unmatched argument at index 1".
     */
    static String parameterMessage(ParameterException e) {
        CommandLine command = e.getCommandLine();
        if (e instanceof CommandLine.UnmatchedArgumentException unmatched && !command.getSubcommands().isEmpty()
                && !unmatched.getUnmatched().isEmpty() && !unmatched.getUnmatched().get(0).startsWith("-")) {
            String name = qualifiedName(command).trim();
            return "unknown " + (name.isEmpty() ? "command" : name + " subcommand") + " '" + unmatched.getUnmatched().get(0)
                    + "' (" + String.join(", ", command.getSubcommands().keySet()) + ")";
        }
        return e.getMessage().replace("option option '", "option '");
    }

    /** A usage error: the message, then the command's synopsis (its --help has the rest); exit status 2. */
    private static int usageError(String message, CommandLine command, PrintStream out, PrintStream err) {
        out.flush();
        CommandLine.Help help = command.getHelp();
        err.println("rafka: " + message);
        err.print(help.synopsisHeading() + help.synopsis(help.synopsisHeadingLength()));
        err.println("Run 'rafka " + qualifiedName(command) + "--help' for the options.");
        err.flush();
        return 2;
    }

    private static String qualifiedName(CommandLine command) {
        String name = command.getCommandSpec().qualifiedName(" ");
        return name.equals("rafka") ? "" : name.substring("rafka ".length()) + " ";
    }

    /** How a failure is reported: {@code rafka: <CODE>: <message>}. */
    static String errorLine(ClientException e) {
        return "rafka: " + e.code() + ": " + e.getMessage();
    }

    /**
     * The bootstrap broker of a parsed command line: the command's --bootstrap (given after the command's name), else
     * the one given before it, else $RAFKA_BOOTSTRAP if set and not blank, else the default.
     */
    static BrokerAddress bootstrap(ParseResult parsed, Map<String, String> env) {
        List<CommandLine> chain = parsed.asCommandLineList();
        CliCommand command = (CliCommand) chain.get(chain.size() - 1).getCommand();
        String option = command.bootstrap != null ? command.bootstrap : ((RafkaCli) chain.get(0).getCommand()).bootstrap;
        return bootstrapAddress(option, env);
    }

    /** The --bootstrap value if given, else $RAFKA_BOOTSTRAP if set and not blank, else the default. */
    private static BrokerAddress bootstrapAddress(String option, Map<String, String> env) {
        String text = option;
        if (text == null) {
            String fromEnv = env.get(BOOTSTRAP_ENV);
            text = fromEnv != null && !fromEnv.isBlank() ? fromEnv.trim() : DEFAULT_BOOTSTRAP;
        }
        try {
            return BrokerAddress.parse(text);
        } catch (IllegalArgumentException e) {
            throw new UsageException("bad bootstrap address: " + e.getMessage());
        }
    }
}
