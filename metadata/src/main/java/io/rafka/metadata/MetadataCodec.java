package io.rafka.metadata;

import io.rafka.common.TopicPartition;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Byte formats of the metadata log (a batch of records per Raft entry) and of metadata snapshots (the
 * whole image). Big-endian, strings as modified UTF-8 (DataOutput), maps written in key order so the bytes
 * are deterministic. A leading version byte lets later versions add record types.
 */
public final class MetadataCodec {
    private static final byte VERSION = 1;
    private static final byte REGISTER_BROKER = 1;
    private static final byte UNREGISTER_BROKER = 2;
    private static final byte CREATE_TOPIC = 3;
    private static final byte DELETE_TOPIC = 4;
    private static final byte CREATE_PARTITIONS = 5;
    private static final byte ALTER_CONFIGS = 6;
    private static final byte REORDER_REPLICAS = 7;
    private static final byte PARTITION_LEADERS = 8;
    private static final byte REASSIGN_REPLICAS = 9;
    private static final byte ALLOCATE_PRODUCER_IDS = 10;
    /** PARTITION_LEADERS with each partition's topic id; type 8 entries (without) are still read. */
    private static final byte PARTITION_LEADERS_WITH_IDS = 11;

    private MetadataCodec() {
    }

    public static byte[] encodeRecords(List<MetadataRecord> records) {
        return write(out -> {
            out.writeByte(VERSION);
            out.writeInt(records.size());
            for (MetadataRecord r : records) {
                writeRecord(out, r);
            }
        });
    }

