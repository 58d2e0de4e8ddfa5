"""The LoCoMo evaluation report: `locomo.json` (every measurement), `locomo.md` (for people) and
`locomo.png` (precision/recall per sample and per fact category, evidence recall per QA category).

Works on the plain dict `locomo.evaluate` returns, so a saved JSON can be re-rendered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

# Issue 13's targets (offline backend); strict evidence recall is asked after the whole conversation.
TARGETS = {"fact_precision": 0.90, "fact_precision@0.70": 0.85, "fact_recall": 0.20, "evidence_recall@10": 0.70,
           "summary_cosine": 0.65}
REPORT_NAMES = {"json": "locomo.json", "markdown": "locomo.md", "plot": "locomo.png"}


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _cell(text: Any, limit: int = 160) -> str:
    text = " ".join(str(text).split()) if text is not None else ""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(c) if isinstance(c, str) else fmt(c) for c in row) + " |" for row in rows]
    return out + [""]


def write_report(result: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write the three files into out_dir (created if needed); returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / v for k, v in REPORT_NAMES.items()}
    paths["json"].write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    plot(result, paths["plot"])
    paths["markdown"].write_text(markdown(result, paths["plot"].name), encoding="utf-8")
    return paths


def _at(result: dict[str, Any], threshold: float) -> dict[str, Any]:
    for row in result["facts"].get("threshold_sensitivity", []):
        if abs(row["threshold"] - threshold) < 1e-9:
            return row
    return {}


def _retrieval(block: dict[str, Any] | None) -> dict[str, Any]:
    """Strict and loose recall@10 and the baselines of one `retrieval` block (None: n/a)."""
    if not block:
        return {}
    base = block.get("baselines", {})
    return {
        "strict@10": block.get("strict", {}).get("recall@10"), "strict@5": block.get("strict", {}).get("recall@5"),
        "loose@10": block["overall"].get("recall@10"), "loose@5": block["overall"].get("recall@5"),
        "latest_summaries_strict@10": base.get("latest_summaries", {}).get("strict", {}).get("recall@10"),
        "latest_summaries_loose@10": base.get("latest_summaries", {}).get("loose", {}).get("recall@10"),
        "random_strict@10": base.get("random_same_kinds", {}).get("strict", {}).get("recall@10"),
        "random_loose@10": base.get("random_same_kinds", {}).get("loose", {}).get("recall@10"),
        "summaries_holding_share": block.get("summary_citations", {}).get("share"),
    }


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The few numbers a reader wants first (also what the CLI prints). `evidence_recall@k` is the
    strict figure at the session date; `loose_...` the old one (provenance cites the turn)."""
    f, s, r = result["facts"]["overall"], result["summaries"]["overall"], result["retrieval"]["overall"]
    turns = sum(x.get("turns", 0) for x in result["dataset"]["samples"])
    at_session, after = _retrieval(result["retrieval"]), _retrieval(result.get("retrieval_after"))
    return {
        "fact_precision": f["precision"], "fact_recall": f["recall"], "fact_f1": f["f1"],
        "fact_precision@0.70": _at(result, 0.70).get("precision"), "fact_recall@0.70": _at(result, 0.70).get("recall"),
        "predicted_facts": f["predicted"], "gold_facts": f["gold"],
        "facts_per_100_turns": 100 * f["predicted"] / turns if turns else None,
        "summary_rouge_l_f1": s["rouge_l_f1"], "summary_cosine": s["cosine"],
        "evidence_recall@5": at_session.get("strict@5"), "evidence_recall@10": at_session.get("strict@10"),
        "evidence_recall@10_after_conversation": after.get("strict@10"),
        "loose_evidence_recall@5": r.get("recall@5"), "loose_evidence_recall@10": r.get("recall@10"),
        "loose_evidence_recall@10_after_conversation": after.get("loose@10"),
        "loose_evidence_recall@10_question_selected": result["retrieval"].get("query_selected", {}).get("recall@10"),
        "baseline_latest_summaries_strict@10": at_session.get("latest_summaries_strict@10"),
        "baseline_random_strict@10": at_session.get("random_strict@10"),
        "questions": r["evaluated"], "seconds": result["run"]["timings_s"].get("total"),
    }


