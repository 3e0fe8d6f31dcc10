package io.rafka.server.broker;

import io.rafka.common.BusyException;
import io.rafka.common.NotLeaderException;
import io.rafka.metadata.BrokerInfo;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class PartitionErrorTest {
    private static final BrokerInfo TWO = new BrokerInfo("2", "host-2", 9092, 9093);
    private static final Map<String, BrokerInfo> REGISTERED = Map.of("2", TWO);

    private static PartitionError of(Throwable e) {
        return PartitionError.of(e, id -> Optional.ofNullable(REGISTERED.get(id)));
    }

    @Test
    void notLeaderCarriesTheLeadersAddressWhenItIsRegistered() {
        NotLeaderException moved = new NotLeaderException("moved", "2");
        PartitionError e = of(new ExecutionException(new CompletionException(moved)));
        assertSame(moved, e.error(), "unwrapped from the future's wrappers");
        assertEquals(Optional.of(TWO), e.leaderHint());
        assertEquals(Optional.empty(), of(new NotLeaderException("moved", "3")).leaderHint(), "leader not registered yet");
        assertEquals(Optional.empty(), of(new NotLeaderException("electing", null)).leaderHint(), "no leader known");
        assertEquals(Optional.empty(), of(new BusyException("full")).leaderHint());
    }
}
