package io.rafka.server.grpc;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rafka.common.BusyException;
import io.rafka.common.InvalidRequestException;
import io.rafka.common.NotLeaderException;
import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.ErrorCode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ApiErrorsTest {
    private final Logger logger = (Logger) LoggerFactory.getLogger(ApiErrors.class);
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();

    @BeforeEach
    void captureLog() {
        logged.start();
        logger.addAppender(logged);
    }

    @AfterEach
    void releaseLog() {
        logger.detachAppender(logged);
    }

    @Test
    void everyRafkaCodeHasTheProtoCodeOfTheSameNameAndNumber() {
        for (io.rafka.common.ErrorCode c : io.rafka.common.ErrorCode.values()) {
            ErrorCode p = ApiErrors.toProto(c);
            assertEquals(c.name(), p.name(), c.name());
            assertEquals(c.code(), p.getNumber(), c.name());
        }
        for (ErrorCode p : ErrorCode.values()) {
            if (p != ErrorCode.UNRECOGNIZED) {
                assertEquals(p.name(), io.rafka.common.ErrorCode.forCode(p.getNumber()).name(), "proto code " + p + " unknown to the broker");
            }
        }
    }

    @Test
    void typedErrorsKeepTheirCodeAndMessageThroughFutureWrappers() {
        RafkaException busy = new BusyException("queue full");
        for (Throwable t : new Throwable[]{busy, new CompletionException(busy), new ExecutionException(new CompletionException(busy))}) {
            ApiErrors.Failure f = ApiErrors.classify(t);
            assertEquals(ErrorCode.BUSY, f.code());
            assertEquals("queue full", f.message());
        }
        assertEquals(ErrorCode.INVALID_REQUEST, ApiErrors.classify(new InvalidRequestException("timeout_ms < 0")).code());
        assertTrue(logged.list.isEmpty(), "known errors are the client's business, not the log's: " + logged.list);
    }

    @Test
    void aBugIsNeverBlamedOnTheRequestAndIsLoggedOnceWithItsStack() {
        // What a bug looks like: e.g. TopicPartition's own argument check failing inside the broker.
        IllegalArgumentException bug = assertThrows(IllegalArgumentException.class, () -> new TopicPartition("t", -1));
        ApiErrors.Failure f = ApiErrors.classify(new CompletionException(bug));
        assertEquals(ErrorCode.UNKNOWN_SERVER_ERROR, f.code());
        assertTrue(f.message().contains("partition must not be negative"), f.message());
        assertEquals(1, logged.list.size());
        assertEquals(bug.getClass().getName(), logged.list.get(0).getThrowableProxy().getClassName());
        assertTrue(logged.list.get(0).getThrowableProxy().getStackTraceElementProxyArray().length > 0, "with its stack");

        StatusRuntimeException status = ApiErrors.toStatus(new IllegalStateException("invariant broken"));
        assertEquals(Status.Code.INTERNAL, status.getStatus().getCode());
        assertEquals(Integer.toString(ErrorCode.UNKNOWN_SERVER_ERROR.getNumber()), status.getTrailers().get(ApiErrors.ERROR_CODE_TRAILER));
        assertEquals(2, logged.list.size(), "each unknown failure is logged once");
    }

    @Test
    void requestLevelStatusesCarryTheCodeInTheTrailer() {
        assertStatus(new InvalidRequestException("no partitions"), Status.Code.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST);
        assertStatus(new RafkaException(io.rafka.common.ErrorCode.REQUEST_TIMED_OUT, "slow controller"),
                Status.Code.DEADLINE_EXCEEDED, ErrorCode.REQUEST_TIMED_OUT);
        assertStatus(new NotLeaderException("moved", "2"), Status.Code.UNAVAILABLE, ErrorCode.NOT_LEADER);
        assertStatus(new BusyException("full"), Status.Code.RESOURCE_EXHAUSTED, ErrorCode.BUSY);
        assertStatus(new RafkaException(io.rafka.common.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "gone"),
                Status.Code.NOT_FOUND, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        assertStatus(new RafkaException(io.rafka.common.ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, "gap"),
                Status.Code.FAILED_PRECONDITION, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
        StatusRuntimeException made = Status.CANCELLED.asRuntimeException();
        assertSame(made, ApiErrors.toStatus(new CompletionException(made)), "a status passes unchanged");
    }

    @Test
    void aForwardedCallsFailureComesBackTyped() {
        Metadata trailers = new Metadata();
        trailers.put(ApiErrors.ERROR_CODE_TRAILER, Integer.toString(ErrorCode.INVALID_PARTITIONS.getNumber()));
        RafkaException answered = ControllerChannel.fromStatus(
                Status.INVALID_ARGUMENT.withDescription("must grow").asRuntimeException(trailers), 1000);
        assertEquals(io.rafka.common.ErrorCode.INVALID_PARTITIONS, answered.errorCode());
        assertEquals("must grow", answered.getMessage());

        RafkaException slow = ControllerChannel.fromStatus(Status.DEADLINE_EXCEEDED.asRuntimeException(), 1000);
        assertEquals(io.rafka.common.ErrorCode.REQUEST_TIMED_OUT, slow.errorCode());
        assertTrue(slow.retriable());
        assertEquals(io.rafka.common.ErrorCode.NOT_CONTROLLER,
                ControllerChannel.fromStatus(Status.UNAVAILABLE.withDescription("refused").asRuntimeException(), 1000).errorCode());
        assertEquals(io.rafka.common.ErrorCode.NOT_CONTROLLER, ControllerChannel.fromStatus(
                Status.CANCELLED.withDescription("RST_STREAM closed stream").asRuntimeException(), 1000).errorCode(),
                "a controller that stops mid-call cancels it: retried on the next controller");
        assertEquals(io.rafka.common.ErrorCode.UNKNOWN_SERVER_ERROR,
                ControllerChannel.fromStatus(Status.INTERNAL.asRuntimeException(), 1000).errorCode());
        assertTrue(logged.list.isEmpty());
    }

    private static void assertStatus(Throwable error, Status.Code status, ErrorCode code) {
        StatusRuntimeException s = ApiErrors.toStatus(error);
        assertEquals(status, s.getStatus().getCode(), error.toString());
        assertEquals(Integer.toString(code.getNumber()), s.getTrailers().get(ApiErrors.ERROR_CODE_TRAILER));
        assertEquals(error.getMessage(), s.getStatus().getDescription());
    }
}
