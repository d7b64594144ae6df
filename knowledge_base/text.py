"""Vietnamese text handling: normalization, diacritics folding, abbreviations, word lists, tokens.

The one home of Vietnamese text handling in the project: the knowledge base, the app server (actions,
answers, the follow-up check), the NLU lookup generator and the Rasa components (inside the Rasa process,
Python 3.10) all import it. It therefore imports nothing heavy (the standard library and PyYAML; underthesea
only inside `segment`) and never Rasa.

Citizens type with and without diacritics, with chat abbreviations ("ko", "dc", "j") and everyday
names ("sổ đỏ", "CCCD"). Everything the index stores and every query goes through the same steps:
NFC -> lower-case -> abbreviation expansion -> diacritics folding -> syllables (+ syllable bigrams).
Folded syllables are what made search robust to missing diacritics in earlier measurements.
The word lists (abbreviations, stopwords, filler words) live in data/abbreviations.yml.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml

ABBREVIATIONS_FILE = Path(__file__).parent / "data" / "abbreviations.yml"

_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u2060\ufeff]")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[0-9a-z]+")
_ACCENTED_WORD = re.compile(r"[^\W_]+")


def normalize(text: str) -> str:
    """NFC, lower-case, drop invisible/control characters, collapse whitespace.

    Decomposed input (NFD, common from macOS and some keyboards) would otherwise tokenize differently
    and degrade both BM25 and embeddings.
    """
    text = unicodedata.normalize("NFC", text or "")
    text = _INVISIBLE.sub(" ", text).lower()
    return _SPACES.sub(" ", text).strip()


def fold(text: str) -> str:
    """Remove Vietnamese diacritics: "làm căn cước" -> "lam can cuoc" (đ -> d)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn"))


def nfc(text: str) -> str:
    """Compose decomposed input (NFD from some keyboards) so the same word always has the same code points."""
    return unicodedata.normalize("NFC", text or "")


def fold_keeping_length(text: str) -> str:
    """`fold` character by character, so NFC text keeps its length: "làm căn cước" -> "lam can cuoc".

    Each character maps to exactly one character (đ -> d; one without a one-character base, such as a
    lone combining mark, stays as it is), so offsets stay valid between the two forms. The Rasa tokenizer
    folds its token lemmas and known phrases with it.
    """
    folded = []
    for char in text:
        if char in "đĐ":
            folded.append("d" if char == "đ" else "D")
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", char) if unicodedata.category(c) != "Mn")
        folded.append(base if len(base) == 1 else char)
    return "".join(folded)


_PROCEDURE_PREFIX = re.compile(r"^thủ tục\s+")


def without_procedure_prefix(title: str) -> str:
    """A normalized title without its leading "thủ tục" ("thủ tục đăng ký khai sinh" -> "đăng ký khai sinh").

    The first step of every heuristic that finds the name in a title (NLU lookups, variant markers).
    """
    return _PROCEDURE_PREFIX.sub("", title)


def has_diacritics(text: str) -> bool:
    return fold(text) != text


def syllables(text: str) -> list[str]:
    """Folded syllables of an already normalized text."""
    return _WORD.findall(fold(text))


def bigrams(tokens: list[str]) -> list[str]:
    return [f"{a}_{b}" for a, b in itertools.pairwise(tokens)]


