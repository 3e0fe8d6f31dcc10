# Shell helpers shared by the benchmark scripts under bench/ (sourced, not run).

# The running script's header comment (its lines after the shebang, up to the first line that is not a comment).
usage() {
  awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'
}

# A progress line on stderr, with the UTC time.
log() {
  echo "[bench $(date -u +%H:%M:%S)] $*" >&2
}

# GET http://HOST:PORT/PATH with bash's /dev/tcp (as bin/rafka does); prints the body. $1 port, $2 path, $3 host
# (127.0.0.1 when absent).
http_get() {
  local line body=0 host="${3:-127.0.0.1}"
  exec 3<>"/dev/tcp/$host/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" "$host" >&3
  while IFS= read -r -t 10 line <&3; do   # gives up on a hung broker (connection accepted, no answer)
    if [[ "$body" == 1 ]]; then echo "$line"; elif [[ "$line" == $'\r' || -z "$line" ]]; then body=1; fi
  done
  exec 3<&-
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Milliseconds since the epoch: the clock the Java tools' System.currentTimeMillis reads.
now_ms() {
  date +%s%3N
}

# Until every partition of the topics named is led by its preferred replica (the first in `topic describe`), at most
# $2 seconds: brokers hand leaderships back to preferred replicas every 30 s, which moves leaders (and group
# coordinators) under a benchmark that starts too early. $1: bootstrap; $3...: topics.
await_preferred_leaders_of() {
  local bootstrap="$1" limit_s="$2" start line ok
  shift 2
  start="$(date +%s)"
  while true; do
    ok=1
    for topic in "$@"; do
      while IFS= read -r line; do
        [[ "$line" =~ Leader:\ ([^[:space:]]+).*Replicas:\ ([^,[:space:]]+) ]] || continue
        [[ "${BASH_REMATCH[1]}" == "${BASH_REMATCH[2]}" ]] || ok=0
      done < <(bin/rafka topic describe "$topic" --bootstrap "$bootstrap" 2>/dev/null || echo "Leader: none Replicas: x")
    done
    (( ok )) && return 0
    (( $(date +%s) - start < limit_s )) || return 1
    sleep 1
  done
}
