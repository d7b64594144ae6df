"""English questions from foreigners (issue 15, item 6): recognise them offline, read them with a small
glossary of administrative English, and retrieve through the multilingual e5 embeddings.

Recognition (`is_english`) is general and explainable, no per-question rules. Every ASCII word of the message
is one of:
- English-only: an English function word or glossary word that is not a Vietnamese syllable ("how", "the" is
  not: it is the folded "thẻ"/"thế"), or a word with an English suffix that no Vietnamese syllable has
  ("registration", "certified");
- shared: an English word that is also a Vietnamese syllable typed without diacritics ("to", "can", "do", "an");
- other (a Vietnamese syllable, an abbreviation such as "cccd").
A word with Vietnamese letters or tone marks counts as Vietnamese. The message is English when English-only
words plus half the shared ones make at least half of its words, with at least two English-only words (a
one-word message is English only when it is a glossary term that is not a Vietnamese syllable: "passport",
not "hello" or "ok", which Vietnamese chat uses too).

Reading (`glossary_terms`): the glossary (`data/english_glossary.yml`) maps general administrative English to
the Vietnamese words the catalogue uses ("birth certificate" -> "giấy khai sinh", "passport" -> "hộ chiếu"),
longest phrase first, on lower-cased words with plural and verb endings removed. It holds general vocabulary
only, never a question.

Retrieval (`search`): e5 embeds the English question with the Vietnamese terms appended in brackets; BM25
reads the Vietnamese terms only; both scores are scaled to [0, 1] as in hybrid search and averaged, plus the
hybrid search's title-precision bonus (the generic "Đăng ký thường trú" before "Xóa đăng ký thường trú"). The
decision is explainable: no glossary term -> abstain as off-topic (nothing administrative was recognised);
terms the best record does not name (under MIN_COVERAGE of their syllables in its title, everyday names, summary
or field) -> abstain as administrative ("not in our catalogue"); otherwise answer when the best
record leads the next by ANSWER_MARGIN, else ask back with the records within that margin (2 to 5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge_base.text import normalize

# Recognition, the glossary and aspects need only the standard library and PyYAML: the Rasa environment
# imports this module too (assistant/rasa_process/components/english_router.py). Search imports numpy and the schema.

GLOSSARY_FILE = Path(__file__).resolve().parent / "data" / "english_glossary.yml"
ENGLISH_SHARE = 0.5  # English-only words plus half the shared ones, as a share of all words
SHARED_WEIGHT = 0.5
DENSE_WEIGHT = 0.5  # e5 reads the English question itself; BM25 only the glossary's Vietnamese terms
POOL = 50  # dense scores are rescaled between the POOL-th best and the best, as in hybrid search
TITLE_PRECISION_WEIGHT = 0.3  # the hybrid search's weight (knowledge_base/store.py)
MIN_COVERAGE = 0.6  # share of the glossary terms' syllables the best record's names, summary or field must hold
ANSWER_MARGIN = 0.1  # fused score lead of the best record over the next for a direct answer
OFFER_MAX = 5

_WORD = re.compile(r"[^\W\d_]+(?:'[a-z]+)?", re.UNICODE)
_ASCII_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")

# English function words and the common words of a question (what, how, need, get, apply ...). General language.
FUNCTION_WORDS = frozenset(
    """
