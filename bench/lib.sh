# Shell helpers shared by the benchmark scripts under bench/ (sourced, not run).

# A progress line on stderr, with the UTC time.
log() {
  echo "[bench $(date -u +%H:%M:%S)] $*" >&2
}

# GET http://127.0.0.1:PORT/PATH with bash's /dev/tcp (as bin/rafka does); prints the body.
http_get() {
  local line body=0
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  while IFS= read -r line <&3; do
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
