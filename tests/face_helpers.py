"""Tiny synthetic FER2013 datasets for the face tests, in both layouts, and a CLI runner."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from emofuse.labels import LABELS

REPO = Path(__file__).resolve().parents[1]
FER_CSV = REPO.parent / "shared" / "data" / "fer2013" / "fer2013.csv.gz"


def synthetic_faces(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` uint8 48x48 faces with labels cycling through the 7 classes; class k has a bright band at row 6k."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 120, (n, 48, 48), dtype=np.uint8)
    labels = np.arange(n) % len(LABELS)
    for image, label in zip(images, labels):
        image[6 * label:6 * label + 6] = 230
    return images, labels


def csv_rows(images: np.ndarray, labels: np.ndarray, usage: str) -> list[str]:
    return [f"{label},{' '.join(map(str, image.ravel()))},{usage}" for image, label in zip(images, labels)]


def write_csv(path: Path, rows: list[str], header: str = "emotion,pixels,Usage") -> Path:
    """Write a Kaggle-layout CSV; gzip-compressed when `path` ends in .gz."""
    text = "\n".join([header, *rows]) + "\n"
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def tiny_csv(path: Path, n_train: int = 70, n_test: int = 21) -> Path:
    """A synthetic FER2013 CSV: `n_train` Training and `n_test` PublicTest rows."""
    train, test = synthetic_faces(n_train, seed=1), synthetic_faces(n_test, seed=2)
    return write_csv(path, csv_rows(*train, "Training") + csv_rows(*test, "PublicTest"))


def tiny_folders(root: Path, n_train: int = 70, n_test: int = 21, size: int = 48) -> Path:
    """train/<class>/*.png and test/<class>/*.png written with OpenCV (faces `size` pixels wide)."""
    import cv2

    for split, (images, labels) in (("train", synthetic_faces(n_train, 3)), ("test", synthetic_faces(n_test, 4))):
        for i, (image, label) in enumerate(zip(images, labels)):
            folder = root / split / LABELS[label]
            folder.mkdir(parents=True, exist_ok=True)
            if size != 48:
                image = cv2.resize(image, (size, size), interpolation=cv2.INTER_NEAREST)
            assert cv2.imwrite(str(folder / f"{split}_{i}.png"), image)
    return root


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run `emofuse ARGV` in-process; returns (exit code, stdout, stderr)."""
    from emofuse.cli import main

    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> dict:
    """Run a command with --json that must succeed and print exactly one JSON object."""
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


class FrameQueue:
    """Frames `(time, image)` handed out as a frame stream does: `until(end)` takes those before `end`."""

    def __init__(self, frames):
        self.frames = list(frames)

    def until(self, end):
        out = [f for f in self.frames if f[0] < end - 1e-9]
        self.frames = self.frames[len(out):]
        return out
