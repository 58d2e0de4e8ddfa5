"""Evaluation of the memory pipeline on two development sets: LoCoMo-format data
(`whisper-assets eval locomo`) and Synthetic-Persona-Chat (`whisper-assets eval spc`), side by side
with the generalisation gap (`whisper-assets eval all`).

- `locomo`: `evaluate()`, the whole evaluation in order, and the report's JSON (metric definitions),
- `samples`: loading the samples of a file (the format itself: `memory.locomo_format`),
- `workspace`: the temporary stores, described by one Settings object,
- `pipeline`: ingest through the hot path, then every bot-day through Dagster,
- `facts`, `summaries`, `questions`: scoring facts, summaries and `recall()` (evidence recall@k),
- `evidence`: the strict rule (does an item really hold an evidence turn?), `baselines`: chance
  retrievers that ignore the question,
- `spc`: Synthetic-Persona-Chat loading and its pure fact score (`score_spc_facts`, no Dagster),
  `spc_run`: SPC through the pipeline, `combined`: both sets side by side,
- `metrics`: pure metric functions (matching, precision/recall, ROUGE-L, evidence recall@k),
- `report`: the JSON and Markdown report with a PNG plot.

LoCoMo is CC BY-NC 4.0 and SPC CC BY 4.0: both are read from files the user names and never copied
into the package.
"""
