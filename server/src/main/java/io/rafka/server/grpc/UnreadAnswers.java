package io.rafka.server.grpc;

import com.google.protobuf.MessageLite;
import io.grpc.Attributes;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.rafka.common.BusyException;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.ProduceServiceGrpc;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds the fetched data a connection's client has asked for and not read yet
 * ({@code max.unread.answer.bytes.per.connection}). A Fetch or Subscribe answer is written into the transport's
 * buffers whether or not the client reads it, and stays there, outside the heap's and the read pool's limits, until
 * the client's flow-control window lets it out: a client that opens calls and reads nothing made the broker hold
 * up to {@code max.calls.per.connection} x {@code fetch.max.bytes} per connection. Each fetch reserves the most its
 * answer may hold when it is admitted, keeps the answer's size reserved until the transport has handed it to the
 * socket (the call is ready again), and is refused BUSY (retriable, nothing read) when the reservation would take
 * its connection past the limit; a connection with nothing reserved is always let one answer through, so the limit
 * never stops a client that asks for more than it in one fetch. Other unary calls (metadata, list offsets, group
 * descriptions, produce answers) count their answers from when they are written until the call has closed, and are
 * refused BUSY while their connection is at the limit. A ProduceStream counts each answer from when it is written
 * until its call is ready again, and reads its next request only while its connection is within the limit. With {@code max.connections} this bounds the memory of
 * answers not read, as Kafka's one response in flight per connection does. The Java SDK's fetches in flight stay
 * within its {@code fetch.max.bytes} (50 MiB), below the default of 64 MiB.
 *
 * <p>{@code max.connections} times the per-connection limit is far more than a broker's memory (1,000 x 64 MiB), so
 * the answers of all connections also count against a broker-wide limit ({@code max.unread.answer.bytes}): by their
 * actual sizes once made, not by what a waiting long poll could hold (idle consumers hold nothing), and a fetch or
 * another answer that would take them past it is refused BUSY on any connection, while any are counted (so one
 * always goes through on an otherwise idle broker).
 */
public final class UnreadAnswers extends ServerTransportFilter implements ServerInterceptor {
    private static final Attributes.Key<Connection> CONNECTION = Attributes.Key.create("rafka-unread-answers");
    private static final Context.Key<Connection> CURRENT = Context.key("rafka-unread-answers");

    /** What a call other than Fetch is taken to answer when admitted (its answer's real size counts once written). */
    static final long ANSWER_ESTIMATE = 64 * 1024;

    private final long maxBytesPerConnection;
    private final long maxBytes;
    /** The answers of all connections made and not yet read, by their actual sizes. */
    private final AtomicLong total = new AtomicLong();

    public UnreadAnswers(long maxBytesPerConnection, long maxBytes) {
        if (maxBytesPerConnection <= 0 || maxBytes <= 0) {
            throw new IllegalArgumentException("max.unread.answer.bytes and max.unread.answer.bytes.per.connection must be"
                    + " positive: " + maxBytes + ", " + maxBytesPerConnection);
        }
        this.maxBytesPerConnection = maxBytesPerConnection;
        this.maxBytes = maxBytes;
    }

    /** What one connection has reserved for answers not read yet. */
    static final class Connection {
        private final AtomicLong reserved = new AtomicLong();
    }

    /** The answers of all connections made and not read yet (actual sizes). */
    public long unreadBytes() {
        return total.get();
    }

    Connection newConnection() {
        return new Connection();
    }

    @Override
    public Attributes transportReady(Attributes attributes) {
        return attributes.toBuilder().set(CONNECTION, newConnection()).build();
    }

