#!/usr/bin/env python3
"""End-to-end test of Rafka's gRPC API from Python, with a client generated from proto/.

Run against a running broker (PythonClientIT starts one and runs this script):

    /usr/bin/python3 -m grpc_tools.protoc -I proto/src/main/proto --python_out=GEN \
        --grpc_python_out=GEN proto/src/main/proto/rafka/v1/*.proto
    PYTHONPATH=GEN /usr/bin/python3 server/src/test/python/rafka_client_test.py 127.0.0.1:9092 [topic]

Needs only Debian's python3-grpcio and python3-grpc-tools. Creates a topic with two partitions, produces
structured records to each with acks=all, fetches them back decoded and encoded, and checks typed errors and
long-poll behaviour. Exits 0 and prints a line starting "PYTHON CLIENT OK" on success; exits 1 with
"FAIL: ..." otherwise.
"""
import struct
import sys
import time

try:
    import grpc
    from rafka.v1 import admin_pb2, admin_pb2_grpc
    from rafka.v1 import common_pb2
    from rafka.v1 import fetch_pb2, fetch_pb2_grpc
    from rafka.v1 import metadata_pb2, metadata_pb2_grpc
    from rafka.v1 import produce_pb2, produce_pb2_grpc
except ImportError as e:
    print("FAIL: cannot import grpc or the generated rafka.v1 modules (%s); install python3-grpcio and "
          "python3-grpc-tools and put the generated code on PYTHONPATH" % e, file=sys.stderr)
    sys.exit(1)

EC = common_pb2.ErrorCode
RETRIABLE = {EC.Value("LEADER_NOT_AVAILABLE"), EC.Value("NOT_LEADER"), EC.Value("UNKNOWN_TOPIC_OR_PARTITION")}
RPC_TIMEOUT_S = 30
RETRY_DEADLINE_S = 60
PARTITIONS = 2
# A fixed creation time (2024-01-02T03:04:05.678Z) so the fetched timestamps can be compared exactly.
BASE_TS = 1704164645678


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def code_name(code):
    try:
        return EC.Name(code)
    except ValueError:
        return str(code)


def retry(what, attempt):
    """Calls attempt() until it returns a non-None value, for at most RETRY_DEADLINE_S; attempt() returns None
    to ask for a retry (after a retriable error)."""
    deadline = time.monotonic() + RETRY_DEADLINE_S
    delay = 0.05
    while True:
        result = attempt()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise TestFailure("%s: still failing with retriable errors after %d s" % (what, RETRY_DEADLINE_S))
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def records_for(partition):
    """The records produced to a partition: (key, value, headers, timestamp). key None = a null key."""
    p = str(partition).encode()
    return [
        (b"key-" + p + b"-0", b"value-" + p + b"-0", [("trace", b"t-" + p), ("empty", b"")], BASE_TS + 0),
        (None, b"no key on " + p, [], BASE_TS + 1),
        (b"key-" + p + b"-2", bytes(range(256)) * 4, [("bin", b"\x00\x01\xff"), ("trace", b"second")], BASE_TS + 2),
    ]


def producer_record(key, value, headers, ts):
    r = produce_pb2.ProducerRecord(value=value, timestamp_ms=ts,
                                   headers=[common_pb2.RecordHeader(key=k, value=v) for k, v in headers])
    if key is not None:
        r.key = key
    return r


def create_topic(admin, topic):
    resp = admin.CreateTopics(admin_pb2.CreateTopicsRequest(topics=[
        admin_pb2.NewTopic(name=topic, partitions=PARTITIONS, replication_factor=1)]), timeout=RPC_TIMEOUT_S)
    check(len(resp.results) == 1, "CreateTopics: expected 1 result, got %r" % resp)
    res = resp.results[0]
    check(res.name == topic and res.error_code == EC.Value("NONE"),
          "CreateTopics(%s): %s %s" % (topic, code_name(res.error_code), res.error_message))
    check(len(resp.topics) == 1 and len(resp.topics[0].partitions) == PARTITIONS,
          "CreateTopics: expected the created topic with %d partitions, got %r" % (PARTITIONS, list(resp.topics)))
    check(resp.topics[0].replication_factor == 1,
          "CreateTopics: replication_factor %d, expected 1" % resp.topics[0].replication_factor)


