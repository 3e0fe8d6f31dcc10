package io.rafka.raft.internal;

import org.apache.ratis.conf.Parameters;
import org.apache.ratis.protocol.RaftPeerId;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * What a Raft server's leaders' log appenders ({@link PromptCatchUp}) learn from its {@link LeaderFailureDetector}:
 * whether a follower's server refuses connections (its process is not running), and the moment it accepts them
 * again. Created before the Ratis server (it travels to the appenders in the server's {@link Parameters}), joined
 * to the detector once both exist; without a detector no server counts as refusing. Thread-safe.
 */
public final class PeerReachability {
    private static final String PARAMETER = PeerReachability.class.getName();

    private volatile Predicate<RaftPeerId> refusesConnections = peer -> false;
    private final Map<RaftPeerId, Set<Runnable>> wakeUps = new ConcurrentHashMap<>();

    /** Makes {@code reachability} known to the appenders of the server built with {@code parameters}. */
    public static Parameters putInto(Parameters parameters, PeerReachability reachability) {
        parameters.put(PARAMETER, reachability, PeerReachability.class);
        return parameters;
    }

    /** The reachability put into {@code parameters}, or one that knows nothing (no detector). */
    static PeerReachability from(Parameters parameters) {
        PeerReachability r = parameters == null ? null : parameters.get(PARAMETER, PeerReachability.class);
        return r != null ? r : new PeerReachability();
    }

    /** Takes the servers' state from {@code detector}, and wakes the appenders of a server it sees come back. */
    public void detectWith(LeaderFailureDetector detector) {
        refusesConnections = detector::refusesConnections;
        detector.onReachableAgain(this::reachableAgain);
    }

    boolean refusesConnections(RaftPeerId peer) {
        return refusesConnections.test(peer);
    }

    /** Runs {@code wakeUp} each time {@code peer}'s server accepts connections again, until {@link #forget}. */
    void onReachableAgain(RaftPeerId peer, Runnable wakeUp) {
        wakeUps.computeIfAbsent(peer, p -> ConcurrentHashMap.newKeySet()).add(wakeUp);
    }

    void forget(RaftPeerId peer, Runnable wakeUp) {
        wakeUps.computeIfPresent(peer, (p, set) -> {
            set.remove(wakeUp);
            return set.isEmpty() ? null : set;
        });
    }

    void reachableAgain(RaftPeerId peer) {
        Set<Runnable> set = wakeUps.get(peer);
        if (set != null) {
            set.forEach(Runnable::run);
        }
    }
}
