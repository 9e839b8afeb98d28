"""Plan and render the benchmark clips.

A clip shows one FER2013 PublicTest face (48x48, upscaled ~5x, grey, drifting a few pixels in
a 640x480 grey frame) for the length of one RAVDESS utterance of the same emotion, spoken by
an actor the voice model never trained on (RAVDESS calm counts as neutral). Clips are split
into a *fit* half and a *test* (held-out) half, disjoint by actor AND by face, with a fixed
seed: whatever the benchmark fits (temperatures, weights, a learned fusion) sees only the
fit half, and every figure it reports is measured on the test half.
"""
from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from emofuse.labels import LABELS, RAVDESS_TO_CANONICAL

SPLITS = ("fit", "test")
FRAME_SIZE = (640, 480)
FPS = 15
MANIFEST = "manifest.csv"


@dataclasses.dataclass(frozen=True)
class ClipSpec:
    """One clip: which utterance, which face, which half."""

    clip: str
    split: str
    label: str
    actor: int
    audio: str
    face_index: int  # row of the face in the PublicTest array handed to `plan_clips`
    scale: float  # face upscaling factor
    phase: float  # drift phase (radians)


def split_actors(actors: Iterable[int], seed: int) -> dict[int, str]:
    """Actor -> "fit" or "test": half each, shuffled with `seed`, balanced by sex (RAVDESS: odd = male)."""
    rng = np.random.default_rng(seed)
    out: dict[int, str] = {}
    turn = 0
    for group in (sorted(a for a in set(actors) if a % 2), sorted(a for a in set(actors) if a % 2 == 0)):
        for actor in rng.permutation(group).tolist():
            out[int(actor)] = SPLITS[turn % 2]
            turn += 1
    return out


def split_faces(labels: Sequence[int], seed: int) -> dict[str, dict[int, list[int]]]:
    """{"fit"|"test": {class index: [face rows]}}: each class's faces shuffled and halved."""
    rng = np.random.default_rng(seed + 1)
    labels = np.asarray(labels)
    out: dict[str, dict[int, list[int]]] = {s: {} for s in SPLITS}
    for c in range(len(LABELS)):
        rows = rng.permutation(np.flatnonzero(labels == c)).tolist()
        half = len(rows) // 2
        out["fit"][c], out["test"][c] = rows[:half], rows[half:]
    return out


def plan_clips(utterances: Sequence, face_labels: Sequence[int], held_out_actors: Iterable[int],
               seed: int = 5) -> list[ClipSpec]:
    """One clip per utterance of a held-out actor, each with its own face of the same emotion.

    `utterances` are `RavdessFile`s (path, emotion, actor); `face_labels` the canonical class
    index of every PublicTest face. A face is used once; a half that runs out of faces of a
    class raises ValueError.
    """
    held_out = set(held_out_actors)
    actor_split = split_actors(held_out, seed)
    pools = split_faces(face_labels, seed)
    used = {s: {c: 0 for c in range(len(LABELS))} for s in SPLITS}
    rng = np.random.default_rng(seed + 2)
    specs = []
    for utt in sorted((u for u in utterances if u.actor in held_out), key=lambda u: str(u.path)):
        split = actor_split[utt.actor]
        label = RAVDESS_TO_CANONICAL[utt.emotion]
        c = LABELS.index(label)
        pool = pools[split][c]
        if used[split][c] >= len(pool):
            raise ValueError(f"not enough {label} faces for the {split} half ({len(pool)})")
        face = pool[used[split][c]]
        used[split][c] += 1
        stem = Path(utt.path).stem
        specs.append(ClipSpec(f"{split}-{stem}-f{face}", split, label, int(utt.actor), str(utt.path), int(face),
                              round(float(rng.uniform(4.6, 5.4)), 3), round(float(rng.uniform(0, 2 * math.pi)), 3)))
    return specs


def render_frames(face48: np.ndarray, seconds: float, scale: float = 5.0, phase: float = 0.0,
                  fps: float = FPS, size: tuple[int, int] = FRAME_SIZE):
    """RGB frames: the grey face, upscaled `scale` times, drifting slowly around the frame centre."""
    import cv2

    side = int(round(48 * scale / 2)) * 2
    face = cv2.resize(np.asarray(face48, dtype=np.uint8), (side, side), interpolation=cv2.INTER_CUBIC)
    yield from swaying_frames(np.repeat(face[:, :, None], 3, axis=2), seconds, phase, fps, size)


