package io.rafka.client.cli;

import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;
import io.rafka.client.internals.MetadataClient;
import io.rafka.client.internals.RetryState;
import io.rafka.client.internals.ErrorCodes;
import io.rafka.client.internals.ClientException;

import io.rafka.common.Time;
import io.rafka.common.TopicPartition;
import io.grpc.StatusRuntimeException;
import io.rafka.proto.v1.Acks;
import io.rafka.proto.v1.ErrorCode;
import io.rafka.proto.v1.PartitionData;
import io.rafka.proto.v1.PartitionProduceResult;
import io.rafka.proto.v1.ProduceRequest;
import io.rafka.proto.v1.ProduceResponse;
import io.rafka.proto.v1.ProduceServiceGrpc;
import io.rafka.proto.v1.ProducerRecord;
import io.rafka.proto.v1.RecordSet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Sends the batches of one flush to their partitions' leaders and does not return until every batch
 * is acknowledged, retrying the retriable failures (see {@link ErrorCodes}) with backoff for up to the
 * retry timeout. Sending synchronously, one flush at a time, keeps each partition's records in input
 * order even across retries: nothing newer is sent while an older batch is still pending.
 *
 * <p>Retries resend a batch whole, so a REQUEST_TIMED_OUT or lost connection can duplicate records (the
 * first attempt may have committed): at-least-once, as Kafka's producer without idempotence.
 * Not thread-safe.
 */
final class ProduceSender implements Consumer<Map<Integer, List<ProducerRecord>>> {

    /**
     * Longer than the broker's request.timeout.ms (30 s by default), so that a slow commit comes back
     * as the broker's own REQUEST_TIMED_OUT rather than as a client-side deadline.
     */
    static final long RPC_DEADLINE_MS = 60_000;
    /** Data per request, well under the broker's max.request.bytes (16 MiB by default). */
    static final int MAX_REQUEST_BYTES = 4 * 1024 * 1024;

    private final String topic;
    private final Acks acks;
    private final MetadataClient metadata;
    private final ChannelPool channels;
    private final Time time;
    private final long retryTimeoutMs;
    private long recordsSent;
    private long requestId;

    ProduceSender(String topic, Acks acks, MetadataClient metadata, ChannelPool channels, Time time,
                  long retryTimeoutMs) {
        this.topic = topic;
        this.acks = acks;
        this.metadata = metadata;
        this.channels = channels;
        this.time = time;
        this.retryTimeoutMs = retryTimeoutMs;
    }

    /** Records acknowledged so far (with acks=0: accepted for sending). */
    long recordsSent() {
        return recordsSent;
    }

    @Override
    public void accept(Map<Integer, List<ProducerRecord>> batches) {
        Map<Integer, List<ProducerRecord>> pending = new TreeMap<>(batches);
        RetryState retry = new RetryState(time, retryTimeoutMs);
        while (true) {
            Round round = new Round();
            sendRound(pending, round);
            if (pending.isEmpty()) {
                return;
            }
            RetryState.sleep(time, retry.onFailure(round.failure));
            if (round.refreshMetadata) {
                refreshMetadata();
            }
        }
    }

    /** One attempt for every pending batch: one request per leader (or a few, if the data is large). */
    private void sendRound(Map<Integer, List<ProducerRecord>> pending, Round round) {
        Map<BrokerAddress, List<Integer>> byLeader = new LinkedHashMap<>();
        for (int partition : pending.keySet()) {
            TopicPartition tp = new TopicPartition(topic, partition);
            Optional<BrokerAddress> leader = metadata.leader(tp);
            if (leader.isPresent()) {
                byLeader.computeIfAbsent(leader.get(), address -> new ArrayList<>()).add(partition);
            } else {
                round.failed(ClientException.of(ErrorCode.LEADER_NOT_AVAILABLE, tp + " has no known leader"), true);
            }
        }
        for (Map.Entry<BrokerAddress, List<Integer>> entry : byLeader.entrySet()) {
            for (List<Integer> partitions : requestsOf(entry.getValue(), pending)) {
                sendRequest(entry.getKey(), partitions, pending, round);
            }
        }
    }

    /** Splits one leader's partitions into requests of at most {@link #MAX_REQUEST_BYTES} (but one batch at least). */
    private static List<List<Integer>> requestsOf(List<Integer> partitions, Map<Integer, List<ProducerRecord>> pending) {
        List<List<Integer>> requests = new ArrayList<>();
        List<Integer> current = new ArrayList<>();
        long currentBytes = 0;
        for (int partition : partitions) {
            long bytes = 0;
            for (ProducerRecord record : pending.get(partition)) {
                bytes += ProduceBatcher.encodedSize(record);
            }
            if (!current.isEmpty() && currentBytes + bytes > MAX_REQUEST_BYTES) {
                requests.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(partition);
            currentBytes += bytes;
        }
        requests.add(current);
        return requests;
    }

    private void sendRequest(BrokerAddress leader, List<Integer> partitions,
                             Map<Integer, List<ProducerRecord>> pending, Round round) {
        ProduceRequest.Builder request = ProduceRequest.newBuilder().setRequestId(++requestId).setAcks(acks);
        for (int partition : partitions) {
            request.addPartitions(PartitionData.newBuilder()
                    .setTopic(topic)
                    .setPartition(partition)
                    .setRecords(RecordSet.newBuilder().addAllRecords(pending.get(partition))));
        }
        ProduceResponse response;
        try {
            response = ProduceServiceGrpc.newBlockingStub(channels.channel(leader))
                    .withDeadlineAfter(RPC_DEADLINE_MS, TimeUnit.MILLISECONDS)
                    .produce(request.build());
        } catch (StatusRuntimeException e) {
            ClientException failure = ClientException.fromStatus(e, leader);
            if (!failure.retriable()) {
                throw failure;
            }
            round.failed(failure, true);
            return;
        }
        if (response.getResultsCount() != partitions.size()) {
            throw new ClientException(ErrorCode.UNKNOWN_SERVER_ERROR.name(), "broker " + leader + " answered "
                    + response.getResultsCount() + " results for " + partitions.size() + " partitions");
        }
        for (int i = 0; i < partitions.size(); i++) {
            onResult(partitions.get(i), response.getResults(i), pending, round);
        }
    }

    private void onResult(int partition, PartitionProduceResult result,
                          Map<Integer, List<ProducerRecord>> pending, Round round) {
        if (result.getErrorCode() == ErrorCode.NONE) {
            recordsSent += pending.remove(partition).size();
            return;
        }
        TopicPartition tp = new TopicPartition(topic, partition);
        ClientException failure = ClientException.of(result.getErrorCode(), result.getErrorCodeValue(),
                tp.toString(), result.getErrorMessage());
        if (!failure.retriable()) {
            throw failure;
        }
        boolean hinted = result.getErrorCode() == ErrorCode.NOT_LEADER
                && metadata.leaderHint(tp, result.hasLeader(), result.getLeader());
        round.failed(failure, !hinted);
    }

    /** A refresh that fails for a retriable reason is skipped: the next round's errors say what is wrong. */
    private void refreshMetadata() {
        try {
            metadata.refresh(List.of(topic), true);
        } catch (ClientException e) {
            if (!e.retriable()) {
                throw e;
            }
        }
    }

    /** What went wrong in one round: the failure to report if retries run out, and whether leaders moved. */
    private static final class Round {
        ClientException failure;
        boolean refreshMetadata;

        void failed(ClientException failure, boolean refreshMetadata) {
            this.failure = failure;
            this.refreshMetadata |= refreshMetadata;
        }
    }
}
