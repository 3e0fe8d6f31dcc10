#!/usr/bin/env bash
# Partitions kept active (issue #15: what an open partition still costs): P (300) partitions x RF 3, hibernation after
# 60 s, records spread one per partition at R (30)/s for N (7500) records; CPU per broker after WARM (120) s of writes,
# right after they stop, and once the groups hibernated again.   bench/density/active.sh   (env: P, R, N, WARM)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export RAFKA_CLUSTER_DIR=${RAFKA_CLUSTER_DIR:-/tmp/rafka-active} RAFKA_PARTITION_HIBERNATE_AFTER_MS=60000
bin/rafka cluster stop >/dev/null 2>&1; rm -rf $RAFKA_CLUSTER_DIR
bin/rafka cluster start | tail -1
pids=$(cat $RAFKA_CLUSTER_DIR/node-*.pid)
metric() { exec 3<>/dev/tcp/127.0.0.1/$1; printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3; grep "^$2 " <&3 | awk '{print $2}'; exec 3>&-; }
cpu() { local t=0; for p in $pids; do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $t; }
measure() { local c0=$(cpu) s0=$(date +%s.%N); sleep $2; local c1=$(cpu) s1=$(date +%s.%N)
  echo "$1 over $2 s: $(echo "scale=2; ($c1-$c0)/100/($s1-$s0)*100/3" | bc) % of a core per broker; active $(for p in 9195 9295 9395; do metric $p rafka_active_partitions; done | tr '\n' ' ')threads $(for p in $pids; do grep Threads /proc/$p/status | awk '{print $2}'; done | tr '\n' ' ')"; }
bin/rafka topic create act --partitions ${P:-300} --replication-factor 3 --bootstrap 127.0.0.1:9192 | tail -1
sleep 10; measure "created, all hibernated" 20
bin/rafka perf produce --topic act --num-records ${N:-7500} --record-size 100 --batch-size 1 --linger-ms 0 --throughput ${R:-30} \
  --bootstrap 127.0.0.1:9192 > $RAFKA_CLUSTER_DIR/perf.log 2>&1 &
wp=$!
sleep ${WARM:-120}; measure "writes at ${R:-30}/s spread over all partitions" 30
wait $wp; tail -2 $RAFKA_CLUSTER_DIR/perf.log
measure "writes stopped, groups still open" 30
sleep 70; measure "hibernated again" 30
bin/rafka cluster stop | tail -1
