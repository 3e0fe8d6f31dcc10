package io.rafka.common;

/**
 * The source of time for components whose behaviour depends on it (retention, segment age), so tests
 * can drive a clock instead of sleeping.
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
}
