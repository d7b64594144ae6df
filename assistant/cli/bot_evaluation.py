"""End-to-end evaluation of the assistant: every question asked by a new citizen over Rasa's REST channel.

`tthc bot eval FILE.jsonl` reads the question format of `tthc kb eval`
(`knowledge_base.evaluation.read_questions`: {"id", "question", "gold": [codes], "aspect"?}; gold []
means no procedure in the catalogue answers it). Each question gets a fresh sender id, is POSTed to
`<rasa_url>/webhooks/rest/webhook`, and the bot's first reply (all messages of that turn) is classified
by what it names or offers, never by the wording of a decline (which other parts of the bot change):

- **named** procedure X: a reply text contains «short title of X» (`assistant.app.answers.short_title`,
  as every answer heading writes it) or X's `source_url` (the link every answer carries). Titles and
  URLs come from the active catalogue index, so this works for any catalogue. Titles match exactly as
  written (case and diacritics; whitespace collapsed, Unicode NFC), so a decline quoting a lower-case
  example («đăng ký khai sinh») names nothing. Procedures that share one title are all named by it.
- **ask-back**: no procedure named, but buttons offering procedures. A button maps to a code by a
  `procedure_code` in its payload, else by its title: the short title exactly, or, when the title was
  shortened ("…"/"..." at the end), every catalogue title that starts with the part before it; a
  trailing "(qualifier)" that tells twin titles apart (level or agency) narrows the twins to the
  records whose level labels or agency it names. Buttons that offer no procedure are ignored.
- **declined**: neither (not-in-catalogue reply, off-topic reply, abstain, a question back, …).

Outcome of an answerable question (gold not empty):
- `right_directly`: the first reply names a gold code;
- `right_after_askback`: an ask-back offering a gold code; clicking that button (its payload sent as
  the same sender's next message) brings a reply naming that code;
- `askback_click_failed`: the ask-back offered a gold code, but the click's reply did not name it;
- `offered_without_gold`: an ask-back whose buttons hold no gold code;
- `wrong_procedure`: the first reply names procedures, none of them gold;
- `declined`; `error`.
Outcome of a no-answer question: `declined`, `given_procedure` (named or offered any procedure), `error`.

Errors (HTTP status ≥ 400, a 429 only after RATE_LIMIT_RETRIES waits of its Retry-After; timeouts;
connection failures; a body that is not a list of messages; an empty reply; the channel's apology for a
turn the bot could not answer, `SILENCE_REPLY`) are counted, one line each through `on_error`, and never
stop the run. They stay in the denominators (an error is not a right answer).

Aspect check (`aspect_spoken`): for a question with an `aspect` that got an answer (a reply naming a
procedure: the first one, or the one after the click), whether that reply's heading, its first line
with the «titles» removed, holds the aspect's marker from assistant/app/answers.py: documents → "hồ sơ cần"
or "thành phần hồ sơ", fee → "phí", time → "thời hạn", where → "nơi nộp"/"nơi tiếp nhận", online →
"trực tuyến", steps → "các bước"/"trình tự", conditions → "điều kiện", result → "kết quả", overview →
"(mã ". The record's honest "Danh mục thủ tục không nêu phí, lệ phí …" therefore speaks to the fee.

Report (`summarise`): right_directly, right_within_one_askback (directly or after the click),
wrong_procedure_rate and offered_without_gold are shares of the answerable questions;
no_answer_declined and no_answer_given_procedure shares of the no-answer ones; aspect_spoken the share
of the `aspect_judged` answers; errors a count; `counts` the raw outcome counts of both kinds.

Latency: the first reply's time (POST to response), percentiles over the questions without error,
after one untimed warm-up turn; reported with `machine_calibration_seconds()` so runs on a loaded or
faster machine can be compared. No Rasa import here: this runs in the app environment.
"""

from __future__ import annotations

import json
import re
import sys
import time
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from assistant.app.answers import short_title
from assistant.core.errors import SetupError
from connectors.fallback_replies import SILENCE_REPLY
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.evaluation import Question, latency_percentiles, machine_calibration_seconds
from knowledge_base.schema import LEVEL_LABELS, Procedure

