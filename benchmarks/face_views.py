"""Which test-time views help the face model: PublicTest accuracy of single views and view sets.

    python benchmarks/face_views.py                          # the shipped LiteRT export
    python benchmarks/face_views.py --model runs/x/fer_cnn.tflite --limit 500 --save runs/views.npz

Scores every PublicTest face of `--data` in 20 views (the face, centre zooms keeping 95/90/85 %,
2-pixel shifts, ±6° rotations, and the mirror image of each; cv2 bilinear, edges replicated),
then prints the accuracy of each view alone and of mirror-symmetric sets: the shipped 2 views
(zoom 95 % and its mirror; before 2026-12-06 4: face, zoom 90 %, mirrors) and others of 2 and 4
views. Logits are summed over a set's views.
PublicTest is the face model's validation split: read the differences as hints to be confirmed
elsewhere (benchmarks/face_in_clips.py), not as held-out accuracy. 20 views cost 20 network
passes per face (~40 min for 3,589 faces with the two-network model on 2 slow AVX2 cores).
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

from emofuse.plugins.fer_cnn.predict import ZOOM, zoom_in

REPO = Path(__file__).resolve().parents[1]

#: The runtime's default views (predict.views_of with flip and zoom): the zoomed face and its mirror.
SHIPPED_ZOOM = f"zoom{round(100 * ZOOM)}"
SHIPPED_VIEWS = (SHIPPED_ZOOM, f"m_{SHIPPED_ZOOM}")


def _warp(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    import cv2

    return np.stack([cv2.warpAffine(f[:, :, 0], matrix, (48, 48), borderMode=cv2.BORDER_REPLICATE)[:, :, None]
                     for f in x])


def views(x: np.ndarray) -> dict[str, np.ndarray]:
    """name -> the view of a (n, 48, 48, 1) batch; "m_" names are the mirror images."""
    import cv2

    shift = lambda dx, dy: _warp(x, np.float32([[1, 0, dx], [0, 1, dy]]))  # noqa: E731
    rotate = lambda deg: _warp(x, cv2.getRotationMatrix2D((23.5, 23.5), deg, 1.0))  # noqa: E731
    keeps = sorted({95, 90, 85, round(100 * ZOOM)}, reverse=True)  # percent of the face kept, the runtime's too
    zooms = {f"zoom{keep}": zoom_in(x, keep / 100) for keep in keeps}
    base = {"face": x, **zooms,
            "left2": shift(-2, 0), "right2": shift(2, 0), "up2": shift(0, -2), "down2": shift(0, 2),
            "rot-6": rotate(-6), "rot+6": rotate(6)}
    return {**base, **{f"m_{name}": v[:, :, ::-1] for name, v in base.items()}}


def mirror_sets(names) -> list[tuple[str, ...]]:
    """Every set of 1 or 2 unmirrored views with their mirror images (2 or 4 views)."""
    plain = [n for n in names if not n.startswith("m_")]
    pairs = [(a,) for a in plain] + list(itertools.combinations(plain, 2))
    return [tuple(p) + tuple(f"m_{a}" for a in p) for p in pairs]


def main(argv=None) -> int:
    from emofuse.plugins.fer_cnn.data import load_fer2013
    from emofuse.plugins.fer_cnn.preprocess import prepare_faces
    from emofuse.plugins.litert import LiteRTModel

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(REPO.parent / "shared/data/fer2013/fer2013.csv.gz"))
    p.add_argument("--model", default=str(REPO / "plugins/fer_cnn/fer_cnn.tflite"), help="a .tflite face model")
    p.add_argument("--limit", type=int, help="the first N PublicTest faces only")
    p.add_argument("--save", help="write every view's logits and the labels to this .npz")
    args = p.parse_args(argv)
    test = load_fer2013(args.data).splits["PublicTest"]
    images, labels = test.images[:args.limit], test.labels[:args.limit]
    model = LiteRTModel(args.model)
    started, logits = time.time(), {}
    for name, v in views(prepare_faces(images)).items():
        logits[name] = np.concatenate([np.asarray(model(v[i:i + 512]), np.float64) for i in range(0, len(v), 512)])
        print(f"  {name}: {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    if args.save:
        np.savez(args.save, labels=labels, **logits)
    accuracy = lambda names: float((sum(logits[n] for n in names).argmax(1) == labels).mean())  # noqa: E731
    print(f"{args.model} on {len(labels)} PublicTest faces; {time.time() - started:.0f} s")
    print("| views | accuracy |\n|---|--:|")
    for name in logits:
        print(f"| {name} | {100 * accuracy([name]):.2f} % |")
    shipped = accuracy(SHIPPED_VIEWS)
    print(f"| **shipped: {' + '.join(SHIPPED_VIEWS)}** | **{100 * shipped:.2f} %** |")
    for names in sorted(mirror_sets(logits), key=accuracy, reverse=True)[:8]:
        print(f"| {' + '.join(names)} | {100 * accuracy(names):.2f} % |")
    print(f"| all {len(logits)} | {100 * accuracy(list(logits)):.2f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
