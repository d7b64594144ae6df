#!/usr/bin/env bash
# NLU intent cross-validation of the production pipeline (config.yml) on nlu_data/nlu.
# Usage: scripts/nlu_cross_validation.sh [FOLDS]   (default 3; run from anywhere, uses .venv-rasa)
# Prints the intent macro F1 (over the real intents) and accuracy on the folds' test parts, and how many
# test messages fell below the FallbackClassifier threshold.
set -euo pipefail
cd "$(dirname "$0")/.."
folds="${1:-3}"
rasa=".venv-rasa/bin/rasa"
[ -x "$rasa" ] || { echo "error: .venv-rasa is missing; run ./start first (it creates the Rasa environment)" >&2; exit 2; }
out="$(mktemp -d /tmp/tthc-nlu-cv.XXXXXX)"
trap 'rm -rf "$out"' EXIT
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
start=$(date +%s)
if ! nice "$rasa" test nlu --nlu nlu_data/nlu --config config.yml --domain domain.yml \
     --cross-validation --folds "$folds" --out "$out" >"$out/log.txt" 2>&1; then
  tail -20 "$out/log.txt" >&2
  echo "error: rasa test nlu --cross-validation failed (log above)" >&2
  exit 1
fi
.venv-rasa/bin/python - "$out/intent_report.json" "$folds" "$(( $(date +%s) - start ))" <<'PY'
import json, sys
report = json.load(open(sys.argv[1], encoding="utf-8"))
# Rows of real intents (support > 0). A message the FallbackClassifier turned into `nlu_fallback` counts as
# a miss of its true intent; the pseudo-label row itself (support 0) is left out of the macro average.
intents = {k: v for k, v in report.items() if isinstance(v, dict) and v.get("support", 0) > 0
           and k not in ("macro avg", "weighted avg", "micro avg")}
macro_f1 = sum(v["f1-score"] for v in intents.values()) / len(intents)
fallbacks = sum(v.get("confused_with", {}).get("nlu_fallback", 0) for v in intents.values())
examples = sum(v["support"] for v in intents.values())
worst = sorted((v["f1-score"], k) for k, v in intents.items())[:3]
print(f"NLU intent cross-validation ({sys.argv[2]} folds, config.yml, {sys.argv[3]} s): macro F1 {macro_f1:.3f} "
      f"over {len(intents)} intents, accuracy {report['accuracy']:.3f}, {examples} examples, "
      f"{fallbacks} sent to nlu_fallback")
print("lowest F1: " + ", ".join(f"{name} {f1:.2f}" for f1, name in worst))
PY
