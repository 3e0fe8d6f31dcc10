package io.rafka.server.broker;

import io.rafka.common.ErrorCode;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.coordinator.CheckpointScanner;
import io.rafka.coordinator.CoordinatorLog;
import io.rafka.coordinator.GroupConfig;
import io.rafka.coordinator.GroupCoordinator;
import io.rafka.log.LogConfigKey;
import io.rafka.log.LogReadResult;
import io.rafka.metadata.BrokerInfo;
import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.TopicInfo;
import io.rafka.raft.Acks;
import io.rafka.raft.PartitionListener;
import io.rafka.raft.RaftNode;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The broker's side of consumer groups: which broker coordinates a group, the internal topic
 * {@value GroupConfig#TOPIC} (created at first use, kept forever: its records are the groups' state), and the
 * {@link GroupCoordinator} fed with this broker's leaderships of that topic's partitions and with topic changes.
 */
public final class GroupAccess implements PartitionListener {
    private final ClusterView view;
    private final RaftNode raftNode;
    private final TopicAdmin admin;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(GroupAccess.class);
    private static final int SCAN_READ_BYTES = 1 << 20;
    private final GroupCoordinator coordinator;
    private final int segmentBytes;
    private final Map<TopicPartition, CheckpointScanner> scanners = new java.util.concurrent.ConcurrentHashMap<>();

    public GroupAccess(ClusterView view, RaftNode raftNode, TopicAdmin admin, GroupConfig config, int segmentBytes) {
        this.view = view;
        this.raftNode = raftNode;
        this.admin = admin;
        this.segmentBytes = segmentBytes;
        this.coordinator = new GroupCoordinator(config, new RaftLog(), io.rafka.common.Time.SYSTEM);
    }

    public GroupCoordinator coordinator() {
        return coordinator;
    }

    /** The broker coordinating {@code groupId}, creating {@value GroupConfig#TOPIC} if it does not exist yet. */
    public Coordinator findCoordinator(String groupId) {
        if (groupId.isEmpty() || groupId.length() > 255) {
            throw new RafkaException(ErrorCode.INVALID_GROUP_ID, "a group id must be 1 to 255 characters long");
        }
        GroupConfig config = coordinator.config();
        TopicInfo topic = view.image().topic(GroupConfig.TOPIC);
        if (topic == null) {
            admin.autoCreate(new NewTopic(GroupConfig.TOPIC, config.coordinatorPartitions(), 0,
                    Map.of(LogConfigKey.RETENTION_MS.topicKey(), "-1", LogConfigKey.RETENTION_BYTES.topicKey(), "-1",
                            LogConfigKey.SEGMENT_BYTES.topicKey(), Integer.toString(segmentBytes))));
            throw new RafkaException(ErrorCode.COORDINATOR_NOT_AVAILABLE, GroupConfig.TOPIC
                    + " is being created (first use of consumer groups): retry");
        }
        // By the partitions the topic has (the config only sizes it at creation), as the coordinator maps groups.
        int partition = Math.floorMod(groupId.hashCode(), topic.partitionCount());
        Optional<BrokerInfo> leader = view.leaderOf(new TopicPartition(GroupConfig.TOPIC, partition))
                .flatMap(l -> view.broker(l.id()));
        if (leader.isEmpty()) {
            throw new RafkaException(ErrorCode.COORDINATOR_NOT_AVAILABLE, "partition " + partition + " of "
                    + GroupConfig.TOPIC + " has no leader yet: retry");
        }
        return new Coordinator(leader.get(), partition);
    }

    /** This broker as clients reach it, once registered. */
    public Optional<BrokerInfo> self() {
        return view.broker(view.brokerId());
    }

    /** A group's coordinator: the broker and the partition of {@value GroupConfig#TOPIC} holding the group. */
    public record Coordinator(BrokerInfo broker, int partition) {
    }

    /** The high watermark of a partition as this broker knows it (its replica, leader or follower), or -1. */
    public long localHighWatermark(TopicPartition tp) {
        return view.localStatus(tp).map(s -> s.highWatermark()).orElse(-1L);
    }

    /**
     * Tells the coordinator of the coordinator partitions this broker leads already: the Raft node restarts its
     * groups before this listener is registered, so their first leaderships may have gone unheard.
     */
    public void seedLeaderships() {
        for (TopicPartition tp : raftNode.partitions()) {
            if (tp.topic().equals(GroupConfig.TOPIC) && view.localStatus(tp).map(s -> s.isLeader()).orElse(false)) {
                coordinator.onLeader(tp.partition());
            }
        }
    }

    @Override
    public void onLeader(TopicPartition tp) {
        if (tp.topic().equals(GroupConfig.TOPIC)) {
            coordinator.onLeader(tp.partition());
        }
    }

    @Override
    public void onResign(TopicPartition tp) {
        if (tp.topic().equals(GroupConfig.TOPIC)) {
            coordinator.onResign(tp.partition());
        }
    }

    /** The metadata changed: the coordinator learns the topics and their partition counts. */
    public void onMetadata(MetadataImage image) {
        Map<String, Integer> counts = new HashMap<>();
        Map<String, String> ids = new HashMap<>();
        image.topics().forEach((name, t) -> {
            counts.put(name, t.partitionCount());
            ids.put(name, t.id().toString());
        });
        coordinator.onTopicsChanged(counts, ids);
    }

    public void close() {
        coordinator.close();
    }

    /**
     * Deletes, on this broker's replicas of {@value GroupConfig#TOPIC} (leaders and followers alike), the segments
     * below each partition's latest complete checkpoint: the coordinator wrote every live key again after it, so
     * what lies below is dead. Every replica reads the same committed records, so all trim alike. Returns how many
     * segments were deleted.
     */
    public int compact() {
        int deleted = 0;
        for (TopicPartition tp : raftNode.partitions()) {
            if (!tp.topic().equals(GroupConfig.TOPIC)) {
                continue;
            }
            try {
                CheckpointScanner scanner = scanners.computeIfAbsent(tp, k -> new CheckpointScanner());
                scanner.seek(raftNode.log(tp).logStartOffset());
                long end = raftNode.status(tp).highWatermark();
                while (scanner.position() < end) {
                    LogReadResult r = raftNode.read(tp, scanner.position(), SCAN_READ_BYTES);
                    long before = scanner.position();
                    scanner.scan(r.records());
                    if (scanner.position() == before) {
                        break;
                    }
                }
                if (scanner.latestCheckpoint() > 0) {
                    deleted += raftNode.deleteSegmentsBelow(tp, scanner.latestCheckpoint());
                }
            } catch (RuntimeException e) {
                LOG.debug("compaction of {} skipped this round: {}", tp, e.toString());
            }
        }
        scanners.keySet().retainAll(raftNode.partitions());
        return deleted;
    }

    /** The coordinator partitions are this broker's replicas of {@value GroupConfig#TOPIC}. */
    private final class RaftLog implements CoordinatorLog {
        private TopicPartition tp(int partition) {
            return new TopicPartition(GroupConfig.TOPIC, partition);
        }

        @Override
        public CompletableFuture<?> append(int partition, long term, ByteBuffer batches) {
            return raftNode.append(tp(partition), batches, Acks.ALL, term);
        }

        @Override
        public Chunk read(int partition, long offset, int maxBytes) {
            TopicPartition tp = tp(partition);
            long start = raftNode.log(tp).logStartOffset();
            long end = raftNode.status(tp).highWatermark();
            if (maxBytes == 0 || Math.max(offset, start) >= end) {
                return new Chunk(ByteBuffer.allocate(0), start, end);
            }
            LogReadResult r = raftNode.read(tp, Math.max(offset, start), maxBytes);
            return new Chunk(r.records(), r.logStartOffset(), end);
        }

        @Override
        public long leaderTerm(int partition) {
            try {
                // RaftNode.status reads the term before the role: a status saying "leader" names a term it led in.
                var status = raftNode.status(tp(partition));
                return status.isLeader() ? status.term() : -1;
            } catch (RafkaException e) {
                return -1;
            }
        }
    }
}
