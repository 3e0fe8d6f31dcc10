package io.rafka.server.grpc;

import io.rafka.common.BusyException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The answers clients have not read are bounded per connection and, all connections together, per broker: past the
 * broker-wide limit a connection well within its own is refused BUSY, until others' answers are read. The broker-wide
 * total counts answers made, by their sizes, not what waiting long polls could hold.
 */
class UnreadAnswersTest {
    private static final long MIB = 1 << 20;

    @Test
    void connectionsWithinTheirOwnLimitAreRefusedPastTheBrokersAndServedOnceAnswersAreRead() {
        UnreadAnswers unread = new UnreadAnswers(64 * MIB, 100 * MIB);
        UnreadAnswers.Connection a = unread.newConnection();
        UnreadAnswers.Connection b = unread.newConnection();
        UnreadAnswers.Connection c = unread.newConnection();
        // Long polls waiting: reserved on their connections, nothing made yet, so nothing counts broker-wide.
        UnreadAnswers.Reservation fromA = unread.reserve(a, 60 * MIB);
        UnreadAnswers.Reservation fromB = unread.reserve(b, 60 * MIB);
        UnreadAnswers.Reservation waiting = unread.reserve(c, 60 * MIB);
        assertEquals(0, unread.unreadBytes());
        waiting.release();

        // Their answers made, and not read.
        fromA.resize(60 * MIB);
        fromB.resize(30 * MIB);
        assertEquals(90 * MIB, unread.unreadBytes());
        BusyException refused = assertThrows(BusyException.class, () -> unread.reserve(c, 20 * MIB),
                "c has nothing reserved, but the broker's unread answers would pass its limit");
        assertTrue(refused.getMessage().contains("max.unread.answer.bytes is"), refused.getMessage());
        assertEquals(90 * MIB, unread.unreadBytes(), "a refusal counts nothing");

        fromA.release();   // a's client read its answer
        fromA.release();   // once only
        UnreadAnswers.Reservation fromC = unread.reserve(c, 20 * MIB);
        fromC.resize(20 * MIB);
        assertEquals(50 * MIB, unread.unreadBytes());
        fromB.release();
        fromC.release();
        assertEquals(0, unread.unreadBytes());
        // On an idle broker one answer always goes through, whatever its size.
        UnreadAnswers.Reservation big = unread.reserve(a, 200 * MIB);
        big.resize(200 * MIB);
        big.release();
        assertEquals(0, unread.unreadBytes());
    }

    @Test
    void aConnectionIsStillBoundedByItsOwnLimit() {
        UnreadAnswers unread = new UnreadAnswers(64 * MIB, 1024 * MIB);
        UnreadAnswers.Connection a = unread.newConnection();
        unread.reserve(a, 40 * MIB);
        BusyException refused = assertThrows(BusyException.class, () -> unread.reserve(a, 40 * MIB));
        assertTrue(refused.getMessage().contains("max.unread.answer.bytes.per.connection"), refused.getMessage());
        unread.reserve(unread.newConnection(), 40 * MIB);   // another connection is not held back by it
    }
    /**
     * Only calls that change nothing may have their answer refused after the work (BUSY tells a client nothing was
     * done, and it retries): a produce, a commit or a topic creation answered BUSY would be made twice.
     */
    @Test
    void onlyCallsThatReadMayBeRefusedAfterTheirWork() {
        for (var method : java.util.List.of(io.rafka.proto.v1.GroupServiceGrpc.getFetchOffsetsMethod(),
                io.rafka.proto.v1.GroupServiceGrpc.getListGroupsMethod(), io.rafka.proto.v1.GroupServiceGrpc.getDescribeGroupMethod(),
                io.rafka.proto.v1.GroupServiceGrpc.getFindCoordinatorMethod(), io.rafka.proto.v1.MetadataServiceGrpc.getGetMetadataMethod(),
                io.rafka.proto.v1.AdminServiceGrpc.getDescribeTopicsMethod(), io.rafka.proto.v1.AdminServiceGrpc.getListTopicsMethod(),
                io.rafka.proto.v1.FetchServiceGrpc.getListOffsetsMethod())) {
            assertTrue(UnreadAnswers.readOnly(method), method.getFullMethodName());
        }
        for (var method : java.util.List.of(io.rafka.proto.v1.GroupServiceGrpc.getCommitOffsetsMethod(),
                io.rafka.proto.v1.GroupServiceGrpc.getAlterOffsetsMethod(), io.rafka.proto.v1.GroupServiceGrpc.getDeleteGroupMethod(),
                io.rafka.proto.v1.ProduceServiceGrpc.getProduceMethod(), io.rafka.proto.v1.ProduceServiceGrpc.getInitProducerIdMethod(),
                io.rafka.proto.v1.AdminServiceGrpc.getCreateTopicsMethod(), io.rafka.proto.v1.AdminServiceGrpc.getDeleteTopicsMethod(),
                io.rafka.proto.v1.AdminServiceGrpc.getAlterConfigsMethod(), io.rafka.proto.v1.AdminServiceGrpc.getCreatePartitionsMethod())) {
            assertTrue(!UnreadAnswers.readOnly(method), method.getFullMethodName());
        }
    }
}
