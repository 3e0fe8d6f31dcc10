package io.rafka.server;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {

    /** A port taken by another process is told apart from other start failures, wherever it sits in the causes. */
    @Test
    void aTakenPortIsRecognisedThroughTheCausesOfAStartFailure() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            IOException bind = assertThrows(IOException.class,
                    () -> new ServerSocket(taken.getLocalPort(), 1, InetAddress.getLoopbackAddress()).close());
            // As gRPC's server builder reports it: its own IOException around the JDK's BindException.
            assertTrue(Main.bindFailure(new IllegalStateException("start", new IOException("Failed to bind to address", bind))));
        }
        // As gRPC's Netty epoll transport reports it: no BindException, the kernel's words.
        assertTrue(Main.bindFailure(new IOException("Failed to bind to address /127.0.0.1:9092",
                new IOException("bind(..) failed with error(-98): Address already in use"))));
        assertFalse(Main.bindFailure(new IOException("disk full")));
        assertFalse(Main.bindFailure(new IllegalStateException("start", new IOException("Connection refused"))));
    }
}
