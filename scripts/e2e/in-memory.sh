#!/usr/bin/env bash
# End to end against the real binary, with no servers: `analytics serve --in-memory`.
# Checks the seed's curl walk-through byte for byte, then how soon a batch of 1000 events shows in /stats.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
binary="${1:?usage: in-memory.sh path/to/analytics}"
ingest_port="${E2E_INGEST_PORT:-$(free_port)}"
report_port="${E2E_REPORT_PORT:-$(free_port "$ingest_port")}"
log="$(mktemp)"

"$binary" serve --in-memory --host 127.0.0.1 --ingest-port "$ingest_port" --report-port "$report_port" >"$log" 2>&1 &
server=$!
trap 'kill -INT $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$report_port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

passed=0
failed=0
expect() { # description, expected, actual
  if [ "$2" == "$3" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); printf 'FAIL %s\n  expected %s\n  got      %s\n' "$1" "$2" "$3"; fi
}

answer=$(curl -s -X POST "http://127.0.0.1:$ingest_port/event" -H "Content-Type: application/json" \
  -d '{"site_id":"demo","event_type":"view","path":"/","user_id":"u1","timestamp":"2025-11-14T10:00:00Z"}')
expect "seed POST /event" '{"status":"ok"}' "$answer"
expected='{"site_id":"demo","date":null,"total_views":1,"unique_users":1,"top_paths":[{"path":"/","views":1}]}'
for _ in $(seq 50); do
  answer=$(curl -s "http://127.0.0.1:$report_port/stats?site_id=demo")
  [ "$answer" == "$expected" ] && break
  sleep 0.05
done
expect "seed GET /stats" "$expected" "$answer"

batch=$(python3 -c '
import json
print(json.dumps([{"site_id": "bulk", "event_type": "view", "path": f"/p{i % 20}", "user_id": f"u{i % 100}",
                   "timestamp": "2025-11-14T10:00:00Z"} for i in range(1000)]))')
start=$(date +%s%N)
answer=$(curl -s -X POST "http://127.0.0.1:$ingest_port/events" -H "Content-Type: application/json" -d "$batch")
expect "POST /events with 1000 events" '{"status":"ok","accepted":1000}' "$answer"
total=0
while [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 10000 ]; do
  total=$(curl -s "http://127.0.0.1:$report_port/stats?site_id=bulk" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_views"])')
  [ "$total" == "1000" ] && break
  sleep 0.01
done
visible_ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect "1000 events visible in /stats" "1000" "$total"
# How soon is measured by scripts/bench (freshness), not here: the suites share two cores, and the 10 s
# above is only the bound within which they must show at all.
note "1000 events: from POST /events to all visible in /stats in ${visible_ms} ms"

kill -INT $server
wait $server && expect "serve exits 0 on SIGINT" 0 0 || expect "serve exits 0 on SIGINT" 0 $?
trap 'rm -f "$log"' EXIT
# A setting that is not what it must be stops the process at once, naming it, rather than running on a default.
answer=$(VISIBILITY_TIMEOUT=30s timeout 10 "$binary" serve --in-memory --host 127.0.0.1 --ingest-port "$ingest_port" --report-port "$report_port" 2>&1; echo "exit $?")
expect "VISIBILITY_TIMEOUT=30s is refused" "error: VISIBILITY_TIMEOUT must be an integer, not '30s'
exit 64" "$answer"
answer=$(LOG_LEVEL=loud timeout 10 "$binary" serve --in-memory --host 127.0.0.1 --ingest-port "$ingest_port" --report-port "$report_port" 2>&1; echo "exit $?")
expect "LOG_LEVEL=loud is refused" "error: LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical, not 'loud'
exit 64" "$answer"

echo "e2e in-memory: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || { cat "$log"; exit 1; }
