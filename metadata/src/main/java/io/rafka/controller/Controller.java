package io.rafka.controller;

import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.MetadataNode;
import io.rafka.metadata.MetadataRecord;
import io.rafka.metadata.TopicInfo;
import io.rafka.common.NotControllerException;
import io.rafka.common.RafkaException;
import io.rafka.log.LogConfig;
import io.rafka.controller.ControllerLogic.CreateTopicRequest;

import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The controller role of a broker: active while its {@link MetadataNode} leads the metadata group. Each
 * operation validates against the current image, decides with {@link ControllerLogic}, and commits the
 * resulting records through Raft; operations are serialized, so each decision sees the previous one's result.
 * A topic's creation is one record, so a controller that fails mid-way either created the whole topic or
 * none of it; brokers create and remove partition groups by reconciling with the image
 * (the brokers' partition reconcilers), so nothing is left half-done either.
 */
public final class Controller {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Controller.class);
    private final MetadataNode metadata;
    private final LogConfig defaults;
    private final long sessionTimeoutMs;
    private final int maxPartitionsPerBroker;
    private final long commitTimeoutMs;
    private final Random random = new SecureRandom();
    /**
     * The newest change that did not commit within {@link #commitTimeoutMs} and may still: the next decision waits
     * for it, since it is in the log but not in the image a decision reads (adding partitions twice, or undoing a
     * config change, otherwise).
     */
    private CompletableFuture<Void> unsettled = CompletableFuture.completedFuture(null);

    /**
     * @param maxPartitionsPerBroker partition replicas the controller places on one broker at most (creating topics or
     *                               partitions, replacing a broker)
     */
    public Controller(MetadataNode metadata, LogConfig defaults, long sessionTimeoutMs, int maxPartitionsPerBroker) {
        this(metadata, defaults, sessionTimeoutMs, maxPartitionsPerBroker, COMMIT_TIMEOUT_MS);
    }

    /** @param commitTimeoutMs how long a change may take to commit before the call fails with REQUEST_TIMED_OUT */
    public Controller(MetadataNode metadata, LogConfig defaults, long sessionTimeoutMs, int maxPartitionsPerBroker,
                      long commitTimeoutMs) {
        this.metadata = metadata;
        this.defaults = defaults;
        this.sessionTimeoutMs = sessionTimeoutMs;
        this.maxPartitionsPerBroker = maxPartitionsPerBroker;
        this.commitTimeoutMs = commitTimeoutMs;
    }

    static final long COMMIT_TIMEOUT_MS = 30_000;

    /** How long a broker may stay silent and still count as alive. */
    public long sessionTimeoutMs() {
        return sessionTimeoutMs;
    }

    /** Partitions whose topics one metadata entry creates at most (a topic larger than that has an entry alone). */
    static final int PARTITIONS_PER_COMMIT = 10_000;
    /** Topics deleted per metadata entry, at most. */
    static final int TOPICS_PER_DELETE = 1_000;

    /** A topic created (as it is now), or the error that kept it from being made. */
    public record CreateResult(TopicInfo topic, RafkaException error) {
    }

    public synchronized TopicInfo createTopic(CreateTopicRequest request) {
        CreateResult result = createTopics(List.of(request)).get(0);
        if (result.error() != null) {
            throw result.error();
        }
        return result.topic();
    }

    /**
     * Creates topics, each decided against the image with the ones before it (placement, the per-broker replica
     * limit), in as few metadata entries as {@value #PARTITIONS_PER_COMMIT} partitions per entry allow, then
     * rebalances preferred leaders once: a request of thousands of topics costs a few Raft commits, not two per
     * topic. A topic refused (bad name, exists, limit) fails alone; losing the controller role fails the call
     * (NOT_CONTROLLER: what committed is found made on a retry with the same topic ids); an entry that does not
     * commit in time fails its topics with REQUEST_TIMED_OUT (they may still be made).
     */
    public synchronized List<CreateResult> createTopics(List<CreateTopicRequest> requests) {
        CreateResult[] results = new CreateResult[requests.size()];
        int[] next = {0};
        while (next[0] < requests.size()) {
            List<Integer> deciding = new java.util.ArrayList<>();
            try {
                commit(image -> {
                    Set<String> live = metadata.liveBrokers(sessionTimeoutMs);
                    List<MetadataRecord> records = new java.util.ArrayList<>();
                    MetadataImage after = image;
                    long partitions = 0;
                    for (; next[0] < requests.size() && (records.isEmpty() || partitions < PARTITIONS_PER_COMMIT); next[0]++) {
                        CreateTopicRequest request = requests.get(next[0]);
                        try {
                            List<MetadataRecord> topic = withinBrokerLimit(after,
                                    ControllerLogic.createTopic(after, live, request, defaults, random));
                            for (MetadataRecord r : topic) {
                                after = after.apply(r);
                            }
                            records.addAll(topic);
                            partitions += request.partitions();
                            deciding.add(next[0]);
                        } catch (RuntimeException e) {
                            results[next[0]] = new CreateResult(null, asRafkaException(e));
                        }
                    }
                    return records;
                });
            } catch (NotControllerException e) {
                throw e;
            } catch (RuntimeException e) {
                RafkaException error = asRafkaException(e);
                if (deciding.isEmpty()) {
                    // Failed before anything was decided (an earlier change still not settled): going round again
                    // would wait for it once more, and for as long as it stays unsettled, holding the controller.
                    for (int i = next[0]; i < requests.size(); i++) {
                        if (results[i] == null) {
                            results[i] = new CreateResult(null, error);
                        }
                    }
                    break;
                }
                deciding.forEach(i -> results[i] = new CreateResult(null, error));
                continue;
            }
            MetadataImage image = metadata.image();
            deciding.forEach(i -> results[i] = new CreateResult(image.topic(requests.get(i).name()), null));
        }
        if (java.util.Arrays.stream(results).anyMatch(r -> r != null && r.error() == null)) {
            rebalanceAfterChange();
        }
        return List.of(results);
    }

    private static RafkaException asRafkaException(RuntimeException e) {
        return e instanceof RafkaException r ? r : new RafkaException(io.rafka.common.ErrorCode.UNKNOWN_SERVER_ERROR, e.toString());
    }

    public synchronized TopicInfo createPartitions(String topic, int newTotal) {
        commit(image -> withinBrokerLimit(image, ControllerLogic.createPartitions(image, metadata.liveBrokers(sessionTimeoutMs),
                topic, newTotal, random)));
        rebalanceAfterChange();
        return metadata.image().topic(topic);
    }

    private List<MetadataRecord> withinBrokerLimit(MetadataImage image, List<MetadataRecord> records) {
        ControllerLogic.checkReplicasPerBroker(image, records, maxPartitionsPerBroker);
        return records;
    }

    public synchronized void deleteTopic(String topic) {
        RafkaException refused = deleteTopics(List.of(topic)).get(0);
        if (refused != null) {
            throw refused;
        }
    }

    /**
     * Deletes topics in one metadata entry per {@value #TOPICS_PER_DELETE}, then rebalances preferred leaders once (a
     * topic at a time, deleting a thousand topics took up to two thousand Raft commits). Returns, per topic, why it
     * was not deleted (an unknown topic), or null; a commit that fails (the controller role lost, a timeout) fails
     * the call.
     */
    public synchronized List<RafkaException> deleteTopics(List<String> topics) {
        RafkaException[] refused = new RafkaException[topics.size()];
        // At most TOPICS_PER_DELETE per entry: 10,000 names of 249 characters would make one entry of 2.5 MB.
        for (int from = 0; from < topics.size(); from += TOPICS_PER_DELETE) {
            int start = from;
            int end = Math.min(topics.size(), from + TOPICS_PER_DELETE);
            commit(image -> {
                List<MetadataRecord> records = new java.util.ArrayList<>();
                for (int i = start; i < end; i++) {
                    try {
                        records.addAll(ControllerLogic.deleteTopic(image, topics.get(i)));
                        refused[i] = null;
                    } catch (RafkaException e) {
                        refused[i] = e;
                    }
                }
                return records;
            });
        }
        if (java.util.Arrays.stream(refused).anyMatch(java.util.Objects::isNull)) {
            rebalanceAfterChange();
        }
        return java.util.Arrays.asList(refused);
    }

    public synchronized void alterConfigs(String topic, Map<String, String> configs) {
        commit(image -> ControllerLogic.alterConfigs(image, topic, configs, defaults));
    }

    /**
     * Sets and removes some of a topic's config overrides, merged with the current ones inside the commit,
     * so concurrent alterations of different keys do not undo each other.
     */
    public synchronized void alterConfigs(String topic, Map<String, String> set, java.util.Collection<String> delete) {
        commit(image -> {
            TopicInfo t = image.topic(topic); // a missing topic is refused by ControllerLogic.alterConfigs
            Map<String, String> configs = new java.util.HashMap<>(t == null ? Map.of() : t.configs());
            delete.forEach(configs::remove);
            configs.putAll(set);
            return ControllerLogic.alterConfigs(image, topic, configs, defaults);
        });
    }

    /**
     * Replaces a broker's replicas (see {@link ControllerLogic#replaceBroker}); the partitions that could be
     * moved are committed in one metadata entry, then preferred leaders are rebalanced.
     */
    public synchronized List<ControllerLogic.Reassignment> replaceBroker(String brokerId, String target) {
        List<ControllerLogic.Reassignment> result = new java.util.ArrayList<>();
        commit(image -> {
            result.clear();
            result.addAll(ControllerLogic.replaceBroker(image, metadata.liveBrokers(sessionTimeoutMs), brokerId, target));
            return withinBrokerLimit(image, result.stream().filter(r -> r.error() == null)
                    .<MetadataRecord>map(r -> new MetadataRecord.ReassignReplicas(r.topic(), r.partition(), r.replicas())).toList());
        });
        rebalanceAfterChange();
        return result;
    }

    /**
     * Gives partitions new replica lists ({@link ControllerLogic#reassign}), or with {@code balance} the lists of
     * {@link ControllerLogic#balanceReplicas}; the lists that pass are committed in one metadata entry (none with
     * {@code validateOnly}), then preferred leaders are rebalanced. The brokers move the data from there.
     */
    public synchronized List<ControllerLogic.Reassignment> reassign(List<ControllerLogic.Reassignment> wanted, boolean balance,
                                                                    boolean validateOnly) {
        List<ControllerLogic.Reassignment> result = new java.util.ArrayList<>();
        commit(image -> {
            result.clear();
            java.util.Set<String> live = metadata.liveBrokers(sessionTimeoutMs);
            result.addAll(balance ? ControllerLogic.balanceReplicas(image, live) : ControllerLogic.reassign(image, live, wanted));
            List<MetadataRecord> records = withinBrokerLimit(image, result.stream()
                    .filter(r -> r.error() == null && !r.replicas().equals(image.topic(r.topic()).assignments().get(r.partition())))
                    .<MetadataRecord>map(r -> new MetadataRecord.ReassignReplicas(r.topic(), r.partition(), r.replicas())).toList());
            return validateOnly ? List.of() : records;
        });
        if (!validateOnly) {
            rebalanceAfterChange();
        }
        return result;
    }

    /**
     * Reserves the next block of producer ids for {@code brokerId} and returns its first id (the block has
     * {@link ControllerLogic#PRODUCER_ID_BLOCK_SIZE} ids). The block is committed to the metadata log before
     * it is returned, so no other broker, and no later controller, ever hands out the same ids.
     */
    public synchronized long allocateProducerIds(String brokerId) {
        long[] first = {-1};
        commit(image -> {
            List<MetadataRecord> records = ControllerLogic.allocateProducerIds(image, brokerId);
            first[0] = ((MetadataRecord.AllocateProducerIds) records.get(0)).firstProducerId();
            return records;
        });
        long next = metadata.image().nextProducerId();
        if (next != first[0] + ControllerLogic.PRODUCER_ID_BLOCK_SIZE) {
            // Only this (serialized) controller allocates: anything else means the record was not applied as decided.
            throw new RafkaException(io.rafka.common.ErrorCode.NOT_CONTROLLER,
                    "producer id block at " + first[0] + " was not applied (next free id is " + next + "); retry");
        }
        return first[0];
    }

    /**
     * The rebalance that follows a committed change: it may fail (the role lost, a slow commit) without the change
     * failing, which is made; preferred leaderships then stay as they were until the next change rebalances them.
     */
    private void rebalanceAfterChange() {
        try {
            rebalance();
        } catch (RuntimeException e) {
            LOG.warn("preferred leaders not rebalanced after a metadata change (the next change will): {}", e.toString());
        }
    }

    /** Moves preferred leaderships so live brokers lead within one partition of each other. */
    public synchronized void rebalance() {
        commit(image -> ControllerLogic.balanceLeaders(image, metadata.liveBrokers(sessionTimeoutMs)));
    }

    private void commit(Function<MetadataImage, List<MetadataRecord>> decide) {
        if (!metadata.isController()) {
            throw new NotControllerException("this broker is not the controller", metadata.controllerId().orElse(null));
        }
        awaitUnsettled();
        List<MetadataRecord> records = decide.apply(metadata.image());
        if (records.isEmpty()) {
            return;
        }
        CompletableFuture<Void> submitted = metadata.submitAsController(records);
        try {
            submitted.get(commitTimeoutMs, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause() instanceof CompletionException c && c.getCause() != null ? c.getCause() : e.getCause();
            if (cause instanceof RafkaException r) {
                throw r;
            }
            throw new IllegalStateException("metadata commit failed", cause);
        } catch (java.util.concurrent.TimeoutException e) {
            // Retriable: the records may still commit, as with a produce that timed out.
            unsettled = submitted;
            throw new RafkaException(io.rafka.common.ErrorCode.REQUEST_TIMED_OUT, "the metadata change was not committed"
                    + " within " + commitTimeoutMs + " ms; it may still be made", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("metadata commit did not finish", e);
        }
    }

    /**
     * Waits (up to the commit timeout) for a change that timed out to commit or fail: its outcome is then in the
     * image. Ratis settles every submitted change, applied or failed when the leadership moves.
     */
    private void awaitUnsettled() {
        try {
            unsettled.get(commitTimeoutMs, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException settledByFailing) {
            // not made: nothing to wait for
        } catch (java.util.concurrent.TimeoutException e) {
            throw new RafkaException(io.rafka.common.ErrorCode.REQUEST_TIMED_OUT, "an earlier metadata change is still"
                    + " not committed; no change is decided until it is, or it could be made twice: retry", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while an earlier metadata change settles", e);
        }
    }
}
