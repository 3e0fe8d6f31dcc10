package io.rafka.raft;

/** A broker's identity and Raft endpoint. */
public record NodeAddress(String id, String host, int port) {
    public NodeAddress {
        if (id == null || id.isBlank() || !id.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("invalid node id '" + id + "': use letters, digits, '.', '_', '-'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("invalid port " + port);
        }
    }

    public String hostPort() {
        return host + ":" + port;
    }
}
