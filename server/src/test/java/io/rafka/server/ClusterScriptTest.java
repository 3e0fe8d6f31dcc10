package io.rafka.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bin/rafka cluster}'s argument checks, which answer before any broker starts: a node that is not one of the
 * cluster's is a usage error that leaves nothing behind (no log or pid file named after it).
 */
class ClusterScriptTest {

    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

    @TempDir
    Path clusterDir;

    private record Result(int status, String output) {
    }

    private Result run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", ROOT.resolve("bin/rafka").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("RAFKA_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("RAFKA_CLUSTER_DIR", clusterDir.toString());
        pb.environment().put("RAFKA_CDS", "off");
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "bin/rafka " + String.join(" ", args) + " finished");
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void aNodeThatIsNotTheClustersIsAUsageError() throws Exception {
        for (String action : List.of("start", "stop", "kill")) {
            Result result = run("cluster", action, "2", "abc");
            assertEquals(2, result.status(), result.output());
            assertEquals("rafka: unknown cluster node 'abc' (the nodes are 1 2 3; RAFKA_CLUSTER_NODES sets how many)\n",
                    result.output());
        }
        assertEquals(2, run("cluster", "start", "4").status());
        try (var files = Files.list(clusterDir)) {
            assertEquals(List.of(), files.toList(), "nothing started, nothing written");
        }
    }
}
