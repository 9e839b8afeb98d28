"""Face tracking between full-frame detections: the schedule (FaceTracker) and haar's `track`."""
from __future__ import annotations

import math

import pytest

from emofuse import AnalysisOptions, FaceBox
from emofuse.plugins.haar import HaarFaceDetector
from emofuse.runner import Pipeline
from emofuse.testing import check_face_detector, expected_face_box, make_frame
from emofuse.tracking import DEFAULT_DETECT_FPS, FaceTracker, distinct, iou

from .fakes import FAKE_CHOICES, CenterFace

BOX = FaceBox(10, 10, 40, 40)


class Calls:
    """Records which of detect / track the tracker asked for, and answers with fixed boxes."""

    def __init__(self, detected=(BOX,), tracked=(BOX,)) -> None:
        self.log: list[str] = []
        self.asked: list[list[FaceBox]] = []  # the boxes each track() was asked to find again
        self.detected, self.tracked = detected, tracked

    def detect(self):
        self.log.append("detect")
        return None if self.detected is None else list(self.detected)

    def track(self, boxes):
        self.log.append("track")
        self.asked.append(list(boxes))
        return None if self.tracked is None else list(self.tracked)


def run(tracker: FaceTracker, calls: Calls, times) -> list:
    return [tracker.boxes(t, calls.detect, calls.track) for t in times]


def test_full_detection_once_a_second_and_tracking_in_between():
    calls = Calls()
    run(FaceTracker(), calls, [i / 4 for i in range(9)])  # 0 .. 2 s at 4 frames/s
    assert DEFAULT_DETECT_FPS == 1.0
    # a full detection that finds the tracked face again does not track it as well
    assert calls.log == ["detect"] + ["track"] * 3 + ["detect"] + ["track"] * 3 + ["detect"]


def test_a_face_lost_by_tracking_stays_lost_until_the_next_full_detection():
    calls = Calls(tracked=())
    found = run(FaceTracker(2.0), calls, [0, 0.25, 0.5, 0.75])
    assert found == [[BOX], [], [BOX], []]
    assert calls.log == ["detect", "track", "detect", "track"]  # lost at 0.25: full detection at 0.5


def test_a_full_detection_keeps_a_tracked_face_it_missed_and_merges_the_same_face():
    other = FaceBox(200, 10, 40, 40)
    moved = FaceBox(12, 11, 40, 40)
    calls = Calls(detected=(other,), tracked=(moved,))
    tracker = FaceTracker(1.0)
    calls.detected = (BOX,)
    assert tracker.boxes(0, calls.detect, calls.track) == [BOX]
    calls.detected = (other, FaceBox(11, 10, 42, 42))  # the same face as `moved`, and a new one
    assert tracker.boxes(1.0, calls.detect, calls.track) == [other, FaceBox(11, 10, 42, 42)]
    assert calls.log == ["detect", "detect"]  # both faces detected: nothing to track
    calls.detected = (other,)  # the detector misses the first face this time; tracking keeps it
    assert tracker.boxes(2.0, calls.detect, calls.track) == [other, moved]
    assert calls.asked == [[FaceBox(11, 10, 42, 42)]]  # only the missed face was tracked


def test_while_no_face_is_tracked_every_frame_gets_a_full_detection():
    calls = Calls(detected=())
    assert run(FaceTracker(1.0), calls, [0, 0.25, 0.5]) == [[], [], []]
    assert calls.log == ["detect"] * 3
    calls.detected = (BOX,)  # a face appears: found at once, then tracked
    assert run(FaceTracker(1.0), calls, [0.75, 1.0]) == [[BOX], [BOX]]
    assert calls.log == ["detect"] * 4 + ["track"]


def test_a_failed_tracking_keeps_the_boxes_and_a_failed_detection_is_retried():
    calls = Calls(tracked=None)
    assert run(FaceTracker(1.0), calls, [0, 0.25]) == [[BOX], [BOX]]
    calls = Calls(detected=None)
    assert run(FaceTracker(1.0), calls, [0, 0.25]) == [None, None]
    assert calls.log == ["detect", "detect"]


