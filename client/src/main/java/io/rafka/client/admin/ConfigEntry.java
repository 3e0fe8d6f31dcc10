package io.rafka.client.admin;

/**
 * One setting of a topic or broker, with whether it is the default.
 *
 * <pre>{@code
 * admin.describeConfigs("orders").join().forEach(e -> System.out.println(e.name() + "=" + e.value()));
 * }</pre>
 */
public record ConfigEntry(String name, String value, boolean isDefault) {
}
