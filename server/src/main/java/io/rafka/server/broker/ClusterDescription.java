package io.rafka.server.broker;

import io.rafka.metadata.BrokerInfo;

import java.util.Collection;
import java.util.List;

/** The cluster as the controller sees it: registered brokers (by id) and which of them heartbeat. */
public record ClusterDescription(String controllerId, long metadataVersion, List<BrokerInfo> brokers,
                                 Collection<String> liveBrokerIds) {
}
