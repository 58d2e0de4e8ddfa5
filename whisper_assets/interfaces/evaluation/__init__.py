"""Evaluation of the memory pipeline against LoCoMo-format data (`whisper-assets eval locomo`).

- `locomo`: load LoCoMo samples and run the whole pipeline on them in a temporary workspace,
- `metrics`: pure metric functions (matching, precision/recall, ROUGE-L, evidence recall@k),
- `report`: the JSON and Markdown report with a PNG plot.

LoCoMo is CC BY-NC 4.0: it is read from a file the user names and never copied into the package.
"""