WEBHOOK_PATH = "/webhooks/rest/webhook"
EXCERPT_CHARS = 200
WARMUP_MESSAGE = "xin chào"
RATE_LIMIT_RETRIES = 2  # a 429 is retried after its Retry-After (at most MAX_RETRY_WAIT_S), then counted
MAX_RETRY_WAIT_S = 30.0

ANSWERABLE_OUTCOMES = (
    "right_directly",
    "right_after_askback",
    "askback_click_failed",
    "offered_without_gold",
    "wrong_procedure",
    "declined",
    "error",
)
NO_ANSWER_OUTCOMES = ("declined", "given_procedure", "error")

# Aspect names of assistant.app.answers.ASPECTS, with the words a question file may use for them.
ASPECT_ALIASES = {
    "overview": "overview",
    "general": "overview",
    "documents": "documents",
    "document": "documents",
    "requirements": "documents",
    "papers": "documents",
    "fee": "fee",
    "fees": "fee",
    "cost": "fee",
    "time": "time",
    "processing_time": "time",
    "duration": "time",
    "where": "where",
    "place": "where",
    "location": "where",
    "online": "online",
    "steps": "steps",
    "process": "steps",
    "conditions": "conditions",
    "eligibility": "conditions",
    "result": "result",
}
# Markers in a reply heading (lower-cased, «titles» removed) that show it speaks to the aspect.
ASPECT_MARKERS = {
    "overview": ("(mã ",),
    "documents": ("hồ sơ cần", "thành phần hồ sơ"),
    "fee": ("phí",),
    "time": ("thời hạn",),
    "where": ("nơi nộp", "nơi tiếp nhận"),
    "online": ("trực tuyến",),
    "steps": ("các bước", "trình tự"),
    "conditions": ("điều kiện",),
    "result": ("kết quả",),
}

_QUOTED = re.compile(r"«([^«»]+)»")
_URL = re.compile(r"https?://[^\s<>\"'«»]+")
_PROCEDURE_CODE = re.compile(r'"procedure_code"\s*:\s*"([^"]+)"')
_ELLIPSES = ("…", "...")
_QUALIFIER = re.compile(r"^(.*\S)\s+\(([^()]+)\)$")


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def normalise_aspect(aspect: str | None) -> str | None:
    """The assistant.app.answers aspect a question's `aspect` names; KnowledgeBaseError for an unknown one."""
    if aspect is None or not aspect.strip():
        return None
    key = aspect.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in ASPECT_ALIASES:
        raise KnowledgeBaseError(f"unknown aspect {aspect!r}: use one of {', '.join(sorted(ASPECT_ALIASES))}")
    return ASPECT_ALIASES[key]


def aspect_spoken(aspect: str, text: str) -> bool:
    """Whether a reply's heading (first non-empty line, «titles» removed) speaks to `aspect` (ASPECT_MARKERS)."""
    heading = next((line for line in text.splitlines() if line.strip()), "")
    heading = _QUOTED.sub(" ", _norm(heading)).lower()
    return any(marker in heading for marker in ASPECT_MARKERS[normalise_aspect(aspect)])


# ---- the catalogue's names --------------------------------------------------------------------


