#!/usr/bin/env bash
# End-to-end benchmark of the assistant on an imported catalogue, set up the way a new user would:
# the bot learns the catalogue's procedure names (`tthc nlu generate`, then `rasa train`), the stack
# starts (`tthc up`) on free ports, and `tthc bot eval` asks every question file.
#
#   scripts/bot_benchmark.sh [DATA_DIR] QUESTIONS.jsonl [QUESTIONS.jsonl ...]
#
#   DATA_DIR   a directory holding an imported catalogue (`tthc kb import`); default: the settings'
#              catalog.data_dir (a first argument that is not a directory is taken as a question file)
#   BENCH_OUT  where the outputs go (default /tmp/bench-<time>; never inside the repo):
#              <name>.json (report), <name>.details.jsonl (one line per question), summary.jsonl,
#              nlu-generate.log, rasa-train.log, up.log
#
# Prints one JSON line per question file: {"file", "wall_s", "model", "index", "learned_ranking", ...the
# report of `tthc bot eval --json`, whose calibration_s is the machine-speed calibration}. Questions whose
# "aspect" bot eval cannot judge (e.g. "legal") are asked from a copy without it (<name>.asked.jsonl).
#
# `tthc up` rebuilds (and trains) an index built by an older INDEX_FORMAT in DATA_DIR, as it does for any
# user: the first run on such an index takes that much longer.
#
# Nothing in the working tree changes: the Rasa training inputs (config.yml, domain.yml, nlu_data/)
# are copied to DATA_DIR/bot-benchmark/training, the generated lookups are written there, and the model
# is trained into DATA_DIR/bot-benchmark/model; it is reused while the hash of its inputs (the copied
# training data with the catalogue's lookups, assistant/rasa_process/components/, knowledge_base/text.py) is unchanged. The stack runs with
# TTHC_CATALOG__DATA_DIR=DATA_DIR and TTHC_RASA__MODEL_DIR=DATA_DIR/bot-benchmark/run-model and is stopped
# on exit, also on failure or Ctrl-C. One run at a time (a lock in DATA_DIR/bot-benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)
py=$repo/.venv/bin/python
tthc=$repo/.venv/bin/tthc
rasa=$repo/.venv-rasa/bin/rasa

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 && $1 != -h && $1 != --help ]] || usage
if [[ -d $1 ]]; then
  data_dir=$(cd "$1" && pwd -P); shift
else
  data_dir=$("$py" -c 'from assistant.core.settings import get_settings; print(get_settings().data_dir)')
