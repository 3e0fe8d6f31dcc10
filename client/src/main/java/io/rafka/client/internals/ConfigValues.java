package io.rafka.client.internals;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Reading Kafka-style config maps, the same way for the producer and the consumer: values may be strings (from a
 * properties file) or numbers and booleans (from code), and a malformed one names its key.
 */
public final class ConfigValues {
    private ConfigValues() {
    }

    /**
     * A new instance of the class {@code className} names, made with its public no-argument constructor, which must
     * implement {@code type}: how a config file names a serializer or partitioner, as with Kafka's clients.
     *
     * @throws IllegalArgumentException naming {@code key}: no such class, not a {@code type}, or no such constructor
     */
    public static <T> T instance(String key, String className, Class<T> type) {
        Class<?> found;
        try {
            ClassLoader loader = Thread.currentThread().getContextClassLoader();
            found = Class.forName(className, true, loader != null ? loader : ConfigValues.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalArgumentException(key + ": no class " + className + " can be loaded", e);
        }
        if (!type.isAssignableFrom(found)) {
            throw new IllegalArgumentException(key + ": " + className + " does not implement " + type.getName());
        }
        try {
            return type.cast(found.getConstructor().newInstance());
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalArgumentException(key + ": cannot make a " + type.getSimpleName() + " of " + className
                    + " (it needs a public no-argument constructor): " + e, e);
        }
    }

    /** A {@link Properties} as a map, string properties and programmatic values alike. */
    public static Map<String, Object> toMap(Properties properties) {
        Map<String, Object> map = new HashMap<>();
        properties.stringPropertyNames().forEach(k -> map.put(k, properties.getProperty(k)));
        properties.forEach((k, v) -> map.putIfAbsent(k.toString(), v));
        return map;
    }

    /** {@code bootstrap.servers}: comma-separated {@code host:port}s; required. */
    public static List<String> servers(Map<String, ?> props, String key) {
        Object servers = props.get(key);
        if (servers == null) {
            throw new IllegalArgumentException(key + " is required");
        }
        return Arrays.stream(servers.toString().split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    public static long number(Map<String, ?> props, String key, long fallback) {
        Object v = props.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            return v instanceof Number n ? n.longValue() : Long.parseLong(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, not '" + v + "'");
        }
    }

    public static String text(Map<String, ?> props, String key, String fallback) {
        Object v = props.get(key);
        return v == null ? fallback : v.toString().trim();
    }
}
