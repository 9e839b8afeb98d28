"""Does Haar frame a face the way FER2013 did, and would another crop of its box score better?

    python benchmarks/face_framing.py [--faces 1200] [--data ../shared/data] [--set face_view=true]

Places PublicTest faces (the `sharp` rendering of benchmarks/fusionbench: Lanczos-enlarged to
150-300 px and sharpened, no blur or noise) at the centre of a 640x480 frame, runs the `haar`
detector's quick full scan on it, and prints (1) the detector's box against the square the face
was drawn in (side ratio, centre offsets as shares of the side) and (2) the shipped face model's
accuracy on the faces found: on the 48x48 crops themselves, on the square each was drawn in, and
on crops of the box re-framed (scaled by S about its centre, moved down by DY of its side). The
runtime crops the box as it is (S 1, DY 0). PublicTest is the face model's validation split:
compare framings, not models.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fusion_conditions import DEFAULT_DATA  # noqa: E402

SCALES = (0.85, 0.9, 1.0, 1.1)
SHIFTS = (-0.06, 0.0, 0.06)


def reframed(frame: np.ndarray, box, scale: float, shift: float) -> np.ndarray:
    """The square of `scale` x the box's width around its centre, moved down by `shift` x its width."""
    side = box.width * scale
    cx, cy = box.x + box.width / 2, box.y + box.height / 2 + shift * box.width
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    return frame[max(0, y0):y0 + int(round(side)), max(0, x0):x0 + int(round(side))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with fer2013/")
    parser.add_argument("--faces", type=int, default=1200, help="PublicTest faces to place (random, seed 0)")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="a fer-cnn option (`emofuse list visual-classifier --options`), e.g. zoom=0.9")
    args = parser.parse_args(argv)
    csv = args.data / "fer2013" / "fer2013.csv.gz"
    if not csv.is_file():
        parser.error(f"--data: {csv} not found")
    from emofuse.cli.options import parse_component_options
    from emofuse.plugins.fer_cnn import FerCnnClassifier

    try:
        parsed = parse_component_options([f"visual-classifier.{item}" for item in args.set])
        options = parsed.get("visual_classifier", {})
        classifier = FerCnnClassifier(**options)
    except (argparse.ArgumentTypeError, TypeError, ValueError) as error:
        parser.error(f"--set: {error}")

    from avbench import clips as C
    from fusionbench.faces import FRAME_SIZE

    from emofuse.labels import LABELS
    from emofuse.plugins.fer_cnn.runtime_crops import sharp_face
    from emofuse.plugins.haar import HaarFaceDetector
    from emofuse.testing import make_frame

    faces, labels = C.load_public_test(csv)
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(faces), min(args.faces, len(faces)), replace=False)
    detector = HaarFaceDetector(fine_every=0)
    width, height = FRAME_SIZE
    background = make_frame(width, height, face=False)
    found, geometry, drawn = [], [], []
    crops = {(s, d): [] for s in SCALES for d in SHIFTS}
    for index in chosen:
        side = int(rng.integers(150, 300)) // 2 * 2
        x0, y0 = (width - side) // 2, (height - side) // 2
        frame = background.copy()
        frame[y0:y0 + side, x0:x0 + side] = sharp_face(faces[index], side).astype(np.uint8)[:, :, None]
        boxes = detector.detect(frame)
        if not boxes:
            continue
        box = max(boxes, key=lambda b: b.width)
        geometry.append((box.width / side, (box.x + box.width / 2 - width / 2) / side,
                         (box.y + box.height / 2 - height / 2) / side))
        found.append(index)
        drawn.append(frame[y0:y0 + side, x0:x0 + side])
        for (scale, shift), kept in crops.items():
            kept.append(reframed(frame, box, scale, shift))
    if not found:
        print("Haar found none of the faces")
        return 1
    truth = labels[found]  # FER2013's emotion codes are the indices of LABELS

    def accuracy(batch) -> float:
        return float(np.mean(np.array([LABELS.index(s.label) for s in classifier.classify(batch)]) == truth))

    ratio, dx, dy = np.array(geometry).T
    print(f"{classifier!r}\nHaar found {len(found)} of {len(chosen)} faces; box side / drawn side: "
          f"median {np.median(ratio):.3f} "
          f"(quartiles {np.percentile(ratio, 25):.3f}-{np.percentile(ratio, 75):.3f}); centre offset "
          f"x {np.median(dx):+.3f}, y {np.median(dy):+.3f} of the side\n")
    print(f"| crop | accuracy on the {len(found)} faces found |\n|---|--:|")
    themselves = [np.repeat(faces[i][:, :, None], 3, 2) for i in found]
    print(f"| the 48x48 FER2013 crops themselves | {accuracy(themselves):.1%} |")
    print(f"| the square the face was drawn in (its exact framing, enlarged and shrunk back) | {accuracy(drawn):.1%} |")
    for (scale, shift), batch in crops.items():
        runtime = " (the runtime's crop)" if (scale, shift) == (1.0, 0.0) else ""
        print(f"| box x{scale:g}, moved down {shift:+.2f}{runtime} | {accuracy(batch):.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
