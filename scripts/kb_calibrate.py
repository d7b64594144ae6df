"""Calibrate abstention: fit knowledge_base/data/abstention.json for the imported catalogue.

Training questions (never the dev set's holdout split):
- no-answer questions written for training, knowledge_base/devset/abstention_train.jsonl (everyday
  chat and procedures of sectors the national catalogue does not hold),
- answerable questions generated here from the catalogue's own titles and everyday names (titles
  cut to their core, chat openers/endings, diacritics dropped, abbreviations),
- the dev set's tune split (its answerable questions are the only realistic phrasing, so the
  threshold is chosen on them).

Two stages, both L2-regularised logistic models:
1. topic: a linear projection of the question's e5 embedding, "in the catalogue" vs "not";
2. per retriever (bm25, dense, hybrid): the decision signals of knowledge_base.decision plus topic.
Stage 2 is trained on out-of-fold topic scores, and the threshold is the --max-false-abstain
quantile of the out-of-fold probabilities of the tune split's answerable questions, so neither
is flattered by having seen the question. Hybrid questions where BM25 was sure enough to skip the
embedding are decided by the bm25 model, as at search time.

Usage (after `tthc kb import ../shared/data/dvc-procedures`; one command, re-runnable after any
ranking change):
    .venv/bin/python scripts/kb_calibrate.py knowledge_base/devset/dev.jsonl [--write]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.core.settings import get_settings  # noqa: E402
from knowledge_base import decision  # noqa: E402
from knowledge_base.errors import KnowledgeBaseError  # noqa: E402
from knowledge_base.store import KnowledgeBase  # noqa: E402
from knowledge_base.text import ABBREVIATIONS_FILE, fold, normalize  # noqa: E402

TRAINING_FILE = ROOT / "knowledge_base" / "devset" / "abstention_train.jsonl"
LEXICAL_FEATURES = ("coverage", "precision", "known_share", "lexical_top", "field_agreement")
FOLDS = 5

# ---- generated answerable questions ----------------------------------------------------------

# Words where a title's qualifiers start ("... đối với ...", "... cho ...", "... tại ..."): citizens
# name the core of a procedure, not its legal scope.
QUALIFIER_WORDS = {
    "đối",
    "cho",
    "của",
    "trong",
    "tại",
    "theo",
    "khi",
    "trường",
    "và",
    "hoặc",
    "từ",
    "để",
    "thuộc",
    "có",
    "không",
    "do",
    "bằng",
}
TEMPLATES = (
    "{x}",
    "{x}",
    "thủ tục {x}",
    "{x} cần giấy tờ gì",
    "cho em hỏi {x} ở đâu ạ",
    "muốn {x} thì phải làm sao",
    "{x} mất bao lâu",
    "lệ phí {x} bao nhiêu",
    "tôi cần {x}",
    "hướng dẫn {x}",
    "{x} nộp online được không",
    "xin hỏi về {x}",
    "{x} cần chuẩn bị hồ sơ gì vậy",
    "làm sao để {x}",
    "{x} ở xã được không",
)
LONG_SHARE = 0.2
# Long questions as citizens write them to the portal: the procedure inside a story and several asks.
LONG_TEMPLATES = (
    "Chào anh chị, gia đình tôi đang sinh sống tại địa phương, nay tôi có nhu cầu {x}. "
    "Xin hỏi cần chuẩn bị những giấy tờ gì và nộp ở đâu ạ?",
    "Tôi đã hỏi nhiều nơi nhưng chưa rõ, cho tôi hỏi {x} gồm những bước nào, "
    "bao lâu thì có kết quả và có mất phí không?",
    "Kính gửi cơ quan chức năng, đơn vị chúng tôi cần {x}. Đề nghị hướng dẫn trình tự, thành phần hồ sơ và lệ phí.",
    "nhà em ở quê xa, ba mẹ lớn tuổi rồi, giờ em muốn {x} thì phải làm sao, có làm online được không ạ",
    "Năm ngoái tôi có nộp hồ sơ nhưng bị trả lại vì thiếu giấy tờ. Nay tôi muốn làm lại việc {x} thì cần những gì?",
)


def _short_forms() -> dict[str, list[str]]:
    """Official multi-word phrases -> the abbreviations citizens type for them (from abbreviations.yml)."""
    table = (yaml.safe_load(ABBREVIATIONS_FILE.read_text(encoding="utf-8")) or {}).get("abbreviations") or {}
    short: dict[str, list[str]] = {}
    for surface, expansion in table.items():
        if len(str(expansion).split()) >= 2:
            short.setdefault(normalize(str(expansion)), []).append(str(surface))
    return short


def _title_core(title: str, rng: random.Random) -> str:
    words = normalize(re.sub(r"\([^)]*\)", " ", title))
    words = re.split(r"[;:.]| - ", re.sub(r"^thủ tục\s+", "", words))[0].split()
    if rng.random() < 0.7:  # usually only the core, before the first qualifier
        cut = next(
            (i for i, w in enumerate(words) if i >= 3 and (w in QUALIFIER_WORDS or words[i - 1].endswith(","))),
            len(words),
        )
        words = words[:cut]
    return " ".join(words[:14]).strip(" ,")


def synthetic_questions(procedures, count: int, seed: int = 7) -> list[dict]:
    """Answerable citizen-style questions generated from catalogue titles/everyday names (not evaluation data)."""
    rng = random.Random(seed)
    short = _short_forms()
    rows = []
    for p in rng.sample(list(procedures), min(count, len(procedures))):
        x = normalize(rng.choice(p.keywords)) if p.keywords and rng.random() < 0.25 else _title_core(p.title, rng)
        for expansion, surfaces in short.items():
            if expansion in x and rng.random() < 0.5:
                x = x.replace(expansion, rng.choice(surfaces))
        question = rng.choice(LONG_TEMPLATES if rng.random() < LONG_SHARE else TEMPLATES).format(x=x)
        if rng.random() < 0.35:
            question = fold(question)
        rows.append({"id": f"gen-{p.code}", "question": question, "gold": [p.code], "split": "train"})
    return rows


# ---- fitting ---------------------------------------------------------------------------------


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(greater + 0.5 * ties)


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression (objective as scikit-learn's with C=c), solved by L-BFGS."""

    def loss(theta):
        w, b = theta[:-1], theta[-1]
        z = x @ w + b
        value = c * np.sum(np.logaddexp(0, z) - y * z) + 0.5 * w @ w
        g = c * (1 / (1 + np.exp(-z)) - y)
        return value, np.append(x.T @ g + w, g.sum())

    theta = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B").x
    return theta[:-1], float(theta[-1])


