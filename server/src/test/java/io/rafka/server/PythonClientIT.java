package io.rafka.server;

import io.rafka.raft.testing.MiniCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The public API from another language: generates a Python client from {@code proto/} with Debian's
 * python3-grpc-tools, starts a broker as a separate process ({@link Main}) and runs
 * {@code src/test/python/rafka_client_test.py} against it (create a topic, produce, fetch, typed errors,
 * long poll). Needs {@code /usr/bin/python3} with python3-grpcio and python3-grpc-tools, which
 * {@code .ci/run} installs; without them the test fails rather than skips, so CI cannot pass it silently.
 * The broker's output and the script's are kept in {@code target/python-client-it/}.
 */
class PythonClientIT {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final String SUMMARY = "PYTHON CLIENT OK";
    private static final long BROKER_START_TIMEOUT_S = 60;
    private static final long SCRIPT_TIMEOUT_S = 120;

    @TempDir
    Path dataDir;
    private Process broker;

    @AfterEach
    void stopBroker() throws InterruptedException {
        if (broker != null && broker.isAlive()) {
            broker.destroy();
            if (!broker.waitFor(10, TimeUnit.SECONDS)) {
                broker.destroyForcibly();
                broker.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void pythonClientCreatesTopicProducesAndFetches() throws Exception {
        Path root = repoRoot();
        Path serverDir = root.resolve("server");
        Path out = Files.createDirectories(serverDir.resolve("target/python-client-it"));
        checkPython(out);
        Path gen = generateClient(root, serverDir.resolve("target/python-gen"), out);

        int grpcPort = MiniCluster.freePort();
        startBroker(grpcPort, out.resolve("broker.log"));

        Path stdout = out.resolve("python-stdout.txt");
        Path stderr = out.resolve("python-stderr.txt");
        ProcessBuilder pb = new ProcessBuilder(PYTHON.toString(), "-u",
                serverDir.resolve("src/test/python/rafka_client_test.py").toString(),
                "127.0.0.1:" + grpcPort, "python-client-it")
                .directory(out.toFile())
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile());
        pythonEnvironment(pb, gen);
        Process python = pb.start();
        if (!python.waitFor(SCRIPT_TIMEOUT_S, TimeUnit.SECONDS)) {
            python.destroyForcibly();
            python.waitFor(10, TimeUnit.SECONDS);
            fail("the Python client test did not finish within " + SCRIPT_TIMEOUT_S + " s\n" + outputs(stdout, stderr, out));
        }
        assertEquals(0, python.exitValue(), () -> "the Python client test failed\n" + outputs(stdout, stderr, out));
        String printed = Files.readString(stdout);
        assertTrue(printed.contains(SUMMARY), () -> "no '" + SUMMARY + "' summary\n" + outputs(stdout, stderr, out));
        System.out.print(printed);
    }

    /** The repository root: the server module's parent (tests run with the module as working directory). */
    private static Path repoRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("proto/src/main/proto/rafka/v1")) && Files.isDirectory(p.resolve("server"))) {
                return p;
            }
        }
        throw new IllegalStateException("cannot find the repository root above " + Path.of("").toAbsolutePath());
    }

    /** Fails (not skips) when Debian's Python gRPC packages are missing: CI installs them in .ci/run. */
    private static void checkPython(Path out) throws IOException, InterruptedException {
        String hint = "; run .ci/run (it installs them) or: apt-get install python3-grpcio python3-grpc-tools";
        if (!Files.isExecutable(PYTHON)) {
            fail(PYTHON + " is missing" + hint);
        }
        ProcessResult r = run(List.of(PYTHON.toString(), "-c", "import grpc, grpc_tools"), out.resolve("python-check.txt"), 60);
        if (r.exitCode != 0) {
            fail(PYTHON + " cannot import grpc and grpc_tools" + hint + "\n" + r.output);
        }
    }

    /** Generates the rafka.v1 modules from proto/ into {@code gen}, afresh. */
    private static Path generateClient(Path root, Path gen, Path out) throws IOException, InterruptedException {
        deleteRecursively(gen);
        Files.createDirectories(gen);
        Path protoRoot = root.resolve("proto/src/main/proto");
        List<String> cmd = new ArrayList<>(List.of(PYTHON.toString(), "-m", "grpc_tools.protoc", "-I", protoRoot.toString(),
                "--python_out=" + gen, "--grpc_python_out=" + gen));
        try (Stream<Path> protos = Files.list(protoRoot.resolve("rafka/v1"))) {
            protos.filter(p -> p.toString().endsWith(".proto")).sorted().forEach(p -> cmd.add(p.toString()));
        }
        ProcessResult r = run(cmd, out.resolve("protoc.txt"), 120);
        assertEquals(0, r.exitCode, () -> "grpc_tools.protoc failed: " + cmd + "\n" + r.output);
        // Regular packages rather than namespace packages, whatever the Python version.
        Files.writeString(gen.resolve("rafka/__init__.py"), "");
        Files.writeString(gen.resolve("rafka/v1/__init__.py"), "");
        assertTrue(Files.exists(gen.resolve("rafka/v1/produce_pb2_grpc.py")), "protoc generated no rafka/v1/produce_pb2_grpc.py");
        return gen;
    }

    /**
     * Starts the broker process with free ports and waits (bounded) for its "is up" line and then for
     * {@code /health} to answer 200, which it does once the broker has registered with the metadata group:
     * before that it cannot be placed as a replica, so CreateTopics would fail.
     */
    private void startBroker(int grpcPort, Path log) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        int httpPort = MiniCluster.freePort();
        List<String> cmd = List.of(java.toString(), "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(),
                "--node.id=1",
                "--grpc.port=" + grpcPort,
                "--raft.port=" + MiniCluster.freePort(),
                "--metadata.port=" + MiniCluster.freePort(),
                "--http.port=" + httpPort,
                "--data.dir=" + dataDir,
                "--shutdown.timeout.ms=3000");
        // Straight into the file (not through a pipe: Process.destroy closes pipes, losing the shutdown lines).
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("RAFKA_")); // only the flags configure this broker
        broker = pb.start();

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BROKER_START_TIMEOUT_S);
        while (!("\n" + read(log)).contains("\nRafka broker 1 is up")) {
            checkBrokerAlive(deadline, "printed its 'is up' line", log);
            Thread.sleep(100);
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/health"))
                .timeout(Duration.ofSeconds(5)).build();
        while (true) {
            try {
                if (http.send(health, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            checkBrokerAlive(deadline, "answered 200 on /health", log);
            Thread.sleep(100);
        }
    }

    private void checkBrokerAlive(long deadline, String what, Path log) {
        if (!broker.isAlive()) {
            fail("the broker exited with " + broker.exitValue() + " before it " + what + "; its output (" + log + "):\n" + tail(log));
        }
        if (System.nanoTime() > deadline) {
            fail("the broker has not " + what + " within " + BROKER_START_TIMEOUT_S + " s; its output (" + log + "):\n" + tail(log));
        }
    }

    private static void pythonEnvironment(ProcessBuilder pb, Path gen) {
        pb.environment().remove("PYTHONHOME");
        pb.environment().remove("PYTHONSTARTUP");
        pb.environment().put("PYTHONPATH", gen.toString());
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        pb.environment().put("PYTHONUNBUFFERED", "1");
    }

    private record ProcessResult(int exitCode, String output) {
    }

    /** Runs a short command with /usr/bin/python3, its output merged into {@code outFile}. */
    private static ProcessResult run(List<String> cmd, Path outFile, long timeoutS) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(outFile.toFile());
        pb.environment().remove("PYTHONHOME");
        pb.environment().remove("PYTHONPATH");
        Process p = pb.start();
        if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            return new ProcessResult(-1, "timed out after " + timeoutS + " s: " + cmd + "\n" + Files.readString(outFile));
        }
        return new ProcessResult(p.exitValue(), Files.readString(outFile));
    }

    private static String outputs(Path stdout, Path stderr, Path out) {
        return "--- stdout:\n" + read(stdout) + "--- stderr:\n" + read(stderr)
                + "--- broker output (" + out.resolve("broker.log") + "), last lines:\n" + tail(out.resolve("broker.log"));
    }

    private static String tail(Path file) {
        String text = read(file);
        String[] lines = text.split("\n");
        int from = Math.max(0, lines.length - 40);
        return String.join("\n", List.of(lines).subList(from, lines.length)) + "\n";
    }

    private static String read(Path file) {
        try {
            // Lenient decoding: the file may end in the middle of a character the broker is writing.
            return Files.exists(file) ? new String(Files.readAllBytes(file), StandardCharsets.UTF_8) : "(none)\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
