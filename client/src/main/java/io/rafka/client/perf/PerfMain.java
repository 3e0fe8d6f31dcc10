package io.rafka.client.perf;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.ToIntFunction;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The perf tools' shared entry point: {@code --help} prints the usage (exit 0), options that do not parse print
 * the error and the usage (exit 2), a run that fails prints why (exit 1); otherwise the run's own exit status.
 */
final class PerfMain {
    private PerfMain() {
    }

    static <O> void main(String tool, String usage, String[] args, Function<List<String>, O> parse, ToIntFunction<O> run) {
        Logger.getLogger("io.grpc").setLevel(Level.SEVERE);
        List<String> list = Arrays.asList(args);
        if (list.contains("--help") || list.contains("-h")) {
            System.out.print(usage);
            System.exit(0);
        }
        O options;
        try {
            options = parse.apply(list);
        } catch (IllegalArgumentException e) {
            System.err.println(tool + ": " + e.getMessage());
            System.err.print(usage);
            System.exit(2);
            return;
        }
        try {
            System.exit(run.applyAsInt(options));
        } catch (RuntimeException e) {
            System.err.println(tool + ": " + e.getMessage());
            System.exit(1);
        }
    }
}
