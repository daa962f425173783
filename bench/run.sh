#!/usr/bin/env bash
# Run the data-path benchmark: the gateway against Webdis and valkey itself.
#
# Installs wrk, webdis and redis-tools (for redis-benchmark) from Debian when
# they are missing, makes sure the project venv exists, then runs
# bench/run.py. Arguments go to bench/run.py, e.g.
#   bench/run.sh --duration 10 --workers 1,2 --output /tmp/bench.json
# Every server it starts listens on 127.0.0.1 and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v webdis >/dev/null 2>&1 || missing+=(webdis)
command -v redis-benchmark >/dev/null 2>&1 || missing+=(redis-tools)
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench: installing ${missing[*]} with apt-get"
    apt-get update -qq
    # The webdis package also registers a service on port 7379. This script
    # does not use it: it starts its own Webdis on a free port.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
scripts/bootstrap main

bench_pid=""
stop_bench() {
    if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
        kill -TERM "$bench_pid" 2>/dev/null || true
        wait "$bench_pid" 2>/dev/null || true
    fi
}
trap stop_bench EXIT
trap 'exit 130' INT TERM

.venv/bin/python bench/run.py "$@" &
bench_pid=$!
wait "$bench_pid"
