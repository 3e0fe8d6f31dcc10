package io.rafka.server.replica;

import io.rafka.metadata.BrokerInfo;
import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.MetadataNode;
import io.rafka.metadata.TopicConfigs;
import io.rafka.metadata.TopicInfo;
import io.rafka.common.TopicPartition;
import io.rafka.log.LogConfig;
import io.rafka.raft.NodeAddress;
import io.rafka.raft.PartitionSpec;
import io.rafka.raft.RaftNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * Makes a broker host exactly the partition replicas the metadata image assigns to it: creates the missing
 * ones (joining their Raft groups) and removes, with their data, the ones the image no longer assigns (a
 * deleted topic, a topic re-created under a new id, a partition reassigned elsewhere), changes the Raft
 * membership of partitions it leads when they were reassigned, and keeps each replica's log settings equal to its
 * topic's configs (applied on top of the broker's defaults). Removal waits until the local image has caught up with
 * the controller's, so a broker that restarts with an old image never deletes data it should keep. Runs after
 * every image change and every second, on one thread, and is idempotent, so a broker that was down during a
 * change, or a controller that failed mid-way, converges on the next pass. A pass over an image whose topics and
 * brokers are those of a pass that found nothing left to do is skipped (only every {@value #SETTLED_RECHECK_MS} ms
 * it runs anyway): with thousands of partitions a pass costs milliseconds of CPU, and a broker whose partitions
 * all hibernate should cost nearly nothing.
 */
public final class PartitionReconciler implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionReconciler.class);
    static final long SETTLED_RECHECK_MS = 30_000;

    private final String brokerId;
    private final LogConfig logDefaults;
    private final RaftNode raftNode;
    private final MetadataNode metadata;
    private final ScheduledExecutorService executor;
    private final AtomicBoolean pending = new AtomicBoolean();
    private final Map<TopicPartition, CompletableFuture<Boolean>> membershipChanges = new ConcurrentHashMap<>();
    private volatile java.util.function.Predicate<TopicPartition> startsHibernated = tp -> false;
    /** The topics and brokers (the image's unchanged maps are shared between images) of the last settled pass. */
    private Map<String, TopicInfo> settledTopics;
    private Map<String, BrokerInfo> settledBrokers;
    private long settledAtNanos;
    /** Full passes run since start; skipped ones are not counted (for tests). */
    private final AtomicLong passes = new AtomicLong();

    public PartitionReconciler(String brokerId, RaftNode raftNode, MetadataNode metadata) {
        this(brokerId, raftNode, metadata, raftNode.config().logConfig());
    }

    /** @param logDefaults the broker's log settings, on which each topic's overrides apply */
    public PartitionReconciler(String brokerId, RaftNode raftNode, MetadataNode metadata, LogConfig logDefaults) {
        this.logDefaults = logDefaults;
        this.brokerId = brokerId;
        this.raftNode = raftNode;
        this.metadata = metadata;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "rafka-reconciler-" + brokerId);
            t.setDaemon(true);
            return t;
        });
        metadata.addListener(image -> schedule());
        executor.scheduleWithFixedDelay(this::reconcile, 1, 1, TimeUnit.SECONDS);
    }

    /**
     * Kafka's auto leader rebalance: every {@code intervalMs}, hands the leaderships this broker holds back to their
     * preferred replicas, for the preferred brokers whose imbalance is above {@code imbalancePercentage}
     * ({@link #imbalancedBrokers}) and that serve ({@code serving}, as Kafka hands back only to live brokers): a
     * restarted broker's Raft replicas catch up while it still starts, and leaderships handed to it then would wait
     * for it to take requests.
     */
    public void rebalanceLeadersEvery(long intervalMs, int imbalancePercentage, Predicate<String> serving) {
        Set<String> notServing = new HashSet<>();   // logged once each, on the executor's one thread
        executor.scheduleWithFixedDelay(() -> {
            try {
                Set<String> imbalanced = serving(imbalancedBrokers(metadata.image(), imbalancePercentage), serving, notServing);
                if (!imbalanced.isEmpty()) {
                    raftNode.electPreferredLeaders(5_000, imbalanced::contains);
                }
            } catch (RuntimeException e) {
                LOG.warn("handing leaderships back to preferred replicas failed (next try in {} ms): {}", intervalMs, e.toString());
            }
        }, intervalMs, intervalMs, TimeUnit.MILLISECONDS);
    }

    /**
     * The brokers of {@code imbalanced} that serve; one that does not is logged once, until it serves
     * ({@code notServing} remembers which were logged).
     */
    static Set<String> serving(Set<String> imbalanced, Predicate<String> serving, Set<String> notServing) {
        Set<String> out = new HashSet<>();
        for (String b : imbalanced) {
            if (serving.test(b)) {
                notServing.remove(b);
                out.add(b);
            } else if (notServing.add(b)) {
                LOG.info("broker {} does not serve (yet): its preferred leaderships are handed back once it does", b);
            }
        }
        return out;
    }

    /**
     * Which partitions may start hibernated: those that also have no published leader (nobody wrote them yet)
     * get their folders only, and their Raft group opens on the first write ({@code RaftNode#createPartition}).
     */
    public void startHibernated(java.util.function.Predicate<TopicPartition> mayHibernate) {
        this.startsHibernated = mayHibernate;
    }

    /**
     * Reconciles soon, once for any number of calls meanwhile. Called by the metadata state machine for each
     * change, also while the broker stops: once {@link #close} has run there is nothing to do.
     */
    private void schedule() {
        if (pending.compareAndSet(false, true)) {
            try {
                executor.execute(() -> {
                    pending.set(false);
                    reconcile();
                });
            } catch (RejectedExecutionException e) {
                pending.set(false);   // closed
            }
        }
    }

    /**
     * The brokers more than {@code percentage} % of whose preferred partitions (they are the first replica) are led
     * by another broker, as the metadata's published leaders say; Kafka's rule for
     * {@code leader.imbalance.per.broker.percentage}. Partitions without a published leader (never written, or
     * between leaders) count as preferred but not as displaced.
     */
    static Set<String> imbalancedBrokers(MetadataImage image, int percentage) {
        Map<String, int[]> counts = new HashMap<>();   // broker -> {preferred, led elsewhere}
        for (TopicInfo t : image.topics().values()) {
            for (int p = 0; p < t.partitionCount(); p++) {
                List<String> replicas = t.assignments().get(p);
                if (replicas.isEmpty()) {
                    continue;
                }
                String preferred = replicas.get(0);
                int[] c = counts.computeIfAbsent(preferred, b -> new int[2]);
                c[0]++;
                MetadataImage.PartitionLeader leader = image.leaders().get(new TopicPartition(t.name(), p));
                if (leader != null && !leader.brokerId().equals(preferred)) {
                    c[1]++;
                }
            }
        }
        Set<String> out = new HashSet<>();
        counts.forEach((broker, c) -> {
            if (c[1] > 0 && (long) c[1] * 100 > (long) percentage * c[0]) {
                out.add(broker);
            }
        });
        return out;
    }

    /** The replicas this broker should host, by partition. */
    static Map<TopicPartition, PartitionSpec> desired(MetadataImage image, String brokerId) {
        Map<TopicPartition, PartitionSpec> out = new HashMap<>();
        for (TopicInfo t : image.topics().values()) {
            for (int p = 0; p < t.partitionCount(); p++) {
                if (t.assignments().get(p).contains(brokerId)) {
                    PartitionSpec spec = spec(image, t, p);
                    if (spec != null) {
                        out.put(spec.topicPartition(), spec);
                    }
                }
            }
        }
        return out;
    }

    /** A partition's replicas with their Raft addresses, or null while one of its brokers is not registered. */
    private static PartitionSpec spec(MetadataImage image, TopicInfo t, int partition) {
        List<String> replicas = t.assignments().get(partition);
        List<NodeAddress> addresses = new ArrayList<>();
        for (String id : replicas) {
            BrokerInfo b = image.brokers().get(id);
            if (b == null) {
                return null;
            }
            addresses.add(new NodeAddress(id, b.host(), b.raftPort()));
        }
        TopicPartition tp = new TopicPartition(t.name(), partition);
        return new PartitionSpec(tp, t.id(), addresses);
    }

    /**
     * Whether the image still assigns this replica here: its topic exists with the same id and lists this broker
     * for the partition. (A replica whose peers are not all registered is kept, never removed.)
     */
    private boolean assignedHere(MetadataImage image, TopicPartition tp, PartitionSpec have) {
        TopicInfo topic = image.topic(tp.topic());
        return topic != null && topic.id().equals(have.topicId()) && tp.partition() < topic.partitionCount()
                && topic.assignments().get(tp.partition()).contains(brokerId);
    }

    /** Full passes over the image run since start (skipped ones not counted). */
    long passes() {
        return passes.get();
    }

    private void reconcile() {
        try {
            boolean caughtUp = metadata.isCaughtUp();
            MetadataImage current = metadata.image();
            if (caughtUp && current.topics() == settledTopics && current.brokers() == settledBrokers
                    && System.nanoTime() - settledAtNanos < TimeUnit.MILLISECONDS.toNanos(SETTLED_RECHECK_MS)) {
                return;  // nothing this pass could change has changed since one that found everything in place
            }
            settledTopics = null;
            settledBrokers = null;
            passes.incrementAndGet();
            boolean settled = caughtUp;
            Map<TopicPartition, PartitionSpec> want = desired(current, brokerId);
            // Removals run side by side: closing a Raft division takes a good part of a second (its threads
            // stop), and one after another a deleted topic of 50 partitions took half a minute to leave a broker.
            List<CompletableFuture<Void>> removals = new ArrayList<>();
            for (TopicPartition tp : caughtUp ? raftNode.partitions() : java.util.Set.<TopicPartition>of()) {
                Optional<PartitionSpec> have = raftNode.spec(tp);
                if (have.isPresent() && !assignedHere(current, tp, have.get())) {
                    if (readyToLeave(current, tp, have.get())) {
                        LOG.info("broker {}: removing replica of {} (no longer assigned here)", brokerId, tp);
                        removals.add(raftNode.removePartition(tp, true));
                    } else {
                        settled = false;  // handing the group over first
                    }
                }
            }
            CompletableFuture.allOf(removals.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            for (PartitionSpec spec : want.values()) {
                Optional<PartitionSpec> have = raftNode.spec(spec.topicPartition());
                if (have.isEmpty()) {
                    TopicPartition tp = spec.topicPartition();
                    boolean hibernated = current.leader(tp) == null && startsHibernated.test(tp);
                    // A published leader on another broker: the group runs there, and this replica joins it.
                    boolean joining = current.leader(tp) != null && !brokerId.equals(current.leader(tp).brokerId());
                    raftNode.createPartition(spec, hibernated, joining).get(30, TimeUnit.SECONDS);
                } else if (caughtUp && have.get().topicId().equals(spec.topicId())) {
                    // A reassignment: the leader changes the group's members; the others record the new list.
                    // Only with a caught-up image: a restarted leader must not revert a newer reassignment.
                    if (!membershipMatches(spec)) {
                        settled = false;
                    }
                } else {
                    settled = false;
                }
            }
            MetadataImage image = metadata.image();
            for (PartitionSpec spec : want.values()) {
                TopicInfo topic = image.topic(spec.topicPartition().topic());
                if (topic != null) {
                    raftNode.updateLogConfig(spec.topicPartition(), TopicConfigs.toLogConfig(topic.configs(), logDefaults));
                }
            }
            if (settled) {
                settledTopics = current.topics();
                settledBrokers = current.brokers();
                settledAtNanos = System.nanoTime();
            }
        } catch (Exception e) {
            LOG.warn("broker {}: reconciling partitions failed, retrying: {}", brokerId, e.toString());
        }
    }

    /**
     * Whether a replica the image no longer assigns here may go now. If the partition still exists (it was
     * reassigned, not deleted) and this replica leads it, it first hands the group over to the new replicas
     * with a membership change, and leaves only once that is done, so the partition never loses its leader's
     * data. A follower leaves once the group's leader runs it without this replica, committed
     * ({@link RaftNode#droppedFromGroup}): until then the old members' majority may still be needed to make the
     * change, and leaving at once lost it where another member was dead or a later list dropped one more.
     */
    private boolean readyToLeave(MetadataImage image, TopicPartition tp, PartitionSpec have) {
        TopicInfo topic = image.topic(tp.topic());
        if (topic == null || !topic.id().equals(have.topicId()) || tp.partition() >= topic.partitionCount()) {
            return true;
        }
        PartitionSpec target = spec(image, topic, tp.partition());
        if (target == null) {
            return false; // a new replica's broker is not registered yet
        }
        boolean leads;
        try {
            leads = raftNode.status(tp).isLeader();
        } catch (RuntimeException e) {
            leads = false;
        }
        if (leads) {
            return membershipMatches(target);
        }
        try {
            MetadataImage.PartitionLeader published = image.leader(tp);
            return raftNode.droppedFromGroup(target, published == null ? null : published.brokerId());
        } catch (IOException | RuntimeException e) {
            LOG.debug("broker {}: could not tell whether {} runs without this replica yet: {}", brokerId, tp, e.toString());
            return false;
        }
    }

    /**
     * Starts, or checks on, changing a partition's Raft membership to {@code spec}'s replicas, without waiting
     * (a change includes new members catching up, which may take long); true once the members match.
     */
    private boolean membershipMatches(PartitionSpec spec) {
        TopicPartition tp = spec.topicPartition();
        CompletableFuture<Boolean> running = membershipChanges.get(tp);
        if (running != null && !running.isDone()) {
            return false;
        }
        membershipChanges.remove(tp);
        CompletableFuture<Boolean> change = raftNode.updateReplicas(spec).exceptionally(e -> {
            LOG.debug("broker {}: replica change of {} failed, retrying: {}", brokerId, tp, e.toString());
            return false;
        });
        if (change.isDone()) {
            return change.join();
        }
        membershipChanges.put(tp, change);
        return false;
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
