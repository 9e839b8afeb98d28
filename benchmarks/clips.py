"""Clips for the speed benchmarks, built offline (no data set needed): one person, or several side by side.

    python benchmarks/clips.py out/ [--seconds 60]     # writes one.mp4 and multi.mp4, says what Haar sees

- `one_person_clip()`: `emofuse.testing.write_media` (NASA's astronaut portrait swaying on grey,
  speech-like soundtrack).
- `multi_person_clip()`: two or three different real faces side by side at 640x480, each swaying
  on its own, with a shot cut every `cut_every` seconds (the background changes colour and the
  people change places) and a speech-like soundtrack. The faces: the astronaut (scikit-image,
  public domain), Grace Hopper (matplotlib's sample image, public domain) and a face from
  scikit-image's `lfw_subset` (Labeled Faces in the Wild, 25x25 grey, upscaled).
All are encoded by `emofuse.testing.encode_media` (H.264 + AAC in .mp4).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from emofuse.testing import _paste  # the test helpers' clipped paste: one copy

#: Face width in pixels in the multi-person frames (Haar finds faces from ~48 px at 640 wide).
FACE_PX = 100
#: Background colours (RGB, top and bottom) of the shots of the multi-person clip, in turn.
SHOT_BACKGROUNDS = (((168, 170, 174), (112, 114, 120)), ((150, 178, 205), (70, 96, 130)),
                    ((205, 188, 150), (130, 110, 70)))
#: Index of the `lfw_subset` face used as the third person (Haar finds it once upscaled).
LFW_FACE = 0


@functools.lru_cache(maxsize=1)
def _haar() -> cv2.CascadeClassifier:
    return cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def find_faces(rgb: np.ndarray, min_size: int = 40) -> list[tuple[int, int, int, int]]:
    """Haar boxes (x, y, w, h) at full resolution, left to right."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    boxes = _haar().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(min_size, min_size))
    return sorted((tuple(int(v) for v in box) for box in boxes), key=lambda box: box[0])


def _astronaut() -> np.ndarray:
    from emofuse.testing import sample_face

    return sample_face()


def _hopper() -> np.ndarray:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    bgr = cv2.imread(str(path))
    if bgr is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _lfw() -> np.ndarray:
    from skimage.data import lfw_subset

    face = (lfw_subset()[LFW_FACE] * 255).round().astype(np.uint8)
    big = cv2.resize(face, (150, 150), interpolation=cv2.INTER_CUBIC)
    big = cv2.copyMakeBorder(big, 60, 90, 60, 60, cv2.BORDER_REPLICATE)
    return np.repeat(big[:, :, None], 3, axis=2)


SOURCES = {"astronaut": _astronaut, "hopper": _hopper, "lfw": _lfw}


