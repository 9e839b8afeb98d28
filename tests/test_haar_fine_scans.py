"""The haar detector's finer full scans: faces too small for the quick (shrunk) scan are found on
the first full scan of a stream and on every `fine_every`-th after it."""
from __future__ import annotations

import pytest

from emofuse.plugins.haar import HaarFaceDetector
from emofuse.runner import AnalysisOptions, Pipeline
from emofuse.testing import expected_face_box, make_frame

from .fakes import FAKE_CHOICES

#: 1280x720 with a 66 px face: 16 px in the quick scan's 320 px (too small), 33 px at 640 (found).
HD_SMALL = dict(width=1280, height=720, face_width=140)


def found(detector: HaarFaceDetector, frame, times: int) -> list[int]:
    return [len(detector.detect(frame)) for _ in range(times)]


def test_the_first_full_scan_and_every_nth_after_it_find_a_face_too_small_for_the_quick_scan():
    frame = make_frame(**HD_SMALL)
    assert found(HaarFaceDetector(fine_every=3), frame, 7) == [1, 0, 0, 1, 0, 0, 1]
    assert found(HaarFaceDetector(fine_every=1), frame, 3) == [1, 1, 1]


def test_the_fine_scan_finds_the_face_where_it_is():
    box, = HaarFaceDetector().detect(make_frame(**HD_SMALL))
    face = expected_face_box(**HD_SMALL)
    assert abs(box.x + box.width / 2 - (face.x + face.width / 2)) < face.width / 3
    assert 0.7 < box.width / face.width < 1.6


def test_fine_every_0_never_scans_finer():
    assert found(HaarFaceDetector(fine_every=0), make_frame(**HD_SMALL), 5) == [0] * 5


@pytest.mark.parametrize("fine_width, expected", [(640, 0), (1920, 1), (0, 1)])
def test_fine_width_sets_how_small_a_face_the_fine_scan_finds(fine_width, expected):
    # a 48 px face in a 1920x1080 frame: 16 px at 640 (missed), itself at the frame's own width
    frame = make_frame(1920, 1080, face_width=100)
    assert found(HaarFaceDetector(fine_width=fine_width), frame, 1) == [expected]


def test_detect_width_0_scans_every_frame_at_its_own_size():
    assert found(HaarFaceDetector(detect_width=0, fine_every=0), make_frame(**HD_SMALL), 2) == [1, 1]


def test_new_stream_restarts_the_schedule_with_a_fine_scan():
    detector, frame = HaarFaceDetector(fine_every=4), make_frame(**HD_SMALL)
    assert found(detector, frame, 2) == [1, 0]
    detector.new_stream()
    assert found(detector, frame, 2) == [1, 0]


@pytest.mark.parametrize("option", ["fine_width", "fine_every"])
def test_negative_fine_options_are_refused(option):
    with pytest.raises(ValueError, match=f"{option} must be >= 0, got -1"):
        HaarFaceDetector(**{option: -1})


def test_the_runner_starts_a_new_stream_before_each_files_first_detection(fake_components, media_dir):
    pipeline = Pipeline(AnalysisOptions(fps=4.0, **{**FAKE_CHOICES, "face_detector": "haar"}))
    detector, calls = pipeline.face_detector, []
    detect = detector.detect
    detector.new_stream = lambda: calls.append("new")
    detector.detect = lambda frame: calls.append("detect") or detect(frame)
    for _ in range(2):
        pipeline.analyze(media_dir / "clip.mp4")
        assert calls[-1] != "new"
    starts = [i for i, call in enumerate(calls) if call == "new"]
    assert len(starts) == 2 and starts[0] == 0 and calls[starts[1] + 1] == "detect"
