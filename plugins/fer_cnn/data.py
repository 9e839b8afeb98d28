"""Load FER2013 in the Kaggle CSV layout (plain or .gz) or the image-folder layout."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from emofuse.errors import DatasetError
from emofuse.labels import LABELS

from .preprocess import FACE_SIZE, to_gray48

log = logging.getLogger(__name__)

SPLITS = ("Training", "PublicTest", "PrivateTest")

#: Folder names accepted for each split in the image-folder layout.
FOLDER_SPLITS = {
    "train": "Training", "training": "Training",
    "test": "PublicTest", "val": "PublicTest", "validation": "PublicTest", "publictest": "PublicTest",
    "privatetest": "PrivateTest",
}

#: Class-folder names accepted for each canonical label.
CLASS_ALIASES = {
    **{name: name for name in LABELS},
    "anger": "angry", "disgusted": "disgust", "fearful": "fear", "happiness": "happy",
    "sadness": "sad", "surprised": "surprise",
}

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}


@dataclasses.dataclass(frozen=True)
class FaceSplit:
    """Faces of one split: uint8 (n, 48, 48) images and integer labels in canonical order."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@dataclasses.dataclass(frozen=True)
class FaceDataset:
    """FER2013 by split name; `skipped` counts malformed entries dropped with `skip_bad`."""

    splits: dict[str, FaceSplit]
    skipped: int = 0

    def split(self, name: str) -> FaceSplit:
        if name == "all":
            parts = list(self.splits.values())
            return FaceSplit(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]))
        if name not in self.splits or len(self.splits[name]) == 0:
            have = ", ".join(f"{k} ({len(v)})" for k, v in self.splits.items()) or "none"
            raise DatasetError(f"the dataset has no {name} faces (splits found: {have})")
        return self.splits[name]


def load_fer2013(path: str | Path, skip_bad: bool = False) -> FaceDataset:
    """Load FER2013 from a Kaggle CSV (`emotion,pixels,Usage`, optionally .gz) or an image folder."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or directory")
    if path.is_dir():
        return _load_folder(path, skip_bad)
    return _load_csv(path, skip_bad)


def _load_csv(path: Path, skip_bad: bool) -> FaceDataset:
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises many types for unreadable files
        raise DatasetError(f"{path}: cannot read as a FER2013 CSV ({exc})") from None
    missing = {"emotion", "pixels"} - set(frame.columns)
    if missing:
        raise DatasetError(f"{path}: not a FER2013 CSV: missing column(s) {', '.join(sorted(missing))}")
    usage = frame["Usage"] if "Usage" in frame.columns else pd.Series(["Training"] * len(frame))
    images: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    labels: dict[str, list[int]] = {s: [] for s in SPLITS}
    skipped = 0
    for row, (emotion, pixels, split) in enumerate(zip(frame["emotion"], frame["pixels"], usage), start=2):
        try:
            label, image, split = _parse_row(emotion, pixels, split)
        except ValueError as exc:
            if not skip_bad:
                raise DatasetError(f"{path}: line {row}: {exc}") from None
            skipped += 1
            continue
        images[split].append(image)
        labels[split].append(label)
    return _finish(path, images, labels, skipped)


def _parse_row(emotion: str, pixels: str, split: str) -> tuple[int, np.ndarray, str]:
    if not emotion.strip().isdigit() or not 0 <= int(emotion) < len(LABELS):
        raise ValueError(f"unknown emotion label {emotion!r} (expected 0-{len(LABELS) - 1})")
    if split not in SPLITS:
        raise ValueError(f"unknown Usage {split!r} (expected one of {', '.join(SPLITS)})")
    values = pixels.split()
    if len(values) != FACE_SIZE * FACE_SIZE:
        raise ValueError(f"expected {FACE_SIZE * FACE_SIZE} pixel values, found {len(values)}")
    try:
        numbers = np.array(values, dtype=np.int32)
    except ValueError:
        raise ValueError("pixel values are not all integers") from None
    if numbers.min() < 0 or numbers.max() > 255:
        raise ValueError("pixel values outside 0-255")
    return int(emotion), numbers.astype(np.uint8).reshape(FACE_SIZE, FACE_SIZE), split


def _load_folder(root: Path, skip_bad: bool) -> FaceDataset:
    import cv2

    images: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    labels: dict[str, list[int]] = {s: [] for s in SPLITS}
    skipped = 0
    split_dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name.lower() in FOLDER_SPLITS]
    if not split_dirs:
        raise DatasetError(f"{root}: no split folders found (expected train/ and test/ with one folder per class)")
    for split_dir in split_dirs:
        split = FOLDER_SPLITS[split_dir.name.lower()]
        class_dirs = [d for d in sorted(split_dir.iterdir()) if d.is_dir()]
        known = [d for d in class_dirs if d.name.lower() in CLASS_ALIASES]
        if not known:
            raise DatasetError(
                f"{split_dir}: no known class folders (expected some of: {', '.join(LABELS)})"
            )
        for class_dir in known:
            label = LABELS.index(CLASS_ALIASES[class_dir.name.lower()])
            for file in sorted(class_dir.iterdir()):
                if file.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                image = cv2.imread(str(file), cv2.IMREAD_GRAYSCALE)
                if image is None or image.size == 0:
                    if not skip_bad:
                        raise DatasetError(f"{file}: unreadable image")
                    skipped += 1
                    continue
                images[split].append(to_gray48(image))
                labels[split].append(label)
    return _finish(root, images, labels, skipped)


def _finish(source: Path, images: dict, labels: dict, skipped: int) -> FaceDataset:
    splits = {
        name: FaceSplit(np.stack(images[name]).astype(np.uint8), np.asarray(labels[name], dtype=np.int64))
        for name in SPLITS
        if images[name]
    }
    if not splits:
        raise DatasetError(f"{source}: the dataset is empty (no usable faces)")
    if skipped:
        log.warning("%s: skipped %d malformed entries", source, skipped)
    return FaceDataset(splits=splits, skipped=skipped)
