"""Checks the /status JSON of compose nodes for deploy/test-compose.sh.

stdin: one line per node, "NODE_ID<TAB>STATUS_JSON". argv: CHECK TOPIC RECORDS. CHECK is
  serving        every node serves and knows a controller (its metadata view is current)
  serving-topic  the same, and every node hosts every partition of TOPIC (RF 3 on three nodes)
  caught-up      each partition of TOPIC has one leader (or is hibernated on every node: idle groups close,
                 partition.hibernate.after.ms), the leaders' high watermarks add up to RECORDS, and every
                 node's high watermark equals its leader's
Exit status 0 when the check holds; a line saying what was seen either way.
"""
import json
import sys


def main():
    check, topic, records = sys.argv[1], sys.argv[2], int(sys.argv[3])
    nodes = {}
    for line in sys.stdin:
        node, _, doc = line.rstrip("\n").partition("\t")
        try:
            nodes[node] = json.loads(doc)
        except ValueError:
            print(f"node {node}: /status is not JSON: {doc[:200]!r}")
            return 1
    for node, s in nodes.items():
        if not s.get("serving") or not s.get("controller_id"):
            print(f"node {node}: serving={s.get('serving')} controller_id={s.get('controller_id')!r}")
            return 1
    if check == "serving":
        print("serving: " + ", ".join(f"node {n} (controller {s['controller_id']})" for n, s in nodes.items()))
        return 0
    parts = {n: {p["partition"]: p for p in s["partitions"] if p["topic"] == topic} for n, s in nodes.items()}
    wanted = {p for hosted in parts.values() for p in hosted}
    for n, hosted in parts.items():
        if not hosted or set(hosted) != wanted:
            print(f"node {n} hosts partitions {sorted(hosted)} of {topic}, the cluster {sorted(wanted)}")
            return 1
    if check == "serving-topic":
        print(f"every node hosts partitions {sorted(wanted)} of {topic}")
        return 0
    leaders = {}
    for n, hosted in parts.items():
        for p, st in hosted.items():
            if st["is_leader"]:
                if p in leaders:
                    print(f"partition {p}: two leaders")
                    return 1
                leaders[p] = st["high_watermark"]
    for p in wanted - set(leaders):
        # An idle partition hibernates on every replica (its groups closed until the next write): no node leads
        # it, and each reports the high watermark it froze at.
        if all(hosted[p]["hibernated"] for hosted in parts.values()):
            leaders[p] = max(hosted[p]["high_watermark"] for hosted in parts.values())
    if set(leaders) != wanted:
        detail = "; ".join(f"node {n} p{p}: leader {hosted[p]['leader']!r} epoch {hosted[p]['leader_epoch']} "
                           f"hw {hosted[p]['high_watermark']} hibernated {hosted[p]['hibernated']}"
                           for p in sorted(wanted - set(leaders)) for n, hosted in parts.items())
        print(f"partitions without a leader: {sorted(wanted - set(leaders))} ({detail})")
        return 1
    behind = [f"node {n} p{p} {st['high_watermark']}<{leaders[p]}" for n, hosted in parts.items()
              for p, st in hosted.items() if st["high_watermark"] != leaders[p]]
    total = sum(leaders.values())
    summary = ", ".join(f"p{p}={hw}" for p, hw in sorted(leaders.items()))
    if total != records or behind:
        print(f"leaders' high watermarks {summary} (sum {total}, want {records}); behind: {behind}")
        return 1
    print(f"high watermarks {summary} on every node")
    return 0


if __name__ == "__main__":
    sys.exit(main())
