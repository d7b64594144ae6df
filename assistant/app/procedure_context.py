"""Which procedure does a message refer to? Context rules for follow-ups, kept out of Rasa.

A message either names a procedure ("lệ phí đăng ký kết hôn?") or only asks about an aspect of
the current one ("còn lệ phí thì sao?", "nộp online được không?"). We tell them apart generically:
strip the aspect and filler vocabulary below from the message and look at what is left. Nothing
left means a follow-up. Something left is weighed by `names_another_procedure` (is the current
procedure among its matches, is it noise, is it about the current record's own content, does it read
as another procedure's title); only a new name switches (answer, ask back when several are close,
or abstain when the catalogue does not have it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from assistant.app.metrics import search_timer
from knowledge_base.schema import Decision, Procedure, Scope, SearchHit, SearchResponse
from knowledge_base.text import content_syllables, filler_words, fold, normalize, syllables

# Words that say WHAT is asked (aspects) or carry no content in a question. Generic question
# vocabulary, not procedure names; a token typed without diacritics also matches its accented form.
ASPECT_PHRASES = (
    """
giấy tờ|hồ sơ|thành phần hồ sơ|cần gì|cần những gì|chuẩn bị|mang theo
lệ phí|phí|chi phí|bao nhiêu tiền|hết bao nhiêu|mất bao nhiêu|tốn
thời gian|thời hạn|bao lâu|mấy ngày|bao nhiêu ngày|mất bao lâu|mất mấy ngày|trả kết quả
nộp|ở đâu|chỗ nào|nơi nào|nơi nộp|đâu|địa chỉ|cơ quan nào
online|onl|trực tuyến|qua mạng|trên mạng|toàn trình|dịch vụ công|internet
các bước|quy trình|trình tự|cách làm|làm sao|làm thế nào|như thế nào|thế nào|hướng dẫn
điều kiện|yêu cầu|ai được|đối tượng|kết quả|nhận được gì|được gì|thủ tục|tthc|gồm|bao gồm
""".replace("\n", "|")
    .strip("|")
    .split("|")
)
# Single words only where they never carry a procedure's name ("mất", "lại", "số", "nơi", "sao" do:
# "cấp lại do mất", "cấp số nhà", "nơi cư trú", "bản sao", so they are not here). The list lives with the
# other word lists in knowledge_base/data/abbreviations.yml (the search stopwords minus a few, plus chat words).
FILLER_WORDS = list(filler_words())

_WORD = re.compile(r"\w+", re.UNICODE)


def _phrases(entries: list[str]) -> list[tuple[str, ...]]:
    unique = {tuple(entry.strip().lower().split()) for entry in entries if entry.strip()}
    return sorted(unique, key=len, reverse=True)  # longest first: "bao nhiêu tiền" before "tiền"


_VOCABULARY = _phrases(ASPECT_PHRASES + FILLER_WORDS)


def _token_matches(token: str, word: str) -> bool:
    return token == word or (token == fold(token) and token == fold(word))


def residual_text(text: str) -> str:
    """The message without aspect and filler vocabulary: what may name a procedure."""
    tokens = _WORD.findall(normalize(text))
    kept: list[str] = []
    position = 0
    while position < len(tokens):
        for phrase in _VOCABULARY:
            window = tokens[position : position + len(phrase)]
            if len(window) == len(phrase) and all(_token_matches(t, w) for t, w in zip(window, phrase, strict=True)):
                position += len(phrase)
                break
        else:
            if not tokens[position].isdigit():  # a bare number is an option or an amount, not a name
                kept.append(tokens[position])
            position += 1
    return " ".join(kept)


class SearchableKnowledgeBase(Protocol):
    def search(self, query: str, top_k: int = 5, filters=None, system: str = "hybrid") -> SearchResponse: ...

    def get(self, code: str) -> Procedure | None: ...


class Outcome(str, Enum):
    answer = "answer"  # `procedure` is the one to answer about
    clarify = "clarify"  # ask back with `hits`
    abstain = "abstain"  # the message names something the catalogue does not have
    ask_which = "ask_which"  # only an aspect was asked and there is no current procedure


@dataclass
class Resolution:
    outcome: Outcome
    procedure: Procedure | None = None
    # clarify: the options; answer from a search: every hit, the answered one first (the rest are
    # what "không phải thủ tục này" offers next); empty for follow-ups and button codes.
    hits: list[SearchHit] = field(default_factory=list)
    follow_up: bool = False  # True when the current procedure was kept from context
    # The knowledge base's SearchResponse.scope (never re-derived here): catalogue for answer/clarify;
    # for abstain, administrative (not in this catalogue) or off_topic.
    scope: Scope = Scope.catalogue

    @property
    def alternatives(self) -> list[SearchHit]:
        """The other hits of the search that gave this answer (none for follow-ups)."""
        return self.hits[1:] if self.outcome == Outcome.answer else []


def _codes(response: SearchResponse) -> list[str]:
    if response.decision == Decision.answer:
        return [hit.code for hit in response.results[:1]]
    return [hit.code for hit in response.results]


def resolution_of(kb: SearchableKnowledgeBase, response: SearchResponse) -> Resolution:
    """What a search response means for the conversation: a procedure, the options to offer, or nothing."""
    if response.decision == Decision.answer and response.results:
        procedure = kb.get(response.results[0].code)
        if procedure is not None:
            return Resolution(Outcome.answer, procedure=procedure, hits=list(response.results))
    if response.decision == Decision.clarify and response.results:
        return Resolution(Outcome.clarify, hits=list(response.results))
    return Resolution(Outcome.abstain, scope=response.scope)


def check_scope(kb: SearchableKnowledgeBase, text: str, top_k: int = 5) -> Resolution:
    """Ask the catalogue about a message the NLU called out of scope (or was unsure about).

    No context: such a message is never a follow-up on the procedure in context, so only a
    procedure the message itself names can answer it. The knowledge base's decision and scope
    decide between answer, clarify and abstain (administrative or off-topic).
    """
    if not text.strip():
        return Resolution(Outcome.abstain, scope=Scope.off_topic)
    return resolution_of(kb, search_message(kb, text, top_k))


def resolve(
    kb: SearchableKnowledgeBase,
    text: str,
    current_code: str | None = None,
    named_procedure: str | None = None,
    explicit_code: str | None = None,
    top_k: int = 5,
) -> Resolution:
    """Decide which procedure the message is about.

    text: the user's message; current_code: the procedure in context (slot);
    named_procedure: a procedure name the NLU extracted, if any (a "names a procedure" signal);
    explicit_code: a code sent by a button payload (answered directly when it exists).
    """
    if explicit_code:
        procedure = kb.get(explicit_code)
        if procedure is not None:
            return Resolution(Outcome.answer, procedure=procedure)
    current = kb.get(current_code) if current_code else None
    # The stripped message keeps every word of the name even when the NLU extracted only part of
    # it ("khai sinh" of "khai sinh lưu động"); the entity itself serves as a "names something"
    # signal, and an entity made only of aspect words ("hồ sơ") names nothing.
    named_procedure = residual_text(named_procedure or "") or None
    mention = residual_text(text) or named_procedure or ""
    if not mention:
        if current is not None:
            return Resolution(Outcome.answer, procedure=current, follow_up=True)
        return Resolution(Outcome.ask_which)

    mention_response = None
    if current is not None:
        mention_response = _search(kb, mention, top_k)
        if not names_another_procedure(mention, mention_response, current, bool(named_procedure)):
            return Resolution(Outcome.answer, procedure=current, follow_up=True)
    return resolution_of(kb, search_message(kb, text, top_k, mention, mention_response))


def _search(kb: SearchableKnowledgeBase, query: str, top_k: int) -> SearchResponse:
    """A catalogue search for the chat, timed for /metrics (tthc_search_duration_seconds)."""
    with search_timer("chat"):
        return kb.search(query, top_k=top_k)


def _record_syllables(procedure: Procedure) -> set[str]:
    """Folded syllables of everything the record publishes (what a follow-up may ask about)."""
    parts = [
        procedure.title,
        procedure.steps,
        procedure.conditions,
        procedure.result,
        procedure.audience,
        procedure.where_to_submit,
        procedure.summary,
        *procedure.agencies,
        *procedure.keywords,
    ]
    parts += [f"{d.name} {d.copies} {d.form} {d.group}" for d in procedure.documents]
    parts += [f"{c.time.text} {c.fee.text} {c.description}" for c in procedure.channels]
    return set(syllables(normalize(" ".join(parts))))


def names_another_procedure(
    mention: str, mention_response: SearchResponse, current: Procedure, named_by_nlu: bool = False
) -> bool:
    """Does the leftover of a message (aspect words removed) name a procedure other than `current`?

    Generic signals, no per-question rules, by the number of content words left:
    - the current procedure is among the matches -> no;
    - the NLU extracted a procedure entity -> yes (any other match is a new name);
    - one word -> noise ("mang", "tiền"), no;
    - two words -> yes only when both are in the best match's title and not both in the current
      record ("kết hôn" yes; "giải quyết", "bản sao", "công chứng" asked about the record: no);
    - three or more -> yes, a new name or something the catalogue lacks (abstain).
    Measured with scripts/eval_context.py (see docs/answering.md).
    """
    if current.code in _codes(mention_response):
        return False
    if named_by_nlu:
        return True
    content = set(content_syllables(normalize(mention)))
    if len(content) < 2:
        return False
    if len(content) >= 3:
        return True
    if mention_response.abstained or not mention_response.results:
        return False
    in_title = content <= set(syllables(normalize(mention_response.results[0].title)))
    return in_title and not content <= _record_syllables(current)


def _words(text: str) -> str:
    return " ".join(_WORD.findall(normalize(text)))


def search_message(
    kb: SearchableKnowledgeBase,
    text: str,
    top_k: int = 5,
    mention: str | None = None,
    mention_response: SearchResponse | None = None,
) -> SearchResponse:
    """Search a whole message; when that abstains, fall back to the procedure mention.

    The whole message is the primary query (the index is tuned on full questions); aspect words
    can dilute it ("giấy tờ căn cước"), so the mention (given, or the message without aspect
    words; `mention_response` when it was already searched) is the second chance.
    """
    mention = residual_text(text) if mention is None else mention
    if mention_response is not None and mention == _words(text):
        return mention_response  # the same query: don't search twice
    response = _search(kb, text, top_k) if text.strip() else None
    if response is not None and not response.abstained:
        return response
    if mention_response is None:
        if not mention or mention == _words(text):
            return response or SearchResponse(query=text, decision=Decision.abstain)
        mention_response = _search(kb, mention, top_k)
    return response if response is not None and mention_response.abstained else mention_response
