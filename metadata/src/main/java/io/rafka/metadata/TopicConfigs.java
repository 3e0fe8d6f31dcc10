package io.rafka.metadata;

import io.rafka.common.InvalidConfigException;
import io.rafka.log.LogConfig;
import io.rafka.log.LogConfigKey;

import java.util.Map;
import java.util.Set;
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

    /** The effective value of every topic config key, in the form {@link #toLogConfig} accepts. */
    public static Map<String, String> describe(LogConfig c) {
        return c.toTopicValues();
    }
}
