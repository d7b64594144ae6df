"""Questions the assistant did not answer, grouped by similar question (issue 14, item 2).

Read from the recorded interactions (assistant/app/interaction_log.py, masked text). A question is
unanswered for one of REASONS:
- `declined`: an administrative question whose procedure the catalogue does not hold (not_in_catalogue);
- `abstained`: nothing fitted ("không tìm thấy", the fallback's suggestions);
- `abandoned`: the assistant asked back (several procedures fit) and the citizen neither picked an option
  nor got one of them answered afterwards; an ask-back younger than ABANDON_AFTER with nothing after it
  may still be answered, and is not counted yet;
- `rated_bad`: the citizen rated the reply "chưa hài lòng" (a rating of a picked option counts for the
  question that was asked back).

Similar questions are grouped greedily: the distinct texts, most frequent first, each join the group whose
centroid is closest when the cosine reaches the threshold, else start a group. Vectors come from the
knowledge base's own embedding model (the query encoder search uses, after the same diacritics
restoration), or, when the index runs without it (BM25 only), from folded syllables and their bigrams.

Functions:
- `collect(since=None, until=None, channel=None, reasons=REASONS, db_path=None, now=None) -> list[Occurrence]`
- `group(occurrences, kb=None) -> list[Group]` (largest first)
- `unanswered_groups(..., kb=None, limit=100, unlabelled_only=False) -> Report`
- `csv_rows(groups) -> Iterator[list[str]]`
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from assistant.app import interaction_log, question_labels
from knowledge_base.text import bigrams, has_diacritics, normalize, syllables

REASONS = ("declined", "abstained", "abandoned", "rated_bad")
REASON_LABELS = {
    "declined": "Từ chối: không có trong danh mục",
    "abstained": "Không tìm thấy thủ tục phù hợp",
    "abandoned": "Hỏi lại nhưng người dân bỏ dở",
    "rated_bad": "Người dân chưa hài lòng",
}
ABANDON_AFTER = timedelta(minutes=30)
SCAN_LIMIT = 20_000  # recorded messages read per request, newest first
MAX_DISTINCT = 3_000  # distinct questions grouped per request (the most frequent)
# Cosine from which two questions are "the same question", with multilingual-e5-small (measured on 14 pairs,
# 2026-12-07): rewordings of one question 0.93-0.97; a neighbouring procedure 0.88-0.93 (tạm trú vs thường
# trú 0.926, giấy phép xây dựng vs kinh doanh 0.90); another topic 0.82-0.88. Tight on purpose: a group is
# labelled at once, and two groups of one question cost less than one group of two.
EMBEDDING_THRESHOLD = 0.93
LEXICAL_THRESHOLD = 0.5
_PROCEDURE_ACTIONS_CHOICE = "action_choose_option"


@dataclass(frozen=True)
class Occurrence:
    """One time a question went unanswered."""

    interaction_id: int
    question: str  # masked
    reason: str
    channel: str
    created_at: str
    codes: tuple[str, ...]


@dataclass
class Variant:
    question: str
    count: int = 0
    reasons: Counter = field(default_factory=Counter)
    label: question_labels.LabelRecord | None = None


@dataclass
class Group:
    id: str
    question: str  # the most frequent text of the group (on a tie, one with diacritics)
    count: int
    variants: list[Variant]
    reasons: Counter
    channels: Counter
    codes: list[str]  # procedures offered to these questions, most often first
    first_at: str
    last_at: str

    @property
    def labelled(self) -> int:
        return sum(1 for v in self.variants if v.label is not None)


@dataclass
class Report:
    groups: list[Group]
    questions: int  # occurrences in the period
    distinct: int  # distinct texts
    truncated: bool  # more groups than the limit


def _is_question(text: str) -> bool:
    """A typed question, not a button's payload ("/choose_option{...}") or a bare option number."""
    text = text.strip()
    return bool(text) and not text.startswith("/") and not text.isdigit()


