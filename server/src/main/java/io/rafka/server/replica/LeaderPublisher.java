package io.rafka.server.replica;

import io.rafka.metadata.MetadataImage;
import io.rafka.metadata.MetadataNode;
import io.rafka.metadata.MetadataRecord;
import io.rafka.metadata.TopicInfo;
import io.rafka.common.TopicPartition;
import io.rafka.raft.PartitionStatus;
import io.rafka.raft.RaftNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Publishes the partitions this broker leads into the metadata group, so that every broker, including
 * those that host no replica of a partition, can tell clients its current leader (as KRaft records
 * partition leaders in its metadata log).
 *
 * <p>Every {@code intervalMs} it compares the local replicas it leads (with their Raft terms) with the
 * image and submits one {@link MetadataRecord.PartitionLeaders} record with the differences; only one
 * submission is in flight at a time. Stale records are harmless: the image keeps the highest epoch. Cost:
 * one small metadata entry per leadership change, none while leaderships are stable; each look goes over the
 * open replicas only, so thousands of hibernated ones cost nothing here.
 */
public final class LeaderPublisher implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(LeaderPublisher.class);

    private final String brokerId;
    private final RaftNode raftNode;
    private final MetadataNode metadata;
    private final ScheduledExecutorService executor;
    private CompletableFuture<Void> inFlight = CompletableFuture.completedFuture(null);

    public LeaderPublisher(String brokerId, RaftNode raftNode, MetadataNode metadata, long intervalMs) {
        this.brokerId = brokerId;
        this.raftNode = raftNode;
        this.metadata = metadata;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "rafka-leader-publisher-" + brokerId);
            t.setDaemon(true);
            return t;
        });
        executor.scheduleWithFixedDelay(this::publishChanges, intervalMs, intervalMs, TimeUnit.MILLISECONDS);
    }

    /** The partitions this broker leads whose leadership the image does not show yet. */
    List<MetadataRecord.LeaderEpoch> unpublished() {
        MetadataImage image = metadata.image();
        List<MetadataRecord.LeaderEpoch> changes = new ArrayList<>();
        for (TopicPartition tp : raftNode.openPartitions()) {  // a hibernated replica leads nothing
            PartitionStatus status;
            try {
                status = raftNode.status(tp);
            } catch (RuntimeException e) {
                continue; // being created or removed
            }
            TopicInfo topic = image.topic(tp.topic());
            if (!status.isLeader() || topic == null
                    || !raftNode.spec(tp).map(s -> s.topicId().equals(topic.id())).orElse(false)) {
                continue; // not leading, or a replica of a deleted topic incarnation awaiting removal
            }
            MetadataImage.PartitionLeader known = image.leader(tp);
            if (known == null || !known.brokerId().equals(brokerId) || known.epoch() != status.term()) {
                if (known == null || known.epoch() <= status.term()) {
                    changes.add(new MetadataRecord.LeaderEpoch(tp.topic(), tp.partition(), status.term(), topic.id()));
                }
            }
        }
        return changes;
    }

    private void publishChanges() {
        try {
            if (!inFlight.isDone()) {
                return;
            }
            List<MetadataRecord.LeaderEpoch> changes = unpublished();
            if (changes.isEmpty()) {
                return;
            }
            inFlight = metadata.submit(List.of(new MetadataRecord.PartitionLeaders(brokerId, changes)))
                    .orTimeout(10, TimeUnit.SECONDS)
                    .exceptionally(e -> {
                        LOG.debug("publishing {} partition leaderships failed (will retry): {}", changes.size(), e.toString());
                        return null;
                    });
        } catch (RuntimeException e) {
            LOG.warn("leader publication failed", e);
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
