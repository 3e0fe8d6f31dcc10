package io.rafka.client.producer;

/**
 * <pre>{@code
 * RafkaProducer.builder(keys, values).bootstrap("127.0.0.1:9192").acks(Acks.ALL).build();
 * }</pre>
 *
 * When the broker answers a produce (Kafka's {@code acks}): {@link #ALL} (the default) once the batch is committed
 * on a majority of replicas; {@link #LEADER} is the same in Rafka (a Raft leader cannot commit alone); {@link #NONE}
 * as soon as the leader accepted the data, with offset -1 in the {@link RecordMetadata}.
 */
public enum Acks {
    NONE("0"), LEADER("1"), ALL("all");

    private final String configValue;

    Acks(String configValue) {
        this.configValue = configValue;
    }

    /** The value as Kafka's {@code acks} config spells it: 0, 1, all (-1 is accepted as all). */
    public String configValue() {
        return configValue;
    }

    public static Acks fromConfig(String value) {
        return switch (value.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "0" -> NONE;
            case "1" -> LEADER;
            case "all", "-1" -> ALL;
            default -> throw new IllegalArgumentException("acks must be 0, 1, all or -1, not '" + value + "'");
        };
    }
}
