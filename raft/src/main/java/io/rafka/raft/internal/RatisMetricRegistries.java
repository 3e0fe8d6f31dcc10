package io.rafka.raft.internal;

import org.apache.ratis.metrics.LongCounter;
import org.apache.ratis.metrics.MetricRegistries;
import org.apache.ratis.metrics.MetricRegistryInfo;
import org.apache.ratis.metrics.RatisMetricRegistry;
import org.apache.ratis.metrics.Timekeeper;
import org.apache.ratis.util.TimeDuration;

import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The metrics Ratis keeps about itself, made cheap: Ratis times every log append, flush, queue wait and append
 * request, and its default implementation ({@code ratis-metrics-default}) feeds each timing into a Dropwizard
 * histogram with an exponentially decaying reservoir, a concurrent skip list insert and often a removal per
 * sample: 7-9 % of a broker's Java CPU under produce load in a profile, for figures nothing reads (Rafka's own
 * metrics are its {@code rafka_*} families). Here a timer is a count and a sum of nanoseconds, a counter an
 * adder, a gauge its supplier: enough to read a mean when debugging.
 *
 * <p>Loaded by Ratis through {@code java.util.ServiceLoader} ({@code META-INF/services}), its documented way to
 * choose the implementation of {@link MetricRegistries}; registries are reference-counted per
 * {@link MetricRegistryInfo} as Ratis expects (each division creates and removes its own). No reporters: JMX and
 * console reporting are not offered.
 */
public final class RatisMetricRegistries extends MetricRegistries {

    private final Map<MetricRegistryInfo, Counted> registries = new ConcurrentHashMap<>();

    private record Counted(Registry registry, int references) {
    }

    @Override
    public void clear() {
        registries.clear();
    }

    @Override
    public RatisMetricRegistry create(MetricRegistryInfo info) {
        return registries.compute(info, (k, old) -> old == null ? new Counted(new Registry(info), 1)
                : new Counted(old.registry, old.references + 1)).registry;
    }

    @Override
    public boolean remove(MetricRegistryInfo info) {
        boolean[] known = {false};
        registries.computeIfPresent(info, (k, old) -> {
            known[0] = true;
            return old.references <= 1 ? null : new Counted(old.registry, old.references - 1);
        });
        return known[0];
    }

    @Override
    public Optional<RatisMetricRegistry> get(MetricRegistryInfo info) {
        return Optional.ofNullable(registries.get(info)).map(Counted::registry);
    }

    @Override
    public Set<MetricRegistryInfo> getMetricRegistryInfos() {
        return Set.copyOf(registries.keySet());
    }

    @Override
    public Collection<RatisMetricRegistry> getMetricRegistries() {
        return registries.values().stream().<RatisMetricRegistry>map(Counted::registry).toList();
    }

    @Override
    public void addReporterRegistration(Consumer<RatisMetricRegistry> reporter, Consumer<RatisMetricRegistry> stop) {
        // no reporters
    }

    @Override
    public void enableJmxReporter() {
        // no JMX reporting of Ratis's internals
    }

    @Override
    public void enableConsoleReporter(TimeDuration consolePeriod) {
        // no console reporting
    }

    /** One component's metrics (a division's log, its appenders, the server): by name, created on first use. */
    static final class Registry implements RatisMetricRegistry {
        private final MetricRegistryInfo info;
        private final Map<String, Object> metrics = new ConcurrentHashMap<>();

        Registry(MetricRegistryInfo info) {
            this.info = info;
        }

        @Override
        public Timekeeper timer(String name) {
            return (Timekeeper) metrics.computeIfAbsent(name, n -> new Timer());
        }

        @Override
        public LongCounter counter(String name) {
            return (LongCounter) metrics.computeIfAbsent(name, n -> new Counter());
        }

        @Override
        public boolean remove(String name) {
            return metrics.remove(name) != null;
        }

        @Override
        public <T> void gauge(String name, Supplier<Supplier<T>> gaugeSupplier) {
            metrics.put(name, gaugeSupplier.get());
        }

        @Override
        public MetricRegistryInfo getMetricRegistryInfo() {
            return info;
        }

        /** The metric of that name: a {@link Timer}, a {@link LongCounter} or a gauge's {@link Supplier}; or null. */
        Object metric(String name) {
            return metrics.get(name);
        }
    }

    /** How many times, and how long in total. */
    static final class Timer implements Timekeeper {
        private final LongAdder count = new LongAdder();
        private final LongAdder nanos = new LongAdder();

        @Override
        public Context time() {
            long start = System.nanoTime();
            return () -> {
                long elapsed = System.nanoTime() - start;
                count.increment();
                nanos.add(elapsed);
                return elapsed;
            };
        }

        long count() {
            return count.sum();
        }

        long totalNanos() {
            return nanos.sum();
        }
    }

    static final class Counter implements LongCounter {
        private final LongAdder value = new LongAdder();

        @Override
        public void inc(long n) {
            value.add(n);
        }

        @Override
        public void dec(long n) {
            value.add(-n);
        }

        @Override
        public long getCount() {
            return value.sum();
        }
    }
}