def await_leaders(metadata, topic):
    def attempt():
        resp = metadata.GetMetadata(metadata_pb2.MetadataRequest(topics=[topic]), timeout=RPC_TIMEOUT_S)
        check(len(resp.topics) == 1 and resp.topics[0].name == topic, "GetMetadata: unexpected topics %r" % resp)
        t = resp.topics[0]
        if t.error_code in RETRIABLE:
            return None
        check(t.error_code == EC.Value("NONE"),
              "GetMetadata(%s): %s %s" % (topic, code_name(t.error_code), t.error_message))
        if len(t.partitions) != PARTITIONS:
            return None
        if any(p.error_code != EC.Value("NONE") or not p.leader_id for p in t.partitions):
            for p in t.partitions:
                check(p.error_code in RETRIABLE or p.error_code == EC.Value("NONE"),
                      "GetMetadata: partition %d: %s" % (p.partition, code_name(p.error_code)))
            return None
        return {p.partition: p.leader_id for p in t.partitions}
    leaders = retry("waiting for leaders of %s" % topic, attempt)
    check(sorted(leaders) == list(range(PARTITIONS)), "GetMetadata: partitions %r" % sorted(leaders))
    return leaders


def produce(producer, topic, partition, records):
    """Produces one record set with acks=all; returns its base offset."""
    request = produce_pb2.ProduceRequest(request_id=100 + partition, acks=produce_pb2.ACKS_ALL, partitions=[
        produce_pb2.PartitionData(topic=topic, partition=partition, records=produce_pb2.RecordSet(
            records=[producer_record(*r) for r in records]))])

    def attempt():
        resp = producer.Produce(request, timeout=RPC_TIMEOUT_S)
        check(resp.request_id == 100 + partition, "Produce: request_id %d not echoed" % resp.request_id)
        check(len(resp.results) == 1, "Produce: expected 1 result, got %r" % resp)
        res = resp.results[0]
        check(res.topic == topic and res.partition == partition, "Produce: result for %s/%d" % (res.topic, res.partition))
        if res.error_code in RETRIABLE:
            return None
        check(res.error_code == EC.Value("NONE"),
              "Produce(%s/%d): %s %s" % (topic, partition, code_name(res.error_code), res.error_message))
        return res
    res = retry("produce to %s/%d" % (topic, partition), attempt)
    check(res.base_offset == 0, "Produce(%s/%d): base_offset %d, expected 0 (first write)" % (topic, partition, res.base_offset))
    check(res.log_append_time_ms == -1, "Produce: log_append_time_ms %d, expected -1 (CreateTime topic)" % res.log_append_time_ms)
    return res.base_offset


def fetch_one(fetcher, topic, partition, offset, fmt, max_wait_ms=0, retry_errors=True):
    request = fetch_pb2.FetchRequest(max_wait_ms=max_wait_ms, format=fmt, partitions=[
        fetch_pb2.PartitionFetch(topic=topic, partition=partition, offset=offset)])

    def attempt():
        resp = fetcher.Fetch(request, timeout=RPC_TIMEOUT_S)
        check(len(resp.results) == 1, "Fetch: expected 1 result, got %r" % resp)
        res = resp.results[0]
        check(res.topic == topic and res.partition == partition, "Fetch: result for %s/%d" % (res.topic, res.partition))
        if retry_errors and res.error_code in RETRIABLE:
            return None
        return res
    return retry("fetch %s/%d" % (topic, partition), attempt)


