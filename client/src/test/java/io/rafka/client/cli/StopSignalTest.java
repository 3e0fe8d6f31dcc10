package io.rafka.client.cli;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopSignalTest {

    /** The produce command's way to finish on Ctrl-C while its own thread is blocked reading stdin. */
    @Test
    void anActionSetForTheSignalRunsOnItAndNotOnceCleared() {
        StopSignal signal = new StopSignal();
        AtomicInteger runs = new AtomicInteger();
        signal.onStop(runs::incrementAndGet);
        signal.requestAndWait();
        assertTrue(signal.requested());
        assertEquals(1, runs.get());
        signal.onStop(null);   // the command ended by itself: a later signal (the JVM's exit) runs nothing
        signal.requestAndWait();
        assertEquals(1, runs.get());
    }
}
