#!/usr/bin/env bash
# Failover of real broker processes (run as `bin/rafka bench failover [options]`).
#
# Starts a 3-node cluster with `bin/rafka cluster start`, creates a topic of P partitions (RF 3) and waits until
# every partition is led by its preferred replica. A probe (io.rafka.client.perf.FailoverProbeMain) writes one
# small record every --interval-ms to each partition (one idempotent acks=all writer per partition, over gRPC to
# the leader; after an error it retries every 5 ms, so the interval does not blur "first ack") and polls every
# broker's /status every 20 ms. Before the first round, and again after each restart, `bin/rafka perf produce`
# writes --warmup records of 1 KiB to another topic, so that the brokers' write paths are compiled (a fresh JVM
# spends its first minute or two compiling, which on a 2-core machine starves the survivors of the next kill), and
# the bench waits until the brokers use less than --settle-cpu % of a core together (at most 120 s). Each round kills
# (kill -9) the broker leading the most partitions (ties rotate), waits until every partition is acknowledged again
# (at most 30 s, else it fails), restarts the node, waits until it is healthy, caught up and the preferred leaders
# are back, then goes on.
# Per round and per partition the killed node led it reports kill -> first ack, split into elect / ready /
# client rediscovery, and the detector's time from the brokers' logs; then p50 / max, and a read-back check of
# every acknowledged record (no loss, no duplicate). Progress on stderr, the table on stdout and in
# bench/failover/target/result-*.md. Everything it starts is stopped on exit, failure or Ctrl-C.
#
# Options (defaults in brackets):  --rounds N [6]  --partitions P [6]  --interval-ms MS [100]  --warmup N [200000]
#   --settle-cpu PERCENT [60]   (--interval-ms 20 --warmup 0 --settle-cpu 1000 is the shape used before 2026-12-03)
# Ports: RAFKA_PORT_BASE=21000 (21192..21395, below the ephemeral port range) unless RAFKA_BENCH_PORT_BASE says otherwise.
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
ROUNDS=6 PARTITIONS=6 TOPIC=failover INTERVAL_MS=100 WARMUP=200000 SETTLE_CPU=60
# Every round starts with each partition led by its preferred replica, so each kill takes the same leaderships.
# The brokers hand leaderships back only to a broker whose share led elsewhere is above this percentage (Kafka's
# leader.imbalance.per.broker.percentage, 10 by default): with --partitions 30, one or two left elsewhere stay there.
export RAFKA_LEADER_IMBALANCE_PER_BROKER_PERCENTAGE="${RAFKA_LEADER_IMBALANCE_PER_BROKER_PERCENTAGE:-0}"
WARMUP_TOPIC=failover-warmup
NODES=(1 2 3)
ACK_TIMEOUT_MS=30000
# The probe is the instrument: C1 only, so that its own compiler does not take the CPU the survivors need right after
# a kill (its C2 thread used 254 ms of a two-core machine in the 1.1 s around the first kill of a run, the survivors'
# compilers 430 ms, when the probe ran with the defaults). RAFKA_PROBE_JAVA_OPTS replaces these options.
PROBE_JAVA_OPTS="${RAFKA_PROBE_JAVA_OPTS:--Xmx256m -XX:TieredStopAtLevel=1}"
WORK="$ROOT/bench/failover/target/run"
COMMAND_LINE="bin/rafka bench failover $*"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --partitions) PARTITIONS="$2"; shift 2 ;;
    --interval-ms) INTERVAL_MS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --settle-cpu) SETTLE_CPU="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench failover: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for v in ROUNDS PARTITIONS INTERVAL_MS SETTLE_CPU; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "bench failover: ${v,,} must be a positive whole number, not '${!v}'" >&2; exit 2; }
done
[[ "$WARMUP" =~ ^[0-9]+$ ]] || { echo "bench failover: warmup must be a whole number, not '$WARMUP'" >&2; exit 2; }
[[ -n "${RAFKA_PROBE_CLASSPATH:-}" ]] || { echo "bench failover: run it as bin/rafka bench failover" >&2; exit 2; }