def swaying_frames(face_rgb: np.ndarray, seconds: float, phase: float = 0.0, fps: float = FPS,
                   size: tuple[int, int] = FRAME_SIZE):
    """RGB frames of `size`: `face_rgb` (square) on the grey test background, drifting slowly
    around the frame centre (a few percent of the frame, `phase` shifting the drift)."""
    from emofuse.testing import make_frame

    width, height = size
    side = face_rgb.shape[0]
    background = make_frame(width, height, face=False)
    n = max(1, int(round(seconds * fps)))
    for i in range(n):
        t = i / fps
        dx = round(0.03 * width * math.sin(2 * math.pi * t / 4.0 + phase))
        dy = round(0.02 * height * math.sin(2 * math.pi * t / 2.7 + 1.7 * phase))
        x, y = (width - side) // 2 + dx, (height - side) // 2 + dy
        frame = background.copy()
        frame[y:y + side, x:x + side] = face_rgb
        yield frame


def render_clip(spec: ClipSpec, face48: np.ndarray, path: Path, fps: float = FPS) -> Path:
    """Encode one clip (H.264 + AAC) with the utterance as its soundtrack."""
    from emofuse.plugins.ravdess_cnn.data import load_audio
    from emofuse.testing import encode_media

    samples, rate = load_audio(spec.audio)
    seconds = len(samples) / rate
    return encode_media(path, render_frames(face48, seconds, spec.scale, spec.phase, fps), fps=fps,
                        audio=samples, sample_rate=rate)


def build_clips(specs: Sequence[ClipSpec], faces: np.ndarray, folder: Path, fps: float = FPS,
                log=print) -> Path:
    """Render every planned clip into `folder` (skipping those already there) and write the manifest."""
    import pandas as pd

    folder = Path(folder)
    (folder / "clips").mkdir(parents=True, exist_ok=True)
    for i, spec in enumerate(specs):
        path = folder / "clips" / f"{spec.clip}.mp4"
        if not path.is_file():
            tmp = path.with_name(path.stem + ".tmp.mp4")
            render_clip(spec, faces[spec.face_index], tmp, fps)
            tmp.replace(path)
        if log and (i + 1) % 40 == 0:
            log(f"  {i + 1}/{len(specs)} clips")
    manifest = folder / MANIFEST
    rows = [{**dataclasses.asdict(s), "path": str(folder / "clips" / f"{s.clip}.mp4")} for s in specs]
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def read_manifest(folder: Path):
    import pandas as pd

    return pd.read_csv(Path(folder) / MANIFEST)


# ---------------------------------------------------------------------------------- data sources


def load_public_test(fer_csv: Path) -> tuple[np.ndarray, np.ndarray]:
    """FER2013 PublicTest faces (n, 48, 48) uint8 and labels, in file order (training rows skipped)."""
    import pandas as pd

    frame = pd.read_csv(fer_csv, dtype=str, keep_default_na=False)
    frame = frame[frame["Usage"] == "PublicTest"]
    faces = np.stack([np.asarray(p.split(), dtype=np.uint8).reshape(48, 48) for p in frame["pixels"]])
    return faces, frame["emotion"].astype(int).to_numpy()


def held_out_voice_actors(voice_model: Path | None, available: Iterable[int]) -> tuple[list[int], str]:
    """Actors the voice model never trained on (from its metadata), among `available`, and where that came from."""
    available = sorted(set(available))
    meta_path = _voice_meta_path(voice_model)
    if meta_path is not None and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        trained = set(meta.get("train_actors", []))
        if trained:
            return [a for a in available if a not in trained], f"{meta_path.name}: train_actors"
    return [a for a in available if a >= 17], "assumed: actors 17-20 (no voice metadata found)"


def _voice_meta_path(voice_model: Path | None) -> Path | None:
    if voice_model is not None:
        return Path(voice_model).with_suffix(".json")
    try:
        from importlib.resources import files

        return Path(str(files("emofuse.plugins.ravdess_cnn") / "ravdess_cnn.json"))
    except Exception:  # noqa: BLE001 - the package may be half installed in a broken env
        return None
