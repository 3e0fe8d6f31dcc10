package io.rafka.client.cli;

import io.rafka.client.internals.RetryState;
import io.rafka.client.internals.ClientException;

import io.rafka.proto.v1.ErrorCode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RetryStateTest {

    private final FakeTime time = new FakeTime();
    private final ClientException busy = ClientException.of(ErrorCode.BUSY, "orders-0 is busy");

    @Test
    void backoffDoublesFrom100MsTo1s() {
        RetryState retry = new RetryState(time, 60_000);
        List<Long> delays = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            long delay = retry.onFailure(busy);
            delays.add(delay);
            time.advance(delay);
        }
        assertEquals(List.of(100L, 200L, 400L, 800L, 1000L, 1000L, 1000L), delays);
    }

    @Test
    void givesUpWithTheLastFailureOnceTheTimeoutHasPassed() {
        RetryState retry = new RetryState(time, 1000);
        long waited = 0;
        while (waited < 1000) {
            long delay = retry.onFailure(busy);
            time.advance(delay);
            waited += delay;
        }
        assertEquals(1000, waited, "the last wait is cut to the end of the budget");
        ClientException failure = assertThrows(ClientException.class, () -> retry.onFailure(busy));
        assertEquals("BUSY", failure.code());
        assertTrue(failure.getMessage().startsWith("orders-0 is busy"), failure.getMessage());
        assertTrue(failure.getMessage().contains("1000 ms"), failure.getMessage());
        assertFalse(failure.retriable());
    }

    @Test
    void successStartsAFreshBudgetAndBackoff() {
        RetryState retry = new RetryState(time, 1000);
        time.advance(retry.onFailure(busy));
        time.advance(retry.onFailure(busy));
        time.advance(900);
        retry.onSuccess();
        assertEquals(100, retry.onFailure(busy));
    }

    @Test
    void zeroTimeoutMeansNoRetry() {
        RetryState retry = new RetryState(time, 0);
        assertThrows(ClientException.class, () -> retry.onFailure(busy));
    }

    /** An attempt its caller's deadline cut short names the failure it was retrying, not "context timed out". */
    @Test
    void anAttemptCutShortByTheCallersDeadlineNamesTheFailureItRetried() throws Exception {
        RetryState retry = new RetryState(time, 60_000);
        ClientException unavailable = ClientException.of(ErrorCode.UNKNOWN_SERVER_ERROR, "no broker answers");
        retry.onFailure(unavailable);
        ClientException cut = ClientException.of(ErrorCode.REQUEST_TIMED_OUT, "broker b1: context timed out");
        java.util.concurrent.ScheduledExecutorService timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        io.grpc.Context.CancellableContext expired = io.grpc.Context.current()
                .withDeadline(io.grpc.Deadline.after(-1, java.util.concurrent.TimeUnit.MILLISECONDS), timer);
        try {
            ClientException reported = expired.call(() -> retry.whenTimeIsUp(cut));
            assertEquals(RetryState.CANCELLED, reported.code());
            assertTrue(reported.getMessage().contains("no broker answers"), reported.getMessage());
            assertEquals(cut, retry.whenTimeIsUp(cut), "with time left, the failure itself");
        } finally {
            expired.cancel(null);
            timer.shutdownNow();
        }
    }
}