    public static List<MetadataRecord> decodeRecords(byte[] bytes) {
        return read(bytes, in -> {
            checkVersion(in);
            int n = count(in, 1);
            List<MetadataRecord> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(readRecord(in));
            }
            return out;
        });
    }

    public static byte[] encodeImage(MetadataImage image) {
        return write(out -> {
            out.writeByte(VERSION);
            out.writeLong(image.version());
            out.writeInt(image.brokers().size());
            for (BrokerInfo b : new TreeMap<>(image.brokers()).values()) {
                writeBroker(out, b);
            }
            out.writeInt(image.topics().size());
            for (TopicInfo t : new TreeMap<>(image.topics()).values()) {
                writeTopic(out, t);
            }
            out.writeInt(image.leaders().size());
            List<Map.Entry<TopicPartition, MetadataImage.PartitionLeader>> leaders = new ArrayList<>(image.leaders().entrySet());
            leaders.sort(Map.Entry.comparingByKey(TopicPartition.ORDER));
            for (Map.Entry<TopicPartition, MetadataImage.PartitionLeader> e : leaders) {
                out.writeUTF(e.getKey().topic());
                out.writeInt(e.getKey().partition());
                out.writeUTF(e.getValue().brokerId());
                out.writeLong(e.getValue().epoch());
            }
            out.writeLong(image.nextProducerId());
        });
    }

    public static MetadataImage decodeImage(byte[] bytes) {
        return read(bytes, in -> {
            checkVersion(in);
            long version = in.readLong();
            Map<String, BrokerInfo> brokers = new HashMap<>();
            for (int i = in.readInt(); i > 0; i--) {
                BrokerInfo b = readBroker(in);
                brokers.put(b.id(), b);
            }
            Map<String, TopicInfo> topics = new HashMap<>();
            for (int i = in.readInt(); i > 0; i--) {
                TopicInfo t = readTopic(in);
                topics.put(t.name(), t);
            }
            Map<TopicPartition, MetadataImage.PartitionLeader> leaders = new HashMap<>();
            // Images written before partition leaders were recorded end here.
            for (int i = in.available() > 0 ? in.readInt() : 0; i > 0; i--) {
                TopicPartition tp = new TopicPartition(in.readUTF(), in.readInt());
                leaders.put(tp, new MetadataImage.PartitionLeader(in.readUTF(), in.readLong()));
            }
            // Images written before producer ids were allocated end here.
            long nextProducerId = in.available() > 0 ? in.readLong() : 0;
            return MetadataImage.of(brokers, topics, leaders, version, nextProducerId);
        });
    }

    private static void writeRecord(DataOutputStream out, MetadataRecord r) throws IOException {
        if (r instanceof MetadataRecord.RegisterBroker x) {
            out.writeByte(REGISTER_BROKER);
            writeBroker(out, x.broker());
        } else if (r instanceof MetadataRecord.UnregisterBroker x) {
            out.writeByte(UNREGISTER_BROKER);
            out.writeUTF(x.brokerId());
        } else if (r instanceof MetadataRecord.CreateTopic x) {
            out.writeByte(CREATE_TOPIC);
            writeTopic(out, x.topic());
        } else if (r instanceof MetadataRecord.DeleteTopic x) {
            out.writeByte(DELETE_TOPIC);
            out.writeUTF(x.name());
        } else if (r instanceof MetadataRecord.CreatePartitions x) {
            out.writeByte(CREATE_PARTITIONS);
            out.writeUTF(x.topic());
            writeAssignments(out, x.added());
        } else if (r instanceof MetadataRecord.AlterConfigs x) {
            out.writeByte(ALTER_CONFIGS);
            out.writeUTF(x.topic());
            writeMap(out, x.configs());
        } else if (r instanceof MetadataRecord.ReorderReplicas x) {
            out.writeByte(REORDER_REPLICAS);
            out.writeUTF(x.topic());
            out.writeInt(x.partition());
            writeList(out, x.replicas());
        } else if (r instanceof MetadataRecord.ReassignReplicas x) {
            out.writeByte(REASSIGN_REPLICAS);
            out.writeUTF(x.topic());
            out.writeInt(x.partition());
            writeList(out, x.replicas());
        } else if (r instanceof MetadataRecord.PartitionLeaders x) {
            out.writeByte(PARTITION_LEADERS_WITH_IDS);
            out.writeUTF(x.brokerId());
            out.writeInt(x.leaders().size());
            for (MetadataRecord.LeaderEpoch e : x.leaders()) {
                out.writeUTF(e.topic());
                out.writeInt(e.partition());
                out.writeLong(e.epoch());
                out.writeBoolean(e.topicId() != null);
                if (e.topicId() != null) {
                    out.writeLong(e.topicId().getMostSignificantBits());
                    out.writeLong(e.topicId().getLeastSignificantBits());
                }
            }
        } else if (r instanceof MetadataRecord.AllocateProducerIds x) {
            out.writeByte(ALLOCATE_PRODUCER_IDS);
            out.writeUTF(x.brokerId());
            out.writeLong(x.firstProducerId());
            out.writeInt(x.count());
        } else {
            throw new IllegalArgumentException("unknown record " + r);
        }
    }

    private static MetadataRecord readRecord(DataInputStream in) throws IOException {
        byte type = in.readByte();
        return switch (type) {
            case REGISTER_BROKER -> new MetadataRecord.RegisterBroker(readBroker(in));
            case UNREGISTER_BROKER -> new MetadataRecord.UnregisterBroker(in.readUTF());
            case CREATE_TOPIC -> new MetadataRecord.CreateTopic(readTopic(in));
            case DELETE_TOPIC -> new MetadataRecord.DeleteTopic(in.readUTF());
            case CREATE_PARTITIONS -> new MetadataRecord.CreatePartitions(in.readUTF(), readAssignments(in));
            case ALTER_CONFIGS -> new MetadataRecord.AlterConfigs(in.readUTF(), readMap(in));
            case REORDER_REPLICAS -> new MetadataRecord.ReorderReplicas(in.readUTF(), in.readInt(), readList(in));
            case PARTITION_LEADERS -> readPartitionLeaders(in, false);
            case PARTITION_LEADERS_WITH_IDS -> readPartitionLeaders(in, true);
            case REASSIGN_REPLICAS -> new MetadataRecord.ReassignReplicas(in.readUTF(), in.readInt(), readList(in));
            case ALLOCATE_PRODUCER_IDS -> new MetadataRecord.AllocateProducerIds(in.readUTF(), in.readLong(), in.readInt());
            default -> throw new IOException("unknown metadata record type " + type);
        };
    }

    private static MetadataRecord readPartitionLeaders(DataInputStream in, boolean withIds) throws IOException {
        String brokerId = in.readUTF();
        int n = count(in, 2 + 4 + 8 + (withIds ? 1 : 0));
        List<MetadataRecord.LeaderEpoch> leaders = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String topic = in.readUTF();
            int partition = in.readInt();
            long epoch = in.readLong();
            UUID id = withIds && in.readBoolean() ? new UUID(in.readLong(), in.readLong()) : null;
            leaders.add(new MetadataRecord.LeaderEpoch(topic, partition, epoch, id));
        }
        return new MetadataRecord.PartitionLeaders(brokerId, leaders);
    }

    private static void writeBroker(DataOutputStream out, BrokerInfo b) throws IOException {
        out.writeUTF(b.id());
        out.writeUTF(b.host());
        out.writeInt(b.apiPort());
        out.writeInt(b.raftPort());
    }

    private static BrokerInfo readBroker(DataInputStream in) throws IOException {
        return new BrokerInfo(in.readUTF(), in.readUTF(), in.readInt(), in.readInt());
    }

    private static void writeTopic(DataOutputStream out, TopicInfo t) throws IOException {
        out.writeUTF(t.name());
        out.writeLong(t.id().getMostSignificantBits());
        out.writeLong(t.id().getLeastSignificantBits());
        writeAssignments(out, t.assignments());
        writeMap(out, t.configs());
    }

    private static TopicInfo readTopic(DataInputStream in) throws IOException {
        String name = in.readUTF();
        UUID id = new UUID(in.readLong(), in.readLong());
        return new TopicInfo(name, id, readAssignments(in), readMap(in));
    }

    private static void writeAssignments(DataOutputStream out, List<List<String>> assignments) throws IOException {
        out.writeInt(assignments.size());
        for (List<String> replicas : assignments) {
            writeList(out, replicas);
        }
    }

    private static List<List<String>> readAssignments(DataInputStream in) throws IOException {
        int n = count(in, 4);
        List<List<String>> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(readList(in));
        }
        return out;
    }

    private static void writeList(DataOutputStream out, List<String> list) throws IOException {
        out.writeInt(list.size());
        for (String s : list) {
            out.writeUTF(s);
        }
    }

    private static List<String> readList(DataInputStream in) throws IOException {
        int n = count(in, 2);
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(in.readUTF());
        }
        return out;
    }

    private static void writeMap(DataOutputStream out, Map<String, String> map) throws IOException {
        out.writeInt(map.size());
        for (Map.Entry<String, String> e : new TreeMap<>(map).entrySet()) {
            out.writeUTF(e.getKey());
            out.writeUTF(e.getValue());
        }
    }

    private static Map<String, String> readMap(DataInputStream in) throws IOException {
        Map<String, String> out = new HashMap<>();
        for (int n = count(in, 4); n > 0; n--) {
            out.put(in.readUTF(), in.readUTF());
        }
        return out;
    }

    /**
     * A count of elements read from the bytes, checked against the bytes left ({@code minBytes} each at least):
     * a corrupt or forged count is an unreadable entry, not a huge allocation.
     */
    private static int count(DataInputStream in, int minBytes) throws IOException {
        int n = in.readInt();
        if (n < 0 || (long) n * minBytes > in.available()) {
            throw new IOException("a count of " + n + " with " + in.available() + " bytes left");
        }
        return n;
    }

    private static void checkVersion(DataInputStream in) throws IOException {
        byte v = in.readByte();
        if (v != VERSION) {
            throw new IOException("unsupported metadata format version " + v);
        }
    }

    private interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    private interface Reader<T> {
        T read(DataInputStream in) throws IOException;
    }

    private static byte[] write(Writer w) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            w.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static <T> T read(byte[] bytes, Reader<T> r) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            return r.read(in);
        } catch (IOException e) {
            throw new IllegalArgumentException("corrupt metadata bytes: " + e.getMessage(), e);
        }
    }
}
