package io.rafka.server;

/**
 * Settings of the client API: where it listens, the limits that push back on clients (request size,
 * connections, memory, waiting fetches) and how topics are auto-created. Immutable; built from the keys of
 * {@link ServerConfig}, which validates each value, so this only checks what must hold together.
 *
 * @param bindHost                 address the gRPC port listens on ({@code bind.host})
 * @param grpcPort                 {@code grpc.port}; 0 picks a free port
 * @param maxRequestBytes          largest gRPC request ({@code max.request.bytes})
 * @param maxConnections           client connections served at once ({@code max.connections})
 * @param maxCallsPerConnection    concurrent calls per connection ({@code max.calls.per.connection})
 * @param maxUnreadAnswerBytesPerConnection fetched data under way or not read per connection
 *                                 ({@code max.unread.answer.bytes.per.connection})
 * @param maxUnreadAnswerBytes     the same for all connections together ({@code max.unread.answer.bytes})
 * @param maxAdminCalls            admin calls (and InitProducerId) handled at once ({@code max.admin.calls})
 * @param flowControlWindowBytes   HTTP/2 flow-control window ({@code grpc.flow.control.window.bytes}): bounds the
 *                                 unread request bytes per call and connection, and so how far a pipelined
 *                                 ProduceStream can run ahead
 * @param produceMemoryBytes       produce data awaiting commit, all partitions ({@code produce.memory.bytes})
 * @param produceStreamWindow      ProduceStream requests read ahead ({@code produce.stream.window})
 * @param maxPartitionsPerRequest  partitions one request may list ({@code max.partitions.per.request})
 * @param maxRecordsPerRequest     structured records and headers one produce request may hold ({@code max.records.per.request})
 * @param maxListedGroups          groups one ListGroups answer holds at most ({@code group.list.max.groups}); clients page
 * @param fetchMaxBytes            largest fetch response ({@code fetch.max.bytes})
 * @param fetchMaxWaitMs           longest a fetch waits for data ({@code fetch.max.wait.ms})
 * @param fetchMaxWaiters          fetches waiting at once ({@code fetch.max.waiters})
 * @param fetchBufferPoolBytes     free read buffers kept for later fetches ({@code fetch.buffer.pool.bytes}); 0 = none
 * @param requestTimeoutMs         how long a produce or admin call waits ({@code request.timeout.ms})
 * @param autoCreateTopics         {@code auto.create.topics.enable}
 * @param defaultPartitions        {@code num.partitions}
 * @param defaultReplicationFactor {@code default.replication.factor}; 0 = min(3, live brokers)
 */
public record ApiConfig(
        String bindHost,
        int grpcPort,
        int maxRequestBytes,
        int maxConnections,
        int maxCallsPerConnection,
        long maxUnreadAnswerBytesPerConnection,
        long maxUnreadAnswerBytes,
        int maxAdminCalls,
        int flowControlWindowBytes,
        long produceMemoryBytes,
        int produceStreamWindow,
        int maxPartitionsPerRequest,
        int maxRecordsPerRequest,
        int maxListedGroups,
        int fetchMaxBytes,
        int fetchMaxWaitMs,
        int fetchMaxWaiters,
        long fetchBufferPoolBytes,
        long requestTimeoutMs,
        boolean autoCreateTopics,
        int defaultPartitions,
        int defaultReplicationFactor) {

    public ApiConfig {
        if (bindHost == null || bindHost.isEmpty()) {
            throw new IllegalArgumentException("bind.host must not be empty");
        }
        if (grpcPort < 0 || maxRequestBytes <= 0 || maxConnections <= 0 || maxCallsPerConnection <= 0 || maxUnreadAnswerBytesPerConnection <= 0 || maxUnreadAnswerBytes <= 0 || maxAdminCalls <= 0 || flowControlWindowBytes <= 0
                || produceMemoryBytes <= 0
                || produceStreamWindow <= 0 || maxPartitionsPerRequest <= 0 || maxRecordsPerRequest <= 0 || maxListedGroups <= 0 || fetchMaxBytes <= 0 || fetchMaxWaitMs < 0 || fetchMaxWaiters <= 0 || fetchBufferPoolBytes < 0
                || requestTimeoutMs <= 0 || defaultPartitions <= 0 || defaultReplicationFactor < 0) {
            throw new IllegalArgumentException("API limits must be positive: " + this);
        }
    }
}
