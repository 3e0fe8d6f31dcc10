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
 *
 * <p>One of Ratis's counters is also summed per server, for as long as the JVM runs (a division's registry goes
 * when the division closes or its leader steps down): the INCONSISTENCY answers a leader's log appenders got from
 * followers, i.e. appends a follower refused because they did not fit its log ({@link #followerRefusals}).
 */
public final class RatisMetricRegistries extends MetricRegistries {
    /** Ratis's per-follower counter of INCONSISTENCY answers ({@code GrpcServerMetrics}). */
    private static final String INCONSISTENCY_REPLIES = "_inconsistency_reply_count";
    private static final Map<String, LongAdder> FOLLOWER_REFUSALS = new ConcurrentHashMap<>();

    private final Map<MetricRegistryInfo, Counted> registries = new ConcurrentHashMap<>();

    private record Counted(Registry registry, int references) {
    }

    /**
     * Appends the followers of Raft server {@code serverId}'s leaders refused as not fitting their logs (Ratis's
     * INCONSISTENCY answer, after which the leader re-sends from the follower's next index), since this JVM started.
     * A follower that keeps refusing is not catching up.
     */
    public static long followerRefusals(String serverId) {
        LongAdder sum = FOLLOWER_REFUSALS.get(serverId);
        return sum == null ? 0 : sum.sum();
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
            return (LongCounter) metrics.computeIfAbsent(name, n -> n.endsWith(INCONSISTENCY_REPLIES)
                    ? new Counter(FOLLOWER_REFUSALS.computeIfAbsent(serverOf(info), s -> new LongAdder()))
                    : new Counter(null));
        }

        /** The Raft server a registry belongs to: its prefix is the server's id or a member id, "server@group". */
        private static String serverOf(MetricRegistryInfo info) {
            String prefix = info.getPrefix();
            int at = prefix.indexOf('@');
            return at < 0 ? prefix : prefix.substring(0, at);
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
        /** A sum this counter also adds to, or null. */
        private final LongAdder alsoTo;

        Counter(LongAdder alsoTo) {
            this.alsoTo = alsoTo;
        }

        @Override
        public void inc(long n) {
            value.add(n);
            if (alsoTo != null) {
                alsoTo.add(n);
            }
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