def check_decoded(res, topic, partition, expected):
    where = "%s/%d" % (topic, partition)
    check(res.error_code == EC.Value("NONE"), "Fetch(%s): %s %s" % (where, code_name(res.error_code), res.error_message))
    check(res.high_watermark == len(expected), "Fetch(%s): high_watermark %d, expected %d" % (where, res.high_watermark, len(expected)))
    check(res.log_start_offset == 0, "Fetch(%s): log_start_offset %d, expected 0" % (where, res.log_start_offset))
    check(res.next_offset == len(expected), "Fetch(%s): next_offset %d, expected %d" % (where, res.next_offset, len(expected)))
    check(len(res.encoded_batches) == 0, "Fetch(%s): decoded fetch also carried encoded bytes" % where)
    check(len(res.records) == len(expected), "Fetch(%s): %d records, expected %d" % (where, len(res.records), len(expected)))
    for i, (rec, (key, value, headers, ts)) in enumerate(zip(res.records, expected)):
        at = "Fetch(%s) record %d" % (where, i)
        check(rec.offset == i, "%s: offset %d, expected %d" % (at, rec.offset, i))
        if key is None:
            check(not rec.HasField("key"), "%s: expected a null key, got %r" % (at, rec.key))
        else:
            check(rec.HasField("key") and rec.key == key, "%s: key %r, expected %r" % (at, rec.key, key))
        check(rec.HasField("value") and rec.value == value, "%s: value %r, expected %r" % (at, rec.value[:40], value[:40]))
        got_headers = [(h.key, h.value) for h in rec.headers]
        check(got_headers == headers, "%s: headers %r, expected %r" % (at, got_headers, headers))
        check(rec.timestamp_ms == ts, "%s: timestamp %d, expected %d" % (at, rec.timestamp_ms, ts))
        check(rec.timestamp_type == common_pb2.CREATE_TIME, "%s: timestamp_type %d, expected CREATE_TIME" % (at, rec.timestamp_type))


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def check_encoded(res, topic, partition, expected):
    """Walks the Kafka v2 batch headers of the encoded bytes: magic 2, CRC-32C, offsets and record counts."""
    where = "%s/%d" % (topic, partition)
    check(res.error_code == EC.Value("NONE"), "Fetch(%s, encoded): %s %s" % (where, code_name(res.error_code), res.error_message))
    data = res.encoded_batches
    check(len(data) > 0, "Fetch(%s, encoded): no bytes" % where)
    check(len(res.records) == 0, "Fetch(%s, encoded): also carried decoded records" % where)
    check(res.high_watermark == len(expected), "Fetch(%s, encoded): high_watermark %d, expected %d" % (where, res.high_watermark, len(expected)))
    check(res.next_offset == len(expected), "Fetch(%s, encoded): next_offset %d, expected %d" % (where, res.next_offset, len(expected)))
    pos, next_offset, records = 0, 0, 0
    while pos < len(data):
        check(len(data) - pos >= 61, "Fetch(%s, encoded): %d trailing bytes, shorter than a batch header" % (where, len(data) - pos))
        base_offset, batch_length = struct.unpack_from(">qi", data, pos)
        magic = data[pos + 16]
        (crc,) = struct.unpack_from(">I", data, pos + 17)
        (last_offset_delta,) = struct.unpack_from(">i", data, pos + 23)
        (count,) = struct.unpack_from(">i", data, pos + 57)
        end = pos + 12 + batch_length
        check(magic == 2, "Fetch(%s, encoded): batch at byte %d has magic %d, expected 2" % (where, pos, magic))
        check(end <= len(data), "Fetch(%s, encoded): batch at byte %d runs past the end" % (where, pos))
        check(crc32c(data[pos + 21:end]) == crc, "Fetch(%s, encoded): CRC mismatch in batch at byte %d" % (where, pos))
        check(base_offset == next_offset, "Fetch(%s, encoded): batch base offset %d, expected %d" % (where, base_offset, next_offset))
        next_offset = base_offset + last_offset_delta + 1
        records += count
        pos = end
    check(next_offset == len(expected) and records == len(expected),
          "Fetch(%s, encoded): batches cover offsets up to %d with %d records, expected %d" % (where, next_offset, records, len(expected)))


def trailer_code(err):
    for k, v in (err.trailing_metadata() or ()):
        if k == "rafka-error-code":
            return int(v)
    return None


