"""The ONNX Runtime embedding backend: same vectors as sentence-transformers, cached export, no torch at run time.

One real export per test session (into a temporary cache dir); the key and atomicity tests stand
the exporter in with a copy of that file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from whisper_assets.core import embedding_onnx as eo  # noqa: E402
from whisper_assets.core.embedding import (  # noqa: E402
    BACKEND_ENV, EMBEDDING_DIM, SentenceTransformerEmbedder, build_embedder,
)

BASE = [
    "I adopted a cat named Miso",
    "what do you know about my job?",
    "I'm flying to Tokyo on Friday for a conference and I'm nervous about the talk",
    "my dog Biscuit did the funniest thing this morning",
    "I work as a nurse at St. Mary's, mostly night shifts",
    "ok thanks!",
    "brb",
    "haha that's funny",
    "how's your day going?",
    "the weather is awful here, it has rained for six days straight",
    "can you recommend a podcast about history?",
    "I live in Lisbon but I grew up in Accra",
    "I've been learning the cello for a few months now",
    "next month I'm flying to Montreal for a wedding",
    "Remind me: what did I say my sister's name was?",
    "We moved house on 3 March 2024 — finally!",
    "My new number is +44 7700 900123 (work phone).",
    "Allergic to peanuts & shellfish; fine with dairy.",
    "I'm vegetarian since 2019, vegan on weekdays.",
    "Grandma turns 90 next Sunday 🎂🎉",
    "lol",
    "ugh mondays",
    "Do you remember the book I mentioned? 'The Left Hand of Darkness'",
    "My partner, Sam, is a pharmacist at the city council clinic.",
    "I ran 21.1 km in 1:58:30 at the Porto half marathon!!!",
    "training for a marathon, knee is sore again :(",
    "I cooked risotto for eight friends last night",
    "Moving to Berlin in the spring; learning German with Duolingo",
    "I got a kitten!!! her name is Pistache",
    "kids: Noah (7) and Lea (4)",
    "favourite band = Radiohead, favourite album = In Rainbows",
    "I hate cilantro. it tastes like soap",
    "Can you summarise what we talked about last week?",
    "what did I cook for my friends?",
    "I bought new running shoes for the trail race",
    "Je vais à Paris la semaine prochaine pour voir ma mère.",
    "Ich arbeite als Elektriker in München.",
    "Estoy aprendiendo a tocar la guitarra.",
    "Я живу в Санкт-Петербурге уже пять лет.",
    "我下个月去东京出差。",
    "東京で寿司を食べました。とても美味しかった！",
    "서울에서 친구를 만났어요.",
    "أنا أعمل مهندسًا في دبي",
    "אני גר בתל אביב",
    "मैं दिल्ली में रहता हूँ",
    "ฉันชอบกินอาหารไทย",
    "Ελπίζω να περάσεις καλά!",
    "café naïve coöperate façade résumé",
    "e\u0301 vs é (combining accent)",
    "zero\u200bwidth\u200bspaces",
    "right-to-left mark \u200f here",
    "tab\tseparated\tvalues",
    "line one\nline two\r\nline three",
    "ALL CAPS SHOUTING ABOUT MY PROMOTION",
    "https://example.com/path?query=1&x=2#frag",
    "email me at someone@example.org",
    "def f(x): return x ** 2  # python",
    "SELECT * FROM facts WHERE user_id = 'u1';",
    "{\"json\": [1, 2, 3], \"ok\": true}",
    "3.14159265358979323846264338327950288419716939937510",
    "1234567890",
    "?!?!?!",
    "...",
    "--- *** ___",
    "¯\\_(ツ)_/¯",
    "(╯°□°)╯︵ ┻━┻",
    "👩‍👩‍👧 family day at the beach 🏖️",
    "🇯🇵🇫🇷🇧🇷 flags",
    "I give it 5/5 ⭐⭐⭐⭐⭐",
    "it's 23°C and sunny ☀️",
    "price went from €12.50 to £9.99 ($13)",
    "Q: what's my cat called? A: Miso.",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z",
    "I", "a", "x", "?", ".",
]
SPECIALS = [
    "", " ", "   ", "\n", "\t \n", "🙂", "👩‍👩‍👧", "🇯🇵", "\x00", "\u200b", "\ufeff", "日",
    "[CLS] [SEP] [PAD] [MASK] [UNK]",
]
LONG = [
    " ".join(BASE[:40]),  # a few hundred tokens
    " ".join(f"sentence {i} keeps going well past the two hundred fifty six token limit." for i in range(60)),
    "word " * 2000,
    "东京" * 400,
    "🙂 " * 600,
    ("I told you about my trip to Kyoto last spring, the temples, the food, the rain. " * 30).strip(),
]


def corpus() -> list[str]:
    texts: list[str] = []
    for s in BASE:
        texts += [s, s.upper() + "!!", f"  {s}?  ", f"🙂 {s} 😂"]
    texts += [f"{a} {b}" for a, b in zip(BASE, BASE[7:])]
    return texts + SPECIALS + LONG


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_embedder(cache_dir) -> eo.OnnxEmbedder:
    embedder = build_embedder(2, backend="onnx", cache_dir=cache_dir)
    assert isinstance(embedder, eo.OnnxEmbedder) and embedder.backend == "onnx"
    return embedder


@pytest.fixture(scope="module")
def reference(onnx_embedder):
    return onnx_embedder.model  # sentence-transformers, fp32, torch


def _st(reference, texts, batch_size=32) -> np.ndarray:
    return np.asarray(reference.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                       convert_to_numpy=True, show_progress_bar=False), dtype=np.float64)


def test_corpus_is_a_few_hundred_varied_texts():
    texts = corpus()
    assert len(texts) >= 300 and len(set(texts)) >= 300


def test_tokens_match_sentence_transformers(onnx_embedder, reference):
    texts = corpus()
    want = reference.tokenizer(texts, truncation=True, max_length=reference.max_seq_length)["input_ids"]
    got = [e.ids for e in onnx_embedder.tokenizer.encode_batch(texts)]
    assert reference.max_seq_length == 256 == eo.max_seq_length(eo.model_dir())
    assert got == [list(w) for w in want]
    assert max(len(g) for g in got) == 256  # the long texts are truncated like sentence-transformers does


def test_vectors_match_sentence_transformers(onnx_embedder, reference):
    texts = corpus()
    want = _st(reference, texts)
    for batch_size, some in ((64, slice(None)), (7, slice(None, None, 5))):  # 7: other paddings, a fifth
        got = onnx_embedder.encode(texts[some], batch_size=batch_size)
        assert got.shape == (len(texts[some]), EMBEDDING_DIM) and got.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        cosine = (got.astype(np.float64) * want[some]).sum(1)
        worst = int(np.argmin(cosine))
        assert cosine.min() >= 0.9999, (batch_size, texts[some][worst][:80], cosine.min())
    # one at a time (no padding at all): the hot path's and recall's call
    picked = SPECIALS + LONG + BASE[::8]
    one = np.stack([onnx_embedder.encode_one(t) for t in picked]).astype(np.float64)
    assert (one * _st(reference, picked)).sum(1).min() >= 0.9999
    # the vectors still tell texts apart
    assert float(one[SPECIALS.index("🙂")] @ one[len(SPECIALS) + 1]) < 0.9


def test_encode_edge_cases(onnx_embedder):
    assert onnx_embedder.encode([]).shape == (0, EMBEDDING_DIM)
    assert onnx_embedder.encode_one("hello").shape == (EMBEDDING_DIM,)
    texts = ["short", "a much longer text than the first one, with more tokens", "short"]
    got = onnx_embedder.encode(iter(texts), batch_size=1)  # any iterable; order kept
    np.testing.assert_allclose(got[0], got[2], atol=1e-6)
    np.testing.assert_allclose(got[1], onnx_embedder.encode_one(texts[1]), atol=1e-5)


def test_cached_file_and_key(onnx_embedder, cache_dir):
    key, parts = eo.export_key(eo.model_dir(), cache_dir)
    assert onnx_embedder.path == cache_dir / f"all-MiniLM-L6-v2-{key}.onnx"
    assert set(parts) == {"model_sha256", "torch", "transformers", "onnx", "format", "opset"}
    assert json.loads(onnx_embedder.path.with_suffix(".json").read_text()) == parts
    assert not list(cache_dir.glob("*.tmp"))


def test_model_hash_follows_the_files_and_is_remembered(tmp_path, monkeypatch):
    source = eo.model_dir()
    model = tmp_path / "model"
    for path in eo._model_files(source):
        dest = model / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path.stat().st_size > 1_000_000:
            dest.symlink_to(path)  # the weights: same content, no copy
        else:
            shutil.copy2(path, dest)
    cache = tmp_path / "cache"
    hashed = []
    real = eo._hash_files
    monkeypatch.setattr(eo, "_hash_files", lambda d, f: hashed.append(d) or real(d, f))
    first = eo.onnx_path(model, cache)
    assert eo.model_sha256(model, cache) == eo.model_sha256(source, tmp_path / "other")
    again = eo.onnx_path(model, cache)
    assert again == first and hashed == [model, source]  # remembered: not hashed again
    with open(model / "config.json", "a") as fh:
        fh.write("\n")
    changed = eo.onnx_path(model, cache)
    assert changed != first and hashed[-1] == model


def _fake_exporter(source: Path, calls: list):
    def export(directory, dest, threads):
        calls.append(Path(dest))
        shutil.copyfile(source, dest)
    return export


def test_reexport_when_the_key_changes(onnx_embedder, tmp_path, monkeypatch):
    calls: list[Path] = []
    monkeypatch.setattr(eo, "_export", _fake_exporter(onnx_embedder.path, calls))
    first = eo.ensure_onnx(eo.model_dir(), tmp_path)
    assert len(calls) == 1 and first.is_file()
    assert eo.ensure_onnx(eo.model_dir(), tmp_path) == first and len(calls) == 1  # cached
    versions = eo.exporter_versions()
    monkeypatch.setattr(eo, "exporter_versions", lambda: {**versions, "torch": "99.0.0+cpu"})
    second = eo.ensure_onnx(eo.model_dir(), tmp_path)
    assert second != first and len(calls) == 2 and second.is_file()
    assert not first.exists()  # the stale export is removed
    assert json.loads(second.with_suffix(".json").read_text())["torch"] == "99.0.0+cpu"
    monkeypatch.setattr(eo, "EXPORT_FORMAT", eo.EXPORT_FORMAT + 1)
    third = eo.ensure_onnx(eo.model_dir(), tmp_path)
    assert third not in (first, second) and len(calls) == 3
    assert eo.OnnxEmbedder(third, eo.model_dir(), 1).encode_one("still loads").shape == (EMBEDDING_DIM,)


def test_failed_export_publishes_nothing(tmp_path, monkeypatch):
    def broken(directory, dest, threads):
        Path(dest).write_bytes(b"half a model")
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(eo, "_export", broken)
    with pytest.raises(RuntimeError, match="exporter crashed"):
        eo.ensure_onnx(eo.model_dir(), tmp_path)
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob(".*.tmp"))


def test_processes_starting_together_export_once(onnx_embedder, tmp_path):
    cache, markers = tmp_path / "cache", tmp_path / "markers"
    markers.mkdir()
    eo.export_key(eo.model_dir(), cache)  # the model hash is remembered: the race is about the export
    code = f"""
