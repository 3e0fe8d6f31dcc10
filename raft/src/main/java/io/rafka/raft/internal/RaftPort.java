package io.rafka.raft.internal;

import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.server.GrpcServices;
import org.apache.ratis.server.RaftServer;

import java.util.function.Supplier;

/** What Rafka adds to Ratis's Raft server port: the {@link LogEnds} method and the {@link DivisionStartGate}. */
public final class RaftPort {
    private RaftPort() {
    }

    /**
     * Ratis server parameters that add both to the Raft server port of the server {@code server} returns (built
     * after the parameters, so asked for on each call).
     */
    public static Parameters serverParameters(Supplier<RaftServer> server) {
        return serverParameters(server, new InstallNotices());
    }

    /** The same, recording the install-snapshot notices that pass the gate in {@code notices}. */
    public static Parameters serverParameters(Supplier<RaftServer> server, InstallNotices notices) {
        Parameters parameters = new Parameters();
        GrpcConfigKeys.Server.setServicesCustomizer(parameters, (builder, types) ->
                types.contains(GrpcServices.Type.SERVER)
                        ? builder.addService(LogEnds.service(server)).intercept(DivisionStartGate.interceptor(server, notices))
                        : builder);
        return parameters;
    }
}
