package io.rafka.common;

import java.util.concurrent.TimeUnit;

/**
 * The source of time for components whose behaviour depends on it (retention, segment age, retry budgets and
 * backoffs), so tests can drive a clock instead of sleeping.
 */
public interface Time {
    Time SYSTEM = new Time() {
        @Override
        public long milliseconds() {
            return System.currentTimeMillis();
        }

        @Override
        public long nanoseconds() {
            return System.nanoTime();
        }
    };

    /** Wall-clock time in milliseconds since the epoch. */
    long milliseconds();

    /** A monotonic clock for measuring intervals. */
    long nanoseconds();

    /** The monotonic clock in milliseconds: only differences mean anything. */
    default long hiResClockMs() {
        return TimeUnit.NANOSECONDS.toMillis(nanoseconds());
    }

    /** Waits {@code ms} milliseconds (a test clock moves instead of waiting). */
    default void sleep(long ms) throws InterruptedException {
        if (ms > 0) {
            Thread.sleep(ms);
        }
    }
}
