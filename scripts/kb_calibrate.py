"""Calibrate abstention on the dev set: fit knowledge_base/data/abstention.json from the tune split.

For each retriever (bm25, dense, hybrid) it computes the decision signals of every dev question,
fits a small L2-regularised logistic model "an answer exists" on the tune split, picks the
threshold that abstains on the most no-answer questions while keeping false abstentions on
answerable tune questions at or below --max-false-abstain, and reports AUC and rates on both
splits (the holdout split is never used for fitting).

Usage (after `tthc kb import ../shared/data/dvc-procedures`):
    .venv/bin/python scripts/kb_calibrate.py knowledge_base/devset/dev.jsonl [--write]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.settings import get_settings  # noqa: E402
from knowledge_base import decision  # noqa: E402
from knowledge_base.store import KnowledgeBase  # noqa: E402


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(greater + 0.5 * ties)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.1, steps: int = 3000, lr: float = 0.1) -> tuple[np.ndarray, float]:
    w = np.zeros(x.shape[1])
    b = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        grad = p - y
        w -= lr * (x.T @ grad / len(y) + l2 * w)
        b -= lr * grad.mean()
    return w, b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("devset", type=Path)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--max-false-abstain", type=float, default=0.03)
    parser.add_argument("--l2", type=float, default=0.1, help="L2 penalty of the logistic fit (few no-answer questions: keep it)")
    parser.add_argument("--write", action="store_true", help="write knowledge_base/data/abstention.json")
    args = parser.parse_args()
    settings = get_settings()
    data_dir = args.data_dir or settings.data_dir
    kb = KnowledgeBase.open(data_dir, settings.embedding_model_path, threads=settings.embedding.threads)
    rows = [json.loads(line) for line in args.devset.read_text(encoding="utf-8").splitlines() if line.strip()]
    systems = ["bm25", "dense", "hybrid"] if kb.has_dense else ["bm25"]
    models = {}
    for system in systems:
        feats, labels, splits = [], [], []
        for row in rows:
            candidates, signals = kb.rank(row["question"], system=system)
            x = decision.features(candidates, signals)
            feats.append([x[name] for name in decision.FEATURES])
            labels.append(1 if row["gold"] else 0)
            splits.append(row.get("split", "tune"))
        x_all, y_all, split = np.array(feats), np.array(labels), np.array(splits)
        tune = split == "tune"
        mean = x_all[tune].mean(axis=0)
        scale = x_all[tune].std(axis=0)
        scale[scale == 0] = 1.0
        z = (x_all - mean) / scale
        w, b = fit_logistic(z[tune], y_all[tune], l2=args.l2)
        prob = 1 / (1 + np.exp(-(z @ w + b)))
        # Highest threshold whose false-abstain rate on answerable tune questions stays within budget.
        answerable = prob[tune & (y_all == 1)]
        threshold = float(np.quantile(answerable, args.max_false_abstain)) if len(answerable) else 0.5
        print(f"== {system}")
        for i, name in enumerate(decision.FEATURES):
            print(f"  AUC {name:12s} tune {auc(x_all[tune, i], y_all[tune]):.3f}  weight {w[i]:+.2f}")
        for part, mask in (("tune", tune), ("holdout", ~tune)):
            pos, neg = mask & (y_all == 1), mask & (y_all == 0)
            print(f"  {part:8s} AUC {auc(prob[mask], y_all[mask]):.3f}  abstain_recall {np.mean(prob[neg] < threshold):.3f}"
                  f"  false_abstain {np.mean(prob[pos] < threshold):.3f}")
        models[system] = {
            "weights": {name: round(float(w[i]), 4) for i, name in enumerate(decision.FEATURES)},
            "bias": round(float(b), 4),
            "mean": {name: round(float(mean[i]), 5) for i, name in enumerate(decision.FEATURES)},
            "scale": {name: round(float(scale[i]), 5) for i, name in enumerate(decision.FEATURES)},
            "threshold": round(threshold, 4),
        }
    if args.write:
        current = json.loads(decision.ABSTENTION_FILE.read_text(encoding="utf-8")) if decision.ABSTENTION_FILE.exists() else {}
        current.update(models)
        current["_source"] = f"scripts/kb_calibrate.py {args.devset} (tune split, max false abstain {args.max_false_abstain}, l2 {args.l2})"
        decision.ABSTENTION_FILE.write_text(json.dumps(current, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {decision.ABSTENTION_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
