package io.rafka.client.admin;

import java.util.List;

/**
 * The brokers registered, which of them are alive, and which one is the controller (the metadata group's
 * leader).
 *
 * <pre>{@code
 * ClusterDescription cluster = admin.describeCluster().join();
 * boolean allUp = cluster.liveBrokerIds().size() == cluster.brokers().size();
 * }</pre>
 */
public record ClusterDescription(List<Node> brokers, List<String> liveBrokerIds, String controllerId) {

    /** A broker and its gRPC address. */
    public record Node(String id, String host, int port) {
    }
}
