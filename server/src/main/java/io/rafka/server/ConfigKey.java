package io.rafka.server;

import io.rafka.log.LogConfigKey;

import java.util.Locale;

/**
 * One broker setting: its name, default, documentation and the range it must lie in. The keys are listed
 * once, in {@link ServerConfig#KEYS}, which also feeds {@code --help} and the docs.
 *
 * @param name         the key in the properties file; {@code RAFKA_} + upper case with '_' for '.' in the
 *                     environment; {@code --name=value} on the command line
 * @param defaultValue the value when nothing sets it ("" for none)
 * @param type         how the value is parsed
 * @param min          smallest allowed number (for numeric types)
 * @param max          largest allowed number (for numeric types)
 * @param doc          what it does, shown by {@code --help}
 * @param logKey       for the defaults of topic settings: the entry of the log-settings table that parses and
 *                     bounds the value (the same rules as the topic override); null for other keys
 */
public record ConfigKey(String name, String defaultValue, Type type, long min, long max, String doc, LogConfigKey logKey) {

    public enum Type { STRING, INT, LONG, BOOLEAN }

    static ConfigKey string(String name, String defaultValue, String doc) {
        return new ConfigKey(name, defaultValue, Type.STRING, 0, 0, doc, null);
    }

    static ConfigKey integer(String name, long defaultValue, long min, long max, String doc) {
        return new ConfigKey(name, Long.toString(defaultValue), Type.INT, min, Math.min(max, Integer.MAX_VALUE), doc, null);
    }

    static ConfigKey longValue(String name, long defaultValue, long min, long max, String doc) {
        return new ConfigKey(name, Long.toString(defaultValue), Type.LONG, min, max, doc, null);
    }

    static ConfigKey bool(String name, boolean defaultValue, String doc) {
        return new ConfigKey(name, Boolean.toString(defaultValue), Type.BOOLEAN, 0, 0, doc, null);
    }

    /** The broker-wide default of a topic setting, named, typed and bounded by the log-settings table. */
    static ConfigKey log(LogConfigKey k) {
        Type type = switch (k.type()) {
            case INT -> Type.INT;
            case LONG -> Type.LONG;
            case TIMESTAMP_TYPE -> Type.STRING;
        };
        return new ConfigKey(k.serverKey(), k.defaultValue(), type, k.min(), k.max(),
                k.doc() + " Default of the topic config " + k.topicKey() + ".", k);
    }

    /** The environment variable that overrides this key: {@code log.retention.ms} is {@code RAFKA_LOG_RETENTION_MS}. */
    public String envName() {
        return "RAFKA_" + name.toUpperCase(Locale.ROOT).replace('.', '_');
    }

    /**
     * Checks a value and returns it in canonical form.
     *
     * @throws IllegalArgumentException with a message naming the key
     */
    String validate(String value) {
        if (logKey != null) {
            return logKey.validate(name, value);
        }
        String v = value.trim();
        switch (type) {
            case STRING -> {
                return v;
            }
            case BOOLEAN -> {
                if (!v.equalsIgnoreCase("true") && !v.equalsIgnoreCase("false")) {
                    throw new IllegalArgumentException(name + " = '" + value + "' must be true or false");
                }
                return v.toLowerCase(Locale.ROOT);
            }
            default -> {
                long n;
                try {
                    n = Long.parseLong(v);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(name + " = '" + value + "' is not a whole number");
                }
                if (n < min || n > max) {
                    throw new IllegalArgumentException(name + " = " + n + " is out of range [" + min + ", " + max + "]");
                }
                return Long.toString(n);
            }
        }
    }
}
