package io.rafka.client.internals;

import io.grpc.Context;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CallContextsTest {

    /** A call that ends before its deadline leaves no timer task behind (a long-lived client makes millions). */
    @Test
    void endedCallsLeaveNoDeadlineQueued() {
        int before = CallContexts.pendingDeadlines();
        List<Context.CancellableContext> calls = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            calls.add(CallContexts.within(600_000));
        }
        assertTrue(CallContexts.pendingDeadlines() >= before + 1_000);
        calls.forEach(c -> c.cancel(null));
        assertTrue(CallContexts.pendingDeadlines() <= before, CallContexts.pendingDeadlines() + " deadlines still queued");
    }

    /** Retries inside a cancelled context end at once; inside one whose deadline is near, at the deadline. */
    @Test
    void retriesEndWithTheirContext() throws Exception {
        RetryState retry = new RetryState(io.rafka.common.Time.SYSTEM, 60_000);
        ClientException failure = ClientException.of(io.rafka.proto.v1.ErrorCode.LEADER_NOT_AVAILABLE, "t-0");
        Context.CancellableContext cancelled = CallContexts.within(-1);
        cancelled.cancel(null);
        ClientException ended = assertThrows(ClientException.class, () -> cancelled.call(() -> retry.onFailure(failure)));
        assertEquals(RetryState.CANCELLED, ended.code());
        assertFalse(ended.retriable());

        Context.CancellableContext brief = CallContexts.within(200);
        long startNs = System.nanoTime();
        ClientException spent = assertThrows(ClientException.class, () -> brief.call(() -> {
            RetryState mine = new RetryState(io.rafka.common.Time.SYSTEM, 60_000);
            while (true) {
                RetryState.sleep(io.rafka.common.Time.SYSTEM, mine.onFailure(failure));
            }
        }));
        long tookMs = (System.nanoTime() - startNs) / 1_000_000;
        assertTrue(tookMs < 2_000, "retries within a 200 ms deadline went on for " + tookMs + " ms");
        assertTrue(CallContexts.timedOut(brief), spent.getMessage());
        brief.cancel(null);
    }
}