class Abbreviations:
    """Expansion table loaded from data/abbreviations.yml, matched on folded syllable sequences."""

    def __init__(self, table: dict[str, str], stopwords: list[str], keep_surface: set[str] = frozenset()):
        # key: tuple of folded syllables of the surface form; value: (expansion, keep the surface form?)
        self.table: dict[tuple[str, ...], tuple[str, bool]] = {}
        # key -> the surface forms' syllables as written, for words typed with diacritics
        self.surfaces: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for surface, expansion in table.items():
            key = tuple(syllables(normalize(surface)))
            if key:
                self.table[key] = (normalize(expansion), surface in keep_surface)
                self.surfaces.setdefault(key, []).append(tuple(_ACCENTED_WORD.findall(normalize(surface))))
        self.max_len = max((len(k) for k in self.table), default=0)
        # Accented forms match exactly; folded forms only match words typed without diacritics
        # (folding alone would make "căn" a stopword because "cần" is one).
        # In file order: when two stopwords fold alike ("làm", "lắm"), the first is the likelier reading.
        self.stopword_list = tuple(dict.fromkeys(_ACCENTED_WORD.findall(normalize(" ".join(stopwords)))))
        self.stopwords = frozenset(self.stopword_list)
        self.folded_stopwords = frozenset(fold(w) for w in self.stopwords)

    def is_stopword(self, word: str, literal: bool = False) -> bool:
        """word: one normalized syllable, accented or not.

        literal: the text was typed with diacritics, so a plain word means what it says ("di chúc",
        "con nuôi", "công an") instead of standing for a folded stopword ("đi", "còn").
        """
        if word in self.stopwords:
            return True
        return not literal and fold(word) == word and word in self.folded_stopwords

    @classmethod
    def load(
        cls, path: Path = ABBREVIATIONS_FILE, sections: tuple[str, ...] = ("abbreviations", "everyday_names", "chat")
    ) -> Abbreviations:
        data = _word_lists(path)
        table: dict[str, str] = {}
        keep: set[str] = set()
        for section in sections:
            for surface, expansion in (data.get(section) or {}).items():
                table[str(surface)] = str(expansion)
                if section != "chat":  # names stay beside their expansion: records may use them too
                    keep.add(str(surface))
        return cls(table, [str(w) for w in data.get("stopwords") or []], keep)

    def expand(self, text: str) -> str:
        """Expand known surface forms (longest match first) on a normalized text.

        Matching is on folded syllables, so "so do", "sổ đỏ" and "SỔ ĐỎ" all expand. Names and
        abbreviations are kept beside their expansion ("sổ đỏ giấy chứng nhận ..."), chat words are
        replaced ("ko" -> "không"). Unmatched words keep their original (possibly accented) form.
        A syllable typed with diacritics must carry the surface form's own (see `_accents_agree`).
        """
        words = text.split(" ")
        folded = [" ".join(_WORD.findall(fold(w))) for w in words]
        out: list[str] = []
        i = 0
        while i < len(words):
            matched = False
            for length in range(min(self.max_len, len(words) - i), 0, -1):
                key = tuple(" ".join(folded[i : i + length]).split())
                if key and key in self.table and self._accents_agree(key, words[i : i + length]):
                    expansion, keep_surface = self.table[key]
                    if keep_surface and " ".join(words[i : i + length]) != expansion:
                        out.extend(words[i : i + length])
                    out.append(expansion)
                    i += length
                    matched = True
                    break
            if not matched:
                out.append(words[i])
                i += 1
        return " ".join(out)

    def _accents_agree(self, key: tuple[str, ...], typed_words: list[str]) -> bool:
        """Whether every typed syllable that carries diacritics is written so in one of the key's surfaces.

        "hỏng" is not the chat "hông" (không), "cuối năm" is not "cưới"; plain syllables match any
        surface that folds alike, so "so do" is "sổ đỏ" even among accented words.
        """
        typed = _ACCENTED_WORD.findall(" ".join(typed_words))
        return any(
            len(surface) != len(typed) or all(fold(t) == t or t == w for t, w in zip(typed, surface, strict=True))
            for surface in self.surfaces[key]
        )


