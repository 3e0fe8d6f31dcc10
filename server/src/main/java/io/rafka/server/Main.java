package io.rafka.server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The broker process: {@code rafka server [--config FILE] [--key=value ...]}. Prints where it listens once
 * started, stops gracefully on SIGTERM/SIGINT, and exits with 2 on a bad configuration (naming the key).
 */
public final class Main {
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);
    /**
     * Ratis's shaded gRPC logs through java.util.logging (one INFO line at start); only its warnings are
     * wanted, and JUL drops the rest before they reach the bridge. A strong reference: JUL holds loggers
     * weakly and would forget the level.
     */
    private static final java.util.logging.Logger RATIS_GRPC_JUL = java.util.logging.Logger.getLogger("org.apache.ratis.thirdparty.io.grpc");

    private Main() {
    }

    /**
     * Gives the JVM's common pool at least 4 threads unless the command line chose a size. On 2 CPUs the JDK
     * sizes it 1, and then every executor-less {@code CompletableFuture} step inside Ratis runs on a new
     * thread (see RaftNode). Must run before anything touches the common pool, hence first in {@link #main}.
     */
    private static void sizeCommonPool() {
        String key = "java.util.concurrent.ForkJoinPool.common.parallelism";
        if (System.getProperty(key) == null) {
            System.setProperty(key, Integer.toString(Math.max(4, Runtime.getRuntime().availableProcessors())));
        }
    }

    /**
     * Whether a port this broker binds was taken: a {@link java.net.BindException} somewhere in the causes, or the
     * native transport's error saying so (Netty's epoll reports {@code bind(..) failed ...: Address already in use}).
     */
    static boolean bindFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.BindException
                    || (t.getMessage() != null && t.getMessage().contains("Address already in use"))) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    public static void main(String[] args) {
        sizeCommonPool();
        routeJulToSlf4j();
        RATIS_GRPC_JUL.setLevel(java.util.logging.Level.WARNING);
        PrintStream console = System.out;
        List<String> argList = Arrays.asList(args);
        if (argList.contains("--help") || argList.contains("-h")) {
            console.print(ServerConfig.help());
            return;
        }
        ServerConfig config;
        try {
            config = ServerConfig.load(argList, System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("rafka: invalid configuration: " + e.getMessage());
            System.exit(2);
            return;
        }
        Broker broker;
        try {
            broker = Broker.start(config);
        } catch (Exception e) {
            if (bindFailure(e)) {
                // The usual first meeting with a broker already running (or Kafka on 9092): say which ports and how
                // to move them, not a stack trace.
                String ports = ServerConfig.GRPC_PORT.name() + " " + config.get(ServerConfig.GRPC_PORT) + ", "
                        + ServerConfig.RAFT_PORT.name() + " " + config.get(ServerConfig.RAFT_PORT) + ", "
                        + ServerConfig.METADATA_PORT.name() + " " + config.get(ServerConfig.METADATA_PORT) + ", "
                        + ServerConfig.HTTP_PORT.name() + " " + config.get(ServerConfig.HTTP_PORT);
                LOG.error("broker failed to start: a port is in use ({} on {}): {}", ports, config.get(ServerConfig.BIND_HOST),
                        e.getMessage());
                LOG.debug("bind failure", e);
                System.err.println("rafka: broker failed to start: " + e.getMessage() + ": address already in use. This"
                        + " broker binds " + ports + " on " + config.get(ServerConfig.BIND_HOST) + "; stop what uses the port"
                        + " or give another, e.g. --" + ServerConfig.GRPC_PORT.name() + "=9192 (or "
                        + ServerConfig.GRPC_PORT.envName() + "=9192)");
            } else {
                LOG.error("broker failed to start", e);
                System.err.println("rafka: broker failed to start: " + e.getMessage());
            }
            System.exit(1);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                broker.close();
            } catch (Exception e) {
                LOG.error("error during shutdown", e);
            } finally {
                stopped.countDown();
            }
        }, "rafka-shutdown"));
        try {
            while (!broker.awaitServing(10_000)) {
                if (stopped.getCount() == 0) {
                    return;
                }
                console.printf("Rafka broker %s is waiting for a majority of the metadata voters (%s)...%n", config.nodeId(),
                        config.get(ServerConfig.VOTERS).isEmpty() ? "itself" : config.get(ServerConfig.VOTERS));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        console.printf("Rafka broker %s is up: gRPC %s:%d, HTTP %s, data in %s%n", config.nodeId(),
                config.get(ServerConfig.HOST), broker.grpcPort(),
                broker.httpPort() < 0 ? "off" : "http://" + config.get(ServerConfig.HOST) + ":" + broker.httpPort() + "/status",
                config.dataDir().toAbsolutePath().normalize());
        console.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * grpc-java and Ratis's shaded gRPC log through java.util.logging: replace JUL's console handler with the
     * slf4j bridge, so their warnings come out in the broker's log format and obey logback's levels.
     */
    static void routeJulToSlf4j() {
        if (!SLF4JBridgeHandler.isInstalled()) {
            SLF4JBridgeHandler.removeHandlersForRootLogger();
            SLF4JBridgeHandler.install();
        }
    }
}