    /**
     * Fetch and Subscribe reserve their answers themselves ({@link #reserve}). Every other unary call is refused BUSY
     * when {@link #ANSWER_ESTIMATE} more would take its connection past the limit (one is always let through), and
     * counts its answer from when it is written until the call has closed.
     */
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        Connection connection = call.getAttributes().get(CONNECTION);
        if (connection == null) {
            return next.startCall(call, headers);
        }
        String method = call.getMethodDescriptor().getFullMethodName();
        if ((FetchServiceGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())
                && !FetchServiceGrpc.getListOffsetsMethod().getFullMethodName().equals(method))
                || ProduceServiceGrpc.getProduceStreamMethod().getFullMethodName().equals(method)) {
            return Contexts.interceptCall(Context.current().withValue(CURRENT, connection), call, headers, next);
        }
        if (call.getMethodDescriptor().getType() != MethodDescriptor.MethodType.UNARY) {
            return next.startCall(call, headers);
        }
        String busy = refusal(connection, ANSWER_ESTIMATE);
        if (busy != null) {
            call.close(Status.RESOURCE_EXHAUSTED.withDescription(busy), ApiErrors.trailers(ErrorCode.BUSY));
            return new ServerCall.Listener<>() {
            };
        }
        Reservation answer = new Reservation(connection, 0);
        boolean readOnly = readOnly(call.getMethodDescriptor());
        ServerCall<Q, R> counting = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            private boolean refused;

            @Override
            public void sendMessage(R message) {
                if (message instanceof MessageLite m) {
                    // Counted, against the limits, before the transport takes it: admitted at an estimate, an answer
                    // many times its request (offsets of 50,000 partitions) must not pass them once written. Only a
                    // call that changed nothing may be refused now: BUSY tells a client that nothing was done.
                    String busy = readOnly ? answer.tryGrow(m.getSerializedSize()) : null;
                    if (!readOnly) {
                        answer.grow(m.getSerializedSize());   // counted whatever the limits say: it is done
                    }
                    if (busy != null) {
                        refused = true;
                        super.close(Status.RESOURCE_EXHAUSTED.withDescription(busy), ApiErrors.trailers(ErrorCode.BUSY));
                        return;
                    }
                }
                super.sendMessage(message);
            }

            @Override
            public void close(Status status, Metadata trailers) {
                if (!refused) {
                    super.close(status, trailers);
                }
            }
        };
        return CallEnd.startCall(counting, headers, next, answer::release);
    }

    /**
     * Calls that only read (their names start Fetch, List, Describe, Get or Find: offsets, groups, topics, metadata,
     * a coordinator), whose answer may be refused after the work without anything having been done.
     */
    static boolean readOnly(MethodDescriptor<?, ?> method) {
        String name = method.getBareMethodName();
        return name != null && (name.startsWith("Fetch") || name.startsWith("List") || name.startsWith("Describe")
                || name.startsWith("Get") || name.startsWith("Find"));
    }

    /** Why {@code bytes} more may not be reserved on {@code connection} now; null when they may. */
    private String refusal(Connection connection, long bytes) {
        long now = connection.reserved.get();
        if (now > 0 && now + bytes > maxBytesPerConnection) {
            return "this connection has " + now + " bytes of answers its client has not read yet"
                    + " (max.unread.answer.bytes.per.connection is " + maxBytesPerConnection + "): read the answers under way,"
                    + " then ask again";
        }
        long all = total.get();
        if (all > 0 && all + bytes > maxBytes) {
            return "this broker's clients have " + all + " bytes of answers under way or not read yet"
                    + " (max.unread.answer.bytes is " + maxBytes + "): retry shortly";
        }
        return null;
    }

    /**
     * Reserves {@code bytes} for an answer on the current call's connection; a reservation of nothing when the call
     * is not on a connection this broker serves (nothing to count).
     *
     * @throws BusyException the connection has so much reserved already that this would pass the limit
     */
    Reservation reserve(long bytes) {
        Connection connection = CURRENT.get();
        return connection == null ? new Reservation(null, 0) : reserve(connection, bytes);
    }

    /** The connection of the current call, for answers reserved later (a subscription's pushes); null if none. */
    static Connection current() {
        return CURRENT.get();
    }

    /**
     * Counts an answer of {@code bytes} already written on {@code connection} (a ProduceStream answer, whose stream
     * holds back its next requests instead of being refused: {@link #admits}); null connection: nothing counted.
     */
    Reservation written(Connection connection, long bytes) {
        Reservation r = new Reservation(connection, 0);
        r.resize(bytes);
        return r;
    }

    /** Whether answers of {@code bytes} more could be taken on by {@code connection} now (see {@link #reserve}). */
    boolean admits(Connection connection, long bytes) {
        return connection == null || refusal(connection, bytes) == null;
    }

    /** {@link #reserve(long)} on {@code connection} (null: nothing counted). */
    Reservation reserve(Connection connection, long bytes) {
        if (connection == null) {
            return new Reservation(null, 0);
        }
        // The broker-wide total is checked, not reserved: concurrent admissions may pass it by their answers.
        synchronized (connection) {
            String busy = refusal(connection, bytes);
            if (busy != null) {
                throw new BusyException(busy);
            }
            connection.reserved.addAndGet(bytes);
        }
        return new Reservation(connection, bytes);
    }

    /**
     * Bytes reserved for one answer on its connection; resized once its size is known, released once (later calls
     * do nothing). From its resize on, the answer counts in the broker-wide total by its actual size.
     */
    final class Reservation {
        private final Connection connection;
        private final AtomicBoolean released = new AtomicBoolean();
        private long bytes;
        /** What this answer counts in the broker-wide total: 0 until its size is known. */
        private long counted;

        private Reservation(Connection connection, long bytes) {
            this.connection = connection;
            this.bytes = bytes;
        }

        /** Adds {@code more} bytes (an answer written). */
        synchronized void grow(long more) {
            resize(bytes + more);
        }

        /**
         * Counts {@code more} bytes (an answer about to be written) if its connection and the broker stay within their
         * limits, checked and counted at once against the other answers (one is let through where nothing else is
         * counted); returns why not, else null.
         */
        synchronized String tryGrow(long more) {
            if (connection == null || released.get()) {
                return null;
            }
            synchronized (connection) {
                long others = connection.reserved.get() - bytes;
                if (others > 0 && others + bytes + more > maxBytesPerConnection) {
                    return "this connection has " + others + " bytes of answers its client has not read yet"
                            + " (max.unread.answer.bytes.per.connection is " + maxBytesPerConnection + "): read the answers"
                            + " under way, then ask again";
                }
                while (true) {
                    long all = total.get();
                    if (all - counted > 0 && all + more > maxBytes) {
                        return "this broker's clients have " + all + " bytes of answers under way or not read yet"
                                + " (max.unread.answer.bytes is " + maxBytes + "): retry shortly";
                    }
                    if (total.compareAndSet(all, all + more)) {
                        break;
                    }
                }
                connection.reserved.addAndGet(more);
                bytes += more;
                counted += more;
            }
            return null;
        }

        /** The answer's actual size, which may be smaller than reserved (or larger: a first batch comes whole). */
        synchronized void resize(long actual) {
            if (connection != null && !released.get()) {
                connection.reserved.addAndGet(actual - bytes);
                bytes = actual;
                total.addAndGet(actual - counted);
                counted = actual;
            }
        }

        synchronized void release() {
            if (connection != null && released.compareAndSet(false, true)) {
                connection.reserved.addAndGet(-bytes);
                total.addAndGet(-counted);
            }
        }
    }
}