a an the this that these those my your his her its our their me you him them us we they i he she it
is am are was were be been being do does did done have has had having can could will would shall should may
might must not no yes and or but if then so because as of in on at to for from with without by about into
over under after before during between within up down out off again also too very just only more most
what which who whom whose where when why how there here than any some all each every both either
get got getting give make need needs needed want wanted like know tell please thank thanks hello hi dear
i'm i've i'd don't doesn't can't what's how's where's it's let let's would've
way ways kind anyone someone somebody something anything much many long old new first
apply applying applied submit submitted send obtain find help go come take takes took live living stay
""".split()
)

# Words that say WHAT is asked about a procedure (aspects) or carry no procedure name: a message made only of
# these and function words is a follow-up on the procedure in context ("how much is the fee?").
ASPECT_WORDS = {
    "documents": "document documents paper papers paperwork dossier bring prepare required require requirement "
    "requirements checklist",
    "fee": "fee fees cost costs price charge charges pay paid payment money expensive cheap",
    "time": "day days week weeks time processing quick quickly fast soon wait",
    "where": "where office address counter location place submit",
    "online": "online internet website web portal electronically",
    "steps": "step steps process instructions guide",
    "conditions": "condition conditions eligible eligibility qualify who",
}
_ASPECT_PHRASES = {
    "fee": ("how much",),
    "time": ("how long", "how many days", "processing time"),
    "where": ("where do", "where can", "where should", "which office"),
    "online": ("do it online", "apply online", "submit online"),
    "steps": ("what are the steps", "step by step"),
    "documents": ("what do i need", "what documents", "what papers"),
}
COURTESY_WORDS = frozenset("sir madam ok okay hey excuse sorry procedure procedures vietnam vietnamese".split())

# Suffixes that no Vietnamese syllable (folded) ends with: a longer word ending so is English.
_ENGLISH_SUFFIX = re.compile(
    r"(?:tion|sion|ment|ness|ity|ing|ed|ly|ance|ence|ate|ise|ize|ous|ful|able|ship|er|"
    r"ers|al|ive|ure|age|ry|ies)$"
)

# Folded Vietnamese syllable: optional onset, a vowel nucleus from the Vietnamese set, optional coda.
_VI_SYLLABLE = re.compile(
    r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|b|c|d|g|h|k|l|m|n|p|r|s|t|v|x)?"
    r"(?:uye|uya|uyu|uoi|uou|ieu|yeu|oai|oay|oeo|uay|uai|uoi|ay|ai|ao|au|eo|eu|ia|ie|iu|oa|oe|oi|oo|ua|ue|ui|uo|"
    r"uu|uy|ye|ya|a|e|i|o|u|y)"
    r"(?:ng|nh|ch|c|m|n|p|t)?$"
)


def is_vietnamese_syllable(word: str) -> bool:
    """Whether a lower-case ASCII word can be a Vietnamese syllable typed without diacritics ("to", "can")."""
    return bool(_VI_SYLLABLE.match(word))


@dataclass(frozen=True)
class LanguageEvidence:
    """What `is_english` counted, for explanations and tests."""

    words: int
    english_only: int
    shared: int
    vietnamese: int
    glossary: int = 0  # words that are glossary terms (a one-word message is English only as one)

    @property
    def share(self) -> float:
        return (self.english_only + SHARED_WEIGHT * self.shared) / self.words if self.words else 0.0

    @property
    def english(self) -> bool:
        if self.words == 1:
            return self.glossary == 1
        return self.english_only >= 2 and self.share >= ENGLISH_SHARE


def _lemma(word: str) -> str:
    """A crude English lemma: plural and common verb endings removed ("certificates" -> "certificate")."""
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("'s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + replacement
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


@lru_cache(maxsize=1)
def _glossary() -> tuple[tuple[tuple[str, ...], str], ...]:
    """(English phrase as lemmas, Vietnamese) pairs, longest phrase first."""
    data = yaml.safe_load(GLOSSARY_FILE.read_text(encoding="utf-8")) or {}
    pairs = []
    for section in data.values():
        for english, vietnamese in (section or {}).items():
            for variant in str(english).split("|"):
                words = tuple(_lemma(w) for w in _ASCII_WORD.findall(variant.lower()))
                if words:
                    pairs.append((words, str(vietnamese)))
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


@lru_cache(maxsize=1)
def _glossary_words() -> frozenset[str]:
    return frozenset(word for phrase, _ in _glossary() for word in phrase)


def _aspect_words() -> frozenset[str]:
    return frozenset(_lemma(w) for words in ASPECT_WORDS.values() for w in words.split())


def evidence(text: str) -> LanguageEvidence:
    """Count the words of a message for `is_english` (see the module docstring)."""
    words = _WORD.findall(normalize(text))
    known = FUNCTION_WORDS | _glossary_words() | _aspect_words() | COURTESY_WORDS
    english_only = shared = vietnamese = 0
    glossary = sum(
        1
        for w in words
        if _ASCII_WORD.fullmatch(w)
        and not is_vietnamese_syllable(w)
        and (w in _glossary_words() or _lemma(w) in _glossary_words())
    )
    for word in words:
        if not _ASCII_WORD.fullmatch(word):
            vietnamese += 1  # Vietnamese letters or tone marks
            continue
        lemma = _lemma(word)
        in_english = word in known or lemma in known
        syllable = is_vietnamese_syllable(word)
        if in_english and syllable:
            shared += 1
        elif in_english or (not syllable and len(word) >= 5 and _ENGLISH_SUFFIX.search(word)):
            english_only += 1
        elif syllable:
            vietnamese += 1
    return LanguageEvidence(len(words), english_only, shared, vietnamese, glossary)


def is_english(text: str) -> bool:
    """Whether a message is written in English (offline, see the module docstring)."""
    return evidence(text).english


def _lemmas(text: str) -> list[str]:
    return [_lemma(w) for w in _ASCII_WORD.findall(normalize(text))]


def glossary_terms(text: str) -> list[str]:
    """The Vietnamese terms of the glossary phrases an English text contains, in order, each once."""
    lemmas = _lemmas(text)
    terms: list[str] = []
    position = 0
    while position < len(lemmas):
        for phrase, vietnamese in _glossary():
            if tuple(lemmas[position : position + len(phrase)]) == phrase:
                if vietnamese not in terms:
                    terms.append(vietnamese)
                position += len(phrase)
                break
        else:
            position += 1
    return terms


def aspect(text: str) -> str:
    """The aspect an English question asks about ("overview" when none): "how much is the fee" -> "fee"."""
    lowered = " ".join(_ASCII_WORD.findall(normalize(text)))
    for name, phrases in _ASPECT_PHRASES.items():
        if any(re.search(rf"\b{re.escape(phrase)}\b", lowered) for phrase in phrases):
            return name
    lemmas = set(_lemmas(text))
    for name, words in ASPECT_WORDS.items():
        if lemmas & {_lemma(w) for w in words.split()}:
            return name
    return "overview"


def names_nothing(text: str) -> bool:
    """True when an English message names no procedure: no glossary term and only function, aspect and
    courtesy words ("and how much is the fee?"), i.e. a follow-up on the procedure in context."""
    if glossary_terms(text):
        return False
    ignorable = FUNCTION_WORDS | _aspect_words() | COURTESY_WORDS
    return all(w in ignorable or _lemma(w) in ignorable for w in _ASCII_WORD.findall(normalize(text)))


def term_coverage(terms: list[str], procedure) -> float:
    """Share of the Vietnamese terms' syllables (folded) found in what the record is called and is about:
    title, everyday names, summary, field."""
    from knowledge_base.text import fold, syllables

    wanted = set(syllables(normalize(" ".join(terms))))
    if not wanted:
        return 0.0
    about = " ".join([procedure.title, *procedure.keywords, procedure.summary, procedure.field])
    have = {fold(word) for word in syllables(normalize(about))}
    return len({fold(word) for word in wanted} & have) / len(wanted)


def search(kb, query: str, top_k: int = 5, filters=None):
    """Search the knowledge base `kb` (knowledge_base.store.KnowledgeBase) with an English question: a
    knowledge_base.schema.SearchResponse."""
    import numpy as np

    from knowledge_base.schema import Decision, Scope, SearchHit, SearchResponse
    from knowledge_base.text import prepare_query, query_terms

    terms = glossary_terms(query)
    vietnamese = ", ".join(terms)
    n = len(kb.procedures())
    mask = kb._filter_mask(filters)  # noqa: SLF001 - the same filter semantics as every search
    if terms:
        lexical = kb.lexical.scores(query_terms(prepare_query(vietnamese), literal=True))
    else:
        lexical = np.zeros(n, dtype=np.float32)
    top = float(lexical.max()) if lexical.size else 0.0
    fused = lexical / top if top > 0 else lexical.astype(np.float32)
    if kb.encoder is not None and kb.dense is not None:
        from knowledge_base.dense import encode_query

        embedded = f"{normalize(query)} ({vietnamese})" if terms else normalize(query)
        dense = kb.dense.scores(encode_query(kb.encoder, embedded))
        best = float(dense.max())
        floor = float(np.partition(dense, -POOL)[-POOL]) if dense.size > POOL else float(dense.min())
        dense_scaled = np.clip((dense - floor) / max(best - floor, 1e-6), 0.0, 1.0)
        fused = (1 - DENSE_WEIGHT) * fused + DENSE_WEIGHT * dense_scaled
    fused = np.where(mask, fused, -np.inf)
    if terms:  # as in hybrid search: among matching titles prefer the one whose words were asked (the generic one)
        from knowledge_base.text import syllables

        asked = set(syllables(normalize(vietnamese)))
        pool = [int(i) for i in np.argsort(-fused, kind="stable")[:POOL] if np.isfinite(fused[i])]
        for i in pool:
            fused[i] += TITLE_PRECISION_WEIGHT * kb.lexical.title_precision(i, asked)
    order = [int(i) for i in np.argsort(-fused, kind="stable")[: max(top_k, OFFER_MAX)] if np.isfinite(fused[i])]
    procedures = kb.procedures()

    def hits(indices: list[int]) -> list[SearchHit]:
        return [
            SearchHit(code=procedures[i].code, title=procedures[i].title, score=round(float(fused[i]), 4))
            for i in indices
        ]

    if not terms:
        return SearchResponse(
            query=query, decision=Decision.abstain, results=hits(order[:top_k]), scope=Scope.off_topic
        )
    if top <= 0 or not order:
        return SearchResponse(
            query=query, decision=Decision.abstain, results=hits(order[:top_k]), scope=Scope.administrative
        )
    covered = term_coverage(terms, procedures[order[0]])
    if covered < MIN_COVERAGE:  # the best record does not name what was asked ("work permit" vs "driving permit")
        return SearchResponse(
            query=query, decision=Decision.abstain, results=hits(order[:top_k]), scope=Scope.administrative
        )
    best_score = float(fused[order[0]])
    close = [i for i in order[:OFFER_MAX] if best_score - float(fused[i]) < ANSWER_MARGIN]
    if len(close) == 1:
        return SearchResponse(query=query, decision=Decision.answer, results=hits(order[:top_k]))
    return SearchResponse(query=query, decision=Decision.clarify, results=hits(close[:OFFER_MAX]))


_CODE = re.compile(r"(?<![\w.])\d{1,2}\.\d{6}(?![\w.])")


def procedure_code(text: str) -> str | None:
    """A procedure code written in the message ("Fee for 1.004194": the English quick replies send these)."""
    match = _CODE.search(text)
    return match.group(0) if match else None


def for_the_catalogue(text: str) -> bool:
    """An English message the catalogue should answer: it names an administrative term, asks about an aspect
    or carries a procedure code. English small talk ("hello", "thank you") is left to the NLU's intent."""
    return is_english(text) and bool(glossary_terms(text) or aspect(text) != "overview" or procedure_code(text))


