#!/usr/bin/env bash
# Runs every cargo-fuzz target of the project (nightly toolchain, `cargo install cargo-fuzz`)
# for RUNS executions each (default 10 000 000) and prints the count each one finished.
#   scripts/fuzz.sh              all targets, 10 M executions each
#   RUNS=100000 scripts/fuzz.sh  a quick pass
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-10000000}"

run() {
  local crate="$1" target="$2"
  local log
  log="$(mktemp)"
  echo "== $crate: $target ($RUNS runs)"
  if (cd "crates/$crate" && cargo +nightly fuzz run "$target" -- -runs="$RUNS" -print_final_stats=1) >"$log" 2>&1; then
    grep -E "^Done [0-9]+ runs|stat::number_of_executed_units" "$log" | tail -2
  else
    tail -30 "$log"
    echo "!! $crate/$target failed (log: $log)"
    exit 1
  fi
  rm -f "$log"
}

for t in parse_request chunked server_conn encode_response parse_response client_conn; do
  run http1 "$t"
done
run evasync http_conn_timers
run evasync tls_server_records
echo "fuzz: every target ran $RUNS executions without a crash"
