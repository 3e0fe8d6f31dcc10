package io.rafka.client.cli;

import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;

import io.rafka.client.producer.Acks;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

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

    private void assertUsageError(String expectedMessage, String... args) {
        assertEquals(2, run(args), err());
        assertTrue(err().startsWith("rafka: " + expectedMessage + "\n"), err());
        assertTrue(err().contains("usage: rafka [--bootstrap HOST:PORT] COMMAND [ARGS]"), err());
        assertEquals("", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void helpPrintsTheUsageOnStdout() {
        assertEquals(0, run("help"));
        assertEquals(Usage.TEXT, out.toString(StandardCharsets.UTF_8));
        assertEquals("", err());
        assertEquals(0, run("--bootstrap", "h:1", "--help"));
        assertEquals(Usage.TEXT, out.toString(StandardCharsets.UTF_8));
        assertEquals(0, run("produce", "t", "-h"));
        assertEquals(Usage.TEXT, out.toString(StandardCharsets.UTF_8));
        // A value that looks like -h is still a value.
        assertEquals("-h", parse(Map.of(), "produce", "t", "--key-separator", "-h").args().value("--key-separator"));
    }

    @Test
    void commandErrorsExitWith2() {
        assertUsageError("missing COMMAND");
        assertUsageError("unknown command 'frob'", "frob");
        assertUsageError("unknown command 'topic frob'", "topic", "frob");
        assertUsageError("'topic' needs a subcommand", "topic");
        assertUsageError("'cluster' needs a subcommand", "cluster");
        assertUsageError("unknown option --verbose", "--verbose", "topic", "list");
    }

    @Test
    void argumentErrorsExitWith2() {
        assertUsageError("missing topic NAME", "topic", "create");
        assertUsageError("unknown option --partition", "topic", "create", "t", "--partition", "3");
        assertUsageError("--partitions must be in 1..2147483647, not 0", "topic", "create", "t", "--partitions", "0");
        assertUsageError("--config needs KEY=VALUE, not 'x'", "topic", "create", "t", "--config", "x");
        assertUsageError("unexpected argument 'x'", "topic", "list", "x");
        assertUsageError("topic alter needs --config KEY=VALUE or --delete-config KEY", "topic", "alter", "t");
        assertUsageError("missing TOPIC", "produce");
        assertUsageError("--acks must be all, 1 or 0, not 'some'", "produce", "t", "--acks", "some");
        assertUsageError("--key-separator must not be empty", "produce", "t", "--key-separator", "");
        assertUsageError("--retry-timeout-ms must be a whole number, not '1s'", "produce", "t", "--retry-timeout-ms", "1s");
    }

    @Test
    void consumeStartOptionsMustAgree() {
        assertUsageError("--offset needs --partition: offsets differ between partitions", "consume", "t", "--offset", "5");
        assertUsageError("--offset and --from-beginning exclude each other",
                "consume", "t", "--partition", "0", "--offset", "5", "--from-beginning");
        assertUsageError("--max-messages must be in 1..9223372036854775807, not 0", "consume", "t", "--max-messages", "0");
        assertUsageError("--timeout-ms must be in 1..9223372036854775807, not 0", "consume", "t", "--timeout-ms", "0");
        assertUsageError("--print-key takes no value", "consume", "t", "--print-key=yes");
    }

    @Test
    void badBootstrapAddressIsAUsageError() {
        assertUsageError("bad bootstrap address: 'nohost' is not HOST:PORT", "--bootstrap", "nohost", "topic", "list");
        assertUsageError("bad bootstrap address: port 70000 is not in 1..65535", "topic", "list", "--bootstrap=h:70000");
        assertUsageError("--bootstrap needs a value", "--bootstrap");
        assertEquals(2, run(Map.of("RAFKA_BOOTSTRAP", "h:x"), "topic", "list"));
    }

    @Test
    void bootstrapComesFromTheOptionThenTheEnvironmentThenTheDefault() {
        Map<String, String> env = Map.of("RAFKA_BOOTSTRAP", "envhost:9001");
        assertEquals(new BrokerAddress("127.0.0.1", 9092), parse(Map.of(), "topic", "list").bootstrap());
        assertEquals(new BrokerAddress("127.0.0.1", 9092), parse(Map.of("RAFKA_BOOTSTRAP", " "), "topic", "list").bootstrap());
        assertEquals(new BrokerAddress("envhost", 9001), parse(env, "topic", "list").bootstrap());
        assertEquals(new BrokerAddress("opt", 1), parse(env, "--bootstrap", "opt:1", "topic", "list").bootstrap());
        assertEquals(new BrokerAddress("opt", 2), parse(env, "--bootstrap=opt:2", "topic", "list").bootstrap());
        // After the command it works too, and wins over one before it.
        assertEquals(new BrokerAddress("late", 3),
                parse(env, "--bootstrap", "opt:1", "consume", "t", "--bootstrap", "late:3").bootstrap());
        assertEquals(new BrokerAddress("::1", 9092), parse(env, "--bootstrap", "[::1]:9092", "topic", "list").bootstrap());
    }

    @Test
    void invocationNamesTheCommandAndKeepsItsArguments() {
        RafkaCli.Invocation invocation = parse(Map.of(), "topic", "create", "orders", "--partitions", "6",
                "--config", "retention.ms=5", "--replication-factor=3");
        assertEquals("topic create", invocation.command());
        assertEquals(List.of("orders"), invocation.args().positionals());
        assertEquals(6, invocation.args().intValue("--partitions", 0, 1, 100));
        assertEquals(3, invocation.args().intValue("--replication-factor", 0, 1, 100));
        assertEquals(Map.of("retention.ms", "5"), invocation.args().keyValues("--config"));

        RafkaCli.Invocation consume = parse(Map.of(), "consume", "orders", "--print-key", "--max-messages", "10");
        assertEquals("consume", consume.command());
        assertTrue(consume.args().flag("--print-key"));
        assertEquals(10, consume.args().longValue("--max-messages", 0, 1, 100));
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

    private static RafkaCli.Invocation parse(Map<String, String> env, String... args) {
        return RafkaCli.Invocation.parse(List.of(args), env);
    }
}
