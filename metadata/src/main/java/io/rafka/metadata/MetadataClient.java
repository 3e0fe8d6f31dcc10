package io.rafka.metadata;

import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;

/**
 * A broker's Ratis client of the metadata group that survives a member without the group.
 *
 * <p>A member whose log failed (a full disk) is closed until there is room ({@link MetadataNode}): its group is
 * removed from a Raft server that still answers, with GroupMismatchException. Ratis's client does not move on from
 * that answer as it does from NotLeader or a refused connection: it fails every call it has queued, closes its window
 * of ordered calls, and from then on fails every call at once ("SlidingWindow$Client ... is closed"), writes and
 * read-only calls alike, for good. So a broker whose client met such a member once, the controller whose log had
 * just failed, or the first voter for a client just built, could neither register nor heartbeat nor check its view,
 * and stopped serving after its session timed out (FullDiskBrokerIT). Here a call that fails so replaces the Ratis
 * client with a new one whose first guess of the leader is the voter after the one that answered so, and is sent
 * again on it, up to once per voter; calls that were queued on the old client and fail with it are sent again on the
 * new one too. One of those may have reached the leader before (Ratis resends a call after a lost answer, to another
 * server), and the new client's calls are new to the leader's retry cache: a write may then be applied twice, so
 * every record sent through here must be idempotent (a broker's registration; leaderships, which carry epochs).
 */
final class MetadataClient implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(MetadataClient.class);
    private static final long LOG_EVERY_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);

    private final RaftGroup group;
    private final RaftProperties properties;
    private final List<RaftPeerId> voters;
    private int guess;             // guarded by this: the voter the current client asked first
    private RaftClient client;     // guarded by this
    private boolean closed;        // guarded by this
    private long loggedNanos = System.nanoTime() - LOG_EVERY_NANOS;  // guarded by this

    MetadataClient(RaftGroup group, RaftProperties properties) {
        this.group = group;
        this.properties = properties;
        this.voters = group.getPeers().stream().map(RaftPeer::getId).toList();
        this.client = build(voters.get(0));
    }

    /** A write to the metadata log (ordered, as Ratis's {@code async().send}). */
    CompletableFuture<RaftClientReply> send(Message message) {
        return call(c -> c.async().send(message), voters.size());
    }

    /** A read-only call, answered by the leader (as Ratis's {@code async().sendReadOnly}). */
    CompletableFuture<RaftClientReply> sendReadOnly(Message message) {
        return call(c -> c.async().sendReadOnly(message), voters.size());
    }

    private CompletableFuture<RaftClientReply> call(Function<RaftClient, CompletableFuture<RaftClientReply>> send, int attempts) {
        RaftClient used = current();
        CompletableFuture<RaftClientReply> sent;
        try {
            sent = send.apply(used);
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        return sent.handle((reply, e) -> {
            Throwable failure = e != null ? e : reply.getException();
            if (!unusable(failure) || !replace(used, failure) || attempts <= 1) {
                return e == null ? CompletableFuture.completedFuture(reply) : CompletableFuture.<RaftClientReply>failedFuture(e);
            }
            return call(send, attempts - 1);
        }).thenCompose(f -> f);
    }

    private synchronized RaftClient current() {
        return client;
    }

    /**
     * Replaces {@code used}, found unusable, unless that happened already (then the call goes again on the client that
     * replaced it). False once this client is closed: the failure is the caller's.
     */
    private boolean replace(RaftClient used, Throwable why) {
        RaftClient old;
        synchronized (this) {
            if (closed) {
                return false;
            }
            if (client != used) {
                return true;
            }
            old = client;
            // Ratis keeps the server that answered so as its guess of the leader: go on from the voter after it.
            RaftPeerId last = used.getLeaderId();
            RaftPeerId was = last != null && voters.contains(last) ? last : voters.get(guess);
            guess = (voters.indexOf(was) + 1) % voters.size();
            client = build(voters.get(guess));
            long now = System.nanoTime();
            if (now - loggedNanos >= LOG_EVERY_NANOS) {   // while a controller is elected, many calls in a row meet one
                loggedNanos = now;
                LOG.info("metadata client: a call last sent to {} failed ({}); a new client asks {} first", was,
                        unwrap(why), voters.get(guess));
            } else {
                LOG.debug("metadata client: a call last sent to {} failed ({}); a new client asks {} first", was,
                        unwrap(why), voters.get(guess));
            }
        }
        // Not on this thread, which may be one of the old client's own: closing fails what is still queued on it,
        // and those calls go again on the new client.
        Thread closer = new Thread(() -> closeQuietly(old), "rafka-metadata-client-close");
        closer.setDaemon(true);
        closer.start();
        return true;
    }

    private RaftClient build(RaftPeerId firstGuess) {
        return RaftClient.newBuilder().setRaftGroup(group).setLeaderId(firstGuess).setProperties(properties).build();
    }

    /** GroupMismatchException, or the closed window it leaves behind: this Ratis client will not work again. */
    static boolean unusable(Throwable t) {
        Throwable c = unwrap(t);
        return c instanceof GroupMismatchException || c instanceof AlreadyClosedException;
    }

    private static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    private static void closeQuietly(RaftClient c) {
        try {
            c.close();
        } catch (IOException | RuntimeException e) {
            LOG.debug("closing a replaced metadata client: {}", e.toString());
        }
    }

    @Override
    public void close() throws IOException {
        RaftClient c;
        synchronized (this) {
            closed = true;
            c = client;
        }
        c.close();
    }
}
