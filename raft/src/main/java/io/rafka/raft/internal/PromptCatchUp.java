package io.rafka.raft.internal;

import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.grpc.server.GrpcLogAppender;
import org.apache.ratis.rpc.RpcFactory;
import org.apache.ratis.rpc.RpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.leader.LogAppender;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.Timestamp;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Ratis's gRPC transport with two changes to its leaders' log appenders, so that a follower that comes back (a
 * restarted broker) is sent to at once instead of up to a second and a half later.
 *
 * <p><b>Why.</b> Ratis 3.3's {@link GrpcLogAppender} sleeps after each new error, by its retry policy and the count
 * of errors since the follower last answered with success, and nothing wakes that sleep. With a policy that backs
 * off to 500 ms (what a server with hundreds of groups and a dead peer needs, since each group's appender retries on
 * its own), the leader's first append reached a restarted follower up to 750 ms after its port opened; and that
 * append was often refused (INCONSISTENCY: the leader's guess of where the follower's log ends ran ahead while it
 * was down, as each failed send keeps the next index it advanced), which counted as one more error and slept up to
 * 750 ms more before the leader sent what the follower asked for (docs/BENCHMARKS.md).
 *
 * <p><b>What changes.</b>
 * <ol>
 *   <li>While the {@link LeaderFailureDetector} sees the follower's server refuse connections and the follower has
 *   not answered for {@link #SILENCE_MS}, the appender retries once every {@link #UNREACHABLE_RETRY_MS}, and new
 *   entries do not wake it; the detector's seeing the server accept connections again wakes it at once, with the
 *   error count cleared, and until the follower answers it looks again every {@code COMING_BACK_RETRY_MS} (at most
 *   {@code COMING_BACK_ROUNDS} times) instead of Ratis's heartbeat interval. A sleep already under way when the server
 *   comes back cannot be cut short.</li>
 *   <li>The first answers after such a silence clear the error count: a refused append is retried at once, as
 *   Raft's leader does. A live follower that keeps refusing has no silence, so its back-off is Ratis's.</li>
 * </ol>
 * The detector counts any failed connection to the server (refused, timed out, unreachable), so a follower cut off by
 * the network is paced the same once the detector's own connection to it has failed; until then the retry policy
 * alone paces the appender.
 *
 * <p>Plugged in through Ratis's extension point for transports: {@link RatisProperties} names this class as the
 * server's RPC type ({@code raft.rpc.type}; Ratis takes a class name there as a user-defined type and instantiates
 * it), and the server's {@link Parameters} carry its {@link PeerReachability}.
 */
public final class PromptCatchUp implements RpcType {
    /** A follower silent this long counts as gone, and its first answer after that clears its error count. */
    static final long SILENCE_MS = 1_000;
    /** How often an appender retries a follower whose server refuses connections. */
    static final long UNREACHABLE_RETRY_MS = 1_000;
    /** How often it retries a follower whose server accepts connections again, until the follower answers... */
    private static final long COMING_BACK_RETRY_MS = 20;
    /** ... at most this many times ... */
    private static final int COMING_BACK_ROUNDS = 25;
    /** ... and for at most this long after the detector saw the server come back. */
    private static final long COMING_BACK_NANOS = TimeUnit.SECONDS.toNanos(2);
    /**
     * Answers clear the count for this long after the first one after a silence, so that the clearing is not missed
     * when the refusal's own call comes late (its reply thread waits for the appender's lock while it reads entries).
     */
    private static final long JUST_NOW_MS = 250;
    private static final AtomicLong CLEARED = new AtomicLong();
    private static final AtomicLong WOKEN = new AtomicLong();
    private static final AtomicLong UNREACHABLE_WAITS = new AtomicLong();

    /** Error counts cleared by followers answering after a silence, in this JVM (a probe for tests). */
    public static long cleared() {
        return CLEARED.get();
    }

    /** Appenders woken because their follower's server accepts connections again, in this JVM (a probe for tests). */
    public static long woken() {
        return WOKEN.get();
    }

    /** Appender rounds that ended waiting for a follower whose server refuses connections (a probe for tests). */
    public static long unreachableWaits() {
        return UNREACHABLE_WAITS.get();
    }

    @Override
    public String name() {
        return PromptCatchUp.class.getName();
    }

    @Override
    public RpcFactory newFactory(Parameters parameters) {
        return new Factory(parameters);
    }

    private static final class Factory extends GrpcFactory {
        private final PeerReachability reachability;