export RAFKA_PORT_BASE="${RAFKA_BENCH_PORT_BASE:-21000}" RAFKA_CLUSTER_DIR="$WORK/cluster"
BOOTSTRAP="127.0.0.1:$(( RAFKA_PORT_BASE + 192 ))"
PROBE_DIR="$WORK/probe"

port() {
  echo $(( RAFKA_PORT_BASE + ${1}9${2} ))
}

# ---------------------------------------------------------------------------------------------------------------
# What we started, stopped on every exit path.

PROBE_PID=""
CLUSTER_STARTED=0

cleanup() {
  local status=$? waited=0
  trap - EXIT INT TERM
  if [[ -n "$PROBE_PID" ]] && kill -0 "$PROBE_PID" 2>/dev/null; then
    kill -TERM "$PROBE_PID" 2>/dev/null || true
    while kill -0 "$PROBE_PID" 2>/dev/null && (( waited++ < 50 )); do sleep 0.1; done
    kill -KILL "$PROBE_PID" 2>/dev/null || true
  fi
  if (( CLUSTER_STARTED )); then
    log "stopping the cluster"
    bin/rafka cluster stop >&2 || bin/rafka cluster kill >&2 || true
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  log "FAILED: $*"
  exit 1
}

# ---------------------------------------------------------------------------------------------------------------
# The cluster as /status shows it.

# "PARTITION IS_LEADER HIGH_WATERMARK LOG_END_OFFSET" for each partition of the topic node $1 hosts.
node_partitions() {
  local line
  while IFS= read -r line; do
    if [[ "$line" =~ \"topic\":\ \"$TOPIC\",\ \"partition\":\ ([0-9]+),.*\"is_leader\":\ (true|false),.*\"high_watermark\":\ (-?[0-9]+),\ \"log_end_offset\":\ (-?[0-9]+) ]]; then
      echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]}"
    fi
  done < <(http_get "$(port "$1" 5)" /status 2>/dev/null || true)
}

# The partitions node $1 leads, comma-separated.
led_by() {
  node_partitions "$1" | awk '$2 == "true" { printf "%s%s", sep, $1; sep = "," }'
}

declare -A PREFERRED=()

