"""Draw a timeline: face, voice and fused probabilities over time, one row each."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .labels import LABELS

#: One colour per canonical label (colour-blind-friendly Okabe-Ito palette).
COLORS = {
    "angry": "#D55E00", "disgust": "#009E73", "fear": "#CC79A7", "happy": "#F0E442",
    "sad": "#0072B2", "surprise": "#E69F00", "neutral": "#999999",
}


#: Persons drawn as lanes at most (the most visible ones); the rest are in the CSV.
MAX_LANES = 8


def _lanes(timeline) -> list[tuple[str, list, list[bool] | None]]:
    """(name, scores per segment or None, speaking per segment or None) for each row of the plot."""
    segments = timeline.segments
    lanes: list[tuple[str, list, list[bool] | None]] = [
        ("face", [s.face for s in segments], None), ("voice", [s.voice for s in segments], None)]
    shown = sorted(timeline.persons, key=lambda p: -p.seconds_visible)[:MAX_LANES]
    for person in sorted(shown, key=lambda p: timeline.persons.index(p)):
        ones = [next((one for one in s.people if one.person == person.id), None) for s in segments]
        lanes.append((person.id, [one.fused if one else None for one in ones],
                      [bool(one and one.speaking) for one in ones]))
    lanes.append(("fused" if not timeline.persons else "scene", [s.fused for s in segments], None))
    return lanes


def plot_timeline(timeline, path: str | Path, title: str | None = None) -> Path:
    """Save a PNG of stacked probabilities over time: the faces, the voice, a lane per person (their
    fused verdict; a black bar on top while they speak) and the fused scene. Gaps show missing data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    segments = timeline.segments
    # two points per segment (its start and its end) so that a missing segment blanks only itself
    x = np.array([t for s in segments for t in (s.start, s.end)])
    lanes = _lanes(timeline)
    fig, axes = plt.subplots(len(lanes), 1, figsize=(12, 1.1 + 1.45 * len(lanes)), sharex=True, squeeze=False)
    axes = axes[:, 0]
    for ax, (name, scores, speaking) in zip(axes, lanes):
        probs = np.array([
            s.values if s is not None else [np.nan] * len(LABELS) for s in scores
        ]).reshape(len(segments), len(LABELS)).repeat(2, axis=0)
        bottom = np.zeros(len(x))
        for i, label in enumerate(LABELS):
            top = bottom + probs[:, i]
            ax.fill_between(x, bottom, top, color=COLORS[label], label=label, linewidth=0)
            bottom = top
        ax.fill_between(x, 0, 1, where=np.isnan(probs[:, 0]), facecolor="#f4f4f4", hatch="//", edgecolor="#d0d0d0",
                        linewidth=0, label="_nolegend_")
        top_of = 1.0
        if speaking is not None and any(speaking):
            ax.fill_between(x, 1.0, 1.12, where=np.repeat(speaking, 2), color="#222222", linewidth=0,
                            label="_nolegend_")
            top_of = 1.12
        ax.set_ylim(0, top_of)
        ax.set_yticks([0, 0.5, 1])
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=11)
        ax.margins(x=0)
    axes[-1].set_xlabel("time (s)" + ("   (black bar: speaking)" if timeline.persons else ""))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(LABELS), frameon=False, bbox_to_anchor=(0.5, 0.995))
    fig.suptitle(title or Path(timeline.source).name, y=1 - 0.5 / fig.get_figheight(), fontsize=10, color="#444444")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.65 / fig.get_figheight()))
    return save_png(fig, path, dpi=110)


def save_png(fig, path: str | Path, dpi: int) -> Path:
    """Write a matplotlib figure as a PNG atomically (a temp file, then a rename) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return path
