"""Vietnamese tokenizer for Rasa: NFC, lower-case, underthesea word segmentation, diacritics-folded lemmas.

Why this shape:
- Vietnamese writes one syllable per space-separated unit, but words are often several syllables
  ("căn cước", "khai sinh"). underthesea's CRF segmenter groups syllables into words; a token's text is
  the lower-cased word with syllables joined by "_" ("căn_cước"), so the word CountVectorsFeaturizer
  (token pattern `\\w+`) keeps it as one feature.
- Citizens often type without diacritics ("lam can cuoc"). Folded text segments differently and has other
  word features, so every token also carries a *lemma*: the folded word with syllables separated by spaces
  ("can cuoc"). The CountVectorsFeaturizers read lemmas (`use_lemma: true`, config.yml) and therefore give
  accented and folded spellings the same word and char n-gram features; the accented token text still
  feeds the LexicalSyntacticFeaturizer, and the RegexFeaturizer matches the message text itself.
- Offsets: tokens are built from syllable spans found in the (NFC) message text itself, and
  underthesea only decides where to group them, so `start`/`end` are always exact positions in the text
  that entity extraction slices. Decomposed (NFD) input is rewritten to NFC on the message before
  tokenizing, so every later component (regex featurizer, entity extractors, the action) sees one form.
- Entity boundaries: underthesea may join the last syllable of a procedure name with the next word
  ("lam ho chieu can mang gi" -> "chieu_can"), and then no token sequence spells the entity. The
  tokenizer therefore learns the procedure *phrases* (every lookup-table entry and every annotated entity
  value, folded) and, in training and at run time alike, starts a new word where such a phrase starts and
  right after it ends (the longest phrase at each position). Tokens around a known name are thus the same in
  training and in use, and DIET can tag exactly the name. In training, annotated entity edges are forced as
  well, so every annotation aligns with tokens even when its text is not a known phrase.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Any, Dict, Iterable, List, Optional, Sequence, Text, Tuple

import rasa.shared.utils.io
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge_base.text import fold_keeping_length, nfc

# A syllable candidate: a run without spaces or sentence punctuation. Inner ".", "-", "/", ":" stay, so
# receipt codes ("000.00.11.H57-250101-0001"), dates and amounts ("1.000.000đ") remain one token.
_CHUNK = re.compile(r"[^\s,;!?()\[\]{}\"'“”‘’…<>]+")
_CORE = re.compile(r"^\W*(.*?)\W*$", re.DOTALL)  # a chunk without punctuation at its edges


class _Syllable:
    __slots__ = ("text", "start", "end")

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text, self.start, self.end = text, start, end


def _lower_same_length(text: str) -> str:
    """Lower-case character by character, keeping any character whose lower form has another length."""
    return "".join(low if len(low := char.lower()) == 1 else char for char in text)


def syllables(text: str) -> List[_Syllable]:
    """Split NFC text into syllable spans, trimming punctuation at their edges (offsets into `text`)."""
    result = []
    for match in _CHUNK.finditer(text):
        core = _CORE.match(match.group())
        start, end = match.start() + core.start(1), match.start() + core.end(1)
        if end > start:
            result.append(_Syllable(text[start:end], start, end))
    return result


def _phrase_key(text: str) -> Tuple[str, ...]:
    """A phrase as folded, lower-cased syllables: accented and unaccented spellings share one key."""
    return tuple(fold_keeping_length(_lower_same_length(span.text)) for span in syllables(nfc(text)))


class PhraseIndex:
    """Known multi-syllable phrases, looked up by their first syllable (longest match first)."""

    def __init__(self, phrases: Iterable[Sequence[str]] = ()) -> None:
        self._by_first: Dict[str, List[Tuple[str, ...]]] = {}
        for phrase in {tuple(p) for p in phrases if p}:
            self._by_first.setdefault(phrase[0], []).append(phrase)
        for candidates in self._by_first.values():
            candidates.sort(key=len, reverse=True)

    @classmethod
    def from_training_data(cls, training_data: TrainingData) -> PhraseIndex:
        """Every lookup-table entry and every annotated entity value."""
        texts = [
            entry
            for table in training_data.lookup_tables
            for entry in table.get("elements", [])
            if isinstance(entry, str)
        ]
        texts += [
            example.get(TEXT)[e[ENTITY_ATTRIBUTE_START] : e[ENTITY_ATTRIBUTE_END]]
            for example in training_data.entity_examples
            for e in example.get(ENTITIES) or []
        ]
        return cls(key for key in map(_phrase_key, texts) if key)

    def phrases(self) -> List[List[str]]:
        return sorted(list(p) for candidates in self._by_first.values() for p in candidates)

    def edges(self, folded: Sequence[str]) -> set:
        """Syllable indexes where a known phrase starts or where the syllable after one begins.

        Every start position counts (with its longest phrase), also inside a longer match: the catalogue
        lists both "làm hộ chiếu" and "hộ chiếu", and an annotation may cover either.
        """
        result = set()
        for index, first in enumerate(folded):
            match = next((p for p in self._by_first.get(first, ()) if tuple(folded[index : index + len(p)]) == p), None)
            if match is not None:
                result.update((index, index + len(match)))
        return result


def _word_starts(parts: List[str]) -> List[bool]:
    """For each syllable, whether underthesea starts a new word there (its CRF decides the grouping)."""
    from underthesea import word_tokenize  # imported lazily: loading the CRF model takes ~0.3 s

    words = word_tokenize(" ".join(parts), use_token_normalize=False)
    starts, position = set(), 0
    for word in words:
        starts.add(position)
        position += len(word.replace(" ", ""))
    if position != sum(len(p) for p in parts):
        return [True] * len(parts)  # underthesea changed characters: keep syllables as words
    flags, position = [], 0
    for part in parts:
        flags.append(position in starts)
        position += len(part)
    return flags


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=True)
class VietnameseTokenizer(Tokenizer):
    """Tokenizer for Vietnamese chat text (see the module docstring for the design).

    Trainable only to remember the known procedure phrases (lookup tables and annotated entity values),
    which it persists with the model so that run-time word boundaries match the training ones.
    """

    _PHRASES_FILE = "phrases.json"

    def __init__(
        self,
        config: Dict[Text, Any],
        phrases: Iterable[Sequence[str]] = (),
        model_storage: Optional[ModelStorage] = None,
        resource: Optional[Resource] = None,
    ) -> None:
        super().__init__(config)
        self._phrases = PhraseIndex(phrases)
        self._model_storage, self._resource = model_storage, resource

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VietnameseTokenizer:
        return cls(config, (), model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> VietnameseTokenizer:
        try:
            with model_storage.read_from(resource) as model_dir:
                phrases = rasa.shared.utils.io.read_json_file(model_dir / cls._PHRASES_FILE)
        except (ValueError, FileNotFoundError):
            phrases = []  # a model trained before phrases existed: plain underthesea words
        return cls(config, phrases, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Remember the training data's phrases and persist them with the model."""
        self._phrases = PhraseIndex.from_training_data(training_data)
        with self._model_storage.write_to(self._resource) as model_dir:
            rasa.shared.utils.io.dump_obj_as_json_to_file(model_dir / self._PHRASES_FILE, self._phrases.phrases())
        return self._resource

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        return ["vi"]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["underthesea"]

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = self._normalized_text(message, attribute)
        return self._apply_token_pattern(self.tokens(text))

    def tokens(self, text: str, boundaries: Iterable[int] = ()) -> List[Token]:
        """Word tokens of NFC `text`; a word is also split wherever a position in `boundaries` falls."""
        spans = syllables(text)
        if not spans:
            return [Token(_lower_same_length(text), 0, len(text), lemma=fold_keeping_length(_lower_same_length(text)))]
        lowered = [_lower_same_length(span.text) for span in spans]
        forced = self._phrases.edges([fold_keeping_length(part) for part in lowered])
        # A character boundary (an entity's start or end) forces a word start at the first syllable at or
        # after it: an end falls on the space before the next syllable, not on its start.
        span_starts = [span.start for span in spans]
        forced.update(bisect_left(span_starts, position) for position in boundaries)
        starts = [flag or index in forced for index, flag in enumerate(_word_starts(lowered))]
        groups: List[List[int]] = []
        for index, is_start in enumerate(starts):
            if is_start or not groups:
                groups.append([index])
            else:
                groups[-1].append(index)
        return [
            Token(
                "_".join(lowered[i] for i in group),
                spans[group[0]].start,
                spans[group[-1]].end,
                lemma=fold_keeping_length(" ".join(lowered[i] for i in group)),
            )
            for group in groups
        ]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Tokenize as usual, then re-tokenize annotated examples so entity edges fall on token edges."""
        training_data = super().process_training_data(training_data)
        for example in training_data.training_examples:
            entities = example.get(ENTITIES) or []
            if entities and example.get(TEXT):
                edges = [e[ENTITY_ATTRIBUTE_START] for e in entities] + [e[ENTITY_ATTRIBUTE_END] for e in entities]
                example.set(TOKENS_NAMES[TEXT], self._apply_token_pattern(self.tokens(example.get(TEXT), edges)))
        return training_data

    @staticmethod
    def _normalized_text(message: Message, attribute: Text) -> str:
        """The attribute's text in NFC, written back to the message when it was decomposed.

        Annotated training examples are stored in NFC (tests/rasa_env checks it), so rewriting never moves
        an entity annotation; at run time it makes extracted entity values NFC as well.
        """
        text = message.get(attribute) or ""
        normalized = nfc(text)
        if normalized != text:
            message.set(attribute, normalized)
        return normalized