class Catalogue:
    """How replies name procedures: short titles and source URLs of every record, and full titles."""

    def __init__(self, procedures: Iterable[Procedure]):
        self.by_title: dict[str, set[str]] = {}
        self.by_url: dict[str, set[str]] = {}
        self.full_titles: list[tuple[str, str]] = []
        self.records: dict[str, Procedure] = {}
        for procedure in procedures:
            self.records[procedure.code] = procedure
            self.by_title.setdefault(_norm(short_title(procedure)), set()).add(procedure.code)
            self.full_titles.append((_norm(procedure.title), procedure.code))
            if procedure.source_url.strip():
                self.by_url.setdefault(procedure.source_url.strip(), set()).add(procedure.code)

    def named_in(self, text: str) -> set[str]:
        """Codes whose «short title» or source URL the text contains."""
        codes: set[str] = set()
        for quoted in _QUOTED.findall(text):
            codes |= self.by_title.get(_norm(quoted), set())
        for url in _URL.findall(text):
            codes |= self.by_url.get(url.rstrip(".,;:)"), set())
        return codes

    def button_codes(self, button: dict) -> set[str]:
        """Codes a button offers: the procedure_code in its payload, else the procedures its title names.

        The title is a short title, possibly shortened ("…"), possibly followed by a qualifier that tells
        twin titles apart ("Đăng ký kết hôn (Cấp xã)"); the qualifier narrows twins to the records whose
        level labels or first agency it holds."""
        found = _PROCEDURE_CODE.search(str(button.get("payload") or ""))
        if found:
            return {found.group(1).strip()}
        title = _norm(str(button.get("title") or ""))
        codes = self._title_codes(title)
        qualified = _QUALIFIER.match(title)
        if codes or not qualified:
            return codes
        codes = self._title_codes(qualified.group(1))
        return self._narrow(codes, qualified.group(2)) if len(codes) > 1 else codes

    def _title_codes(self, title: str) -> set[str]:
        if not title:
            return set()
        if title in self.by_title:
            return set(self.by_title[title])
        for ellipsis in _ELLIPSES:
            if title.endswith(ellipsis):
                prefix = title[: -len(ellipsis)].rstrip(" ,;:")
                if prefix:
                    return {code for full, code in self.full_titles if full.startswith(prefix)}
        return set()

    def _narrow(self, codes: set[str], qualifier: str) -> set[str]:
        qualifier = qualifier.casefold()
        scores = {}
        for code in codes:
            procedure = self.records[code]
            levels = ", ".join(LEVEL_LABELS[level] for level in procedure.levels).casefold()
            agency = _norm(procedure.agencies[0])[:30].casefold() if procedure.agencies else ""
            scores[code] = bool(levels and levels in qualifier) + bool(agency and agency in qualifier)
        best = max(scores.values(), default=0)
        return {code for code, score in scores.items() if score == best} if best else codes


@dataclass
class ClassifiedReply:
    """One bot turn: 'named', 'askback' or 'declined', with what it named and what its buttons offer."""

    kind: str
    text: str
    named: set[str] = field(default_factory=set)
    # (button payload, codes it offers) for every button that offers a procedure, in order.
    offers: list[tuple[str, set[str]]] = field(default_factory=list)

    @property
    def offered(self) -> set[str]:
        return set().union(*(codes for _, codes in self.offers)) if self.offers else set()


def classify_reply(messages: Sequence[dict], catalogue: Catalogue) -> ClassifiedReply:
    """Classify the bot messages of one turn (Rasa REST format: {"text", "buttons": [{"title", "payload"}]})."""
    text = "\n".join(str(m.get("text") or "") for m in messages if isinstance(m, dict))
    named = catalogue.named_in(text)
    offers = []
    for message in messages:
        for button in (message.get("buttons") or []) if isinstance(message, dict) else []:
            if isinstance(button, dict):
                codes = catalogue.button_codes(button)
                if codes:
                    offers.append((str(button.get("payload") or button.get("title") or ""), codes))
    kind = "named" if named else "askback" if offers else "declined"
    return ClassifiedReply(kind, text, named, offers)


# ---- talking to the bot -----------------------------------------------------------------------


class TurnError(Exception):
    """A turn the bot did not answer: HTTP error, timeout, unreadable or empty reply."""


