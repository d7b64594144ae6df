#!/usr/bin/env bash
# NLU intent cross-validation of the production pipeline (config.yml) on nlu_data/nlu.
# Usage: scripts/nlu_cross_validation.sh [FOLDS]   (default 3; run from anywhere, uses .venv-rasa)
# Prints the intent macro F1, weighted F1 and accuracy averaged over the folds' test parts.
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
worst = sorted((v["f1-score"], k) for k, v in report.items() if isinstance(v, dict) and "support" in v
               and k not in ("macro avg", "weighted avg", "micro avg"))[:3]
print(f"NLU intent cross-validation ({sys.argv[2]} folds, config.yml, {sys.argv[3]} s): "
      f"macro F1 {report['macro avg']['f1-score']:.3f}, weighted F1 {report['weighted avg']['f1-score']:.3f}, "
      f"accuracy {report['accuracy']:.3f}, {report['macro avg']['support']} examples")
print("lowest F1: " + ", ".join(f"{name} {f1:.2f}" for f1, name in worst))
PY
