package io.rafka.client.chaos;

import io.rafka.client.perf.PerfArgs;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;

/**
 * The Java side of {@code bin/rafka chaos} (bench/chaos/chaos.sh runs the cluster and the nemesis):
 *
 * <pre>
 * produce --bootstrap B --topic T --partitions P --history FILE [--producers N] [--rate R] [--duration-ms D]
 *         [--consumers C] [--group G]
 * read    --bootstrap B --topic T --partitions P --history FILE
 * check   --history FILE
 * </pre>
 *
 * {@code produce} runs the writers (and a consumer group of C members reading along) and records every send's
 * outcome (and every record the group consumed); {@code read} appends the final read of
 * every partition; {@code check} prints the checker's counts ({@code name: N}) and availability, and exits 1
 * if any count is not 0, so a saved history can be checked again later.
 */
public final class ChaosMain {
    private static final Set<String> OPTIONS = Set.of("bootstrap", "topic", "partitions", "history", "producers", "rate",
            "duration-ms", "consumers", "group");

    private ChaosMain() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = System.out;
        if (args.length == 0) {
            out.println("usage: chaos produce|read|check --history FILE [options]");
            System.exit(2);
        }
        PerfArgs a = PerfArgs.parse(Arrays.asList(args).subList(1, args.length), OPTIONS);
        Path history = Path.of(a.required("history"));
        switch (args[0]) {
            case "produce" -> {
                ChaosWorkload.Settings s = new ChaosWorkload.Settings(a.required("bootstrap"), a.required("topic"),
                        a.intValue("partitions", 3), a.intValue("producers", 3), a.intValue("rate", 100),
                        a.longValue("duration-ms", 60_000), a.intValue("consumers", 0), a.string("group", "chaos-group"));
                try (History h = History.appendingTo(history)) {
                    new ChaosWorkload(s, h).run();
                }
            }
            case "read" -> {
                try (History h = History.appendingTo(history)) {
                    long n = FinalRead.readAll(a.required("bootstrap"), a.required("topic"), a.intValue("partitions", 3), h);
                    out.println("final read: " + n + " records");
                }
            }
            case "check" -> {
                Checker.Report report = Checker.check(History.parse(history));
                out.print(report.render());
                System.exit(report.ok() ? 0 : 1);
            }
            default -> {
                out.println("unknown command '" + args[0] + "' (produce, read, check)");
                System.exit(2);
            }
        }
    }
}
