package io.rafka.client.internals;

import io.grpc.StatusRuntimeException;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.ListOffsetsRequest;
import io.rafka.proto.v1.ListOffsetsResponse;
import io.rafka.proto.v1.PartitionOffset;
import io.rafka.proto.v1.PartitionTimestamp;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * ListOffsets for many partitions at once, each asked of its leader: log start ({@link PartitionFetcher#EARLIEST}),
 * high watermark ({@link PartitionFetcher#LATEST}) or the first offset at or after a timestamp. Partitions
 * whose leader moved (NOT_LEADER, no leader, a broker not answering) are asked again, after a metadata refresh
 * or at the leader the answer named, until the retry timeout; a fatal error ends the lookup.
 * Not thread-safe: for the thread driving a command.
 */
public final class OffsetLookup {

    private final MetadataClient metadata;
    private final ChannelPool channels;
    private final Time time;
    private final long retryTimeoutMs;

    public OffsetLookup(MetadataClient metadata, ChannelPool channels, Time time, long retryTimeoutMs) {
        this.metadata = metadata;
        this.channels = channels;
        this.time = time;
        this.retryTimeoutMs = retryTimeoutMs;
    }

    /**
     * The offset per partition for {@code timestampMs}; -1 where no record is at or after the timestamp.
     *
     * @throws ClientException a fatal per-partition error, or a retriable one that outlasted the retry timeout
     */
    public Map<TopicPartition, Long> offsets(Collection<TopicPartition> partitions, long timestampMs) {
        return offsets(partitions, timestampMs, false);
    }

    /**
     * {@link #offsets}, but within the retry timeout as a whole (every call included), and what could not be found
     * is left out instead of failing the rest: partitions of topics that do not exist (any more), those refused for
     * good, and those whose leader did not answer in time. For descriptions, where a partial answer soon beats none.
     */
    public Map<TopicPartition, Long> offsetsFound(Collection<TopicPartition> partitions, long timestampMs) {
        return offsets(partitions, timestampMs, true);
    }

    private Map<TopicPartition, Long> offsets(Collection<TopicPartition> partitions, long timestampMs, boolean partial) {
        Map<TopicPartition, Long> found = new LinkedHashMap<>();
        Set<TopicPartition> left = new LinkedHashSet<>(partitions);
        RetryState retry = new RetryState(time, retryTimeoutMs);
        long deadlineNanos = partial && retryTimeoutMs < Long.MAX_VALUE / 2_000_000
                ? System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(retryTimeoutMs) : Long.MAX_VALUE;
        try {
            refresh(left, partial, deadlineNanos);
        } catch (ClientException e) {
            if (!e.retriable()) {
                throw e;
            }
            // no broker answered yet: the loop below asks the leaders it knows (none) and retries
        }
        while (true) {
            ClientException failure = askLeaders(left, timestampMs, found, partial, deadlineNanos);
            if (left.isEmpty() || (deadlineNanos != Long.MAX_VALUE && deadlineNanos - System.nanoTime() <= 0)) {
                return found;
            }
            if (failure == null) {
                failure = ClientException.of(ErrorCode.LEADER_NOT_AVAILABLE, "no offsets came back for " + left);
            }
            long backOffMs;
            try {
                backOffMs = retry.onFailure(failure);
            } catch (ClientException spent) {
                if (partial) {
                    return found;
                }
                throw spent;
            }
            retry.backOff(partial
                    ? Math.min(backOffMs, Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime())))
                    : backOffMs);
            try {
                refresh(left, partial, deadlineNanos);
            } catch (ClientException e) {
                if (!e.retriable()) {
                    throw e;
                }
            }
        }
    }

    /**
     * Refreshes the leaders of {@code left}'s topics; a partial lookup leaves out the partitions of topics the
     * metadata says do not exist, and goes on without a refresh that failed.
     */
    private void refresh(Set<TopicPartition> left, boolean partial, long deadlineNanos) {
        List<String> topics = left.stream().map(TopicPartition::topic).distinct().toList();
        if (!partial) {
            metadata.refresh(topics, false);
            return;
        }
        try {
            ClusterMetadata known = metadata.refresh(topics, false, deadlineNanos);
            left.removeIf(tp -> known.topic(tp.topic())
                    .map(t -> t.getErrorCode() == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).orElse(false));
        } catch (ClientException e) {
            // no fresher leaders this round: asked where they were
        }
    }

    /** One round: asks each leader once; removes answered partitions from {@code left}; returns the last failure. */
    private ClientException askLeaders(Set<TopicPartition> left, long timestampMs, Map<TopicPartition, Long> found,
                                       boolean partial, long deadlineNanos) {
        ClientException failure = null;
        Map<BrokerAddress, List<TopicPartition>> byLeader = new HashMap<>();
        for (TopicPartition tp : left) {
            Optional<BrokerAddress> leader = metadata.leader(tp);
            if (leader.isPresent()) {
                byLeader.computeIfAbsent(leader.get(), l -> new ArrayList<>()).add(tp);
            } else {
                failure = ClientException.of(ErrorCode.LEADER_NOT_AVAILABLE, tp + " has no known leader");
            }
        }
        for (Map.Entry<BrokerAddress, List<TopicPartition>> entry : byLeader.entrySet()) {
            ListOffsetsRequest.Builder request = ListOffsetsRequest.newBuilder();
            for (TopicPartition tp : entry.getValue()) {
                request.addPartitions(PartitionTimestamp.newBuilder()
                        .setTopic(tp.topic()).setPartition(tp.partition()).setTimestampMs(timestampMs));
            }
            long leftMs = deadlineNanos == Long.MAX_VALUE ? PartitionFetcher.RPC_SLACK_MS
                    : TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
            if (leftMs <= 0) {
                break;   // a partial lookup's time is up: the leaders not asked yet are left out
            }
            ListOffsetsResponse response;
            try {
                response = FetchServiceGrpc.newBlockingStub(channels.channel(entry.getKey()))
                        .withDeadlineAfter(Math.min(PartitionFetcher.RPC_SLACK_MS, leftMs), TimeUnit.MILLISECONDS)
                        .listOffsets(request.build());
            } catch (StatusRuntimeException e) {
                failure = retriableOrThrow(ClientException.fromStatus(e, entry.getKey()));
                continue;
            }
            for (PartitionOffset result : response.getResultsList()) {
                TopicPartition tp = new TopicPartition(result.getTopic(), result.getPartition());
                if (!left.contains(tp)) {
                    continue;
                }
                if (result.getErrorCode() == ErrorCode.NONE) {
                    found.put(tp, result.getOffset());
                    left.remove(tp);
                } else {
                    ClientException refused = ClientException.of(result.getErrorCode(), result.getErrorCodeValue(),
                            tp.toString(), result.getErrorMessage());
                    if (partial && !refused.retriable()) {
                        left.remove(tp);   // refused for good: left out
                        continue;
                    }
                    failure = retriableOrThrow(refused);
                    if (result.getErrorCode() == ErrorCode.NOT_LEADER) {
                        metadata.leaderHint(tp, result.hasLeader(), result.getLeader());
                    }
                }
            }
        }
        return failure;
    }

    private static ClientException retriableOrThrow(ClientException failure) {
        if (!failure.retriable()) {
            throw failure;
        }
        return failure;
    }
}
