"""Built-in face embedders (`pixels`, `dlib`), their registration and the embedder contract check."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from emofuse.components import FaceEmbedder
from emofuse.errors import PluginError
from emofuse.plugins import dlib_embed, embedders
from emofuse.plugins.dlib_embed import inner_rect
from emofuse.plugins.pixel_embed import PixelEmbedder
from emofuse.testing import check_face_embedder, expected_face_box, make_frame

HAS_DLIB = all(importlib.util.find_spec(n) is not None for n in ("dlib", "face_recognition_models"))
needs_dlib = pytest.mark.skipif(not HAS_DLIB, reason="dlib-bin and face-recognition-models are not installed")

#: Grace Hopper's face in matplotlib's grace_hopper.jpg (600x512), as Haar's default cascade sees it.
HOPPER_FACE = (155, 105, 222, 222)


def grown(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """What an embedder gets: the box grown by a quarter on each side, clipped to the frame."""
    x, y, w, h = box
    return frame[max(0, y - h // 4):y + h + h // 4, max(0, x - w // 4):x + w + w // 4].copy()


def astronaut(offset=(0, 0), face_width: int = 260) -> np.ndarray:
    box = expected_face_box(face_width=face_width, offset=offset)
    return grown(make_frame(face_width=face_width, offset=offset), (box.x, box.y, box.width, box.height))


def hopper() -> np.ndarray:
    import matplotlib

    bgr = cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"))
    return grown(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), HOPPER_FACE)


def test_both_are_registered_and_the_default_is_dlib_when_installed(monkeypatch):
    from emofuse.plugin_manager import collect_components

    registry = collect_components()["face_embedder"]
    assert registry.get("dlib").factory is dlib_embed.DlibEmbedder
    assert registry.get("pixels").factory is PixelEmbedder
    assert embedders.default_embedder_name() == ("dlib" if HAS_DLIB else "pixels")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "dlib" else real(name, *a))
    assert embedders.default_embedder_name() == "pixels"


@pytest.mark.parametrize("missing, package", [("dlib", "dlib-bin"), ("face_recognition_models", "face-recognition-models")])
def test_dlib_factory_names_the_missing_package(monkeypatch, missing, package):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a))
    with pytest.raises(PluginError, match=package) as raised:
        dlib_embed.DlibEmbedder()
    assert "\n" not in str(raised.value)


def test_inner_rect_undoes_the_quarter_margin():
    # a 100-pixel face box grown by 25 pixels on each side is a 150-pixel crop
    assert inner_rect(150, 150) == (25, 25, 124, 124)


# ----------------------------------------------------------------------------- pixels


def test_pixels_honours_the_contract():
    embedder = PixelEmbedder()
    assert isinstance(embedder, FaceEmbedder)
    check_face_embedder(embedder)


def test_pixels_tells_two_people_apart_and_keeps_one_together():
    embedder = PixelEmbedder()
    a, moved, b = embedder.embed([astronaut(), astronaut((10, 6), face_width=240), hopper()])
    assert np.linalg.norm(a - moved) < embedder.same_person < np.linalg.norm(a - b)
    assert np.allclose(np.linalg.norm([a, b], axis=1), 1.0)


def smallest_embedded_crop(min_face: int) -> int:
    """The side of the smallest square crop whose inner face box is `min_face` pixels wide."""
    side = 1
    while inner_rect(side, side)[2] - inner_rect(side, side)[0] + 1 < min_face:
        side += 1
    return side


def test_pixels_min_face_boundary():
    embedder = PixelEmbedder()
    side = smallest_embedded_crop(embedder.min_face)
    face = astronaut()
    small, smaller = (cv2.resize(face, (s, s), interpolation=cv2.INTER_AREA) for s in (side, side - 1))
    rows = embedder.embed([small, smaller, face[:, :, 0]])  # the last one grey (2-D)
    assert np.isfinite(rows[0]).all() and np.isnan(rows[1]).all() and np.isfinite(rows[2]).all()


def test_pixels_options_are_checked():
    assert PixelEmbedder(same_person=0.3).same_person == 0.3
    with pytest.raises(ValueError, match="colour_weight"):
        PixelEmbedder(colour_weight=1.5)


# ----------------------------------------------------------------------------- dlib


@pytest.fixture(scope="module")
def dlib_embedder():
    return dlib_embed.DlibEmbedder()


@needs_dlib
@pytest.mark.slow
def test_dlib_honours_the_contract(dlib_embedder):
    assert isinstance(dlib_embedder, FaceEmbedder) and dlib_embedder.dimension == 128
    check_face_embedder(dlib_embedder)


@needs_dlib
@pytest.mark.slow
def test_dlib_tells_two_people_apart_and_keeps_one_together(dlib_embedder):
    face = astronaut()
    mirrored_smaller = cv2.resize(face[:, ::-1], (90, 90), interpolation=cv2.INTER_AREA)
    a, moved, small, b = dlib_embedder.embed([face, astronaut((14, -8), face_width=300), mirrored_smaller, hopper()])
    assert max(np.linalg.norm(a - moved), np.linalg.norm(a - small)) < dlib_embedder.same_person
    assert np.linalg.norm(a - b) > dlib_embedder.same_person


@needs_dlib
@pytest.mark.slow
def test_dlib_min_face_boundary(dlib_embedder):
    side = smallest_embedded_crop(dlib_embedder.min_face)
    face = astronaut()
    rows = dlib_embedder.embed([cv2.resize(face, (s, s), interpolation=cv2.INTER_AREA) for s in (side, side - 1)])
    assert np.isfinite(rows[0]).all() and np.isnan(rows[1]).all()
    assert dlib_embedder.embed([]).shape == (0, 128)


# ----------------------------------------------------------------------------- the contract check


class Constant:
    dimension, same_person = 4, 0.5

    def embed(self, crops):
        return np.ones((len(crops), 4))


class Jittery(Constant):
    def embed(self, crops):
        return np.random.default_rng(len(crops) + sum(c.size for c in crops)).normal(0, 1, (len(crops), 4))


class Flat(Constant):
    def embed(self, crops):
        return np.ones(len(crops) * 4)


class NoThreshold(Constant):
    same_person = 0


@pytest.mark.parametrize("embedder, message", [
    (Constant(), "plain grey crop"),
    (Jittery(), "not under same_person"),
    (Flat(), r"shape \(12,\)"),
    (NoThreshold(), "same_person must be a positive"),
])
def test_the_contract_check_catches_broken_embedders(embedder, message):
    with pytest.raises(AssertionError, match=message):
        check_face_embedder(embedder)
