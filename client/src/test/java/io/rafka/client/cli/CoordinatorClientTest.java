package io.rafka.client.cli;

import io.rafka.client.group.CoordinatorClient;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.ClientException;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The search for a group's coordinator across polls that stop it (nothing listens at the bootstrap address). */
class CoordinatorClientTest {

    /**
     * A search a poll's deadline stopped leaves its retry budget for the next poll's search; one left long ago (the
     * episode ended, another thread found the coordinator) must not be taken up later, where its first failure, long
     * past, would fail the new search at its first attempt.
     */
    @Test
    void aSearchStoppedLongAgoDoesNotSpendTheBudgetOfTheNextOne() {
        FakeTime time = new FakeTime();
        try (ChannelPool channels = ChannelPool.plaintext()) {
            CoordinatorClient client = new CoordinatorClient("g", channels, BrokerAddress.parse("127.0.0.1:1"), null,
                    time, 1_000);
            AtomicBoolean stop = new AtomicBoolean(true);
            client.stopWhen(stop::get);
            ClientException stopped = assertThrows(ClientException.class, client::coordinator);
            assertEquals(CoordinatorClient.WOKEN_UP, stopped.code(), stopped.getMessage());

            time.advance(60_000);
            stop.set(false);
            long start = time.hiResClockMs();
            ClientException away = assertThrows(ClientException.class, client::coordinator);
            assertEquals("UNAVAILABLE", away.code(), away.getMessage());
            assertTrue(time.hiResClockMs() - start >= 900, "retried for a fresh budget of 1 s, not failed at once: "
                    + (time.hiResClockMs() - start) + " ms");
        }
    }
}
