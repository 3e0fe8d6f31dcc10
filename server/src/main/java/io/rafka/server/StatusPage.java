package io.rafka.server;

import io.rafka.common.TopicPartition;
import io.rafka.raft.PartitionStatus;
import io.rafka.metadata.BrokerInfo;
import io.rafka.metadata.MetadataImage;
import io.rafka.server.broker.ClusterView;

import java.util.List;
import java.util.TreeMap;

/**
 * The JSON status page ({@code GET /status}): who this broker is, what it knows of the cluster, and every
 * partition replica it hosts with leader, high watermark and log start. Meant for people and scripts
 * ({@code bin/rafka cluster status}); the stable interface for programs is the gRPC API.
 */
final class StatusPage {
    private final Broker broker;
    private final ClusterView view;

    StatusPage(Broker broker, ClusterView view) {
        this.broker = broker;
        this.view = view;
    }

    String json() {
        ServerConfig c = broker.config();
        MetadataImage image = view.image();
        StringBuilder sb = new StringBuilder(1024);
        sb.append("{\n");
        field(sb, "node_id", c.nodeId()).append(",\n");
        field(sb, "serving", broker.isServing()).append(",\n");
        field(sb, "grpc", c.get(ServerConfig.HOST) + ":" + broker.grpcPort()).append(",\n");
        field(sb, "controller_id", view.controllerId().orElse("")).append(",\n");
        field(sb, "is_controller", view.isController()).append(",\n");
        field(sb, "metadata_version", image.version()).append(",\n");
        field(sb, "topics", image.topics().size()).append(",\n");
        sb.append("  \"brokers\": [");
        String sep = "";
        for (BrokerInfo b : new TreeMap<>(image.brokers()).values()) {
            sb.append(sep).append("{\"id\": ").append(quote(b.id())).append(", \"grpc\": ")
                    .append(quote(b.host() + ":" + b.apiPort())).append('}');
            sep = ", ";
        }
        sb.append("],\n  \"partitions\": [");
        sep = "\n";
        List<TopicPartition> hosted = broker.raftNode().partitions().stream()
                .sorted(TopicPartition.ORDER).toList();
        long lagMs = c.getLong(ServerConfig.REPLICA_LAG_MS);
        for (TopicPartition tp : hosted) {
            PartitionStatus s;
            try {
                s = broker.raftNode().status(tp);
            } catch (RuntimeException e) {
                continue;
            }
            sb.append(sep).append("    {\"topic\": ").append(quote(tp.topic())).append(", \"partition\": ").append(tp.partition())
                    .append(", \"leader\": ").append(quote(s.leaderId().orElse(""))).append(", \"is_leader\": ").append(s.isLeader())
                    .append(", \"leader_epoch\": ").append(s.term()).append(", \"high_watermark\": ").append(s.highWatermark())
                    .append(", \"log_end_offset\": ").append(s.logEndOffset())
                    .append(", \"log_start_offset\": ").append(s.logStartOffset())
                    .append(", \"lagging_followers\": ").append(broker.raftNode().laggingFollowers(tp, lagMs))
                    .append(", \"repairing\": ").append(s.repairing())
                    .append(", \"hibernated\": ").append(s.hibernated())
                    .append(", \"applied_index\": ").append(s.appliedIndex())
                    .append(", \"raft\": ").append(quote(broker.raftNode().raftMember(tp)));
            s.copy().ifPresent(copy -> sb.append(", \"copy\": {\"copied_to\": ").append(copy.copiedTo())
                    .append(", \"target\": ").append(copy.target()).append('}'));
            sb.append('}');
            sep = ",\n";
        }
        sb.append(hosted.isEmpty() ? "]\n" : "\n  ]\n").append("}\n");
        return sb.toString();
    }

    private static StringBuilder field(StringBuilder sb, String name, Object value) {
        sb.append("  ").append(quote(name)).append(": ");
        return value instanceof String s ? sb.append(quote(s)) : sb.append(value);
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (ch < 0x20) {
                        sb.append(String.format("\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
