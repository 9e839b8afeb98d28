"""Classification metrics and reports shared by `emofuse evaluate face|voice`."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .atomic import atomic_output


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Counts: rows are true classes, columns predicted classes."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    return matrix


def metrics_from_confusion(confusion: np.ndarray, labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support from a confusion matrix."""
    confusion = np.asarray(confusion)
    n = int(confusion.sum())
    tp = np.diag(confusion).astype(float)
    predicted, actual = confusion.sum(axis=0).astype(float), confusion.sum(axis=1).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    present = actual > 0
    per_class = {
        label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(actual[i])}
        for i, label in enumerate(labels)
    }
    return {
        "n": n,
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "labels": list(labels),
        "per_class": per_class,
        "confusion": confusion.astype(int).tolist(),
    }


def evaluate_predictions(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict:
    """All metrics for integer predictions over `labels`."""
    return metrics_from_confusion(confusion_matrix(y_true, y_pred, len(labels)), labels)


def format_report(metrics: dict, title: str = "") -> str:
    """A plain-text classification report with the confusion matrix."""
    labels = metrics["labels"]
    width = max(10, *(len(label) for label in labels))
    lines = [title] if title else []
    lines.append(f"{'':{width}} precision  recall  f1-score  support")
    for label in labels:
        row = metrics["per_class"][label]
        lines.append(f"{label:{width}} {row['precision']:9.3f} {row['recall']:7.3f} {row['f1']:9.3f} {row['support']:8d}")
    lines.append(f"{'accuracy':{width}} {metrics['accuracy']:27.3f} {metrics['n']:8d}")
    lines.append(f"{'macro f1':{width}} {metrics['macro_f1']:27.3f}")
    lines.append("")
    lines.append("confusion matrix (rows: true, columns: predicted)")
    short = [label[:7] for label in labels]
    lines.append(f"{'':{width}} " + " ".join(f"{s:>7}" for s in short))
    for label, row in zip(labels, metrics["confusion"]):
        lines.append(f"{label:{width}} " + " ".join(f"{v:7d}" for v in row))
    return "\n".join(lines)


def plot_confusion(metrics: dict, path: str | Path, title: str = "") -> Path:
    """Save the row-normalised confusion matrix as a PNG heat map with counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = metrics["labels"]
    counts = np.asarray(metrics["confusion"], dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1.1 * len(labels) + 2, 1.0 * len(labels) + 1.5))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center",
                    color="white" if share[i, j] > 0.5 else "black", fontsize=8)
    ax.set_title(title or f"accuracy {metrics['accuracy']:.1%}, macro-F1 {metrics['macro_f1']:.3f}")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    from .plot import save_png

    return save_png(fig, path, dpi=120)


def write_report(metrics: dict, directory: str | Path, name: str, title: str = "") -> list[Path]:
    """Write `<name>_confusion.png`, `<name>_report.txt` and `<name>_metrics.json` into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = [plot_confusion(metrics, directory / f"{name}_confusion.png", title)]
    for suffix, text in (("report.txt", format_report(metrics, title)), ("metrics.json", json.dumps(metrics, indent=2))):
        target = directory / f"{name}_{suffix}"
        with atomic_output(target) as tmp:
            tmp.write_text(text + "\n")
        written.append(target)
    return written
