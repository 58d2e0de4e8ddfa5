"""Evaluation of the memory pipeline against LoCoMo-format data (`whisper-assets eval locomo`).

- `locomo`: `evaluate()`, the whole evaluation in order, and the report's JSON (metric definitions),
- `samples`: loading the samples of a file (the format itself: `memory.locomo_format`),
- `workspace`: the temporary stores, described by one Settings object,
- `pipeline`: ingest through the hot path, then every bot-day through Dagster,
- `facts`, `summaries`, `questions`: scoring facts, summaries and `recall()` (evidence recall@k),
- `metrics`: pure metric functions (matching, precision/recall, ROUGE-L, evidence recall@k),
- `report`: the JSON and Markdown report with a PNG plot.

LoCoMo is CC BY-NC 4.0: it is read from a file the user names and never copied into the package.
"""
