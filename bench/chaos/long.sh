#!/usr/bin/env bash
# The long chaos profile (run as `bin/rafka chaos-long [MINUTES]`, default 30): `bin/rafka chaos` again and again with
# random seeds and every fault kind (kill, pause, partition, netem, corrupt, full), three and five nodes in turn, 120 s of
# faults each, until MINUTES are up. Prints each run's seed and checker line and keeps the output of every run in
# bench/chaos/target-long/run-N.out (a failing run's history too, for `bin/rafka chaos --check FILE`). Exits 1 if
# any run failed; re-run a failing seed alone with `bin/rafka chaos --seed S --nodes N --duration 120 --faults ...`.
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
MINUTES="${1:-30}"
[[ "$MINUTES" =~ ^[0-9]+$ ]] || { echo "chaos-long: minutes must be a whole number, not '$MINUTES'" >&2; exit 2; }
FAULTS=kill,pause,partition,netem,corrupt,full
OUT="$ROOT/bench/chaos/target-long"
rm -rf "$OUT"
mkdir -p "$OUT"

# Ctrl-C or a TERM stops the run under way too (its own clean-up stops the cluster and removes the namespaces).
CHILD=""
stop() {
  trap - INT TERM
  if [[ -n "$CHILD" ]]; then
    kill -TERM "$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
  exit 130
}
trap stop INT TERM

end=$(( $(date +%s) + MINUTES * 60 ))
run=0 failed=0
while (( $(date +%s) < end )); do
  run=$(( run + 1 ))
  nodes=$(( run % 2 ? 3 : 5 ))
  seed=$(( RANDOM * 32768 + RANDOM ))
  log "run $run: bin/rafka chaos --seed $seed --nodes $nodes --duration 120 --faults $FAULTS"
  RAFKA_CHAOS_WORK="$OUT/work" bin/rafka chaos --seed "$seed" --nodes "$nodes" --duration 120 --faults "$FAULTS" \
      >"$OUT/run-$run.out" 2>&1 &
  CHILD=$!
  if wait "$CHILD"; then
    result=ok
  else
    result=FAILED
    failed=$(( failed + 1 ))
    cp "$OUT/work/history.tsv" "$OUT/run-$run-history.tsv" 2>/dev/null || true
  fi
  CHILD=""
  summary="$(grep -E '^chaos: seed|^sends:' "$OUT/run-$run.out" | tr '\n' ' ')"
  counts="$(grep -E '^[a-z-]+: [0-9]+$' "$OUT/run-$run.out" | grep -v -E '^(records-read|duplicate-without-idempotence|longest-)' \
      | awk -F': ' '$2 != 0' | tr '\n' ' ')"
  echo "run $run, seed $seed, $nodes nodes: $result; $summary${counts:+ non-zero: $counts}"
done
echo "chaos-long: $run runs in $MINUTES minutes, $failed failed (outputs in $OUT)"
(( failed == 0 ))
