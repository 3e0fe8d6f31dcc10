#!/usr/bin/env bash
# Apache Kafka 4.3.1 and Rafka side by side on this machine (run as `bin/rafka bench kafka [options]`).
#
# One system after the other, each on a fresh 3-node cluster on 127.0.0.1 with a topic of P partitions, RF 3:
#   1. warm-up: W records as fast as possible (not reported)
#   2. acks=all throughput: N records as fast as possible
#   3. fixed rate: R records/s for S seconds, latency p50/p99/p99.9
#   4. one consumer reads every record of the topic once (with --consumer-warmup: a first read, not reported,
#      then the measured one, so the brokers' read path is as warm as their write path)
# Kafka runs from its Maven Central jars (bench/kafka/pom.xml, fetched into bench/kafka/target/lib when missing)
# with its own ProducerPerformance / ConsumerPerformance; Rafka runs `bin/rafka cluster` and `bin/rafka perf`,
# whose producer has the same semantics (idempotent, acks=all, linger 5 ms, 16 KiB batches, 5 in flight).
# For every run it records the CPU time of each broker process and of everything else on the machine, the bytes
# the brokers wrote to storage (/proc/PID/io write_bytes: write amplification) and Rafka's Raft elections (term
# increments in the brokers' /status). Before each cluster starts it waits for a quiet machine (load1 below
# --quiet-load and CPU busy below --quiet-cpu %, at most --quiet-wait s).
# Prints one table at the end, also written to bench/kafka/target/run/result-*.md. Everything it starts is
# stopped on exit, failure or Ctrl-C.
#
# Options (defaults in brackets):
#   --records N [1000000]  --record-size S [1024]  --partitions P [6]  --warmup W [200000]
#   --rate R [5000]  --rate-seconds S [30]  --skip-kafka | --skip-rafka
#   --kafka-fsync            Kafka topic with flush.messages=1 (fsync per message), as Rafka fsyncs before acks
#   --consumer-warmup        each system's consumer reads the topic once, unmeasured, before the measured read
#   --quiet-load L [1.0]  --quiet-cpu PERCENT [10]  --quiet-wait SECONDS [180]
# Ports: Kafka 19092/19093, 19102/19103, 19112/19113; Rafka RAFKA_PORT_BASE=29000 (29192..29395) unless
# RAFKA_BENCH_PORT_BASE says otherwise. RAFKA_HEAP_OPTS applies to the Rafka brokers as in `bin/rafka cluster`.
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# usage, log, http_get, port_open
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
KAFKA_VERSION=4.3.1
KAFKA_LIB="$ROOT/bench/kafka/target/lib"
WORK="$ROOT/bench/kafka/target/run"
TOPIC=bench
RECORDS=1000000 RECORD_SIZE=1024 PARTITIONS=6 WARMUP=200000 RATE=5000 RATE_SECONDS=30
SKIP_KAFKA=0 SKIP_RAFKA=0 KAFKA_FSYNC=0 CONSUMER_WARMUP=0 QUIET_LOAD=1.0 QUIET_CPU=10 QUIET_WAIT=180
KAFKA_NODES=(1 2 3)
RAFKA_BASE="${RAFKA_BENCH_PORT_BASE:-29000}"
CLK_TCK="$(getconf CLK_TCK)"
COMMAND_LINE="bin/rafka bench kafka $*"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --records) RECORDS="$2"; shift 2 ;;
    --record-size) RECORD_SIZE="$2"; shift 2 ;;
    --partitions) PARTITIONS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --rate-seconds) RATE_SECONDS="$2"; shift 2 ;;
    --skip-kafka) SKIP_KAFKA=1; shift ;;
    --skip-rafka) SKIP_RAFKA=1; shift ;;
    --kafka-fsync) KAFKA_FSYNC=1; shift ;;
    --consumer-warmup) CONSUMER_WARMUP=1; shift ;;
    --quiet-load) QUIET_LOAD="$2"; shift 2 ;;
    --quiet-cpu) QUIET_CPU="$2"; shift 2 ;;
    --quiet-wait) QUIET_WAIT="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench kafka: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for v in RECORDS RECORD_SIZE PARTITIONS WARMUP RATE RATE_SECONDS QUIET_WAIT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "bench kafka: ${v,,} must be a whole number, not '${!v}'" >&2; exit 2; }
