"""Both development sets side by side (`whisper-assets eval all`): LoCoMo dev (facts, summaries,
retrieval) and Synthetic-Persona-Chat (facts), each through the whole pipeline in its own
temporary workspace, and the generalisation gap (LoCoMo dev minus SPC) of the fact metrics.

A change that helps one set and not the other is tuning, not progress: the gap says which.
Files written (`write_combined`): `eval.json` + `eval.md` (side by side), the LoCoMo report
(`locomo.json`, `locomo.md`, `locomo.png`) and the SPC report (`spc.json`, `spc.md`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

from whisper_assets.core.settings import Settings
from whisper_assets.interfaces.evaluation import spc
from whisper_assets.interfaces.evaluation.report import _table, fmt, headline, write_report

# (key, label, LoCoMo headline key, SPC headline key, counted in the gap)
ROWS: tuple[tuple[str, str, str | None, str | None, bool], ...] = (
    ("fact_precision", "fact precision, cosine >= 0.65", "fact_precision", "fact_precision", True),
    ("fact_precision@0.70", "fact precision, cosine >= 0.70", "fact_precision@0.70", "fact_precision@0.70", True),
    ("fact_recall", "fact recall (SPC: of expressed persona sentences)", "fact_recall", "fact_recall", True),
    ("fact_f1", "fact F1", "fact_f1", "fact_f1", True),
    ("facts_per_100_turns", "facts per 100 turns", "facts_per_100_turns", "facts_per_100_turns", False),
    ("predicted_facts", "predicted facts", "predicted_facts", "predicted_facts", False),
    ("strict@10_session", "strict evidence recall@10, at the session date", "evidence_recall@10", None, False),
    ("strict@10_after", "strict evidence recall@10, after the whole conversation",
     "evidence_recall@10_after_conversation", None, False),
    ("loose@10_session", "loose (old) evidence recall@10, at the session date", "loose_evidence_recall@10", None,
     False),
    ("baseline_latest@10", "chance: latest summaries, strict@10", "baseline_latest_summaries_strict@10", None, False),
    ("baseline_random@10", "chance: random items of the same kinds, strict@10", "baseline_random_strict@10", None,
     False),
    ("summary_rouge_l_f1", "summary ROUGE-L F1", "summary_rouge_l_f1", None, False),
    ("summary_cosine", "summary cosine", "summary_cosine", None, False),
    ("seconds", "runtime, s", "seconds", "seconds", False),
)


def spc_headline(result: dict[str, Any]) -> dict[str, Any]:
    return {**result["facts"]["overall"], "seconds": result["run"]["timings_s"].get("total")}


def side_by_side(locomo: dict[str, Any], spc_result: dict[str, Any]) -> dict[str, Any]:
    """{key: {label, locomo_dev, spc, gap}}; gap = LoCoMo dev minus SPC for the fact metrics."""
    lh, sh = headline(locomo), spc_headline(spc_result)
    out = {}
    for key, label, lk, sk, gap in ROWS:
        a, b = lh.get(lk) if lk else None, sh.get(sk) if sk else None
        out[key] = {"label": label, "locomo_dev": a, "spc": b,
                    "gap": a - b if gap and a is not None and b is not None else None}
    return out


def evaluate_all(
    locomo_path: Path, spc_path: Path, *, settings: Settings, samples: Sequence[str] | None = None,
    conversations: int | None = spc.DEFAULT_CONVERSATIONS, seed: int = spc.DEFAULT_SEED, backend: str = "offline",
    threshold: float = spc.DEFAULT_THRESHOLD, progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    from whisper_assets.interfaces.evaluation.locomo import evaluate
    from whisper_assets.interfaces.evaluation.spc_run import evaluate_spc

    spc.load_spc(spc_path)  # a bad SPC file fails before the LoCoMo run, not after it
    say = progress or (lambda _msg: None)
    say("LoCoMo dev")
    locomo = evaluate(locomo_path, samples, settings=settings, backend=backend, threshold=threshold,
                      progress=lambda m: say(f"LoCoMo: {m}"))
    say("Synthetic-Persona-Chat")
    spc_result = evaluate_spc(spc_path, conversations, settings=settings, seed=seed, backend=backend,
                              threshold=threshold, progress=lambda m: say(f"SPC: {m}"))
    return {"locomo": locomo, "spc": spc_result, "side_by_side": side_by_side(locomo, spc_result)}


def spc_markdown(result: dict[str, Any]) -> str:
    cfg, facts, data = result["config"], result["facts"], result["dataset"]
    h = facts["overall"]
    lines = [
        "# Synthetic-Persona-Chat evaluation (facts)", "",
        f"{h['conversations']} conversations (seed {data['seed']}) from `{data['file']}`, {h['turns']} turns, each "
        f"conversation one bot on {data['day'][:10]}, run through the whole pipeline with the **{cfg['backend']}** "
        f"backend. {data['license']}.", "",
        f"Predicted facts compared as {cfg['fact_text']}; {cfg['matching']}. A persona sentence is *expressed* "
        f"when its {cfg['expressed']} ({cfg['expressed_threshold']}). Recall = expressed persona sentences "
        "matched / expressed; precision = predicted facts matched to any persona sentence of the speaker / "
        "predicted: a lower bound (conversations reveal facts the persona does not list).", "",
    ]
    lines += _table(["metric", "value"], [[k, v] for k, v in h.items()])
    lines += _table(["threshold", "precision", "recall", "matched predicted", "matched expressed"],
                    [[t["threshold"], t["precision"], t["recall"], t["matched_predicted"], t["matched_expressed"]]
                     for t in facts["threshold_sensitivity"]])
    lines += ["Best cosine of each persona sentence with a statement of its speaker: " + ", ".join(
        f"{b['from']:.2f}-{b['to']:.2f}: {b['count']}" for b in facts["expressed_histogram"]) + ".", ""]
    lines += ["## Unmatched predicted facts (read them: true statements the persona omits?)", ""]
    lines += _table(["conversation", "speaker", "fact", "best persona cosine", "drawn from"],
                    [[f["conversation"], f["speaker"], f["fact"], f["best_similarity"], f.get("source", "")[:160]]
                     for f in facts.get("unmatched_examples", [])])
    return "\n".join(lines).rstrip() + "\n"


def combined_markdown(result: dict[str, Any]) -> str:
    rows = result["side_by_side"]
    lines = [
        "# Evaluation: LoCoMo dev and Synthetic-Persona-Chat side by side", "",
        "Both sets through the same pipeline (hot path, Dagster bot x day partitions, "
        f"{result['locomo']['config']['backend']} backend). Gap = LoCoMo dev minus SPC (fact metrics): a "
        "large gap means the extractor fits the dev conversations, not conversations in general. "
        "Retrieval and summaries exist for LoCoMo only (SPC has no questions and no gold summaries). "
        "Details: `locomo.md`, `spc.md`.", "",
        "The two golds differ: SPC precision is a lower bound (a persona lists a few sentences, the "
        "conversation reveals more; read `spc.md`'s unmatched facts before taking the precision gap for "
        "overfitting), and SPC recall counts only the persona sentences the speaker clearly voices, while "
        "LoCoMo's gold observations are long and many. The gap is most telling when a change moves it.", "",
    ]
    lines += _table(["metric", "LoCoMo dev", "SPC", "gap (dev - SPC)"],
                    [[r["label"], r["locomo_dev"], r["spc"], r["gap"]] for r in rows.values()])
    return "\n".join(lines).rstrip() + "\n"


def write_combined(result: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    paths = write_report(result["locomo"], out_dir)
    paths.update({"spc_json": out_dir / "spc.json", "spc_markdown": out_dir / "spc.md",
                  "eval_json": out_dir / "eval.json", "eval_markdown": out_dir / "eval.md"})
    dump = lambda obj: json.dumps(obj, indent=1, ensure_ascii=False, default=str) + "\n"  # noqa: E731
    paths["spc_json"].write_text(dump(result["spc"]), encoding="utf-8")
    paths["spc_markdown"].write_text(spc_markdown(result["spc"]), encoding="utf-8")
    paths["eval_json"].write_text(dump({"side_by_side": result["side_by_side"],
                                        "locomo": headline(result["locomo"]), "spc": spc_headline(result["spc"])}),
                                  encoding="utf-8")
    paths["eval_markdown"].write_text(combined_markdown(result), encoding="utf-8")
    return paths


def summary_lines(result: dict[str, Any]) -> list[str]:
    """What the CLI prints: one line per metric, both sets and the gap."""
    out = []
    for r in result["side_by_side"].values():
        gap = f", gap {fmt(r['gap'])}" if r["gap"] is not None else ""
        out.append(f"{r['label']}: LoCoMo dev {fmt(r['locomo_dev'])}, SPC {fmt(r['spc'])}{gap}")
    return out
