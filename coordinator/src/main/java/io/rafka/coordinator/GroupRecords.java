package io.rafka.coordinator;

import io.rafka.common.TopicPartition;
import io.rafka.record.CompressionType;
import io.rafka.record.Record;
import io.rafka.record.RecordBatch;
import io.rafka.record.RecordBatchBuilder;
import io.rafka.record.RecordBatches;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The records a coordinator partition holds, as Kafka records (key, value; a null value deletes the key, as in a
 * compacted topic): the group's epochs, each member (with what it owns and its target), each committed offset.
 * Replaying a partition in order, the last record of each key wins, so any suffix that starts before the
 * last full rewrite of a key gives the same state.
 *
 * <p>Keys start with a type byte and a version-free layout; values start with a version byte, so fields can be
 * added later.
 */
final class GroupRecords {
    static final byte GROUP = 0;
    static final byte MEMBER = 1;
    static final byte OFFSET = 2;
    /** Starts a checkpoint: every live key of the partition follows, then {@link #CHECKPOINT_END}. */
    static final byte CHECKPOINT_BEGIN = 3;
    static final byte CHECKPOINT_END = 4;
    /**
     * Written by a coordinator before it reloads a partition after a failed write, and ignored on replay: once it
     * committed, every write handed to the log before it has settled (Raft commits in order), so the reload sees
     * a write that timed out and then committed anyway.
     */
    static final byte BARRIER = 5;
    private static final byte VERSION = 0;
    /**
     * Member values since version 1 write each set of partitions by topic (a topic's name once, then its partition
     * numbers), so a member holding many partitions of few topics stays far below the record limit; version 0 wrote
     * the name with every partition. Both are read.
     */
    private static final byte MEMBER_VERSION = 1;
    /**
     * Group values since version 1 add when the group became empty (-1 while it has members), so a new coordinator
     * counts {@code offsets.retention} from then and not from its own load; version 0 has no such field (unknown).
     */
    private static final byte GROUP_VERSION = 1;

    /** Batches are cut at this size, so no write comes near a Raft entry's limit (message.max.bytes). */
    static final int MAX_BATCH_BYTES = 256 * 1024;
    /** A record above this goes alone in a compressed batch. */
    static final int LARGE_RECORD_BYTES = 64 * 1024;

    private final List<ByteBuffer> done = new ArrayList<>();
    private RecordBatchBuilder batch = new RecordBatchBuilder(CompressionType.NONE);
    private final long nowMs;
    private int count;

    GroupRecords(long nowMs) {
        this.nowMs = nowMs;
    }

    boolean isEmpty() {
        return count == 0;
    }

    int count() {
        return count;
    }

    /** The records as batches of at most about {@link #MAX_BATCH_BYTES} each, in order. */
    List<ByteBuffer> build() {
        if (batch.recordCount() > 0) {
            done.add(batch.build());
            batch = new RecordBatchBuilder(CompressionType.NONE);
        }
        return List.copyOf(done);
    }

    private void append(byte[] key, byte[] value) {
        if (key.length + (value == null ? 0 : value.length) > LARGE_RECORD_BYTES) {
            // A member of thousands of topics: its names repeat across subscription, assigned, revoking and target,
            // so a compressed batch of its own keeps it several times below the record limit, which the record
            // itself could pass (a write refused for good would fail the partition's every reload).
            if (batch.recordCount() > 0) {
                done.add(batch.build());
                batch = new RecordBatchBuilder(CompressionType.NONE);
            }
            done.add(new RecordBatchBuilder(CompressionType.LZ4).append(nowMs, key, value).build());
            count++;
            return;
        }
        if (batch.recordCount() > 0 && batch.estimatedSizeInBytes() + key.length + (value == null ? 0 : value.length)
                > MAX_BATCH_BYTES) {
            done.add(batch.build());
            batch = new RecordBatchBuilder(CompressionType.NONE);
        }
        batch.append(nowMs, key, value);
        count++;
    }

