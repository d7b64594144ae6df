#!/usr/bin/env bash
# CPU per chat reply of the running stack: runs scripts/load_test.py and divides the CPU time the Rasa
# server processes and the app server spent during it by the replies it got.
#   scripts/chat_cpu_per_reply.sh [USERS] [SECONDS]      (default 50 users, 60 s, 1 s think; stack on :5005)
set -euo pipefail
cd "$(dirname "$0")/.."
users="${1:-50}"; seconds="${2:-60}"
ticks=$(getconf CLK_TCK)

cpu_ticks() {  # user + system ticks of every process whose command line matches $1
  local total=0 pid fields
  for pid in $(pgrep -f "$1"); do
    read -ra fields < "/proc/$pid/stat" || continue
    total=$((total + fields[13] + fields[14]))
  done
  echo "$total"
}

rasa_before=$(cpu_ticks "rasa_process.entry run"); app_before=$(cpu_ticks "uvicorn assistant")
report=$(.venv/bin/python scripts/load_test.py --users "$users" --duration "$seconds" --think 1 --json) || true
rasa_after=$(cpu_ticks "rasa_process.entry run"); app_after=$(cpu_ticks "uvicorn assistant")

.venv/bin/python - "$report" "$ticks" $((rasa_after - rasa_before)) $((app_after - app_before)) <<'PY'
import json, sys
report, ticks, rasa, app = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
replies = max(report["replies"], 1)
print(f"{report['replies']} replies, {report['throughput_rps']} replies/s, p50 {report['p50_ms']} ms, "
      f"p95 {report['p95_ms']} ms, {report['errors']} errors")
print(f"CPU per reply: Rasa {1000 * rasa / ticks / replies:.1f} ms, app server {1000 * app / ticks / replies:.1f} ms; "
      f"cores used: Rasa {rasa / ticks / report['wall_s']:.2f}, app {app / ticks / report['wall_s']:.2f}")
PY
