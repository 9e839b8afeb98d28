"""Per-person labels against the scene average, through `emofuse analyze` (issue 12, item 6).

    python benchmarks/person_labels.py [--clips 60] [--seconds 3]

Each clip shows two FER2013 PublicTest faces (different people, different labels) side by side,
upscaled 5x into a 640x360 frame, for a few seconds, no soundtrack. The real pipeline runs at its
defaults (Haar, tracks, persons, fer-cnn). For every person found, its label (the argmax of its
mean face scores over the clip) is compared with the true label of the face at its place; the
"scene average" baseline gives both people the label of the mean of all faces (what the segment
table and emofuse before persons reported). Needs ../shared/data. PublicTest is the face model's
validation set (never trained on): see docs/models.md.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from persons_faces import DATA  # noqa: E402


def faces_with_labels(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    table = pd.read_csv(DATA / "fer2013" / "fer2013.csv.gz")
    table = table[table["Usage"] == "PublicTest"].sample(n=count, random_state=seed)
    faces = np.stack([np.array(p.split(), dtype=np.uint8).reshape(48, 48) for p in table["pixels"]])
    return faces, table["emotion"].to_numpy()


def frame_of(left: np.ndarray, right: np.ndarray, scale: int = 5) -> np.ndarray:
    import cv2

    frame = np.full((360, 640, 3), 120, np.uint8)
    side = 48 * scale
    for face, x in ((left, 50), (right, 350)):
        big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
        frame[60:60 + side, x:x + side] = big[..., None]
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    if not (DATA / "fer2013" / "fer2013.csv.gz").exists():
        sys.exit(f"needs {DATA / 'fer2013' / 'fer2013.csv.gz'} (../shared/data)")
    import emofuse
    from emofuse.labels import LABELS
    from emofuse.testing import encode_media

    faces, labels = faces_with_labels(4 * args.clips, args.seed)
    pairs = [(i, j) for i, j in zip(range(0, len(faces), 2), range(1, len(faces), 2)) if labels[i] != labels[j]]
    pairs = pairs[: args.clips]
    work = Path(tempfile.mkdtemp(prefix="emofuse-person-labels-"))
    own = scene = seen = total = two_persons = 0
    t0 = time.perf_counter()
    for n, (i, j) in enumerate(pairs):
        clip = encode_media(work / f"c{n}.mp4", [frame_of(faces[i], faces[j])] * int(args.seconds * 10), fps=10)
        timeline = emofuse.analyze(clip, audio=False)
        scene_scores = [s.face.array for s in timeline.segments if s.face is not None]
        scene_label = LABELS[int(np.argmax(np.mean(scene_scores, axis=0)))] if scene_scores else None
        total += 2
        two_persons += len(timeline.persons) == 2
        for truth, is_left in ((labels[i], True), (labels[j], False)):
            rows = [one for seg in timeline.segments for one in seg.people
                    if (one.box.x + one.box.width / 2 < 320) == is_left and one.face is not None]
            if not rows:
                continue
            seen += 1
            mine = LABELS[int(np.argmax(np.mean([one.face.array for one in rows], axis=0)))]
            own += mine == LABELS[truth]
            scene += scene_label == LABELS[truth]
    elapsed = time.perf_counter() - t0
    print(f"{len(pairs)} two-person clips ({args.seconds:g} s each, FER2013 PublicTest faces 240 px, different "
          f"labels), {elapsed:.0f} s")
    print(f"clips with exactly two persons: {two_persons}/{len(pairs)}; faces found as a person: {seen}/{total}")
    print(f"per-person label accuracy: {own / total:.1%} of all faces ({own / max(seen, 1):.1%} of those found)")
    print(f"scene-average label given to each person: {scene / total:.1%} of all faces "
          f"({scene / max(seen, 1):.1%} of those found); at most 50 % by construction")


if __name__ == "__main__":
    main()