def send_turn(client: httpx.Client, rasa_url: str, sender: str, message: str) -> tuple[list[dict], float]:
    """POST one message as `sender`; the bot messages and the milliseconds to get them."""
    for attempt in range(RATE_LIMIT_RETRIES + 1):
        started = time.perf_counter()
        try:
            response = client.post(rasa_url + WEBHOOK_PATH, json={"sender": sender, "message": message})
        except httpx.TimeoutException:
            raise TurnError(f"timeout after {client.timeout.read} s") from None
        except httpx.HTTPError as exc:
            raise TurnError(f"connection error ({exc.__class__.__name__}: {exc})") from None
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.status_code != 429 or attempt == RATE_LIMIT_RETRIES:
            break
        # The channel's rate limit (per client address off loopback) is the evaluator's pace, not the bot's answer.
        time.sleep(_retry_after(response))
    if response.status_code >= 400:
        raise TurnError(f"HTTP {response.status_code}: {response.text[:120]!r}")
    try:
        messages = response.json()
    except ValueError:
        raise TurnError(f"reply is not JSON: {response.text[:120]!r}") from None
    if not isinstance(messages, list):
        raise TurnError(f"reply is not a list of bot messages: {str(messages)[:120]!r}")
    messages = [m for m in messages if isinstance(m, dict) and (m.get("text") or m.get("buttons"))]
    if not messages:
        raise TurnError("empty reply (no bot message)")
    if any(m.get("text") == SILENCE_REPLY for m in messages):
        raise TurnError("the channel's apology: the bot produced no reply for this turn")
    return messages, elapsed_ms


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(MAX_RETRY_WAIT_S, max(1.0, float(response.headers.get("Retry-After", 1))))
    except ValueError:
        return 1.0


def check_reachable(client: httpx.Client, rasa_url: str) -> None:
    """One untimed warm-up turn; SetupError naming the fix when the REST channel cannot be reached."""
    fix = "start the assistant with `tthc up`, or pass --rasa-url of a running Rasa server"
    try:
        response = client.post(
            rasa_url + WEBHOOK_PATH, json={"sender": f"eval-warmup-{uuid.uuid4().hex}", "message": WARMUP_MESSAGE}
        )
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise SetupError(
            f"Rasa URL {rasa_url!r} is not a valid URL ({exc}): pass e.g. --rasa-url http://127.0.0.1:5005"
        ) from None
    except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout):
        return  # reachable but slow: the questions' own timeouts are counted as errors
    except httpx.HTTPError as exc:
        raise SetupError(f"Rasa server not reachable at {rasa_url} ({exc.__class__.__name__}): {fix}") from None
    if response.status_code == 404:
        raise SetupError(f"no REST chat channel at {rasa_url}{WEBHOOK_PATH} (HTTP 404): {fix}")


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def evaluate_question(
    client: httpx.Client, rasa_url: str, question: Question, catalogue: Catalogue, aspect: str | None = None
) -> dict:
    """Ask one question as a new citizen (clicking one gold ask-back button); its detail record."""
    gold = set(question.gold)
    sender = f"eval-{uuid.uuid4().hex}"
    record = {
        "id": question.id,
        "question": question.question,
        "gold": question.gold,
        "aspect": aspect,
        "outcome": "error",
        "first_reply": None,
        "named": [],
        "offered": [],
        "clicked": None,
        "clicked_codes": [],
        "named_after_click": [],
        "aspect_spoken": None,
        "latency_ms": None,
        "reply_excerpt": "",
        "error": None,
    }
    try:
        messages, elapsed_ms = send_turn(client, rasa_url, sender, question.question)
    except TurnError as exc:
        record["error"] = str(exc)
        return record
    first = classify_reply(messages, catalogue)
    record.update(
        first_reply=first.kind,
        named=sorted(first.named),
        offered=sorted(first.offered),
        latency_ms=round(elapsed_ms, 1),
        reply_excerpt=_excerpt(first.text),
    )
    answer = first if first.kind == "named" else None
    if not gold:
        record["outcome"] = "declined" if first.kind == "declined" else "given_procedure"
    elif first.kind == "named":
        record["outcome"] = "right_directly" if first.named & gold else "wrong_procedure"
    elif first.kind == "declined":
        record["outcome"] = "declined"
    else:
        payload, codes = next(((p, c) for p, c in first.offers if c & gold), (None, set()))
        if payload is None:
            record["outcome"] = "offered_without_gold"
        else:
            target = sorted(codes & gold)
            record.update(clicked=payload, clicked_codes=target)
            try:
                after, _ = send_turn(client, rasa_url, sender, payload)
            except TurnError as exc:
                record.update(outcome="error", error=f"after clicking {payload}: {exc}")
                return record
            second = classify_reply(after, catalogue)
            record["named_after_click"] = sorted(second.named)
            record["reply_excerpt"] += " ⟶ " + _excerpt(second.text)
            record["outcome"] = "right_after_askback" if second.named & set(target) else "askback_click_failed"
            answer = second if second.kind == "named" else None
    if aspect and answer is not None:
        record["aspect_spoken"] = aspect_spoken(aspect, answer.text)
    return record


