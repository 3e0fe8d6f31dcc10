package io.rafka.client.producer.internals;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.ClientException;
import io.rafka.client.internals.ClusterMetadata;
import io.rafka.client.internals.MetadataClient;
import io.rafka.client.producer.ProducerException;
import io.rafka.common.ErrorCode;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.InitProducerIdRequest;
import io.rafka.proto.v1.InitProducerIdResponse;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.proto.v1.TopicMetadata;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The producer's view of the cluster: partition counts of the topics it sends to, their leaders (with the
 * leader hints of NOT_LEADER answers, fresher than any metadata), the channels to brokers, and producer ids.
 * Uses the CLI's {@link MetadataClient}, which is not thread-safe, twice: one for the I/O thread's leaders and
 * refreshes (this object's monitor), one for callers of {@code send} waiting for a new topic ({@link #lookupLock}),
 * so that a caller waiting for a topic that does not exist yet never holds up the I/O thread.
 */
public final class ProducerMetadata implements AutoCloseable {
    /** Pause between metadata attempts while a topic is being created or a leader elected. */
    private static final long RETRY_PAUSE_MS = 50;
    /** A topic not sent to for this long leaves the refreshes at least (Kafka's {@code metadata.max.idle.ms}). */
    public static final long MIN_TOPIC_IDLE_MS = 5 * 60_000;

    private final ChannelPool channels;
    private final boolean ownsChannels;
    private final MetadataClient client;
    private final MetadataClient lookupClient;
    private final java.util.concurrent.locks.ReentrantLock lookupLock = new java.util.concurrent.locks.ReentrantLock();
    private final List<BrokerAddress> bootstrap;
    private final Map<String, PartitionCount> partitionCounts = new java.util.concurrent.ConcurrentHashMap<>();
    /** The topics in use (known to exist), with when each was last sent to ({@code System.nanoTime()}). */
    private final Map<String, Long> lastSent = new java.util.concurrent.ConcurrentHashMap<>();
    private final long topicIdleNanos;
    private final Object refreshLock = new Object();

    /**
     * @param ownsChannels whether {@link #close} closes {@code channels}
     * @param topicIdleMs  a topic not sent to for this long is dropped from the refreshes (longer than a record
     *                     may wait for its answer, so no batch of it is still waiting for a leader)
     */
    public ProducerMetadata(List<BrokerAddress> bootstrap, ChannelPool channels, boolean ownsChannels, long topicIdleMs) {
        this.topicIdleNanos = TimeUnit.MILLISECONDS.toNanos(topicIdleMs);
        this.channels = channels;
        this.ownsChannels = ownsChannels;
        this.bootstrap = List.copyOf(bootstrap);
        this.client = new MetadataClient(channels, bootstrap, Time.SYSTEM, 0);
        this.lookupClient = new MetadataClient(channels, bootstrap, Time.SYSTEM, 0);
    }

    /**
     * The topic's partition count, asking the cluster (auto-creating the topic if the brokers allow it) until
     * {@code deadlineNanos}.
     *
     * @throws ProducerException a non-retriable topic error at once (INVALID_TOPIC, ...), or the last retriable
     *         one (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, ...) at the deadline
     */
    public int partitionCount(String topic, long deadlineNanos) {
        return partitionCount(topic, -1, deadlineNanos);
    }

    /**
     * The topic's partition count once it has partition {@code partition}: a count learnt before that does not is
     * looked up again until {@code deadlineNanos} (partitions added to the topic since; as Kafka's producer waits for
     * them up to max.block.ms), then UNKNOWN_TOPIC_OR_PARTITION.
     */
    public int partitionCount(String topic, int partition, long deadlineNanos) {
        PartitionCount known = partitionCounts.get(topic);
        if (known != null && known.partitions() > partition) {
            lastSent.put(topic, System.nanoTime());
            return known.partitions();
        }
        ClientException failure = null;
        boolean answered = false;  // failure is a broker's answer, not a lookup that failed
        while (true) {
            if (failure != null && System.nanoTime() - deadlineNanos >= 0) {
                throw toProducerException(failure, " (gave up after max.block.ms)");
            }
            try {
                TopicMetadata t;
                long leftNanos = deadlineNanos - System.nanoTime();
                if (!lookupLock.tryLock(Math.max(0, leftNanos), TimeUnit.NANOSECONDS)) {
                    throw ClientException.of(io.rafka.proto.v1.ErrorCode.REQUEST_TIMED_OUT, "another send is looking "
                            + "up a topic and the cluster is slow to answer");
                }
                try {
                    t = lookupClient.refresh(List.of(topic), true, deadlineNanos).topic(topic).orElse(null);
                } finally {
                    lookupLock.unlock();
                }
                ClientException answer = t == null ? ClientException.of(io.rafka.proto.v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, topic)
                        : t.getErrorCode() != io.rafka.proto.v1.ErrorCode.NONE
                        ? ClientException.of(t.getErrorCode(), t.getErrorCodeValue(), "topic " + topic, t.getErrorMessage())
                        : t.getPartitionsCount() == 0
                        ? ClientException.of(io.rafka.proto.v1.ErrorCode.LEADER_NOT_AVAILABLE, "topic " + topic + " has no partitions yet")
                        : null;
                if (answer == null) {
                    lastSent.put(topic, System.nanoTime());
                    int count = partitionCounts.merge(topic, PartitionCount.of(t), PartitionCount::then).partitions();
                    if (count > partition) {
                        return count;
                    }
                    answer = ClientException.of(io.rafka.proto.v1.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "topic " + topic
                            + " has " + count + " partitions (0 to " + (count - 1) + "): there is no partition " + partition);
                }
                failure = answer;
                answered = true;
            } catch (ClientException e) {
                // A broker's answer before (the topic has too few partitions) says more than a lookup that failed or
                // ran out of time after it; so does an earlier failure once past the deadline.
                if (failure == null || !answered && System.nanoTime() - deadlineNanos < 0) {
                    failure = e;
                }
                channels.resetConnectBackoff();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ProducerException(ErrorCode.REQUEST_TIMED_OUT, "interrupted while waiting for metadata", e);
            }
            if (!failure.retriable()) {
                throw toProducerException(failure, "");
            }
            pause(RETRY_PAUSE_MS);
        }
    }

    /**
     * Fresh metadata for every topic in use (sent to within the idle time: those not are forgotten, and looked up
     * again if sent to later); a failure is left for the next round's errors to tell. One refresh at a time, under
     * a lock of its own: readers of leaders ({@link #leader}, {@link #hint}, called under the accumulator's lock)
     * never wait for its RPCs.
     */
    public void refresh() {
        synchronized (refreshLock) {
            refreshOnce();
        }
    }

    private void refreshOnce() {
        long now = System.nanoTime();
        lastSent.forEach((topic, at) -> {
            if (now - at > topicIdleNanos && lastSent.remove(topic, at)) {
                partitionCounts.remove(topic);
            }
        });
        if (lastSent.isEmpty()) {
            return;
        }
        try {
            refreshLocked(new ArrayList<>(lastSent.keySet()), false);
        } catch (ClientException e) {
            // no broker answered: the sender retries, and its batches expire at their delivery timeout
            channels.resetConnectBackoff();
        }
    }

    private void refreshLocked(List<String> topics, boolean allowAutoCreate) {
        ClusterMetadata m = client.refresh(topics, allowAutoCreate);
        for (String topic : topics) {
            m.topic(topic).filter(t -> t.getPartitionsCount() > 0)
                    .ifPresent(t -> partitionCounts.merge(topic, PartitionCount.of(t), PartitionCount::then));
        }
    }

    /**
     * A topic's partition count as last learnt, with the id of the topic it counts. Within one topic (one id) it
     * only grows: partitions are never removed, and a broker whose metadata lags behind a CreatePartitions may still
     * answer the smaller count. A topic deleted and created again under the same name has another id, and its count
     * replaces the old one whatever it is.
     */
    record PartitionCount(String topicId, int partitions) {
        static PartitionCount of(TopicMetadata t) {
            return new PartitionCount(t.getTopicId(), t.getPartitionsCount());
        }

        PartitionCount then(PartitionCount fresh) {
            return !fresh.topicId.equals(topicId) || fresh.partitions > partitions ? fresh : this;
        }
    }

    Optional<BrokerAddress> leader(TopicPartition tp) {
        return client.leader(tp);
    }

    /** Follows the leader a NOT_LEADER answer named; false when it named none (then refresh). */
    boolean hint(TopicPartition tp, boolean hasLeader, Broker leader) {
        return client.leaderHint(tp, hasLeader, leader);
    }

    /** After a broker could not be reached: the next attempt connects at once (see {@link ChannelPool#resetConnectBackoff}). */
    void resetConnectBackoff() {
        channels.resetConnectBackoff();
    }

    ManagedChannel channel(BrokerAddress address) {
        return channels.channel(address);
    }

    /**
     * A producer id from any broker (bootstrap first, then those the metadata listed), retrying retriable
     * failures (no controller reachable, a broker down) until {@code deadlineNanos}.
     */
    public long initProducerId(long deadlineNanos) {
        while (true) {
            ClientException failure = null;
            for (BrokerAddress address : candidates()) {
                long leftMs = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
                if (leftMs <= 0) {
                    break;
                }
                try {
                    InitProducerIdResponse r = ProduceServiceGrpc.newBlockingStub(channel(address))
                            .withDeadlineAfter(Math.min(leftMs, MetadataClient.RPC_DEADLINE_MS * 2), TimeUnit.MILLISECONDS)
                            .initProducerId(InitProducerIdRequest.getDefaultInstance());
                    if (r.getErrorCode() == io.rafka.proto.v1.ErrorCode.NONE) {
                        return r.getProducerId();
                    }
                    failure = ClientException.of(r.getErrorCode(), r.getErrorCodeValue(), "InitProducerId", r.getErrorMessage());
                } catch (StatusRuntimeException e) {
                    failure = ClientException.fromStatus(e, address);
                    channels.resetConnectBackoff();
                }
                if (!failure.retriable()) {
                    throw toProducerException(failure, "");
                }
            }
            if (System.nanoTime() - deadlineNanos >= 0) {
                throw toProducerException(failure != null ? failure : ClientException.of(
                        io.rafka.proto.v1.ErrorCode.REQUEST_TIMED_OUT, "InitProducerId"), " (no producer id within max.block.ms)");
            }
            pause(RETRY_PAUSE_MS * 2);
        }
    }

    private List<BrokerAddress> candidates() {
        Set<BrokerAddress> all = new LinkedHashSet<>(bootstrap);
        all.addAll(client.knownBrokers());
        return new ArrayList<>(all);
    }

    /** A client failure as the SDK's typed exception: the broker's code, or a transport failure's nearest one. */
    static ProducerException toProducerException(ClientException e, String note) {
        ErrorCode code;
        try {
            code = ErrorCode.valueOf(e.code());
        } catch (IllegalArgumentException notOurs) {
            code = e.retriable() ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.UNKNOWN_SERVER_ERROR; // a gRPC status name
        }
        return new ProducerException(code, e.getMessage() + note, e);
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProducerException(ErrorCode.REQUEST_TIMED_OUT, "interrupted while waiting for metadata", e);
        }
    }

    @Override
    public void close() {
        if (ownsChannels) {
            channels.close();
        }
    }

    /** {@link #close()}, letting calls in flight end for at most {@code maxWaitMs}. */
    public void close(long maxWaitMs) {
        if (ownsChannels) {
            channels.close(Math.min(maxWaitMs, ChannelPool.CLOSE_WAIT_MS));
        }
    }
}
