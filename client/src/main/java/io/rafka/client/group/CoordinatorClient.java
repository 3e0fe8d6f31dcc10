package io.rafka.client.group;

import io.grpc.StatusRuntimeException;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.ClientException;
import io.rafka.client.internals.MetadataClient;
import io.rafka.client.internals.RetryState;
import io.rafka.common.Time;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FindCoordinatorRequest;
import io.rafka.proto.v1.FindCoordinatorResponse;
import io.rafka.proto.v1.GroupServiceGrpc;

import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Reaches one group's coordinator: asks FindCoordinator (the bootstrap broker first, then every broker the
 * latest metadata listed, so a dead bootstrap broker does not stop a running member), remembers the answer,
 * and sends calls there. A call that finds the coordinator gone or moved (NOT_COORDINATOR,
 * COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, a broker that does not answer) asks again and
 * retries, with backoff, for up to the retry timeout; any other failure is the caller's.
 *
 * <p>Thread-safe: the coordinator's address is replaced whole; a search and a back-off that {@link #stopWhen} cut
 * short are kept for the thread they were cut on (the consumer's poll thread), which alone goes on with them.
 */
public final class CoordinatorClient {

    /** Group calls wait for a Raft commit at most (a commit, an offset reset): seconds, not minutes. */
    public static final long RPC_DEADLINE_MS = 30_000;
    static final long FIND_DEADLINE_MS = 10_000;

    private final String groupId;
    private final ChannelPool channels;
    private final BrokerAddress bootstrap;
    private final MetadataClient metadata;
    private final Time time;
    private volatile long retryTimeoutMs;
    /** Set by {@link #limitRetries}: no call goes on past it, attempts included ({@code Long.MAX_VALUE}: none). */
    private volatile long endAtMs = Long.MAX_VALUE;
    private volatile BrokerAddress coordinator;
    /** While it holds, a retrying call stops before its next attempt or during its back-off: {@link #stopWhen}. */
    private volatile java.util.function.BooleanSupplier stop = () -> false;
    /**
     * A back-off that a stop cut short, and the thread it was cut on (the poll thread: only it is stopped): that
     * thread's next call, search or stream waits for the rest first ({@link #awaitBackOff}), so polls shorter than the
     * back-off do not try at every poll. Other threads (heartbeat, commits, close) are not held back by it.
     */
    private record CutBackOff(Thread thread, long endMs) {
    }

    private final java.util.concurrent.atomic.AtomicReference<CutBackOff> cutBackOff = new java.util.concurrent.atomic.AtomicReference<>();

    /**
     * A search for the coordinator that a stop cut short: on which thread (only its next search goes on with it),
     * its retry budget, when, and how many of the round's candidate brokers it had asked (the next search asks the
     * others first, so a dead first candidate does not hide a live second one from polls that stop after one).
     */
    private record StoppedSearch(Thread thread, RetryState retry, long stoppedAtMs, int asked, long foundBefore) {
    }

    /** Searches that found the coordinator, on any thread: a stopped search older than the last is over. */
    private final java.util.concurrent.atomic.AtomicLong searchesFound = new java.util.concurrent.atomic.AtomicLong();

    /** A stopped search older than this is of an episode that ended (polls come far more often): not taken up. */
    static final long STOPPED_SEARCH_STALE_MS = 10_000;
    private final java.util.concurrent.atomic.AtomicReference<StoppedSearch> stoppedSearch = new java.util.concurrent.atomic.AtomicReference<>();

    /** @param metadata where other brokers to ask are known from; may be null (then the bootstrap only) */
    public CoordinatorClient(String groupId, ChannelPool channels, BrokerAddress bootstrap, MetadataClient metadata,
                             Time time, long retryTimeoutMs) {
        this.groupId = groupId;
        this.channels = channels;
        this.bootstrap = bootstrap;
        this.metadata = metadata;
        this.time = time;
        this.retryTimeoutMs = retryTimeoutMs;
    }

    public String groupId() {
        return groupId;
    }

    /** The coordinator's address, found (and retried) now if not known. */
    public BrokerAddress coordinator() {
        BrokerAddress known = coordinator;
        if (known != null) {
            StoppedSearch stopped = stoppedSearch.get();
            if (stopped != null && stopped.thread() == Thread.currentThread()) {
                stoppedSearch.compareAndSet(stopped, null);   // found meanwhile (by another thread): that search is over
            }
        }
        if (known == null) {
            known = find();
            coordinator = known;
        }
        return known;
    }

    /**
     * From now on every call, its attempts and retries included, ends within {@code ms} (a closing member must not
     * wait out the whole budget, nor a 30 s deadline per attempt).
     */
    public void limitRetries(long ms) {
        retryTimeoutMs = Math.min(retryTimeoutMs, ms);
        endAtMs = Math.min(endAtMs, time.hiResClockMs() + ms);
        stoppedSearch.set(null);   // its budget is older than this limit
    }

    /** An attempt's deadline: {@code capMs}, or less once the calls are limited. */
    private long attemptMs(long capMs) {
        long end = endAtMs;
        return end == Long.MAX_VALUE ? capMs : Math.max(1, Math.min(capMs, end - time.hiResClockMs()));
    }

    /** Whether the calls are limited and their time is spent: the failure at hand is the last. */
    private boolean spent() {
        return time.hiResClockMs() >= endAtMs;
    }

    /**
     * Retrying calls (and the search for the coordinator) end with {@link #WOKEN_UP} before their next attempt, and
     * within {@value #STOP_CHECK_MS} ms of a back-off, once {@code condition} holds: the consumer's {@code wakeup()},
     * or its poll's time running out, while the coordinator is away. An attempt under way runs to its own deadline,
     * and the attempt that is due when a call or search starts is always made; the next call or search of the
     * stopped thread waits out the rest of the back-off and goes on with the search's budget and brokers.
     */
    public void stopWhen(java.util.function.BooleanSupplier condition) {
        this.stop = condition;
    }

    /** The code of the failure a call ends with when {@link #stopWhen}'s condition holds. */
    public static final String WOKEN_UP = "WAKEUP";
    static final long STOP_CHECK_MS = 50;

    private void checkStop() {
        if (stop.getAsBoolean()) {
            throw new ClientException(WOKEN_UP, "woken up while retrying a call to group " + groupId + "'s coordinator");
        }
    }

    /**
     * A back-off that ends early, with {@link #WOKEN_UP}, once {@link #stopWhen}'s condition holds; what is left of
     * it is then waited for by the next call ({@link #awaitBackOff}).
     */
    void backOff(long ms) {
        long end = Math.min(time.hiResClockMs() + ms, endAtMs);   // never past a closing member's limit
        try {
            waitFor(end);
            checkStop();
        } catch (ClientException e) {
            if (e.code().equals(WOKEN_UP)) {
                cutBackOff.set(new CutBackOff(Thread.currentThread(), end));
            }
            throw e;
        }
    }

    /**
     * On the thread whose back-off a stop cut short (a poll's deadline, a wakeup): waits for the rest of it, stopping
     * again if the condition still holds; at once otherwise. An attempt due now is made whether or not the poll's
     * time is up, so a caller polling with no wait at all still reaches the coordinator.
     */
    void awaitBackOff() {
        CutBackOff cut = cutBackOff.get();
        if (cut == null || cut.thread() != Thread.currentThread()) {
            return;
        }
        waitFor(Math.min(cut.endMs(), endAtMs));
        cutBackOff.compareAndSet(cut, null);
    }

    private void waitFor(long endMs) {
        for (long left = endMs - time.hiResClockMs(); left > 0; left = endMs - time.hiResClockMs()) {
            checkStop();
            RetryState.sleep(time, Math.min(left, STOP_CHECK_MS));
        }
    }

    /** The coordinator moved or failed: the next call asks FindCoordinator again. */
    public void invalidate() {
        coordinator = null;
    }

    /**
     * Runs a unary GroupService call on the coordinator, finding it again and retrying while it moves, and
     * retrying on the same coordinator while it answers BUSY (it refused the call unmade: more of the group's
     * records wait to be written than it holds).
     *
     * @throws ClientException the call's own failure, or the last coordinator or BUSY failure after the retry timeout
     */
    public <T> T call(Function<GroupServiceGrpc.GroupServiceBlockingStub, T> rpc) {
        RetryState retry = new RetryState(time, retryTimeoutMs);
        awaitBackOff();
        while (true) {
            BrokerAddress target = coordinator();
            try {
                return rpc.apply(GroupServiceGrpc.newBlockingStub(channels.channel(target))
                        .withDeadlineAfter(attemptMs(RPC_DEADLINE_MS), TimeUnit.MILLISECONDS));
            } catch (StatusRuntimeException e) {
                ClientException failure = ClientException.fromCall(e, target);
                if (spent()) {
                    throw failure;
                }
                if (failure.is(ErrorCode.BUSY)) {
                    backOff(retry.onFailure(failure));
                    continue;
                }
                if (!coordinatorMoved(failure)) {
                    throw failure;
                }
                io.grpc.Context caller = io.grpc.Context.current();
                if (!caller.isCancelled() || io.rafka.client.internals.CallContexts.timedOut(caller)) {
                    invalidate();   // not when the caller gave up (a wakeup, a close): the coordinator did not fail
                }
                backOff(retry.onFailure(failure));
            }
        }
    }

    /** Failures that mean "ask FindCoordinator again": the coordinator moved, is loading, or is not reachable. */
    public static boolean coordinatorMoved(ClientException failure) {
        return failure.is(ErrorCode.NOT_COORDINATOR) || failure.is(ErrorCode.COORDINATOR_NOT_AVAILABLE)
                || failure.is(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
                || failure.code().equals("UNAVAILABLE") || failure.code().equals("DEADLINE_EXCEEDED")
                || failure.code().equals("CANCELLED");
    }

    private BrokerAddress find() {
        StoppedSearch stopped = stoppedSearch.get();
        long foundBefore = searchesFound.get();
        boolean resumed = stopped != null && stopped.thread() == Thread.currentThread()
                && time.hiResClockMs() - stopped.stoppedAtMs() <= STOPPED_SEARCH_STALE_MS
                && stopped.foundBefore() == foundBefore   // nobody found the coordinator since it began
                && stoppedSearch.compareAndSet(stopped, null);
        RetryState retry = resumed ? stopped.retry() : new RetryState(time, retryTimeoutMs);
        int[] asked = {resumed ? stopped.asked() : 0};
        try {
            awaitBackOff();
            BrokerAddress found = find(retry, asked);
            searchesFound.incrementAndGet();
            stoppedSearch.set(null);   // found: whatever search a thread left stopped is over too
            return found;
        } catch (ClientException e) {
            if (e.code().equals(WOKEN_UP)) {
                // This thread's next search goes on with this budget, the round's remaining brokers and its back-off.
                long began = resumed ? stopped.foundBefore() : foundBefore;
                stoppedSearch.set(new StoppedSearch(Thread.currentThread(), retry, time.hiResClockMs(), asked[0], began));
            }
            throw e;
        }
    }

    /** {@code asked[0]}: candidates of the current round asked already (skipped), kept up to date for a stop. */
    private BrokerAddress find(RetryState retry, int[] asked) {
        FindCoordinatorRequest request = FindCoordinatorRequest.newBuilder().setGroupId(groupId).build();
        while (true) {
            Set<BrokerAddress> candidates = new LinkedHashSet<>();
            if (metadata != null) {
                candidates.addAll(metadata.candidates());
            } else {
                candidates.add(bootstrap);
            }
            ClientException failure = null;
            boolean attempted = false;
            int index = 0;
            for (BrokerAddress address : candidates) {
                if (index++ < asked[0]) {
                    continue;   // asked by the stopped search this one goes on with
                }
                if (attempted) {
                    checkStop();   // the attempt that was due was made: the next broker only while the poll may go on
                }
                attempted = true;
                asked[0]++;
                try {
                    FindCoordinatorResponse response = GroupServiceGrpc.newBlockingStub(channels.channel(address))
                            .withDeadlineAfter(attemptMs(FIND_DEADLINE_MS), TimeUnit.MILLISECONDS)
                            .findCoordinator(request);
                    if (response.hasCoordinator() && !response.getCoordinator().getHost().isEmpty()
                            && response.getCoordinator().getPort() > 0) {
                        return BrokerAddress.of(response.getCoordinator());
                    }
                    failure = ClientException.of(ErrorCode.COORDINATOR_NOT_AVAILABLE,
                            "broker " + address + " named no coordinator for group " + groupId);
                } catch (StatusRuntimeException e) {
                    failure = ClientException.fromCall(e, address);
                    if (!failure.retriable() || spent()) {
                        throw failure;
                    }
                }
            }
            if (!attempted) {
                asked[0] = 0;   // the stopped search had asked them all (or the list shrank): a new round
                continue;
            }
            asked[0] = 0;
            if (spent()) {
                throw failure;
            }
            backOff(retry.onFailure(failure));
        }
    }
}