def _verdict(value: float | None, target: float) -> str:
    if value is None:
        return "n/a"
    return "met" if value >= target else "not met"


def markdown(result: dict[str, Any], plot_name: str = REPORT_NAMES["plot"]) -> str:
    cfg, run, facts, summ, ret = (result[k] for k in ("config", "run", "facts", "summaries", "retrieval"))
    h = headline(result)
    samples = ", ".join(s["sample_id"] for s in result["dataset"]["samples"])
    lines = [
        "# LoCoMo evaluation",
        "",
        f"Samples {samples} from `{result['dataset']['file']}` (sha256 `{result['dataset']['sha256'][:16]}…`), "
        f"run through the whole pipeline (hot path → Dagster bot × day partitions → Postgres → `recall()`) "
        f"with the **{cfg['backend']}** backend (model `{run['llm']['model']}`) in a temporary workspace "
        f"({run['postgres']}; an embedded Qdrant). {run['stored']} of {run['records']} turns stored, "
        f"{run['partitions']} bot-days with messages in {run['dagster_runs']} Dagster runs "
        f"({run['llm'].get('bot_days_materialized', run['partitions'])} bot-days materialized, empty days between "
        f"sessions included); "
        f"{run['llm']['calls']} LLM calls, {run['llm']['tokens_in']} tokens in, {run['llm']['tokens_out']} out, "
        f"${run['llm']['cost_usd']:.4f}. Total {fmt(run['timings_s'].get('total'), 1)} s "
        f"({', '.join(f'{k} {v:.1f} s' for k, v in run['timings_s'].items() if k != 'total')}).",
        "",
        f"{result['dataset']['license']}.",
        "",
        "## Headline",
        "",
    ]
    lines += _table(["metric", "value", "target", ""], [
        ["fact precision (micro, cosine >= threshold)", h["fact_precision"], TARGETS["fact_precision"],
         _verdict(h["fact_precision"], TARGETS["fact_precision"])],
        ["fact precision at 0.70", h["fact_precision@0.70"], TARGETS["fact_precision@0.70"],
         _verdict(h["fact_precision@0.70"], TARGETS["fact_precision@0.70"])],
        ["fact recall (micro)", h["fact_recall"], TARGETS["fact_recall"],
         _verdict(h["fact_recall"], TARGETS["fact_recall"])],
        ["facts per 100 turns", h["facts_per_100_turns"], "", ""],
        ["summary ROUGE-L F1 (mean per session)", h["summary_rouge_l_f1"], "", ""],
        ["summary embedding cosine (mean per session)", h["summary_cosine"], TARGETS["summary_cosine"],
         _verdict(h["summary_cosine"], TARGETS["summary_cosine"])],
        ["**strict** evidence recall@10, asked at the session date", h["evidence_recall@10"], "", ""],
        ["**strict** evidence recall@10, asked after the whole conversation",
         h["evidence_recall@10_after_conversation"], TARGETS["evidence_recall@10"],
         _verdict(h["evidence_recall@10_after_conversation"], TARGETS["evidence_recall@10"])],
        ["strict evidence recall@5, at the session date", h["evidence_recall@5"], "", ""],
        ["chance: latest summaries ignoring the question, strict @10",
         h["baseline_latest_summaries_strict@10"], "", ""],
        ["chance: random items of the same kinds, strict @10", h["baseline_random_strict@10"], "", ""],
        ["loose (old) evidence recall@10: provenance cites the turn, at the session date",
         h["loose_evidence_recall@10"], "", ""],
        ["loose evidence recall@10, after the whole conversation", h["loose_evidence_recall@10_after_conversation"],
         "", ""],
        ["loose evidence recall@10, items the question selected (no recency list)",
         h["loose_evidence_recall@10_question_selected"], "", ""],
    ])
    lines += [f"![precision, recall and evidence recall]({plot_name})", ""]

    # -- facts
    lines += [
        "## Facts",
        "",
        f"Predicted: `fact_observations` of each speaker whose source turns are in the session; gold: "
        f"`session_N_observation[speaker]`. Compared as {cfg['fact_text']} with {cfg['embedding_model']} "
        f"cosine, {cfg['matching']} (threshold **{cfg['threshold']}**). Precision = matched predicted / "
        f"predicted, recall = matched gold / gold, counts summed before dividing (micro). "
        f"{facts['unplaced_predicted']} predicted facts could not be placed in a session.",
        "",
        "### Per sample",
        "",
    ]
    lines += _table(["sample", "predicted", "matched", "gold", "precision", "recall", "F1"],
                    [[s, c["predicted"], c["matched_predicted"], c["gold"], c["precision"], c["recall"], c["f1"]]
                     for s, c in facts["by_sample"].items()]
                    + [["**all**", facts["overall"]["predicted"], facts["overall"]["matched_predicted"],
                        facts["overall"]["gold"], facts["overall"]["precision"], facts["overall"]["recall"],
                        facts["overall"]["f1"]]])
    lines += [
        "### Per category of the predicted fact",
        "",
        "Gold observations carry no category, so the recall column is each category's share of all gold "
        "facts matched (the shares add up to the overall recall).",
        "",
    ]
    lines += _table(["category", "predicted", "matched", "precision", "recall share"],
                    [[c, v["predicted"], v["matched"], v["precision"], v["recall_share"]]
                     for c, v in facts["by_category"].items()])
    lines += [
        "### Matching threshold",
        "",
        "The threshold was fixed from hand-checked pairs before the metric was read (see "
        "`whisper_assets/interfaces/evaluation/locomo.py`, `DEFAULT_THRESHOLD`): pairs above ~0.80 state the same "
        "fact; between ~0.55 and ~0.80 right matches (a short predicted fact against a long, detailed "
        "gold sentence) and wrong ones (a different gold fact on the same topic) overlap. The "
        "predicted facts whose best gold candidate is nearest the threshold (`same turn`: the gold "
        "cites one of the predicted fact's source turns, a rough hint, not the rule):",
        "",
    ]
    lines += _table(["cosine", "", "same turn", "predicted", "best gold"],
                    [[p["best_similarity"], "≥" if p["best_similarity"] >= cfg["threshold"] else "<",
                      "yes" if set(p["best_gold_evidence"]) & set(p["dia_ids"]) else "no",
                      p["predicted"], p["best_gold"]] for p in facts["threshold_examples"]])
    lines += ["Precision and recall at other thresholds (for sensitivity, not for choosing):", ""]
    lines += _table(["threshold", "matched", "precision", "recall"],
                    [[t["threshold"], t["matched_predicted"], t["precision"], t["recall"]]
                     for t in facts["threshold_sensitivity"]])
    hist = [b for b in facts["best_similarity_histogram"] if b["count"]]
    lines += ["Best-candidate cosine of every predicted fact: " + ", ".join(
        f"{b['from']:.2f}-{b['to']:.2f}: {b['count']}" for b in hist) + ".", ""]
    lines += [
        "### Unmatched predicted facts",
        "",
        "Gold observations are GPT-generated and incomplete (and sometimes wrong, e.g. citing the other "
        "speaker's turn), so an unmatched fact is not necessarily false: check it against its source "
        "turn. The metric stays as defined; these are shown so a reader can judge.",
        "",
    ]
    reasons = facts.get("unmatched_reasons", {})
    if reasons:
        lines += ["Why unmatched: " + "; ".join(f"{why}: {n}" for why, n in reasons.items()) + ".", ""]
    taken = sum(n for why, n in reasons.items() if "one-to-one" in why)
    if taken:
        scored = [p for p in facts.get("predicted", []) if p["best_similarity"] is not None]
        near = sum(p["best_similarity"] >= cfg["threshold"] for p in scored)
        lines += [
            f"{taken} unmatched facts lost their best gold observation to another predicted fact: the "
            "gold often packs two of our facts into one sentence (a gold \"Ann works as a nurse at St. Mary's\" "
            "covers both \"works as a nurse\" and \"works at St. Mary's\"), and one-to-one matching credits one. "
            f"Diagnostic only (not the metric): {near} of {len(facts.get('predicted', []))} predicted facts "
            f"have some gold observation at cosine ≥ {cfg['threshold']}.",
            "",
        ]
    lines += _table(["sample", "session", "predicted", "source turn", "best gold (cosine)", "why"],
                    [[p["sample"], p["session"], p["predicted"], f"{', '.join(p['dia_ids'])}: {p['source']}",
                      f"{p['best_gold']} ({fmt(p['best_similarity'])})" if p["best_gold"] else "no gold",
                      p.get("unmatched_because", "")]
                     for p in facts["unmatched_examples"]])
    lines += ["### Some matches", ""]
    lines += _table(["cosine", "predicted", "gold"],
                    [[p["matched_similarity"], p["predicted"], p["matched_gold"]] for p in facts["matched_examples"]])

    # -- summaries
    lines += [
        "## Summaries",
        "",
        "Per session: both speakers' summaries of that day, concatenated (speaker_a first), against "
        "`session_N_summary`. ROUGE-L F1 with Porter stemming (rouge-score); cosine of the two "
        f"{cfg['embedding_model']} embeddings (each text truncated to the model's 256 word pieces).",
        "",
    ]
    lines += _table(["sample", "sessions", "missing", "ROUGE-L F1", "cosine", "words ours", "words gold"],
                    [[s, b["sessions"], b["missing"], b["rouge_l_f1"], b["cosine"], b["predicted_words"],
                      b["gold_words"]] for s, b in [*summ["by_sample"].items(), ("**all**", summ["overall"])]])
    rows = sorted(summ["sessions"], key=lambda r: r["rouge_l_f1"])
    if rows:
        for label, r in (("Lowest", rows[0]), ("Highest", rows[-1])):
            lines += [f"{label} ROUGE-L F1: {r['sample']} session {r['session']} ({r['day']}): "
                      f"ROUGE-L {r['rouge_l_f1']:.3f}, cosine {r['cosine']:.3f}.", "",
                      f"- ours: {_cell(r['predicted'], 500)}", f"- gold: {_cell(r['gold'], 500)}", ""]

    # -- retrieval
    lines += [
        "## Retrieval",
        "",
        "Each QA item of categories 1-4 is asked through `recall()` for the speaker it names (both, "
        "merged by rank, when it names both or neither), with `now` = the date of the session after the "
        "last evidence session (the last session's date + 1 day). Hit@k: the source messages of one of "
        "the first k items include an evidence turn. Ranking of one `recall()` result: "
        f"{cfg['ranking']}. Items whose evidence has no valid dia_id are skipped.",
        "",
    ]
    lines += strict_retrieval_lines(ret, result.get("retrieval_after"))
    lines += ["### Loose (old) figures, at the session date", "",
              "Hit@k here: the provenance of one of the first k items cites an evidence turn, whatever the "
              "item's text says (a day summary cites every turn of its day).", ""]
    ks = ret["ks"]
    cat_rows = [[c, v["name"], v["evaluated"], ret["skipped_no_valid_evidence"].get(c, 0),
                 *[v.get(f"recall@{k}") for k in ks]] for c, v in ret["by_category"].items()]
    cat_rows.append(["**1-4**", "all", ret["overall"]["evaluated"], sum(ret["skipped_no_valid_evidence"].values()),
                     *[ret["overall"].get(f"recall@{k}") for k in ks]])
    lines += _table(["category", "name", "evaluated", "skipped (no valid evidence)", *[f"recall@{k}" for k in ks]],
                    cat_rows)
    lines += _table(["sample", "evaluated", *[f"recall@{k}" for k in ks]],
                    [[s, v["evaluated"], *[v.get(f"recall@{k}") for k in ks]] for s, v in ret["by_sample"].items()])
    lines += [
        "Hits by kind of item (each kind ranked alone, as recall() returned it): `fact` the user's facts, "
        "`related` the summaries closest in meaning, `message` the past messages closest in meaning, "
        "`time_range` the summaries of a time the question names, `recent` the latest summaries recall() "
        "adds when it names none (chosen by date, not by the question). The last row ranks everything "
        "except `recent`: what the question itself selected.",
        "",
    ]
    kind_rows = [[kind, *[v.get(f"recall@{k}") for k in ks]] for kind, v in ret["by_kind"].items()]
    if "query_selected" in ret:
        kind_rows.append(["all but recent", *[ret["query_selected"].get(f"recall@{k}") for k in ks]])
    lines += _table(["kind", *[f"recall@{k}" for k in ks]], kind_rows)
    any_rank = sum(q["first_hit_rank"] is not None for q in ret["questions"])
    lines += [
        f"Evidence anywhere in what `recall()` returned (any rank): {any_rank} of {ret['overall']['evaluated']}. "
        f"First hit within the top {max(ks)} came from: "
        + ", ".join(f"{k} {v}" for k, v in sorted(ret["first_hit_kind"].items())) + ". "
        "Speaker routing: " + ", ".join(f"{k} {v}" for k, v in sorted(ret["speaker_routing"].items())) + ". "
        "Skipped categories: " + (", ".join(f"{k}: {v}" for k, v in ret["skipped_categories"].items()) or "none")
        + f"; evidence ids not in the conversation: {ret['invalid_evidence_ids']}.",
        "",
    ]
    after = ret.get("top_items_after_now")
    if after and after["items"]:
        lines += [
            f"Of the {after['items']} items in the top {max(ks)} lists, {after['after_now']} "
            f"({fmt(after['share'], 2)}) come entirely from sessions after the question's `now`: "
            "`recall()` does not restrict facts and summaries to what was known at `now`, so later "
            "sessions compete with (and can never be) the evidence.",
            "",
        ]
    misses = [q for q in ret["questions"] if q["first_hit_rank"] is None][:8]
    if misses:
        lines += ["Some questions whose evidence was not retrieved at all:", ""]
        lines += _table(["category", "question", "evidence", "now", "top items (kind: dia ids)"],
                        [[q["category"], q["question"], ", ".join(q["evidence"]), q["now"][:10],
                          "; ".join(f"{t['kind']}: {','.join(t['dia_ids'][:3])}" for t in q["top"][:4])]
                         for q in misses])
    return "\n".join(lines).rstrip() + "\n"


