package io.rafka.log;

import io.rafka.record.TimestampType;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LogConfigTest {
    @Test
    void defaultsAreTheTableDefaults() {
        Map<String, String> expected = new HashMap<>();
        for (LogConfigKey k : LogConfigKey.values()) {
            expected.put(k.topicKey(), k.defaultValue());
        }
        assertEquals(expected, LogConfig.defaults().toTopicValues());
        assertEquals(LogConfig.defaults().toTopicValues().keySet(), LogConfig.topicKeys());
    }

    /** One bound per key: the table's check, the builder and the overrides agree at both edges. */
    @Test
    void everyNumericBoundHoldsInTheBuilderAndTheOverrides() {
        for (LogConfigKey k : LogConfigKey.values()) {
            if (k.type() == LogConfigKey.Type.TIMESTAMP_TYPE) {
                continue;
            }
            for (long edge : new long[] {k.min(), k.max()}) {
                LogConfig ok = LogConfig.defaults().withOverrides(Map.of(k.topicKey(), Long.toString(edge)));
                assertEquals(Long.toString(edge), ok.toTopicValues().get(k.topicKey()), k.topicKey());
                assertEquals(ok, rebuild(ok), "the builder accepts what the overrides accept: " + k.topicKey());
            }
            IllegalArgumentException below = assertThrows(IllegalArgumentException.class,
                    () -> LogConfig.defaults().withOverrides(Map.of(k.topicKey(), Long.toString(k.min() - 1))));
            assertTrue(below.getMessage().startsWith(k.topicKey() + " = "), below.getMessage());
            if (k.max() < Long.MAX_VALUE) {
                assertThrows(IllegalArgumentException.class,
                        () -> LogConfig.defaults().withOverrides(Map.of(k.topicKey(), Long.toString(k.max() + 1))));
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LogConfig.builder().segmentBytes(1023).build());
        assertTrue(e.getMessage().contains("segment.bytes = 1023 is out of range [1024, "), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LogConfig.builder().maxMessageBytes(64 * 1024 * 1024 + 1).build());
    }

    private static LogConfig rebuild(LogConfig c) {
        return new LogConfig(c.segmentBytes(), c.segmentMs(), c.segmentIndexBytes(), c.indexIntervalBytes(), c.retentionMs(),
                c.retentionBytes(), c.maxMessageBytes(), c.messageTimestampType(), c.messageTimestampAfterMaxMs());
    }

    @Test
    void overridesParseTrimAndRoundTrip() {
        LogConfig c = LogConfig.defaults().withOverrides(Map.of("retention.ms", " -1 ", "segment.bytes", "4096",
                "message.timestamp.type", "LogAppendTime"));
        assertEquals(-1, c.retentionMs());
        assertEquals(4096, c.segmentBytes());
        assertEquals(TimestampType.LOG_APPEND_TIME, c.messageTimestampType());
        assertEquals(c, LogConfig.defaults().withOverrides(c.toTopicValues()));
        assertEquals(c, c.withOverrides(Map.of()));
    }

    @Test
    void badOverridesNameTheKey() {
        for (Map<String, String> bad : java.util.List.of(Map.of("retention.ms", "soon"), Map.of("retention.ms", "-2"),
                Map.of("segment.bytes", "10"), Map.of("segment.bytes", "3000000000"), Map.of("message.timestamp.type", "Now"),
                Map.of("max.message.bytes", "1.5"))) {
            String key = bad.keySet().iterator().next();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LogConfig.defaults().withOverrides(bad));
            assertTrue(e.getMessage().startsWith(key + " = "), e.getMessage());
        }
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> LogConfig.defaults().withOverrides(Map.of("cleanup.policy", "compact")));
        assertTrue(unknown.getMessage().contains("'cleanup.policy'") && unknown.getMessage().contains("retention.ms"),
                unknown.getMessage());
    }

    @Test
    void serverKeysAreKafkasSynonyms() {
        assertEquals("log.segment.bytes", LogConfigKey.SEGMENT_BYTES.serverKey());
        assertEquals("message.max.bytes", LogConfigKey.MAX_MESSAGE_BYTES.serverKey());
        assertEquals("log.index.size.max.bytes", LogConfigKey.SEGMENT_INDEX_BYTES.serverKey());
        for (LogConfigKey k : LogConfigKey.values()) {
            assertEquals(k, LogConfigKey.forTopicKey(k.topicKey()).orElseThrow());
            assertEquals(k.defaultValue(), k.validate(k.serverKey(), k.defaultValue()), "the default is canonical");
        }
    }
}
