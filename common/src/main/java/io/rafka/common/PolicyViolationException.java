package io.rafka.common;

/** A request is well formed but a configured limit of the cluster refuses it (Kafka's POLICY_VIOLATION). */
public class PolicyViolationException extends RafkaException {
    public PolicyViolationException(String message) {
        super(ErrorCode.POLICY_VIOLATION, message);
    }
}
