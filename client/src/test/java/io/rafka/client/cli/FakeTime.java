package io.rafka.client.cli;

import io.rafka.common.Time;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that moves only when slept on or advanced, recording every sleep. */
final class FakeTime implements Time {

    private final AtomicLong nowMs = new AtomicLong(1_000_000);
    private final List<Long> sleeps = new ArrayList<>();

    @Override
    public long milliseconds() {
        return nowMs.get();
    }

    @Override
    public long nanoseconds() {
        return TimeUnit.MILLISECONDS.toNanos(nowMs.get());
    }

    @Override
    public synchronized void sleep(long ms) {
        sleeps.add(ms);
        nowMs.addAndGet(ms);
    }

    void advance(long ms) {
        nowMs.addAndGet(ms);
    }

    synchronized List<Long> sleeps() {
        return List.copyOf(sleeps);
    }
}
