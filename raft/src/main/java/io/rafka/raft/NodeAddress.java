package io.rafka.raft;

import java.util.regex.Pattern;

/** A broker's identity and Raft endpoint. */
public record NodeAddress(String id, String host, int port) {
    /** Compiled once: every metadata pass builds an address per replica (30,000 for 10,000 partitions RF 3). */
    private static final Pattern VALID_ID = Pattern.compile("[A-Za-z0-9._-]+");

    public NodeAddress {
        if (id == null || id.isBlank() || !VALID_ID.matcher(id).matches()) {
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
