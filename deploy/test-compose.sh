#!/usr/bin/env bash
# The compose cluster (deploy/docker-compose.yml) run for real by a container engine, end to end: podman and
# podman-compose as Debian ships them, a base image made from a debootstrap'ed Debian (no image registry
# needed), the image of deploy/Dockerfile, three nodes, a topic with RF 3, 10,000 records produced through
# node 1, node 2's container killed, every record consumed through node 3, node 2 started again and caught up,
# then the three stopped and started again on their volumes and every record consumed through node 2.
#
#   deploy/test-compose.sh           the test (as root; `bin/rafka compose-test` runs it too)
#   deploy/test-compose.sh base      only make the base image (from the cache) and leave it in podman's storage,
#                                    with a containers.conf for this machine, for podman by hand (deploy/README.md)
#
# It installs what it lacks with apt, configures podman in a work directory of its own (CONTAINERS_CONF and
# CONTAINERS_STORAGE_CONF: runc, cgroupfs, file events, netavark, explicit ulimits; nothing in /etc changes)
# and removes everything it created on every exit path. The base image's root file system is cached in
# RAFKA_COMPOSE_CACHE (default /var/cache/rafka-compose; "none" disables it). Exit status: 0 passed or
# skipped ("SKIPPED: ..." where containers cannot run; a failure with RAFKA_CONTAINER_TEST=require), 1 failed.
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
START=$SECONDS
PROJECT=rafkatest
TOPIC=compose-test
RECORDS=10000
PACKAGES=(podman podman-compose runc debootstrap netavark aardvark-dns iptables)
# Bump when the base image's recipe changes: it keys the cache.
BASE_VERSION=bookworm-jre17-1
BASE_IMAGE=localhost/rafka-base:bookworm-jre17
IMAGE=localhost/rafka-compose-test:latest
MIRROR="${RAFKA_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE="${RAFKA_COMPOSE_CACHE:-/var/cache/rafka-compose}"
WORK=""
COMPOSE=()
ULIMITS=()

