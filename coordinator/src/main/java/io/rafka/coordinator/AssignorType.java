package io.rafka.coordinator;

/** The server-side assignors a group can use. */
public enum AssignorType {
    /** Balanced and sticky: members keep what they own where the balance allows. */
    UNIFORM,
    /** Per topic, consecutive ranges of partitions in member order (for co-partitioned topics). */
    RANGE
}
