package io.rafka.client.cli;

/**
 * The clock and the sleep the retry and timeout logic use, injected so tests can run a 30-second retry
 * budget in microseconds and assert exactly which delays were taken.
 */
interface Time {

    /** Monotonic milliseconds: only differences mean anything. */
    long nowMs();

    void sleepMs(long ms) throws InterruptedException;

    Time SYSTEM = new Time() {
        @Override
        public long nowMs() {
            return System.nanoTime() / 1_000_000L;
        }

        @Override
        public void sleepMs(long ms) throws InterruptedException {
            if (ms > 0) {
                Thread.sleep(ms);
            }
        }
    };
}