# English ordinals a foreigner types to pick from an ask-back list ("the second one", "number two"): read by the
# one option parser, assistant.app.actions.procedures.parse_option_index, beside the Vietnamese ones.
ORDINAL_WORDS = {
    "first": 1,
    "one": 1,
    "second": 2,
    "two": 2,
    "third": 3,
    "three": 3,
    "fourth": 4,
    "four": 4,
    "fifth": 5,
    "five": 5,
}
_CHOICE_WORDS = frozenset(
    "the a option number no please i i'd i'll want take choose pick mean select it one's that one this is".split()
)


def is_option_choice(text: str) -> bool:
    """An English message that only picks an option ("the second one", "option 2", "number two, please"). Too short
    for `is_english`: it is English when every word is one of these and one is an English ordinal, "option" or
    "number" (Vietnamese ordinals, "thứ hai", have tone marks or are not in the list)."""
    lowered = text.lower()
    if not lowered.isascii():
        return False
    words = re.findall(r"[a-z']+|\d+", lowered)
    return any(word in ORDINAL_WORDS or word in ("option", "number") for word in words) and all(
        word in ORDINAL_WORDS or word.isdigit() or word in _CHOICE_WORDS for word in words
    )


# The NLU intent of each aspect (docs/conversation-contract.md): an English question goes to its aspect's, and
# the quick replies after an answer (assistant.app.answers) send them.
ASPECT_INTENTS = {
    "overview": "ask_procedure",
    "documents": "ask_documents",
    "fee": "ask_fee",
    "time": "ask_processing_time",
    "where": "ask_where",
    "online": "ask_online",
    "steps": "ask_steps",
    "conditions": "ask_conditions",
}


def catalogue_intent(text: str) -> str | None:
    """The intent the NLU's English router gives a message (assistant/rasa_process/components/english_router.py):
    the aspect's ask_* intent for an English question for the catalogue, choose_option for an English pick from a
    list ("the second one"), None (keep the NLU's own) for anything else."""
    if not isinstance(text, str) or text.startswith("/"):
        return None
    if is_option_choice(text):
        return "choose_option"
    if not for_the_catalogue(text):
        return None
    return ASPECT_INTENTS.get(aspect(text), "ask_procedure")