import os, pathlib, shutil, time
from whisper_assets.core import embedding_onnx as eo
def slow_export(directory, dest, threads):
    pathlib.Path({str(markers)!r}, f"export-{{os.getpid()}}").touch()
    time.sleep(1.5)
    shutil.copyfile({str(onnx_embedder.path)!r}, dest)
eo._export = slow_export
print(eo.ensure_onnx(eo.model_dir(), pathlib.Path({str(cache)!r})))
"""
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    paths = {out.strip() for out, _ in outs}
    assert len(paths) == 1 and len(list(markers.iterdir())) == 1  # one export, both use it
    assert Path(paths.pop()).read_bytes() == onnx_embedder.path.read_bytes()
    assert not list(cache.glob(".*.tmp"))


def test_a_second_process_uses_the_cached_file_without_torch(onnx_embedder, cache_dir):
    texts = ["I adopted a cat named Miso", "🙂", "word " * 400]
    code = f"""
import json, sys
from whisper_assets.core.embedding import get_embedder
e = get_embedder(1, cache_dir={str(cache_dir)!r})
vectors = e.encode({texts!r}).tolist() + [e.encode_one("one more").tolist()]
heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules)
print(json.dumps({{"backend": e.backend, "path": str(e.path), "heavy": heavy, "vectors": vectors}}))
"""
    env = {k: v for k, v in os.environ.items() if k != BACKEND_ENV}
    mtime = onnx_embedder.path.stat().st_mtime_ns
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["backend"] == "onnx" and result["path"] == str(onnx_embedder.path)
    assert result["heavy"] == []  # no torch import at all
    assert onnx_embedder.path.stat().st_mtime_ns == mtime  # found, not exported again
    got = np.asarray(result["vectors"])
    want = onnx_embedder.encode(texts + ["one more"])
    assert (got * want).sum(1).min() >= 0.99999


def test_falls_back_to_torch_with_a_one_line_warning(monkeypatch, caplog, onnx_embedder):
    def unavailable(*args, **kwargs):
        raise ImportError("No module named 'onnxruntime'")

    monkeypatch.setattr(eo, "load_onnx_embedder", unavailable)
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    with caplog.at_level(logging.WARNING, logger="whisper_assets.core.embedding"):
        embedder = build_embedder(2)
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.backend == "torch"
    warnings = [r for r in caplog.records if r.name == "whisper_assets.core.embedding"]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    message = warnings[0].getMessage()
    assert "\n" not in message and "onnxruntime" in message and "sentence-transformers" in message
    vector = embedder.encode_one("I adopted a cat named Miso")
    assert float(vector @ onnx_embedder.encode_one("I adopted a cat named Miso")) > 0.999
    with pytest.raises(ImportError):
        build_embedder(2, backend="onnx")  # forced: no fallback


def test_backend_from_the_environment(monkeypatch, onnx_embedder):
    monkeypatch.setenv(BACKEND_ENV, "Torch")
    assert build_embedder(2).backend == "torch"
    monkeypatch.setenv(BACKEND_ENV, "tensorflow")
    with pytest.raises(ValueError, match=BACKEND_ENV):
        build_embedder(2)
    with pytest.raises(ValueError, match="backend"):
        build_embedder(2, backend="gpu")
