"""Shot cuts: a cut between two real pictures, none for the same picture moving, fading or going black."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from emofuse.shots import THRESHOLD, ShotDetector, distance, frame_signature
from emofuse.testing import make_frame, sample_face

from .conftest import SHARED_DATA


def hopper_frame() -> np.ndarray:
    """Grace Hopper's portrait (shipped with matplotlib) in a 640x480 frame: another shot."""
    import matplotlib

    bgr = cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"))
    return cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (640, 480))


def cuts(detector: ShotDetector, frames) -> list[int]:
    return [i for i, frame in enumerate(frames) if detector.is_cut(frame)]


def test_a_cut_between_two_pictures_and_none_within_one():
    a, b = make_frame(), hopper_frame()
    assert cuts(ShotDetector(), [a, a, a, b, b, a]) == [3, 5]


def test_threshold_boundary():
    a, b = make_frame(), hopper_frame()
    d = distance(frame_signature(a), frame_signature(b))
    assert THRESHOLD < d < 1
    assert cuts(ShotDetector(threshold=d - 1e-3), [a, b]) == [1]
    assert cuts(ShotDetector(threshold=d + 1e-3), [a, b]) == []


def test_the_first_frame_is_not_a_cut_and_reset_forgets():
    detector = ShotDetector()
    assert not detector.is_cut(hopper_frame())
    detector.reset()
    assert not detector.is_cut(make_frame())


def test_small_motion_is_not_a_cut():
    frames = [make_frame(offset=(12 * i, 4 * i)) for i in range(8)]
    assert cuts(ShotDetector(), frames) == []


def test_fade_to_black_and_back_is_not_a_cut():
    a = make_frame()
    gains = [1, 0.8, 0.6, 0.4, 0.25, 0.12, 0.05, 0, 0, 0, 0.05, 0.12, 0.25, 0.5, 1]
    assert cuts(ShotDetector(), [(a * g).astype(np.uint8) for g in gains]) == []


def test_a_black_shot_gives_no_storm_of_cuts_and_one_cut_after_it_when_the_scene_changed():
    a, b = make_frame(), hopper_frame()
    rng = np.random.default_rng(0)
    black = [rng.integers(0, 12, a.shape, dtype=np.uint8) for _ in range(6)]  # noisy black
    assert cuts(ShotDetector(), [a, *black, a]) == []
    assert cuts(ShotDetector(), [a, *black, b]) == [7]
    assert cuts(ShotDetector(), black) == []
    assert frame_signature(black[0]) is None


def test_odd_frames_do_not_raise():
    detector = ShotDetector()
    assert cuts(detector, [np.zeros((1, 1, 3), np.uint8), np.full((3, 500, 3), 200, np.uint8),
                           np.full((40, 30), 90, np.uint8)]) == []


@pytest.mark.parametrize("threshold", [0, 1, -0.1])
def test_threshold_is_checked(threshold):
    with pytest.raises(ValueError, match="threshold"):
        ShotDetector(threshold=threshold)


def test_signature_ignores_brightness():
    face = sample_face()
    a, b = frame_signature(face), frame_signature((face * 0.5).astype(np.uint8))
    assert distance(a, b) < 0.1 < distance(a, frame_signature(hopper_frame()))


@pytest.mark.data
def test_no_cut_in_the_crema_d_clips():
    """The CREMA-D clips are single shots: no cut at 4 analysed frames a second."""
    clips = sorted((SHARED_DATA / "crema-d").glob("*.flv"))
    if not clips:
        pytest.skip(f"CREMA-D clips not found in {SHARED_DATA / 'crema-d'}")
    for clip in clips:
        capture, frames, index = cv2.VideoCapture(str(clip)), [], 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index % 7 == 0:
                frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            index += 1
        assert len(frames) > 5, clip
        assert cuts(ShotDetector(), frames) == [], clip.name
