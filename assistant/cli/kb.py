"""`tthc kb`: import a catalogue and build its index, search it, evaluate search on a question set."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from assistant.core.settings import get_settings
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.evaluation import evaluate, read_questions
from knowledge_base.store import SYSTEMS, KnowledgeBase


def register(subparsers) -> None:
    kb = subparsers.add_parser("kb", help="knowledge base: import, search, evaluate")
    kb.add_argument("--data-dir", type=Path, help="index location (default: catalog.data_dir setting)")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    kb.set_defaults(handler=lambda args: (kb.print_help(), 0)[1])

    imp = kb_sub.add_parser("import", help="import a national-format directory or seed YAML and build the index")
    imp.add_argument("path", type=Path)
    imp.add_argument("--no-dense", action="store_true", help="build the BM25 index only (no embedding model)")
    imp.add_argument(
        "--local-facts",
        type=Path,
        help="the province's facts YAML merged over the records (default: province.local_facts setting)",
    )
    imp.set_defaults(handler=import_command)

    search = kb_sub.add_parser("search", help="search the active index")
    search.add_argument("query")
    search.add_argument("--top", type=int, default=5)
    search.add_argument("--json", action="store_true", help="machine-readable output")
    search.add_argument("--system", choices=SYSTEMS, default="hybrid")
    search.set_defaults(handler=search_command)

    ev = kb_sub.add_parser("eval", help="evaluate search on a JSONL question set")
    ev.add_argument("file", type=Path, nargs="?", help="JSONL question file (or --labelled)")
    ev.add_argument(
        "--labelled",
        action="store_true",
        help="the questions the catalogue team labelled on the staff page (<data-dir>/labels/labelled.jsonl)",
    )
    ev.add_argument("--json", action="store_true", help="machine-readable output")
    ev.add_argument("--system", choices=SYSTEMS, default="hybrid")
    ev.add_argument(
        "--split", help='only the questions of this split (the file\'s "split" field, e.g. tune or holdout)'
    )
    ev.set_defaults(handler=eval_command)

    train = kb_sub.add_parser("train", help="train the active catalogue's ranking and decision models (a new build)")
    train.set_defaults(handler=train_command)

    status = kb_sub.add_parser("status", help="show the active index")
    status.set_defaults(handler=status_command)

    questions = kb_sub.add_parser(
        "questions", help="generate training questions from the catalogue (JSONL, `kb eval` format)"
    )
    questions.add_argument(
        "--catalog-dir",
        type=Path,
        help="catalogue to read (national directory or seed YAML); default: the active index",
    )
    questions.add_argument("--per-record", type=int, default=6, help="questions per record (default 6)")
    questions.add_argument(
        "--rules",
        type=int,
        default=None,
        help="no-answer questions about rules to add (default: one per two records; 0: none)",
    )
    questions.add_argument("--seed", type=int, default=13)
    questions.add_argument("--out", type=Path, help="JSONL file to write (default: standard output)")
    questions.set_defaults(handler=questions_command)


def _paths(args) -> tuple[Path, Path]:
    settings = get_settings()
    data_dir = args.data_dir or settings.data_dir
    return data_dir, settings.embedding_model_path


def _open(args) -> KnowledgeBase:
    data_dir, model_path = _paths(args)
    return KnowledgeBase.open(data_dir, model_path, threads=get_settings().embedding.threads)


def import_command(args) -> int:
    from knowledge_base.importers import load_catalog

    data_dir, model_path = _paths(args)
    report = load_catalog(args.path, args.local_facts or get_settings().local_facts_path)
    print(report.render())
    if not report.procedures:
        raise KnowledgeBaseError(f"no usable procedure in {args.path}: every record was skipped (see the report above)")
    if args.no_dense:
        model_path = None
    elif not model_path.exists():
        print(
            f"warning: embedding model not found at {model_path}; building the BM25 index only "
            "(run `tthc up` to convert the model, then re-import)",
            file=sys.stderr,
        )
        model_path = None
    kb = KnowledgeBase.build(
        report.procedures, data_dir, model_path, progress=True, threads=get_settings().embedding.threads
    )
    m = kb.manifest
    print(
        f"Index: {m['procedures']} procedures, "
        f"dense={'yes (' + str(m['embedded']) + ' embedded)' if m['model'] else 'no'}, "
        f"built in {m['build_seconds']} s -> {kb.directory}"
    )
    _print_models(kb)
    # Search uses the new index at once; the bot's NLU knows procedure names from its training data.
    print(
        "Next: `tthc nlu generate` adds these procedure names to the bot's NLU lookup table; "
        "`tthc up` then retrains the Rasa model."
    )
    return 0


def search_command(args) -> int:
    if not args.query.strip():
        raise KnowledgeBaseError('empty query: pass the question in quotes, e.g. tthc kb search "làm căn cước cần gì"')
    kb = _open(args)
    response = kb.search(args.query, top_k=args.top, system=args.system)
    if args.json:
        payload = {
            "query": response.query,
            "abstained": response.abstained,
            "decision": response.decision.value,
            "scope": response.scope.value,
            "results": [{"code": h.code, "title": h.title, "score": h.score} for h in response.results],
        }
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    print(f"decision: {response.decision.value}  scope: {response.scope.value}")
    for rank, hit in enumerate(response.results, 1):
        print(f"{rank}. [{hit.code}] {hit.title} ({hit.score:.3f})")
    return 0


def eval_command(args) -> int:
    if args.labelled == (args.file is not None):
        raise KnowledgeBaseError(
            "pass one of: a question file (tthc kb eval FILE.jsonl) "
            "or --labelled (the questions labelled on the staff page)"
        )
    if args.labelled:
        from knowledge_base.labelled import evaluation_questions, read_labelled

        questions = evaluation_questions(read_labelled(_paths(args)[0], required=True))
    else:
        questions = read_questions(args.file)
    if args.split:
        questions = [q for q in questions if q.split == args.split]
        if not questions:
            raise KnowledgeBaseError(
                f'no question in {args.file} has split {args.split!r}: check the file\'s "split" values'
            )
    kb = _open(args)
    metrics = evaluate(kb, questions, system=args.system)
    if args.json:
        print(json.dumps(metrics, ensure_ascii=False))
    else:
        for key, value in metrics.items():
            print(f"{key}: {value}")
    return 0


def train_command(args) -> int:
    """Retrain on the active index's own records: a new immutable build, swapped in atomically."""
    data_dir, model_path = _paths(args)
    if not model_path.exists():
        raise KnowledgeBaseError(
            f"training needs the embedding model at {model_path}: run `tthc up --prepare-only` first"
        )
    kb = KnowledgeBase.rebuild(data_dir, model_path, progress=True)
    _print_models(kb)
    return 0


