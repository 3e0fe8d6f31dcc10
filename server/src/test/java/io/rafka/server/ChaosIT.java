package io.rafka.server;

import io.rafka.client.chaos.Checker;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * CI's short chaos profile: {@code bin/rafka chaos} with fixed seeds, on three and on five broker processes (SDK
 * producers with and without idempotence and a consumer group; kill -9 + restart and SIGSTOP/SIGCONT of brokers,
 * damaged segment and Raft log files between a kill and its restart and, as root (namespaces, a tmpfs per node),
 * network partitions, packet loss, a throttled link and a disk filled to the last byte), then the history checker and the byte-for-byte
 * replica comparison: every count must be 0. A seed makes the fault schedule repeatable; the timing of faults
 * against writes still varies from run to run. {@code -Dchaos.seed=S} replaces both seeds.
 */
class ChaosIT {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    private static final String FAULTS = "kill,pause,partition,netem,corrupt,full,full-restart";

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} nodes, seed {1}, {2} s")
    @CsvSource({"3, 20261130, 45", "5, 20261201, 35"})
    void nothingAcknowledgedIsLostUnderKillsPausesDamagedFilesAndNetworkFaults(int nodes, String seed, int duration)
            throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", ROOT.resolve("bin/rafka").toString(), "chaos",
                "--seed", System.getProperty("chaos.seed", seed), "--duration", String.valueOf(duration),
                "--nodes", String.valueOf(nodes), "--faults", FAULTS));
        ProcessBuilder pb = new ProcessBuilder(command).directory(tmp.toFile()).redirectErrorStream(true);
        pb.environment().put("RAFKA_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("RAFKA_CHAOS_WORK", tmp.resolve("chaos").toString());
        // C1 only: three to five broker JVMs, the workload and the tools share CI's two cores, and C2 compiling in
        // all of them at once starved a restarted broker for up to a minute before its first log line. The
        // faults and the checks are the same; a run takes about half as long.
        pb.environment().put("RAFKA_HEAP_OPTS", "-Xms64m -Xmx384m -XX:TieredStopAtLevel=1 -Dlogback.configurationFile="
                + Path.of(ChaosIT.class.getResource("/chaos-logback.xml").toURI()));
        // Its own namespaces and subnet, apart from a `bin/rafka chaos` a developer may be running.
        pb.environment().put("RAFKA_CHAOS_NETNS", "rafka-cit");
        pb.environment().put("RAFKA_CHAOS_SUBNET", "10.231.8");
        Path out = tmp.resolve("chaos.out");
        Process p = pb.redirectOutput(out.toFile()).start();
        p.getOutputStream().close();
        if (!p.waitFor(duration + 300, TimeUnit.SECONDS)) {
            p.destroy();
            p.waitFor(40, TimeUnit.SECONDS);
            p.destroyForcibly();
            fail("bin/rafka chaos did not finish:\n" + Files.readString(out));
        }
        String output = Files.readString(out);
        if (p.exitValue() != 0) {
            keepLogs(nodes, seed);
        }
        for (String check : Checker.CHECKS) {
            assertTrue(output.contains("\n" + check + ": 0\n"), check + " is not 0:\n" + output);
        }
        assertTrue(output.contains("\ndivergence: 0\n"), "replicas differ:\n" + output);
        assertTrue(output.matches("(?s).*; [1-9][0-9]* faults injected;.*"), "faults were injected:\n" + output);
        if ("root".equals(System.getProperty("user.name"))) {
            // As root (CI is) every kind of fault runs: network namespaces and iptables are there (.ci/run installs it).
            assertFalse(output.contains("SKIPPED"), "a kind of fault was skipped:\n" + output);
        }
        assertTrue(output.matches("(?s).*sends: [0-9]+ \\([1-9][0-9]* acknowledged.*"), "records were acknowledged:\n" + output);
        assertEquals(0, p.exitValue(), output);
        System.out.println(output.substring(output.indexOf("chaos: seed")));
    }

    /** A failed run's broker logs, workload log and history go to target/chaos-failures/, which outlives the temp dir. */
    private void keepLogs(int nodes, String seed) throws IOException {
        Path work = tmp.resolve("chaos");
        Path keep = Path.of("target", "chaos-failures", nodes + "-nodes-seed-" + seed);
        Files.createDirectories(keep);
        try (var files = Files.walk(work)) {
            for (Path f : files.filter(f -> Files.isRegularFile(f) && (f.toString().endsWith(".log")
                    || f.toString().endsWith(".tsv"))).filter(f -> !f.getParent().getFileName().toString().matches("chaos-[0-9]+|__.*"))
                    .toList()) {
                Files.copy(f, keep.resolve(work.relativize(f).toString().replace('/', '_')),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        System.out.println("kept the failed run's logs in " + keep.toAbsolutePath());
    }
}