def _word_lists(path: Path = ABBREVIATIONS_FILE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@lru_cache(maxsize=1)
def abbreviations() -> Abbreviations:
    return Abbreviations.load()


@lru_cache(maxsize=1)
def filler_words() -> tuple[str, ...]:
    """Words and phrases of a question that never carry a procedure's name (normalized, accented).

    The follow-up check (assistant/app/procedure_context.py) strips them, with the aspect words, to see whether
    a message names a procedure. They are the stopwords except `kept_by_follow_up_check` (words that may be
    part of a name or a situation: "bản sao", "người nước ngoài", "cấp tại") plus `chat_fillers`
    (data/abbreviations.yml).
    """
    data = _word_lists()
    kept = {normalize(str(w)) for w in data.get("kept_by_follow_up_check") or []}
    chat = [normalize(str(w)) for w in data.get("chat_fillers") or []]
    words = [w for w in abbreviations().stopword_list if w not in kept] + chat
    return tuple(dict.fromkeys(w for w in words if w))


@lru_cache(maxsize=1)
def written_abbreviations() -> Abbreviations:
    """Only the `abbreviations` section: official titles use some too ("công ty TNHH", "thẻ BHYT")."""
    return Abbreviations.load(sections=("abbreviations",))


def prepare_query(query: str) -> str:
    """Normalized query with abbreviations and everyday names expanded (still with diacritics if typed)."""
    return abbreviations().expand(normalize(query))


# Share of a text's words that must carry diacritics for it to count as typed with them: a question
# typed on a phone without them has none, and one stray accented word does not change that.
ACCENTED_SHARE = 0.25


def typed_with_diacritics(text: str) -> bool:
    """Whether a normalized text was typed with Vietnamese diacritics (then its plain words are literal)."""
    words = _ACCENTED_WORD.findall(text)
    return bool(words) and sum(has_diacritics(w) for w in words) >= ACCENTED_SHARE * len(words)


def content_syllables(text: str, literal: bool | None = None) -> list[str]:
    """Folded syllables minus question/politeness words: what the citizen is actually asking about.

    text: normalized. Stopwords are decided on the typed form, then folded. literal: whether plain
    words are meant as typed (default: whether `text` itself was typed with diacritics); a prepared
    query passes what the citizen typed, because its expansions always carry diacritics.
    """
    table = abbreviations()
    literal = typed_with_diacritics(text) if literal is None else literal
    return [
        fold(w) for w in _ACCENTED_WORD.findall(text) if not table.is_stopword(w, literal) and _WORD.fullmatch(fold(w))
    ]


def index_terms(text: str) -> list[str]:
    """Terms a document field is indexed under: folded syllables plus adjacent-syllable bigrams."""
    tokens = syllables(normalize(text))
    return tokens + bigrams(tokens)


STOP_BIGRAM_WEIGHT = 0.25


def query_terms(prepared_query: str, literal: bool = False) -> dict[str, float]:
    """Weighted terms for a prepared query: content syllables plus adjacent-syllable bigrams.

    Bigrams keep word order ("đăng ký" vs "ký ... đăng") that unigrams lose. A bigram with a
    question word in it ("sinh cho", "lại thế") mostly matches by accident, so it counts less.
    literal: the question was typed with diacritics (see `content_syllables`).
    """
    table = abbreviations()
    words = [w for w in _ACCENTED_WORD.findall(prepared_query) if _WORD.fullmatch(fold(w))]
    stop = [table.is_stopword(w, literal) for w in words]
    folded = [fold(w) for w in words]
    weights: dict[str, float] = {}
    for word, is_stop in zip(folded, stop, strict=True):
        if not is_stop:
            weights[word] = weights.get(word, 0.0) + 1.0
    for i in range(len(folded) - 1):
        term = f"{folded[i]}_{folded[i + 1]}"
        weights[term] = weights.get(term, 0.0) + (STOP_BIGRAM_WEIGHT if stop[i] or stop[i + 1] else 1.0)
    return weights


def segment(text: str) -> list[str]:
    """underthesea word segmentation of a normalized text ("giấy khai sinh" -> ["giấy", "khai_sinh"]).

    Only reliable on text with diacritics; callers use it to add word-level terms, never alone.
    """
    from underthesea import word_tokenize  # slow import (~2 s): only when needed

    return [w.replace(" ", "_") for w in word_tokenize(normalize(text)) if _WORD.search(fold(w))]
