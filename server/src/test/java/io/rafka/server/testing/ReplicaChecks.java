package io.rafka.server.testing;

import com.google.protobuf.ByteString;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordSet;
import io.rafka.raft.RaftNode;
import io.rafka.raft.testing.MiniCluster;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatches;

import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Writes and checks for tests that move partition replicas between the brokers of a {@link BrokerCluster}. */
public final class ReplicaChecks {
    private ReplicaChecks() {
    }

    /**
     * Writes records {@code from .. from + count - 1} ("r-PARTITION-I") one at a time with acks=all, starting at
     * broker {@code leader} and following NOT_LEADER answers; each must land at offset I.
     */
    public static void produce(BrokerCluster cluster, String topic, int leader, int partition, int from, int count) {
        for (int i = from; i < from + count; i++) {
            ProduceRequest request = ProduceRequest.newBuilder().setAcks(Acks.ACKS_ALL).addPartitions(PartitionData.newBuilder()
                    .setTopic(topic).setPartition(partition).setRecords(RecordSet.newBuilder().addRecords(
                            ProducerRecord.newBuilder().setValue(ByteString.copyFromUtf8("r-" + partition + "-" + i))))).build();
            var r = cluster.produce(leader).produce(request).getResults(0);
            long deadline = System.currentTimeMillis() + 15_000;
            while (r.getErrorCode() != ErrorCode.NONE && io.rafka.common.ErrorCode.forCode(r.getErrorCodeValue()).retriable()
                    && System.currentTimeMillis() < deadline) {
                MiniCluster.sleep(100);
                leader = r.hasLeader() ? BrokerCluster.indexOf(r.getLeader().getId()) : leader;
                r = cluster.produce(leader).produce(request).getResults(0);
            }
            assertEquals(ErrorCode.NONE, r.getErrorCode(), r.toString());
            assertEquals(i, r.getBaseOffset());
        }
    }

    /**
     * Whether every broker of {@code members} (ids) hosts {@code tp}, counts exactly those brokers as its Raft
     * group's members, and has committed {@code records} records.
     */
    public static boolean caughtUp(BrokerCluster cluster, TopicPartition tp, Collection<String> members, long records) {
        return caughtUp(cluster, tp, members, members, records);
    }

    /** {@link #caughtUp}, checked on the brokers {@code on} only (the others may be down). */
    public static boolean caughtUp(BrokerCluster cluster, TopicPartition tp, Collection<String> on, Collection<String> members,
                                   long records) {
        Set<String> wanted = new TreeSet<>(members);
        for (String id : on) {
            RaftNode node = cluster.broker(BrokerCluster.indexOf(id)).raftNode();
            try {
                if (!node.hosts(tp) || !node.groupMembers(tp).equals(wanted) || node.status(tp).highWatermark() != records) {
                    return false;
                }
            } catch (Exception e) {
                return false;
            }
        }
        return true;
    }

    /** Asserts that every broker of {@code members} holds the same bytes of {@code tp} up to its high watermark. */
    public static void assertSameData(BrokerCluster cluster, TopicPartition tp, List<String> members) {
        ByteBuffer first = readAll(cluster.broker(BrokerCluster.indexOf(members.get(0))).raftNode(), tp);
        for (String id : members.subList(1, members.size())) {
            assertEquals(first, readAll(cluster.broker(BrokerCluster.indexOf(id)).raftNode(), tp),
                    tp + " on broker " + id + " equals broker " + members.get(0) + "'s");
        }
    }

    /** A partition's committed bytes on one replica (at most 1 MiB). */
    public static ByteBuffer readAll(RaftNode node, TopicPartition tp) {
        ByteBuffer all = ByteBuffer.allocate(1 << 20);
        long offset = 0;
        long end = node.status(tp).highWatermark();
        while (offset < end) {
            ByteBuffer chunk = node.read(tp, offset, 1 << 16).records();
            List<RecordBatch> batches = RecordBatches.split(chunk.duplicate());
            offset = batches.get(batches.size() - 1).nextOffset();
            all.put(chunk);
        }
        return all.flip();
    }
}
