package io.rafka.client.cli;

import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.ClientException;

import io.rafka.common.Time;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
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
 * Arguments are parsed by hand (see {@link ParsedArgs}); {@link Usage} has the full syntax. Exit
 * status: 0 on success, 1 on a failure (printed as {@code rafka: <ERROR_CODE>: <message>}), 2 on a
 * usage error. {@link #run} does everything but exit, so tests drive the whole tool in-process.
 */
public final class RafkaCli {

    static final String DEFAULT_BOOTSTRAP = "127.0.0.1:9092";
    static final String BOOTSTRAP_ENV = "RAFKA_BOOTSTRAP";
    static final String BOOTSTRAP_OPTION = "--bootstrap";
    /** Accepted anywhere, by every command: print the usage and exit 0. */
    static final Set<String> HELP_OPTIONS = Set.of("--help", "-h");

    /** The options each command accepts, besides --bootstrap which all do. */
    private record Spec(Set<String> valueOptions, Set<String> flagOptions) {
    }

    private static final Map<String, Spec> COMMANDS = Map.ofEntries(
            Map.entry("topic create", new Spec(Set.of("--partitions", "--replication-factor", "--config"), Set.of())),
            Map.entry("topic list", new Spec(Set.of(), Set.of())),
            Map.entry("topic describe", new Spec(Set.of(), Set.of())),
            Map.entry("topic alter", new Spec(Set.of("--config", "--delete-config"), Set.of())),
            Map.entry("topic delete", new Spec(Set.of(), Set.of())),
            Map.entry("cluster describe", new Spec(Set.of(), Set.of())),
            Map.entry("cluster replace-broker", new Spec(Set.of("--with"), Set.of())),
            Map.entry("produce", new Spec(ProduceCommand.VALUE_OPTIONS, ProduceCommand.FLAG_OPTIONS)),
            Map.entry("consume", new Spec(ConsumeCommand.VALUE_OPTIONS, ConsumeCommand.FLAG_OPTIONS)),
            Map.entry("group list", new Spec(GroupCommands.GROUP_OPTIONS, Set.of())),
            Map.entry("group describe", new Spec(GroupCommands.GROUP_OPTIONS, Set.of())),
            Map.entry("group delete", new Spec(GroupCommands.RETRY_OPTION, Set.of())),
            Map.entry("group reset-offsets", new Spec(GroupCommands.RESET_VALUE_OPTIONS, GroupCommands.RESET_FLAG_OPTIONS)));

    /**
     * gRPC logs through java.util.logging, and logs connection and name-resolution failures as WARNINGs
     * with stack traces: noise in a CLI that already reports each failure as one {@code rafka: ...}
     * line. Held in a field because JUL keeps loggers weakly, which would drop the level set here.
     */
    private static final Logger GRPC_LOGGER = Logger.getLogger("io.grpc");

    private RafkaCli() {
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
        try {
            Invocation invocation = Invocation.parse(args, env);
            if (invocation.command().equals("help")) {
                out.print(Usage.TEXT);
                out.flush();
                return 0;
            }
            CliContext context = new CliContext(invocation.bootstrap(), channels, time, random, in, out, err, stop);
            int status = execute(invocation.command(), invocation.args(), context);
            out.flush();
            return status;
        } catch (UsageException e) {
            err.println("rafka: " + e.getMessage());
            err.println();
            err.print(Usage.TEXT);
            err.flush();
            return 2;
        } catch (ClientException e) {
            out.flush();
            err.println(errorLine(e));
            return 1;
        }
    }

    /** How a failure is reported: {@code rafka: <CODE>: <message>}. */
    static String errorLine(ClientException e) {
        return "rafka: " + e.code() + ": " + e.getMessage();
    }

    private static int execute(String command, ParsedArgs args, CliContext context) {
        AdminCommands admin = new AdminCommands(context);
        GroupCommands group = new GroupCommands(context);
        return switch (command) {
            case "topic create" -> admin.createTopic(args);
            case "topic list" -> admin.listTopics(args);
            case "topic describe" -> admin.describeTopics(args);
            case "topic alter" -> admin.alterTopic(args);
            case "topic delete" -> admin.deleteTopic(args);
            case "cluster describe" -> admin.describeCluster(args);
            case "cluster replace-broker" -> admin.replaceBroker(args);
            case "produce" -> ProduceCommand.run(args, context);
            case "consume" -> ConsumeCommand.run(args, context);
            case "group list" -> group.list(args);
            case "group describe" -> group.describe(args);
            case "group delete" -> group.delete(args);
            case "group reset-offsets" -> group.resetOffsets(args);
            default -> throw new IllegalStateException("no handler for " + command);
        };
    }

    /**
     * A command line split into the command's name ({@code "topic create"}, {@code "produce"},
     * {@code "help"}), its parsed arguments and the bootstrap broker.
     */
    record Invocation(String command, ParsedArgs args, BrokerAddress bootstrap) {

        static Invocation parse(List<String> args, Map<String, String> env) {
            int i = 0;
            String bootstrap = null;
            while (i < args.size() && args.get(i).startsWith("-")) {
                String arg = args.get(i);
                if (HELP_OPTIONS.contains(arg)) {
                    return new Invocation("help", null, null);
                } else if (arg.equals(BOOTSTRAP_OPTION) && i + 1 < args.size()) {
                    bootstrap = args.get(i + 1);
                    i += 2;
                } else if (arg.startsWith(BOOTSTRAP_OPTION + "=")) {
                    bootstrap = arg.substring(BOOTSTRAP_OPTION.length() + 1);
                    i++;
                } else {
                    throw new UsageException(arg.equals(BOOTSTRAP_OPTION) ? "--bootstrap needs a value" : "unknown option " + arg);
                }
            }
            List<String> rest = args.subList(i, args.size());
            String command = commandName(rest);
            if (command.equals("help")) {
                return new Invocation("help", null, null);
            }
            int words = command.indexOf(' ') >= 0 ? 2 : 1;
            Spec spec = COMMANDS.get(command);
            Set<String> valueOptions = new HashSet<>(spec.valueOptions());
            valueOptions.add(BOOTSTRAP_OPTION);
            Set<String> flagOptions = new HashSet<>(spec.flagOptions());
            flagOptions.addAll(HELP_OPTIONS);
            ParsedArgs parsed = ParsedArgs.parse(rest.subList(words, rest.size()), valueOptions, flagOptions);
            if (HELP_OPTIONS.stream().anyMatch(parsed::flag)) {
                return new Invocation("help", null, null);
            }
            if (parsed.value(BOOTSTRAP_OPTION) != null) {
                bootstrap = parsed.value(BOOTSTRAP_OPTION);
            }
            return new Invocation(command, parsed, bootstrapAddress(bootstrap, env));
        }

        private static String commandName(List<String> rest) {
            if (rest.isEmpty()) {
                throw new UsageException("missing COMMAND");
            }
            String first = rest.get(0);
            if (first.equals("help") || first.equals("produce") || first.equals("consume")) {
                return first;
            }
            if (!first.equals("topic") && !first.equals("cluster") && !first.equals("group")) {
                throw new UsageException("unknown command '" + first + "'");
            }
            if (rest.size() < 2) {
                throw new UsageException("'" + first + "' needs a subcommand");
            }
            String command = first + " " + rest.get(1);
            if (!COMMANDS.containsKey(command)) {
                throw new UsageException("unknown command '" + command + "'");
            }
            return command;
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
}