def strict_retrieval_lines(at_session: dict[str, Any], after: dict[str, Any] | None) -> list[str]:
    """The strict headline of retrieval, at both moments, beside the loose figure and the baselines."""
    lines = [
        "### Strict evidence recall (the headline)",
        "",
        "Strict hit: one of the first k items is an evidence turn (a message), cites one (a fact), or "
        "cites one and holds it in its own text (a summary: one sentence of the turn with three or more "
        "stemmed content words has three, and half, of them in the summary; `interfaces/evaluation/evidence.py`). "
        "Asked at "
        "the session date (`now` = the session after the evidence) and after the whole conversation "
        "(`now` = a day after the last session). Chance baselines ignore the question: the latest "
        "summaries known at `now`, and random items of the same kinds as recall()'s own top 10 (seeded).",
        "",
    ]
    rows = []
    for label, block in (("at the session date", at_session), ("after the conversation", after)):
        if not block or "strict" not in block:
            continue
        base = block["baselines"]
        rows.append([label, block["strict"]["evaluated"], block["strict"].get("recall@5"),
                     block["strict"].get("recall@10"), block["overall"].get("recall@10"),
                     base["latest_summaries"]["strict"].get("recall@10"),
                     base["latest_summaries"]["loose"].get("recall@10"),
                     base["random_same_kinds"]["strict"].get("recall@10"),
                     base["random_same_kinds"]["loose"].get("recall@10"),
                     block["summary_citations"]["share"]])
    lines += _table(["asked", "questions", "strict@5", "**strict@10**", "loose@10", "latest summaries strict@10",
                     "latest summaries loose@10", "random strict@10", "random loose@10",
                     "top-10 summaries citing evidence that hold it"], rows)
    for label, block in (("at the session date", at_session), ("after the conversation", after)):
        if block and "strict_by_category" in block:
            lines += [f"Strict recall@10 {label}, by category: " + ", ".join(
                f"{c} {v['name']} {fmt(v.get('recall@10'))}" for c, v in block["strict_by_category"].items())
                + "; by kind (each kind ranked alone): " + ", ".join(
                f"{k} {fmt(v.get('recall@10'))}" for k, v in block["strict_by_kind"].items()) + ".", ""]
    return lines


