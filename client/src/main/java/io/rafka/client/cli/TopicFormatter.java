package io.rafka.client.cli;

import io.rafka.client.admin.TopicDescription;
import io.rafka.proto.v1.Broker;
import io.rafka.proto.v1.DescribeClusterResponse;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The text of {@code topic describe}, {@code topic create} and {@code cluster describe}: one line per
 * topic and an indented line per partition, tab-separated {@code Name: value} fields in the layout of
 * Kafka's {@code kafka-topics.sh --describe}, so that people and scripts used to it read it unchanged.
 */
final class TopicFormatter {

    private TopicFormatter() {
    }

    static List<String> describe(TopicDescription topic) {
        return describe(topic, null);
    }

    /**
     * @param liveBrokers the brokers alive now: replicas on any other broker are listed as {@code Offline: ...}
     *                    after {@code Replicas} (Kafka's describe has no such field; it is printed only when a replica
     *                    is offline); null when not known
     */
    static List<String> describe(TopicDescription topic, Set<String> liveBrokers) {
        List<String> lines = new ArrayList<>();
        lines.add("Topic: " + topic.name()
                + "\tTopicId: " + orNone(topic.topicId())
                + "\tPartitionCount: " + topic.partitions().size()
                + "\tReplicationFactor: " + topic.replicationFactor()
                + "\tConfigs: " + configs(topic.configs()));
        for (TopicDescription.PartitionInfo partition : topic.partitions()) {
            lines.add("\tTopic: " + topic.name()
                    + "\tPartition: " + partition.partition()
                    + "\tLeader: " + orNone(partition.leader())
                    + "\tReplicas: " + String.join(",", partition.replicas())
                    + offline(partition.replicas(), liveBrokers));
        }
        return lines;
    }

    static List<String> describeCluster(DescribeClusterResponse cluster) {
        List<String> lines = new ArrayList<>();
        lines.add("Controller: " + orNone(cluster.getControllerId())
                + "\tMetadataVersion: " + cluster.getMetadataVersion());
        for (Broker broker : cluster.getBrokersList()) {
            lines.add("Broker: " + broker.getId()
                    + "\tAddress: " + broker.getHost() + ":" + broker.getPort()
                    + "\tLive: " + cluster.getLiveBrokerIdsList().contains(broker.getId()));
        }
        return lines;
    }

    /** {@code k=v,k2=v2} sorted by key, so that the same configuration always prints the same. */
    static String configs(Map<String, String> configs) {
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, String> entry : new TreeMap<>(configs).entrySet()) {
            if (text.length() > 0) {
                text.append(',');
            }
            text.append(entry.getKey()).append('=').append(entry.getValue());
        }
        return text.toString();
    }

    private static String offline(List<String> replicas, Set<String> liveBrokers) {
        if (liveBrokers == null) {
            return "";
        }
        List<String> offline = replicas.stream().filter(id -> !liveBrokers.contains(id)).toList();
        return offline.isEmpty() ? "" : "\tOffline: " + String.join(",", offline);
    }

    private static String orNone(String id) {
        return id.isEmpty() ? "none" : id;
    }
}
