#!/usr/bin/env bash
# Multi-process density run (issue #15): 3 brokers (bin/rafka cluster) with hibernation on, a topic of P partitions x RF 3,
# idle CPU and threads per broker, first writes to hibernated partitions one by one, a burst of writes over many
# partitions, metrics, idle again.
#   bench/density/run.sh [PARTITIONS=1000]   (env: HIB_MS=10000 threshold, FIRST=60 first writes at FIRST_RATE=1/s, a burst of N=300 records at R=100/s)
set -uo pipefail
P=${1:-1000}
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export RAFKA_PARTITION_HIBERNATE_AFTER_MS=${HIB_MS:-10000}
export RAFKA_CLUSTER_DIR=${RAFKA_CLUSTER_DIR:-/tmp/rafka-density-cluster}
bin/rafka cluster stop >/dev/null 2>&1; rm -rf $RAFKA_CLUSTER_DIR
bin/rafka cluster start | tail -3
pids=$(cat $RAFKA_CLUSTER_DIR/node-*.pid)
metric() { exec 3<>/dev/tcp/127.0.0.1/$1; printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3; grep "^$2 " <&3 | awk '{print $2}'; exec 3>&-; }
cpu() { local t=0; for p in $pids; do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $t; }
idle() {
  local c0=$(cpu) s0=$(date +%s.%N); sleep ${1:-30}; local c1=$(cpu) s1=$(date +%s.%N)
  echo "idle over $1 s: $(echo "scale=2; ($c1-$c0)/100/($s1-$s0)*100/3" | bc) % of a core per broker (avg of 3);" \
    "threads $(for p in $pids; do grep Threads /proc/$p/status | awk '{print $2}'; done | tr '\n' ' ');" \
    "RSS MiB $(for p in $pids; do echo $(( $(grep VmRSS /proc/$p/status | awk '{print $2}') / 1024 )); done | tr '\n' ' ')"
}
# Live heap per broker after a full GC (KiB), to count the heap a hibernated partition replica costs.
heap() { for p in $pids; do jcmd $p GC.run >/dev/null 2>&1; jcmd $p GC.heap_info 2>/dev/null | grep -o 'used [0-9]*K' | head -1 | tr -dc 0-9; echo -n ' '; done; }
idle 20
h0=($(heap)); echo "live heap before the topic, KiB: ${h0[*]}"
t0=$(date +%s.%N)
bin/rafka topic create idle --partitions $P --replication-factor 3 --bootstrap 127.0.0.1:9192 | tail -1
for port in 9195 9295 9395; do
  until [[ "$(metric $port rafka_hibernated_partitions)" == "$P.0" ]]; do sleep 0.5; done
done
echo "created $P partitions x 3 (all hibernated on every broker) in $(echo "$(date +%s.%N) - $t0" | bc) s"
sleep 5
h1=($(heap)); echo "live heap with $P hibernated partitions, KiB: ${h1[*]};" \
  "per hibernated replica: $(for i in 0 1 2; do echo -n "$(( (h1[i] - h0[i]) * 1024 / P )) B "; done)"
idle 30
# First writes: --batch-size 1 moves the sticky partition on after every record, so each record goes to a partition
# that is still hibernated; FIRST_RATE (1) a second, so the wake-ups do not overlap (at 5 a second they do, and the
# two cores of the reference machine saturate). The latency figures are first-write latencies.
# Twice: the first round also warms the brokers' JIT up (a broker that has run a while is warm).
for round in "first round (JIT warming up)" "second round"; do
  echo "first writes to hibernated partitions (one record each, ${FIRST_RATE:-1}/s), $round:"
  bin/rafka perf produce --topic idle --num-records ${FIRST:-60} --record-size 100 --batch-size 1 --linger-ms 0 --throughput ${FIRST_RATE:-1} \
    --bootstrap 127.0.0.1:9192 2>&1 | grep -E "records sent|not delivered" | tail -2
done
# A burst: records spread over the partitions at R a second, so hundreds of partitions wake at once.
echo "burst: ${N:-300} records, one partition after the other, ${R:-100}/s:"
bin/rafka perf produce --topic idle --num-records ${N:-300} --record-size 100 --batch-size 1 --throughput ${R:-100} \
  --bootstrap 127.0.0.1:9192 2>&1 | grep -E "records sent|not delivered" | tail -2
for port in 9195 9295 9395; do
  echo "broker $port: wake-ups $(metric $port rafka_partition_wakeups_total), wake seconds $(metric $port rafka_partition_wake_seconds_total), max $(metric $port rafka_partition_wake_max_seconds), active $(metric $port rafka_active_partitions)"
done
idle 20
sleep $(( RAFKA_PARTITION_HIBERNATE_AFTER_MS / 1000 + 5 )); t9=$(date +%s)
for port in 9195 9295 9395; do
  until [[ "$(metric $port rafka_hibernated_partitions)" == "$P.0" || $(( $(date +%s) - t9 )) -gt 90 ]]; do sleep 1; done; echo "broker $port hibernated $(metric $port rafka_hibernated_partitions)"
done
echo "all hibernated again"
idle 30
bin/rafka cluster stop | tail -1