def main(argv):
    if len(argv) < 2:
        print("usage: rafka_client_test.py HOST:PORT [TOPIC]", file=sys.stderr)
        return 2
    target = argv[1]
    topic = argv[2] if len(argv) > 2 else "python-client-%d" % int(time.time())
    started = time.monotonic()
    # A broker on loopback: never through an http_proxy the environment may name.
    with grpc.insecure_channel(target, options=[("grpc.enable_http_proxy", 0)]) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=RPC_TIMEOUT_S)
        except grpc.FutureTimeoutError:
            raise TestFailure("cannot connect to %s within %d s" % (target, RPC_TIMEOUT_S))
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        metadata = metadata_pb2_grpc.MetadataServiceStub(channel)
        producer = produce_pb2_grpc.ProduceServiceStub(channel)
        fetcher = fetch_pb2_grpc.FetchServiceStub(channel)

        create_topic(admin, topic)
        leaders = await_leaders(metadata, topic)
        print("created %s: leaders %s" % (topic, leaders))

        produced = 0
        for p in range(PARTITIONS):
            produce(producer, topic, p, records_for(p))
            produced += len(records_for(p))

        for p in range(PARTITIONS):
            expected = records_for(p)
            check_decoded(fetch_one(fetcher, topic, p, 0, fetch_pb2.RECORD_FORMAT_DECODED), topic, p, expected)
            # From the middle: only the records from offset 1 on.
            mid = fetch_one(fetcher, topic, p, 1, fetch_pb2.RECORD_FORMAT_DECODED)
            check(mid.error_code == EC.Value("NONE") and [r.offset for r in mid.records] == [1, 2],
                  "Fetch(%s/%d from 1): offsets %r (%s)" % (topic, p, [r.offset for r in mid.records], code_name(mid.error_code)))
            check_encoded(fetch_one(fetcher, topic, p, 0, fetch_pb2.RECORD_FORMAT_ENCODED), topic, p, expected)

        # Typed errors: creating the topic again, fetching an unknown topic, a fetch without partitions.
        again = admin.CreateTopics(admin_pb2.CreateTopicsRequest(topics=[
            admin_pb2.NewTopic(name=topic, partitions=PARTITIONS, replication_factor=1)]), timeout=RPC_TIMEOUT_S)
        check(len(again.results) == 1 and again.results[0].error_code == EC.Value("TOPIC_ALREADY_EXISTS"),
              "CreateTopics(%s) again: expected TOPIC_ALREADY_EXISTS, got %r" % (topic, list(again.results)))
        unknown = fetch_one(fetcher, "no-such-topic-" + topic, 0, 0, fetch_pb2.RECORD_FORMAT_DECODED, retry_errors=False)
        check(unknown.error_code == EC.Value("UNKNOWN_TOPIC_OR_PARTITION"),
              "Fetch(unknown topic): expected UNKNOWN_TOPIC_OR_PARTITION, got %s %s"
              % (code_name(unknown.error_code), unknown.error_message))
        check(len(unknown.records) == 0, "Fetch(unknown topic): records returned")
        bad_partition = fetch_one(fetcher, topic, PARTITIONS, 0, fetch_pb2.RECORD_FORMAT_DECODED, retry_errors=False)
        check(bad_partition.error_code == EC.Value("UNKNOWN_TOPIC_OR_PARTITION"),
              "Fetch(%s/%d, no such partition): expected UNKNOWN_TOPIC_OR_PARTITION, got %s"
              % (topic, PARTITIONS, code_name(bad_partition.error_code)))
        try:
            fetcher.Fetch(fetch_pb2.FetchRequest(), timeout=RPC_TIMEOUT_S)
            raise TestFailure("Fetch without partitions: expected INVALID_ARGUMENT, got a response")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.INVALID_ARGUMENT,
                  "Fetch without partitions: status %s, expected INVALID_ARGUMENT" % e.code())
            check(trailer_code(e) == EC.Value("INVALID_REQUEST"),
                  "Fetch without partitions: rafka-error-code %r, expected %d (INVALID_REQUEST)"
                  % (trailer_code(e), EC.Value("INVALID_REQUEST")))

        # Long poll at the end of the log: no data, so the broker answers after about max_wait_ms.
        end = len(records_for(0))
        t0 = time.monotonic()
        empty = fetch_one(fetcher, topic, 0, end, fetch_pb2.RECORD_FORMAT_DECODED, max_wait_ms=500, retry_errors=False)
        waited_ms = (time.monotonic() - t0) * 1000
        check(empty.error_code == EC.Value("NONE"), "long poll: %s %s" % (code_name(empty.error_code), empty.error_message))
        check(len(empty.records) == 0 and len(empty.encoded_batches) == 0, "long poll: records returned at the end of the log")
        check(empty.high_watermark == end and empty.next_offset == end,
              "long poll: high_watermark %d next_offset %d, expected %d" % (empty.high_watermark, empty.next_offset, end))
        check(waited_ms >= 400, "long poll: answered after %.0f ms, expected about 500 ms" % waited_ms)
        check(waited_ms < 10_000, "long poll: answered after %.0f ms, far beyond max_wait_ms=500" % waited_ms)

    print("PYTHON CLIENT OK: topic %s, %d partitions, %d records produced and fetched back (decoded and encoded), "
          "typed errors checked, long poll waited %.0f ms, %.1f s in all"
          % (topic, PARTITIONS, produced, waited_ms, time.monotonic() - started))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except TestFailure as failure:
        print("FAIL: %s" % failure, file=sys.stderr)
        sys.exit(1)
    except grpc.RpcError as e:
        print("FAIL: unexpected gRPC error %s: %s (rafka-error-code %s)" % (e.code(), e.details(), trailer_code(e)),
              file=sys.stderr)
        sys.exit(1)
