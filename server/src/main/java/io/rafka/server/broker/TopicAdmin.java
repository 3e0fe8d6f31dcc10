package io.rafka.server.broker;

import io.rafka.coordinator.GroupConfig;
import io.rafka.common.ErrorCode;
import io.rafka.common.InvalidConfigException;
import io.rafka.common.InvalidRequestException;
import io.rafka.common.NotControllerException;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.common.UnknownTopicOrPartitionException;
import io.rafka.controller.Controller;
import io.rafka.controller.ControllerLogic;
import io.rafka.log.LogConfigKey;
import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.TopicConfigs;
import io.rafka.metadata.TopicInfo;
import io.rafka.metadata.TopicNames;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Topic and cluster administration. Reads (list, describe) are answered from the local metadata image;
 * changes run on the controller, here or forwarded to it through {@link ControllerClient}. Per-topic problems
 * are per-topic results; a request that cannot be understood, or no reachable controller, is thrown as a typed
 * {@link RafkaException}. {@code forwarded} marks a call another broker forwarded: it is not forwarded again,
 * so calls never loop.
 *
 * <p>While the controller is being replaced (crashed, or lost its role mid-call) a call that met no controller is
 * retried, for up to {@value #CONTROLLER_WAIT_MS} ms, on whichever broker becomes the controller. A create is
 * made exactly once however often it is retried: the broker that received it names it with a create id, kept
 * across retries and forwarded with the call, from which each topic's id is derived ({@link #topicId}); an
 * attempt that finds its topic already made with that id (the first attempt committed, its answer was lost)
 * answers it as created.
 */
public final class TopicAdmin {
    private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);
    private static final long CONTROLLER_WAIT_MS = 10_000;
    /** Pause between attempts to reach a controller: the failure detector elects a new one within ~0.5 s. */
    private static final long CONTROLLER_RETRY_MS = 100;
    /** How long a call waits for this broker's view to show what the controller answered it had made. */
    private static final long VIEW_CATCH_UP_MS = 2_000;
    /** Topic creations started by produce or metadata requests and not finished yet, at most. */
    private static final int MAX_PENDING_AUTO_CREATES = 100;
    /** Topic names in one request, at most (metadata, describe, create, delete). */
    public static final int MAX_NAMES_PER_REQUEST = 10_000;
    /** Broker ids named in admin requests (a broker's own id is configured, and short). */
    static final int MAX_BROKER_ID_LENGTH = 255;
    /** The longest replica list a reassignment may name (its brokers must be registered, so it is far shorter). */
    static final int MAX_REPLICAS = 256;

    private final ClusterView view;
    private final Controller controller;
    private final ControllerClient remote;
    private final TopicDefaults defaults;
    private final Supplier<List<ConfigValue>> brokerConfig;
    private final Executor autoCreateExecutor;
    private final Set<String> autoCreating = ConcurrentHashMap.newKeySet();

    /**
     * What a create request that leaves partitions or replication factor at 0 gets, and the shape of
     * {@value GroupConfig#TOPIC} however it is created ({@code group.coordinator.partitions} and
     * {@code group.coordinator.segment.bytes}), and the largest {@code max.message.bytes} a topic may set: what
     * one Raft entry of this broker holds ({@link io.rafka.raft.RaftNodeConfig#maxTopicMessageBytes}).
     */
    public record TopicDefaults(int partitions, int replicationFactor, int coordinatorPartitions, int coordinatorSegmentBytes,
                                int maxTopicMessageBytes) {
    }

    public TopicAdmin(ClusterView view, Controller controller, ControllerClient remote, TopicDefaults defaults,
                      Supplier<List<ConfigValue>> brokerConfig, Executor autoCreateExecutor) {
        this.view = view;
        this.controller = controller;
        this.remote = remote;
        this.defaults = defaults;
        this.brokerConfig = brokerConfig;
        this.autoCreateExecutor = autoCreateExecutor;
    }

    /**
     * Creates a topic with the default partitions and replication factor, in the background (auto-create on
     * produce or metadata). At most one creation per name is under way; failures (a race with another
     * creator, no controller yet) are only logged, as the client retries and asks again.
     */
    public void autoCreate(String name) {
        autoCreate(new NewTopic(name, 0, 0, Map.of()));
    }

    /** {@link #autoCreate(String)} with the partitions, replication factor and configs of {@code topic}. */
    public void autoCreate(NewTopic topic) {
        String name = topic.name();
        if (autoCreating.size() >= MAX_PENDING_AUTO_CREATES || !autoCreating.add(name)) {
            return; // already under way, or too many at once: the client's retry asks again
        }
        try {
            autoCreateExecutor.execute(() -> {
                try {
                    Throwable e = createTopics(List.of(topic), false, null).results().get(0).error();
                    if (e == null || codeOf(e) == ErrorCode.TOPIC_ALREADY_EXISTS) {
                        LOG.info("auto-created topic '{}'", name);
                    } else if (e instanceof RafkaException) {
                        LOG.warn("auto-creating topic '{}' failed: {} {}", name, codeOf(e), e.getMessage());
                    } else {
                        LOG.warn("auto-creating topic '{}' failed unexpectedly", name, e);
                    }
                } catch (RafkaException e) {
                    LOG.debug("auto-create of topic '{}' failed: {}", name, e.toString()); // no controller yet: the client retries
                } catch (RuntimeException e) {
                    LOG.warn("auto-create of topic '{}' failed unexpectedly", name, e);
                } finally {
                    autoCreating.remove(name);
                }
            });
        } catch (RejectedExecutionException e) {
            autoCreating.remove(name); // the broker is stopping
        }
    }

    /** What {@value GroupConfig#TOPIC} always has: its records are the groups' state and must never expire. */
    private static final Map<String, String> INTERNAL_CONFIGS = Map.of(LogConfigKey.RETENTION_MS.topicKey(), "-1",
            LogConfigKey.RETENTION_BYTES.topicKey(), "-1");
    /** Its configs nobody sets: retention, and the record size (the broker's default fits the coordinator's records). */
    private static final Set<String> INTERNAL_FIXED_KEYS = Set.of(LogConfigKey.RETENTION_MS.topicKey(),
            LogConfigKey.RETENTION_BYTES.topicKey(), LogConfigKey.MAX_MESSAGE_BYTES.topicKey());

    /**
     * {@code t}, or for {@value GroupConfig#TOPIC} (whoever creates it: the coordinator at first use, a metadata
     * request's auto-create, an admin) with the configs its records need, the coordinator's partition count and
     * segment size, and the cluster's default replication factor. A create asking for something else would fix them
     * for good: the topic cannot be made smaller, groups map onto its partitions by count, checkpoints free whole
     * segments only, and a client's replication factor of 1 would leave every group's state on one replica.
     */
    private NewTopic withInternalConfigs(NewTopic t) {
        if (!t.name().equals(GroupConfig.TOPIC)) {
            return t;
        }
        Map<String, String> configs = new TreeMap<>(t.configs());
        configs.keySet().removeAll(INTERNAL_FIXED_KEYS);
        configs.putAll(INTERNAL_CONFIGS);
        configs.put(LogConfigKey.SEGMENT_BYTES.topicKey(), Integer.toString(defaults.coordinatorSegmentBytes()));
        return new NewTopic(t.name(), defaults.coordinatorPartitions(), 0, configs);
    }

    /**
     * Refuses what an alteration cannot mean: a key both set and deleted, a key deleted that is no topic config, and
     * any change of the keys the groups' topic must keep.
     */
    private void checkAlteration(String topic, Map<String, String> set, Collection<String> delete) {
        checkMessageBytes(set);
        for (String key : delete) {
            if (set.containsKey(key)) {
                // as Kafka's IncrementalAlterConfigs: which of the two was meant is unknown
                throw new InvalidRequestException(key + " is both set and deleted in one request");
            }
            if (!io.rafka.metadata.TopicConfigs.KEYS.contains(key)) {
                throw new InvalidConfigException(key + " is not a topic config, so it cannot be deleted");
            }
        }
        if (!topic.equals(GroupConfig.TOPIC)) {
            return;
        }
        for (String key : INTERNAL_FIXED_KEYS) {
            if (set.containsKey(key) || delete.contains(key)) {
                throw new InvalidConfigException(key + " of " + topic + " cannot be changed: the topic"
                        + " holds the consumer groups' committed offsets and state, which must not expire or stop fitting");
            }
        }
    }

    /**
     * Refuses a {@code max.message.bytes} above what one Raft entry of this broker holds: the topic would accept the
     * setting and then refuse every batch above that size with RECORD_LIST_TOO_LARGE. A value that does not parse is
     * left to the controller's check, which names it.
     */
    private void checkMessageBytes(Map<String, String> configs) {
        String value = configs.get(TopicConfigs.MAX_MESSAGE_BYTES);
        if (value == null) {
            return;
        }
        long bytes;
        try {
            bytes = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return;
        }
        if (bytes > defaults.maxTopicMessageBytes()) {
            throw new InvalidConfigException(TopicConfigs.MAX_MESSAGE_BYTES + " = " + value.trim() + " is more than one"
                    + " Raft entry of broker " + view.brokerId() + " holds: at most " + defaults.maxTopicMessageBytes()
                    + " bytes; raise message.max.bytes (or raft.write.buffer.bytes, partition.max.in.flight.bytes and"
                    + " message.max.decompressed.bytes) on every broker first");
        }
    }

    private static RafkaException internal(String name) {
        return new io.rafka.common.InvalidTopicException(name + " is internal to the group coordinator (each group maps to"
                + " one of its partitions): it cannot be deleted or grow");
    }

    /** Creates topics, under a fresh create id (a call that is not a forwarded one). */
    public CreateTopicsResult createTopics(List<NewTopic> topics, boolean forwarded) {
        return createTopics(topics, forwarded, null);
    }

    /**
     * Creates topics; {@code createId} is the id the forwarding broker gave this create, or null for a new one.
     */
    public CreateTopicsResult createTopics(List<NewTopic> topics, boolean forwarded, UUID createId) {
        requireAtMost(topics.size(), "topics");
        UUID id = createId != null ? createId : UUID.randomUUID();
        return onController(forwarded, c -> c.createTopics(topics, id), () -> createHere(topics, id));
    }

    /**
     * The create on the controller. Losing the role mid-way fails the whole call with NOT_CONTROLLER, so that
     * it is retried as a whole on the next controller, where the topics made so far answer as made.
     */
    private CreateTopicsResult createHere(List<NewTopic> topics, UUID createId) {
        TopicResult[] results = new TopicResult[topics.size()];
        List<ControllerLogic.CreateTopicRequest> requests = new ArrayList<>();
        List<Integer> asked = new ArrayList<>();
        Set<String> twice = namedTwice(topics.stream().map(NewTopic::name).toList());
        for (int i = 0; i < topics.size(); i++) {
            NewTopic t = withInternalConfigs(topics.get(i));
            try {
                checkMessageBytes(t.configs());
            } catch (InvalidConfigException e) {
                results[i] = new TopicResult(t.name(), e);
                continue;
            }
            if (twice.contains(t.name())) {
                // As Kafka: which of two specs was meant is unknown, so neither is made (and their ids would be one).
                results[i] = new TopicResult(t.name(), new InvalidRequestException("topic '" + t.name()
                        + "' is named more than once in the request"));
                continue;
            }
            requests.add(new ControllerLogic.CreateTopicRequest(t.name(),
                    t.partitions() == 0 ? defaults.partitions() : t.partitions(),
                    t.replicationFactor() == 0 ? defaultReplicationFactor() : t.replicationFactor(), t.configs(),
                    topicId(createId, t.name())));
            asked.add(i);
        }
        List<TopicDescription> created = new ArrayList<>();
        List<Controller.CreateResult> made = controller.createTopics(requests);   // NOT_CONTROLLER fails the call
        for (int k = 0; k < made.size(); k++) {
            Controller.CreateResult r = made.get(k);
            String name = requests.get(k).name();
            if (r.error() != null) {
                results[asked.get(k)] = new TopicResult(name, r.error());
            } else {
                results[asked.get(k)] = new TopicResult(name, null);
                created.add(describe(r.topic()));
            }
        }
        return new CreateTopicsResult(List.of(results), created);
    }

    /** The id topic {@code name} gets in create {@code createId}: the same on every attempt of that create. */
    static UUID topicId(UUID createId, String name) {
        return UUID.nameUUIDFromBytes((createId + "/" + name).getBytes(StandardCharsets.UTF_8));
    }

    private int defaultReplicationFactor() {
        if (defaults.replicationFactor() > 0) {
            return defaults.replicationFactor();
        }
        return Math.max(1, Math.min(3, view.liveBrokers(controller.sessionTimeoutMs()).size()));
    }

    /**
     * Deletes topics. A controller change part-way is retried on the next controller (NOT_CONTROLLER is not a
     * topic's result), where a topic this broker knew when the call began but the controller no longer has counts as
     * deleted: an earlier attempt of this call (or another client) deleted it, and it is gone as asked.
     */
    public List<TopicResult> deleteTopics(List<String> names, boolean forwarded) {
        requireAtMost(names.size(), "topic names");
        Set<String> knownAtStart = new HashSet<>();
        names.forEach(n -> {
            if (view.image().topic(n) != null) {
                knownAtStart.add(n);
            }
        });
        Set<String> twice = namedTwice(names);
        List<TopicResult> results = onController(forwarded, c -> c.deleteTopics(names), () -> {
            List<String> deleting = names.stream().filter(n -> !n.equals(GroupConfig.TOPIC) && !twice.contains(n)).toList();
            Map<String, RuntimeException> refused = new java.util.HashMap<>();
            try {
                List<RafkaException> outcome = controller.deleteTopics(deleting);   // one commit per 1,000 topics
                for (int i = 0; i < deleting.size(); i++) {
                    if (outcome.get(i) != null) {
                        refused.put(deleting.get(i), outcome.get(i));
                    }
                }
            } catch (RuntimeException e) {
                if (codeOf(e) == ErrorCode.NOT_CONTROLLER) {
                    throw e;
                }
                deleting.forEach(n -> refused.put(n, e));   // a timeout, say: each topic's answer (it may be made)
            }
            List<TopicResult> here = new ArrayList<>(names.size());
            for (String name : names) {
                here.add(name.equals(GroupConfig.TOPIC) ? new TopicResult(name, internal(name))
                        : twice.contains(name) ? new TopicResult(name, new InvalidRequestException("topic '" + name
                                + "' is named more than once in the request"))
                        : new TopicResult(name, refused.get(name)));
            }
            return here;
        });
        List<TopicResult> answered = new ArrayList<>(results.size());
        for (TopicResult r : results) {
            boolean goneMeanwhile = r.error() != null && codeOf(r.error()) == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                    && knownAtStart.contains(r.name());
            answered.add(goneMeanwhile ? new TopicResult(r.name(), null) : r);
        }
        return answered;
    }

    /**
     * Adds partitions. A controller change part-way is retried on the next controller, which may find the change made
     * by the attempt whose answer was lost and refuse it (INVALID_PARTITIONS: the topic has that many already). After
     * such a retry, the same topic (same id) with fewer partitions when the call began and exactly the asked count now
     * is the change made, as asked.
     */
    public TopicResult createPartitions(String topic, int totalCount, boolean forwarded) {
        if (topic.equals(GroupConfig.TOPIC)) {
            return new TopicResult(topic, internal(topic));
        }
        TopicInfo atStart = view.image().topic(topic);
        int[] attempts = {0};
        TopicResult result = onController(forwarded, c -> {
            attempts[0]++;
            return c.createPartitions(topic, totalCount);
        }, () -> {
            attempts[0]++;
            return change(topic, () -> controller.createPartitions(topic, totalCount));
        });
        boolean retried = attempts[0] > 1;
        if (retried && atStart != null && atStart.partitionCount() < totalCount && result.error() != null
                && codeOf(result.error()) == ErrorCode.INVALID_PARTITIONS && madeMeanwhile(atStart, totalCount)) {
            return new TopicResult(topic, null);
        }
        return result;
    }

    /** Whether this broker sees {@code before}'s topic (same id) with {@code count} partitions, waiting briefly for its view. */
    private boolean madeMeanwhile(TopicInfo before, int count) {
        long deadline = System.currentTimeMillis() + VIEW_CATCH_UP_MS;
        while (true) {
            TopicInfo now = view.image().topic(before.name());
            if (now == null || !now.id().equals(before.id()) || now.partitionCount() > count) {
                return false;
            }
            if (now.partitionCount() == count) {
                return true;
            }
            if (System.currentTimeMillis() >= deadline || !pause(50)) {
                return false;
            }
        }
    }

    /** Test seam: this admin with its calls to the controller passed through {@code wrap}. */
    TopicAdmin withRemote(java.util.function.UnaryOperator<ControllerClient> wrap) {
        return new TopicAdmin(view, controller, wrap.apply(remote), defaults, brokerConfig, autoCreateExecutor);
    }

    public TopicResult alterConfigs(String topic, Map<String, String> set, Collection<String> delete, boolean forwarded) {
        try {
            checkAlteration(topic, set, delete);
        } catch (RafkaException e) {
            return new TopicResult(topic, e);
        }
        return onController(forwarded, c -> c.alterConfigs(topic, set, delete),
                () -> change(topic, () -> controller.alterConfigs(topic, set, delete)));
    }

    /** A topic's change on the controller; NOT_CONTROLLER fails the whole call, which is then retried on the next one. */
    private static TopicResult change(String topic, Runnable change) {
        try {
            change.run();
            return new TopicResult(topic, null);
        } catch (RuntimeException e) {
            if (codeOf(e) == ErrorCode.NOT_CONTROLLER) {
                throw e;
            }
            return new TopicResult(topic, e);
        }
    }

    /** Answered by the controller: liveness is known only there (heartbeats go to it). */
    public ClusterDescription describeCluster(boolean forwarded) {
        return onController(forwarded, ControllerClient::describeCluster, () -> {
            MetadataImage image = view.image();
            return new ClusterDescription(view.brokerId(), image.version(), List.copyOf(new TreeMap<>(image.brokers()).values()),
                    view.liveBrokers(controller.sessionTimeoutMs()));
        });
    }

    /** Moves a dead broker's replicas (to {@code targetBrokerId}, or spread when null). */
    public List<ControllerLogic.Reassignment> replaceBroker(String brokerId, String targetBrokerId, boolean forwarded) {
        if (brokerId.isEmpty()) {
            throw new InvalidRequestException("broker_id is required");
        }
        if (brokerId.length() > MAX_BROKER_ID_LENGTH || targetBrokerId != null && targetBrokerId.length() > MAX_BROKER_ID_LENGTH) {
            // echoed in the answer: an unbounded one would overflow the client's trailer limit instead of reading as refused
            throw new InvalidRequestException("broker ids are at most " + MAX_BROKER_ID_LENGTH + " characters long");
        }
        return onController(forwarded, c -> c.replaceBroker(brokerId, targetBrokerId),
                () -> controller.replaceBroker(brokerId, targetBrokerId));
    }

    /**
     * Gives partitions new replica lists on the controller ({@link Controller#reassign}): {@code wanted}, or with
     * {@code balance} (and nothing in {@code wanted}) lists that spread the live brokers' replicas evenly.
     */
    public List<ControllerLogic.Reassignment> reassign(List<ControllerLogic.Reassignment> wanted, boolean balance,
                                                       boolean validateOnly, boolean forwarded) {
        if (balance && !wanted.isEmpty()) {
            throw new InvalidRequestException("balance makes its own replica lists: name no partitions with it");
        }
        if (!balance && wanted.isEmpty()) {
            throw new InvalidRequestException("no partitions to reassign (or ask for balance)");
        }
        if (wanted.size() > ControllerLogic.MAX_REASSIGNMENTS_PER_REQUEST) {
            throw new InvalidRequestException(wanted.size() + " partitions in one reassignment; at most "
                    + ControllerLogic.MAX_REASSIGNMENTS_PER_REQUEST);
        }
        for (ControllerLogic.Reassignment w : wanted) {
            if (w.topic().length() > TopicNames.MAX_LENGTH || w.replicas().size() > MAX_REPLICAS
                    || w.replicas().stream().anyMatch(b -> b.length() > MAX_BROKER_ID_LENGTH)) {
                // echoed in the answer: unbounded names would overflow the client's limits instead of reading as refused
                throw new InvalidRequestException("a reassignment names a topic longer than " + TopicNames.MAX_LENGTH
                        + " characters, more than " + MAX_REPLICAS + " replicas, or a broker id longer than "
                        + MAX_BROKER_ID_LENGTH);
            }
        }
        return onController(forwarded, c -> c.reassign(wanted, balance, validateOnly),
                () -> controller.reassign(wanted, balance, validateOnly));
    }

    /**
     * Reserves the next block of producer ids for {@code brokerId} on the controller (see
     * {@link Controller#allocateProducerIds}); returns its first id.
     */
    public long allocateProducerIds(String brokerId, boolean forwarded) {
        if (brokerId.isEmpty()) {
            throw new InvalidRequestException("broker_id is required");
        }
        if (brokerId.length() > MAX_BROKER_ID_LENGTH) {
            throw new InvalidRequestException("broker ids are at most " + MAX_BROKER_ID_LENGTH + " characters long");
        }
        return onController(forwarded, c -> c.allocateProducerIds(brokerId), () -> controller.allocateProducerIds(brokerId));
    }

    /** This broker's id, for the blocks it reserves for itself. */
    public String brokerId() {
        return view.brokerId();
    }

    /** Whether this broker's registration is in the metadata it sees (so the controller's has it too). */
    public boolean registered() {
        return view.image().brokers().containsKey(view.brokerId());
    }

    public List<String> listTopics() {
        return List.copyOf(new TreeMap<>(view.image().topics()).keySet());
    }

    /** The named topics (all when none are named), each described or with UNKNOWN_TOPIC_OR_PARTITION. */
    public List<TopicDescription> describeTopics(List<String> names) {
        requireAtMost(names.size(), "topic names");
        MetadataImage image = view.image();
        Collection<String> wanted = names.isEmpty() ? new TreeMap<>(image.topics()).keySet() : new LinkedHashSet<>(names);
        List<TopicDescription> out = new ArrayList<>(wanted.size());
        for (String name : wanted) {
            TopicInfo t = image.topic(name);
            out.add(t != null ? describe(t) : new TopicDescription(name, "", 0, Map.of(), List.of(),
                    new UnknownTopicOrPartitionException("topic '" + name + "' does not exist")));
        }
        return out;
    }

    /** A topic's effective configs, by name; or, for the empty topic name, the broker's. */
    public record Configs(List<ConfigValue> entries, Throwable error) {
    }

    public Configs describeConfigs(String topic) {
        if (topic.isEmpty()) {
            return new Configs(brokerConfig.get(), null);
        }
        TopicInfo t = view.image().topic(topic);
        if (t == null) {
            return new Configs(List.of(), new UnknownTopicOrPartitionException("topic '" + topic + "' does not exist"));
        }
        List<ConfigValue> entries = new ArrayList<>();
        TopicConfigs.describe(view.logConfig(t)).forEach((k, v) -> entries.add(new ConfigValue(k, v, !t.configs().containsKey(k), "")));
        return new Configs(entries, null);
    }

    TopicDescription describe(TopicInfo t) {
        List<TopicDescription.PartitionDescription> partitions = new ArrayList<>(t.partitionCount());
        for (int p = 0; p < t.partitionCount(); p++) {
            String leader = view.leaderOf(new TopicPartition(t.name(), p)).map(ClusterView.Leader::id).orElse(null);
            partitions.add(new TopicDescription.PartitionDescription(p, t.assignments().get(p), leader));
        }
        return new TopicDescription(t.name(), t.id().toString(), t.replicationFactor(), t.configs(), partitions, null);
    }

    /** The names that occur more than once. */
    private static Set<String> namedTwice(List<String> names) {
        Set<String> seen = new HashSet<>();
        Set<String> twice = new HashSet<>();
        for (String n : names) {
            if (!seen.add(n)) {
                twice.add(n);
            }
        }
        return twice;
    }

    private static void requireAtMost(int count, String what) {
        if (count > MAX_NAMES_PER_REQUEST) {
            throw new InvalidRequestException("at most " + MAX_NAMES_PER_REQUEST + " " + what + " per request");
        }
    }

    private static ErrorCode codeOf(Throwable e) {
        return e instanceof RafkaException r ? r.errorCode() : ErrorCode.UNKNOWN_SERVER_ERROR;
    }

    /**
     * Runs {@code local} if this broker is the controller, else forwards with {@code forward}; a call already
     * forwarded once is not forwarded again.
     */
    private <T> T onController(boolean forwarded, Function<ControllerClient, T> forward, Supplier<T> local) {
        long deadline = System.currentTimeMillis() + CONTROLLER_WAIT_MS;
        for (int attempt = 1; ; attempt++) {
            awaitController(deadline);
            try {
                if (view.isController()) {
                    return local.get();
                }
                if (forwarded) {
                    throw new NotControllerException("broker " + view.brokerId() + " is no longer the controller",
                            view.controllerId().orElse(null));
                }
                return forward.apply(remote);
            } catch (RafkaException e) {
                // A forwarded call is retried by the broker that forwarded it, which owns the deadline.
                long left = deadline - System.currentTimeMillis();
                if (e.errorCode() != ErrorCode.NOT_CONTROLLER || forwarded || left <= 0) {
                    throw e;
                }
                LOG.debug("admin call attempt {} met no controller ({}); retrying", attempt, e.getMessage());
                if (!pause(Math.min(CONTROLLER_RETRY_MS, left))) {
                    throw e;
                }
            }
        }
    }

    /**
     * Waits, up to {@code deadline}, while the metadata group elects a controller, so that admin calls made
     * during an election succeed instead of failing with a retriable NOT_CONTROLLER.
     */
    private void awaitController(long deadline) {
        while (System.currentTimeMillis() < deadline) {
            var id = view.controllerId();
            boolean electing = id.isEmpty() || id.get().equals(view.brokerId()) && !view.isController();
            if (!electing || !pause(50)) {
                return;
            }
        }
    }

    /**
     * Sleeps; false if interrupted (the interrupt is kept for the caller's caller) or if the client's call has ended
     * (its deadline passed, or it went away): nobody waits for the answer, and the thread is better given back.
     */
    private static boolean pause(long ms) {
        if (io.grpc.Context.current().isCancelled()) {
            return false;
        }
        try {
            Thread.sleep(ms);
            return !io.grpc.Context.current().isCancelled();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