phase() { printf '[compose-test %4ds] %s\n' "$((SECONDS - START))" "$*"; }
# RAFKA_CONTAINER_TEST=require (CI) turns a skip into a failure: a run without containers must not pass as one with.
skip() {
  if [[ "${RAFKA_CONTAINER_TEST:-}" == require ]]; then
    echo "FAILED: deploy/test-compose.sh: cannot run here (RAFKA_CONTAINER_TEST=require): $*" >&2
    exit 1
  fi
  echo "SKIPPED: deploy/test-compose.sh: $*"
  exit 0
}
fail() { echo "FAILED: deploy/test-compose.sh: $*" >&2; exit 1; }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    if (( status != 0 )) && [[ ${#COMPOSE[@]} -gt 0 ]]; then
      echo "--- podman-compose up (last lines) ---" >&2
      tail -n 25 "$WORK/up.log" >&2
      echo "--- the nodes' last log lines ---" >&2
      for n in 1 2 3; do
        # Log lines, not stack frames (a 15-line tail once held one trace and nothing about the failing partition).
        podman logs --tail 2000 "$(container "$n")" 2>&1 | grep -Ev '^[[:space:]]+(at |\.\.\. [0-9]+ more)' | tail -n 80 \
          | sed "s/^/rafka-$n: /" >&2
      done
    fi
    phase "cleanup: containers, volumes, network, images, work directory"
    [[ ${#COMPOSE[@]} -gt 0 ]] && "${COMPOSE[@]}" down -v -t 5 >/dev/null 2>&1
    if command -v podman >/dev/null; then
      # Everything here lives in this run's own storage (CONTAINERS_STORAGE_CONF): reset removes exactly it.
      podman rm -af -t 0 >/dev/null 2>&1
      podman system reset -f >/dev/null 2>&1
    fi
    grep -F " $WORK/" /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l
    rm -rf "$WORK"
  fi
  if (( status == 0 )); then phase "done"; else echo "FAILED after $((SECONDS - START)) s (exit $status)" >&2; fi
  exit "$status"
}

# The container of compose service rafka-N (podman-compose names them PROJECT_SERVICE_1).
container() { echo "${PROJECT}_rafka-$1_1"; }

# GET http://127.0.0.1:PORT/PATH from the host through the published port: prints the body, fails unless 200.
http_get() {
  local line status body=0
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  IFS= read -r -t 10 line <&3 || { exec 3<&-; return 1; }
  status="$(echo "$line" | cut -d' ' -f2)"
  while IFS= read -r -t 10 line <&3; do
    if [[ "$body" == 1 ]]; then echo "$line"; elif [[ "$line" == $'\r' || -z "$line" ]]; then body=1; fi
  done
  exec 3<&-
  [[ "$status" == 200 ]]
}

rafka_in() {
  local n="$1"
  shift
  podman exec -i "$(container "$n")" /opt/rafka/bin/rafka "$@" --bootstrap "rafka-$n:9${n}92"
}

install_packages() {
  [[ "$(id -u)" == 0 ]] || skip "needs root (podman as root, debootstrap, apt)"
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  command -v python3 >/dev/null || missing+=(python3)
  command -v ss >/dev/null || missing+=(iproute2)
  if [[ ${#missing[@]} -gt 0 ]]; then
    command -v apt-get >/dev/null || skip "no apt-get to install ${missing[*]}"
    phase "apt: installing ${missing[*]}"
    apt-get update -q >/dev/null || skip "apt-get update failed (no package mirror?)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
      || skip "apt-get install ${missing[*]} failed"
  fi
}

# podman configured for a sandbox without systemd, in files of this run only (nothing in /etc changes).
# containers.conf for a sandbox without systemd; with a directory, everything podman keeps goes there.
sandbox_conf() {
  local dir="${1:-}"
  # podman's defaults (nproc 4194304, nofile 1048576) may exceed what runc may set here ("error setting
  # rlimit type 6: operation not permitted"; on the CI machine even nproc 65536 failed under a hard limit of
  # 96365): this shell's hard limits, nproc at most 32768 (three brokers use a few hundred threads).
  local nofile nproc
  nofile="$(ulimit -Hn)"
  nproc="$(ulimit -Hu)"
  [[ "$nofile" == unlimited ]] && nofile=1048576
  [[ "$nproc" == unlimited || "$nproc" -gt 32768 ]] && nproc=32768
  # default_ulimits covers run and compose; this script's builds get them as flags too.
  ULIMITS=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\npids_limit = 16384\n' "$nofile" "$nofile" "$nproc" "$nproc"
  printf '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
  [[ -z "$dir" ]] || printf 'events_logfile_path = "%s/events.log"\ntmp_dir = "%s/tmp"\n' "$dir" "$dir"
  # netavark with aardvark-dns: the nodes find each other by service name (Debian's CNI plugins have no DNS).
  printf '[network]\nnetwork_backend = "netavark"\n'
  [[ -z "$dir" ]] || printf 'network_config_dir = "%s/netconf"\n' "$dir"
}

configure_podman() {
  WORK="$(mktemp -d /var/tmp/rafka-compose.XXXXXX)"
  mkdir -p "$WORK/storage" "$WORK/run" "$WORK/tmp" "$WORK/netconf"
  sandbox_conf "$WORK" >"$WORK/containers.conf"
  cat >"$WORK/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
EOF
  export CONTAINERS_CONF="$WORK/containers.conf" CONTAINERS_STORAGE_CONF="$WORK/storage.conf"
  podman info >"$WORK/podman-info.txt" 2>&1 || skip "podman info fails here: $(tail -n 3 "$WORK/podman-info.txt")"
  phase "podman $(podman version --format '{{.Client.Version}}'), podman-compose $(dpkg-query -W -f='${Version}' podman-compose): configured in $WORK"
}

# The base image: Debian bookworm (minbase) with the JRE, as a root file system tarball, cached.
base_image() {
  local dir="$WORK/base"
  [[ "$CACHE" != none ]] && dir="$CACHE/$BASE_VERSION"
  local tarball="$dir/rootfs.tar"
  if [[ ! -f "$tarball" ]]; then
    phase "base image: debootstrap bookworm (minbase + openjdk-17-jre-headless) from $MIRROR"
    mkdir -p "$dir"
    local rootfs="$WORK/rootfs"
    debootstrap --variant=minbase --include=openjdk-17-jre-headless bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
      || { tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
    phase "base image: debootstrap done, packing the root file system into $tarball"
    # What a container never reads: package lists and archives, documentation, manual pages, locales.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
      "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log
    tar -C "$rootfs" --numeric-owner -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
    rm -rf "$rootfs"
  else
    phase "base image: cached root file system $tarball"
  fi
  podman import --change 'CMD ["/bin/bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tarball" "$BASE_IMAGE" >"$WORK/import.log" 2>&1 || { cat "$WORK/import.log" >&2; fail "podman import of $tarball failed"; }
  phase "base image: $BASE_IMAGE ($(du -h "$tarball" | cut -f1) root file system)"
}

build_image() {
  phase "jars: bin/rafka dist"
  bin/rafka dist || fail "bin/rafka dist failed"
  phase "image: podman build --format docker -f deploy/Dockerfile -t $IMAGE ."
  podman build -q --format docker "${ULIMITS[@]}" --build-arg "BASE_IMAGE=$BASE_IMAGE" -f deploy/Dockerfile -t "$IMAGE" . >"$WORK/build.log" 2>&1 \
    || { tail -n 30 "$WORK/build.log" >&2; fail "podman build failed (log above)"; }
  [[ "$(podman image inspect -f '{{.Config.Healthcheck.Test}}' "$IMAGE")" == *"/opt/rafka/bin/rafka health"* ]] \
    || fail "the image lost its HEALTHCHECK"
}

# Ports the compose file publishes: those of `bin/rafka cluster` (node N: 9N92 gRPC, 9N95 HTTP).
check_ports() {
  local n p
  for n in 1 2 3; do
    for p in "9${n}92" "9${n}95"; do
      [[ -z "$(ss -ltnH "sport = :$p")" ]] || fail "port $p is in use (a bin/rafka cluster?); the compose file publishes it"
    done
  done
}

up() {
  # The test's additions to the compose file: the image built above (no build by compose), small heaps.
  local n
  {
    echo "services:"
    for n in 1 2 3; do
      printf '  rafka-%s:\n    image: %s\n    environment:\n      RAFKA_HEAP_OPTS: "-Xms64m -Xmx384m"\n' "$n" "$IMAGE"
    done
  } >"$WORK/override.yml"
  COMPOSE=(podman-compose -p "$PROJECT" -f deploy/docker-compose.yml -f "$WORK/override.yml")
  phase "up: ${COMPOSE[*]} up -d --no-build"
  "${COMPOSE[@]}" up -d --no-build >"$WORK/up.log" 2>&1 || { tail -n 30 "$WORK/up.log" >&2; fail "podman-compose up failed (log above)"; }
}

# Waits until node N's health check (the compose file's, run by podman) passes; prints the seconds it took.
wait_healthy() {
  local n="$1" limit="$2" t0=$SECONDS ctr state
  ctr="$(container "$n")"
  until podman healthcheck run "$ctr" >/dev/null 2>&1; do
    state="$(podman inspect -f '{{.State.Status}}' "$ctr" 2>/dev/null || echo missing)"
    [[ "$state" == running ]] || fail "rafka-$n is $state, not running"
    (( SECONDS - t0 < limit )) || fail "rafka-$n: its health check did not pass within $limit s"
    sleep 1
  done
  http_get "9${n}95" /health >/dev/null || fail "rafka-$n: /health answers its health check but not the host's published port 9${n}95"
  echo "$((SECONDS - t0))"
}

# Checks /status JSON documents with python3 (on the host): $1 is the check, then node ids whose status to read.
status_check() {
  local check="$1" n
  shift
  for n in "$@"; do
    printf '%s\t' "$n"
    http_get "9${n}95" /status | tr -d '\n'
    echo
  done | python3 "$ROOT/deploy/compose-status.py" "$check" "$TOPIC" "$RECORDS"
}

topic_and_produce() {
  phase "topic: create $TOPIC (3 partitions, RF 3) through rafka-1"
  rafka_in 1 topic create "$TOPIC" --partitions 3 --replication-factor 3 </dev/null >"$WORK/topic.txt" 2>&1 \
    || { cat "$WORK/topic.txt" >&2; fail "topic create failed"; }
  phase "produce: $RECORDS records through rafka-1 (acks=all)"
  seq -f 'record-%05.0f' 1 "$RECORDS" >"$WORK/expected.txt"
  rafka_in 1 produce "$TOPIC" <"$WORK/expected.txt" >"$WORK/produce.txt" 2>&1 \
    || { tail -n 20 "$WORK/produce.txt" >&2; fail "produce failed"; }
  grep -q "produced $RECORDS records" "$WORK/produce.txt" || { cat "$WORK/produce.txt" >&2; fail "produce did not report $RECORDS records"; }
}

kill_and_consume() {
  local ctr
  ctr="$(container 2)"
  phase "kill: SIGKILL to rafka-2's container"
  podman kill "$ctr" >/dev/null || fail "podman kill $ctr failed"
  podman wait "$ctr" >/dev/null 2>&1 || true
  sleep 2
  [[ "$(podman inspect -f '{{.State.Status}}' "$ctr")" != running ]] || fail "rafka-2 is running again after the kill"
  # The consumer (a new JVM) resolves the other brokers by name. Right after a kill, podman's cleanup of the
  # container (network teardown, aardvark-dns reloaded) made name lookups (or podman exec) hang for up to
  # ~30 s here, once long enough to fail the consumer: wait until lookups answer, telling that apart from
  # a broker failure.
  local t0=$SECONDS
  until podman exec "$(container 3)" getent hosts rafka-1 rafka-3 >/dev/null 2>&1; do
    if (( SECONDS - t0 >= 90 )); then
      pgrep -a aardvark-dns >&2
      fail "the compose network's DNS (aardvark-dns) does not resolve rafka-1 and rafka-3 in rafka-3 after rafka-2's kill"
    fi
    sleep 1
  done
  phase "consume: all $RECORDS records through rafka-3 while rafka-2 is down (names resolve again after $((SECONDS - t0)) s)"
  consume_all 3
}

# Consumes the topic from the beginning through rafka-$1 and checks it holds exactly the records produced.
consume_all() {
  local n="$1" got unique
  rafka_in "$n" consume "$TOPIC" --from-beginning --max-messages "$RECORDS" --timeout-ms 60000 </dev/null >"$WORK/consumed.txt" 2>"$WORK/consume.err" \
    || { tail -n 20 "$WORK/consume.err" >&2; fail "consume through rafka-$n failed"; }
  got="$(wc -l <"$WORK/consumed.txt")"
  unique="$(sort -u "$WORK/consumed.txt" | wc -l)"
  [[ "$got" == "$RECORDS" && "$unique" == "$RECORDS" ]] || fail "consumed $got records ($unique distinct) through rafka-$n, want $RECORDS"
  sort "$WORK/consumed.txt" | cmp -s - "$WORK/expected.txt" || fail "the records consumed through rafka-$n are not the records produced"
  phase "consume: $got records through rafka-$n, all distinct, equal to what was produced"
}

# podman-compose stops one container after the other (and down's default grace is 1 s): the three together,
# gracefully, as `docker compose down` would.
stop_all() {
  phase "stop: podman stop -t 30 (the three nodes at once)"
  podman stop -t 30 "$(container 1)" "$(container 2)" "$(container 3)" >"$WORK/stop.log" 2>&1 || { cat "$WORK/stop.log" >&2; fail "podman stop failed"; }
}

# The whole cluster stopped and started again on its volumes: every record is still there.
full_restart() {
  local n took t0
  stop_all
  phase "restart: the three nodes started again on their volumes"
  podman start "$(container 1)" "$(container 2)" "$(container 3)" >"$WORK/start-all.log" 2>&1 \
    || { cat "$WORK/start-all.log" >&2; fail "podman start of the three nodes failed"; }
  for n in 1 2 3; do
    took="$(wait_healthy "$n" 180)"
    phase "health: rafka-$n healthy again (${took} s more)"
  done
  t0=$SECONDS
  until podman exec "$(container 2)" getent hosts rafka-1 rafka-3 >/dev/null 2>&1; do
    (( SECONDS - t0 < 90 )) || fail "the compose network's DNS does not resolve rafka-1 and rafka-3 in rafka-2 after the restart"
    sleep 1
  done
  consume_all 2
}

restart_and_catch_up() {
  local t0=$SECONDS took
  phase "restart: podman start rafka-2"
  # (Without systemd, podman logs that it cannot add a health check timer: the script runs the checks itself.)
  podman start "$(container 2)" >"$WORK/start.log" 2>&1 || { cat "$WORK/start.log" >&2; fail "podman start failed"; }
  took="$(wait_healthy 2 120)"
  # Healthy must mean the metadata view is current: a controller known, the topic's partitions hosted.
  local seen
  seen="$(status_check serving-topic 2)" || fail "rafka-2 is healthy but its /status shows no current metadata: $seen"
  phase "restart: rafka-2 healthy after $took s, /status shows a controller and the topic"
  until status_check caught-up 1 2 3 >"$WORK/catch-up.txt" 2>&1; do
    (( SECONDS - t0 < 120 )) || { cat "$WORK/catch-up.txt" >&2; fail "rafka-2 did not catch up within 120 s"; }
    sleep 1
  done
  phase "catch-up: rafka-2's replicas equal the leaders' ($(cat "$WORK/catch-up.txt")), $((SECONDS - t0)) s after the start"
}

run_cluster_test() {
  up
  local n took
  for n in 1 2 3; do
    took="$(wait_healthy "$n" 180)"
    phase "health: rafka-$n healthy (${took} s more)"
  done
  local seen
  seen="$(status_check serving 1 2 3)" || fail "a healthy node's /status shows no current metadata: $seen"
  phase "status: $seen"
  # One logging backend per classpath (bin/rafka dist's layout): the broker's logback, not a random pick.
  for n in 1 2 3; do
    if podman logs "$(container "$n")" 2>&1 | grep -q 'multiple SLF4J providers'; then
      fail "rafka-$n has more than one SLF4J provider on its classpath"
    fi
  done
  topic_and_produce
  kill_and_consume
  restart_and_catch_up
  full_restart
  stop_all
  phase "down: ${COMPOSE[*]} down -v -t 30"
  "${COMPOSE[@]}" down -v -t 30 >"$WORK/down.log" 2>&1 || { tail -n 20 "$WORK/down.log" >&2; fail "podman-compose down failed"; }
  [[ -z "$(podman ps -aq)" ]] || fail "containers left after down: $(podman ps -a --format '{{.Names}}')"
  [[ -z "$(podman volume ls -q)" ]] || fail "volumes left after down -v: $(podman volume ls -q)"
  COMPOSE=()
}

main() {
  install_packages
  # A signal ends the script through exit, so that cleanup (the EXIT trap) sees a failure status.
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap cleanup EXIT
  configure_podman
  base_image
  if [[ "${1:-}" == base ]]; then
    # Leave the base image in podman's default storage, and the sandbox's configuration next to the cache,
    # for deploy/README.md's podman commands by hand.
    podman save "$BASE_IMAGE" | env -u CONTAINERS_CONF -u CONTAINERS_STORAGE_CONF podman load -q
    local conf="$CACHE/containers.conf"
    [[ "$CACHE" != none ]] || conf="$ROOT/target/containers.conf"
    mkdir -p "$(dirname "$conf")"
    sandbox_conf >"$conf"
    phase "base image $BASE_IMAGE in podman's storage; for podman here: export CONTAINERS_CONF=$conf"
    return
  fi
  check_ports
  build_image
  run_cluster_test
}

main "$@"
