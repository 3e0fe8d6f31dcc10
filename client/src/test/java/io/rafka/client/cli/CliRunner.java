package io.rafka.client.cli;

import io.rafka.client.internals.ChannelPool;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Runs the whole CLI against a {@link FakeCluster}, with the given stdin, capturing stdout and stderr. */
final class CliRunner {

    /** A Random whose "random" first sticky partition is always 0, so routing is predictable. */
    private static final class ZeroRandom extends Random {
        @Override
        public int nextInt(int bound) {
            return 0;
        }
    }

    private final FakeCluster cluster;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    /** The running command's Ctrl-C: {@link StopSignal#requestAndWait()} does what the JVM's shutdown hook does. */
    volatile StopSignal stop = new StopSignal();

    CliRunner(FakeCluster cluster) {
        this.cluster = cluster;
    }

    int run(String stdin, String... args) {
        out.reset();
        err.reset();
        StopSignal signal = new StopSignal();
        stop = signal;
        List<String> all = new ArrayList<>(List.of("--bootstrap", cluster.bootstrap().toString()));
        all.addAll(List.of(args));
        try (ChannelPool channels = cluster.channels()) {
            return RafkaCli.run(all, Map.of(), channels, cluster.time, new ZeroRandom(),
                    new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                    new PrintStream(out, false, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), signal);
        }
    }

    String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    String err() {
        return err.toString(StandardCharsets.UTF_8);
    }
}
