package io.rafka.raft.internal;

import io.rafka.raft.RaftNodeConfig;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.retry.RetryPolicy;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

import java.util.List;
import java.util.concurrent.TimeUnit;

/** The one place that turns {@link RaftNodeConfig} into Ratis properties, with the reason for each choice. */
public final class RatisProperties {
    /**
     * Sleeps between a leader's retries of a failed follower: 1 ms 10 times, 50 ms 20 times, then 500 ms (Ratis draws
     * each sleep from 0.5-1.5x). A follower whose server refuses connections is retried once a second instead, and
     * woken when it accepts them again ({@link PromptCatchUp}); but a follower whose server is up and refuses the
     * group's appends at once (a replica being opened again) is retried by this policy alone, and a 100 ms ceiling
     * made Ratis's start race far more likely there (an append that arrives while a division starts fails the start
     * and keeps its storage locked until the broker restarts: ChaosIT, seed 20261130, 2026-12-07), hence 500 ms.
     * Without a detector every division's appender retries a dead peer on its own: with 300 partitions a 200 ms
     * ceiling meant thousands of wake-ups a second (ManyPartitionsIT's shutdown took a minute longer).
     * The last count is practically endless: once the counts are used up Ratis would retry without sleeping.
     */
    public static final String APPENDER_RETRY_POLICY = "1ms,10, 50ms,20, 500ms,2000000000";

    private RatisProperties() {
    }

