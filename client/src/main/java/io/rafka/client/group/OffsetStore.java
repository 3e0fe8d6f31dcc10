package io.rafka.client.group;

import io.rafka.client.internals.ClientException;
import io.rafka.client.internals.PartitionFetcher;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.CommitOffsetsRequest;
import io.rafka.proto.v1.CommitOffsetsResponse;
import io.rafka.proto.v1.CommittedOffset;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchOffsetsRequest;
import io.rafka.proto.v1.FetchOffsetsResponse;
import io.rafka.proto.v1.OffsetCommit;
import io.rafka.proto.v1.PartitionResult;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A member's committed offsets: commits with the member's id and epoch, and where newly assigned partitions
 * start. A commit that the coordinator finds stale (STALE_MEMBER_EPOCH: the member's epoch moved on, a push
 * not yet seen here) is retried once with the newest epoch, for the partitions still owned; a partition the
 * member no longer owns (PARTITION_NOT_OWNED) is dropped, because its new owner's commits are the ones that
 * count now. A {@linkplain #standalone standalone} store commits for a group without members (manual
 * assignment: member id empty, epoch -1). Commits may run on a second thread (the SDK's commitAsync): the
 * state they touch is the thread-safe {@link MemberState} and a concurrent map.
 */
public final class OffsetStore {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(OffsetStore.class);
    /** {@link #startOffsetsOrNone}: no committed offset and the policy is none; the member waits for a seek. */
    static final long NO_START = Long.MIN_VALUE;
    /** How long a stale-epoch retry waits for the newer epoch to arrive on the stream. */
    static final long STALE_EPOCH_WAIT_MS = 1_000;

    private final CoordinatorClient coordinator;
    private final MemberState state;
    private final Time time;
    /**
     * How long the member's own commits ({@link #commit(Map)}: on revocation, on close) trust {@link #committed}: an
     * unchanged position confirmed this recently is not committed again; an older one is, since the group's offset may
     * have moved without this member (a topic deleted and made again drops its offsets; an empty group's expire).
     */
    public static final long UNCHANGED_TRUSTED_MS = 5 * 60_000;

    /**
     * What was last committed per partition, as this store knows it (its own commits, the group's offsets it read),
     * and when that was confirmed; {@link #commit(Map)} skips a position equal to it.
     */
    private final Map<TopicPartition, Long> committed = new java.util.concurrent.ConcurrentHashMap<>();
    /** The metadata string committed with it (none: empty). */
    private final Map<TopicPartition, String> committedMetadata = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<TopicPartition, Long> committedAtMs = new java.util.concurrent.ConcurrentHashMap<>();

    /** A committed offset (-1: none) and the metadata string committed with it. */
    public record Committed(long offset, String metadata) {
    }

    /** @param state the member's; null for a standalone store */
    OffsetStore(CoordinatorClient coordinator, MemberState state, Time time) {
        this.coordinator = coordinator;
        this.state = state;
        this.time = time;
    }

    /** Commits for a group without members: a consumer with manually assigned partitions. */
    public static OffsetStore standalone(CoordinatorClient coordinator, Time time) {
        return new OffsetStore(coordinator, null, time);
    }

    private int epoch() {
        return state == null ? MemberState.LEAVE_EPOCH : state.memberEpoch();
    }

    /** The group's committed offsets of these partitions; -1 where it has none. */
    public Map<TopicPartition, Long> committed(Collection<TopicPartition> partitions) {
        Map<TopicPartition, Long> result = new HashMap<>();
        committedWithMetadata(partitions).forEach((tp, c) -> result.put(tp, c.offset()));
        return result;
    }

    /** The group's committed offsets of these partitions with their metadata; offset -1 where it has none. */
    public Map<TopicPartition, Committed> committedWithMetadata(Collection<TopicPartition> partitions) {
        FetchOffsetsRequest request = FetchOffsetsRequest.newBuilder()
                .setGroupId(coordinator.groupId()).addAllPartitions(MemberState.toProto(partitions)).build();
        FetchOffsetsResponse response = coordinator.call(stub -> stub.fetchOffsets(request));
        Map<TopicPartition, Committed> result = new HashMap<>();
        for (TopicPartition tp : partitions) {
            result.put(tp, new Committed(-1, ""));
        }
        for (CommittedOffset offset : response.getOffsetsList()) {
            TopicPartition tp = new TopicPartition(offset.getTopic(), offset.getPartition());
            if (result.containsKey(tp) && offset.getOffset() >= 0) {
                result.put(tp, new Committed(offset.getOffset(), offset.getMetadata()));
            }
        }
        return result;
    }

    /**
     * Commits these positions (next offsets to consume) where they moved since the last commit this store made or
     * read (within {@link #UNCHANGED_TRUSTED_MS}): the member's own commits, which need not write what is there.
     */
    public void commit(Map<TopicPartition, Long> positions) {
        commit(positions, Map.of(), false, null);
    }

    /**
     * {@link #commit(Map)}, but a commit the coordinator refuses because the member was fenced, forgotten or no
     * longer owns a partition throws (the SDK's commitSync: the caller must know its records may be read again),
     * where the member's own commits (on revocation, on close) drop it quietly. Every offset given is sent, changed
     * or not, as Kafka's commitSync sends it: the group's offset may have moved without this consumer (another
     * consumer of the group, an admin reset, a topic made again).
     *
     * @throws ClientException UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH or PARTITION_NOT_OWNED, not retriable
     */
    public void commitOrThrow(Map<TopicPartition, Long> positions) {
        commit(positions, Map.of(), true, null);
    }

    /** {@link #commitOrThrow(Map)} storing a metadata string with each offset (absent: empty), as Kafka's commits. */
    public void commitOrThrow(Map<TopicPartition, Long> positions, Map<TopicPartition, String> metadata) {
        commit(positions, metadata, true, null);
    }

    /**
     * {@link #commitOrThrow(Map, Map)} of a commit made earlier, when {@link MemberState#grants()} was {@code madeAt}
     * (per partition): a retry leaves out partitions not owned without a break since (MemberState#committable(Map)).
     */
    void commitOrThrow(Map<TopicPartition, Long> positions, Map<TopicPartition, String> metadata,
                       Map<TopicPartition, Long> madeAt) {
        commit(positions, metadata, true, madeAt);
    }

    private void commit(Map<TopicPartition, Long> positions, Map<TopicPartition, String> metadata, boolean strict,
                        Map<TopicPartition, Long> madeAt) {
        Map<TopicPartition, Long> pending = new HashMap<>();
        long now = time.hiResClockMs();
        for (Map.Entry<TopicPartition, Long> entry : positions.entrySet()) {
            TopicPartition tp = entry.getKey();
            if (strict || !entry.getValue().equals(committed.get(tp))
                    || !metadata.getOrDefault(tp, "").equals(committedMetadata.getOrDefault(tp, ""))
                    || now - committedAtMs.getOrDefault(tp, Long.MIN_VALUE / 2) >= UNCHANGED_TRUSTED_MS) {
                pending.put(tp, entry.getValue());
            }
        }
        for (int attempt = 0; attempt < 2 && !pending.isEmpty(); attempt++) {
            int epoch = epoch();
            Map<TopicPartition, Long> stale = commitOnce(pending, metadata, epoch, strict);
            if (stale.isEmpty() || attempt == 1 || state == null) {
                if (!stale.isEmpty()) {
                    if (strict) {
                        // A caller that asked for this commit (commitSync) must not be told it happened.
                        throw ClientException.of(ErrorCode.STALE_MEMBER_EPOCH, "commit of " + stale.keySet()
                                + " refused twice for a stale member epoch (the group was rebalancing): retry");
                    }
                    LOG.debug("commit of " + stale.keySet() + " stale twice, dropped");
                }
                return;
            }
            awaitNewerEpoch(epoch);
            pending = stillOwned(stale, strict, madeAt);
            if (strict && pending.size() < stale.size()) {
                Set<TopicPartition> moved = new java.util.HashSet<>(stale.keySet());
                moved.removeAll(pending.keySet());
                if (!pending.isEmpty() && !commitOnce(pending, metadata, epoch(), true).isEmpty()) {
                    throw ClientException.of(ErrorCode.STALE_MEMBER_EPOCH, "commit of " + pending.keySet()
                            + " refused twice for a stale member epoch (the group was rebalancing): retry");
                }
                throw ClientException.of(ErrorCode.PARTITION_NOT_OWNED, "commit of " + moved
                        + " refused: the member does not own them any more (the group rebalanced)");
            }
        }
    }

    /** One CommitOffsets; returns what came back STALE_MEMBER_EPOCH. */
    private Map<TopicPartition, Long> commitOnce(Map<TopicPartition, Long> pending, Map<TopicPartition, String> metadata,
                                                 int epoch, boolean strict) {
        CommitOffsetsRequest.Builder request = CommitOffsetsRequest.newBuilder()
                .setGroupId(coordinator.groupId())
                .setMemberId(state == null ? "" : state.memberId())
                .setMemberEpoch(epoch);
        pending.forEach((tp, offset) -> request.addOffsets(OffsetCommit.newBuilder()
                .setTopic(tp.topic()).setPartition(tp.partition()).setOffset(offset)
                .setMetadata(metadata.getOrDefault(tp, ""))));
        CommitOffsetsResponse response;
        try {
            response = coordinator.call(stub -> stub.commitOffsets(request.build()));
        } catch (ClientException e) {
            if (e.is(ErrorCode.STALE_MEMBER_EPOCH)) {
                return pending;
            }
            if ((e.is(ErrorCode.UNKNOWN_MEMBER_ID) || e.is(ErrorCode.FENCED_MEMBER_EPOCH)) && strict) {
                throw e.withNote("commit refused: the member was fenced; its partitions may be read again by their next owner");
            }
            if (e.is(ErrorCode.UNKNOWN_MEMBER_ID) || e.is(ErrorCode.FENCED_MEMBER_EPOCH)) {
                // The stream reports the same and the member rejoins; these offsets are someone else's now.
                LOG.debug("commit refused, " + e.code() + ": " + e.getMessage());
                return Map.of();
            }
            throw e;
        }
        Map<TopicPartition, Long> stale = new HashMap<>();
        for (PartitionResult result : response.getResultsList()) {
            TopicPartition tp = new TopicPartition(result.getTopic(), result.getPartition());
            Long offset = pending.get(tp);
            if (offset == null) {
                continue;
            }
            switch (result.getErrorCode()) {
                case NONE -> remember(tp, offset, metadata.getOrDefault(tp, ""));
                case STALE_MEMBER_EPOCH -> stale.put(tp, offset);
                case PARTITION_NOT_OWNED, UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH -> {
                    if (strict) {
                        throw ClientException.of(result.getErrorCode(), "commit of offset " + offset + " of " + tp
                                + " refused: the member does not own it any more");
                    }
                    LOG.debug("offset " + offset + " of " + tp + " not committed: " + result.getErrorCode());
                }
                default -> {
                    ClientException failure = ClientException.of(result.getErrorCode(), result.getErrorCodeValue(),
                            "commit of offset " + offset + " of " + tp, result.getErrorMessage());
                    if (!failure.retriable() || strict) {
                        // A caller that asked for this commit (commitSync) must not be told it happened.
                        throw failure;
                    }
                    // Committed with the next commit; at worst the next owner reads a few records again.
                    LOG.debug(failure.getMessage());
                }
            }
        }
        return stale;
    }

    private void awaitNewerEpoch(int epoch) {
        long deadline = time.hiResClockMs() + STALE_EPOCH_WAIT_MS;
        while (state.memberEpoch() == epoch && time.hiResClockMs() < deadline) {
            try {
                time.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Of these offsets, those the member may still commit: for a caller's commit, of partitions owned and not being
     * released (MemberState#committable: the release commits those itself) and, for a commit made earlier, owned
     * without a break since; for the member's own, of owned ones.
     */
    private Map<TopicPartition, Long> stillOwned(Map<TopicPartition, Long> offsets, boolean callers,
                                                 Map<TopicPartition, Long> madeAt) {
        Map<TopicPartition, Long> owned = new HashMap<>();
        Set<TopicPartition> committable = !callers ? state.owned()
                : madeAt == null ? state.committable() : state.committable(madeAt);
        offsets.forEach((tp, offset) -> {
            if (committable.contains(tp)) {
                owned.put(tp, offset);
            }
        });
        return owned;
    }

    /**
     * Where each newly assigned partition starts: the group's committed offset, else per the reset policy
     * ({@link PartitionFetcher#EARLIEST} or {@link PartitionFetcher#LATEST}, for the fetcher to look up).
     *
     * @throws NoOffsetForPartitionException policy none and some partitions have no committed offset
     */
    public Map<TopicPartition, Long> startOffsets(Collection<TopicPartition> partitions,
                                                  GroupMemberConfig.OffsetReset reset, String groupId) {
        Map<TopicPartition, Long> starts = startOffsetsOrNone(partitions, reset);
        List<TopicPartition> missing = new ArrayList<>();
        starts.forEach((tp, start) -> {
            if (start == NO_START) {
                missing.add(tp);
            }
        });
        if (!missing.isEmpty()) {
            throw new NoOffsetForPartitionException(groupId, missing);
        }
        return starts;
    }

    private void remember(TopicPartition tp, long offset, String metadata) {
        committed.put(tp, offset);
        committedMetadata.put(tp, metadata);
        committedAtMs.put(tp, time.hiResClockMs());
    }

    /** {@link #startOffsets}, with {@link #NO_START} for a partition without a committed offset under policy none. */
    Map<TopicPartition, Long> startOffsetsOrNone(Collection<TopicPartition> partitions, GroupMemberConfig.OffsetReset reset) {
        Map<TopicPartition, Long> starts = new HashMap<>();
        committedWithMetadata(partitions).forEach((tp, c) -> {
            if (c.offset() >= 0) {
                starts.put(tp, c.offset());
                remember(tp, c.offset(), c.metadata());
            }
        });
        List<TopicPartition> missing = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            if (!starts.containsKey(tp)) {
                missing.add(tp);
            }
        }
        for (TopicPartition tp : missing) {
            starts.put(tp, switch (reset) {
                case EARLIEST -> PartitionFetcher.EARLIEST;
                case LATEST -> PartitionFetcher.LATEST;
                case NONE -> NO_START;
            });
        }
        return starts;
    }
}
