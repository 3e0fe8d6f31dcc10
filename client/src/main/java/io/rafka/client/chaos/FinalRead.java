package io.rafka.client.chaos;

import io.grpc.StatusRuntimeException;
import io.rafka.client.chaos.History.Read;
import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.MetadataClient;
import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.FetchRequest;
import io.rafka.proto.v1.FetchServiceGrpc;
import io.rafka.proto.v1.PartitionFetch;
import io.rafka.proto.v1.PartitionFetchResult;
import io.rafka.proto.v1.RecordFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * After the faults are healed: reads every partition from offset 0 to its high watermark through its leader, and
 * records each record (offset and value) in the {@link History}. Leaders change and brokers may still be
 * catching up, so every call is retried against the leader the metadata names then, for up to a minute.
 */
final class FinalRead {
    private static final Logger LOG = LoggerFactory.getLogger(FinalRead.class);
    private static final long TIMEOUT_MS = 60_000;

    private FinalRead() {
    }

    static long readAll(String bootstrap, String topic, int partitions, History history) throws IOException {
        long total = 0;
        try (ChannelPool channels = ChannelPool.plaintext()) {
            MetadataClient metadata = new MetadataClient(channels, BrokerAddress.parse(bootstrap), Time.SYSTEM, TIMEOUT_MS);
            for (int p = 0; p < partitions; p++) {
                total += readPartition(channels, metadata, new TopicPartition(topic, p), history);
            }
        }
        return total;
    }

    private static long readPartition(ChannelPool channels, MetadataClient metadata, TopicPartition tp, History history)
            throws IOException {
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        long offset = 0;
        long read = 0;
        while (true) {
            PartitionFetchResult r = null;
            try {
                metadata.refresh(List.of(tp.topic()), false);
                BrokerAddress leader = metadata.leader(tp).orElse(null);
                if (leader != null) {
                    r = FetchServiceGrpc.newBlockingStub(channels.channel(leader)).withDeadlineAfter(20, TimeUnit.SECONDS)
                            .fetch(FetchRequest.newBuilder().setFormat(RecordFormat.RECORD_FORMAT_DECODED)
                                    .addPartitions(PartitionFetch.newBuilder().setTopic(tp.topic()).setPartition(tp.partition())
                                            .setOffset(offset)).build()).getResults(0);
                }
            } catch (StatusRuntimeException | io.rafka.client.internals.ClientException e) {
                LOG.debug("{}: read at {} failed: {}", tp, offset, e.toString());
            }
            if (r != null && r.getErrorCode() == ErrorCode.NONE) {
                for (var rec : r.getRecordsList()) {
                    history.read(new Read("leader", tp.partition(), rec.getOffset(), rec.getValue().toStringUtf8()));
                    read++;
                }
                long before = offset;
                offset = r.getNextOffset();
                if (offset >= r.getHighWatermark()) {
                    return read;
                }
                if (offset > before) {
                    continue;
                }
                // Nothing below the high watermark came back (a replica still catching up): retried, within the deadline.
            }
            if (System.currentTimeMillis() > deadline) {
                throw new IOException(tp + ": could not read past offset " + offset + " within " + TIMEOUT_MS + " ms"
                        + (r == null ? "" : ": " + r.getErrorCode() + " " + r.getErrorMessage()));
            }
            sleep(100);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
