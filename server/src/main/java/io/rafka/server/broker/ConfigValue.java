package io.rafka.server.broker;

/** One effective setting of the broker or a topic; {@code doc} is empty where there is none. */
public record ConfigValue(String name, String value, boolean isDefault, String doc) {
}
