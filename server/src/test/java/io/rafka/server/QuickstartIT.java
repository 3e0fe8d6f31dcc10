package io.rafka.server;

import io.rafka.raft.testing.MiniCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * README's quickstart as a user types it: {@code bin/rafka server} as a process, then the command-line
 * client creates a topic, produces lines from stdin and consumes them back, and SIGTERM stops the broker
 * cleanly. Ports and data folder are the test's own; the launcher gets the test classpath through
 * {@code RAFKA_CLASSPATH} so it builds nothing.
 */
class QuickstartIT {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

    @TempDir
    Path tmp;
    private Process broker;

    @AfterEach
    void stopBroker() throws InterruptedException {
        if (broker != null && broker.isAlive()) {
            broker.destroy();
            if (!broker.waitFor(20, TimeUnit.SECONDS)) {
                broker.destroyForcibly();
            }
        }
    }

    private ProcessBuilder launcher(String... args) {
        List<String> command = new ArrayList<>(List.of("bash", ROOT.resolve("bin/rafka").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(tmp.toFile());
        pb.environment().put("RAFKA_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("RAFKA_HEAP_OPTS", "-Xms64m -Xmx512m");
        return pb;
    }

    /** Runs a client command with {@code stdin}; returns stdout, failing with stderr if it does not exit 0. */
    private String client(String stdin, String... args) throws Exception {
        Path out = tmp.resolve("out.txt");
        Path err = tmp.resolve("err.txt");
        Process p = launcher(args).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("bin/rafka " + String.join(" ", args) + " did not finish: " + Files.readString(err));
        }
        assertEquals(0, p.exitValue(), "bin/rafka " + String.join(" ", args) + ": " + Files.readString(err));
        return Files.readString(out) + "\n--stderr--\n" + Files.readString(err);
    }

    @Test
    void startCreateProduceConsumeStop() throws Exception {
        int grpc = MiniCluster.freePort();
        // Output to a file, not a pipe: Process.destroy() closes pipes, which would lose the shutdown lines.
        Path log = tmp.resolve("broker.log");
        broker = launcher("server", "--grpc.port=" + grpc, "--raft.port=" + MiniCluster.freePort(),
                "--metadata.port=" + MiniCluster.freePort(), "--http.port=" + MiniCluster.freePort(), "--data.dir=data")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.currentTimeMillis() + 60_000;
        while (!Files.readString(log).contains("is up")) {
            if (!broker.isAlive() || System.currentTimeMillis() > deadline) {
                fail("broker not up:\n" + Files.readString(log));
            }
            Thread.sleep(200);
        }
        assertTrue(Files.isDirectory(tmp.resolve("data")), "relative data.dir is the caller's directory");

        String bootstrap = "--bootstrap=127.0.0.1:" + grpc;
        String created = client("", "topic", "create", "greetings", "--partitions", "3", bootstrap);
        assertTrue(created.contains("greetings"), created);
        String produced = client("hello\nworld\nuser-1:keyed by user-1\n", "produce", "greetings", "--key-separator", ":", bootstrap);
        assertTrue(produced.contains("produced 3 records to greetings"), produced);
        String consumed = client("", "consume", "greetings", "--from-beginning", "--max-messages", "3", "--print-key", bootstrap);
        List<String> lines = consumed.substring(0, consumed.indexOf("\n--stderr--")).lines().toList();
        assertEquals(Set.of("null\thello", "null\tworld", "user-1\tkeyed by user-1"), Set.copyOf(lines), consumed);
        String described = client("", "topic", "describe", "greetings", bootstrap);
        assertTrue(described.contains("PartitionCount: 3"), described);
        String altered = client("", "topic", "alter", "greetings", "--partitions", "4", bootstrap);
        assertTrue(altered.contains("topic greetings has 4 partitions now"), altered);
        described = client("", "topic", "describe", "greetings", bootstrap);
        assertTrue(described.contains("PartitionCount: 4") && described.contains("Partition: 3\tLeader: "), described);
        assertFalse(described.contains("Offline"), "its one broker is alive: " + described);

        broker.destroy(); // SIGTERM
        assertTrue(broker.waitFor(30, TimeUnit.SECONDS), "the broker stops on SIGTERM");
        String output = Files.readString(log);
        assertTrue(output.contains("broker 1 stopped"), output);
    }
}
