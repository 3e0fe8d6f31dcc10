package io.rafka.server.replica;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.rafka.proto.v1.CreateTopicsRequest;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.NewTopic;
import io.rafka.server.testing.BrokerCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three in-process brokers, a topic of three partitions on all of them: while broker 3 is down, the survivors'
 * {@link FollowerSilenceLog}s name follower 3 once, with every partition they lead, and once it is back and
 * replicating they say that no partition waits for it any more. Each check reads the leaders' real Raft state.
 */
class FollowerSilenceLogIT {
    private static final long LAG_MS = 1_000;

    @TempDir
    Path tmp;

    @Test
    void aStoppedFollowerIsReportedOncePerChangeNotPerPartitionAndCall() throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger(FollowerSilenceLog.class);
        // Only this thread's checks: the brokers run their own FollowerSilenceLog every 5 s as well.
        String me = Thread.currentThread().getName();
        ListAppender<ILoggingEvent> seen = new ListAppender<>() {
            @Override
            protected void append(ILoggingEvent e) {
                if (me.equals(e.getThreadName())) {
                    super.append(e);
                }
            }
        };
        seen.start();
        logger.addAppender(seen);
        try (BrokerCluster cluster = BrokerCluster.start(3, tmp, Map.of("replica.lag.time.max.ms", Long.toString(LAG_MS)))) {
            assertEquals(ErrorCode.NONE, cluster.admin(0).createTopics(CreateTopicsRequest.newBuilder().addTopics(
                    NewTopic.newBuilder().setName("silence").setPartitions(3).setReplicationFactor(3)).build())
                    .getResults(0).getErrorCode());
            cluster.awaitLeaders(0, "silence", 30_000);
            List<FollowerSilenceLog> survivors = List.of(new FollowerSilenceLog(cluster.broker(0).raftNode(), LAG_MS),
                    new FollowerSilenceLog(cluster.broker(1).raftNode(), LAG_MS));
            survivors.forEach(FollowerSilenceLog::check);
            assertTrue(survivors.stream().allMatch(s -> s.silentFollowers().isEmpty()), "nobody silent while all run");
            assertTrue(seen.list.isEmpty(), seen.list.toString());

            cluster.kill(2);
            // Broker 3's partitions fail over to the survivors; then every partition waits for follower 3.
            cluster.awaitTrue(() -> {
                survivors.forEach(FollowerSilenceLog::check);
                return survivors.stream().mapToInt(s -> s.silentFollowers().getOrDefault("3", 0)).sum() == 3;
            }, 30_000, "follower 3 silent on all three partitions");
            for (int i = 0; i < 5; i++) {
                survivors.forEach(FollowerSilenceLog::check);
            }
            List<ILoggingEvent> warnings = seen.list.stream()
                    .filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN).toList();
            assertTrue(!warnings.isEmpty() && warnings.size() <= 3, "a line per change, not per check: " + warnings);
            assertTrue(warnings.stream().allMatch(e -> e.getFormattedMessage().startsWith("follower 3 has not answered")
                    && e.getFormattedMessage().contains("silence-")), warnings.toString());
            assertTrue(survivors.stream().allMatch(s -> s.silentFollowers().keySet().stream().allMatch("3"::equals)),
                    "only 3 is silent");

            cluster.restart(2);
            cluster.awaitTrue(() -> {
                survivors.forEach(FollowerSilenceLog::check);
                return survivors.stream().allMatch(s -> s.silentFollowers().isEmpty());
            }, 60_000, "no follower silent once broker 3 is back");
            assertTrue(seen.list.stream().anyMatch(e -> e.getLevel() == ch.qos.logback.classic.Level.INFO
                    && e.getFormattedMessage().startsWith("no partition led here waits for follower 3")), seen.list.toString());
        } finally {
            logger.detachAppender(seen);
        }
    }
}