def collect(
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    channel: str | None = None,
    reasons: Iterable[str] = REASONS,
    db_path: Path | None = None,
    now: datetime | None = None,
) -> list[Occurrence]:
    """Every unanswered question in the period (days in Vietnam time, inclusive), oldest first."""
    wanted = set(reasons)
    unknown = wanted - set(REASONS)
    if unknown:
        raise ValueError(f"reasons must be among {REASONS}, got {sorted(unknown)}")
    rows = interaction_log.list_interactions(
        since=since, until=until, channel=channel or None, limit=SCAN_LIMIT, db_path=db_path
    )
    rows.reverse()  # oldest first
    now = now or datetime.now(timezone.utc)
    grace = (now - ABANDON_AFTER).isoformat(timespec="seconds")
    by_sender: dict[str, list[interaction_log.InteractionRecord]] = {}
    for row in rows:
        by_sender.setdefault(row.sender_id, []).append(row)
    found: list[Occurrence] = []
    for turns in by_sender.values():
        last_asked_back = None
        for n, row in enumerate(turns):
            later = turns[n + 1 :]
            typed = _is_question(row.question) and row.action != _PROCEDURE_ACTIONS_CHOICE
            reason = None
            if typed and row.outcome == "not_in_catalogue":
                reason = "declined"
            elif typed and row.outcome == "abstained":
                reason = "abstained"
            elif typed and row.outcome == "asked_back" and not row.chosen_code:
                answered_later = any(t.outcome == "answered" and set(t.codes) & set(row.codes) for t in later)
                if not answered_later and (later or row.created_at < grace):
                    reason = "abandoned"
            if reason is None and row.feedback == "bad" and row.outcome != "feedback":
                asked = row if typed else last_asked_back
                if asked is not None:
                    found.append(
                        Occurrence(row.id, asked.question, "rated_bad", row.channel, row.created_at, tuple(row.codes))
                    )
            elif reason in wanted:
                found.append(Occurrence(row.id, row.question, reason, row.channel, row.created_at, tuple(row.codes)))
            if typed and row.outcome == "asked_back":
                last_asked_back = row
    found = [o for o in found if o.reason in wanted]
    found.sort(key=lambda o: (o.created_at, o.interaction_id))
    return found


# ---- similarity ----------------------------------------------------------------------------------


def _lexical_vectors(texts: list[str]) -> np.ndarray:
    vocabulary: dict[str, int] = {}
    bags = []
    for text in texts:
        words = syllables(normalize(text))
        bag = Counter(words + bigrams(words))
        bags.append(bag)
        for term in bag:
            vocabulary.setdefault(term, len(vocabulary))
    vectors = np.zeros((len(texts), max(1, len(vocabulary))), dtype=np.float32)
    for row, bag in enumerate(bags):
        for term, count in bag.items():
            vectors[row, vocabulary[term]] = count
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def _embedded_text(kb, text: str) -> str:
    """The text search would embed (diacritics restored when typed without), else the text itself."""
    try:
        return kb.read_question(text).embedded or text
    except Exception:  # noqa: BLE001 - the reading is an improvement, never a reason to fail the page
        return text


_vector_cache: OrderedDict[tuple[int, str], np.ndarray] = OrderedDict()  # (encoder, text) -> unit vector
_vector_lock = threading.Lock()
MAX_CACHED_VECTORS = 20_000  # ~30 MB of 384-dim vectors: a page reload does not embed the same questions again


def _embedded(kb, texts: list[str]) -> np.ndarray:
    encoder = kb.encoder
    keys = [(id(encoder), _embedded_text(kb, t)) for t in texts]
    with _vector_lock:
        missing = list(dict.fromkeys(key for key in keys if key not in _vector_cache))
    if missing:
        fresh = np.asarray(encoder.encode_queries([key[1] for key in missing]), dtype=np.float32)
        norms = np.linalg.norm(fresh, axis=1, keepdims=True)
        fresh = fresh / np.where(norms > 0, norms, 1.0)
        with _vector_lock:
            _vector_cache.update(zip(missing, fresh, strict=True))
    with _vector_lock:
        rows = []
        for key in keys:
            vector = _vector_cache.get(key)
            if vector is None:  # evicted meanwhile by another request: embed it again
                vector = np.asarray(encoder.encode_queries([key[1]]), dtype=np.float32)[0]
                vector = vector / (np.linalg.norm(vector) or 1.0)
            else:
                _vector_cache.move_to_end(key)
            rows.append(vector)
        while len(_vector_cache) > MAX_CACHED_VECTORS:
            _vector_cache.popitem(last=False)
    return np.vstack(rows)


def vectors_for(texts: list[str], kb=None) -> tuple[np.ndarray, float]:
    """Unit vectors of the texts and the cosine threshold that goes with them."""
    if getattr(kb, "encoder", None) is not None and texts:
        return _embedded(kb, texts), EMBEDDING_THRESHOLD
    return _lexical_vectors(texts), LEXICAL_THRESHOLD


def _group_id(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def _by_count(counts: Counter) -> Counter:
    """The same counts, most first, ties by name (a stable order for the page and the CSV)."""
    return Counter(dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))))


