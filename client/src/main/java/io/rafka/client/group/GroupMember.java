package io.rafka.client.group;

import io.rafka.client.internals.Fetched;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.ClientException;
import io.rafka.client.internals.FetchPositions;
import io.rafka.client.internals.MetadataClient;
import io.rafka.client.internals.PartitionFetcher;
import io.rafka.client.internals.RetryState;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.GroupServiceGrpc;
import io.rafka.proto.v1.HeartbeatRequest;
import io.rafka.proto.v1.HeartbeatResponse;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One member of a consumer group: joins through the group's coordinator, consumes exactly the partitions the
 * coordinator assigns it, and commits what it consumed. For example:
 *
 * <pre>
 * try (ChannelPool channels = ChannelPool.plaintext();
 *      GroupMember member = new GroupMember(GroupMemberConfig.of("billing", List.of("orders")),
 *              channels, BrokerAddress.parse("127.0.0.1:9092"), Time.SYSTEM)) {
 *     while (running) {
 *         for (Fetched record : member.poll(500)) {
 *             process(record);
 *         }
 *         member.commit();   // at least once: after processing
 *     }
 * }                          // close(): commits, leaves the group
 * </pre>
 *
 * <p>The membership is a bidirectional Heartbeat stream to the coordinator (GroupService in groups.proto):
 * the coordinator pushes the assignment whenever it changes, the member sends a heartbeat every
 * {@code heartbeat_interval_ms} and whenever what it owns changes. Each {@link #poll} first moves what the
 * member owns towards the latest assignment ({@link MemberState}): revoked partitions stop being fetched, their
 * consumed offsets are committed, and only then does a heartbeat report them released; new partitions start
 * at the group's committed offset, or per {@code auto.offset.reset}. The commit of revoked partitions runs on a
 * thread of its own (one Raft write on the coordinator), so the partitions the member keeps go on being consumed
 * meanwhile instead of waiting for it. A stream that breaks because the
 * coordinator moved or failed is reopened on the new coordinator with the same member id and epoch; a member
 * the coordinator fenced or forgot drops everything it owned without committing and joins again.
 *
 * <p>Threads: the caller's poll thread does the work (fetching, committing, reconciling); a heartbeat thread
 * keeps the membership alive between polls, as Kafka's consumer does, so processing may take longer than the
 * session timeout, up to {@link #maxPollIntervalMs}: a member that has not polled for that long leaves the group
 * (its partitions move to the others) and joins again on its next poll, having lost them. The gRPC stream
 * observer only hands responses and failures over through {@link MemberState} and the stream fields under
 * {@code lock}, which the heartbeat thread takes too. Not thread-safe otherwise: {@link #poll}, {@link #commit}
 * and {@link #close} belong to one thread.
 */
public final class GroupMember implements AutoCloseable {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(GroupMember.class);
    /** How long close() waits for the coordinator to end the stream after the leave. */
    static final long CLOSE_WAIT_MS = 3_000;
    /** How long close() retries finding the coordinator and committing: bounded, like Kafka's close timeout. */
    static final long CLOSE_RETRY_MS = 5_000;
    /** What {@link #close()} takes at most (about): its retries and the leave's wait. */
    public static final long CLOSE_TIMEOUT_MS = CLOSE_RETRY_MS;
    /** The least a close waits for its leave's answer, its time spent or not: the leave must get out first. */
    static final long CLOSE_MIN_WAIT_MS = 200;
    /** How often the heartbeat thread looks whether a heartbeat is due. */
    static final long HEARTBEAT_CHECK_MS = 100;

    private final GroupMemberConfig config;
    private final ChannelPool channels;
    private final Time time;
    private final MetadataClient metadata;
    private final CoordinatorClient coordinator;
    private final FetchPositions positions;
    private final OffsetStore offsets;
    private final MemberState state = new MemberState();
    /**
     * Owned partitions with no committed offset under {@code auto.offset.reset=none}: no position until {@link #seek};
     * every poll throws NoOffsetForPartitionException for them meanwhile. Also written when a stream fails.
     */
    private final Set<TopicPartition> awaitingSeek = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /**
     * While the rebalance listener is told of revoked partitions (in a rebalance or at close): the partitions it
     * committed itself, which the revocation's own commit of their positions then leaves alone, so the listener's
     * commit stands (Kafka's consumer commits positions before it calls the listener). Null otherwise. Written on the
     * poll thread; the listener's commitSync runs on the consumer's commit thread while the poll thread waits.
     */
    private volatile Set<TopicPartition> committedByRevocationListener;
    private final RetryState streamRetry;
    private RebalanceHook hook = RebalanceHook.NONE;
    private boolean commitOnRevoke = true;
    /** No poll for this long: the member leaves the group (Kafka's max.poll.interval.ms); none by default. */
    private long maxPollIntervalMs = Long.MAX_VALUE;
    /** When poll last ran ({@link Time#hiResClockMs}); read by the heartbeat thread. */
    private volatile long lastPollMs;
    /** The heartbeat thread left the group because poll was overdue (under {@code lock}). */
    private boolean leftForSlowPoll;
    /** Sends due heartbeats between polls; started by the first poll, stopped by close. */
    private ScheduledExecutorService heartbeater;
    private final RevocationCommits revocations;

    private final Object lock = new Object();
    /** The open stream (guarded by lock); null before the first poll and after a failure was handled. */
    private ClientCallStreamObserver<HeartbeatRequest> requests;
    private int generation;
    private Throwable streamFailure;
    private boolean streamEnded;
    private boolean streamAnswered;
    /**
     * A stream was answered since the poll thread last handled a failure (guarded by lock): the next failure it
     * handles starts a fresh retry budget. Streams the heartbeat thread resumed on count too, though the poll thread
     * never saw how they ended; without this, one failure handled hours ago left the budget spent for good.
     */
    private boolean answeredSinceFailure;
    /** The heartbeat thread is opening a stream to resume on (guarded by lock): the poll thread leaves it be. */
    private boolean resuming;
    /**
     * Since when no open stream has been answered (the last one broke and no new one answered yet); -1 while the
     * membership is confirmed. See {@link #membershipInDoubt}.
     */
    private long unconfirmedSinceMs = -1;
    /**
     * Whether the membership became unconfirmed because the stream broke under the transport (a reset connection,
     * an unreachable coordinator) rather than by an answer of the coordinator: the coordinator then removes the
     * member after its stream grace, not after a session.
     */
    private boolean unconfirmedByBreak;
    /** When the open stream last brought a response (guarded by lock). */
    private long lastAnswerMs;
    private boolean doubtLogged;
    private long lastHeartbeatMs;
    private boolean closed;
    /** The thread inside {@link #poll} while it finds the coordinator and reconciles; null otherwise. */
    private volatile Thread pollThread;
    /** Set by {@link #wakeupWhen}: the consumer's {@code wakeup()}. */
    private volatile java.util.function.BooleanSupplier wokenUp = () -> false;
    /** Set by {@link #pollEndsBy}: when the caller's poll in progress must end (hi-res clock ms). */
    private volatile java.util.function.LongSupplier pollDeadlineMs = () -> Long.MAX_VALUE;
    /** Whether the poll thread is in the caller's rebalance listener (its own calls are not the poll's to stop). */
    private volatile boolean inListener;

    public GroupMember(GroupMemberConfig config, ChannelPool channels, BrokerAddress bootstrap, Time time) {
        this(config, channels, List.of(bootstrap), time);
    }

    /** @param bootstrap brokers to find the cluster through, asked in turn while one does not answer */
    public GroupMember(GroupMemberConfig config, ChannelPool channels, List<BrokerAddress> bootstrap, Time time) {
        this.config = config;
        this.channels = channels;
        this.time = time;
        this.metadata = new MetadataClient(channels, bootstrap, time, config.retryTimeoutMs());
        this.coordinator = new CoordinatorClient(config.groupId(), channels, bootstrap.get(0), metadata, time,
                config.retryTimeoutMs());
        PartitionFetcher fetcher = new PartitionFetcher(metadata, channels, time, config.retryTimeoutMs(),
                warning -> LOG.warn(warning));
        fetcher.outOfRangeReset(config.offsetReset().outOfRangeReset());
        this.positions = new FetchPositions(fetcher);
        this.offsets = new OffsetStore(coordinator, state, time);
        this.revocations = new RevocationCommits(config.groupId(), offsets);
        this.streamRetry = new RetryState(time, config.retryTimeoutMs());
        coordinator.stopWhen(this::pollMustStop);
    }

    /**
     * Returns the records that arrived for the partitions this member owns, waiting at most about
     * {@code maxWaitMs} when none come. Joins on the first call; reconciles, heartbeats and recovers the
     * stream as needed first.
     *
     * @throws NoOffsetForPartitionException offset reset none and a new partition without a committed offset
     * @throws ClientException               a fatal group error (INVALID_GROUP_ID, FENCED_INSTANCE_ID, ...) or
     *                                       a retriable one that outlasted the retry timeout
     */
    public List<Fetched> poll(int maxWaitMs) {
        return poll(maxWaitMs, Integer.MAX_VALUE);
    }

    /**
     * {@link #poll(int)} returning at most {@code maxRecords} records (Kafka's max.poll.records): the rest are
     * fetched again by the next poll, so a caller that stops after N records commits exactly those.
     */
    public List<Fetched> poll(int maxWaitMs, int maxRecords) {
        if (closed) {
            throw new IllegalStateException("the member is closed");
        }
        lastPollMs = time.hiResClockMs();
        rejoinIfLeftForSlowPoll();
        startHeartbeater();
        pollThread = Thread.currentThread();
        try {
            ensureStream();
            reconcile();
        } catch (ClientException e) {
            if (!e.code().equals(CoordinatorClient.WOKEN_UP)) {
                throw e;
            }
            return List.of();   // woken up while the coordinator is away: the caller sees its wake-up; the next poll goes on
        } finally {
            pollThread = null;
        }
        heartbeatIfDue();
        if (!awaitingSeek.isEmpty()) {
            // As Kafka's consumer: assigned (the listener was told) but with no position under policy none, until seek.
            throw new NoOffsetForPartitionException(config.groupId(), awaitingSeek.stream()
                    .sorted(java.util.Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition)).toList());
        }
        long untilHeartbeatMs = Math.max(1, lastHeartbeatMs() + state.heartbeatIntervalMs() - time.hiResClockMs());
        int waitMs = (int) Math.min(maxWaitMs, untilHeartbeatMs);
        if (!positions.fetching() || membershipInDoubt()) {
            awaitStreamEvent(waitMs);
            return List.of();
        }
        return positions.poll(waitMs, maxRecords, state::mayConsume);
    }

    /**
     * Commits the offsets consumed (returned by {@link #poll}) since the last commit, of the partitions still
     * owned. Partitions the coordinator says are not owned any more are skipped (another member has them).
     */
    public void commit() {
        offsets.commit(ownedPositions());
    }

    /**
     * Commits these offsets (next offsets to consume) of partitions still owned; others are skipped (another
     * member's commits count for them now).
     *
     * @throws ClientException UNKNOWN_MEMBER_ID or FENCED_MEMBER_EPOCH: this member was fenced (it rejoins on
     *                         the next poll), PARTITION_NOT_OWNED: a partition moved meanwhile
     */
    public void commit(Map<TopicPartition, Long> offsetsToCommit) {
        commit(offsetsToCommit, Map.of());
    }

    /**
     * {@link #commit(Map)} storing a metadata string with each offset (absent: empty). The offsets of partitions
     * still owned are committed, then PARTITION_NOT_OWNED names those that are not: the caller must not be told
     * that they were committed.
     */
    public void commit(Map<TopicPartition, Long> offsetsToCommit, Map<TopicPartition, String> metadata) {
        Map<TopicPartition, Long> owned = owned(offsetsToCommit, state.committable());
        offsets.commitOrThrow(owned, metadata);
        noteListenerCommit(owned.keySet());
        throwForNotOwned(offsetsToCommit, owned);
    }

    private void noteListenerCommit(Set<TopicPartition> committed) {
        Set<TopicPartition> noted = committedByRevocationListener;
        if (noted != null) {
            noted.addAll(committed);
        }
    }

    /**
     * A mark of what the member owns now, for a commit made now and sent later ({@link #commit(Map, Map, Map)}),
     * e.g. on a commit thread behind other commits.
     */
    public long ownershipMark() {
        return state.grants();
    }

    /**
     * {@link #commit(Map, Map)} of a commit made earlier, when {@link #ownershipMark()} was {@code madeAt} (per
     * partition): a partition the member lost and took again since is not committed (PARTITION_NOT_OWNED), since its
     * other owners moved its offset meanwhile and this commit would move it back.
     */
    public void commit(Map<TopicPartition, Long> offsetsToCommit, Map<TopicPartition, String> metadata,
                       Map<TopicPartition, Long> madeAt) {
        Map<TopicPartition, Long> owned = owned(offsetsToCommit, state.committable(madeAt));
        offsets.commitOrThrow(owned, metadata, madeAt);
        noteListenerCommit(owned.keySet());
        throwForNotOwned(offsetsToCommit, owned);
    }

    private static void throwForNotOwned(Map<TopicPartition, Long> offsetsToCommit, Map<TopicPartition, Long> owned) {
        if (owned.size() < offsetsToCommit.size()) {
            Set<TopicPartition> notOwned = new java.util.TreeSet<>(java.util.Comparator.comparing(TopicPartition::toString));
            notOwned.addAll(offsetsToCommit.keySet());
            notOwned.removeAll(owned.keySet());
            throw ClientException.of(ErrorCode.PARTITION_NOT_OWNED, "commit of " + notOwned
                    + " refused: this member does not own them (never had them, or the group moved them)");
        }
    }

    /** The positions (next offsets to consume) of the owned partitions that have one. */
    public Map<TopicPartition, Long> ownedPositions() {
        return owned(positions.positions(), state.committable());
    }

    private static Map<TopicPartition, Long> owned(Map<TopicPartition, Long> offsetsByPartition, Set<TopicPartition> owned) {
        Map<TopicPartition, Long> result = new HashMap<>();
        offsetsByPartition.forEach((tp, offset) -> {
            if (owned.contains(tp)) {
                result.put(tp, offset);
            }
        });
        return result;
    }

    /** The committed offsets of the group for these partitions (-1 where none), owned or not. */
    public Map<TopicPartition, Long> committed(Set<TopicPartition> partitions) {
        return offsets.committed(partitions);
    }

    /** {@link #committed}, with the metadata committed with each offset. */
    public Map<TopicPartition, OffsetStore.Committed> committedWithMetadata(Set<TopicPartition> partitions) {
        return offsets.committedWithMetadata(partitions);
    }

    /**
     * Lets {@code wokenUp} (the consumer's {@code wakeup()}) end a poll that waits for a coordinator that is away:
     * its retries and back-offs stop, and the poll returns nothing. Only the poll thread's calls stop; the heartbeat
     * thread's and the close's go on.
     */
    public void wakeupWhen(java.util.function.BooleanSupplier wokenUp) {
        this.wokenUp = wokenUp;
    }

    /**
     * Lets a poll end in its caller's time while the coordinator is away (Kafka's {@code poll(timeout)}): once the
     * hi-res clock passes {@code deadlineMs}, the poll's retries of finding the coordinator, joining and fetching
     * committed offsets stop and the poll returns nothing; the next poll goes on from there. Calls a rebalance
     * listener makes are not cut short by it (they have their own timeout). Without it (the CLI) a poll retries for
     * the retry timeout, then throws.
     */
    public void pollEndsBy(java.util.function.LongSupplier deadlineMs) {
        this.pollDeadlineMs = deadlineMs;
    }

    private boolean pollMustStop() {
        return Thread.currentThread() == pollThread && (wokenUp.getAsBoolean()
                || (!inListener && time.hiResClockMs() >= pollDeadlineMs.getAsLong()));
    }

    /** Tells {@code hook} about partitions revoked, assigned and lost, on the poll thread. */
    public void rebalanceHook(RebalanceHook hook) {
        RebalanceHook user = hook == null ? RebalanceHook.NONE : hook;
        this.hook = new RebalanceHook() {
            @Override
            public void onRevoked(Set<TopicPartition> partitions) {
                inListener(() -> user.onRevoked(partitions));
            }

            @Override
            public void onAssigned(Set<TopicPartition> partitions) {
                inListener(() -> user.onAssigned(partitions));
            }

            @Override
            public void onLost(Set<TopicPartition> partitions) {
                inListener(() -> user.onLost(partitions));
            }
        };
    }

    /**
     * Tells the listener that {@code partitions} are revoked and answers those it committed itself meanwhile (if it
     * threw, the revocation goes on as if it committed none).
     */
    private Set<TopicPartition> revocationListener(Set<TopicPartition> partitions) {
        Set<TopicPartition> committed = java.util.concurrent.ConcurrentHashMap.newKeySet();
        committedByRevocationListener = committed;
        try {
            hook.onRevoked(partitions);
        } finally {
            committedByRevocationListener = null;
        }
        Set<TopicPartition> result = new HashSet<>(committed);
        result.retainAll(partitions);
        return result;
    }

    private void inListener(Runnable call) {
        boolean outer = inListener;
        inListener = true;
        try {
            call.run();
        } finally {
            inListener = outer;
        }
    }

    /**
     * Whether the positions of revoked partitions are committed as they are released (the default, what the CLI's
     * at-least-once printing wants). An application that commits only after processing (the SDK without
     * auto-commit) turns it off and commits in its revocation listener, as with Kafka.
     */
    public void commitOnRevoke(boolean commit) {
        this.commitOnRevoke = commit;
    }

    /**
     * Kafka's {@code max.poll.interval.ms}: when no poll came for this long, the heartbeat thread leaves the group
     * so that the member's partitions go to members that do poll; the next poll joins again.
     */
    public void maxPollIntervalMs(long ms) {
        if (ms <= 0) {
            throw new IllegalArgumentException("max.poll.interval.ms must be > 0");
        }
        this.maxPollIntervalMs = ms;
    }

    private void startHeartbeater() {
        if (heartbeater != null) {
            return;
        }
        heartbeater = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "rafka-heartbeat-" + config.groupId());
            thread.setDaemon(true);
            return thread;
        });
        heartbeater.scheduleWithFixedDelay(this::heartbeatBetweenPolls, HEARTBEAT_CHECK_MS, HEARTBEAT_CHECK_MS,
                TimeUnit.MILLISECONDS);
    }

    /**
     * On the heartbeat thread: a due heartbeat on the open stream, the leave of a member that stopped polling, or,
     * when a stream that had been answered broke because the coordinator moved or the connection failed, a new
     * stream on which the member resumes at once: the coordinator drops a member whose stream stays broken for
     * {@code group.member.stream.grace.ms} (500 ms), and an application processing records between polls for
     * longer must not lose its partitions to a network blip. Fencing and other failures wait for the next poll.
     */
    private void heartbeatBetweenPolls() {
        try {
            synchronized (lock) {
                if (!closed && !leftForSlowPoll && !resuming && requests != null && streamAnswered && silent()) {
                    // Open but silent (the coordinator answers at least every quarter session): its process may be
                    // paused or the path to it dropping packets, and the group may have moved on. Resumed on a new
                    // stream, which finds the coordinator again; the silence counts towards the doubt from the
                    // last answer, not from now.
                    LOG.warn("group {}: no answer from the coordinator for {} ms on an open stream: resuming on a new one",
                            config.groupId(), time.hiResClockMs() - lastAnswerMs);
                    generation++;   // before the cancel: what the old stream says as it ends is ignored
                    requests.cancel("no answer from the coordinator", null);
                    unconfirmedSinceMs = lastAnswerMs;
                    streamEnded = true;
                }
                if (!closed && !leftForSlowPoll && !resuming && requests != null && streamAnswered && resumableBreak()) {
                    requests = null;   // taken here: the poll thread finds neither a stream nor a failure to handle
                    streamFailure = null;
                    streamEnded = false;
                    resuming = true;
                } else if (closed || leftForSlowPoll || requests == null || streamFailure != null || streamEnded
                        || !streamAnswered) {
                    return;   // the next poll handles a broken stream; an unanswered join is not repeated
                }
            }
            if (resuming()) {
                resumeStream();
                return;
            }
            synchronized (lock) {
                if (closed || leftForSlowPoll || requests == null || streamFailure != null || streamEnded || !streamAnswered) {
                    return;
                }
                long now = time.hiResClockMs();
                if (now - lastPollMs > maxPollIntervalMs) {
                    leftForSlowPoll = true;
                    LOG.warn("group {}: no poll for {} ms (max.poll.interval.ms is {}): leaving the group so that its "
                            + "partitions move on; the next poll joins again", config.groupId(), now - lastPollMs,
                            maxPollIntervalMs);
                    send(state.leave(config));
                    return;
                }
                if (now - lastHeartbeatMs >= state.heartbeatIntervalMs()) {
                    send(state.heartbeat(config));
                }
            }
        } catch (RuntimeException e) {
            LOG.debug("heartbeat between polls failed: {}", e.toString());
        }
    }

    /** Whether the open stream broke in a way the member resumes from with its id and epoch (under lock). */
    private boolean resumableBreak() {
        if (streamFailure == null) {
            return streamEnded;   // the coordinator ended it (it stopped coordinating the group)
        }
        if (!(streamFailure instanceof StatusRuntimeException sre)) {
            return false;
        }
        ClientException e = ClientException.fromCall(sre, coordinator.groupId() + "'s coordinator");
        return !e.is(ErrorCode.UNKNOWN_MEMBER_ID) && !e.is(ErrorCode.FENCED_MEMBER_EPOCH) && CoordinatorClient.coordinatorMoved(e);
    }

    private boolean resuming() {
        synchronized (lock) {
            return resuming;
        }
    }

    /**
     * On the heartbeat thread, which took a broken stream: finds the coordinator again and resumes on a new stream.
     * A failure is left for the next poll, as if the new stream had broken.
     */
    private void resumeStream() {
        try {
            coordinator.invalidate();
            openStream();
            LOG.debug("group " + config.groupId() + ": heartbeat stream broke between polls; resumed on a new one");
        } catch (RuntimeException e) {
            synchronized (lock) {
                if (requests == null && streamFailure == null) {
                    streamFailure = e;
                }
            }
        } finally {
            synchronized (lock) {
                resuming = false;
                lock.notifyAll();
            }
        }
    }

    /** After a leave for a slow poll: what the member owned is lost (not committed); it joins as a new member. */
    private void rejoinIfLeftForSlowPoll() {
        synchronized (lock) {
            if (!leftForSlowPoll) {
                return;
            }
            leftForSlowPoll = false;
            if (requests != null) {
                requests.cancel("left the group: poll was overdue", null);
                requests = null;
            }
            generation++;   // whatever the old stream still says is ignored
            streamFailure = null;
            streamEnded = false;
        }
        Set<TopicPartition> dropped = state.fence();
        dropped.forEach(positions::remove);
        awaitingSeek.removeAll(dropped);
        hook.onLost(dropped);
    }

    /** Where the partitions of this member are read: seek, position, pause, resume. */
    public FetchPositions positions() {
        return positions;
    }

    /**
     * Gives an owned partition a position: replaces the one it has, or (policy none, nothing committed) starts it.
     *
     * @param start an offset, or {@link PartitionFetcher#EARLIEST} / {@link PartitionFetcher#LATEST}
     * @throws IllegalStateException the partition is not owned (or is being released)
     */
    public void seek(TopicPartition tp, long start) {
        if (!state.active().contains(tp)) {
            throw new IllegalStateException(tp + " is not assigned to this consumer");
        }
        if (awaitingSeek.remove(tp)) {
            positions.add(tp, start);
        } else if (positions.partitions().contains(tp)) {
            positions.seek(tp, start);
        } else {
            throw new IllegalStateException(tp + " is not assigned to this consumer");
        }
    }

    /** The partitions this member owns now, including those revoked and still being released (their commit under way). */
    public Set<TopicPartition> assignment() {
        return state.owned();
    }

    /**
     * The partitions this member owns and is not releasing: what Kafka's consumer reports as its assignment, from which
     * a revoked partition is gone once the rebalance listener was told.
     */
    public Set<TopicPartition> activeAssignment() {
        return state.active();
    }

    public String memberId() {
        return state.memberId();
    }

    public int memberEpoch() {
        return state.memberEpoch();
    }

    /**
     * Commits what was consumed, leaves the group (a static member leaves for a restart: its partitions wait
     * for it for a session timeout), half-closes the stream and waits briefly for the coordinator to end it.
     */
    @Override
    public void close() {
        close(true);
    }

    /** {@link #close()}, committing first only if {@code commitFirst} (the SDK without auto-commit does not). */
    public void close(boolean commitFirst) {
        close(commitFirst, CLOSE_TIMEOUT_MS);
    }

    /**
     * {@link #close(boolean)} within about {@code timeoutMs} (Kafka's {@code close(Duration)}): the commit, the
     * coordinator's retries and the wait for the leave's answer stop when it is spent (a coordinator that never
     * answers then removes the member after its session timeout).
     */
    public void close(boolean commitFirst, long timeoutMs) {
        if (closed) {
            return;
        }
        long now = time.hiResClockMs();
        long endMs = now + Math.min(Math.max(0, timeoutMs), Long.MAX_VALUE / 2 - Math.max(0, now));
        if (heartbeater != null) {
            heartbeater.shutdownNow();
            try {
                // A resume under way on it ends first (interrupted, or with its stream open): otherwise the leave
                // below could find no stream yet, and the coordinator would only notice the member gone later.
                heartbeater.awaitTermination(Math.min(CLOSE_WAIT_MS, Math.max(0, endMs - time.hiResClockMs())),
                        TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        revocations.await(Math.max(0, endMs - time.hiResClockMs()));   // their commits before the last one and the leave
        revocations.close();
        rejoinIfLeftForSlowPoll();   // nothing to commit or leave for a member that left already
        closed = true;
        coordinator.limitRetries(Math.max(0, endMs - time.hiResClockMs()));
        RuntimeException hookFailure = null;
        try {
            if (state.joined()) {
                // A stream that broke since the last poll is resumed first: a leave must go on a stream bound to
                // this member, or the coordinator only notices the member is gone after its stream grace.
                ensureStream();
            }
        } catch (ClientException e) {
            LOG.warn("group " + config.groupId() + ": no stream to the coordinator before leaving: " + e.getMessage());
        }
        Set<TopicPartition> listenerCommitted = Set.of();
        if (state.joined() && !state.committable().isEmpty()) {
            try {
                // As Kafka's close: the listener may commit what it processed (partitions being released were told).
                listenerCommitted = revocationListener(state.committable());
            } catch (RuntimeException e) {
                // Thrown once the member has left, as Kafka's close does: skipping the commit and the leave would
                // keep its partitions from the group for a session timeout.
                hookFailure = e;
            }
        }
        try {
            if (state.joined() && commitFirst) {
                Map<TopicPartition, Long> last = new HashMap<>(ownedPositions());
                last.keySet().removeAll(listenerCommitted);   // the listener's own commit stands
                offsets.commit(last);
            }
        } catch (ClientException e) {
            LOG.warn("group " + config.groupId() + ": the last commit failed: " + e.getMessage());
        }
        leave(endMs);
        if (hookFailure != null) {
            throw hookFailure;
        }
    }

    /** Sends the leave and waits for its answer until {@code endMs}, leaving again on a new coordinator if it moved. */
    private void leave(long endMs) {
        HeartbeatRequest leave = state.leave(config);
        long retryUntil = endMs;
        boolean sent = false;
        while (true) {
            // The leave's answer is waited for within what is left, but long enough for the leave to go out.
            Throwable failure = awaitLeave(leave, sent, Math.max(CLOSE_MIN_WAIT_MS, Math.min(CLOSE_WAIT_MS, endMs - time.hiResClockMs())));
            if (failure == null || leave.getMemberEpoch() != MemberState.LEAVE_EPOCH) {
                return;   // a static member's leave only means "back soon": its session timeout covers a lost one
            }
            ClientException e = failure instanceof StatusRuntimeException sre
                    ? ClientException.fromCall(sre, coordinator.groupId() + "'s coordinator") : null;
            if (e == null || !CoordinatorClient.coordinatorMoved(e)) {
                LOG.debug("group " + config.groupId() + ": the stream ended with " + failure + " at the leave");
                return;   // fenced or forgotten already: nothing left to leave
            }
            if (time.hiResClockMs() >= retryUntil) {
                LOG.warn("group " + config.groupId() + ": the leave was not confirmed (" + e.getMessage()
                        + "); the coordinator removes the member after its session timeout");
                return;
            }
            // The coordinator moved as the member left (its partition's leader changed): the old one could not
            // make the leave durable, and the new one loaded the member without a stream. Leave there.
            LOG.info("group " + config.groupId() + ": the leave reached a coordinator that no longer coordinates the"
                    + " group (" + e.code() + "); leaving on the new one");
            coordinator.invalidate();
            try {
                RetryState.sleep(time, streamRetry.onFailure(e));
                openStream(leave);
                sent = true;
            } catch (ClientException notFound) {
                LOG.warn("group " + config.groupId() + ": no coordinator to leave on (" + notFound.getMessage()
                        + "); the coordinator removes the member after its session timeout");
                return;
            }
        }
    }

    /**
     * Sends the leave on the open stream (unless it opened with it), half-closes it and waits (up to
     * {@code waitMs}) for the coordinator to end it; returns how it failed, or null if it ended normally,
     * was never open or did not end.
     */
    private Throwable awaitLeave(HeartbeatRequest leave, boolean sent, long waitMs) {
        synchronized (lock) {
            if (requests == null) {
                return null;
            }
            if (!streamEnded) {
                if (!sent) {
                    send(leave);
                }
                try {
                    requests.onCompleted();
                } catch (IllegalStateException alreadyClosed) {
                    return null;
                }
            }
            long deadline = time.hiResClockMs() + waitMs;
            while (!streamEnded && time.hiResClockMs() < deadline) {
                waitOnLock(deadline - time.hiResClockMs());
            }
            if (!streamEnded) {
                requests.cancel("member closed", null);
                return null;
            }
            return streamFailure;
        }
    }

    /** Opens the stream if there is none, after handling how the last one ended. */
    private void ensureStream() {
        Throwable failure;
        boolean answered;
        synchronized (lock) {
            if (resuming || (requests != null && streamFailure == null && !streamEnded)) {
                return;   // open, or being reopened by the heartbeat thread
            }
            failure = streamFailure != null ? streamFailure : (requests != null ? new IllegalStateException("stream ended") : null);
            answered = answeredSinceFailure;
            requests = null;
            // Taken: handled once. A retriable failure that throws below (its retries spent) leaves no stream and no
            // failure, so the next poll opens a new stream rather than throwing the same failure again for good; a
            // fatal one is put back.
            streamFailure = null;
            streamEnded = false;
            if (failure != null) {
                answeredSinceFailure = false;
            }
        }
        if (failure != null) {
            if (answered) {
                streamRetry.onSuccess();   // a stream that worked for a while starts a fresh retry budget
            }
            try {
                onStreamFailure(failure);
            } catch (ClientException e) {
                if (fatal(failure)) {
                    synchronized (lock) {
                        streamFailure = failure;   // fatal (FENCED_INSTANCE_ID, INVALID_GROUP_ID, ...): every poll says so
                    }
                }
                throw e;
            }
        }
        if (closed && !state.joined()) {
            return;   // fenced while closing: nothing to leave
        }
        coordinator.awaitBackOff();   // what a poll's deadline left of the last back-off
        openStream();
    }

    private ClientException asClientException(Throwable failure) {
        return failure instanceof StatusRuntimeException sre
                ? ClientException.fromCall(sre, coordinator.groupId() + "'s coordinator")
                : new ClientException("STREAM_ENDED", "the coordinator ended the heartbeat stream");
    }

    /**
     * Whether a stream failure ends the membership for good (FENCED_INSTANCE_ID, INVALID_GROUP_ID, ...): every poll
     * then says so. One the member retries (the coordinator moved, was busy, or fenced the member) is not, even once
     * its retries ran out: that poll throws it, and the next one starts over.
     */
    private boolean fatal(Throwable failure) {
        ClientException e = asClientException(failure);
        return !e.retriable() && !e.is(ErrorCode.UNKNOWN_MEMBER_ID) && !e.is(ErrorCode.FENCED_MEMBER_EPOCH)
                && !e.is(ErrorCode.BUSY) && !CoordinatorClient.coordinatorMoved(e) && !e.code().equals("STREAM_ENDED");
    }

    /** {@code streamRetry.onFailure}, whose budget starts over once it ran out (the next poll tries afresh). */
    private long streamBackOffMs(ClientException e) {
        try {
            return streamRetry.onFailure(e);
        } catch (ClientException spent) {
            streamRetry.onSuccess();
            throw spent;
        }
    }

    private void onStreamFailure(Throwable failure) {
        ClientException e = asClientException(failure);
        if (e.is(ErrorCode.UNKNOWN_MEMBER_ID) || e.is(ErrorCode.FENCED_MEMBER_EPOCH)) {
            Set<TopicPartition> dropped = state.fence();
            for (TopicPartition tp : dropped) {
                positions.remove(tp);
            }
            awaitingSeek.removeAll(dropped);
            hook.onLost(dropped);
            LOG.info("group " + config.groupId() + ": " + e.code()
                    + ", joining again; dropped " + dropped + " without committing");
            return;
        }
        if (e.is(ErrorCode.BUSY)) {
            // The coordinator refused the join or heartbeat unmade (more of the group's records wait to be written
            // than it holds): the same coordinator, after a back-off.
            LOG.debug("group " + config.groupId() + ": the coordinator is busy (" + e.getMessage() + "), retrying");
            coordinator.backOff(streamBackOffMs(e));
            return;
        }
        if (!CoordinatorClient.coordinatorMoved(e) && !e.code().equals("STREAM_ENDED")) {
            throw e;
        }
        LOG.debug("group " + config.groupId() + ": heartbeat stream failed (" + e.code()
                + ": " + e.getMessage() + "), resuming on the coordinator");
        coordinator.invalidate();
        coordinator.backOff(streamBackOffMs(e));
    }

    private void openStream() {
        openStream(null);
    }

    /** Opens a stream on the coordinator and sends {@code first}, or the member's heartbeat if it is null. */
    private void openStream(HeartbeatRequest first) {
        BrokerAddress target = coordinator.coordinator();
        synchronized (lock) {
            int streamGeneration = ++generation;
            streamFailure = null;
            streamEnded = false;
            streamAnswered = false;
            requests = (ClientCallStreamObserver<HeartbeatRequest>) GroupServiceGrpc.newStub(channels.channel(target))
                    .heartbeat(new ResponseObserver(streamGeneration));
            send(first != null ? first : state.heartbeat(config));
        }
    }

    /** Releases what the latest assignment revoked (after committing it), then takes what it added. */
    private void reconcile() {
        MemberState.Reconciliation plan = state.reconcile();
        RuntimeException hookFailure = null;
        if (!plan.revoke().isEmpty()) {
            Set<TopicPartition> listenerCommitted = new HashSet<>();
            try {
                listenerCommitted = revocationListener(plan.revoke());   // still owned here: it may commit them itself
            } catch (RuntimeException e) {
                // As Kafka's consumer: the revocation goes on (the partitions are released, the others taken) and
                // the poll then throws the listener's failure once. Stopping here would call the listener again on
                // every poll and hold the revoked partitions until the member is fenced.
                hookFailure = e;
            }
            Map<TopicPartition, Long> last = new HashMap<>();
            for (TopicPartition tp : plan.revoke()) {
                long position = positions.position(tp);
                if (position >= 0 && !listenerCommitted.contains(tp)) {
                    last.put(tp, position);
                }
            }
            plan.revoke().forEach(positions::remove);
            awaitingSeek.removeAll(plan.revoke());
            if (commitOnRevoke && !last.isEmpty()) {
                state.releasing(plan.revoke());
                revocations.commitThenRelease(plan.revoke(), last, partitions -> release(partitions, true));
            } else {
                release(plan.revoke(), false);
            }
        }
        if (!plan.assign().isEmpty()) {
            Map<TopicPartition, Long> starts;
            try {
                starts = offsets.startOffsetsOrNone(plan.assign(), config.offsetReset());
            } catch (RuntimeException e) {
                if (hookFailure == null) {
                    throw e;
                }
                hookFailure.addSuppressed(e);   // the listener's failure first; the next poll takes the partitions
                throw hookFailure;
            }
            refreshLeaders(plan.assign());
            Set<TopicPartition> taken = state.acquired(plan.assign());
            for (TopicPartition tp : taken) {
                long start = starts.get(tp);
                if (start == OffsetStore.NO_START) {
                    awaitingSeek.add(tp);   // the listener, or the caller after the poll throws, seeks it
                } else {
                    positions.add(tp, start);
                }
            }
            LOG.debug("group " + config.groupId() + ": took " + plan.assign());
            heartbeatNow();
            try {
                hook.onAssigned(taken);   // also after a failed revocation listener: these are owned now, and never told again
            } catch (RuntimeException e) {
                if (hookFailure == null) {
                    throw e;
                }
                hookFailure.addSuppressed(e);
            }
        }
        if (hookFailure != null) {
            throw hookFailure;
        }
    }

    /** The partitions are released: no longer owned, and the coordinator hears so now. */
    private void release(Set<TopicPartition> partitions, boolean afterCommit) {
        synchronized (lock) {
            if (afterCommit) {
                state.releasedAfterCommit(partitions);
            } else {
                state.released(partitions);
            }
            LOG.debug("group " + config.groupId() + ": released " + partitions);
            if (requests != null && !closed) {
                send(state.heartbeat(config));
            }
        }
    }

    /**
     * Leaders of newly assigned topics up front, so the first fetch does not wait out a backoff for them; no call
     * when every leader is known already (the usual case: partitions moving between members of one topic), so the
     * partitions the member keeps do not wait for it.
     */
    private void refreshLeaders(Set<TopicPartition> partitions) {
        if (partitions.stream().allMatch(tp -> metadata.leader(tp).isPresent())) {
            return;
        }
        try {
            metadata.refresh(partitions.stream().map(TopicPartition::topic).distinct().toList(), false);
        } catch (ClientException e) {
            LOG.debug("metadata refresh failed, the fetcher retries: " + e.getMessage());
        }
    }

    /**
     * A heartbeat when the interval has passed, once the stream has answered: until then the last request was the
     * stream's first (a join at epoch 0, which the coordinator refuses to see twice on one stream), and a
     * coordinator still loading its partition may take longer than an interval to answer it.
     */
    private void heartbeatIfDue() {
        boolean answered;
        synchronized (lock) {
            answered = streamAnswered;
        }
        if (answered && time.hiResClockMs() - lastHeartbeatMs() >= state.heartbeatIntervalMs()) {
            heartbeatNow();
        }
    }

    private void heartbeatNow() {
        synchronized (lock) {
            if (requests != null) {
                send(state.heartbeat(config));
            }
        }
    }

    /** Sends on the open stream (lock held); a stream that already failed is noticed by the next poll. */
    private void send(HeartbeatRequest request) {
        try {
            requests.onNext(request);
        } catch (IllegalStateException | StatusRuntimeException e) {
            LOG.debug("heartbeat not sent: " + e);
        }
        lastHeartbeatMs = time.hiResClockMs();
    }

    private long lastHeartbeatMs() {
        synchronized (lock) {
            return lastHeartbeatMs;
        }
    }

    /**
     * Whether the coordinator may have removed this member: its stream broke and no new one has been answered for
     * nearly a session timeout (less one heartbeat interval: the last heartbeat the coordinator got may be that much
     * older than the break; a coordinator that took over gives members a full session from its load). Its
     * partitions may belong to another member by now, so poll hands out nothing until a stream is answered again
     * (the member goes on, or learns it was fenced and drops them). Without this, a member whose poll thread was
     * busy for longer than its session (a long commit while the coordinator moved) handed out records of
     * partitions another member was consuming already (found by the chaos suite's group-ownership check).
     */
    private boolean membershipInDoubt() {
        int sessionMs = state.sessionTimeoutMs() > 0 ? state.sessionTimeoutMs() : config.sessionTimeoutMs();
        synchronized (lock) {
            if (unconfirmedSinceMs < 0 || sessionMs <= 0) {
                return false;
            }
            long silentMs = time.hiResClockMs() - unconfirmedSinceMs;
            long limitMs = sessionMs - state.heartbeatIntervalMs();
            int graceMs = state.streamGraceMs();
            if (unconfirmedByBreak && graceMs > 0) {
                // The coordinator saw the break too, and hands the partitions on after its grace.
                limitMs = Math.min(limitMs, graceMs);
            }
            boolean doubt = silentMs >= limitMs;
            if (doubt && !doubtLogged) {
                doubtLogged = true;
                LOG.warn("group {}: no answer from the coordinator for {} ms ({}): consuming nothing until it confirms the "
                        + "membership", config.groupId(), silentMs, unconfirmedByBreak && graceMs > 0
                        ? "its stream broke; the coordinator's stream grace is " + graceMs + " ms"
                        : "session timeout " + sessionMs + " ms");
            }
            return doubt;
        }
    }

    /**
     * Whether the open, answered stream has brought nothing for half a session timeout (lock held). The coordinator
     * answers a heartbeat at least every quarter session, so a live one is never that quiet.
     */
    private boolean silent() {
        int sessionMs = state.sessionTimeoutMs() > 0 ? state.sessionTimeoutMs() : config.sessionTimeoutMs();
        return !streamEnded && sessionMs > 0 && time.hiResClockMs() - lastAnswerMs >= sessionMs / 2;
    }

    /** Waits until the stream brings a response or fails, or {@code ms} pass. */
    private void awaitStreamEvent(long ms) {
        synchronized (lock) {
            waitOnLock(ms);
        }
    }

    private void waitOnLock(long ms) {
        if (ms <= 0) {
            return;
        }
        try {
            lock.wait(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClientException("INTERRUPTED", "interrupted while waiting for the group coordinator");
        }
    }

    /** The current stream ended (lock held): the membership is unconfirmed from now until a stream answers. */
    private void markUnconfirmed() {
        if (unconfirmedSinceMs < 0) {
            unconfirmedSinceMs = time.hiResClockMs();
        }
    }

    /** Hands the coordinator's pushes over to the poll thread; ignores streams that were replaced. */
    private final class ResponseObserver implements StreamObserver<HeartbeatResponse> {
        private final int streamGeneration;

        ResponseObserver(int streamGeneration) {
            this.streamGeneration = streamGeneration;
        }

        @Override
        public void onNext(HeartbeatResponse response) {
            synchronized (lock) {
                if (streamGeneration == generation) {
                    state.onResponse(response);
                    streamAnswered = true;
                    answeredSinceFailure = true;
                    lastAnswerMs = time.hiResClockMs();
                    unconfirmedSinceMs = -1;
                    unconfirmedByBreak = false;
                    doubtLogged = false;
                    lock.notifyAll();
                }
            }
        }

        @Override
        public void onError(Throwable t) {
            synchronized (lock) {
                if (streamGeneration == generation) {
                    streamFailure = t;
                    streamEnded = true;
                    if (unconfirmedSinceMs < 0) {
                        unconfirmedByBreak = !(t instanceof StatusRuntimeException sre) || sre.getTrailers() == null
                                || !sre.getTrailers().containsKey(io.rafka.client.internals.ErrorCodes.ERROR_CODE_TRAILER);
                    }
                    markUnconfirmed();
                    lock.notifyAll();
                }
            }
        }

        @Override
        public void onCompleted() {
            synchronized (lock) {
                if (streamGeneration == generation) {
                    streamEnded = true;
                    markUnconfirmed();
                    lock.notifyAll();
                }
            }
        }
    }
}
