package io.rafka.server.testing;

import io.rafka.client.cli.RafkaCli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Runs the command-line tool in this JVM against a cluster, as {@code bin/rafka --bootstrap ADDRESS ARGS...} would. */
public final class CliRun {
    /** What one run printed, and its exit status. */
    public record Result(int status, String out, String err) {
    }

    private CliRun() {
    }

    public static Result run(String bootstrap, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> all = new ArrayList<>(List.of("--bootstrap", bootstrap));
        all.addAll(List.of(args));
        int status = RafkaCli.run(all, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
