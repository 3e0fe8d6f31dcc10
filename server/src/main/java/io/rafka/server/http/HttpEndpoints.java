package io.rafka.server.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.rafka.server.metrics.BrokerMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The broker's HTTP port: {@code /metrics} (Prometheus text format), {@code /status} (JSON) and
 * {@code /health} (200 while serving, 503 otherwise), each at exactly that path. The JDK's HTTP server on a few
 * threads: scrapes and status checks are rare and cheap.
 *
 * <p>The JDK's server reads a request's headers on one of those threads with no time limit of its own, so a client
 * that sends a byte and stops would hold a thread for good (a few such connections, and {@code /health} hangs):
 * unless the JVM was started with them, {@value #MAX_REQUEST_SECONDS} s to send a request and
 * {@value #MAX_RESPONSE_SECONDS} s to take the response are set (JVM-wide, read when the first server starts).
 */
public final class HttpEndpoints implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpEndpoints.class);
    static final int MAX_REQUEST_SECONDS = 5;
    static final int MAX_RESPONSE_SECONDS = 30;
    private static final int THREADS = 4;
    private static final byte[] NOT_FOUND = "not found: /health, /status and /metrics are served here\n"
            .getBytes(StandardCharsets.UTF_8);

    static {
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
            System.setProperty("sun.net.httpserver.maxReqTime", Integer.toString(MAX_REQUEST_SECONDS));
        }
        if (System.getProperty("sun.net.httpserver.maxRspTime") == null) {
            System.setProperty("sun.net.httpserver.maxRspTime", Integer.toString(MAX_RESPONSE_SECONDS));
        }
    }

    private final HttpServer server;
    private final ExecutorService executor;

    private HttpEndpoints(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    public static HttpEndpoints start(String bindHost, int port, BrokerMetrics metrics, Supplier<String> status,
                                      BooleanSupplier serving, Supplier<String> healthDetail) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(bindHost, port), 16);
        server.createContext("/", ex -> respond(ex, 404, "text/plain", () -> NOT_FOUND));
        server.createContext("/metrics", ex -> respond(ex, 200, "text/plain; version=0.0.4; charset=utf-8", () -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
            metrics.write(out);
            return out.toByteArray();
        }));
        server.createContext("/status", ex -> respond(ex, 200, "application/json",
                () -> status.get().getBytes(StandardCharsets.UTF_8)));
        server.createContext("/health", ex -> {
            boolean ok = serving.getAsBoolean();
            respond(ex, ok ? 200 : 503, "text/plain",
                    () -> ((ok ? "ok\n" : "not serving\n") + healthDetail.get()).getBytes(StandardCharsets.UTF_8));
        });
        ExecutorService executor = Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "rafka-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.start();
        return new HttpEndpoints(server, executor);
    }

    private interface Body {
        byte[] get() throws IOException;
    }

    private static void respond(HttpExchange ex, int code, String contentType, Body body) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            if (!ex.getRequestURI().getPath().equals(ex.getHttpContext().getPath())) {
                code = 404;  // contexts match by prefix: /healthz is not /health
                contentType = "text/plain";
                body = () -> NOT_FOUND;
            }
            byte[] bytes;
            try {
                bytes = body.get();
            } catch (IOException | RuntimeException e) {
                LOG.warn("HTTP {} failed", ex.getRequestURI(), e);
                ex.sendResponseHeaders(500, -1);
                return;
            }
            ex.getResponseHeaders().set("Content-Type", contentType);
            if (ex.getRequestMethod().equals("HEAD")) {
                ex.getResponseHeaders().set("Content-Length", Integer.toString(bytes.length));
                ex.sendResponseHeaders(code, -1);   // headers only: a body after them is a protocol error
                return;
            }
            ex.sendResponseHeaders(code, bytes.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
