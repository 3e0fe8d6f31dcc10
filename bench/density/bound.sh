#!/usr/bin/env bash
# The bound on open partitions (partition.max.open) on three broker processes: a topic of P (1000) partitions x RF 3,
# hibernation after 60 s, and one record to each of N (400) different partitions at R (4)/s (--batch-size 1 moves the
# sticky partitioner on after every record, so every record wakes a hibernated partition). Prints, every 10 s, the
# open partitions and threads per broker, then CPU per broker over the writes, the producer's figures, early
# hibernations and refused wake-ups.
#   MAX_OPEN=100 bench/density/bound.sh   (env: MAX_OPEN (0: the broker default, 50 per processor, at least 100), P, N, R)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export RAFKA_CLUSTER_DIR=${RAFKA_CLUSTER_DIR:-/tmp/rafka-bound} RAFKA_PARTITION_HIBERNATE_AFTER_MS=60000
export RAFKA_PARTITION_MAX_OPEN=${MAX_OPEN:-0}
P=${P:-1000} N=${N:-400} R=${R:-4}
bin/rafka cluster stop >/dev/null 2>&1; rm -rf $RAFKA_CLUSTER_DIR
bin/rafka cluster start | tail -1
pids=$(cat $RAFKA_CLUSTER_DIR/node-*.pid)
metric() { exec 3<>/dev/tcp/127.0.0.1/$1; printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3; grep "^$2 " <&3 | awk '{print $2}'; exec 3>&-; }
each() { for port in 9195 9295 9395; do metric $port $1; done | tr '\n' ' '; }
cpu() { local t=0; for p in $pids; do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $t; }
threads() { for p in $pids; do grep Threads /proc/$p/status | awk '{print $2}'; done | tr '\n' ' '; }
bin/rafka topic create bound --partitions $P --replication-factor 3 --bootstrap 127.0.0.1:9192 | tail -1
sleep 10
echo "partition.max.open=$RAFKA_PARTITION_MAX_OPEN: $N records at $R/s, each to a hibernated partition of $P"
c0=$(cpu) s0=$(date +%s.%N)
bin/rafka perf produce --topic bound --num-records $N --record-size 100 --batch-size 1 --linger-ms 0 --throughput $R \
  --bootstrap 127.0.0.1:9192 > $RAFKA_CLUSTER_DIR/perf.log 2>&1 &
wp=$!
most=0
while kill -0 $wp 2>/dev/null; do
  sleep 10
  open=$(each rafka_active_partitions)
  echo "  t=$(printf %.0f $(echo "$(date +%s.%N) - $s0" | bc)) s: open $open threads $(threads)"
  for o in $open; do o=${o%.*}; (( o > most )) && most=$o; done
done
c1=$(cpu) s1=$(date +%s.%N)
echo "writes done in $(printf %.0f $(echo "$s1 - $s0" | bc)) s: $(echo "scale=1; ($c1-$c0)/100/($s1-$s0)*100/3" | bc) % of a core per broker;" \
  "most open on a broker $most"
tail -2 $RAFKA_CLUSTER_DIR/perf.log
echo "early hibernations $(each rafka_partition_early_hibernations_total) refused wake-ups $(each rafka_partition_wakes_refused_total)" \
  "wake-ups $(each rafka_partition_wakeups_total)"
bin/rafka cluster stop | tail -1
