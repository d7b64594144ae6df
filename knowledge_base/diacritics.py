"""Put diacritics back on a question typed without them, using the catalogue's own wording.

Many citizens type "lam can cuoc can gi". BM25 over folded syllables copes, but the embedding model
reads "can cuoc" as something else than "căn cước" (earlier measurement: dense MRR <= 0.11 on such
questions). The catalogue titles tell which accented form each folded syllable pair usually has, so
a bigram/unigram vote restores most words; words the catalogue never uses stay as typed.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from knowledge_base.text import abbreviations, fold, normalize

_WORDS = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r"[^\W_]+|[\W_]+")  # words and the runs of spaces/punctuation between them
_CLAUSE_MARK = re.compile(r"[.,;:!?()\n]")
RESTORER_FILE = "diacritics.json"
QUESTION_WORD_PRIOR = 50


def _same_clause(tokens: list[str], left: int, right: int) -> bool:
    """Whether nothing but spaces separates two word tokens (no comma, full stop, bracket ...)."""
    return not any(_CLAUSE_MARK.search(tokens[j]) for j in range(left + 1, right))


class DiacriticRestorer:
    def __init__(self, unigrams: dict[str, str], bigrams: dict[str, str]):
        self.unigrams = unigrams  # folded syllable -> most frequent accented form
        self.bigrams = bigrams  # "folded folded" -> most frequent accented pair

    @classmethod
    def build(cls, texts: list[str]) -> DiacriticRestorer:
        uni: dict[str, Counter] = defaultdict(Counter)
        bi: dict[str, Counter] = defaultdict(Counter)
        # Question words of the stopword list are common in questions but rare in titles:
        # a strong prior, so "can" alone reads "cần" while "can cuoc" still reads "căn cước".
        for word in abbreviations().stopword_list:
            if not uni[fold(word)]:  # first reading in file order wins ("làm" over "lắm")
                uni[fold(word)][word] += QUESTION_WORD_PRIOR
        for text in texts:
            words = _WORDS.findall(normalize(text))
            for w in words:
                uni[fold(w)][w] += 1
            for a, b in itertools.pairwise(words):
                bi[f"{fold(a)} {fold(b)}"][f"{a} {b}"] += 1
        return cls(
            {k: c.most_common(1)[0][0] for k, c in uni.items()},
            {k: c.most_common(1)[0][0] for k, c in bi.items()},
        )

    def restore(self, text: str) -> str:
        """Accent the words of a normalized text that were typed without any diacritics.

        Punctuation stays where it was ("cuoc," -> "cước,"), so a long message's words next to commas
        and full stops are restored too; a pair is only looked up within a clause.
        """
        tokens = _TOKEN.findall(text)
        out = list(tokens)
        words = [m for m in range(len(tokens)) if _WORDS.fullmatch(tokens[m])]
        for k, i in enumerate(words):
            w = tokens[i]
            if fold(w) != w or not w.isalpha():
                continue
            right = words[k + 1] if k + 1 < len(words) and _same_clause(tokens, i, words[k + 1]) else None
            left = words[k - 1] if k > 0 and _same_clause(tokens, words[k - 1], i) else None
            choice = None
            # Prefer a pair seen in the catalogue, with the right neighbour first (phrases read left to right).
            if right is not None:
                pair = self.bigrams.get(f"{w} {fold(tokens[right])}")
                if pair:
                    choice = pair.split(" ")[0]
            if choice is None and left is not None:
                pair = self.bigrams.get(f"{fold(tokens[left])} {w}")
                if pair:
                    choice = pair.split(" ")[1]
            out[i] = choice or self.unigrams.get(w, w)
        return "".join(out)

    def save(self, directory: Path) -> None:
        payload = {"unigrams": self.unigrams, "bigrams": self.bigrams}
        (directory / RESTORER_FILE).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> DiacriticRestorer | None:
        path = directory / RESTORER_FILE
        if not path.exists():
            return None
        payload = json.loads(path.read_text(encoding="utf-8"))
        return cls(payload["unigrams"], payload["bigrams"])
