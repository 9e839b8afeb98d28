"""Persons end to end through `emofuse analyze`: real faces, the real detector, classifier and embedder.

Issue 12's "done when": on a two-person clip with a cut where the two swap places, `--by person`
reports exactly two persons, each with their own row and emotions.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emofuse.cli import main
from emofuse.testing import encode_media, sample_face

pytestmark = pytest.mark.slow


def _hopper() -> np.ndarray:
    import cv2
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _fit(image: np.ndarray, width: int) -> np.ndarray:
    import cv2

    height = round(image.shape[0] * width / image.shape[1])
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _swap_clip(path: Path, seconds: float = 6.0, fps: int = 10) -> Path:
    """Astronaut left and Hopper right, then a cut (new background) and the two swapped."""
    left, right = _fit(sample_face(), 200), _fit(_hopper(), 200)

    def frames():
        for i in range(int(seconds * fps)):
            swapped = i >= seconds * fps / 2
            frame = np.full((360, 640, 3), (90, 110, 140) if swapped else (150, 150, 150), np.uint8)
            a, b = (right, left) if swapped else (left, right)
            for image, x in ((a, 60), (b, 380)):
                h = min(image.shape[0], 340)
                frame[10:10 + h, x:x + image.shape[1]] = image[:h]
            yield frame

    return encode_media(path, frames(), fps=fps)


@pytest.fixture(scope="module")
def swap_clip(tmp_path_factory):
    return _swap_clip(tmp_path_factory.mktemp("persons") / "swap.mp4")


def test_two_people_who_swap_places_across_a_cut_are_two_persons(swap_clip, tmp_path):
    out = tmp_path / "swap.csv"
    sheet = tmp_path / "who.png"
    assert main(["analyze", str(swap_clip), "--by", "person", "-o", str(out), "--persons", str(sheet), "-q"]) == 0
    df = pd.read_csv(out)
    assert sorted(df["person"].unique()) == ["P1", "P2"]
    # P1 is the first seen; whoever it is, it is on one side before the cut and the other after
    for person in ("P1", "P2"):
        rows = df[df["person"] == person]
        before, after = rows[rows["end"] <= 3]["x"], rows[rows["start"] >= 3]["x"]
        assert len(before) >= 2 and len(after) >= 2
        assert (before < 320).all() != (after < 320).all()
    # each segment shows both, never one person twice
    assert (df.groupby("start")["person"].nunique() == df.groupby("start").size()).all()
    assert df["face_happy"].notna().all() and sheet.stat().st_size > 0
