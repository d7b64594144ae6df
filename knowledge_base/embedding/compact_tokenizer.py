"""The e5 tokenizer without the pieces a Vietnamese or English text can never use, same ids and results.

multilingual-e5's Unigram vocabulary has 250,002 pieces; the `tokenizers` library holds them in
a byte trie that takes about 290 MB of the app server's memory. Most pieces are written in scripts
(CJK, Cyrillic, Arabic, Devanagari, ...) that citizens' questions and the catalogue do not use. A
Unigram model only ever matches pieces that are substrings of the normalized text, so for a text
whose normalized characters all lie in `SCRIPT_RANGES`, dropping every piece with a character
outside them changes nothing: the kept pieces keep their ids and scores. The dropped pieces are
replaced by one placeholder (a character in no piece and outside the ranges), so ids do not move.

`RoutingTokenizer` stands where the Hugging Face wrapper keeps its Rust tokenizer and sends each
batch to the compact tokenizer when every text in it lies in the ranges, else to the full one,
loaded from the model's tokenizer.json the first time such a text comes (and kept). Either way the
ids are exactly those of the full tokenizer (tests/knowledge_base/test_compact_tokenizer.py).
"""

from __future__ import annotations

import ctypes
import json
import logging
import re
import threading
from pathlib import Path

from tokenizers import Tokenizer

log = logging.getLogger(__name__)

# Latin (with Vietnamese and the other Latin-script languages' letters), combining marks,
# punctuation, currency, letterlike and math symbols, arrows, boxes, dingbats and emoji.
SCRIPT_RANGES = (
    (0x20, 0x7E),
    (0xA0, 0x24F),
    (0x300, 0x36F),
    (0x1E00, 0x1EFF),
    (0x2000, 0x206F),
    (0x20A0, 0x20CF),
    (0x2100, 0x214F),
    (0x2190, 0x22FF),
    (0x2500, 0x27BF),
    (0x1F300, 0x1FAFF),
)
_OUTSIDE = re.compile("[^" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in SCRIPT_RANGES) + "]")
PLACEHOLDER = "\U0010fffd"  # private use, outside SCRIPT_RANGES
# Settings the Hugging Face wrapper changes on its Rust tokenizer before each call; both copies follow them.
_SETTERS = ("enable_truncation", "no_truncation", "enable_padding", "no_padding")


def within_ranges(normalized: str) -> bool:
    """True when every character of an already normalized text lies in SCRIPT_RANGES."""
    return _OUTSIDE.search(normalized) is None


def compact_json(full: dict) -> dict | None:
    """The tokenizer JSON with out-of-range pieces replaced by PLACEHOLDER; None when not a Unigram model
    this applies to (another model type, or the placeholder already in use)."""
    model = full.get("model") or {}
    if model.get("type") != "Unigram" or not model.get("vocab"):
        return None
    vocab = model["vocab"]
    if any(PLACEHOLDER in piece for piece, _ in vocab):
        return None
    special = {token["id"] for token in full.get("added_tokens", [])}
    compact = dict(full)
    compact["model"] = dict(model)
    compact["model"]["vocab"] = [
        [piece, score] if index in special or within_ranges(piece) else [PLACEHOLDER, score]
        for index, (piece, score) in enumerate(vocab)
    ]
    return compact


class RoutingTokenizer:
    """Duck-types `tokenizers.Tokenizer` for the Hugging Face wrapper: compact when it can, full when it must."""

    def __init__(self, compact: Tokenizer, full_path: Path) -> None:
        self._compact = compact
        self._full_path = Path(full_path)
        self._full: Tokenizer | None = None
        self._assigned: dict[str, object] = {}  # properties the wrapper set (e.g. encode_special_tokens)
        self._lock = threading.Lock()

    @property
    def full_loaded(self) -> bool:
        return self._full is not None

    def _fits(self, item) -> bool:
        if isinstance(item, str):
            return within_ranges(self._compact.normalizer.normalize_str(item)) if self._compact.normalizer else False
        if isinstance(item, (tuple, list)):
            return all(self._fits(part) for part in item)
        return False

    def _full_tokenizer(self) -> Tokenizer:
        with self._lock:
            if self._full is None:
                full = Tokenizer.from_file(str(self._full_path))
                if self._compact.truncation:
                    full.enable_truncation(**self._compact.truncation)
                if self._compact.padding:
                    padding = dict(self._compact.padding)
                    length = padding.pop("length", None)
                    full.enable_padding(length=length, **padding)
                for name, value in self._assigned.items():
                    setattr(full, name, value)
                log.info("a text outside the compact tokenizer's scripts: full tokenizer loaded (%s)", self._full_path)
                self._full = full
        return self._full

    def _for(self, items) -> Tokenizer:
        return self._compact if all(self._fits(item) for item in items) else self._full_tokenizer()

    def encode_batch(self, inputs, *args, **kwargs):
        return self._for(inputs).encode_batch(inputs, *args, **kwargs)

    def encode_batch_fast(self, inputs, *args, **kwargs):
        return self._for(inputs).encode_batch_fast(inputs, *args, **kwargs)

    def encode(self, sequence, pair=None, *args, **kwargs):
        items = [sequence] if pair is None else [sequence, pair]
        return self._for(items).encode(sequence, pair, *args, **kwargs)

    def __setattr__(self, name: str, value) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        setattr(self._compact, name, value)
        self._assigned[name] = value
        if self._full is not None:
            setattr(self._full, name, value)

    def __getattr__(self, name: str):
        attribute = getattr(self._compact, name)
        if name in _SETTERS:

            def both(*args, **kwargs):
                result = attribute(*args, **kwargs)
                if self._full is not None:
                    getattr(self._full, name)(*args, **kwargs)
                return result

            return both
        return attribute


def install(hf_tokenizer, tokenizer_file: Path) -> bool:
    """Swap the wrapper's Rust tokenizer for a RoutingTokenizer and give the freed memory back to the
    system. Returns False (and changes nothing) when the tokenizer is not one this applies to."""
    rust = getattr(hf_tokenizer, "_tokenizer", None)
    if not isinstance(rust, Tokenizer) or not Path(tokenizer_file).is_file():
        return False
    compact = compact_json(json.loads(rust.to_str()))
    if compact is None:
        return False
    hf_tokenizer._tokenizer = RoutingTokenizer(Tokenizer.from_str(json.dumps(compact)), tokenizer_file)
    del rust, compact
    _give_back_freed_memory()
    return True


def _give_back_freed_memory() -> None:
    # The full trie is hundreds of thousands of small allocations; glibc keeps them unless asked.
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the memory is reused by the process instead
        pass