def _share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def summarise(records: Sequence[dict], calibration_s: float | None = None) -> dict:
    """The report of the CLI contract from the per-question records."""
    answerable = [r for r in records if r["gold"]]
    no_answer = [r for r in records if not r["gold"]]
    a = Counter(r["outcome"] for r in answerable)
    z = Counter(r["outcome"] for r in no_answer)
    judged = [r["aspect_spoken"] for r in records if r["aspect_spoken"] is not None]
    latencies = [r["latency_ms"] for r in records if r["latency_ms"] is not None and not r["error"]]
    n_a, n_z = len(answerable), len(no_answer)
    return {
        "n": len(records),
        "answerable": n_a,
        "no_answer": n_z,
        "right_directly": _share(a["right_directly"], n_a),
        "right_within_one_askback": _share(a["right_directly"] + a["right_after_askback"], n_a),
        "wrong_procedure_rate": _share(a["wrong_procedure"], n_a),
        "offered_without_gold": _share(a["offered_without_gold"], n_a),
        "no_answer_declined": _share(z["declined"], n_z),
        "no_answer_given_procedure": _share(z["given_procedure"], n_z),
        "aspect_spoken": _share(sum(judged), len(judged)),
        "aspect_judged": len(judged),
        "errors": sum(1 for r in records if r["error"]),
        **latency_percentiles(latencies),
        "calibration_s": calibration_s,
        "counts": {
            "answerable": {outcome: a[outcome] for outcome in ANSWERABLE_OUTCOMES},
            "no_answer": {outcome: z[outcome] for outcome in NO_ANSWER_OUTCOMES},
        },
    }


def _stderr_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def evaluate_bot(
    questions: Sequence[Question],
    procedures: Iterable[Procedure],
    rasa_url: str,
    *,
    concurrency: int = 1,
    timeout_s: float = 60.0,
    on_error: Callable[[str], None] = _stderr_line,
) -> tuple[dict, list[dict]]:
    """Ask every question of a live bot; (report, per-question records in question order).

    SetupError when the Rasa server is unreachable; KnowledgeBaseError for an unknown aspect.
    """
    if concurrency < 1:
        raise SetupError(f"--concurrency must be at least 1, got {concurrency}")
    if not timeout_s > 0:
        raise SetupError(f"--timeout must be a positive number of seconds, got {timeout_s}")
    aspects = [normalise_aspect(q.aspect) for q in questions]  # fail on a bad file before any request
    catalogue = Catalogue(procedures)
    rasa_url = rasa_url.rstrip("/")
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(timeout=timeout_s, limits=limits) as client:
        check_reachable(client, rasa_url)

        def run(item: tuple[Question, str | None]) -> dict:
            question, aspect = item
            record = evaluate_question(client, rasa_url, question, catalogue, aspect)
            if record["error"]:
                on_error(f"tthc bot eval: question {question.id}: {record['error']}")
            return record

        items = list(zip(questions, aspects, strict=True))
        if concurrency == 1:
            records = [run(item) for item in items]
        else:
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                records = list(pool.map(run, items))
    return summarise(records, machine_calibration_seconds()), records


def write_details(path, records: Sequence[dict]) -> None:
    """One JSON line per question."""
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
