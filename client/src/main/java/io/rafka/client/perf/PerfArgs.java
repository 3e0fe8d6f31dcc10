package io.rafka.client.perf;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code --name VALUE} / {@code --name=VALUE} options of the perf tools. Unknown options are errors, so a
 * typo cannot silently run a benchmark with a default the user meant to change.
 */
public final class PerfArgs {
    private final Map<String, String> values;

    private PerfArgs(Map<String, String> values) {
        this.values = values;
    }

    public static PerfArgs parse(List<String> args, Set<String> known) {
        return parse(args, known, Set.of());
    }

    /** As {@link #parse(List, Set)}; {@code flags} take no value ({@code --json} means true). */
    public static PerfArgs parse(List<String> args, Set<String> known, Set<String> flags) {
        Map<String, String> values = new HashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + arg + "'");
            }
            String name;
            String value;
            int eq = arg.indexOf('=');
            if (eq > 0) {
                name = arg.substring(2, eq);
                value = arg.substring(eq + 1);
            } else if (flags.contains(arg.substring(2))) {
                name = arg.substring(2);
                value = "true";
            } else {
                name = arg.substring(2);
                if (i + 1 >= args.size()) {
                    throw new IllegalArgumentException("--" + name + " needs a value");
                }
                value = args.get(++i);
            }
            if (!known.contains(name) && !flags.contains(name)) {
                throw new IllegalArgumentException("unknown option --" + name);
            }
            values.put(name, value);
        }
        return new PerfArgs(values);
    }

    public String string(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    public String required(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }

    public boolean flag(String name) {
        return Boolean.parseBoolean(values.getOrDefault(name, "false"));
    }

    public long longValue(String name, long fallback) {
        String v = values.get(name);
        try {
            return v == null ? fallback : Long.parseLong(v.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + ": '" + v + "' is not a whole number");
        }
    }

    public int intValue(String name, int fallback) {
        long v = longValue(name, fallback);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("--" + name + ": " + v + " is out of range");
        }
        return (int) v;
    }

    public double doubleValue(String name, double fallback) {
        String v = values.get(name);
        try {
            return v == null ? fallback : Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + ": '" + v + "' is not a number");
        }
    }

    /** The bootstrap broker: --bootstrap, else $RAFKA_BOOTSTRAP, else the single-broker default. */
    String bootstrap() {
        String env = System.getenv("RAFKA_BOOTSTRAP");
        return string("bootstrap", env != null && !env.isBlank() ? env.trim() : "127.0.0.1:9092");
    }
}