def _portrait(rgb: np.ndarray, face_px: int) -> np.ndarray:
    """Head and shoulders around the largest face of `rgb`, scaled so the face is `face_px` wide."""
    boxes = find_faces(rgb)
    if not boxes:
        raise ValueError("no face found in the source image")
    x, y, w, h = max(boxes, key=lambda box: box[2] * box[3])
    pad = 2 * w
    padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    x0, x1 = x + pad - round(0.55 * w), x + pad + w + round(0.55 * w)
    y0, y1 = y + pad - round(0.45 * h), y + pad + h + round(0.85 * h)
    crop = padded[y0:y1, x0:x1]
    scale = face_px / w
    return cv2.resize(crop, (round(crop.shape[1] * scale), round(crop.shape[0] * scale)),
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


@functools.lru_cache(maxsize=4)
def portraits(count: int = 3, face_px: int = FACE_PX) -> tuple[np.ndarray, ...]:
    """`count` (1-3) head-and-shoulders portraits of different people (RGB uint8), faces `face_px` wide."""
    if not 1 <= count <= len(SOURCES):
        raise ValueError(f"count must be within 1..{len(SOURCES)}, got {count}")
    out = []
    for load in list(SOURCES.values())[:count]:
        image = _portrait(load(), face_px)
        image.setflags(write=False)
        out.append(image)
    return tuple(out)


def _background(width: int, height: int, shot: int) -> np.ndarray:
    top, bottom = (np.array(c, dtype=np.float32) for c in SHOT_BACKGROUNDS[shot % len(SHOT_BACKGROUNDS)])
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    return np.repeat(top * (1 - ramp) + bottom * ramp, width, axis=1).round().astype(np.uint8)


def multi_person_frames(seconds: float, persons: int = 3, fps: float = 25, size: tuple[int, int] = (640, 480),
                        cut_every: float | None = 20.0, face_px: int = FACE_PX) -> Iterator[np.ndarray]:
    """RGB frames of `persons` people side by side; each shot rotates who stands where."""
    width, height = size
    people = portraits(persons, face_px)
    column = width / persons
    backgrounds: dict[int, np.ndarray] = {}
    for i in range(max(1, int(round(seconds * fps)))):
        t = i / fps
        shot = int(t // cut_every) if cut_every else 0
        if shot not in backgrounds:
            backgrounds = {shot: _background(width, height, shot)}
        frame = backgrounds[shot].copy()
        for slot in range(persons):
            person = people[(slot + shot) % persons]
            ph, pw = person.shape[:2]
            dx = round(0.015 * width * math.sin(2 * math.pi * t / (3.1 + slot)))
            dy = round(0.015 * height * math.sin(2 * math.pi * t / (2.3 + 0.7 * slot)))
            x = round(column * (slot + 0.5) - pw / 2) + dx
            y = round(height * 0.52 - ph / 2) + dy
            _paste(frame, person, x, y)
        yield frame


def multi_person_clip(path: str | Path, seconds: float = 60.0, persons: int = 3, fps: float = 25,
                      size: tuple[int, int] = (640, 480), cut_every: float | None = 20.0, seed: int = 0) -> Path:
    """Write `persons` (1-3) different people side by side with a speech-like soundtrack; returns the path."""
    from emofuse.testing import encode_media, make_speech_like

    frames = multi_person_frames(seconds, persons, fps, size, cut_every)
    return encode_media(path, frames, fps=fps, audio=make_speech_like(seconds, 16000, seed), sample_rate=16000)


def one_person_clip(path: str | Path, seconds: float = 60.0, fps: float = 25,
                    size: tuple[int, int] = (640, 480), seed: int = 0, face: bool = True) -> Path:
    """Write the one-person clip of speed.py: the astronaut swaying, a speech-like soundtrack
    (`face=False`: the same grey background and soundtrack without her)."""
    from emofuse.testing import write_media

    return write_media(path, seconds, fps=fps, size=size, face=face, audio="speech", seed=seed)


def faces_per_frame(path: str | Path, every: int = 25) -> list[int]:
    """How many faces Haar finds (full resolution) in every `every`-th frame of a clip: a sanity check."""
    capture = cv2.VideoCapture(str(path))
    counts, index = [], 0
    while True:
        ok = capture.grab()
        if not ok:
            break
        if index % every == 0:
            ok, frame = capture.retrieve()
            if ok:
                counts.append(len(find_faces(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))))
        index += 1
    capture.release()
    return counts


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for one.mp4 and multi.mp4")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--persons", type=int, default=3)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, path in (("one", one_person_clip(args.out / "one.mp4", args.seconds)),
                       ("multi", multi_person_clip(args.out / "multi.mp4", args.seconds, args.persons))):
        counts = faces_per_frame(path)
        print(f"{path}: faces per frame (one frame a second) min {min(counts)} max {max(counts)} "
              f"mean {np.mean(counts):.2f}")


if __name__ == "__main__":
    main()


def clip_for(folder: Path, seconds: float, persons: int = 1, cut_every: float = 20.0) -> Path:
    """The benchmarks' clip in `folder`: `one.mp4` for one person, `multi.mp4` for several."""
    folder = Path(folder)
    if persons == 1:
        return one_person_clip(folder / "one.mp4", seconds)
    return multi_person_clip(folder / "multi.mp4", seconds, persons, cut_every=cut_every)