done
RATE_RECORDS=$(( RATE * RATE_SECONDS ))
TOTAL_RECORDS=$(( WARMUP + RECORDS + RATE_RECORDS ))

# ---------------------------------------------------------------------------------------------------------------
# Processes we started, and stopping them on every exit path.

KAFKA_PIDS=()
TOOL_PID=""
TAIL_PID=""
RAFKA_STARTED=0

stop_pid() {
  local pid="$1" waited=0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if (( waited++ == 300 )); then
      log "pid $pid still running after 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.1
  done
}

# All three at once: stopped one by one, the last ones wait for a controller quorum that is gone. The data is
# thrown away, so a broker still shutting down after 20 s is killed.
stop_kafka() {
  local pid waited=0
  for pid in "${KAFKA_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${KAFKA_PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
      if (( waited++ == 200 )); then
        log "Kafka still running after 20 s; killing it"
        kill -KILL "${KAFKA_PIDS[@]}" 2>/dev/null || true
      fi
      sleep 0.1
    done
  done
  KAFKA_PIDS=()
}

stop_rafka() {
  if (( RAFKA_STARTED )); then
    RAFKA_STARTED=0
    bin/rafka cluster stop >&2 || bin/rafka cluster kill >&2 || true
  fi
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [[ -n "$TOOL_PID" ]] && stop_pid "$TOOL_PID"
  [[ -n "$TAIL_PID" ]] && kill "$TAIL_PID" 2>/dev/null
  if [[ ${#KAFKA_PIDS[@]} -gt 0 ]]; then
    log "stopping Kafka"
    stop_kafka
  fi
  if (( RAFKA_STARTED )); then
    log "stopping Rafka"
    stop_rafka
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------------------------
# CPU accounting (clock ticks) from /proc.

# utime + stime of one process; 0 when it is gone.
proc_ticks() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  local -a f
  read -r -a f <<<"${stat##*) }"
  echo $(( f[11] + f[12] ))
}

# Bytes a process caused to be written to storage (/proc/PID/io write_bytes: counted when it dirties a page, so a
# page dirtied again after an fsync counts again, as the disk writes it again); 0 when it is gone.
proc_write_bytes() {
  awk '/^write_bytes:/ { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/io" 2>/dev/null || echo 0
}

# CPU of this script's waited-for children (the perf tools): cutime + cstime of $$.
children_ticks() {
  local stat
  stat="$(cat "/proc/$$/stat")"
  local -a f
  read -r -a f <<<"${stat##*) }"
  echo $(( f[13] + f[14] ))
}

# Busy time of the whole machine: user + nice + system + irq + softirq + steal (guest is inside user).
machine_ticks() {
  local cpu user nice system idle iowait irq softirq steal rest
  read -r cpu user nice system idle iowait irq softirq steal rest </proc/stat
  echo $(( user + nice + system + irq + softirq + steal ))
}

seconds_of() {
  awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'
}

rafka_port() {
  echo $(( RAFKA_BASE + ${1}9${2} ))
}

# Sum over the topic's partitions of the highest Raft term any node reports: it grows by one per election.
rafka_terms() {
  local n line sum=0
  local -A max=()
  for n in 1 2 3; do
    while IFS= read -r line; do
      if [[ "$line" =~ \"topic\":\ \"$TOPIC\",\ \"partition\":\ ([0-9]+),.*\"leader_epoch\":\ ([0-9]+) ]]; then
        if (( BASH_REMATCH[2] > ${max[${BASH_REMATCH[1]}]:-0} )); then
          max[${BASH_REMATCH[1]}]="${BASH_REMATCH[2]}"
        fi
      fi
    done < <(http_get "$(rafka_port "$n" 5)" /status 2>/dev/null || true)
  done
  for n in "${max[@]}"; do
    sum=$(( sum + n ))
  done
  echo "$sum"
}

# Quiet = load1 below --quiet-load and the machine's CPU busy below --quiet-cpu % over the last 5 s (load1
# alone lags by a minute and counts processes waiting for the disk). Waits at most --quiet-wait seconds.
wait_quiet() {
  local start=$SECONDS load busy0 busy
  while true; do
    busy0="$(machine_ticks)"
    sleep 5
    busy="$(awk -v b="$(( $(machine_ticks) - busy0 ))" -v hz="$CLK_TCK" -v n="$(nproc)" \
        'BEGIN { printf "%.1f", 100 * b / hz / 5 / n }')"
    load="$(cut -d' ' -f1 /proc/loadavg)"
    if awk -v l="$load" -v t="$QUIET_LOAD" -v b="$busy" -v c="$QUIET_CPU" 'BEGIN { exit !(l < t && b < c) }'; then
      log "machine quiet: load1 $load < $QUIET_LOAD, CPU busy $busy % < $QUIET_CPU %"
      QUIET_NOTES+=("$1: load1 $load, CPU busy $busy % before start (quiet)")
      return
    fi
    if (( SECONDS - start >= QUIET_WAIT )); then
      log "WARNING: not quiet after ${QUIET_WAIT} s (load1 $load, CPU busy $busy %); going on (figures may suffer)"
      QUIET_NOTES+=("$1: load1 $load, CPU busy $busy % before start: NOT quiet after waiting ${QUIET_WAIT} s")
      return
    fi
    log "waiting for a quiet machine: load1 $load (< $QUIET_LOAD wanted), CPU busy $busy % (< $QUIET_CPU wanted)," \
        "$(( SECONDS - start )) s of at most $QUIET_WAIT"
  done
}
QUIET_NOTES=()

# ---------------------------------------------------------------------------------------------------------------
# One measured run: CPU before/after, the tool's output on stderr as it goes and in a log file.

declare -A R=()   # results: R[system.run.what]

# run_tool SYSTEM RUN RECORDS LOG BROKER_PIDS -- COMMAND...
run_tool() {
  local system="$1" run="$2" records="$3" logfile="$4" pids="$5"
  shift 6
  local -a broker_pids
  read -r -a broker_pids <<<"$pids"
  local -a before=() written_before=()
  local pid t0 busy0 child0 terms0=0
  for pid in "${broker_pids[@]}"; do
    before+=("$(proc_ticks "$pid")")
    written_before+=("$(proc_write_bytes "$pid")")
  done
  [[ "$system" == rafka ]] && terms0="$(rafka_terms)"
  t0="$(date +%s%N)"; busy0="$(machine_ticks)"; child0="$(children_ticks)"
  : >"$logfile"  # emptied before tail opens it: a previous run's log must not be shown again
  "$@" >"$logfile" 2>&1 &
  TOOL_PID=$!
  tail -n +1 -f --pid="$TOOL_PID" "$logfile" >&2 &
  TAIL_PID=$!
  local rc=0
  wait "$TOOL_PID" || rc=$?
  TOOL_PID=""
  local t1 busy1 child1 broker=0 written=0 i=0
  t1="$(date +%s%N)"; busy1="$(machine_ticks)"; child1="$(children_ticks)"
  for pid in "${broker_pids[@]}"; do
    broker=$(( broker + $(proc_ticks "$pid") - before[i] ))
    written=$(( written + $(proc_write_bytes "$pid") - written_before[i] ))
    i=$(( i + 1 ))
  done
  wait "$TAIL_PID" 2>/dev/null || true
  TAIL_PID=""
  if (( rc != 0 )); then
    log "$system $run failed (exit $rc); see $logfile"
    exit 1
  fi
  local tool=$(( child1 - child0 )) busy=$(( busy1 - busy0 ))
  local other=$(( busy - broker - tool ))
  (( other < 0 )) && other=0
  local elapsed_ms=$(( (t1 - t0) / 1000000 ))
  local key="$system.$run"
  R[$key.broker_cpu_s]="$(seconds_of "$broker")"
  R[$key.tool_cpu_s]="$(seconds_of "$tool")"
  R[$key.other_cpu_s]="$(seconds_of "$other")"
  R[$key.other_pct]="$(awk -v o="$other" -v hz="$CLK_TCK" -v ms="$elapsed_ms" -v n="$(nproc)" \
      'BEGIN { printf "%.1f", 100 * o / hz / (ms / 1000) / n }')"
  R[$key.cpu_per_mib]="$(awk -v b="$broker" -v hz="$CLK_TCK" -v n="$records" -v s="$RECORD_SIZE" \
      'BEGIN { printf "%.3f", b / hz / (n * s / 1048576) }')"
  # Disk bytes per payload byte per replica: what all brokers wrote over records x size x 3 replicas.
  R[$key.write_amp]="$(awk -v w="$written" -v n="$records" -v s="$RECORD_SIZE" 'BEGIN { printf "%.2f", w / (n * s * 3) }')"
  if [[ "$system" == rafka ]]; then
    R[$key.elections]=$(( $(rafka_terms) - terms0 ))
  fi
  log "$system $run: ${elapsed_ms} ms; CPU: brokers ${R[$key.broker_cpu_s]} s (${R[$key.cpu_per_mib]} s per MiB)," \
      "${R[$key.write_amp]} disk bytes per payload byte per replica," \
      "tool ${R[$key.tool_cpu_s]} s, other processes ${R[$key.other_cpu_s]} s (${R[$key.other_pct]} % of the machine)" \
      "${R[$key.elections]:+; Raft elections ${R[$key.elections]}}"
}

# Reads "N records sent, X records/sec (Y MB/sec), ... P50 ms 50th, ... P99 ms 99th, P999 ms 99.9th." from a log.
parse_producer() {
  local key="$1" logfile="$2" line
  line="$(grep -E 'records sent, .* ms 99\.9th' "$logfile" | tail -n 1)"
  [[ -n "$line" ]] || { log "no result line in $logfile"; exit 1; }
  [[ "$line" =~ ^([0-9]+)\ records\ sent,\ ([0-9.]+)\ records/sec\ \(([0-9.]+)\ MB/sec\),\ ([0-9.]+)\ ms\ avg.*,\ ([0-9.]+)\ ms\ max\ latency,\ ([0-9]+)\ ms\ 50th,\ ([0-9]+)\ ms\ 95th,\ ([0-9]+)\ ms\ 99th,\ ([0-9]+)\ ms\ 99\.9th ]] \
    || { log "cannot read: $line"; exit 1; }
  R[$key.records]="${BASH_REMATCH[1]}"
  R[$key.rec_s]="$(printf '%.0f' "${BASH_REMATCH[2]}")"
  R[$key.mb_s]="${BASH_REMATCH[3]}"
  R[$key.avg]="${BASH_REMATCH[4]}"
  R[$key.max]="$(printf '%.0f' "${BASH_REMATCH[5]}")"
  R[$key.p50]="${BASH_REMATCH[6]}"
  R[$key.p99]="${BASH_REMATCH[8]}"
  R[$key.p999]="${BASH_REMATCH[9]}"
}

# ---------------------------------------------------------------------------------------------------------------
# Kafka.

KAFKA_TOOL_JAVA=(java -Xmx512M "-Dlog4j2.configurationFile=$ROOT/bench/kafka/log4j2-tools.properties" -cp "$KAFKA_LIB/*")
# kafka-server-start.sh's JVM settings, with the 1 GiB heap this benchmark gives every broker.
KAFKA_BROKER_JAVA=(java -Xms1g -Xmx1g -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$ROOT/bench/kafka/log4j2-broker.properties" -cp "$KAFKA_LIB/*")
KAFKA_BOOTSTRAP=127.0.0.1:19092,127.0.0.1:19102,127.0.0.1:19112

# Node N's client port (KIND 0) or controller port (KIND 1): 19092/19093, 19102/19103, 19112/19113.
kafka_port() {
  echo $(( 19092 + ($1 - 1) * 10 + $2 ))
}

fetch_kafka() {
  local jar
  for jar in kafka_2.13 kafka-tools kafka-clients; do
    if [[ ! -f "$KAFKA_LIB/$jar-$KAFKA_VERSION.jar" ]]; then
      log "fetching Apache Kafka $KAFKA_VERSION's jars from Maven Central into bench/kafka/target/lib (benchmark only)"
      mvn -B -q -Dstyle.color=never -f bench/kafka/pom.xml dependency:copy-dependencies >&2
      return
    fi
  done
}

write_kafka_config() {
  local n="$1" dir="$2" voters="$3"
  cat >"$dir/server-$n.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(kafka_port "$n" 0),CONTROLLER://127.0.0.1:$(kafka_port "$n" 1)
advertised.listeners=PLAINTEXT://127.0.0.1:$(kafka_port "$n" 0)
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/node-$n
auto.create.topics.enable=false
# The consumer's group needs __consumer_offsets: one partition is enough for one reader.
offsets.topic.replication.factor=3
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
group.initial.rebalance.delay.ms=0
PROPS
}

start_kafka() {
  local dir="$WORK/kafka" n voters="" cluster_id waited
  rm -rf "$dir"
  mkdir -p "$dir"
  for n in "${KAFKA_NODES[@]}"; do
    voters="${voters:+$voters,}$n@127.0.0.1:$(kafka_port "$n" 1)"
  done
  cluster_id="$("${KAFKA_TOOL_JAVA[@]}" kafka.tools.StorageTool random-uuid)"
  for n in "${KAFKA_NODES[@]}"; do
    write_kafka_config "$n" "$dir" "$voters"
    "${KAFKA_TOOL_JAVA[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server-$n.properties" \
      >"$dir/format-$n.log" 2>&1 || { log "formatting Kafka node $n failed:"; cat "$dir/format-$n.log" >&2; exit 1; }
  done
  log "starting Kafka $KAFKA_VERSION: 3 KRaft nodes (broker+controller), logs in $dir/node-N.log"
  for n in "${KAFKA_NODES[@]}"; do
    "${KAFKA_BROKER_JAVA[@]}" kafka.Kafka "$dir/server-$n.properties" >"$dir/node-$n.log" 2>&1 </dev/null &
    KAFKA_PIDS+=($!)
    disown $!  # no "Killed" job report from bash when stop_kafka has to kill it
  done
  for n in "${KAFKA_NODES[@]}"; do
    waited=0
    until port_open "$(kafka_port "$n" 0)"; do
      kill -0 "${KAFKA_PIDS[n-1]}" 2>/dev/null || { log "Kafka node $n exited:"; tail -n 20 "$dir/node-$n.log" >&2; exit 1; }
      (( waited++ < 240 )) || { log "Kafka node $n not listening after 120 s"; exit 1; }
      sleep 0.5
    done
  done
  local config=(--config min.insync.replicas=2)
  (( KAFKA_FSYNC )) && config+=(--config flush.messages=1)
  waited=0
  until "${KAFKA_TOOL_JAVA[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" --create \
      --topic "$TOPIC" --partitions "$PARTITIONS" --replication-factor 3 "${config[@]}" >"$dir/topic.log" 2>&1; do
    (( waited++ < 30 )) || { log "creating the Kafka topic failed:"; cat "$dir/topic.log" >&2; exit 1; }
    sleep 2
  done
  log "Kafka topic $TOPIC: $PARTITIONS partitions, RF 3, ${config[*]//--config /}"
}

kafka_produce() {
  local run="$1" records="$2" throughput="$3"
  run_tool kafka "$run" "$records" "$WORK/kafka-$run.log" "${KAFKA_PIDS[*]}" -- \
    "${KAFKA_TOOL_JAVA[@]}" org.apache.kafka.tools.ProducerPerformance --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --topic "$TOPIC" --num-records "$records" --record-size "$RECORD_SIZE" --throughput "$throughput" \
    --command-property acks=all linger.ms=5 batch.size=16384 max.in.flight.requests.per.connection=5 \
    enable.idempotence=true
  parse_producer "kafka.$run" "$WORK/kafka-$run.log"
}

run_kafka() {
  fetch_kafka
  wait_quiet kafka
  start_kafka
  log "Kafka warm-up: $WARMUP records"
  kafka_produce warmup "$WARMUP" -1
  log "Kafka acks=all throughput: $RECORDS records"
  kafka_produce throughput "$RECORDS" -1
  log "Kafka fixed rate: $RATE records/s for $RATE_SECONDS s"
  kafka_produce fixed "$RATE_RECORDS" "$RATE"
  if (( CONSUMER_WARMUP )); then
    log "Kafka consumer warm-up: $TOTAL_RECORDS records (not reported)"
    run_tool kafka consume-warmup "$TOTAL_RECORDS" "$WORK/kafka-consume-warmup.log" "${KAFKA_PIDS[*]}" -- \
      "${KAFKA_TOOL_JAVA[@]}" org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$KAFKA_BOOTSTRAP" \
      --topic "$TOPIC" --num-records "$TOTAL_RECORDS" --timeout 60000 --group bench-warmup
  fi
  log "Kafka consumer: $TOTAL_RECORDS records"
  run_tool kafka consume "$TOTAL_RECORDS" "$WORK/kafka-consume.log" "${KAFKA_PIDS[*]}" -- \
    "${KAFKA_TOOL_JAVA[@]}" org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --topic "$TOPIC" --num-records "$TOTAL_RECORDS" --timeout 60000 --group bench-reader
  # start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms,
  # fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec: fetch.MB.sec leaves out the group join, which Rafka has no part of.
  local line
  line="$(grep -A1 '^start.time' "$WORK/kafka-consume.log" | tail -n 1)"
  R[kafka.consume.records]="$(echo "$line" | awk -F', *' '{ print $5 }')"
  R[kafka.consume.mb_s]="$(echo "$line" | awk -F', *' '{ printf "%.1f", $9 }')"
  [[ -n "${R[kafka.consume.mb_s]}" ]] || { log "no ConsumerPerformance result in $WORK/kafka-consume.log"; exit 1; }
  log "stopping Kafka"
  stop_kafka
  rm -rf "$WORK/kafka/node-"{1,2,3}  # ~3 GB per million records; the logs stay
}

# ---------------------------------------------------------------------------------------------------------------
# Rafka.

RAFKA_BOOTSTRAP="127.0.0.1:$(rafka_port 1 2)"

rafka_pids() {
  local n pids=()
  for n in 1 2 3; do
    pids+=("$(cat "$RAFKA_CLUSTER_DIR/node-$n.pid")")
  done
  echo "${pids[*]}"
}

# Waits (up to 70 s: the brokers hand leaderships back every 30 s) until every partition is led by its preferred
# replica, so that no planned leader move lands inside a measured run.
await_preferred_leaders() {
  local waited=0 out
  while true; do
    out="$(bin/rafka topic describe "$TOPIC" --bootstrap "$RAFKA_BOOTSTRAP" 2>/dev/null || true)"
    if [[ "$(grep -c $'\tPartition: ' <<<"$out")" == "$PARTITIONS" ]] \
        && ! awk -F'\t' '/\tPartition: / { split($4, l, ": "); split($5, r, ": "); split(r[2], rs, ",");
                                          if (l[2] != rs[1]) bad = 1 } END { exit !bad }' <<<"$out"; then
      log "Rafka: every partition is led by its preferred replica"
      return
    fi
    (( waited++ < 14 )) || { log "Rafka: leaders still not the preferred replicas after 70 s; going on"; return; }
    sleep 5
  done
}

start_rafka() {
  export RAFKA_CLUSTER_DIR="$WORK/rafka-cluster" RAFKA_PORT_BASE="$RAFKA_BASE"
  rm -rf "$RAFKA_CLUSTER_DIR"
  log "starting Rafka: bin/rafka cluster start (ports $(rafka_port 1 2)..$(rafka_port 3 5), data in $RAFKA_CLUSTER_DIR)"
  RAFKA_STARTED=1
  bin/rafka cluster start >&2
  # Raft needs a majority of the 3 replicas for every commit: what min.insync.replicas=2 asks of Kafka.
  bin/rafka topic create "$TOPIC" --partitions "$PARTITIONS" --replication-factor 3 --bootstrap "$RAFKA_BOOTSTRAP" >&2
  await_preferred_leaders
}

rafka_produce() {
  local run="$1" records="$2" throughput="$3"
  run_tool rafka "$run" "$records" "$WORK/rafka-$run.log" "$(rafka_pids)" -- \
    bin/rafka perf produce --bootstrap "$RAFKA_BOOTSTRAP" --topic "$TOPIC" --num-records "$records" \
    --record-size "$RECORD_SIZE" --throughput "$throughput" --linger-ms 5 --batch-size 16384 --max-in-flight 5
  parse_producer "rafka.$run" "$WORK/rafka-$run.log"
}

run_rafka() {
  log "building Rafka if needed"
  bin/rafka perf produce --help >/dev/null
  wait_quiet rafka
  start_rafka
  log "Rafka warm-up: $WARMUP records"
  rafka_produce warmup "$WARMUP" -1
  log "Rafka acks=all throughput: $RECORDS records"
  rafka_produce throughput "$RECORDS" -1
  log "Rafka fixed rate: $RATE records/s for $RATE_SECONDS s"
  rafka_produce fixed "$RATE_RECORDS" "$RATE"
  if (( CONSUMER_WARMUP )); then
    log "Rafka consumer warm-up: $TOTAL_RECORDS records (not reported)"
    run_tool rafka consume-warmup "$TOTAL_RECORDS" "$WORK/rafka-consume-warmup.log" "$(rafka_pids)" -- \
      bin/rafka perf consume --bootstrap "$RAFKA_BOOTSTRAP" --topic "$TOPIC" --num-records "$TOTAL_RECORDS" --timeout-ms 60000
  fi
  log "Rafka consumer: $TOTAL_RECORDS records"
  run_tool rafka consume "$TOTAL_RECORDS" "$WORK/rafka-consume.log" "$(rafka_pids)" -- \
    bin/rafka perf consume --bootstrap "$RAFKA_BOOTSTRAP" --topic "$TOPIC" --num-records "$TOTAL_RECORDS" --timeout-ms 60000
  local line
  line="$(grep -E 'records consumed, ' "$WORK/rafka-consume.log" | tail -n 1)"
  [[ "$line" =~ ^([0-9]+)\ records\ consumed,\ [0-9.]+\ records/sec\ \(([0-9.]+)\ MB/sec\) ]] \
    || { log "no ConsumePerf result in $WORK/rafka-consume.log"; exit 1; }
  R[rafka.consume.records]="${BASH_REMATCH[1]}"
  R[rafka.consume.mb_s]="$(printf '%.1f' "${BASH_REMATCH[2]}")"
  log "stopping Rafka"
  stop_rafka
  rm -rf "$RAFKA_CLUSTER_DIR/node-"{1,2,3}  # the data; the logs (node-N.log) stay
}

# ---------------------------------------------------------------------------------------------------------------
# The table.

ratio() {
  awk -v k="$1" -v r="$2" 'BEGIN { if (k == "" || r == "" || k + 0 == 0) print "-"; else printf "%.2f", r / k }'
}

row() {
  local label="$1" k="${2:-}" r="${3:-}"
  printf '| %s | %s | %s | %s |\n' "$label" "${k:--}" "${r:--}" "$(ratio "$k" "$r")"
}

report() {
  local mib kafka_sync="without fsync (its default)"
  (( KAFKA_FSYNC )) && kafka_sync="with flush.messages=1 (fsync per message)"
  mib="$(awk -v n="$RECORDS" -v s="$RECORD_SIZE" 'BEGIN { printf "%.0f", n * s / 1048576 }')"
  echo
  echo "Side by side, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'),"
  echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(java -version 2>&1 | head -n 1)"
  echo "Command: $COMMAND_LINE"
  echo "Shape: 3 nodes on 127.0.0.1, topic of $PARTITIONS partitions RF 3; $RECORDS x $RECORD_SIZE B records ($mib MiB)" \
       "after a $WARMUP-record warm-up; fixed rate $RATE rec/s for $RATE_SECONDS s; producers: acks=all, idempotent," \
       "linger 5 ms, 16 KiB batches, 5 in flight; Kafka $kafka_sync, Rafka fsyncs before it acknowledges."
  echo "JVMs: Kafka brokers ${KAFKA_BROKER_JAVA[*]:1:8}; Rafka brokers bin/rafka cluster's" \
       "(RAFKA_HEAP_OPTS=${RAFKA_HEAP_OPTS:-unset, the launcher default})."
  local note
  for note in "${QUIET_NOTES[@]}"; do echo "Quiet check: $note"; done
  echo
  echo "| workload | Kafka | Rafka | Rafka/Kafka |"
  echo "|---|---:|---:|---:|"
  row "acks=all throughput, records/s" "${R[kafka.throughput.rec_s]:-}" "${R[rafka.throughput.rec_s]:-}"
  row "acks=all throughput, MB/s" "${R[kafka.throughput.mb_s]:-}" "${R[rafka.throughput.mb_s]:-}"
  row "fixed $RATE rec/s: achieved records/s" "${R[kafka.fixed.rec_s]:-}" "${R[rafka.fixed.rec_s]:-}"
  row "fixed $RATE rec/s: latency p50, ms (lower is better)" "${R[kafka.fixed.p50]:-}" "${R[rafka.fixed.p50]:-}"
  row "fixed $RATE rec/s: latency p99, ms (lower is better)" "${R[kafka.fixed.p99]:-}" "${R[rafka.fixed.p99]:-}"
  row "fixed $RATE rec/s: latency p99.9, ms (lower is better)" "${R[kafka.fixed.p999]:-}" "${R[rafka.fixed.p999]:-}"
  local consumer="one consumer, MB/s (Kafka: fetch.MB.sec)"
  if (( CONSUMER_WARMUP )); then consumer+=", after an unmeasured read"; fi
  row "$consumer" "${R[kafka.consume.mb_s]:-}" "${R[rafka.consume.mb_s]:-}"
  row "broker CPU s per acknowledged MiB, all brokers, acks=all run (lower is better)" \
      "${R[kafka.throughput.cpu_per_mib]:-}" "${R[rafka.throughput.cpu_per_mib]:-}"
  row "broker CPU s per MiB, fixed-rate run (lower is better)" "${R[kafka.fixed.cpu_per_mib]:-}" "${R[rafka.fixed.cpu_per_mib]:-}"
  row "disk bytes written per payload byte per replica, acks=all run (lower is better)" \
      "${R[kafka.throughput.write_amp]:-}" "${R[rafka.throughput.write_amp]:-}"
  row "disk bytes written per payload byte per replica, fixed-rate run (lower is better)" \
      "${R[kafka.fixed.write_amp]:-}" "${R[rafka.fixed.write_amp]:-}"
  row "other processes' CPU during the acks=all run, % of the machine" "${R[kafka.throughput.other_pct]:-}" \
      "${R[rafka.throughput.other_pct]:-}"
  row "other processes' CPU during the fixed-rate run, % of the machine" "${R[kafka.fixed.other_pct]:-}" \
      "${R[rafka.fixed.other_pct]:-}"
  if [[ -n "${R[rafka.throughput.elections]:-}" ]]; then
    echo "| Raft elections (term increments) during the acks=all / fixed-rate / consumer runs | - |" \
         "${R[rafka.throughput.elections]} / ${R[rafka.fixed.elections]} / ${R[rafka.consume.elections]} | - |"
  fi
  echo
  local system run
  for system in kafka rafka; do
    for run in warmup throughput fixed consume; do
      [[ -n "${R[$system.$run.broker_cpu_s]:-}" ]] || continue
      printf '%s %-10s brokers %7s s CPU, tool %6s s, other processes %6s s (%s %% of the machine)%s\n' \
        "$system" "$run" "${R[$system.$run.broker_cpu_s]}" "${R[$system.$run.tool_cpu_s]}" \
        "${R[$system.$run.other_cpu_s]}" "${R[$system.$run.other_pct]}" \
        "${R[$system.$run.elections]:+, Raft elections ${R[$system.$run.elections]}}"
    done
  done
}

mkdir -p "$WORK"
for port in 19092 19093 19102 19103 19112 19113 $(rafka_port 1 2) $(rafka_port 2 2) $(rafka_port 3 2) \
    $(rafka_port 1 5) $(rafka_port 2 5) $(rafka_port 3 5); do
  if port_open "$port"; then
    log "port $port is in use: another cluster is running (stop it, or set RAFKA_BENCH_PORT_BASE for Rafka)"
    exit 1
  fi
done
log "side by side: $RECORDS x $RECORD_SIZE B, $PARTITIONS partitions, warm-up $WARMUP, fixed $RATE rec/s for $RATE_SECONDS s"
(( SKIP_KAFKA )) || run_kafka
(( SKIP_RAFKA )) || run_rafka
RESULT="$WORK/result-$(date -u +%Y%m%dT%H%M%SZ).md"
report | tee "$RESULT"
log "table written to $RESULT"