def plot(result: dict[str, Any], path: Path) -> Path:
    """Three panels: precision/recall per sample, precision/recall share per fact category, and
    evidence recall@k per QA category."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    facts, ret = result["facts"], result["retrieval"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [1, 2, 1.3]})

    def bars(ax: Any, labels: list[str], series: dict[str, list[float | None]], title: str) -> None:
        x = np.arange(len(labels))
        width = 0.8 / max(1, len(series))
        for i, (name, values) in enumerate(series.items()):
            vals = [v if v is not None else 0.0 for v in values]
            rects = ax.bar(x + (i - (len(series) - 1) / 2) * width, vals, width, label=name)
            for rect, v in zip(rects, values):
                ax.annotate("n/a" if v is None else f"{v:.2f}", (rect.get_x() + rect.get_width() / 2, rect.get_height()),
                            ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 1.1)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, loc="upper right")

    by_sample = dict(facts["by_sample"]) | {"all": facts["overall"]}
    bars(axes[0], list(by_sample), {"precision": [v["precision"] for v in by_sample.values()],
                                    "recall": [v["recall"] for v in by_sample.values()]}, "Facts per sample")
    cats = facts["by_category"]
    bars(axes[1], [f"{c} ({v['predicted']})" for c, v in cats.items()] or ["none"],
         {"precision": [v["precision"] for v in cats.values()] or [None],
          "recall share": [v["recall_share"] for v in cats.values()] or [None]},
         "Facts per category of the predicted fact (n predicted)")
    # Strict recall@10 per QA category, at the session date and after the conversation (the
    # loose figure when the report predates the strict one).
    after = result.get("retrieval_after") or {}
    strict = ret.get("strict_by_category") or ret["by_category"]
    cat_items = list(strict.items()) + [("1-4", {"name": "all", **(ret.get("strict") or ret["overall"])})]
    after_items = dict(after.get("strict_by_category", {}), **{"1-4": after.get("strict", {})})
    series = {"strict@10, session date": [v.get("recall@10") for _, v in cat_items]}
    if after:
        series["strict@10, after"] = [after_items.get(c, {}).get("recall@10") for c, _ in cat_items]
    bars(axes[2], [f"{c} {v['name']} ({v['evaluated']})" for c, v in cat_items], series,
         "Strict evidence recall@10 per QA category (n)")
    axes[0].axhline(TARGETS["fact_precision"], color="grey", lw=0.8, ls="--")
    axes[2].axhline(TARGETS["evidence_recall@10"], color="grey", lw=0.8, ls="--")
    fig.suptitle(f"LoCoMo: {result['config']['backend']} backend, threshold {result['config']['threshold']}",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