        Factory(Parameters parameters) {
            super(parameters);
            this.reachability = PeerReachability.from(parameters);
        }

        @Override
        public LogAppender newLogAppender(RaftServer.Division server, LeaderState leaderState, FollowerInfo follower) {
            return new Appender(server, leaderState, follower, reachability);
        }
    }

    private static final class Appender extends GrpcLogAppender {
        private final PeerReachability reachability;
        private final Runnable wakeUp = this::wakeUp;
        /** The follower's last answer as last seen here, and the one before it. */
        private final AtomicReference<Timestamp> lastAnswer = new AtomicReference<>();
        private volatile Timestamp answerBefore;
        /** The answer the count was last cleared for (counted once in {@link #CLEARED}). */
        private final AtomicReference<Timestamp> clearedFor = new AtomicReference<>();
        /** When the detector last saw the follower's server accept connections again (0: never). */
        private volatile long reachableAgainNanos;
        /** Rounds since then that looked again after {@link #COMING_BACK_RETRY_MS}. */
        private final AtomicInteger comingBackRounds = new AtomicInteger();

        Appender(RaftServer.Division server, LeaderState leaderState, FollowerInfo follower,
                 PeerReachability reachability) {
            super(server, leaderState, follower);
            this.reachability = reachability;
            reachability.onReachableAgain(follower.getId(), wakeUp);
        }

        private boolean silent() {
            return getFollower().getLastRpcResponseTime().elapsedTimeMs() >= SILENCE_MS;
        }

        private boolean unreachable() {
            return reachability.refusesConnections(getFollowerId()) && silent();
        }

        /**
         * After its error sleep, how long the appender waits for a signal before it looks again: a second while the
         * follower's server is down; 20 ms while it is back but the follower has not answered yet and no append is
         * in flight to it (Ratis would wait a heartbeat interval, as for any slow follower); else as Ratis.
         */
        @Override
        public long getWaitTimeMs() {
            if (silent()) {
                if (reachability.refusesConnections(getFollowerId())) {
                    UNREACHABLE_WAITS.incrementAndGet();
                    return UNREACHABLE_RETRY_MS;
                }
                long since = reachableAgainNanos;
                if (since != 0 && System.nanoTime() - since < COMING_BACK_NANOS && !hasPendingDataRequests()
                        && comingBackRounds.incrementAndGet() <= COMING_BACK_ROUNDS) {
                    return COMING_BACK_RETRY_MS;
                }
            }
            return super.getWaitTimeMs();
        }

        /**
         * Called by Ratis after every answer (once it has counted it) and for every new entry. The answer's own
         * call comes after Ratis counted a refusal, so the clearing is not lost to a call that came between.
         */
        @Override
        public void notifyLogAppender() {
            FollowerInfo follower = getFollower();
            Timestamp answer = follower.getLastRpcResponseTime();
            Timestamp seen = lastAnswer.get();
            if (answer != seen && lastAnswer.compareAndSet(seen, answer)) {
                answerBefore = seen;
            }
            Timestamp before = answerBefore;
            if (before != null && answer.elapsedTimeMs() <= JUST_NOW_MS
                    && before.elapsedTimeMs() - answer.elapsedTimeMs() >= SILENCE_MS) {
                follower.getErrorState().updateErrorCount(false);
                if (clearedFor.getAndSet(answer) != answer) {
                    CLEARED.incrementAndGet();
                }
            }
            if (!isRunning() || !unreachable()) {
                super.notifyLogAppender();
            }
        }

        /**
         * The follower's server accepts connections again: retry at once, with the error count cleared. The first
         * attempt may still fail (Ratis's channel to the server waits out gRPC's reconnect back-off until a failed
         * call makes it dial again), and is then retried after 1 ms instead of the back-off of the silence.
         */
        private void wakeUp() {
            WOKEN.incrementAndGet();
            comingBackRounds.set(0);
            reachableAgainNanos = System.nanoTime();
            getFollower().getErrorState().updateErrorCount(false);
            super.notifyLogAppender();
        }

        @Override
        public CompletableFuture<LifeCycle.State> stopAsync() {
            reachability.forget(getFollowerId(), wakeUp);
            return super.stopAsync();
        }

        /** Also forgotten when its thread ends: Ratis may start an appender that a concurrent stop never reaches. */
        @Override
        public void run() throws IOException {
            try {
                super.run();
            } finally {
                reachability.forget(getFollowerId(), wakeUp);
            }
        }
    }
}
