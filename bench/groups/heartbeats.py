#!/usr/bin/python3
"""Holds MEMBERS members of one consumer group on the group's coordinator, each heartbeating at the interval the
coordinator asks for (reporting what it owns, as the SDK does), for SECONDS seconds after every member joined; then
leaves. Prints when the group was complete and stable, and how many heartbeats were answered. Measure the
coordinator's CPU from outside (its /proc/PID/stat) while it runs.

Usage: bench/groups/heartbeats.py HOST:PORT GROUP TOPIC MEMBERS SECONDS
Needs Debian's python3-grpcio and python3-grpc-tools (bench/rafka_stubs.py).
"""
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import rafka_stubs  # noqa: E402

address, group, topic, members, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
SETTLE_S = 35


class Member:
    def __init__(self, groups_pb2):
        self.pb = groups_pb2
        self.member_id = ""
        self.epoch = 0
        self.version = -1
        self.interval = 0.5
        self.owned = []
        self.answers = 0
        self.sent = 0
        self.joined = asyncio.Event()
        self.outbox = asyncio.Queue()

    def request(self, epoch):
        return self.pb.HeartbeatRequest(group_id=group, member_id=self.member_id, member_epoch=epoch,
                                        subscribed_topics=[topic] if epoch == 0 else [],
                                        owned=self.owned, acknowledged_version=self.version, client_id="heartbeats.py")

    async def requests(self, stop):
        yield self.request(0)
        await self.joined.wait()   # heartbeats carry the member id the join's answer gives
        while True:
            try:
                message = await asyncio.wait_for(self.outbox.get(), timeout=self.interval)
            except asyncio.TimeoutError:
                message = None
            if stop.is_set():
                yield self.request(-1)
                return
            self.sent += 1
            yield message if message is not None else self.request(self.epoch)

    async def run(self, stub, stop):
        async for r in stub.Heartbeat(self.requests(stop)):
            self.answers += 1
            self.member_id, self.epoch, self.version = r.member_id, r.member_epoch, r.assignment_version
            self.interval = max(r.heartbeat_interval_ms, 50) / 1000
            owned = [self.pb.TopicPartitions(topic=t.topic, partitions=list(t.partitions)) for t in r.assignment]
            if owned != self.owned:
                self.owned = owned
                await self.outbox.put(self.request(self.epoch))   # report at once what it owns now
            self.joined.set()


async def main(groups_pb2, groups_pb2_grpc, grpc):
    finder = groups_pb2_grpc.GroupServiceStub(grpc.aio.insecure_channel(address))

    async def find():
        deadline = time.time() + 60
        while True:   # the first group of a cluster creates __consumer_offsets: UNAVAILABLE until its leaders are there
            try:
                return (await finder.FindCoordinator(groups_pb2.FindCoordinatorRequest(group_id=group),
                                                     timeout=30)).coordinator
            except grpc.aio.AioRpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE or time.time() > deadline:
                    raise
                await asyncio.sleep(0.5)

    # The same coordinator twice, SETTLE_S apart (the brokers move leaderships back to their preferred replicas
    # every 30 s): the members are not written to follow a coordinator that moves.
    coordinator = await find()
    while True:
        await asyncio.sleep(SETTLE_S)
        again = await find()
        if again.id == coordinator.id:
            break
        coordinator = again
    target = f"{coordinator.host}:{coordinator.port}"
    print(f"coordinator: broker {coordinator.id} at {target}", flush=True)
    channels = [grpc.aio.insecure_channel(target) for _ in range(max(1, members // 100))]
    stop = asyncio.Event()
    started = time.time()
    group_members = [Member(groups_pb2) for _ in range(members)]
    tasks = [asyncio.create_task(m.run(groups_pb2_grpc.GroupServiceStub(channels[i % len(channels)]), stop))
             for i, m in enumerate(group_members)]
    joins = asyncio.gather(*(m.joined.wait() for m in group_members))
    done, _ = await asyncio.wait([joins, *tasks], timeout=120, return_when=asyncio.FIRST_COMPLETED)
    if joins not in done:
        failed = [t for t in done if t is not joins]
        print(f"not every member joined in 120 s: {failed[0].exception() if failed else 'timed out'}", flush=True)
        os._exit(1)
    print(f"{members} members joined in {time.time() - started:.1f} s", flush=True)
    answers_before = sum(m.answers for m in group_members)
    sent_before = sum(m.sent for m in group_members)
    held = time.time()
    step_answers, step_sent = answers_before, sent_before
    while time.time() - held < seconds:   # every 10 s: heartbeats sent, answers (pushes, quarter-session answers) meanwhile
        await asyncio.sleep(min(10.0, max(0.0, seconds - (time.time() - held))))
        a, n = sum(m.answers for m in group_members), sum(m.sent for m in group_members)
        print(f"  {time.time() - held:5.1f} s: {n - step_sent} heartbeats, {a - step_answers} answers", flush=True)
        step_answers, step_sent = a, n
    answers = sum(m.answers for m in group_members) - answers_before
    sent = sum(m.sent for m in group_members) - sent_before
    owners = sum(1 for m in group_members if m.owned)
    print(f"held {time.time() - held:.1f} s: {sent} heartbeats sent ({sent / seconds:.0f}/s), {answers} answers, "
          f"{owners} members own partitions", flush=True)
    stop.set()
    for m in group_members:
        await m.outbox.put(None)
    await asyncio.wait(tasks, timeout=30)


with rafka_stubs.generated():
    import grpc
    from rafka.v1 import groups_pb2, groups_pb2_grpc

    asyncio.run(main(groups_pb2, groups_pb2_grpc, grpc))