def folds(n: int, seed: int = 0) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(n)
    fold = np.empty(n, dtype=int)
    fold[order] = np.arange(n) % FOLDS
    return fold


def fit_topic(vectors: np.ndarray, y: np.ndarray, c: float) -> tuple[dict, np.ndarray]:
    """Embedding projection fitted on all rows, and each row's out-of-fold score (for stage 2)."""

    def fit(mask):
        mean, scale = vectors[mask].mean(0), vectors[mask].std(0) + 1e-6
        w, b = fit_logistic((vectors[mask] - mean) / scale, y[mask], c)
        # Fold the standardization into the weights: runtime needs one dot product.
        return {"weights": w / scale, "bias": b - float((w * mean / scale).sum())}

    fold = folds(len(y))
    oof = np.zeros(len(y))
    for k in range(FOLDS):
        part = fit(fold != k)
        oof[fold == k] = vectors[fold == k] @ part["weights"] + part["bias"]
    topic = fit(np.ones(len(y), dtype=bool))
    return {"weights": [round(float(v), 5) for v in topic["weights"]], "bias": round(topic["bias"], 5)}, oof


def fit_model(x: np.ndarray, y: np.ndarray, names: list[str], c: float) -> dict:
    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    w, b = fit_logistic((x - mean) / scale, y, c)
    return {
        "weights": {n: round(float(w[i]), 4) for i, n in enumerate(names)},
        "bias": round(b, 4),
        "mean": {n: round(float(mean[i]), 5) for i, n in enumerate(names)},
        "scale": {n: round(float(scale[i]), 5) for i, n in enumerate(names)},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "devset", type=Path, help="dev set JSONL with a `split` field (tune rows are used, holdout only reported)"
    )
    parser.add_argument("--training", type=Path, default=TRAINING_FILE, help="no-answer training questions (JSONL)")
    parser.add_argument(
        "--generated", type=int, default=400, help="answerable questions to generate from the catalogue"
    )
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument(
        "--max-false-abstain",
        type=float,
        default=0.04,
        help="quantile of tune answerable questions' out-of-fold probability",
    )
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 strength of the decision model")
    parser.add_argument("--c-topic", type=float, default=3.0, help="inverse L2 strength of the embedding projection")
    parser.add_argument(
        "--without-dev-no-answer",
        action="store_true",
        help=(
            "fit without the dev set's no-answer questions "
            "(check: do all 40 of them get caught by a model that never saw one?)"
        ),
    )
    parser.add_argument("--write", action="store_true", help="write knowledge_base/data/abstention.json")
    args = parser.parse_args()
    for path in (args.devset, args.training):
        if not path.is_file():
            print(f"error: {path} not found: pass the dev set JSONL (and --training FILE if it moved)", file=sys.stderr)
            return 2
    settings = get_settings()
    data_dir = args.data_dir or settings.data_dir
    try:
        kb = KnowledgeBase.open(data_dir, settings.embedding_model_path, threads=settings.embedding.threads)
    except KnowledgeBaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    dev = [json.loads(line) for line in args.devset.read_text(encoding="utf-8").splitlines() if line.strip()]
    training = [
        dict(json.loads(line), split="train")
        for line in args.training.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    training += synthetic_questions(kb.procedures(), args.generated)
    rows = [dict(r, y=int(bool(r["gold"])), split=r.get("split", "tune")) for r in dev + training]
    fitted = np.array(
        [
            r["split"] == "train" or (r["split"] == "tune" and (r["y"] == 1 or not args.without_dev_no_answer))
            for r in rows
        ],
        dtype=bool,
    )
    y = np.array([r["y"] for r in rows])
    systems = ["bm25", "dense", "hybrid"] if kb.has_dense else ["bm25"]
    old = json.loads(decision.ABSTENTION_FILE.read_text(encoding="utf-8")) if decision.ABSTENTION_FILE.exists() else {}
    print(
        f"questions: {len(dev)} dev ({sum(r.get('split', 'tune') == 'tune' for r in dev)} tune), "
        f"{len(training)} training ({int(sum(1 - r['y'] for r in rows if r['split'] == 'train'))} no-answer)"
    )

    ranked = {s: [kb.rank(r["question"], system=s) for r in rows] for s in systems}
    models: dict = {}
    topic_oof = np.zeros(len(rows))
    if kb.has_dense:
        vectors = np.array([signals.query_vector for _, signals in ranked["dense"]])
        models["topic"], oof = fit_topic(vectors[fitted], y[fitted], args.c_topic)
        topic_oof[fitted] = oof
        print(f"topic: AUC out-of-fold on fitted rows {auc(oof, y[fitted]):.3f}")

    report = {}
    for system in systems:
        # Row view for this retriever: which model decides it, its features (out-of-fold topic when fitted on).
        view = []
        for i, (candidates, signals) in enumerate(ranked[system]):
            x = decision.features(candidates, signals, models.get("topic"))  # as at search time
            x_fit = dict(x, topic=float(topic_oof[i])) if fitted[i] and signals.query_vector is not None else x
            view.append(
                {
                    "model": signals.system,
                    "x": x,
                    "x_fit": x_fit,
                    "old_x": decision.features(candidates, signals, old.get("topic")),
                    "y": y[i],
                    "split": rows[i]["split"],
                    "fitted": fitted[i],
                }
            )
        report[system] = view
    for model_name in systems:
        names = list(LEXICAL_FEATURES) if model_name == "bm25" else list(decision.FEATURES)
        if model_name != "bm25" and "topic" not in models:
            names.remove("topic")
        train = [r for r in report[model_name] if r["fitted"] and r["model"] == model_name]
        x = np.array([[r["x_fit"][n] for n in names] for r in train])
        ty = np.array([r["y"] for r in train])
        oof = np.zeros(len(train))
        fold = folds(len(train), seed=1)
        for k in range(FOLDS):
            part = fit_model(x[fold != k], ty[fold != k], names, args.c)
            oof[fold == k] = [
                decision.probability(r["x_fit"], part) for r, f in zip(train, fold, strict=True) if f == k
            ]
        model = fit_model(x, ty, names, args.c)
        answerable = oof[[r["split"] == "tune" and r["y"] == 1 for r in train]]
        if not len(answerable):
            answerable = oof[ty == 1]
        model["threshold"] = round(float(np.quantile(answerable, args.max_false_abstain)), 4)
        models[model_name] = model
        tune_mask = np.array([r["split"] == "tune" for r in train])
        print(
            f"== {model_name} model: {len(train)} fitted rows, out-of-fold AUC {auc(oof, ty):.3f} "
            f"(tune rows {auc(oof[tune_mask], ty[tune_mask]):.3f}), "
            f"threshold {model['threshold']}"
        )
        print("   weights " + " ".join(f"{n}={w:+.2f}" for n, w in model["weights"].items()))

    print("\nDev set with the new models (tune rows were fitted on; holdout never) vs the current file:")
    for system in systems:
        for part in ("tune", "holdout", "all"):
            view = [r for r in report[system] if r["split"] != "train" and (part == "all" or r["split"] == part)]
            labels = np.array([r["y"] for r in view])
            prob = np.array([decision.probability(r["x"], models[r["model"]]) for r in view])
            abstain = np.array([p < models[r["model"]]["threshold"] for p, r in zip(prob, view, strict=True)])
            line = (
                f"  {system:6s} {part:7s} AUC {auc(prob, labels):.3f}  abstain_recall {abstain[labels == 0].mean():.3f}"
                f"  false_abstain {abstain[labels == 1].mean():.3f}"
            )
            if old.get(system) and all(r["model"] in old for r in view):
                old_prob = np.array([decision.probability(r["old_x"], old[r["model"]]) for r in view])
                old_abstain = np.array([p < old[r["model"]]["threshold"] for p, r in zip(old_prob, view, strict=True)])
                line += (
                    f"   | current file: AUC {auc(old_prob, labels):.3f}"
                    f"  abstain_recall {old_abstain[labels == 0].mean():.3f}"
                    f"  false_abstain {old_abstain[labels == 1].mean():.3f}"
                )
            print(line)
    if args.write:
        models["_source"] = (
            f"scripts/kb_calibrate.py {args.devset} "
            f"(training: {args.training.name} + {args.generated} generated + tune split; "
            f"max false abstain {args.max_false_abstain}, C {args.c}, C topic {args.c_topic}; "
            f"{len(kb.procedures())} procedures)"
        )
        decision.ABSTENTION_FILE.write_text(json.dumps(models, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        decision._models.cache_clear()
        print(f"wrote {decision.ABSTENTION_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
