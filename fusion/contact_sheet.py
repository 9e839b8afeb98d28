"""A contact sheet of the persons of a timeline: each one's face with their id, so a user knows
who P1 is, and what they showed."""
from __future__ import annotations

from pathlib import Path

import numpy as np


#: Columns of the sheet (persons per row).
COLUMNS = 5


def draw_persons(timeline, path: str | Path) -> Path:
    """Save a PNG with one tile per person: their largest face, id, seconds seen and speaking,
    and their dominant emotion. A timeline without persons gives a sheet that says so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    persons = list(timeline.persons)
    cols = max(1, min(COLUMNS, len(persons)))
    rows = max(1, -(-len(persons) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    if not persons:
        axes[0, 0].text(0.5, 0.5, "no person found", ha="center", va="center", fontsize=11)
    for ax, person in zip(axes.ravel(), persons):
        face = person.face if person.face is not None and np.size(person.face) else np.full((8, 8, 3), 230, np.uint8)
        ax.imshow(face)
        top = timeline.person_summary(person.id)[:1]
        mood = f"{top[0][0]} {top[0][1]:.0%}" if top else "-"
        ax.set_title(f"{person.id}", fontsize=13, fontweight="bold")
        ax.text(0.5, -0.04, f"{person.first_seen:.0f}-{person.last_seen:.0f} s, seen {person.seconds_visible:.0f} s\n"
                f"speaking {person.seconds_speaking:.0f} s, {mood}", transform=ax.transAxes,
                ha="center", va="top", fontsize=8.5, color="#333333")
    fig.suptitle(Path(timeline.source).name, fontsize=9, color="#444444")
    fig.tight_layout()
    from .plot import save_png

    return save_png(fig, path, dpi=100)
