package io.rafka.metadata;

import io.rafka.common.InvalidConfigException;
import io.rafka.log.LogConfig;
import io.rafka.log.LogConfigKey;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The per-topic configuration keys a topic may set, with Kafka's names. Parsing and bounds live in the one
 * table of log settings, {@link LogConfigKey}, which also checks the broker's defaults; this class only
 * turns its errors into INVALID_CONFIG naming the key.
 */
public final class TopicConfigs {
    public static final String SEGMENT_BYTES = LogConfigKey.SEGMENT_BYTES.topicKey();
    public static final String SEGMENT_MS = LogConfigKey.SEGMENT_MS.topicKey();
    public static final String SEGMENT_INDEX_BYTES = LogConfigKey.SEGMENT_INDEX_BYTES.topicKey();
    public static final String INDEX_INTERVAL_BYTES = LogConfigKey.INDEX_INTERVAL_BYTES.topicKey();
    public static final String RETENTION_MS = LogConfigKey.RETENTION_MS.topicKey();
    public static final String RETENTION_BYTES = LogConfigKey.RETENTION_BYTES.topicKey();
    public static final String MAX_MESSAGE_BYTES = LogConfigKey.MAX_MESSAGE_BYTES.topicKey();
    public static final String MESSAGE_TIMESTAMP_TYPE = LogConfigKey.MESSAGE_TIMESTAMP_TYPE.topicKey();

    public static final Set<String> KEYS = LogConfig.topicKeys();

    private TopicConfigs() {
    }

    /**
     * Validates {@code overrides} and applies them on top of {@code defaults}.
     *
     * @throws InvalidConfigException naming the first bad key
     */
    public static LogConfig toLogConfig(Map<String, String> overrides, LogConfig defaults) {
        for (String key : new TreeSet<>(overrides.keySet())) {
            if (LogConfigKey.forTopicKey(key).isEmpty()) {
                throw new InvalidConfigException("unknown topic config '" + key + "'; known: " + KEYS);
            }
        }
        try {
            return defaults.withOverrides(overrides);
        } catch (IllegalArgumentException e) {
            throw new InvalidConfigException(e.getMessage());
        }
    }

    /**
     * {@code overrides} as a topic stores them: every value validated alone and in canonical form ({@code " 0060"}
     * is {@code 60}), so what the metadata log, every broker's image and DescribeTopics hold is what was meant, and
     * short whatever a client sent.
     *
     * @throws InvalidConfigException naming the first bad key
     */
    public static Map<String, String> canonical(Map<String, String> overrides) {
        Map<String, String> result = new TreeMap<>();
        for (String key : new TreeSet<>(overrides.keySet())) {
            LogConfigKey k = LogConfigKey.forTopicKey(key).orElseThrow(() -> new InvalidConfigException(
                    "unknown topic config '" + key + "'; known: " + KEYS));
            try {
                result.put(key, k.validate(key, overrides.get(key)));
            } catch (IllegalArgumentException e) {
                throw new InvalidConfigException(e.getMessage());
            }
        }
        return result;
    }

    /** The effective value of every topic config key, in the form {@link #toLogConfig} accepts. */
    public static Map<String, String> describe(LogConfig c) {
        return c.toTopicValues();
    }
}