def group(occurrences: list[Occurrence], kb=None, db_path: Path | None = None) -> list[Group]:
    """Similar questions together, largest group first (then the most recent)."""
    variants: dict[str, Variant] = {}
    keys: dict[str, str] = {}  # normalized text -> the first spelling seen
    seen: dict[str, list[Occurrence]] = {}
    for occurrence in occurrences:
        key = normalize(occurrence.question)
        text = keys.setdefault(key, occurrence.question)
        variant = variants.setdefault(text, Variant(text))
        variant.count += 1
        variant.reasons[occurrence.reason] += 1
        seen.setdefault(text, []).append(occurrence)
    # Most frequent first; on a tie the text with diacritics (it reads better as the group's question), then the latest.
    ordered = sorted(
        variants.values(),
        key=lambda v: (-v.count, not has_diacritics(v.question), -max(o.interaction_id for o in seen[v.question])),
    )
    ordered = ordered[:MAX_DISTINCT]
    labels = question_labels.labels_for([question_labels.clean_question(v.question) for v in ordered], db_path)
    for variant in ordered:
        variant.label = labels.get(question_labels.clean_question(variant.question))
    vectors, threshold = vectors_for([v.question for v in ordered], kb)
    members: list[list[int]] = []
    centroids: list[np.ndarray] = []
    for index, vector in enumerate(vectors):
        best = -1
        if centroids:
            similarities = np.vstack(centroids) @ vector
            candidate = int(np.argmax(similarities))
            if similarities[candidate] >= threshold:
                best = candidate
        if best < 0:
            members.append([index])
            centroids.append(vector.copy())
        else:
            members[best].append(index)
            total = vectors[members[best]].sum(axis=0)
            centroids[best] = total / (np.linalg.norm(total) or 1.0)
    groups = []
    for indices in members:
        parts = [ordered[i] for i in indices]
        occurrences_of = [o for v in parts for o in seen[v.question]]
        reasons: Counter = Counter()
        for v in parts:
            reasons.update(v.reasons)
        reasons = _by_count(reasons)
        codes = Counter(code for o in occurrences_of for code in o.codes)
        stamps = sorted(o.created_at for o in occurrences_of)
        groups.append(
            Group(
                id=_group_id(parts[0].question),
                question=parts[0].question,
                count=len(occurrences_of),
                variants=parts,
                reasons=reasons,
                channels=_by_count(Counter(o.channel or "?" for o in occurrences_of)),
                codes=[code for code, _ in codes.most_common(5)],
                first_at=stamps[0],
                last_at=stamps[-1],
            )
        )
    groups.sort(key=lambda g: (g.count, g.last_at), reverse=True)
    return groups


def unanswered_groups(
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    channel: str | None = None,
    reasons: Iterable[str] = REASONS,
    kb=None,
    limit: int = 100,
    unlabelled_only: bool = False,
    db_path: Path | None = None,
    now: datetime | None = None,
) -> Report:
    occurrences = collect(since, until, channel, reasons, db_path=db_path, now=now)
    groups = group(occurrences, kb, db_path)
    if unlabelled_only:
        groups = [g for g in groups if g.labelled < len(g.variants)]
    distinct = len({normalize(o.question) for o in occurrences})
    return Report(
        groups=groups[: max(0, limit)], questions=len(occurrences), distinct=distinct, truncated=len(groups) > limit
    )


# ---- CSV -----------------------------------------------------------------------------------------

CSV_HEADER = [
    "nhom",
    "cau_hoi_dai_dien",
    "so_lan_nhom",
    "cau_hoi",
    "so_lan",
    "ly_do",
    "kenh",
    "lan_dau_utc",
    "lan_cuoi_utc",
    "thu_tuc_da_goi_y",
    "nhan",
    "ma_thu_tuc_gan_nhan",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula (citizen text is untrusted)."""
    text = str(value if value is not None else "")
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_rows(groups: list[Group]) -> Iterator[list[str]]:
    yield CSV_HEADER
    for g in groups:
        channels = ", ".join(f"{name} {n}" for name, n in g.channels.most_common())
        for v in g.variants:
            reasons = ", ".join(f"{REASON_LABELS[r]} ({n})" for r, n in v.reasons.most_common())
            yield [
                _cell(x)
                for x in (
                    g.id,
                    g.question,
                    g.count,
                    v.question,
                    v.count,
                    reasons,
                    channels,
                    g.first_at,
                    g.last_at,
                    " ".join(g.codes),
                    v.label.kind if v.label else "",
                    (v.label.code or "") if v.label else "",
                )
            ]
