"""Documented behaviours pinned at their boundaries (issue 19).

Each test sits just either side of a documented threshold, or uses inputs for which the
documented rule and a plausible one-line bug give different answers; benchmarks/mutants.py
plants those bugs and checks that these tests fail.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

from emofuse import EmotionScores, FaceBox
from emofuse.atomic import atomic_output
from emofuse.audio import is_silent, rms_db
from emofuse.plugins.fusion_strategies import ProductFusion, WeightedFusion
from emofuse.runner import AnalysisOptions, segment_bounds
from emofuse.tracking import FaceTracker, iou

# -- fusion weights ---------------------------------------------------------------------------

#: A face that says happy and a voice that says angry, mirror images of each other.
FACE_HAPPY = EmotionScores.from_array([0.1, 0.05, 0.05, 0.6, 0.05, 0.05, 0.1])
VOICE_ANGRY = EmotionScores.from_array([0.6, 0.05, 0.05, 0.1, 0.05, 0.05, 0.1])
#: A face that rules angry out entirely.
FACE_NO_ANGRY = EmotionScores.from_array([0.0, 0.05, 0.05, 0.7, 0.05, 0.05, 0.1])


def geometric(face, voice, face_weight: float, voice_weight: float, floor: float = 1e-4) -> np.ndarray:
    """The weighted geometric mean, renormalised, written out independently of the strategy."""
    f, v = np.maximum(face.array, floor), np.maximum(voice.array, floor)
    total = face_weight + voice_weight
    p = f ** (face_weight / total) * v ** (voice_weight / total)
    return p / p.sum()


@pytest.mark.parametrize("face_weight, voice_weight, label", [(0.7, 0.3, "happy"), (0.3, 0.7, "angry"),
                                                                (3.0, 1.0, "happy"), (1.0, 3.0, "angry")])
def test_product_weights_decide_between_disagreeing_modalities(face_weight, voice_weight, label):
    fused = ProductFusion(face_weight=face_weight, voice_weight=voice_weight).fuse(FACE_HAPPY, VOICE_ANGRY)
    assert fused.label == label
    np.testing.assert_allclose(fused.array, geometric(FACE_HAPPY, VOICE_ANGRY, face_weight, voice_weight),
                               atol=1e-9)


def test_product_floor_keeps_a_zero_from_vetoing():
    # the face says 0 for angry; without the floor angry could never win however sure the voice is
    fused = ProductFusion(face_weight=0.1, voice_weight=0.9).fuse(FACE_NO_ANGRY, VOICE_ANGRY)
    assert fused.label == "angry"
    np.testing.assert_allclose(fused.array, geometric(FACE_NO_ANGRY, VOICE_ANGRY, 0.1, 0.9), atol=1e-9)


def test_product_zero_weight_leaves_the_other_modality_alone():
    fused = ProductFusion(face_weight=0.0, voice_weight=1.0).fuse(FACE_HAPPY, VOICE_ANGRY)
    np.testing.assert_allclose(fused.array, VOICE_ANGRY.array, atol=1e-9)
    assert ProductFusion(face_weight=0.0, voice_weight=1.0).fuse(FACE_HAPPY, None).label == "happy"


@pytest.mark.parametrize("face_weight, voice_weight, label", [(0.7, 0.3, "happy"), (0.3, 0.7, "angry")])
def test_evidence_weights_decide_between_fully_trusted_modalities(face_weight, voice_weight, label):
    # bare scores count as fully trusted evidence; at temperature 1 and confidence power 0 the
    # pooling is the weighted geometric mean, as for `product`
    from emofuse.plugins.fusion_strategies import EvidenceFusion

    strategy = EvidenceFusion(face_weight=face_weight, voice_weight=voice_weight, face_temperature=1.0,
                              voice_temperature=1.0, confidence_power=0.0)
    fused = strategy.fuse(FACE_HAPPY, VOICE_ANGRY)
    assert fused.label == label
    np.testing.assert_allclose(fused.array, geometric(FACE_HAPPY, VOICE_ANGRY, face_weight, voice_weight),
                               atol=1e-9)


def test_weighted_default_trusts_the_voice_where_both_are_present():
    # README: "face 0, voice 1 where both are present; the face alone where the voice is silent"
    assert WeightedFusion().fuse(FACE_HAPPY, VOICE_ANGRY).values == pytest.approx(VOICE_ANGRY.values)
    assert WeightedFusion().fuse(FACE_HAPPY, None).values == pytest.approx(FACE_HAPPY.values)
    third = WeightedFusion(face_weight=0.5).fuse(FACE_HAPPY, VOICE_ANGRY)  # voice weight stays 1
    assert third.values == pytest.approx(tuple((FACE_HAPPY.array + 2 * VOICE_ANGRY.array) / 3))
    equal = WeightedFusion(face_weight=1.0, voice_weight=1.0).fuse(FACE_HAPPY, VOICE_ANGRY)
    assert equal.values == pytest.approx(tuple((FACE_HAPPY.array + VOICE_ANGRY.array) / 2))


# -- EmotionScores: sum to 1 within 1e-3, then renormalised ------------------------------------

def seven(total: float) -> list[float]:
    """Seven non-negative values summing to `total`, all different."""
    base = np.array([1, 2, 3, 4, 5, 6, 7], dtype=np.float64)
    return (base / base.sum() * total).tolist()


@pytest.mark.parametrize("total", [1.2, 0.8, 1.0011, 0.9989])
def test_emotion_scores_refuse_sums_off_by_more_than_a_thousandth(total):
    with pytest.raises(ValueError, match="sum to 1"):
        EmotionScores(tuple(seven(total)))
    with pytest.raises(ValueError, match="sum to 1"):
        EmotionScores.from_array(seven(total))


@pytest.mark.parametrize("total", [1.0009, 0.9991])
def test_emotion_scores_accept_rounding_and_renormalise_it(total):
    values = seven(total)
    scores = EmotionScores.from_array(values)
    assert math.fsum(scores.values) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(scores.values, np.array(values) / total, rtol=1e-12)


def test_normalize_true_rescales_any_positive_sum():
    scores = EmotionScores.from_array(seven(5.0), normalize=True)
    np.testing.assert_allclose(scores.values, seven(1.0), rtol=1e-12)


# -- atomic_output ------------------------------------------------------------------------------

def test_atomic_output_failure_leaves_the_old_file_and_no_temp_file(tmp_path):
    target = tmp_path / "timeline.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_output(target) as tmp:
            assert tmp != target and tmp.parent == target.parent
            tmp.write_text("partial")
            assert target.read_text() == "old\n"  # nothing published while writing
            raise RuntimeError("disk on fire")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["timeline.csv"]


def test_atomic_output_failure_before_writing_creates_no_target(tmp_path):
    target = tmp_path / "sub" / "plot.png"
    with pytest.raises(KeyError):
        with atomic_output(target):
            raise KeyError("x")
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_atomic_output_success_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "timeline.csv"
    target.write_text("old\n")
    with atomic_output(target) as tmp:
        assert tmp.name.startswith(".timeline.csv.") and tmp.name.endswith(".part.csv")
        tmp.write_text("new\n")
        assert target.read_text() == "old\n"
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["timeline.csv"]


def test_timeline_to_csv_failing_midway_keeps_the_previous_csv(tmp_path, monkeypatch):
    from emofuse import SegmentResult, Timeline
    from emofuse import table

    target = tmp_path / "t.csv"
    target.write_text("previous\n")

    def broken(*args, **kwargs):
        raise OSError("no space left")

    monkeypatch.setattr(table, "timeline_to_dataframe", broken)
    with pytest.raises(OSError):
        Timeline("x.mp4", [SegmentResult(0, 1)]).to_csv(target)
    assert target.read_text() == "previous\n" and [p.name for p in tmp_path.iterdir()] == ["t.csv"]


# -- silence: -45 dBFS on the 90th percentile of 25 ms frame energies -------------------------

RATE = 16000
FRAME = 400  # 25 ms at 16 kHz


def level(db: float, frames: int = 20) -> np.ndarray:
    """A signal whose every 25 ms frame has an RMS of exactly `db` dBFS (alternating +a, -a)."""
    a = 10 ** (db / 20)
    return (a * np.where(np.arange(frames * FRAME) % 2 == 0, 1.0, -1.0)).astype(np.float32)


@pytest.mark.parametrize("db, silent", [(-44.0, False), (-45.5, True), (-46.0, True), (-44.5, False)])
def test_silence_threshold_is_minus_45_dbfs(db, silent):
    x = level(db)
    assert rms_db(x) == pytest.approx(db, abs=0.01)
    assert is_silent(x) is silent
    assert AnalysisOptions().silence_db == -45.0


def test_silence_uses_the_loudest_tenth_of_frames_not_the_mean():
    # 10 frames, 2 of them at -40 dB, the rest digital zero: the 90th percentile is -40 dB
    # (not silent), the mean energy (2 x 0.01 / 10) is -54 dB (silent)
    loud = level(-40.0, frames=2)
    x = np.concatenate([np.zeros(4 * FRAME, np.float32), loud, np.zeros(4 * FRAME, np.float32)])
    assert rms_db(x) == pytest.approx(-40.0, abs=0.01)
    assert not is_silent(x)


def test_one_loud_frame_in_twenty_is_silence():
    # 1 of 20 frames loud: the 90th percentile (position 17.1 of 0..19) is a quiet frame,
    # the loudest frame (or a 95th percentile) would call it loud
    x = np.concatenate([level(-60.0, frames=19), level(-20.0, frames=1)])
    assert rms_db(x) == pytest.approx(-60.0, abs=0.01)
    assert is_silent(x)


def test_frames_are_25_ms():
    # loud from sample 200 to 1000 (a -30 dB level) in 20 frames of 400: frames 0 and 2 are half
    # loud (RMS -33.01 dB), frame 1 fully; 17 frames are zero. The 90th percentile (position 17.1)
    # is a half-loud frame. 50 ms frames give -35.4 dB, 10 ms frames digital silence.
    x = np.zeros(20 * FRAME, np.float32)
    x[FRAME // 2: FRAME // 2 + 2 * FRAME] = level(-30.0, frames=2)
    assert rms_db(x) == pytest.approx(-30.0 + 20 * math.log10(math.sqrt(0.5)), abs=0.01)
    assert not is_silent(x)


# -- segment bounds: a tail under a quarter segment is merged -----------------------------------

@pytest.mark.parametrize("duration, segment, count", [
    (3.24, 1.0, 3), (3.26, 1.0, 4), (3.25, 1.0, 4),       # a quarter exactly is kept
    (6.4, 2.0, 3), (6.6, 2.0, 4),                          # quarter of 2 s = 0.5 s
    (2.4, 1.0, 3), (2.6, 1.0, 3), (2.0, 1.0, 2),
])
def test_segment_tail_cutoff_is_a_quarter_segment(duration, segment, count):
    bounds = segment_bounds(duration, segment)
    assert len(bounds) == count
    assert bounds[0][0] == 0 and bounds[-1][1] == duration
    assert all(b[1] == pytest.approx(c[0]) for b, c in zip(bounds, bounds[1:]))
    assert all(end - start == pytest.approx(segment) for start, end in bounds[:-1])


def test_a_short_file_is_one_segment():
    assert segment_bounds(0.2, 1.0) == [(0, 0.2)]
    assert segment_bounds(1.2, 1.0) == [(0, 1.2)]


# -- tracker: boxes overlapping by more than IoU 0.3 are the same face --------------------------

def shifted(dx: int) -> FaceBox:
    return FaceBox(dx, 0, 100, 100)


A = shifted(0)


def test_the_boxes_straddle_the_threshold():
    # IoU of two 100 px boxes dx apart: (100 - dx) / (100 + dx)
    assert iou(A, shifted(53)) == pytest.approx(47 / 153) and iou(A, shifted(53)) > 0.3
    assert iou(A, shifted(54)) == pytest.approx(46 / 154) and iou(A, shifted(54)) < 0.3


class _Calls:
    def __init__(self, detected):
        self.detected, self.asked = detected, []

    def detect(self):
        return [self.detected]

    def track(self, boxes):
        self.asked.append(list(boxes))
        return list(boxes)  # tracking finds each face where it was


@pytest.mark.parametrize("dx, same", [(53, True), (54, False), (30, True), (80, False)])
def test_a_full_detection_overlapping_by_more_than_0_3_is_the_tracked_face(dx, same):
    tracker = FaceTracker(detect_fps=1.0)
    first = _Calls(A)
    assert tracker.boxes(0.0, first.detect, first.track) == [A]
    again = _Calls(shifted(dx))
    found = tracker.boxes(1.0, again.detect, again.track)
    if same:  # the detection found the tracked face: no tracking, one face
        assert found == [shifted(dx)] and again.asked == []
    else:     # the tracked face was missed: tracking keeps it beside the new one
        assert found == [shifted(dx), A] and again.asked == [[A]]


def test_a_tracked_face_found_twice_is_merged_at_the_same_threshold():
    # detection finds B (IoU 0 with A): A is missed and tracked; tracking returns A and a box
    # overlapping B by IoU 0.31 (same face as B, dropped) or 0.29 (another face, kept)
    far = FaceBox(500, 0, 100, 100)
    for dx, kept in ((53, False), (54, True)):
        tracker = FaceTracker(detect_fps=1.0)
        tracker.boxes(0.0, lambda: [A], lambda boxes: boxes)
        near_far = FaceBox(500 + dx, 0, 100, 100)
        found = tracker.boxes(1.0, lambda: [far], lambda boxes: [A, near_far])
        assert found == ([far, A, near_far] if kept else [far, A])


def test_output_permissions_follow_the_umask(tmp_path):
    umask = os.umask(0o027)
    try:
        with atomic_output(tmp_path / "o.json") as tmp:
            tmp.write_text("{}")
    finally:
        os.umask(umask)
    assert (tmp_path / "o.json").stat().st_mode & 0o777 == 0o640


# -- voice side: a voice verdict needs >= 20 % speech; a hop at p >= 0.5 is speech ---------------

class _Hops:
    """Voice-activity detector: the given probabilities, whatever the audio."""

    hop = 0.01

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities, dtype=np.float64)

    def speech(self, samples, sample_rate):
        return self.probabilities


def voice_side(vad, calls=None, duration=10.0, **kwargs):
    from emofuse.audio import SILENCE_DB
    from emofuse.voice_side import VoiceSide

    loud = level(-20.0, frames=int(duration * RATE) // FRAME + 1)

    def window(a, b):
        if calls is not None:
            calls.append((round(a, 3), round(b, 3)))
        return loud[int(a * RATE): int(b * RATE)]

    return VoiceSide(window, RATE, duration, 2.0, vad, lambda samples, rate, errors: VOICE_ANGRY,
                     lambda kind, errors, call: call(), SILENCE_DB, **kwargs)


@pytest.mark.parametrize("speech_hops, verdict", [(19, False), (20, True), (21, True)])
def test_a_voice_verdict_needs_a_fifth_of_the_segment_to_be_speech(speech_hops, verdict):
    vad = _Hops([1.0] * speech_hops + [0.0] * (100 - speech_hops))
    evidence, speech, _ = voice_side(vad).evidence(2.0, 3.0, [])
    assert speech == pytest.approx(speech_hops / 100)
    assert (evidence is not None) is verdict
    if verdict:
        assert evidence.speech == pytest.approx(speech_hops / 100) and evidence.scores == VOICE_ANGRY


@pytest.mark.parametrize("p, counted", [(0.5, True), (0.49, False), (0.51, True)])
def test_a_hop_is_speech_from_probability_one_half(p, counted):
    from emofuse.voice_side import speech_fraction

    assert speech_fraction([p, 0.0, 0.0, 1.0]) == (0.5 if counted else 0.25)


def test_the_classifier_hears_min_window_seconds_centred_on_the_segment():
    calls: list = []
    side = voice_side(_Hops([1.0] * 10), calls)
    for start, end in ((2.0, 3.0), (0.0, 1.0), (9.0, 10.0)):
        side.evidence(start, end, [])
    assert calls == [(1.5, 3.5), (0.0, 2.0), (8.0, 10.0)]


def test_a_silent_segment_is_never_sent_to_the_detector():
    class Refuses:
        def speech(self, samples, sample_rate):
            raise AssertionError("silence went to the detector")

    from emofuse.audio import SILENCE_DB
    from emofuse.voice_side import VoiceSide

    quiet = level(-46.0, frames=400)
    side = VoiceSide(lambda a, b: quiet[int(a * RATE): int(b * RATE)], RATE, 10.0, 2.0, Refuses(),
                     lambda *a: VOICE_ANGRY, lambda kind, errors, call: call(), SILENCE_DB)
    assert side.evidence(2.0, 3.0, [])[:2] == (None, 0.0)
