"""The voice robustness table: a model's accuracy per recording condition and its drop from clean.

`emofuse evaluate voice --condition all` and `benchmarks/voice_robustness.py` print it. Each file
is put under the condition as recorded (silence included), then goes the evaluation's way (the
model's trim, features, per-utterance normalisation, 2 s windows averaged); see `conditions.py`.
"""
from __future__ import annotations

import csv
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emofuse.errors import EmofuseError

from .conditions import CONDITIONS

#: Issue 17's bar: no condition more than this many points under clean.
BAR_POINTS = 10.0
CSV_COLUMNS = ("condition", "accuracy", "macro_f1", "accuracy_7", "drop_points", "n", "seconds")


def parse_conditions(text: str) -> tuple[str, ...]:
    """`all`, or a comma list of condition names (order kept, repeats dropped); one-line error otherwise."""
    if text.strip() == "all":
        return CONDITIONS
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in CONDITIONS]
    if unknown or not names:
        raise EmofuseError(f"--condition {text}: {'unknown condition ' + unknown[0] if unknown else 'no condition'}; "
                           f"choose from all, {', '.join(CONDITIONS)}")
    return names


def robustness_table(data: str | Path, actors: Sequence[int] | None = None, model: str | Path | None = None,
                     conditions: Sequence[str] = CONDITIONS, threads: int | None = 1, backend: str = "auto",
                     cache_dir: str | Path | None = None, trim: str | None = None) -> dict:
    """{'model', 'backend', 'n', 'trim', 'actors', 'model_train_actors', 'rows': [{condition, accuracy, macro_f1, accuracy_7,
    n, seconds, drop}]}; `drop` in points under the clean row (None without one); `trim` None:
    the model's own."""
    from .classifier import RavdessCnnClassifier
    from .data import find_ravdess
    from .evaluate import score_files

    index = find_ravdess(data, actors)
    classifier = RavdessCnnClassifier(model=model, threads=threads, backend=backend)
    trim = trim or classifier.meta.get("trim", "energy")
    rows = []
    for condition in conditions:
        started = time.time()
        metrics = score_files(classifier, index, condition, cache_dir, trim)
        rows.append({"condition": condition, "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
                     "accuracy_7": metrics["accuracy_7"], "n": metrics["n"],
                     "seconds": round(time.time() - started, 1)})
        print(f"  {condition}: {metrics['accuracy']:.3f} ({rows[-1]['seconds']:.0f} s)", file=sys.stderr, flush=True)
    add_drops(rows)
    return {"model": str(classifier.model_path), "backend": classifier.backend, "n": len(index.files), "trim": trim,
            "actors": index.actors, "model_train_actors": list(classifier.meta.get("train_actors", [])), "rows": rows}


def add_drops(rows: list[dict]) -> None:
    """Set each row's `drop`: points of accuracy under the clean row (None when there is none)."""
    clean = next((row["accuracy"] for row in rows if row["condition"] == "clean"), None)
    for row in rows:
        row["drop"] = None if clean is None else round(100 * (clean - row["accuracy"]), 1)


def format_robustness(result: dict) -> str:
    """What was measured, the table in Markdown, then the worst and mean drop and how many
    conditions miss the bar."""
    from .data import format_actors

    lines = [f"{result['model']} ({result['backend']}, {result['trim']} trim) on {result['n']} files of actors "
             f"{format_actors(result['actors'])}", "",
             "| condition | 8-class accuracy | macro-F1 | drop vs clean (points) |", "|---|--:|--:|--:|"]
    for row in result["rows"]:
        drop = "" if row["drop"] is None or row["condition"] == "clean" else f"{row['drop']:+.1f}"
        mark = " **(> 10)**" if row["drop"] is not None and row["drop"] > BAR_POINTS else ""
        lines.append(f"| {row['condition']} | {100 * row['accuracy']:.1f} % | {row['macro_f1']:.3f} | {drop}{mark} |")
    drops = [row for row in result["rows"] if row["drop"] is not None and row["condition"] != "clean"]
    if drops:
        worst = max(drops, key=lambda row: row["drop"])
        lines.append(f"\nworst: {worst['condition']} ({worst['drop']:+.1f} points); mean drop "
                     f"{np.mean([row['drop'] for row in drops]):.1f}; conditions more than {BAR_POINTS:.0f} points "
                     f"under clean: {sum(row['drop'] > BAR_POINTS for row in drops)}/{len(drops)}")
    return "\n".join(lines)


def write_robustness_csv(result: dict, path: str | Path) -> Path:
    """The table as CSV (one row per condition; accuracies as fractions, drop in points), atomically."""
    from emofuse.atomic import atomic_output

    with atomic_output(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in result["rows"]:
            writer.writerow({**{key: row[key] for key in CSV_COLUMNS if key in row}, "drop_points": row["drop"]})
    return Path(path)
