"""Which backend embeds a bulk of texts (a file's ingest, the evaluation) on this CPU: measured.

Single messages (the hot path, queries) always go through ONNX Runtime: 2-3x faster than torch
for one text on every CPU measured. For batches it depends on the CPU: torch with bf16 autocast
uses native bf16 instructions (AVX512-BF16, AMX) that ONNX Runtime's CPU kernels do not, and was
1.5x (AMD EPYC, AVX512-BF16) to 2.3x (Xeon, AMX) faster than ONNX on batches of 64, while on a
Xeon with AVX512-BF16 but no AMX, bf16 gained nothing. No flag rule holds, so the first bulk
job on a CPU measures both backends on batches of 64 (~8 s, torch's load included) and caches
the rates beside the ONNX export, keyed by the CPU model, its vector flags, the thread count and
the library versions. A bulk job then takes torch only when its load pays for itself:
load_s + n / torch_rate < n / onnx_rate. WHISPER_EMBEDDING_BACKEND=onnx|torch forces one backend
for everything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import sys
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

_log = logging.getLogger(__name__)

FORMAT = 1
# Below this many texts ONNX Runtime wins whatever the CPU (torch's load alone is ~4 s), so
# nothing is measured or loaded.
BULK_MIN_TEXTS = 2000
BATCH = 64
MEASURED_BATCHES = 6
# torch's import and model load in a fresh process, measured 4.2-5.4 s here: used when this process
# had torch loaded already, so its load cannot be timed.
TORCH_LOAD_S_IF_LOADED = 5.0
_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile")


@dataclass(frozen=True)
class BatchRates:
    """Batch-of-64 throughput of both backends on this CPU (texts per second)."""

    onnx_per_s: float
    torch_per_s: float
    torch_load_s: float
    torch_bf16: bool
    cpu: str

    def bulk_backend(self, n_texts: int) -> str:
        """"torch" when loading it and embedding n_texts beats ONNX Runtime alone."""
        if n_texts < BULK_MIN_TEXTS or self.torch_per_s <= self.onnx_per_s:
            return "onnx"
        torch_s = self.torch_load_s + n_texts / self.torch_per_s
        return "torch" if torch_s < n_texts / self.onnx_per_s else "onnx"


def cpu_signature(threads: int) -> dict[str, object]:
    """What decides the rates: CPU model, its vector flags, threads, library versions."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    versions = {}
    for package in ("torch", "onnxruntime", "sentence-transformers", "transformers"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return {"format": FORMAT, "cpu": model, "flags": sorted(flags & set(_FLAGS)), "threads": threads,
            "versions": versions}


def _sample_texts() -> list[str]:
    """Chat-like sentences of 10-25 words (our own; the hot-path benchmark's messages average 15)."""
    subjects = ["my sister", "the new manager", "our neighbour", "my old roommate", "the dog trainer",
                "a friend from the climbing gym", "my grandfather", "the landlord"]
    events = ["moved to a small town by the coast", "started a pottery class on Thursday evenings",
              "asked me to help with the garden this weekend", "finally fixed the leaking kitchen tap",
              "is training for a half marathon in the spring and complains about sore knees",
              "booked a trip to see the northern lights, which has been on the list for years"]
    pairs = [(s, e) for s in subjects for e in events]
    return [f"Yesterday {s} told me that they {e}." for s, e in (pairs[i % len(pairs)] for i in range(BATCH))]


def _rate(embedder: object, texts: list[str]) -> float:
    embedder.encode(texts)  # type: ignore[attr-defined]  # warm-up: shapes, thread pools
    start = time.perf_counter()
    for _ in range(MEASURED_BATCHES):
        embedder.encode(texts)  # type: ignore[attr-defined]
    return MEASURED_BATCHES * len(texts) / (time.perf_counter() - start)


def measure(threads: int) -> BatchRates:
    from whisper_assets.core.embedding import get_embedder

    texts = _sample_texts()
    default = get_embedder(threads)  # ONNX unless it could not load: then measuring it fails, loudly
    onnx = _rate(default if default.backend == "onnx" else get_embedder(threads, backend="onnx"), texts)
    cold = "torch" not in sys.modules
    start = time.perf_counter()
    torch_embedder = get_embedder(threads, backend="torch")
    load_s = time.perf_counter() - start if cold else max(TORCH_LOAD_S_IF_LOADED, time.perf_counter() - start)
    return BatchRates(round(onnx, 1), round(_rate(torch_embedder, texts), 1), round(load_s, 2),
                      bool(getattr(torch_embedder, "bf16", False)), str(cpu_signature(threads)["cpu"]))


def batch_rates(threads: int, cache_dir: Path) -> BatchRates:
    """The cached measurement for this CPU, or a new one (written for the next process)."""
    signature = cpu_signature(threads)
    key = hashlib.sha256(json.dumps(signature, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir / f"batch-rates-{key}.json"
    try:
        return BatchRates(**json.loads(path.read_text())["rates"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    rates = measure(threads)
    _log.info("whisper_assets: measured batch embedding on this CPU: ONNX Runtime %.0f/s, torch %.0f/s "
              "(bf16 %s, load %.1f s)", rates.onnx_per_s, rates.torch_per_s, rates.torch_bf16, rates.torch_load_s)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"signature": signature, "rates": asdict(rates)}, indent=1))
        tmp.replace(path)
    except OSError:
        pass  # measured again next time
    return rates
