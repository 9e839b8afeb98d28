"""Training faces cropped the way `emofuse analyze` crops them (`emofuse train face --runtime-crops`).

FER2013's 48x48 faces are centred by the data set's own detector. In a video the face model sees
what the `haar` detector's box holds instead: measured on PublicTest faces drawn into frames, the
box is 0.90-1.02 of the face's side (quartiles) and costs the model 3 points against the exact
framing (`benchmarks/face_framing.py`). A runtime crop of a training face is made the runtime's
way: the face enlarged to a random camera size (60-300 px), sharpened, blurred, tinted, noised
and JPEG-compressed (`camera_face`), drawn at a random place of a grey frame, found by the Haar
detector at the resolution the runtime would scan that size at, and its box cropped and brought
back to 48x48 grey (`preprocess.to_gray48`). A face Haar does not find has no runtime crop.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .preprocess import to_gray48

#: Camera face sizes (px), blur sigma (px) and JPEG quality of the runtime crops.
SIDES, BLUR, QUALITY = (60, 300), (0.4, 1.5), (55, 90)
#: The runtime's quick scans see a 640 px frame at 320 px: faces at least this large are found
#: there (at half resolution), smaller ones by the finer full scans (at full resolution).
QUICK_SCAN_FACE = 100
#: Seed of the drawings (one set of runtime crops serves every training seed) and faces per task.
SEED, CHUNK = 0, 1000


def sharp_face(face48: np.ndarray, side: int) -> np.ndarray:
    """The 48x48 face enlarged to `side` px with Lanczos, then an unsharp mask (float32 grey)."""
    import cv2

    big = cv2.resize(np.asarray(face48, np.uint8), (side, side), interpolation=cv2.INTER_LANCZOS4).astype(np.float32)
    soft = cv2.GaussianBlur(big, (0, 0), side / 48 * 0.8)
    return np.clip(big + 0.6 * (big - soft), 0, 255)


def jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    """`frame` (RGB uint8) after a JPEG round trip at `quality`."""
    import cv2

    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def camera_face(face48: np.ndarray, side: int, rng: np.random.Generator,
                blur: tuple[float, float] = BLUR) -> np.ndarray:
    """The face as a camera would show it at `side` px: sharpened, blurred, warm-tinted (RGB float)."""
    import cv2

    face = cv2.GaussianBlur(sharp_face(face48, side), (0, 0), rng.uniform(*blur))
    tint = np.array([1.0 + rng.uniform(0.03, 0.10), 1.0, 1.0 - rng.uniform(0.03, 0.12)])
    return face[:, :, None] * tint


@functools.lru_cache(maxsize=1)
def _detector():
    """One Haar detector per process (loading the cascade costs ~13 ms, half a runtime crop)."""
    from emofuse.plugins.haar import HaarFaceDetector

    return HaarFaceDetector(fine_every=0)


def runtime_crop(face48: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """One face, drawn into a frame at a random camera size and place, cropped where Haar finds it
    (48x48 uint8 grey), or None when Haar does not find it."""
    side = int(rng.integers(SIDES[0], SIDES[1] + 1)) // 2 * 2
    frame_side = int(side * rng.uniform(1.6, 2.2))
    frame = np.full((frame_side, frame_side, 3), rng.uniform(60, 190), np.float32)
    x0, y0 = (int(rng.integers(0, frame_side - side + 1)) for _ in range(2))
    frame[y0:y0 + side, x0:x0 + side] = camera_face(face48, side, rng)
    frame = np.clip(frame + rng.normal(0, 2.0, frame.shape), 0, 255).astype(np.uint8)
    frame = jpeg(frame, int(rng.integers(QUALITY[0], QUALITY[1] + 1)))
    shrink = 0.5 if side >= QUICK_SCAN_FACE else 1.0
    detector = _detector()
    detector.detect_width = round(frame_side * shrink)  # the resolution the runtime scans this size at
    centre = (x0 + side / 2, y0 + side / 2)
    inside = [b for b in detector.detect(frame)
              if abs(b.x + b.width / 2 - centre[0]) < side / 3 and abs(b.y + b.height / 2 - centre[1]) < side / 3]
    if not inside:
        return None
    box = min(inside, key=lambda b: abs(b.width - side))
    return to_gray48(box.crop(frame))


def runtime_crops(faces: np.ndarray, seed: int = SEED, workers: int = 1,
                  progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Runtime crops of `faces` (n, 48, 48): (crops uint8 (n, 48, 48), found bool (n,)); a face
    Haar did not find keeps itself as its crop. Face i's drawing depends on `seed` and i only, so
    `workers` processes give the same crops as one."""
    crops = np.array(faces, dtype=np.uint8, copy=True)
    found = np.zeros(len(faces), dtype=bool)
    starts = list(range(0, len(faces), CHUNK))
    chunks = ((faces[start:start + CHUNK], seed, start) for start in starts)
    if workers > 1 and len(starts) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawned, not forked: training has TensorFlow's threads running by now
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(starts)), mp_context=context) as pool:
            results = pool.map(_crop_chunk, *zip(*chunks))
            _collect(results, starts, crops, found, progress)
    else:
        _collect((_crop_chunk(*chunk) for chunk in chunks), starts, crops, found, progress)
    return crops, found


def _crop_chunk(faces: np.ndarray, seed: int, start: int) -> list[np.ndarray | None]:
    return [runtime_crop(face, np.random.default_rng([seed, start + i])) for i, face in enumerate(faces)]


def _collect(results, starts, crops, found, progress) -> None:
    for start, chunk in zip(starts, results):
        for i, crop in enumerate(chunk, start):
            if crop is not None:
                crops[i], found[i] = crop, True
        if progress:
            progress(min(start + CHUNK, len(crops)), len(crops))


def cached_runtime_crops(faces: np.ndarray, folder: str | Path, workers: int = 1,
                         progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`runtime_crops`, kept in `folder` (a training run's checkpoint folder) for a resumed run;
    the file is keyed by the faces' content."""
    from .run_cache import cached_arrays, content_key

    def make() -> dict[str, np.ndarray]:
        crops, found = runtime_crops(faces, SEED, workers, progress)
        return {"crops": crops, "found": found}

    kept = cached_arrays(folder, f"runtime_crops-{SEED}", content_key(np.asarray(faces, np.uint8)), make)
    return kept["crops"], kept["found"]
