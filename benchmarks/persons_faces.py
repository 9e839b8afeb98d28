"""Real faces of different people for the persons benchmark (offline, nothing written to the repo).

- `astronaut`: NASA's portrait shipped with emofuse.testing (public domain);
- `hopper`: Grace Hopper, the portrait shipped with matplotlib (public domain);
- `crema`: CREMA-D actor 1001, talking, from ../shared/data/crema-d (6 clips, one actor);
- `fer<i>`: FER2013 PublicTest faces (48x48 grey, one person each), upscaled 4x.
"""
from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
GROWN = 0.25


@functools.lru_cache(maxsize=1)
def _haar():
    return cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def detect(rgb: np.ndarray, min_size: int = 24) -> list[tuple[int, int, int, int]]:
    """Haar boxes (x, y, w, h), largest first."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    boxes = _haar().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(min_size, min_size))
    return sorted((tuple(int(v) for v in b) for b in boxes), key=lambda b: -b[2] * b[3])


def grow(rgb: np.ndarray, box: tuple[int, int, int, int], grown: float = GROWN) -> np.ndarray:
    """The crop an embedder gets: the box grown by `grown` of its size on each side, clipped to the frame."""
    x, y, w, h = box
    height, width = rgb.shape[:2]
    x0, y0 = max(0, round(x - grown * w)), max(0, round(y - grown * h))
    x1, y1 = min(width, round(x + w + grown * w)), min(height, round(y + h + grown * h))
    return np.ascontiguousarray(rgb[y0:y1, x0:x1])


def astronaut() -> np.ndarray:
    from emofuse.testing import sample_face

    return sample_face()


def hopper() -> np.ndarray:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def crema_clips() -> list[Path]:
    return sorted((DATA / "crema-d").glob("*.flv"))


def crema_frames(path: Path, fps: float = 4.0) -> list[np.ndarray]:
    """RGB frames of one CREMA-D clip, `fps` a second."""
    capture = cv2.VideoCapture(str(path))
    rate = capture.get(cv2.CAP_PROP_FPS) or 30.0
    step, frames, index = max(1, round(rate / fps)), [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % step == 0:
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        index += 1
    capture.release()
    return frames


@functools.lru_cache(maxsize=1)
def fer_public_test() -> np.ndarray:
    """FER2013 PublicTest faces (n, 48, 48) uint8."""
    import pandas as pd

    table = pd.read_csv(DATA / "fer2013" / "fer2013.csv.gz", dtype=str, keep_default_na=False)
    table = table[table["Usage"] == "PublicTest"]
    return np.stack([np.asarray(p.split(), dtype=np.uint8).reshape(48, 48) for p in table["pixels"]])


def fer_portraits(count: int, scale: int = 4, start: int = 0) -> list[np.ndarray]:
    """`count` FER2013 PublicTest faces, upscaled `scale`x and padded, that Haar finds (RGB)."""
    out = []
    for face in fer_public_test()[start:]:
        big = cv2.resize(face, (48 * scale, 48 * scale), interpolation=cv2.INTER_CUBIC)
        big = cv2.copyMakeBorder(big, 24, 24, 24, 24, cv2.BORDER_REPLICATE)
        rgb = np.repeat(big[:, :, None], 3, axis=2)
        if detect(rgb, min_size=48 * scale // 3):
            out.append(rgb)
            if len(out) == count:
                break
    return out


def transform(rgb: np.ndarray, shift: tuple[float, float] = (0, 0), scale: float = 1.0,
              gain: float = 1.0) -> np.ndarray:
    """The image moved by `shift` (fractions of its size), zoomed by `scale` and brightened by `gain`."""
    height, width = rgb.shape[:2]
    matrix = np.float32([[scale, 0, (1 - scale) * width / 2 + shift[0] * width],
                         [0, scale, (1 - scale) * height / 2 + shift[1] * height]])
    moved = cv2.warpAffine(rgb, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    return np.clip(moved.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def face_crops(images: list[np.ndarray]) -> list[np.ndarray]:
    """The grown crop of the largest face of each image where Haar finds one."""
    crops = []
    for image in images:
        boxes = detect(image)
        if boxes:
            crops.append(grow(image, boxes[0]))
    return crops


def still_variants(rgb: np.ndarray, rng: np.random.Generator, count: int, strong: bool) -> list[np.ndarray]:
    """Frames of one still: small changes (as within a shot) or strong ones (another shot)."""
    spread = (0.08, 0.25, 0.3) if strong else (0.03, 0.06, 0.1)
    return [transform(rgb, tuple(rng.uniform(-spread[0], spread[0], 2)), 1 + rng.uniform(-spread[1], spread[1]),
                      1 + rng.uniform(-spread[2], spread[2])) for _ in range(count)]


def identities_for_distances(fer: int = 30, seed: int = 0) -> dict[str, dict[str, list[np.ndarray]]]:
    """Identity -> {"within": crops as within one shot, "across": crops as in other shots}."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, still in (("astronaut", astronaut()), ("hopper", hopper())):
        out[name] = {"within": face_crops(still_variants(still, rng, 8, strong=False)),
                     "across": face_crops(still_variants(still, rng, 8, strong=True))}
    clips = crema_clips()
    if clips:
        first = crema_frames(clips[0])
        out["crema"] = {"within": face_crops(first),
                        "across": face_crops([crema_frames(c)[len(first) // 2] for c in clips[1:]])}
    if (DATA / "fer2013").is_dir():
        for i, portrait in enumerate(fer_portraits(fer)):
            out[f"fer{i}"] = {"within": face_crops(still_variants(portrait, rng, 4, strong=False)),
                              "across": face_crops(still_variants(portrait, rng, 4, strong=True))}
    return out
