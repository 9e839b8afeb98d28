"""Draw a timeline: face, voice and fused probabilities over time, one row each."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .labels import LABELS
from .table import GROUPS

#: One colour per canonical label (colour-blind-friendly Okabe-Ito palette).
COLORS = {
    "angry": "#D55E00", "disgust": "#009E73", "fear": "#CC79A7", "happy": "#F0E442",
    "sad": "#0072B2", "surprise": "#E69F00", "neutral": "#999999",
}


def plot_timeline(timeline, path: str | Path, title: str | None = None) -> Path:
    """Save a PNG with three stacked-probability rows (face, voice, fused); gaps show missing data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    segments = timeline.segments
    # two points per segment (its start and its end) so that a missing segment blanks only itself
    x = np.array([t for s in segments for t in (s.start, s.end)])
    fig, axes = plt.subplots(len(GROUPS), 1, figsize=(12, 5.5), sharex=True)
    for ax, group in zip(axes, GROUPS):
        probs = np.array([
            getattr(s, group).values if getattr(s, group) is not None else [np.nan] * len(LABELS) for s in segments
        ]).reshape(len(segments), len(LABELS)).repeat(2, axis=0)
        bottom = np.zeros(len(x))
        for i, label in enumerate(LABELS):
            top = bottom + probs[:, i]
            ax.fill_between(x, bottom, top, color=COLORS[label], label=label, linewidth=0)
            bottom = top
        ax.fill_between(x, 0, 1, where=np.isnan(probs[:, 0]), color="#f4f4f4", hatch="//", edgecolor="#d0d0d0",
                        linewidth=0, label="_nolegend_")
        ax.set_ylim(0, 1)
        ax.set_yticks([0, 0.5, 1])
        ax.set_ylabel(group, rotation=0, ha="right", va="center", fontsize=11)
        ax.margins(x=0)
    axes[-1].set_xlabel("time (s)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(LABELS), frameon=False, bbox_to_anchor=(0.5, 0.995))
    fig.suptitle(title or Path(timeline.source).name, y=0.93, fontsize=10, color="#444444")
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    path = Path(path)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
