package io.rafka.server.replica;

import io.rafka.common.TopicPartition;
import io.rafka.raft.RaftNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Says in the log when followers of partitions this broker leads fall silent and when none is waited for any
 * more, as Kafka logs its ISR shrinking and expanding: one line per follower node and change, not one per
 * partition and retry. (Ratis's own log appender warns per partition, follower and failed call, hundreds of
 * lines for one stopped broker and six partitions, so brokers log it at ERROR only.)
 *
 * <p>A follower is silent on a partition when it has not answered the leader for {@code replica.lag.time.max.ms},
 * the rule of {@code rafka_under_replicated_partitions}. {@link #check} is called periodically.
 */
public final class FollowerSilenceLog {
    private static final Logger LOG = LoggerFactory.getLogger(FollowerSilenceLog.class);
    private static final int NAMED = 5;
    private static final Comparator<TopicPartition> ORDER = TopicPartition.ORDER;

    private final RaftNode raftNode;
    private final long lagMs;
    /** By follower node id, the partitions led here on which it was silent at the last check. */
    private Map<String, Set<TopicPartition>> silent = Map.of();

    public FollowerSilenceLog(RaftNode raftNode, long lagMs) {
        this.raftNode = raftNode;
        this.lagMs = lagMs;
    }

    /** Looks at every partition led here and logs what changed since the last call. */
    public synchronized void check() {
        Map<String, Set<TopicPartition>> now = new TreeMap<>();
        for (TopicPartition tp : raftNode.partitions()) {
            for (String follower : raftNode.laggingFollowerIds(tp, lagMs)) {
                now.computeIfAbsent(follower, f -> new TreeSet<>(ORDER)).add(tp);
            }
        }
        for (Map.Entry<String, Set<TopicPartition>> e : now.entrySet()) {
            Set<TopicPartition> before = silent.getOrDefault(e.getKey(), Set.of());
            long added = e.getValue().stream().filter(tp -> !before.contains(tp)).count();
            if (added > 0) {
                LOG.warn("follower {} has not answered for {} ms or more on {} partition(s) led here ({} more since the "
                        + "last report), which are under-replicated: {}", e.getKey(), lagMs, e.getValue().size(), added,
                        named(e.getValue()));
            }
        }
        for (String follower : silent.keySet()) {
            if (!now.containsKey(follower)) {
                LOG.info("no partition led here waits for follower {} any more (it answers again, or the partitions are "
                        + "led elsewhere now)", follower);
            }
        }
        silent = new HashMap<>(now);
    }

    /** The followers silent at the last check, with how many partitions led here each. */
    public synchronized Map<String, Integer> silentFollowers() {
        return silent.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().size()));
    }

    private static String named(Set<TopicPartition> partitions) {
        String first = partitions.stream().limit(NAMED).map(TopicPartition::toString).collect(Collectors.joining(", "));
        return partitions.size() > NAMED ? first + ", ..." : first;
    }
}
