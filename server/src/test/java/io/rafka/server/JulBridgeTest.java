package io.rafka.server;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.util.logging.Level;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** grpc-java logs through java.util.logging; the broker routes it into slf4j, so it shares the log format. */
class JulBridgeTest {
    @Test
    void julWarningsReachTheBrokersLog() {
        Logger target = (Logger) LoggerFactory.getLogger("io.grpc.rafka-bridge-test");
        ListAppender<ILoggingEvent> seen = new ListAppender<>();
        seen.start();
        target.addAppender(seen);
        try {
            Main.routeJulToSlf4j();
            Main.routeJulToSlf4j(); // idempotent: one bridge, each event once
            java.util.logging.Logger jul = java.util.logging.Logger.getLogger("io.grpc.rafka-bridge-test");
            jul.log(Level.WARNING, "a grpc-java warning", new IllegalStateException("boom"));
            assertEquals(1, seen.list.size(), seen.list.toString());
            ILoggingEvent e = seen.list.get(0);
            assertEquals(ch.qos.logback.classic.Level.WARN, e.getLevel());
            assertEquals("a grpc-java warning", e.getFormattedMessage());
            assertTrue(e.getThrowableProxy() != null, "with the stack");
            assertEquals(1, java.util.logging.Logger.getLogger("").getHandlers().length, "only the bridge on JUL's root");
        } finally {
            target.detachAppender(seen);
        }
    }
}
