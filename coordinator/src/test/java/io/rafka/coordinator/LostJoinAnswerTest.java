package io.rafka.coordinator;

import io.rafka.common.RafkaException;
import io.rafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A member whose join's answer was lost (here: the coordinator moved once the join was durable) joins again under the
 * id it chose; the member the lost join made goes at once, instead of holding its partitions for a session timeout
 * while the client, not knowing it, waits as a second member. A real partition log on disk, a test clock (no session
 * ever times out here).
 */
class LostJoinAnswerTest {
    private static final String GROUP = "g";
    @TempDir
    Path dir;

    @Test
    void aJoinMadeAgainUnderItsIdReplacesTheMemberOfTheLostAnswer() throws Exception {
        try (CoordinatorOnDisk disk = new CoordinatorOnDisk(dir, GroupConfig.defaults(), Map.of("t", 2, GroupConfig.TOPIC, 1))) {
            GroupCoordinator coordinator = disk.coordinator;
            Channel a = new Channel();
            MemberSession sa = coordinator.openSession("127.0.0.1", a);
            sa.heartbeat(join("member-a"), () -> { });
            GroupTypes.Assignment a1 = a.next();
            assertEquals(2, a1.partitions().size());
            sa.heartbeat(beat(a1, a1.partitions()), () -> { });

            Channel b = new Channel();
            coordinator.openSession("127.0.0.1", b).heartbeat(join("member-b"), () -> { });
            b.next();                                      // nothing yet: a still owns both
            GroupTypes.Assignment a2 = a.next();           // a is told to release one
            assertEquals(1, a2.partitions().size());
            sa.heartbeat(beat(a2, a2.partitions()), () -> { });
            GroupTypes.Assignment granted = b.next();      // b's partition: durable, but this answer never reaches b
            assertEquals(1, granted.partitions().size());

            disk.time.sleep(1_000);
            coordinator = disk.move();
            Channel a3 = new Channel();
            coordinator.openSession("127.0.0.1", a3).heartbeat(beat(a2, a2.partitions()), () -> { });
            assertEquals(a2.partitions(), a3.next().partitions(), "a resumed with what it kept");
            Channel b2 = new Channel();
            coordinator.openSession("127.0.0.1", b2).heartbeat(join("member-b"), () -> { });
            GroupTypes.Assignment again = b2.next();
            assertEquals("member-b", again.memberId());
            assertEquals(granted.partitions(), again.partitions(), "the partition of the lost answer, at once");

            Set<String> members = new TreeSet<>();
            coordinator.describeGroup(GROUP).get(5, TimeUnit.SECONDS).members().forEach(m -> members.add(m.memberId()));
            assertEquals(new TreeSet<>(Set.of(a1.memberId(), "member-b")), members);
        }
    }

    private static GroupTypes.Heartbeat join(String memberId) {
        return new GroupTypes.Heartbeat(GROUP, memberId, GroupTypes.Heartbeat.JOIN, "", List.of("t"), "",
                AssignorType.UNIFORM, Set.of(), 0, 0, "test", -1);
    }

    private static GroupTypes.Heartbeat beat(GroupTypes.Assignment last, List<TopicPartition> owned) {
        return new GroupTypes.Heartbeat(GROUP, last.memberId(), last.memberEpoch(), "", List.of(), "",
                AssignorType.UNIFORM, Set.copyOf(owned), 0, 0, "test", last.version());
    }

    /** A member's stream as the coordinator sees it: what it was sent. */
    private static final class Channel implements MemberChannel {
        private final LinkedBlockingQueue<Object> sent = new LinkedBlockingQueue<>();

        @Override
        public void send(GroupTypes.Assignment assignment) {
            sent.add(assignment);
        }

        @Override
        public void fail(RafkaException error) {
            sent.add(error);
        }

        @Override
        public void complete() {
            sent.add("completed");
        }

        GroupTypes.Assignment next() throws InterruptedException {
            Object o = sent.poll(5, TimeUnit.SECONDS);
            if (o instanceof GroupTypes.Assignment a) {
                return a;
            }
            throw new AssertionError("expected an assignment, got " + o);
        }
    }
}
