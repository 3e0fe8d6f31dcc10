package io.rafka.server.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.rafka.common.BusyException;
import io.rafka.common.NotLeaderException;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.FetchResponse;
import io.rafka.proto.v1.SubscribeRequest;
import io.rafka.server.broker.FetchPartition;
import io.rafka.server.broker.FetchWaiters;
import io.rafka.server.broker.PartitionRead;
import io.rafka.server.broker.ReadBufferPool;
import io.rafka.server.broker.ReplicaManager;

import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A server-streaming subscription to one partition. Pushes whenever the client's flow-control window is
 * open and data is committed; waits (woken by commits, and rechecking every second for leadership loss)
 * otherwise. Ends with an error status when the partition cannot be read here any more.
 */
final class Subscription {
    private static final long RECHECK_MS = 1000;

    private final ReplicaManager replicas;
    private final ScheduledExecutorService timer;
    private final SubscribeRequest request;
    private final boolean decode;
    private final ServerCallStreamObserver<FetchResponse> out;
    private final ReadBufferPool.Lease buffers;
    private final UnreadAnswers unread;
    private final UnreadAnswers.Connection connection;
    /** What the last push reserved: held until the stream is ready again (the push has left for the socket). */
    private UnreadAnswers.Reservation pushed;
    private final int maxBytes;
    private long offset;
    private boolean done;
    private FetchWaiters.Waiter waiter;
    private ScheduledFuture<?> recheck;

    Subscription(ReplicaManager replicas, ScheduledExecutorService timer, SubscribeRequest request, boolean decode,
                 ServerCallStreamObserver<FetchResponse> out, UnreadAnswers unread) {
        this.unread = unread;
        this.connection = UnreadAnswers.current();
        this.replicas = replicas;
        this.timer = timer;
        this.request = request;
        this.decode = decode;
        this.out = out;
        this.buffers = replicas.readBuffers().lease();
        this.offset = request.getOffset();
        this.maxBytes = Math.min(request.getMaxBytes() == 0 ? ReplicaManager.DEFAULT_PARTITION_MAX_BYTES : request.getMaxBytes(),
                replicas.settings().fetchMaxBytes());
    }

    /** Checks the partition can be read here (a read of no bytes), then waits for the stream to be ready. */
    synchronized void start() {
        PartitionRead check = replicas.read(partition(), 0, decode);
        if (check.failed()) {
            end(check);
            return;
        }
        waiter = replicas.watch(Set.of(new TopicPartition(request.getTopic(), request.getPartition())), this::pump);
        out.setOnCancelHandler(this::stop);
        out.setOnReadyHandler(this::pump);
        recheck = timer.scheduleWithFixedDelay(this::pump, RECHECK_MS, RECHECK_MS, TimeUnit.MILLISECONDS);
    }

    private FetchPartition partition() {
        return new FetchPartition(request.getTopic(), request.getPartition(), offset, maxBytes);
    }

    synchronized void pump() {
        if (done) {
            return;
        }
        if (replicas.isClosing()) {
            end(ApiErrors.toStatus(new NotLeaderException("the broker is shutting down", null)));
            return;
        }
        try {
            while (out.isReady() && !done) {
                releasePushed();   // ready again: the last push has left for the socket
                UnreadAnswers.Reservation reservation;
                try {
                    reservation = unread.reserve(connection, maxBytes);
                } catch (BusyException busy) {
                    return;   // the connection's client has not read its other answers: tried again every second
                }
                PartitionRead read = replicas.read(partition(), maxBytes, decode, buffers);
                try {
                    if (read.failed()) {
                        reservation.release();
                        end(read);
                        return;
                    }
                    if (read.bytes() == 0) {
                        reservation.release();
                        return; // woken on the next commit
                    }
                    FetchResponse response = FetchResponse.newBuilder().addResults(FetchApi.result(read)).build();
                    reservation.resize(response.getSerializedSize());
                    pushed = reservation;
                    out.onNext(response);
                    offset = read.nextOffset();
                } finally {
                    buffers.release(); // written into the transport's buffers within onNext (see FetchApi)
                }
            }
        } catch (RuntimeException e) {
            end(ApiErrors.toStatus(e)); // the client went away (then nobody hears it), or the answer could not be made
        }
    }

    private void end(PartitionRead failed) {
        end(ApiErrors.classify(failed.error().error()).asStatus());
    }

    private void end(RuntimeException status) {
        stop();
        try {
            out.onError(status);
        } catch (RuntimeException e) {
            // already cancelled
        }
    }

    private void releasePushed() {
        if (pushed != null) {
            pushed.release();
            pushed = null;
        }
    }

    private synchronized void stop() {
        done = true;
        releasePushed();
        if (waiter != null) {
            waiter.cancel();
        }
        if (recheck != null) {
            recheck.cancel(false);
        }
    }
}
