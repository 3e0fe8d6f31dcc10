package io.rafka.client.internals;

import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.grpc.StatusRuntimeException;
import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.MetadataRequest;
import io.rafka.proto.v1.MetadataResponse;
import io.rafka.proto.v1.MetadataServiceGrpc;
import io.rafka.proto.v1.TopicMetadata;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Finds partition leaders for produce and consume. Holds the latest {@link ClusterMetadata} plus the
 * leader hints brokers give with NOT_LEADER: a hint is fresher than any metadata this client has, and
 * following it saves a metadata round trip during a leader change. A refresh drops the hints of the topics it
 * asked about, since the new snapshot is at least as fresh as they were, and keeps what it knew of the others
 * (a member given a partition of a new topic does not lose the leaders of the topics it consumes already).
 *
 * <p>Any broker answers GetMetadata, so a refresh asks the broker that answered last first, then the bootstrap
 * brokers and every broker the last snapshot listed ({@link #candidates}): a client keeps working when its
 * bootstrap broker dies mid-run, and one that starts while the first bootstrap broker is down uses the next.
 * Thread-safe: the snapshot is replaced whole (refreshes merge their answers into it one at a time) and the hints
 * are a concurrent map (a hint given while a refresh runs may be dropped by it: one more NOT_LEADER round trip).
 */
public final class MetadataClient {

    /** GetMetadata is answered from the broker's local replica of the metadata: it never waits long. */
    public static final long RPC_DEADLINE_MS = 10_000;
    /** Topic names per GetMetadata (brokers take up to 10,000): a refresh of more topics asks in parts. */
    static final int MAX_TOPICS_PER_REQUEST = 1_000;

    private final ChannelPool channels;
    private final List<BrokerAddress> bootstrap;
    private final Time time;
    /** The broker that answered the last refresh: asked first next time (a broker that hangs costs one deadline). */
    private volatile BrokerAddress lastAnswered;
    private final long retryTimeoutMs;
    private final Map<TopicPartition, BrokerAddress> leaderHints = new ConcurrentHashMap<>();
    /** Replaced whole by a refresh: readers on other threads (a producer's gRPC threads) see one or the other. */
    private volatile ClusterMetadata current = ClusterMetadata.EMPTY;

    public MetadataClient(ChannelPool channels, BrokerAddress bootstrap, Time time, long retryTimeoutMs) {
        this(channels, List.of(bootstrap), time, retryTimeoutMs);
    }

    /** @param bootstrap the brokers to ask before any metadata is known (at least one) */
    public MetadataClient(ChannelPool channels, List<BrokerAddress> bootstrap, Time time, long retryTimeoutMs) {
        if (bootstrap.isEmpty()) {
            throw new IllegalArgumentException("no bootstrap broker");
        }
        this.channels = channels;
        this.bootstrap = List.copyOf(bootstrap);
        this.time = time;
        this.retryTimeoutMs = retryTimeoutMs;
    }

    /**
     * Fetches fresh metadata for {@code topics}.
     *
     * @throws ClientException the last broker's failure when none answered (retriable), or the first
     *                      non-retriable failure
     */
    public ClusterMetadata refresh(List<String> topics, boolean allowAutoCreate) {
        return refresh(topics, allowAutoCreate, Long.MAX_VALUE);
    }

    /**
     * {@link #refresh(List, boolean)}, giving up at {@code deadlineNanos} ({@code System.nanoTime()}): no call waits
     * past it, however many brokers there are to ask.
     */
    public ClusterMetadata refresh(List<String> topics, boolean allowAutoCreate, long deadlineNanos) {
        MetadataResponse.Builder answer = null;
        for (int from = 0; from < topics.size() || answer == null; from += MAX_TOPICS_PER_REQUEST) {
            MetadataResponse part = ask(MetadataRequest.newBuilder()
                    .addAllTopics(topics.subList(from, Math.min(topics.size(), from + MAX_TOPICS_PER_REQUEST)))
                    .setAllowAutoTopicCreation(allowAutoCreate)
                    .build(), deadlineNanos);
            if (answer == null) {
                answer = part.toBuilder();
            } else {
                // the brokers of the newest part (the view of a later moment), the topics of every part
                answer.clearBrokers().addAllBrokers(part.getBrokersList()).addAllTopics(part.getTopicsList());
            }
        }
        synchronized (this) {   // refreshes of other threads (an admin client's calls) merge one after the other
            ClusterMetadata fresh = ClusterMetadata.of(answer.build()).over(current, topics);
            current = fresh;
            if (topics.isEmpty()) {
                leaderHints.clear();
            } else {
                Set<String> refreshed = Set.copyOf(topics);
                leaderHints.keySet().removeIf(tp -> refreshed.contains(tp.topic()));
            }
            return fresh;
        }
    }

    /** One GetMetadata, from the first candidate broker that answers before the deadline. */
    private MetadataResponse ask(MetadataRequest request, long deadlineNanos) {
        ClientException failure = null;
        for (BrokerAddress address : candidates()) {
            long leftMs = deadlineNanos == Long.MAX_VALUE ? RPC_DEADLINE_MS
                    : TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
            if (leftMs <= 0) {
                break;
            }
            try {
                MetadataResponse response = MetadataServiceGrpc.newBlockingStub(channels.channel(address))
                        .withDeadlineAfter(Math.min(leftMs, RPC_DEADLINE_MS), TimeUnit.MILLISECONDS)
                        .getMetadata(request);
                lastAnswered = address;
                return response;
            } catch (StatusRuntimeException e) {
                failure = ClientException.fromStatus(e, address);
                if (!failure.retriable()) {
                    throw failure;
                }
            }
        }
        throw failure != null ? failure : ClientException.of(ErrorCode.REQUEST_TIMED_OUT, "no metadata before the deadline");
    }

    /**
     * {@link #refresh(List, boolean)}, retried while no broker answers (or another retriable failure), for up to the
     * retry timeout: a client started while the cluster is still coming up waits for it, as Kafka's do.
     */
    public ClusterMetadata refreshRetrying(List<String> topics, boolean allowAutoCreate) {
        RetryState retry = new RetryState(time, retryTimeoutMs);
        while (true) {
            try {
                return refresh(topics, allowAutoCreate);
            } catch (ClientException e) {
                if (!e.retriable()) {
                    throw e;
                }
                retry.backOff(retry.onFailure(e));
            }
        }
    }

    /**
     * Waits until the topic exists and has partitions, retrying while it is being created (the first
     * produce to a new topic auto-creates it) or while no broker answers, for up to the retry timeout.
     *
     * @throws ClientException a non-retriable topic error (INVALID_TOPIC, ...) or the last retriable one
     */
    public TopicMetadata awaitTopic(String topic, boolean allowAutoCreate) {
        RetryState retry = new RetryState(time, retryTimeoutMs);
        while (true) {
            ClientException failure;
            try {
                TopicMetadata metadata = refresh(List.of(topic), allowAutoCreate).topic(topic)
                        .orElseThrow(() -> ClientException.of(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                                "topic " + topic + " is not in the metadata"));
                if (metadata.getErrorCode() != ErrorCode.NONE) {
                    throw ClientException.of(metadata.getErrorCode(), metadata.getErrorCodeValue(),
                            "topic " + topic, metadata.getErrorMessage());
                }
                if (metadata.getPartitionsCount() > 0) {
                    return metadata;
                }
                failure = ClientException.of(ErrorCode.LEADER_NOT_AVAILABLE, "topic " + topic + " has no partitions yet");
            } catch (ClientException e) {
                if (!e.retriable()) {
                    throw e;
                }
                failure = e;
            }
            retry.backOff(retry.onFailure(failure));
        }
    }

    /**
     * Brokers to ask a question any broker answers, in order: the one that answered the last refresh, the
     * bootstrap brokers, then the others the latest metadata listed.
     */
    public List<BrokerAddress> candidates() {
        Set<BrokerAddress> all = new LinkedHashSet<>();
        BrokerAddress last = lastAnswered;
        if (last != null) {
            all.add(last);
        }
        all.addAll(bootstrap);
        all.addAll(current.brokers());
        return List.copyOf(all);
    }

    /** The brokers the latest metadata listed (empty before the first refresh). */
    public Collection<BrokerAddress> knownBrokers() {
        return current.brokers();
    }

    /** The partition's leader: the latest hint, else the latest metadata; empty when neither knows. */
    public Optional<BrokerAddress> leader(TopicPartition tp) {
        BrokerAddress hint = leaderHints.get(tp);
        return hint != null ? Optional.of(hint) : current.leader(tp);
    }

    /**
     * Remembers the leader a NOT_LEADER answer named. Returns false when the answer named none, in which
     * case the caller should refresh the metadata instead.
     */
    public boolean leaderHint(TopicPartition tp, boolean hasLeader, Broker leader) {
        if (!hasLeader || leader.getHost().isEmpty() || leader.getPort() <= 0) {
            return false;
        }
        leaderHints.put(tp, BrokerAddress.of(leader));
        return true;
    }
}
