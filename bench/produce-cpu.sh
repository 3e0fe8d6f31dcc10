#!/usr/bin/env bash
# Throughput and broker CPU per record of one checkout on real broker processes, for A/B runs of two builds
# (each checkout starts its own cluster, so run them one after the other, alternating):
#
#   bench/produce-cpu.sh CHECKOUT LABEL [PORT_BASE] [WARMUP] [RECORDS]
#
# Starts `bin/rafka cluster` of CHECKOUT (1 GiB heaps unless RAFKA_HEAP_OPTS says otherwise, ports from PORT_BASE [26000], data in /tmp/produce-cpu-LABEL),
# creates a topic of 6 partitions RF 3, runs `bin/rafka perf produce` WARMUP [200000] records unmeasured, then
# RECORDS [400000] measured, and prints one line: records/s, the CPU time of the three broker processes
# (utime + stime) over the measured run per record, and the producer's latency percentiles. Stops the cluster on exit.
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n '2,10p' "$0" >&2; exit 2; }
CHECKOUT="$(cd "$1" && pwd)" LABEL="$2" PORT_BASE="${3:-26000}" WARMUP="${4:-200000}" RECORDS="${5:-400000}"
export RAFKA_PORT_BASE="$PORT_BASE" RAFKA_CLUSTER_DIR="/tmp/produce-cpu-$LABEL" RAFKA_HEAP_OPTS="${RAFKA_HEAP_OPTS:--Xms1g -Xmx1g}"
BOOTSTRAP="127.0.0.1:$(( PORT_BASE + 192 ))"
cd "$CHECKOUT"
rm -rf "$RAFKA_CLUSTER_DIR"
trap 'bin/rafka cluster stop >/dev/null 2>&1 || bin/rafka cluster kill >/dev/null 2>&1 || true' EXIT
started="$(bin/rafka cluster start 2>&1)"
mapfile -t pids < <(grep -o 'pid [0-9]*' <<<"$started" | awk '{print $2}')
bin/rafka topic create bench --partitions 6 --replication-factor 3 --bootstrap "$BOOTSTRAP" >/dev/null
sleep 3
bin/rafka perf produce --bootstrap "$BOOTSTRAP" --topic bench --num-records "$WARMUP" >/dev/null
ticks() { local sum=0 p; for p in "${pids[@]}"; do sum=$(( sum + $(awk '{print $14 + $15}' "/proc/$p/stat") )); done; echo "$sum"; }
before="$(ticks)"
result="$(bin/rafka perf produce --bootstrap "$BOOTSTRAP" --topic bench --num-records "$RECORDS" | grep 'records sent' | tail -1)"
after="$(ticks)"
hz="$(getconf CLK_TCK)"
awk -v label="$LABEL" -v r="$RECORDS" -v t=$(( after - before )) -v hz="$hz" -v line="$result" 'BEGIN {
  split(line, f, ", ");
  printf "%s: %s | broker CPU %.1f s, %.0f us per record | %s, %s\n", label, f[2], t / hz, t / hz * 1e6 / r, f[4], f[5] }'