    /** The records for everything the group marked dirty; clears the marks. */
    void addChanges(ConsumerGroup group, boolean deleted) {
        if (group.dirtyGroup || deleted) {
            addGroup(group, deleted);
        }
        for (String id : group.dirtyMembers) {
            addMember(group, id, deleted ? null : group.members.get(id));
        }
        for (TopicPartition tp : group.dirtyOffsets) {
            addOffset(group, tp, deleted ? null : group.offsets.get(tp));
        }
        group.dirtyGroup = false;
        group.dirtyMembers.clear();
        group.dirtyOffsets.clear();
    }

    void addGroup(ConsumerGroup group, boolean deleted) {
        append(key(GROUP, group.groupId, out -> { }), deleted ? null : value(GROUP_VERSION, out -> {
            out.writeInt(group.groupEpoch);
            out.writeInt(group.assignmentEpoch);
            out.writeLong(group.isEmpty() ? group.emptySinceMs : -1);
        }));
    }

    void addMember(ConsumerGroup group, String id, MemberState m) {
        append(key(MEMBER, group.groupId, out -> out.writeUTF(id)), m == null ? null : value(MEMBER_VERSION, out -> member(out, m)));
    }

    void addOffset(ConsumerGroup group, TopicPartition tp, CommittedOffset o) {
        append(key(OFFSET, group.groupId, out -> partition(out, tp)), o == null ? null : value(out -> {
            out.writeLong(o.offset());
            out.writeUTF(o.metadata());
            out.writeLong(o.commitTimestampMs());
        }));
    }

    /** A checkpoint marker ({@link #CHECKPOINT_BEGIN} or {@link #CHECKPOINT_END}) of checkpoint {@code id}. */
    void addMarker(byte type, long id) {
        append(key(type, "", out -> { }), value(out -> out.writeLong(id)));
    }

    /** A batch of one {@link #BARRIER} record. */
    static ByteBuffer barrier(long nowMs) {
        GroupRecords records = new GroupRecords(nowMs);
        records.addMarker(BARRIER, 0);
        return records.build().get(0);
    }

    /** The checkpoint id a marker's value holds. */
    static long markerId(byte[] value) {
        return value == null || value.length < 9 ? -1 : ByteBuffer.wrap(value, 1, 8).getLong();
    }

    /** The key type of a record's key. */
    static byte type(byte[] key) {
        return key[0];
    }

    private static void member(DataOutputStream out, MemberState m) throws IOException {
        out.writeUTF(m.instanceId);
        out.writeUTF(m.clientId);
        out.writeUTF(m.host);
        out.writeInt(m.topics.size());
        for (String t : m.topics) {
            out.writeUTF(t);
        }
        out.writeUTF(m.pattern);
        out.writeByte(m.assignor.ordinal());
        out.writeInt(m.sessionTimeoutMs);
        out.writeInt(m.rebalanceTimeoutMs);
        out.writeInt(m.epoch);
        partitionsByTopic(out, m.assigned);
        partitionsByTopic(out, m.revoking);
        partitionsByTopic(out, m.target);
    }

    /**
     * Applies every record of {@code batches} (read from a coordinator partition) to {@code groups}; returns how many.
     * Each batch is checked (CRC) first: a damaged one fails the load instead of loading wrong offsets.
     */
    static int replay(ByteBuffer batches, Map<String, ConsumerGroup> groups) {
        int n = 0;
        for (RecordBatch b : RecordBatches.split(batches)) {
            b.ensureValid();
            for (Record r : b.records()) {
                apply(r.key(), r.value(), groups);
                n++;
            }
        }
        return n;
    }

    /** The offset after the last batch in {@code batches}. */
    static long nextOffset(ByteBuffer batches) {
        long next = -1;
        for (RecordBatch b : RecordBatches.split(batches)) {
            next = b.nextOffset();
        }
        return next;
    }

