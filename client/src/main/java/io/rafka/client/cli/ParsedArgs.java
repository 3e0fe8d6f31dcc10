package io.rafka.client.cli;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A command's arguments after parsing: positionals in order, {@code --name value} options (also spelled
 * {@code --name=value}, and repeatable where a command allows it), and {@code --flag}s. Parsed by hand
 * against the command's declared options so that every mistake (an unknown option, a missing or
 * malformed value, a repeated single option) becomes a {@link UsageException} naming the culprit,
 * before anything is sent to a broker. {@code --} ends the options, for topic names starting with '-'.
 */
final class ParsedArgs {

    private final List<String> positionals;
    private final Map<String, List<String>> values;
    private final Set<String> flags;

    private ParsedArgs(List<String> positionals, Map<String, List<String>> values, Set<String> flags) {
        this.positionals = positionals;
        this.values = values;
        this.flags = flags;
    }

    /**
     * @param valueOptions options that take a value, with their leading {@code --}
     * @param flagOptions  options that take none
     */
    static ParsedArgs parse(List<String> args, Set<String> valueOptions, Set<String> flagOptions) {
        List<String> positionals = new ArrayList<>();
        Map<String, List<String>> values = new LinkedHashMap<>();
        Set<String> flags = new HashSet<>();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals("--")) {
                positionals.addAll(args.subList(i + 1, args.size()));
                break;
            }
            if (!arg.startsWith("-") || arg.equals("-")) {
                positionals.add(arg);
                continue;
            }
            int eq = arg.indexOf('=');
            String name = eq > 0 ? arg.substring(0, eq) : arg;
            if (flagOptions.contains(name)) {
                if (eq > 0) {
                    throw new UsageException(name + " takes no value");
                }
                flags.add(name);
            } else if (valueOptions.contains(name)) {
                String value;
                if (eq > 0) {
                    value = arg.substring(eq + 1);
                } else if (i + 1 < args.size()) {
                    value = args.get(++i);
                } else {
                    throw new UsageException(name + " needs a value");
                }
                values.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
            } else {
                throw new UsageException("unknown option " + name);
            }
        }
        return new ParsedArgs(positionals, values, flags);
    }

    List<String> positionals() {
        return positionals;
    }

    /** Fails unless there are between {@code min} and {@code max} positionals, named {@code what}. */
    List<String> positionals(int min, int max, String what) {
        if (positionals.size() < min) {
            throw new UsageException("missing " + what);
        }
        if (positionals.size() > max) {
            throw new UsageException("unexpected argument '" + positionals.get(max) + "'");
        }
        return positionals;
    }

    boolean flag(String name) {
        return flags.contains(name);
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    /** The option's value, or null when absent; giving a single-valued option twice is an error. */
    String value(String name) {
        List<String> given = values.get(name);
        if (given == null) {
            return null;
        }
        if (given.size() > 1) {
            throw new UsageException(name + " given more than once");
        }
        return given.get(0);
    }

    /** Every value of a repeatable option, in order; empty when absent. */
    List<String> values(String name) {
        return values.getOrDefault(name, List.of());
    }

    /** A long option in {@code [min, max]}, or {@code defaultValue} when absent. */
    long longValue(String name, long defaultValue, long min, long max) {
        String text = value(name);
        if (text == null) {
            return defaultValue;
        }
        long parsed;
        try {
            parsed = Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(name + " must be a whole number, not '" + text + "'");
        }
        if (parsed < min || parsed > max) {
            throw new UsageException(name + " must be in " + min + ".." + max + ", not " + parsed);
        }
        return parsed;
    }

    int intValue(String name, int defaultValue, int min, int max) {
        return (int) longValue(name, defaultValue, min, max);
    }

    /** Every {@code KEY=VALUE} of a repeatable option as a map, in order; a later key wins. */
    Map<String, String> keyValues(String name) {
        Map<String, String> map = new LinkedHashMap<>();
        for (String entry : values(name)) {
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new UsageException(name + " needs KEY=VALUE, not '" + entry + "'");
            }
            map.put(entry.substring(0, eq), entry.substring(eq + 1));
        }
        return map;
    }
}