def _print_models(kb: KnowledgeBase) -> None:
    info = kb.manifest.get("models")
    if not info:
        print("Ranking models: none (catalogue too small or no embedding model); search uses the untrained ranking")
        return
    print(
        f"Ranking models: trained on {info['questions']} generated questions ({info['per_record']} per record), "
        f"{info['rule_questions']} rule and {info['no_answer_written']} written no-answer questions, "
        f"{info['left_out_negatives']} left-out-{info.get('left_out', 'field')} questions, in {info['seconds']} s; "
        f"abstain threshold {info['answerable_threshold']} (out-of-fold on generated questions: "
        f"abstains on {info['oof_abstain_recall']}, false abstain {info['oof_false_abstain']})"
    )


def status_command(args) -> int:
    kb = _open(args)
    m = kb.manifest
    print(f"index: {kb.directory}")
    print(
        f"procedures: {m['procedures']}  built: {m['built_at']}  dense model: {m['model'] or 'none'}"
        f"  dense search: {'on' if kb.has_dense else 'off'}  learned ranking: {'on' if kb.learned else 'off'}"
    )
    return 0


def questions_command(args) -> int:
    from collections import Counter

    from knowledge_base.questions import generate, rule_questions

    if args.per_record < 1:
        raise KnowledgeBaseError("--per-record must be at least 1")
    if args.catalog_dir is not None:
        from knowledge_base.importers import load_catalog

        procedures = load_catalog(args.catalog_dir).procedures
    else:
        procedures = KnowledgeBase.open(_paths(args)[0], None).procedures()
    if not procedures:
        raise KnowledgeBaseError(
            "no procedure to generate questions from: pass --catalog-dir PATH or run `tthc kb import PATH`"
        )
    generated = generate(procedures, per_record=args.per_record, seed=args.seed)
    rules = len(procedures) // 2 if args.rules is None else max(0, args.rules)
    generated += rule_questions(procedures, rules, seed=args.seed)
    lines = [
        json.dumps(
            {
                "id": f"gen-{i:06d}",
                "question": q.text,
                "gold": [q.code] if q.code else [],
                "aspect": q.aspect,
                "style": q.style,
                "group": q.group,
            },
            ensure_ascii=False,
        )
        for i, q in enumerate(generated, 1)
    ]
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    styles = Counter(q.style for q in generated)
    print(
        f"{len(generated)} questions from {len(procedures)} procedures"
        f"{' -> ' + str(args.out) if args.out else ''}: "
        + ", ".join(f"{style} {n}" for style, n in sorted(styles.items())),
        file=sys.stderr,
    )
    return 0
