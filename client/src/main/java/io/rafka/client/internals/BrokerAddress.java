package io.rafka.client.internals;

import io.rafka.proto.v1.Broker;

/**
 * Where a broker's gRPC port is. The key of the channel pool: brokers are reached by address, and two
 * broker ids never share one, so one channel per address is one channel per broker.
 */
public record BrokerAddress(String host, int port) {

    public BrokerAddress {
        if (host.isEmpty()) {
            throw new IllegalArgumentException("empty host");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is not in 1..65535");
        }
    }

    /** Parses {@code host:port}, or {@code [v6-address]:port} for IPv6 literals. */
    public static BrokerAddress parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("'" + text + "' is not HOST:PORT");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0 || host.indexOf(',') >= 0 || host.chars().anyMatch(Character::isWhitespace)) {
            // "a:1,b:2" would otherwise read as host "a:1,b" and fail only when a channel is made, as an uncaught error
            throw new IllegalArgumentException("'" + text + "' is not one HOST:PORT (an IPv6 host goes in brackets)");
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not HOST:PORT");
        }
        return new BrokerAddress(host, port);
    }

    public static BrokerAddress of(Broker broker) {
        return new BrokerAddress(broker.getHost(), broker.getPort());
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
