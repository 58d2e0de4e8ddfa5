"""Bulk embedding picks its backend by measurement (core/embedding_choice.py)."""

from __future__ import annotations

import json
import logging

import numpy as np

from whisper_assets.core import embedding, embedding_choice
from whisper_assets.core.embedding_choice import BULK_MIN_TEXTS, BatchRates, batch_rates

FAST_TORCH = BatchRates(onnx_per_s=250.0, torch_per_s=370.0, torch_load_s=4.5, torch_bf16=True, cpu="test cpu")
SLOW_TORCH = BatchRates(onnx_per_s=250.0, torch_per_s=200.0, torch_load_s=4.5, torch_bf16=False, cpu="test cpu")


def test_torch_only_for_bulks_that_pay_for_its_load():
    assert FAST_TORCH.bulk_backend(BULK_MIN_TEXTS - 1) == "onnx"
    # 4.5 s + n/370 < n/250 from n = 3,469 on
    assert FAST_TORCH.bulk_backend(3_400) == "onnx"
    assert FAST_TORCH.bulk_backend(3_500) == "torch"
    assert FAST_TORCH.bulk_backend(1_000_000) == "torch"
    assert SLOW_TORCH.bulk_backend(1_000_000) == "onnx"


def test_rates_are_measured_once_per_cpu_signature_and_cached(tmp_path, monkeypatch):
    calls = []

    def fake_measure(threads):
        calls.append(threads)
        return FAST_TORCH

    monkeypatch.setattr(embedding_choice, "measure", fake_measure)
    assert batch_rates(2, tmp_path) == FAST_TORCH
    assert batch_rates(2, tmp_path) == FAST_TORCH
    assert calls == [2]
    [cached] = tmp_path.glob("batch-rates-*.json")
    assert json.loads(cached.read_text())["signature"]["threads"] == 2
    # Another thread count is another measurement; a damaged file is measured again.
    assert batch_rates(1, tmp_path) == FAST_TORCH
    assert calls == [2, 1]
    cached.write_text("{not json")
    assert batch_rates(2, tmp_path) == FAST_TORCH
    assert calls == [2, 1, 2]


def test_small_jobs_and_a_forced_backend_never_measure(tmp_path, monkeypatch):
    def refuse(*_args):
        raise AssertionError("measured")

    monkeypatch.setattr(embedding_choice, "batch_rates", refuse)
    monkeypatch.delenv(embedding.BACKEND_ENV, raising=False)
    default = embedding.get_embedder(2)
    assert embedding.bulk_embedder(2, BULK_MIN_TEXTS - 1, cache_dir=tmp_path) is default
    monkeypatch.setenv(embedding.BACKEND_ENV, "onnx")
    assert embedding.bulk_embedder(2, 10**6, cache_dir=tmp_path) is embedding.get_embedder(2)


def test_a_failed_measurement_falls_back_to_the_default_with_one_line(tmp_path, monkeypatch, caplog):
    def broken(*_args):
        raise RuntimeError("no torch here\nsecond line")

    monkeypatch.setattr(embedding_choice, "batch_rates", broken)
    monkeypatch.delenv(embedding.BACKEND_ENV, raising=False)
    with caplog.at_level(logging.WARNING, logger="whisper_assets.core.embedding"):
        assert embedding.bulk_embedder(2, 10**6, cache_dir=tmp_path) is embedding.get_embedder(2)
    [line] = [r.getMessage() for r in caplog.records]
    assert "batch embedding not measured" in line and "no torch here second line" in line


def test_a_bulk_on_torch_gives_the_vectors_of_the_default_backend(tmp_path, monkeypatch):
    """Stores mix vectors of both backends: torch (bf16 where the CPU has it) must agree with ONNX."""
    monkeypatch.setattr(embedding_choice, "batch_rates", lambda threads, cache_dir: FAST_TORCH)
    monkeypatch.delenv(embedding.BACKEND_ENV, raising=False)
    bulk = embedding.bulk_embedder(2, 100_000, cache_dir=tmp_path)
    assert bulk.backend == "torch"
    texts = [f"On day {i} I told my coach that the {w} felt easier than last week" for i, w in
             enumerate(["hill climb", "long swim", "rowing set", "tempo run", "yoga flow"] * 8)]
    cosines = np.sum(bulk.encode(texts) * embedding.get_embedder(2).encode(texts), axis=1)
    assert cosines.min() >= 0.9999


def test_the_measurement_itself_on_this_cpu():
    rates = embedding_choice.measure(2)
    assert rates.onnx_per_s > 0 and rates.torch_per_s > 0 and rates.torch_load_s > 0
    assert rates.cpu and rates.bulk_backend(BULK_MIN_TEXTS - 1) == "onnx"