fi
[[ $# -ge 1 ]] || usage
questions=()
for file in "$@"; do
  [[ -f $file ]] || { echo "bot_benchmark: no question file $file" >&2; exit 2; }
  questions+=("$(cd "$(dirname "$file")" && pwd -P)/$(basename "$file")")
done
[[ -x $rasa ]] || { echo "bot_benchmark: $rasa is missing; run ./start first" >&2; exit 1; }

out=${BENCH_OUT:-/tmp/bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"; out=$(cd "$out" && pwd -P)
case "$out/" in "$repo"/*) echo "bot_benchmark: BENCH_OUT $out is inside the repo; pick a path outside it" >&2; exit 2;; esac

export TTHC_CATALOG__DATA_DIR=$data_dir
scratch=$data_dir/bot-benchmark
mkdir -p "$scratch"
exec 9>"$scratch/lock"
flock -n 9 || { echo "bot_benchmark: another benchmark is running on $data_dir" >&2; exit 1; }

now() { date +%s.%N; }
since() { "$py" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f}')" "$1" "$(now)"; }
log() { echo "==> $*" >&2; }

index=$("$tthc" kb status | sed -n 's/^index: //p')
[[ -n $index ]] || { echo "bot_benchmark: no catalogue index in $data_dir; import one with 'tthc kb import'" >&2; exit 1; }
log "catalogue: $index; outputs: $out"

# 1. Training data with this catalogue's procedure names, outside the working tree.
t0=$(now)
train=$scratch/training
rm -rf "$train"; mkdir -p "$train"
cp -r config.yml domain.yml nlu_data "$train"/
"$tthc" nlu generate --out "$train/nlu_data/nlu/generated_lookups.yml" | tee "$out/nlu-generate.log" >&2
inputs_hash=$(
  { (cd "$train" && find config.yml domain.yml nlu_data -type f -print0 | sort -z | xargs -0 sha256sum)
    find assistant/rasa_process/components knowledge_base/text.py -name '*.py' -print0 | sort -z | xargs -0 sha256sum
    "$repo/.venv-rasa/bin/python" -c 'import importlib.metadata as m; print("rasa", m.version("rasa"))'
  } | sha256sum | cut -c1-16)
log "lookups generated in $(since "$t0") s; training inputs $inputs_hash"

# 2. The Rasa model: trained as assistant/cli/launcher/rasa_model.py trains, reused while its inputs are unchanged.
t0=$(now)
model_dir=$scratch/model
if [[ -f $model_dir/tthc.tar.gz && "$(cat "$model_dir/inputs.sha256" 2>/dev/null)" == "$inputs_hash" ]]; then
  log "reusing the Rasa model $model_dir/tthc.tar.gz"
  echo "reused $model_dir/tthc.tar.gz ($inputs_hash)" > "$out/rasa-train.log"
else
  log "training the Rasa model (a few minutes); log: $out/rasa-train.log"
  rm -rf "$model_dir.new"; mkdir -p "$model_dir.new"
  # cwd = the scratch copy, so Rasa's cache (.rasa/) stays there too; the components import from the
  # editable install of this repo in .venv-rasa.
  if ! (cd "$train" && RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 "$rasa" train \
          --config config.yml --domain domain.yml --data nlu_data \
          --out "$model_dir.new" --fixed-model-name tthc --force) > "$out/rasa-train.log" 2>&1 \
     || [[ ! -f $model_dir.new/tthc.tar.gz ]]; then
    tail -20 "$out/rasa-train.log" >&2
    echo "bot_benchmark: Rasa training failed; see $out/rasa-train.log" >&2; exit 1
  fi
  echo "$inputs_hash" > "$model_dir.new/inputs.sha256"
  rm -rf "$model_dir"; mv "$model_dir.new" "$model_dir"
fi
train_s=$(since "$t0")
log "Rasa model ready in $train_s s"

# `tthc up` retrains a model whose stamp does not match the working tree's training inputs; this model
# was trained from the scratch copy on purpose, so its run copy carries the stamp the launcher expects.
run_model=$scratch/run-model
rm -rf "$run_model"; mkdir -p "$run_model"
cp "$model_dir/tthc.tar.gz" "$run_model/tthc.tar.gz"
"$py" -c 'from assistant.cli.launcher.rasa_model import PROJECT_ROOT, fingerprint; print(fingerprint(PROJECT_ROOT / "config.yml"), end="")' \
  > "$run_model/tthc.fingerprint"

# 3. The stack on free ports, stopped on exit whatever happens.
read -r app_port rasa_port < <("$py" - <<'PY'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
)
export TTHC_SERVER__APP_PORT=$app_port TTHC_SERVER__RASA_PORT=$rasa_port TTHC_RASA__MODEL_DIR=$run_model
up_pid=""; server_pids=""
stop_stack() {
  [[ -n $up_pid ]] || return 0
  local children
  children="$server_pids $(pgrep -P "$up_pid" || true)"
  if kill -0 "$up_pid" 2>/dev/null; then
    log "stopping the stack"
    kill -TERM "$up_pid" 2>/dev/null || true   # tthc up stops both servers on SIGTERM
    for _ in $(seq 60); do kill -0 "$up_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$up_pid" 2>/dev/null || true
  fi
  for child in $children; do  # each server runs in its own process group (its pid)
    kill -0 "$child" 2>/dev/null && kill -TERM -- "-$child" 2>/dev/null || true
  done
  up_pid=""
}
trap stop_stack EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$(now)
log "starting the stack: app :$app_port, Rasa :$rasa_port; log: $out/up.log"
"$tthc" up 9>&- > "$out/up.log" 2>&1 &
up_pid=$!
until grep -q "is running" "$out/up.log"; do
  if ! kill -0 "$up_pid" 2>/dev/null; then
    tail -20 "$out/up.log" >&2
    echo "bot_benchmark: tthc up exited before the stack was ready; see $out/up.log and $data_dir/logs" >&2; exit 1
  fi
  sleep 1
done
if ! cmp -s "$model_dir/tthc.tar.gz" "$run_model/tthc.tar.gz"; then
  echo "bot_benchmark: tthc up replaced the benchmark model (the working tree's training inputs changed meanwhile?); run again" >&2
  exit 1
fi
server_pids=$(pgrep -P "$up_pid" || true)
status=$("$tthc" kb status 2>/dev/null)   # tthc up may have rebuilt the index (older INDEX_FORMAT)
index=$(sed -n 's/^index: //p' <<< "$status")
ranking=$(sed -n 's/.*learned ranking: \([a-z]*\).*/\1/p' <<< "$status")
start_s=$(since "$t0")
log "stack ready in $start_s s"

# 4. Each question file, one JSON line each.
: > "$out/summary.jsonl"
for file in "${questions[@]}"; do
  name=$(basename "$file" .jsonl)
  t0=$(now)
  log "tthc bot eval $file"
  # `tthc bot eval` refuses a file with an aspect it cannot judge (e.g. "legal"): such questions are
  # still asked and judged by procedure, from a copy in BENCH_OUT without that aspect.
  asked=$("$py" - "$file" "$out/$name.asked.jsonl" <<'PY'
import json, sys
from assistant.cli.bot_evaluation import ASPECT_ALIASES, normalise_aspect
from knowledge_base.errors import KnowledgeBaseError
source, copy = sys.argv[1:]
rows, dropped = [], {}
for line in open(source, encoding="utf-8"):
    if not line.strip():
        continue
    row = json.loads(line)
    try:
        normalise_aspect(row.get("aspect"))
    except KnowledgeBaseError:
        dropped[row["aspect"]] = dropped.get(row["aspect"], 0) + 1
        del row["aspect"]
    rows.append(row)
if dropped:
    with open(copy, "w", encoding="utf-8") as out:
        out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    print(f"aspects not judged (questions still asked): {dropped}", file=sys.stderr)
print(copy if dropped else source)
PY
)
  "$tthc" bot eval "$asked" --json --rasa-url "http://127.0.0.1:$rasa_port" --data-dir "$data_dir" \
    --details "$out/$name.details.jsonl" > "$out/$name.json"
  "$py" - "$file" "$(since "$t0")" "$inputs_hash" "$index" "$ranking" "$out/$name.json" <<'PY' | tee -a "$out/summary.jsonl"
import json, sys
file, wall, model, index, ranking, report = sys.argv[1:]
report = json.loads(open(report, encoding="utf-8").read().strip().splitlines()[-1])
print(json.dumps({"file": file, "wall_s": int(wall), "model": model, "index": index, "learned_ranking": ranking,
                  **report}, ensure_ascii=False))
PY
done
log "model $train_s s, start-up $start_s s; outputs in $out"