    public static RaftProperties forServer(RaftNodeConfig config) {
        RaftProperties p = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(p, List.of(config.dataDir().resolve("raft").toFile()));
        GrpcConfigKeys.Server.setHost(p, config.bindHost());
        GrpcConfigKeys.Server.setPort(p, config.address().port());
        // A request to a follower carries at most one entry above the appender's byte limit (below): room for the
        // largest entry with the request's own fields, which with max.message.bytes near its 64 MiB bound is more
        // than Ratis's default 64 MB message limit.
        GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf(Math.max(64L * 1024 * 1024,
                2L * config.raftWriteBufferBytes() + 1024 * 1024)));
        // Elections: longer than Ratis's defaults; with hundreds of groups per server the defaults storm.
        setElectionTimeouts(p, config.rpcTimeoutMinMs(), config.rpcTimeoutMaxMs());
        RaftServerConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(Math.max(3000, config.rpcTimeoutMaxMs() * 2), TimeUnit.MILLISECONDS));
        // The partition log is the state: snapshots are cheap (a flush and a small file), so take them often. A
        // restarted replica re-applies every entry since its last snapshot before its high watermark is current
        // (Ratis has no commit index of its own on disk: setLogMetadataEnabled below), slowly in a JVM just started:
        // with 10,000 entries between snapshots, followers restarted on broker processes caught up 0.4-5 s after
        // answering /health (docs/BENCHMARKS.md). Purging Ratis's log up to each snapshot would then
        // leave a follower only a few hundred entries behind without the entries it needs (it would have to copy the
        // leader's log), so the purge keeps the last raftLogRetainedEntries behind the log's end.
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, config.snapshotThresholdEntries());
        RaftServerConfigKeys.Snapshot.setCreationGap(p, Math.min(1024, config.snapshotThresholdEntries()));
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
        RaftServerConfigKeys.Log.setPurgeGap(p, (int) Math.min(1024, config.snapshotThresholdEntries()));
        RaftServerConfigKeys.Log.setPurgePreservationLogNum(p, config.raftLogRetainedEntries());
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(config.raftSegmentBytes()));
        // Preallocation writes zeros ahead of the log; with an fsync per commit it is redone again and again:
        // measured 33 disk bytes per payload byte per replica at 1 MiB (4 MiB default: 34), 2.4 at 4 KiB.
        RaftServerConfigKeys.Log.setPreallocatedSize(p, SizeInBytes.valueOf(4096));
        // Per-division direct buffer: sized for one max batch, not Ratis's 8 MiB default (x hundreds of groups).
        RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf(config.raftWriteBufferBytes()));
        // Ratis refuses an entry larger than this by stepping its leader down (RaftLogBase.appendImpl), so it must be
        // above the largest entry the state machine lets in (PartitionStateMachine.maxEntryBytes, plus the entry's own
        // fields): the most the write buffer allows, its entry plus a 4-byte length and a 4-byte checksum.
        RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, SizeInBytes.valueOf(config.raftWriteBufferBytes() - 8));
        // Keep at most two closed segments of each group's Raft log cached on heap.
        RaftServerConfigKeys.Log.setSegmentCacheNumMax(p, 2);
        RaftServerConfigKeys.Log.setSegmentCacheSizeMax(p, SizeInBytes.valueOf(2L * config.raftSegmentBytes()));
        // Write once: batches are state-machine data, written into the partition log by DataApi.write (at once,
        // before the entry is queued) and fsynced by DataApi.flush on Ratis's log worker, just before Ratis fsyncs
        // its own log (PartitionStateMachine.flush). An entry counts as flushed only when both are done.
        RaftServerConfigKeys.Log.StateMachineData.setSync(p, false);
        // Ratis's log cache keeps entries with their bytes (the default), so the leader feeds followers from memory
        // and calls DataApi.read only for entries evicted from it. Bounded: Ratis counts those bytes in a segment's
        // size, so a segment rolls after raftSegmentBytes of payload even though its file holds only headers, and
        // at most segmentCacheNumMax closed segments stay cached. (With caching "enabled", i.e. the state machine
        // keeping the bytes, segments roll only after ~100,000 appends, purge stalls, and a replica that lost its
        // disk was never caught up in ReplicaLifecycleIT: the leader kept sending from its old match index.)
        RaftServerConfigKeys.Log.StateMachineData.setCachingEnabled(p, false);
        // No commit-index entries. By default a leader appends a METADATAENTRY to its log each time its commit
        // index moves, so that a restarted replica can re-apply up to it before it hears from a leader: one more
        // entry written, fsynced (the partition log's flush included) and sent to every follower per committed
        // entry. A replica applies only what its leader says is committed anyway, and reads are served by leaders,
        // so all a restart loses is that head start. Measured on three broker processes, one cluster per variant,
        // alternated: acks=all 9,628 and 9,038 records/s at 148 and 160 us of broker CPU per record without them,
        // 5,615 and 6,953 at 264 and 208 us with them (docs/BENCHMARKS.md).
        RaftServerConfigKeys.Log.setLogMetadataEnabled(p, false);
        // How long a leader's log appender sleeps after a failed call to a follower. Ratis's default
        // ("1ms,10, 1s,20, 5s,1000") backs off to 5 s after ~20 errors, i.e. a follower that was down ~10 s
        // is retried only every 2.5-7.5 s once it is back, and its groups run without a spare replica that long.
        // This sleep is not woken by anything, so only a short ceiling helps; PromptCatchUp paces the retries of a
        // follower whose server is known down instead (APPENDER_RETRY_POLICY).
        RaftServerConfigKeys.Log.Appender.setRetryPolicy(p, config.appenderRetryPolicy());
        promptCatchUp(p);
        setFollowerSlowness(p, config.rpcTimeoutMinMs());
        surviveLongPauses(p);
        standAgainAfterLosingMajority(p, config.rpcTimeoutMaxMs());
        // Ratis 3.3 chains a follower's appends (each composed on the previous one's future) by default: once one
        // fails, say DataApi.write refusing a gap while the replica repairs its log, every later append fails with
        // that same exception, for good, and the follower never catches up again (found by ReplicaRepairIT:
        // "appendEntries* failed: entries 419..500" caused by entry 401's refusal). Unchained, a refused append
        // fails alone and the leader's retry succeeds once the cause is gone.
        RaftServerConfigKeys.Log.setAppendEntriesComposeEnabled(p, false);
        // At most two appends in flight from a leader to each follower by default (raft.leader.outstanding.appends),
        // not Ratis's 8. A follower refuses an append whose first entry it has committed already, or whose previous
        // entry it does not hold yet, with INCONSISTENCY and its own next index; the leader moves its next index
        // there even for a reply to a request it no longer tracks, and re-sends from it while newer appends are
        // still in flight, which the follower refuses in turn. With 8 in flight a replica restarted under writes
        // (its JVM still slow) went on like this for 3-12 s ("Failed appendEntries as the first entry (index 280)
        // already exists (commitIndex: 308)", ~600 refusals per restart), its high watermark behind the leader's
        // all along; with 2 it was caught up 0.2-1.7 s after /health, with ~50 refusals per run (bin/rafka bench
        // failover, docs/BENCHMARKS.md). With a partition's appends committed one Raft entry at a time
        // (partition.max.in.flight.entries), two cover a follower's reply and the next entry: acks=all throughput
        // was the same or better than with 8 (6,931 and 6,937 against 5,992 and 6,810 records/s).
        GrpcConfigKeys.Server.setLeaderOutstandingAppendsMax(p, config.leaderOutstandingAppends());
        // A lagging replica copies the leader's partition log itself (PartitionStateMachine), in bounded chunks.
        RaftServerConfigKeys.Log.Appender.setInstallSnapshotEnabled(p, false);
        // Bounded thread pools per division instead of unbounded cached ones.
        RaftServerConfigKeys.ThreadPool.setServerCached(p, false);
        RaftServerConfigKeys.ThreadPool.setServerSize(p, 2);
        RaftServerConfigKeys.ThreadPool.setClientCached(p, false);
        RaftServerConfigKeys.ThreadPool.setClientSize(p, 2);
        RaftServerConfigKeys.RetryCache.setExpiryTime(p, TimeDuration.valueOf(60, TimeUnit.SECONDS));
        return p;
    }

    /**
     * Ratis's gRPC transport with Rafka's log appenders ({@link PromptCatchUp}): a follower whose server refuses
     * connections is retried once a second, and at once, without the back-off of its silence, when it is back.
     */
    public static void promptCatchUp(RaftProperties p) {
        RaftConfigKeys.Rpc.setType(p, new PromptCatchUp());
    }

    /**
     * Marks a follower "slow" once it has not answered for a quarter of the election timeout (Ratis's default:
     * 60 s). Ratis 3.3's appender sleeps once per new error only; between errors, while the leader holds entries
     * the follower lacks and the follower is not slow, it loops without waiting, rebuilding requests for a peer
     * that refuses connections. Measured on three broker processes: after a kill -9 the controller's appender to
     * the dead broker used 0.4-1.0 of a core for minutes (the partition leaderships published after the failover
     * are the entries it could not deliver), and the garbage it made kept ZGC busy too, on the survivors that had
     * to take over. A slow follower is sent to at the heartbeat pace instead, and still at once whenever an entry
     * is appended or a reply arrives (both wake the appender), so a live follower loses nothing by being called
     * slow between two heartbeats; its first answer makes it fast again.
     */
    public static void setFollowerSlowness(RaftProperties p, long electionTimeoutMinMs) {
        RaftServerConfigKeys.Rpc.setSlownessTimeout(p, TimeDuration.valueOf(Math.max(10, electionTimeoutMinMs / 4),
                TimeUnit.MILLISECONDS));
    }

    /**
     * A JVM pause of any length (SIGSTOP, a suspended VM, a host stall) leaves the Raft server running. Ratis closes
     * the whole server after a pause above {@code raft.server.close.threshold} (60 s), but the broker process goes
     * on, with every group closed: seen on broker processes after a 75 s SIGSTOP, the broker stayed up, answered
     * "not serving" for good, its replicas never came back, and a partition of which it was one of two live replicas
     * had no leader for minutes. Raft needs no such guard: a paused leader steps down when it resumes (the pause
     * monitor's other threshold, {@code leader.step-down.wait-time}: {@link #standAgainAfterLosingMajority}), and a
     * paused follower catches up.
     */
    public static void surviveLongPauses(RaftProperties p) {
        RaftServerConfigKeys.setCloseThreshold(p, TimeDuration.valueOf(3650, TimeUnit.DAYS));
    }

    /**
     * A leader that steps down for want of a majority (LOST_MAJORITY_HEARTBEATS) may stand again after twice the
     * longest election timeout, not after Ratis's {@code leader.step-down.wait-time} of 10 s. Ratis holds such a
     * replica back so that the others get their turn, but where they cannot win it was the group's only possible
     * leader: both followers lost, and the one that comes back missed the last committed entries, so the old leader
     * refuses it its vote, and the partition had no leader for 10 s (seen in bin/rafka chaos; AvailabilityIT). A
     * replica cut off from the others gains nothing by standing early: its pre-vote fails (Ratis's pre-vote is on),
     * so it disturbs no one. The same setting is the JVM pause monitor's threshold for stepping every leader of the
     * process down as it resumes from a pause: a pause of the leader's process alone that long has had its followers
     * elect another leader anyway, but where the whole host stalled (or, in tests, every node shares one JVM) the
     * followers overslept too, and their leaders step down for nothing: hence twice the timeout, not once, so that a
     * stall of a few seconds costs no round of elections.
     */
    public static void standAgainAfterLosingMajority(RaftProperties p, long electionTimeoutMaxMs) {
        RaftServerConfigKeys.LeaderElection.setLeaderStepDownWaitTime(p,
                TimeDuration.valueOf(2 * electionTimeoutMaxMs, TimeUnit.MILLISECONDS));
    }

    /**
     * The randomized election timeout, and a shorter one, a fifth to a half of its lower bound, for a division's
     * first election after it starts, until it learns of a leader: a group just created, every group of a
     * cluster that starts or restarts as a whole, a woken group nobody campaigned for. Such a group has no leader
     * to wait for, and waited 1-2 s for its first (a new partition's first append in process: 1.2-1.9 s, now
     * 0.35-0.6 s).
     * Where a leader exists (a restarted node whose peers went on), the early candidate's pre-vote is refused by
     * every replica that still hears from it (Ratis's pre-vote is on), so the leader is not disturbed.
     */
    public static void setElectionTimeouts(RaftProperties p, long minMs, long maxMs) {
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(minMs, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(maxMs, TimeUnit.MILLISECONDS));
        long firstMin = Math.max(5, minMs / 5);
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p, TimeDuration.valueOf(firstMin, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p, TimeDuration.valueOf(Math.max(firstMin + 5, minMs / 2),
                TimeUnit.MILLISECONDS));
    }

    /** Properties for the short-lived clients a catching-up replica uses to query the leader. */
    public static RaftProperties forClient(RaftNodeConfig config) {
        RaftProperties p = new RaftProperties();
        RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(30, TimeUnit.SECONDS));
        GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf(PartitionQueries.CATCH_UP_CHUNK_BYTES + 1024 * 1024));
        return p;
    }

    /**
     * Retries of this node's admin calls to a peer (group info, group add, leadership transfer): a few, ~3 s in
     * all, as callers retry on their own schedule. Ratis's default retries a refused call for as long as it is
     * refused, with no pause, and holds the calling thread meanwhile (a peer whose replica could not open
     * refused ~50 group adds a second, each logged with its stack there).
     */
    public static final RetryPolicy PROBE_RETRIES = RetryPolicies.retryUpToMaximumCountWithFixedSleep(10,
            TimeDuration.valueOf(300, TimeUnit.MILLISECONDS));

    /**
     * Retries of a copy of records from another replica (its calls may each take up to the client's 30 s request
     * timeout): a few, then the copy fails and its caller tries another source or again later.
     */
    public static final RetryPolicy COPY_RETRIES = RetryPolicies.retryUpToMaximumCountWithFixedSleep(3,
            TimeDuration.valueOf(300, TimeUnit.MILLISECONDS));

    /** Properties of probe clients; build them with {@link #PROBE_RETRIES}. */
    public static RaftProperties forProbe(RaftProperties client) {
        RaftProperties p = new RaftProperties(client);
        RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(3, TimeUnit.SECONDS));
        return p;
    }
}