# The first replica of each partition, from `topic describe` (assignments do not change during the run).
load_preferred() {
  local out line
  out="$(bin/rafka topic describe "$TOPIC" --bootstrap "$BOOTSTRAP")"
  while IFS= read -r line; do
    [[ "$line" =~ Partition:\ ([0-9]+).*Replicas:\ ([0-9]+) ]] || continue
    PREFERRED[${BASH_REMATCH[1]}]="${BASH_REMATCH[2]}"
  done <<<"$out"
  [[ ${#PREFERRED[@]} == "$PARTITIONS" ]] || fail "topic describe listed ${#PREFERRED[@]} partitions, not $PARTITIONS"
}

# Until every partition is led by its preferred replica (at most 70 s from when the restarted node is healthy: the
# brokers hand leaderships back every 30 s, to brokers that serve).
await_preferred_leaders() {
  local start n p ok
  start="$(now_ms)"
  while true; do
    ok=1
    for p in "${!PREFERRED[@]}"; do
      n="${PREFERRED[$p]}"
      [[ ",$(led_by "$n")," == *",$p,"* ]] || { ok=0; break; }
    done
    if (( ok )); then
      log "every partition is led by its preferred replica ($(( $(now_ms) - start )) ms)"
      return
    fi
    (( $(now_ms) - start < 70000 )) || fail "leaders still not the preferred replicas after 70 s"
    sleep 0.5
  done
}

# Until node $1 holds, on every partition, what was committed when it became healthy: its log ends at least where the
# leaders' high watermarks were then (a partition whose leader was not known then: where it was when first seen),
# Kafka's in-sync test against a target that does not move (at most 60 s). Not the node's high watermark: a follower
# learns that an entry committed only from the leader's next message, so its high watermark trails however caught
# up its log is (up to a heartbeat on an idle partition). Polled every 50 ms; the first poll may already succeed.
await_caught_up() {
  local node="$1" start n p lead hw leo behind times
  declare -A target=() own_leo=() in_sync=()
  start="$(now_ms)"
  while true; do
    if (( ${#target[@]} < PARTITIONS )); then
      # The node itself counts: the preferred-leader election may hand it a partition while we wait.
      for n in "${NODES[@]}"; do
        while read -r p lead hw leo; do
          [[ "$lead" == true && -z "${target[$p]:-}" ]] && target[$p]="$hw"
        done < <(node_partitions "$n")
      done
    fi
    own_leo=()
    while read -r p lead hw leo; do
      own_leo[$p]="$leo"
    done < <(node_partitions "$node")
    behind=0
    for p in $(seq 0 $(( PARTITIONS - 1 ))); do
      if [[ -n "${own_leo[$p]:-}" && -n "${target[$p]:-}" ]] && (( own_leo[$p] >= target[$p] )); then
        [[ -n "${in_sync[$p]:-}" ]] || in_sync[$p]=$(( $(now_ms) - start ))
      else
        behind=$(( behind + 1 ))
      fi
    done
    if (( behind == 0 )); then
      times=""
      for p in $(seq 0 $(( PARTITIONS - 1 ))); do
        times="$times p$p=${in_sync[$p]}"
      done
      log "node $node in sync per partition, ms after healthy:$times"
      echo $(( $(now_ms) - start ))
      return
    fi
    (( $(now_ms) - start < 60000 )) || { log "WARNING: node $node still behind on $behind partitions after 60 s"; echo -1; return; }
    sleep 0.05
  done
}

# Until every partition has an acknowledgement later than $1 (ms) from another node than $2 (an answer of the
# killed node may still arrive just after the kill); prints how long it took. Fails after 30 s.
await_acks_after() {
  local since="$1" killed="${2:-}" p t node missing
  while true; do
    missing=""
    while read -r p t node; do
      (( t > since )) && [[ "$node" != "$killed" ]] || missing="$missing $p"
    done <"$PROBE_DIR/last-ack"
    [[ -z "$missing" ]] && { echo $(( $(now_ms) - since )); return; }
    kill -0 "$PROBE_PID" 2>/dev/null || fail "the probe exited; see $WORK/probe.err"
    (( $(now_ms) - since < ACK_TIMEOUT_MS )) \
        || fail "partitions$missing not acknowledged within $(( ACK_TIMEOUT_MS / 1000 )) s (probe log $WORK/probe.err, broker logs $RAFKA_CLUSTER_DIR)"
    sleep 0.02
  done
}

# rafka_raft_follower_refusals_total summed over the live brokers: appends followers refused as not fitting their
# logs. A restarted broker counts from 0, so read before a restart (the node is down, 0) and after its catch-up.
follower_refusals() {
  local n sum=0 v
  for n in "${NODES[@]}"; do
    v="$(http_get "$(port "$n" 5)" /metrics 2>/dev/null | awk '/^rafka_raft_follower_refusals_total /{ printf "%d", $2 }')" \
        || v=""
    sum=$(( sum + ${v:-0} ))
  done
  echo "$sum"
}

# The first "refuses connections" line of the live nodes' logs after $1 (ms), as ms; -1 when none.
detector_ms() {
  local since="$1" killed="$2" n first=-1 stamp t
  for n in "${NODES[@]}"; do
    [[ "$n" == "$killed" ]] && continue
    while read -r stamp; do
      t="$(date -d "$stamp" +%s%3N 2>/dev/null)" || continue
      if (( t >= since )) && (( first < 0 || t < first )); then first="$t"; fi
    done < <(grep -a "refuses connections" "$RAFKA_CLUSTER_DIR/node-$n.log" 2>/dev/null | cut -c1-23 || true)
  done
  echo "$first"
}

# Until no socket (a client's, in TIME-WAIT after a run) holds one of the ports as its local port: the brokers
# could not bind it. These ports lie in Linux's ephemeral range (32768-60999). At most 90 s; needs `ss`.
await_ports_free() {
  local start held
  command -v ss >/dev/null || return 0
  start="$(now_ms)"
  while true; do
    held="$(ss -tanH 2>/dev/null | awk -v ports=" $* " '{ n = split($4, a, ":"); if (index(ports, " " a[n] " ")) print a[n] }' \
        | sort -u | tr '\n' ' ')"
    [[ -z "$held" ]] && return 0
    (( $(now_ms) - start < 90000 )) || fail "ports $held still held by other sockets after 90 s"
    log "waiting for ports $held to be released (sockets in TIME-WAIT)"
    sleep 5
  done
}

# CPU the live brokers used together over $1 seconds, in % of one core.
brokers_cpu() {
  local n pid pids=() before=0 after=0 hz
  hz="$(getconf CLK_TCK)"
  for n in "${NODES[@]}"; do
    pid="$(cat "$RAFKA_CLUSTER_DIR/node-$n.pid" 2>/dev/null)" && [[ -r "/proc/$pid/stat" ]] && pids+=("$pid")
  done
  ticks() { local p t=0; for p in "${pids[@]}"; do t=$(( t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0) )); done; echo "$t"; }
  before="$(ticks)"
  sleep "$1"
  after="$(ticks)"
  echo $(( (after - before) * 100 / hz / $1 ))
}

# Writes --warmup records to the warm-up topic as fast as they go, then waits until the brokers use less than
# --settle-cpu % of a core together over 5 s (the probe's writes go on), at most 120 s.
warm_up() {
  local start cpu
  if (( WARMUP > 0 )); then
    log "warm-up: $WARMUP records of 1 KiB to $WARMUP_TOPIC"
    bin/rafka perf produce --bootstrap "$BOOTSTRAP" --topic "$WARMUP_TOPIC" --num-records "$WARMUP" --record-size 1024 \
        --throughput -1 >"$WORK/warmup.log" 2>&1 || fail "the warm-up failed; see $WORK/warmup.log"
  fi
  start="$(now_ms)"
  while true; do
    cpu="$(brokers_cpu 5)"
    if (( cpu < SETTLE_CPU )); then
      log "brokers settled: ${cpu} % of a core together over 5 s"
      return
    fi
    if (( $(now_ms) - start > 120000 )); then
      log "WARNING: brokers still at ${cpu} % of a core together after 120 s; going on"
      return
    fi
  done
}

# ---------------------------------------------------------------------------------------------------------------

run_round() {
  local round="$1" i n best="" best_count=-1 led count pid cpu kill_ms acked_after detect start healthy caught refused
  # Ties (with preferred leaders every node leads as many) go to the next node each round, so the kills rotate.
  for i in "${!NODES[@]}"; do
    n="${NODES[$(( (round - 1 + i) % ${#NODES[@]} ))]}"
    led="$(led_by "$n")"
    count=0
    [[ -n "$led" ]] && count=$(( $(tr -cd ',' <<<"$led" | wc -c) + 1 ))
    if (( count > best_count )); then best="$n"; best_count="$count"; fi
  done
  led="$(led_by "$best")"
  pid="$(cat "$RAFKA_CLUSTER_DIR/node-$best.pid")"
  cpu="$(brokers_cpu 2)"
  kill_ms="$(now_ms)"
  kill -KILL "$pid"
  log "round $round: kill -9 of node $best (pid $pid), leader of partitions $led; the brokers used $cpu % of a core" \
      "together in the 2 s before"
  acked_after="$(await_acks_after "$kill_ms" "$best")"
  log "round $round: every partition acknowledged again ${acked_after} ms after the kill"
  sleep 1  # the detector's log line is written by then
  detect="$(detector_ms "$kill_ms" "$best")"
  start="$(now_ms)"
  refused="$(follower_refusals)"
  bin/rafka cluster start "$best" >&2
  healthy=$(( $(now_ms) - start ))
  caught="$(await_caught_up "$best")"
  refused=$(( $(follower_refusals) - refused ))
  log "round $round: node $best healthy ${healthy} ms after its restart, caught up ${caught} ms later;" \
      "followers refused $refused appends meanwhile"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$best" "$kill_ms" "$detect" "$led" "$healthy" "$caught" \
      "$refused" >>"$PROBE_DIR/kills.tsv"
  await_preferred_leaders
  await_acks_after "$(now_ms)" >/dev/null
  (( round == ROUNDS )) || warm_up  # the restarted JVM is cold: warm it before the next kill
}

main() {
  local n p result status=0
  local ports
  ports="$(for n in "${NODES[@]}"; do port "$n" 2; port "$n" 3; port "$n" 4; port "$n" 5; done)"
  for p in $ports; do
    ! port_open "$p" || fail "port $p is in use (another cluster on RAFKA_PORT_BASE=$RAFKA_PORT_BASE?)"
  done
  await_ports_free $ports
  rm -rf "$WORK"
  mkdir -p "$PROBE_DIR"
  log "starting the cluster: bin/rafka cluster start (ports $(port 1 2)..$(port 3 5), data in $RAFKA_CLUSTER_DIR)"
  CLUSTER_STARTED=1
  bin/rafka cluster start >&2
  bin/rafka topic create "$TOPIC" --partitions "$PARTITIONS" --replication-factor 3 --bootstrap "$BOOTSTRAP" >&2
  if (( WARMUP > 0 )); then
    bin/rafka topic create "$WARMUP_TOPIC" --partitions 6 --replication-factor 3 --bootstrap "$BOOTSTRAP" >&2
  fi
  load_preferred
  log "preferred leaders (partition:node): $(for p in "${!PREFERRED[@]}"; do printf '%s:%s ' "$p" "${PREFERRED[$p]}"; done)"
  # shellcheck disable=SC2086  # word splitting of the options is wanted
  java $PROBE_JAVA_OPTS -cp "$RAFKA_PROBE_CLASSPATH" io.rafka.client.perf.FailoverProbeMain --bootstrap "$BOOTSTRAP" \
      --topic "$TOPIC" --partitions "$PARTITIONS" --interval-ms "$INTERVAL_MS" --status-interval-ms 20 --dir "$PROBE_DIR" \
      --nodes "1=127.0.0.1:$(port 1 2):$(port 1 5),2=127.0.0.1:$(port 2 2):$(port 2 5),3=127.0.0.1:$(port 3 2):$(port 3 5)" \
      --result "$WORK/result.md" \
      --title "bin/rafka bench failover: $COMMAND_LINE ($ROUNDS rounds, $PARTITIONS partitions RF 3, a write per partition every $INTERVAL_MS ms, warm-ups of $WARMUP records, $(date -u '+%Y-%m-%d %H:%M UTC'))" \
      >"$WORK/probe.out" 2>"$WORK/probe.err" &
  PROBE_PID=$!
  touch "$PROBE_DIR/kills.tsv"
  local waited=0
  until [[ -f "$PROBE_DIR/last-ack" ]]; do
    kill -0 "$PROBE_PID" 2>/dev/null || fail "the probe exited; see $WORK/probe.err"
    (( waited++ < 600 )) || fail "the probe did not start writing within 60 s"
    sleep 0.1
  done
  await_acks_after "$(now_ms)" >/dev/null
  # A new topic's partitions start hibernated, without a leader, until their first write: the probe's writes
  # wake them, wherever the wake-up elects a leader, and the brokers hand leaderships to the preferred replicas.
  await_preferred_leaders
  await_acks_after "$(now_ms)" >/dev/null
  warm_up
  log "probe writing to every partition; steady state for 2 s"
  sleep 2
  for round in $(seq 1 "$ROUNDS"); do
    run_round "$round"
    sleep 2
  done
  touch "$PROBE_DIR/stop"
  log "reading every partition back"
  wait "$PROBE_PID" || status=$?
  PROBE_PID=""
  cat "$WORK/probe.out"
  result="$ROOT/bench/failover/target/result-$(date -u +%Y%m%d-%H%M%S).md"
  [[ -f "$WORK/result.md" ]] && cp "$WORK/result.md" "$result" && log "result written to $result"
  (( status == 0 )) || fail "the probe reported a failure (exit $status); see above and $WORK/probe.err"
}

main
