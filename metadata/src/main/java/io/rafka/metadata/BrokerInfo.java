package io.rafka.metadata;

/** A registered broker: its id and the endpoints clients and peers use. */
public record BrokerInfo(String id, String host, int apiPort, int raftPort) {
}