    static void apply(byte[] key, byte[] value, Map<String, ConsumerGroup> groups) {
        try {
            DataInputStream k = new DataInputStream(new ByteArrayInputStream(key));
            byte type = k.readByte();
            String groupId = k.readUTF();
            DataInputStream v = value == null ? null : new DataInputStream(new ByteArrayInputStream(value));
            byte version = v == null ? VERSION : v.readByte();
            if (type == CHECKPOINT_BEGIN || type == CHECKPOINT_END || type == BARRIER) {
                return;
            }
            if (type == GROUP) {
                if (v == null) {
                    groups.remove(groupId);
                } else {
                    ConsumerGroup g = groups.computeIfAbsent(groupId, ConsumerGroup::new);
                    g.groupEpoch = v.readInt();
                    g.assignmentEpoch = v.readInt();
                    g.emptySinceMs = version >= 1 ? v.readLong() : -1;
                }
            } else if (type == MEMBER) {
                String memberId = k.readUTF();
                ConsumerGroup g = groups.computeIfAbsent(groupId, ConsumerGroup::new);
                if (v == null) {
                    g.members.remove(memberId);
                } else {
                    g.members.put(memberId, readMember(memberId, version, v));
                }
            } else if (type == OFFSET) {
                TopicPartition tp = new TopicPartition(k.readUTF(), k.readInt());
                ConsumerGroup g = groups.computeIfAbsent(groupId, ConsumerGroup::new);
                if (v == null) {
                    g.offsets.remove(tp);
                } else {
                    g.putOffset(tp, new CommittedOffset(v.readLong(), v.readUTF(), v.readLong()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("a coordinator record that does not parse", e);
        }
    }

    private static MemberState readMember(String memberId, byte version, DataInputStream in) throws IOException {
        MemberState m = new MemberState(memberId);
        m.instanceId = in.readUTF();
        m.clientId = in.readUTF();
        m.host = in.readUTF();
        int topics = in.readInt();
        for (int i = 0; i < topics; i++) {
            m.topics.add(in.readUTF());
        }
        m.pattern = in.readUTF();
        m.assignor = AssignorType.values()[in.readByte()];
        m.sessionTimeoutMs = in.readInt();
        m.rebalanceTimeoutMs = in.readInt();
        m.epoch = in.readInt();
        m.assigned = version == 0 ? readPartitions(in) : readPartitionsByTopic(in);
        m.revoking = version == 0 ? readPartitions(in) : readPartitionsByTopic(in);
        m.target = version == 0 ? readPartitions(in) : readPartitionsByTopic(in);
        return m;
    }

    /** The set as: number of topics, then per topic its name, its number of partitions and their numbers. */
    private static void partitionsByTopic(DataOutputStream out, SortedSet<TopicPartition> partitions) throws IOException {
        Map<String, List<Integer>> byTopic = new LinkedHashMap<>();
        for (TopicPartition tp : partitions) {
            byTopic.computeIfAbsent(tp.topic(), t -> new ArrayList<>()).add(tp.partition());
        }
        out.writeInt(byTopic.size());
        for (Map.Entry<String, List<Integer>> e : byTopic.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeInt(e.getValue().size());
            for (int p : e.getValue()) {
                out.writeInt(p);
            }
        }
    }

    private static SortedSet<TopicPartition> readPartitionsByTopic(DataInputStream in) throws IOException {
        SortedSet<TopicPartition> s = new TreeSet<>(MemberState.ORDER);
        int topics = in.readInt();
        for (int i = 0; i < topics; i++) {
            String topic = in.readUTF();
            int n = in.readInt();
            for (int j = 0; j < n; j++) {
                s.add(new TopicPartition(topic, in.readInt()));
            }
        }
        return s;
    }

    private static void partition(DataOutputStream out, TopicPartition tp) throws IOException {
        out.writeUTF(tp.topic());
        out.writeInt(tp.partition());
    }

    private static SortedSet<TopicPartition> readPartitions(DataInputStream in) throws IOException {
        int n = in.readInt();
        SortedSet<TopicPartition> s = new TreeSet<>(MemberState.ORDER);
        for (int i = 0; i < n; i++) {
            s.add(new TopicPartition(in.readUTF(), in.readInt()));
        }
        return s;
    }

    private interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    private static byte[] key(byte type, String groupId, Writer rest) {
        return bytes(out -> {
            out.writeByte(type);
            out.writeUTF(groupId);
            rest.write(out);
        });
    }

    private static byte[] value(Writer fields) {
        return value(VERSION, fields);
    }

    private static byte[] value(byte version, Writer fields) {
        return bytes(out -> {
            out.writeByte(version);
            fields.write(out);
        });
    }

    private static byte[] bytes(Writer w) {
        try {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(buf);
            w.write(out);
            out.flush();
            return buf.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
