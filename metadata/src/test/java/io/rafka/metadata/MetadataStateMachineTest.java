package io.rafka.metadata;

import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.SizeInBytes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The metadata state machine against what Ratis asks of it, on a real Ratis storage folder. */
class MetadataStateMachineTest {
    @TempDir
    Path dir;

    /**
     * Installing a snapshot from the leader: Ratis pauses the machine, puts the snapshot files in place and reloads
     * it, asserting first that it is paused ({@code StateMachineUpdater.reload}). The machine never left its first
     * life-cycle state, so the install failed and the member stopped for good.
     */
    @Test
    void aSnapshotInstalledFromTheLeaderIsLoadedAfterAPause() throws Exception {
        RaftProperties properties = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(properties, List.of(dir.resolve("server").toFile()));
        GrpcConfigKeys.Server.setPort(properties, 0);
        try (RaftServer server = RaftServer.newBuilder().setServerId(RaftPeerId.valueOf("m1")).setProperties(properties)
                .setStateMachine(new BaseStateMachine()).setGroup(RaftGroup.emptyGroup()).build();  // built, not started
             RaftStorage storage = RaftStorage.newBuilder().setDirectory(dir.toFile())
                .setOption(RaftStorage.StartupOption.FORMAT).setStorageFreeSpaceMin(SizeInBytes.ONE_KB)
                .setLogCorruptionPolicy(RaftServerConfigKeys.Log.CorruptionPolicy.getDefault()).build()) {
            storage.initialize();
            MetadataStateMachine sm = new MetadataStateMachine();
            sm.initialize(server, RaftGroupId.randomId(), storage);
            assertEquals(TermIndex.valueOf(0, 0), sm.getLastAppliedTermIndex());

            // What the leader's snapshot holds, as Ratis leaves it in the folder (the machine writes the same format).
            MetadataStateMachine leader = new MetadataStateMachine();
            leader.initialize(server, RaftGroupId.randomId(), storage);
            MetadataImage image = MetadataImage.EMPTY.apply(new MetadataRecord.RegisterBroker(
                    new BrokerInfo("b1", "127.0.0.1", 9092, 9093)));
            leader.writeSnapshot(image, TermIndex.valueOf(3, 5000));

            sm.pause();
            assertEquals(LifeCycle.State.PAUSED, sm.getLifeCycleState(), "what StateMachineUpdater.reload asserts");
            sm.reinitialize();
            assertEquals(LifeCycle.State.RUNNING, sm.getLifeCycleState());
            assertEquals(TermIndex.valueOf(3, 5000), sm.getLastAppliedTermIndex());
            assertEquals(image.brokers(), sm.image().brokers());

            sm.pause();  // and again, a later install
            assertEquals(LifeCycle.State.PAUSED, sm.getLifeCycleState());
        }
    }
}
