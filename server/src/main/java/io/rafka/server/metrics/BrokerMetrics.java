package io.rafka.server.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.rafka.common.TopicPartition;
import io.rafka.coordinator.GroupCoordinator;
import io.rafka.coordinator.GroupMetrics;
import io.rafka.raft.PartitionStatus;
import io.rafka.raft.RaftNode;

import java.io.IOException;
import java.io.OutputStream;
import java.util.function.ToLongFunction;

/**
 * The broker's Prometheus metrics, in a registry of its own (several brokers can share a JVM in tests).
 * Request rates and latencies per gRPC method and status, bytes in and out per topic, commit latency of
 * replicated appends, and gauges read from the replication layer when scraped.
 */
public final class BrokerMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Histogram requestSeconds;
    private final Counter bytesIn;
    private final Counter bytesOut;
    private final Counter recordsIn;
    private final Histogram commitSeconds;

    public BrokerMetrics(RaftNode raftNode, long replicaLagMs) {
        requests = Counter.builder().name("rafka_requests").help("gRPC calls answered, by method and status code; CANCELLED: the client ended the call first")
                .labelNames("method", "code").register(registry);
        requestSeconds = Histogram.builder().name("rafka_request_duration_seconds").help("gRPC call latency by method")
                .labelNames("method").classicOnly().register(registry);
        bytesIn = Counter.builder().name("rafka_topic_bytes_in").help("Produced bytes accepted, by topic")
                .labelNames("topic").register(registry);
        bytesOut = Counter.builder().name("rafka_topic_bytes_out").help("Fetched bytes served, by topic")
                .labelNames("topic").register(registry);
        recordsIn = Counter.builder().name("rafka_topic_records_in").help("Produced records accepted, by topic")
                .labelNames("topic").register(registry);
        commitSeconds = Histogram.builder().name("rafka_raft_commit_latency_seconds")
                .help("Time from submitting a produce to its Raft commit and apply (acks=all)")
                .classicOnly().register(registry);
        CounterWithCallback.builder().name("rafka_raft_appends")
                .help("Produce appends (one per partition and request) this broker's partition leaders handed to Raft")
                .callback(cb -> cb.call(raftNode.appendCounts().appends())).register(registry);
        CounterWithCallback.builder().name("rafka_raft_entries")
                .help("Raft entries that carried them: appends per entry is what group commit saves")
                .callback(cb -> cb.call(raftNode.appendCounts().entries())).register(registry);
        CounterWithCallback.builder().name("rafka_raft_follower_refusals")
                .help("Appends that followers refused as not fitting their logs, of the Raft groups this broker leads "
                        + "(partitions and the metadata group; Raft INCONSISTENCY answers: the leader re-sends from the "
                        + "follower's next index); a few follow a replica's restart, a steady rise means a follower is not "
                        + "catching up")
                .callback(cb -> cb.call(raftNode.followerRefusals())).register(registry);
        GaugeWithCallback.builder().name("rafka_partitions").help("Partition replicas hosted by this broker")
                .callback(cb -> cb.call(raftNode.partitions().size())).register(registry);
        GaugeWithCallback.builder().name("rafka_partition_leaders").help("Partitions this broker leads")
                .callback(cb -> cb.call(ledPartitions(raftNode))).register(registry);
        GaugeWithCallback.builder().name("rafka_repairing_partitions")
                .help("Partition replicas here whose log lost committed records, copying them from another replica")
                .callback(cb -> cb.call(sumOverReplicas(raftNode, st -> st.repairing() ? 1 : 0))).register(registry);
        GaugeWithCallback.builder().name("rafka_copying_partitions")
                .help("Partition replicas here copying another replica's log (catching up from far behind, wiped or damaged)")
                .callback(cb -> cb.call(sumOverReplicas(raftNode, st -> st.copy().isPresent() ? 1 : 0))).register(registry);
        GaugeWithCallback.builder().name("rafka_copy_remaining_offsets")
                .help("Offsets the running copies still have to copy, summed over the replicas here")
                .callback(cb -> cb.call(sumOverReplicas(raftNode,
                        st -> st.copy().map(PartitionStatus.CopyProgress::remainingOffsets).orElse(0L)))).register(registry);
        GaugeWithCallback.builder().name("rafka_under_replicated_partitions")
                .help("Partitions led here with a follower silent for longer than the replica lag limit")
                .callback(cb -> cb.call(underReplicated(raftNode, replicaLagMs))).register(registry);
        GaugeWithCallback.builder().name("rafka_hibernated_partitions")
                .help("Partition replicas here whose Raft group is closed until the next write (partition.hibernate.after.ms)")
                .callback(cb -> cb.call(raftNode.hibernatedCount())).register(registry);
        GaugeWithCallback.builder().name("rafka_active_partitions")
                .help("Partition replicas here with an open Raft group")
                .callback(cb -> cb.call(raftNode.partitions().size() - raftNode.hibernatedCount())).register(registry);
        CounterWithCallback.builder().name("rafka_partition_wakeups")
                .help("Hibernated partitions this node woke (opened on every replica and elected a leader) for a write")
                .callback(cb -> cb.call(raftNode.hibernationCounts().wakeUps())).register(registry);
        CounterWithCallback.builder().name("rafka_partition_wake_seconds")
                .help("Time those wake-ups took, summed (divide by rafka_partition_wakeups_total for the mean)")
                .callback(cb -> cb.call(raftNode.hibernationCounts().wakeNanosTotal() / 1e9)).register(registry);
        GaugeWithCallback.builder().name("rafka_partition_wake_max_seconds")
                .help("The longest wake-up this node made since it started")
                .callback(cb -> cb.call(raftNode.hibernationCounts().wakeNanosMax() / 1e9)).register(registry);
        GaugeWithCallback.builder().name("rafka_partition_wakes_queued")
                .help("Wake-ups waiting for their turn (partition.wake.max.concurrent run at once)")
                .callback(cb -> cb.call(raftNode.hibernationCounts().wakesQueued())).register(registry);
        CounterWithCallback.builder().name("rafka_partition_divisions_reopened")
                .help("Times a partition replica's Raft division was found closed by Ratis, without members after a "
                        + "restart, or on a log a scrub found damaged, and was reopened with the partition's replicas")
                .callback(cb -> cb.call(raftNode.hibernationCounts().brokenDivisionsReopened())).register(registry);
        CounterWithCallback.builder().name("rafka_partition_repair_handovers")
                .help("Times a partition leader whose log was found damaged handed its leadership to a live, caught-up "
                        + "replica before reopening to repair")
                .callback(cb -> cb.call(raftNode.hibernationCounts().repairHandOvers())).register(registry);
        CounterWithCallback.builder().name("rafka_partition_leaderless_heals")
                .help("Times an open partition replica here had known no leader for three election timeouts and opened "
                        + "its group on the other replicas (they had hibernated without it, or closed while it followed)")
                .callback(cb -> cb.call(raftNode.hibernationCounts().leaderlessHeals())).register(registry);
        CounterWithCallback.builder().name("rafka_partition_early_hibernations")
                .help("Idle partitions this node leads that it asked to hibernate before partition.hibernate.after.ms, "
                        + "to keep room under partition.max.open")
                .callback(cb -> cb.call(raftNode.hibernationCounts().hibernatedEarly())).register(registry);
        CounterWithCallback.builder().name("rafka_partition_wakes_refused")
                .help("Wake-ups of hibernated partitions refused with BUSY: partition.max.open partitions were open here "
                        + "and none could hibernate in time, or the wake-up waited for its turn past the request timeout "
                        + "with no append asking for it since")
                .callback(cb -> cb.call(raftNode.hibernationCounts().wakesRefused())).register(registry);
        CounterWithCallback.builder().name("rafka_partition_hibernations")
                .help("Times a partition replica here closed its Raft group after its partition went idle")
                .callback(cb -> cb.call(raftNode.hibernationCounts().hibernations())).register(registry);
        CounterWithCallback.builder().name("rafka_log_scrub_bytes")
                .help("Bytes of partition logs the background scrub read back and checked (log.scrub.bytes.per.second)")
                .callback(cb -> cb.call(raftNode.scrubCounts().bytesRead())).register(registry);
        CounterWithCallback.builder().name("rafka_log_scrub_damaged_batches")
                .help("Damaged batches the scrub found in logs here (each repaired from another replica where one exists)")
                .callback(cb -> cb.call(raftNode.scrubCounts().damageFound())).register(registry);
        CounterWithCallback.builder().name("rafka_raft_log_failures")
                .help("Times a partition replica's Raft log failed to write here (a full disk, an I/O error); each stops "
                        + "that replica until it is reopened")
                .callback(cb -> cb.call(raftNode.logFailures())).register(registry);
        GaugeWithCallback.builder().name("rafka_failing_log_partitions")
                .help("Partition replicas here whose Raft log failed to write within the last 30 s (reopened until writes succeed)")
                .callback(cb -> cb.call(raftNode.replicasWithFailingLogs().size())).register(registry);
        CounterWithCallback.builder().name("rafka_log_damaged_reads")
                .help("Damaged batches that consumers' decoded fetches found here (each repaired from another replica "
                        + "where one exists; the consumer got CORRUPT_MESSAGE, retriable, at that offset)")
                .callback(cb -> cb.call(raftNode.damagedReads())).register(registry);
        CounterWithCallback.builder().name("rafka_log_scrub_passes")
                .help("Times the scrub read a partition replica's log to its end")
                .callback(cb -> cb.call(raftNode.scrubCounts().replicasCompleted())).register(registry);
        JvmMetrics.builder().register(registry);
    }

    private static int ledPartitions(RaftNode raftNode) {
        int led = 0;
        for (TopicPartition tp : raftNode.partitions()) {
            try {
                PartitionStatus s = raftNode.status(tp);
                if (s.isLeader()) {
                    led++;
                }
            } catch (RuntimeException e) {
                // being created or removed
            }
        }
        return led;
    }

    /** {@code measure} summed over the replicas hosted here (those being created or removed count 0). */
    private static long sumOverReplicas(RaftNode raftNode, ToLongFunction<PartitionStatus> measure) {
        long sum = 0;
        for (TopicPartition tp : raftNode.partitions()) {
            try {
                sum += measure.applyAsLong(raftNode.status(tp));
            } catch (RuntimeException e) {
                // being created or removed
            }
        }
        return sum;
    }

    private static int underReplicated(RaftNode raftNode, long lagMs) {
        int n = 0;
        for (TopicPartition tp : raftNode.partitions()) {
            if (raftNode.laggingFollowers(tp, lagMs) > 0) {
                n++;
            }
        }
        return n;
    }

    /**
     * Consumer-group metrics of this broker's coordinator: rebalances and their summed duration, commits, fenced
     * members, groups and members now, and the lag of each group on each partition this broker has a replica of
     * (high watermark minus committed offset).
     */
    public void registerGroups(GroupCoordinator coordinator, ToLongFunction<TopicPartition> highWatermark) {
        GroupMetrics m = coordinator.metrics();
        CounterWithCallback.builder().name("rafka_group_rebalances").help("Rebalances completed (every member at its target)")
                .callback(cb -> cb.call(m.rebalances())).register(registry);
        CounterWithCallback.builder().name("rafka_group_rebalance_seconds")
                .help("Summed duration of completed rebalances, from the group epoch change to the last member at its target")
                .callback(cb -> cb.call(m.rebalanceMillis() / 1000.0)).register(registry);
        CounterWithCallback.builder().name("rafka_group_commits").help("Offset commits answered by this coordinator")
                .callback(cb -> cb.call(m.commits())).register(registry);
        CounterWithCallback.builder().name("rafka_group_members_removed")
                .help("Members the coordinator removed: session timeout, broken stream, release not in time")
                .callback(cb -> cb.call(m.fencedMembers())).register(registry);
        GaugeWithCallback.builder().name("rafka_groups").help("Consumer groups coordinated here")
                .callback(cb -> cb.call(m.groups())).register(registry);
        GaugeWithCallback.builder().name("rafka_group_members").help("Members of the groups coordinated here")
                .callback(cb -> cb.call(m.members())).register(registry);
        GaugeWithCallback.builder().name("rafka_group_coordinator_queued_tasks")
                .help("Tasks waiting for the group coordinator's thread (requests, stream events, write completions)")
                .callback(cb -> cb.call(coordinator.queuedTasks())).register(registry);
        GaugeWithCallback.builder().name("rafka_group_lag")
                .help("Records not yet committed by a group, per partition with a replica on this broker")
                .labelNames("group", "topic", "partition")
                .callback(cb -> {
                    try {
                        coordinator.committedOffsets().get(1, java.util.concurrent.TimeUnit.SECONDS).forEach((group, offsets) ->
                                offsets.forEach((tp, committed) -> {
                                    long end = highWatermark.applyAsLong(tp);
                                    if (end >= 0) {
                                        cb.call(Math.max(0, end - committed), group, tp.topic(), Integer.toString(tp.partition()));
                                    }
                                }));
                    } catch (Exception e) {
                        // the coordinator is busy or stopping: no lag samples in this scrape
                    }
                }).register(registry);
    }

    /** Answers made and not read yet by their clients, all connections together (max.unread.answer.bytes bounds it). */
    public void registerUnreadAnswers(java.util.function.LongSupplier bytes) {
        GaugeWithCallback.builder().name("rafka_unread_answer_bytes")
                .help("Bytes of answers made and not yet read by their clients, all connections together")
                .callback(cb -> cb.call(bytes.getAsLong())).register(registry);
    }

    public void request(String method, String code, double seconds) {
        requests.labelValues(method, code).inc();
        requestSeconds.labelValues(method).observe(seconds);
    }

    public void produced(String topic, long bytes, long records) {
        bytesIn.labelValues(topic).inc(bytes);
        recordsIn.labelValues(topic).inc(records);
    }

    public void fetched(String topic, long bytes) {
        bytesOut.labelValues(topic).inc(bytes);
    }

    /** Drops the per-topic series of topics that no longer exist (else every topic ever created stays exported). */
    public void topicsDeleted(java.util.Collection<String> topics) {
        for (String topic : topics) {
            bytesIn.remove(topic);
            bytesOut.remove(topic);
            recordsIn.remove(topic);
        }
    }

    public void committed(double seconds) {
        commitSeconds.observe(seconds);
    }

    /** Writes every metric in the Prometheus text format. */
    public void write(OutputStream out) throws IOException {
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
    }
}
