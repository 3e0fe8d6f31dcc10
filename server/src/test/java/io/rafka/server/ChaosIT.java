package io.rafka.server;

import io.rafka.client.chaos.Checker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * CI's short chaos profile: {@code bin/rafka chaos} with a fixed seed (three broker processes, SDK producers with
 * and without idempotence, kill -9 + restart and SIGSTOP/SIGCONT of random brokers and, where network namespaces
 * can be made (root), network partitions, packet loss and a throttled link), then the history checker and the
 * byte-for-byte replica comparison: every count must be 0. The seed makes the fault schedule repeatable; the
 * timing of faults against writes still varies from run to run.
 */
class ChaosIT {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    private static final String SEED = System.getProperty("chaos.seed", "20261130");
    private static final String DURATION = System.getProperty("chaos.duration", "45");

    @TempDir
    Path tmp;

    @Test
    void nothingAcknowledgedIsLostUnderKillsPausesAndNetworkFaults() throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", ROOT.resolve("bin/rafka").toString(), "chaos",
                "--seed", SEED, "--duration", DURATION, "--faults", "kill,pause,partition,netem"));
        ProcessBuilder pb = new ProcessBuilder(command).directory(tmp.toFile()).redirectErrorStream(true);
        pb.environment().put("RAFKA_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("RAFKA_CHAOS_WORK", tmp.resolve("chaos").toString());
        pb.environment().put("RAFKA_HEAP_OPTS", "-Xms64m -Xmx384m");
        // Its own namespaces and subnet, apart from a `bin/rafka chaos` a developer may be running.
        pb.environment().put("RAFKA_CHAOS_NETNS", "rafka-cit");
        pb.environment().put("RAFKA_CHAOS_SUBNET", "10.231.8");
        Path out = tmp.resolve("chaos.out");
        Process p = pb.redirectOutput(out.toFile()).start();
        p.getOutputStream().close();
        if (!p.waitFor(Long.parseLong(DURATION) + 240, TimeUnit.SECONDS)) {
            p.destroy();
            p.waitFor(40, TimeUnit.SECONDS);
            p.destroyForcibly();
            fail("bin/rafka chaos did not finish:\n" + Files.readString(out));
        }
        String output = Files.readString(out);
        for (String check : Checker.CHECKS) {
            assertTrue(output.contains("\n" + check + ": 0\n"), check + " is not 0:\n" + output);
        }
        assertTrue(output.contains("\ndivergence: 0\n"), "replicas differ:\n" + output);
        assertTrue(output.matches("(?s).*; [1-9][0-9]* faults injected;.*"), "faults were injected:\n" + output);
        assertTrue(output.matches("(?s).*sends: [0-9]+ \\([1-9][0-9]* acknowledged.*"), "records were acknowledged:\n" + output);
        assertEquals(0, p.exitValue(), output);
        System.out.println(output.substring(output.indexOf("chaos: seed")));
    }
}
