package io.rafka.testing;

import io.rafka.common.Time;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that moves only when told to. */
public final class MockTime implements Time {
    private final AtomicLong nanos;
    private final long epochMsAtStart;

    public MockTime(long epochMs) {
        this.epochMsAtStart = epochMs;
        this.nanos = new AtomicLong(0);
    }

    @Override
    public long milliseconds() {
        return epochMsAtStart + TimeUnit.NANOSECONDS.toMillis(nanos.get());
    }

    @Override
    public long nanoseconds() {
        return nanos.get();
    }

    @Override
    public void sleep(long ms) {
        nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(ms));
    }
}
