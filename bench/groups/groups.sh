#!/usr/bin/env bash
# Consumer groups on real broker processes (run as `bin/rafka bench groups [options]`).
#
# Starts a 3-node cluster with `bin/rafka cluster start`, creates a topic of 6 partitions (RF 3), then runs
# io.rafka.client.perf.GroupBench: after an unmeasured group of 3 has consumed for 10 s (the bench JVM's own warm-up),
# per round a fresh group of 3 members (the SDK's consumer, RafkaConsumer, each with its own connections) while a
# producer writes a small record to every partition every --interval-ms; it measures the first record per member, the
# longest gap on kept partitions while a 4th joins and while one leaves, the time until a member's
# partitions are consumed again after its connections reset without a leave (a killed process) and after it stops
# polling (hung, 3 s session timeout), and the latency of commits while the rounds run (a probe committing every 50 ms;
# with --commit sync also every member commit). The table goes to stdout and to
# bench/groups/target/result.md. Everything it starts is stopped on exit, failure or Ctrl-C.
#
# Options (defaults in brackets):  --rounds N [3]  --interval-ms MS [25] (the producer's interval per partition)
#                                  --commit auto|sync [auto] (auto: the consumer's asynchronous auto-commit;
#                                    sync: commitSync after a poll with records and in onPartitionsRevoked)
#                                  --commit-interval-ms MS (auto.commit.interval.ms [5000, Kafka's default];
#                                    with sync, at most this often [0: after every poll with records])
#                                  --warmup N [200000] (1 KiB records produced to another topic and read once before
#                                    the rounds, as bench kafka's --warmup, so the brokers' JIT is not measured; 0: none)
# Ports: RAFKA_PORT_BASE=22000 (22192..22395) unless RAFKA_BENCH_PORT_BASE says otherwise.
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
ROUNDS=3 INTERVAL_MS=25 COMMIT=auto COMMIT_INTERVAL_MS="" WARMUP=200000 TOPIC=groupbench
WORK="$ROOT/bench/groups/target"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --interval-ms) INTERVAL_MS="$2"; shift 2 ;;
    --commit) COMMIT="$2"; shift 2 ;;
    --commit-interval-ms) COMMIT_INTERVAL_MS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench groups: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$COMMIT" == auto || "$COMMIT" == sync ]] || { echo "bench groups: --commit must be auto or sync, not '$COMMIT'" >&2; exit 2; }
[[ -n "$COMMIT_INTERVAL_MS" ]] || { [[ "$COMMIT" == auto ]] && COMMIT_INTERVAL_MS=5000 || COMMIT_INTERVAL_MS=0; }
[[ "$WARMUP" =~ ^[0-9]+$ ]] || { echo "bench groups: --warmup must be a whole number" >&2; exit 2; }
[[ "$COMMIT_INTERVAL_MS" =~ ^[0-9]+$ ]] || { echo "bench groups: --commit-interval-ms must be a whole number" >&2; exit 2; }
for v in ROUNDS INTERVAL_MS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "bench groups: ${v,,} must be a positive whole number, not '${!v}'" >&2; exit 2; }
done
[[ -n "${RAFKA_BENCH_CLASSPATH:-}" ]] || { echo "bench groups: run it as bin/rafka bench groups" >&2; exit 2; }

export RAFKA_PORT_BASE="${RAFKA_BENCH_PORT_BASE:-22000}" RAFKA_CLUSTER_DIR="$WORK/cluster"
BOOTSTRAP="127.0.0.1:$(( RAFKA_PORT_BASE + 192 ))"
CLUSTER_STARTED=0

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if (( CLUSTER_STARTED )); then
    log "stopping the cluster"
    bin/rafka cluster stop >&2 || bin/rafka cluster kill >&2 || true
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$WORK"
mkdir -p "$WORK"
log "starting the cluster (ports from $(( RAFKA_PORT_BASE + 192 )), data in $RAFKA_CLUSTER_DIR)"
CLUSTER_STARTED=1
bin/rafka cluster start >&2
bin/rafka topic create "$TOPIC" --partitions 6 --replication-factor 3 --bootstrap "$BOOTSTRAP" >&2
# The coordinator's topic exists after the first FindCoordinator; the first round's group pays for its creation
# unless it is made now: describing a group that does not exist does it (FindCoordinator creates the topic).
bin/rafka group describe warm-up --bootstrap "$BOOTSTRAP" >/dev/null 2>&1 || true
if (( WARMUP > 0 )); then
  log "warm-up: $WARMUP records produced to $TOPIC-warmup and read once (not measured)"
  bin/rafka topic create "$TOPIC-warmup" --partitions 6 --replication-factor 3 --bootstrap "$BOOTSTRAP" >/dev/null
  bin/rafka perf produce --bootstrap "$BOOTSTRAP" --topic "$TOPIC-warmup" --num-records "$WARMUP" | tail -n 1 >&2
  bin/rafka perf consume --bootstrap "$BOOTSTRAP" --topic "$TOPIC-warmup" --num-records "$WARMUP" --timeout-ms 60000 \
    | tail -n 1 >&2
fi
log "waiting until every partition (and every group coordinator) is on its preferred replica"
await_preferred_leaders_of "$BOOTSTRAP" 90 "$TOPIC" __consumer_offsets || { log "FAILED: leaders not the preferred replicas after 90 s"; exit 1; }
log "running $ROUNDS rounds"
{
  echo "bin/rafka bench groups --rounds $ROUNDS --interval-ms $INTERVAL_MS --commit $COMMIT --commit-interval-ms $COMMIT_INTERVAL_MS --warmup $WARMUP ($(date -u '+%Y-%m-%d %H:%M UTC'), 3 brokers, topic of 6 partitions RF 3)"
  echo
  java -Xmx512m -cp "$RAFKA_BENCH_CLASSPATH" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn io.rafka.client.perf.GroupBench \
      --bootstrap "$BOOTSTRAP" --topic "$TOPIC" --rounds "$ROUNDS" --interval-ms "$INTERVAL_MS" --commit "$COMMIT" \
      --commit-interval-ms "$COMMIT_INTERVAL_MS"
} | tee "$WORK/result.md"
