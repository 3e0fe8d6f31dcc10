package io.rafka.metadata;

import io.rafka.common.InvalidTopicException;

/** Kafka's topic naming rules. */
public final class TopicNames {
    public static final int MAX_LENGTH = 249;

    private TopicNames() {
    }

    /** @throws InvalidTopicException with the rule the name breaks */
    public static void validate(String name) {
        if (name == null || name.isEmpty()) {
            throw new InvalidTopicException("topic name must not be empty");
        }
        if (name.equals(".") || name.equals("..")) {
            throw new InvalidTopicException("topic name cannot be '.' or '..'");
        }
        if (name.length() > MAX_LENGTH) {
            throw new InvalidTopicException("topic name is " + name.length() + " characters long; the limit is " + MAX_LENGTH);
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
            if (!ok) {
                throw new InvalidTopicException("topic name '" + name + "' has the character '" + c
                        + "' at " + i + "; allowed are ASCII letters, digits, '.', '_' and '-'");
            }
        }
    }
}