@pytest.mark.parametrize("detect_fps, track, can_track, expected", [
    (None, True, True, ["detect", "track", "track", "track", "detect"]),  # default: 1/s + tracking
    (None, True, False, ["detect"] * 5),                                  # cannot track: every frame
    (None, False, True, ["detect"] * 5),                                  # --no-track: every frame
    (2.0, False, True, ["detect", "detect", "detect"]),                   # --no-track --detect-fps 2: reuse
    (2.0, True, False, ["detect", "detect", "detect"]),                   # cannot track, --detect-fps 2: reuse
    (math.inf, True, True, ["detect"] * 5),                               # --detect-fps all
])
def test_detect_fps_and_track_options(detect_fps, track, can_track, expected):
    calls = Calls()
    found = run(FaceTracker(detect_fps, track, can_track), calls, [0, 0.25, 0.5, 0.75, 1.0])
    assert calls.log == expected
    assert found == [[BOX]] * 5


def test_reusing_boxes_keeps_to_detect_fps_even_without_faces():
    calls = Calls(detected=())
    assert run(FaceTracker(2.0, track=False), calls, [0, 0.25, 0.5, 0.75]) == [[], [], [], []]
    assert calls.log == ["detect", "detect"]


def test_distinct_drops_boxes_overlapping_an_earlier_one():
    a, b, c = FaceBox(0, 0, 100, 100), FaceBox(10, 10, 100, 100), FaceBox(300, 0, 50, 50)
    assert iou(a, a) == 1.0 and iou(a, c) == 0.0
    assert distinct([a, b, c]) == [a, c]


# --------------------------------------------------------------------------- haar's track


@pytest.fixture(scope="module")
def haar():
    return HaarFaceDetector()


def centre_inside(box: FaceBox, face: FaceBox) -> bool:
    cx, cy = box.x + box.width / 2, box.y + box.height / 2
    return face.x <= cx <= face.x + face.width and face.y <= cy <= face.y + face.height


def test_haar_honours_the_detector_contract_including_tracking(haar):
    check_face_detector(haar)


@pytest.mark.parametrize("offset, face_width", [((0, 0), 260), ((30, -20), 260), ((-25, 15), 300), ((20, 0), 220)])
def test_haar_tracks_a_face_that_moved_or_changed_size(haar, offset, face_width):
    before = haar.detect(make_frame())
    assert len(before) == 1
    after = haar.track(make_frame(face_width=face_width, offset=offset), before)
    face = expected_face_box(face_width=face_width, offset=offset)
    assert len(after) == 1 and centre_inside(after[0], face), (after, face)
    assert 0.7 < after[0].width / face.width < 1.4


def test_haar_tracks_two_faces_independently(haar):
    left = make_frame(offset=(-170, 0))
    right = make_frame(offset=(170, 0))
    frame = left.copy()
    frame[:, 320:] = right[:, 320:]
    boxes = haar.detect(frame)
    assert len(boxes) == 2
    tracked = haar.track(frame, boxes)
    assert sorted(b.x for b in tracked) == pytest.approx(sorted(b.x for b in boxes), abs=12)


def test_runner_tracks_with_haar_between_full_detections(fake_components, media_dir, tmp_path):
    from emofuse.testing import write_media

    clip = write_media(tmp_path / "face.mp4", 2.0, fps=8, size=(320, 240), face=True, audio=None)
    pipeline = Pipeline(AnalysisOptions(fps=4.0, **{**FAKE_CHOICES, "face_detector": "haar"}))
    detector = pipeline.face_detector
    calls = []
    detect, track = detector.detect, detector.track
    detector.detect = lambda frame: calls.append("detect") or detect(frame)
    detector.track = lambda frame, boxes: calls.append("track") or track(frame, boxes)
    timeline = pipeline.analyze(clip)
    assert calls == ["detect", "track", "track", "track", "detect", "track", "track", "track"]
    assert [s.faces for s in timeline.segments] == [1, 1]


def test_runner_detects_on_every_frame_when_the_detector_cannot_track(fake_components, media_dir):
    pipeline = Pipeline(AnalysisOptions(fps=4.0, **FAKE_CHOICES))
    assert isinstance(pipeline.face_detector, CenterFace) and not hasattr(pipeline.face_detector, "track")
    calls = []
    detect = pipeline.face_detector.detect
    pipeline.face_detector.detect = lambda frame: calls.append(1) or detect(frame)
    timeline = pipeline.analyze(media_dir / "clip.mp4")
    assert len(calls) == 12  # 3 s at 4 frames/s, a full detection on each
    assert [s.faces for s in timeline.segments] == [1, 1, 0]  # the face left at 1.5 s: no box outlives it
