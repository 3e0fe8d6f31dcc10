package io.rafka.client.cli;

import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;

import io.rafka.client.producer.Acks;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Command-line parsing and exit codes: nothing here reaches a broker. */
class RafkaCliTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final List<BrokerAddress> dialed = new ArrayList<>();
    /** Fails the test if a command gets as far as opening a channel. */
    private final ChannelPool channels = new ChannelPool(address -> {
        dialed.add(address);
        throw new AssertionError("dialed " + address);
    });

    @AfterEach
    void nothingWasDialed() {
        assertEquals(List.of(), dialed);
    }

    private int run(Map<String, String> env, String... args) {
        out.reset();
        err.reset();
        return RafkaCli.run(List.of(args), env, channels, new FakeTime(), new Random(0),
                new ByteArrayInputStream(new byte[0]),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private int run(String... args) {
        return run(Map.of(), args);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** Exit status 2, the message first, then the synopsis of the command that was wrong; nothing on stdout. */
    private void assertUsageError(String expectedMessage, String synopsisStart, String... args) {
        assertEquals(2, run(args), err());
        assertTrue(err().startsWith("rafka: " + expectedMessage + "\n"), err());
        assertTrue(err().contains("\nusage: " + synopsisStart), err());
        assertEquals("", out.toString(StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void helpPrintsTheGeneratedUsageOnStdout() {
        assertEquals(0, run("help"));
        String top = out();
        assertTrue(top.startsWith("usage: rafka [-h] [--bootstrap=HOST:PORT] COMMAND"), top);
        for (String command : List.of("topic", "cluster", "produce", "consume", "group", "completion")) {
            assertTrue(top.contains("\n  " + command + " "), command + " in\n" + top);
        }
        assertEquals("", err());
        assertEquals(0, run("--bootstrap", "h:1", "--help"));
        assertEquals(top, out());
        assertEquals(0, run("produce", "t", "-h"));
        assertTrue(out().contains("usage: rafka produce"), out());
        assertEquals(0, run("help", "consume"));
        assertTrue(out().contains("usage: rafka consume"), out());
        // A value that looks like -h is still a value.
        ProduceCommand produce = Commands.parse("produce", "t", "--key-separator", "-h");
        assertEquals("-h", produce.keySeparator);
    }

    /** Every option of every command shows in its --help, with the description its annotation gives it. */
    @Test
    void everyCommandsHelpListsEachOfItsOptions() {
        CommandLine root = RafkaCli.commandLine(new RafkaCli());
        List<CommandLine> leaves = new ArrayList<>();
        collectLeaves(root, leaves);
        assertEquals(15, leaves.size(), "topic x5, cluster x4, produce, consume, group x4");
        for (CommandLine leaf : leaves) {
            String name = leaf.getCommandSpec().qualifiedName(" ");
            String[] words = name.substring("rafka ".length()).split(" ");
            List<String> line = new ArrayList<>(List.of(words));
            line.add("--help");
            assertEquals(0, run(line.toArray(String[]::new)), err());
            String help = out();
            assertTrue(help.startsWith("usage: " + name) || help.contains("\nusage: " + name), help);
            for (CommandLine.Model.OptionSpec option : leaf.getCommandSpec().options()) {
                assertTrue(help.contains(option.longestName()), option.longestName() + " in\n" + help);
                assertTrue(option.description().length > 0, name + " " + option.longestName() + " has no description");
            }
        }
    }

    private static void collectLeaves(CommandLine command, List<CommandLine> leaves) {
        if (command.getCommand() instanceof CliCommand && !(command.getCommand() instanceof CompletionCommand)) {
            leaves.add(command);
        }
        command.getSubcommands().values().forEach(sub -> collectLeaves(sub, leaves));
    }

    @Test
    void commandErrorsExitWith2() {
        assertUsageError("missing COMMAND", "rafka [-h]");
        assertUsageError("unknown command 'frob' (topic, cluster, produce, consume, group, help, completion)", "rafka [-h]", "frob");
        assertUsageError("unknown topic subcommand 'frob' (create, list, describe, alter, delete)", "rafka topic [-h]", "topic", "frob");
        assertUsageError("'topic' needs a subcommand", "rafka topic [-h] create|list|describe|alter|delete", "topic");
        assertUsageError("'cluster' needs a subcommand", "rafka cluster", "cluster");
        assertUsageError("Unknown option: '--verbose'", "rafka [-h]", "--verbose", "topic", "list");
    }

    @Test
    void argumentErrorsExitWith2() {
        assertUsageError("Missing required parameter: 'NAME'", "rafka topic create", "topic", "create");
        assertUsageError("Unknown options: '--partition', '3'", "rafka topic create", "topic", "create", "t", "--partition", "3");
        assertUsageError("--partitions must be in 1..2147483647, not 0", "rafka topic create",
                "topic", "create", "t", "--partitions", "0");
        assertUsageError("Value for option '--config' (KEY=VALUE) should be in KEY=VALUE format but was x",
                "rafka topic create", "topic", "create", "t", "--config", "x");
        assertUsageError("Unmatched argument at index 2: 'x'", "rafka topic list", "topic", "list", "x");
        assertUsageError("topic alter needs --partitions N, --config KEY=VALUE or --delete-config KEY", "rafka topic alter", "topic", "alter", "t");
        assertUsageError("Missing required parameter: 'TOPIC'", "rafka produce", "produce");
        assertUsageError("--acks must be all, 1 or 0, not 'some'", "rafka produce", "produce", "t", "--acks", "some");
        assertUsageError("--key-separator must not be empty", "rafka produce", "produce", "t", "--key-separator", "");
        assertUsageError("Invalid value for option '--retry-timeout-ms': '1s' is not a long", "rafka produce",
                "produce", "t", "--retry-timeout-ms", "1s");
        assertUsageError("option '--partition' (P) should be specified only once", "rafka produce",
                "produce", "t", "--partition", "1", "--partition", "2");
        assertUsageError("Invalid value for option '--output': expected one of [text, json] (case-sensitive) but was 'yaml'",
                "rafka group describe", "group", "describe", "g", "--output", "yaml");
    }

    @Test
    void consumeStartOptionsMustAgree() {
        assertUsageError("--offset needs --partition: offsets differ between partitions", "rafka consume",
                "consume", "t", "--offset", "5");
        assertUsageError("--offset and --from-beginning exclude each other", "rafka consume",
                "consume", "t", "--partition", "0", "--offset", "5", "--from-beginning");
        assertUsageError("--max-messages must be in 1..9223372036854775807, not 0", "rafka consume",
                "consume", "t", "--max-messages", "0");
        assertUsageError("--timeout-ms must be in 1..9223372036854775807, not 0", "rafka consume", "consume", "t", "--timeout-ms", "0");
        assertUsageError("Invalid value for option '--print-key': 'yes' is not a boolean", "rafka consume",
                "consume", "t", "--print-key=yes");
        assertUsageError("missing TOPIC", "rafka consume", "consume");
        assertUsageError("--pattern needs --group", "rafka consume", "consume", "t", "--pattern", "x.*");
    }

    @Test
    void badBootstrapAddressIsAUsageError() {
        assertUsageError("bad bootstrap address: 'nohost' is not HOST:PORT", "rafka topic list",
                "--bootstrap", "nohost", "topic", "list");
        assertUsageError("bad bootstrap address: port 70000 is not in 1..65535", "rafka topic list",
                "topic", "list", "--bootstrap=h:70000");
        assertUsageError("bad bootstrap address: '127.0.0.1:9092,127.0.0.1:9192' is not one HOST:PORT (an IPv6 host goes in brackets)",
                "rafka consume", "consume", "t", "--group", "g", "--bootstrap", "127.0.0.1:9092,127.0.0.1:9192");
        assertUsageError("Missing required parameter for option '--bootstrap' (HOST:PORT)", "rafka [-h]", "--bootstrap");
        assertEquals(2, run(Map.of("RAFKA_BOOTSTRAP", "h:x"), "topic", "list"));
    }

    @Test
    void completionPrintsABashScriptForEveryCommand() {
        assertEquals(0, run(Map.of("RAFKA_BOOTSTRAP", "not an address"), "completion"));
        String script = out();
        assertTrue(script.startsWith("#!/usr/bin/env bash"), script);
        assertTrue(script.contains("complete -F _complete_rafka"), script);
        for (String word : List.of("reset-offsets", "replace-broker", "--from-beginning", "--key-separator", "--to-datetime")) {
            assertTrue(script.contains(word), word);
        }
    }

    @Test
    void bootstrapComesFromTheOptionThenTheEnvironmentThenTheDefault() {
        Map<String, String> env = Map.of("RAFKA_BOOTSTRAP", "envhost:9001");
        assertEquals(new BrokerAddress("127.0.0.1", 9092), bootstrap(Map.of(), "topic", "list"));
        assertEquals(new BrokerAddress("127.0.0.1", 9092), bootstrap(Map.of("RAFKA_BOOTSTRAP", " "), "topic", "list"));
        assertEquals(new BrokerAddress("envhost", 9001), bootstrap(env, "topic", "list"));
        assertEquals(new BrokerAddress("opt", 1), bootstrap(env, "--bootstrap", "opt:1", "topic", "list"));
        assertEquals(new BrokerAddress("opt", 2), bootstrap(env, "--bootstrap=opt:2", "topic", "list"));
        // After the command it works too, and wins over one before it.
        assertEquals(new BrokerAddress("late", 3), bootstrap(env, "--bootstrap", "opt:1", "consume", "t", "--bootstrap", "late:3"));
        assertEquals(new BrokerAddress("::1", 9092), bootstrap(env, "--bootstrap", "[::1]:9092", "topic", "list"));
    }

    @Test
    void typedOptionsKeepTheirValues() {
        TopicCommands.Create create = Commands.parse("topic", "create", "orders", "--partitions", "6",
                "--config", "retention.ms=5", "--replication-factor=3", "--config", "cleanup.policy=compact");
        assertEquals("orders", create.name);
        assertEquals(6, create.partitions);
        assertEquals(3, create.replicationFactor);
        assertEquals(Map.of("retention.ms", "5", "cleanup.policy", "compact"), create.configs);

        ConsumeCommand consume = Commands.parse("consume", "--print-key", "--max-messages", "10", "--", "-orders");
        assertTrue(consume.printKey);
        assertEquals(10, consume.maxMessages);
        assertEquals("-orders", consume.topic, "'--' ends the options: a topic name may start with '-'");

        GroupOptions.ResetOffsets reset = Commands.parse("group", "reset-offsets", "g", "--topic", "a:0,1", "--topic", "b",
                "--shift-by", "-20", "--execute");
        assertEquals(List.of("a:0,1", "b"), reset.topics);
        assertEquals(-20L, reset.shiftBy);
        assertTrue(reset.execute);
    }

    @Test
    void acksSpellings() {
        assertEquals(Acks.ALL, ProduceCommand.parseAcks(null));
        assertEquals(Acks.ALL, ProduceCommand.parseAcks("all"));
        assertEquals(Acks.ALL, ProduceCommand.parseAcks("-1"));
        assertEquals(Acks.LEADER, ProduceCommand.parseAcks("1"));
        assertEquals(Acks.NONE, ProduceCommand.parseAcks("0"));
        assertThrows(UsageException.class, () -> ProduceCommand.parseAcks("2"));
    }

    private static BrokerAddress bootstrap(Map<String, String> env, String... args) {
        return RafkaCli.bootstrap(Commands.parseResult(args), env);
    }
}
