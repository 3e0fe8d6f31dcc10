package io.rafka.client.cli;

import io.rafka.client.internals.ClientException;

/**
 * The command line itself is wrong (unknown command or option, missing or malformed value). Kept apart
 * from {@link ClientException} because the two end differently: a usage error prints the usage text and
 * exits with 2, so scripts can tell "you called me wrong" from "the cluster said no" (exit 1).
 */
final class UsageException extends RuntimeException {

    UsageException(String message) {
        super(message);
    }
}
