"""Boundaries, messages and defaults of the fusion strategies, face evidence and smoothing (issue 19)."""
import math
import warnings

import numpy as np
import pytest

from emofuse import EmotionScores, LABELS
from emofuse.evidence import face_evidence
from emofuse.plugins.fusion_strategies import (
    EVIDENCE_DEFAULTS,
    EvidenceFusion,
    ProductFusion,
    WeightedFusion,
    calibrate,
    certainty,
)
from emofuse.smoothing import parse_smoothing, smooth_timeline
from emofuse.types import FaceBox, FaceEvidence, SegmentResult, Timeline, VoiceEvidence

HAPPY, SAD, NEUTRAL = LABELS.index("happy"), LABELS.index("sad"), LABELS.index("neutral")


def scores(*values):
    return EmotionScores.from_array(values, normalize=True)


def onehot(label, p=1.0):
    rest = (1 - p) / 6
    return EmotionScores.from_array([p if l == label else rest for l in LABELS])


FACE = scores(0.6, 0, 0, 0.4, 0, 0, 0)
VOICE = scores(0.2, 0, 0, 0.8, 0, 0, 0)
UNIFORM = np.full(7, 1 / 7)


def message(excinfo):
    return str(excinfo.value)


# ------------------------------------------------------------------ constructor messages


@pytest.mark.parametrize("cls, kwargs, text", [
    (WeightedFusion, {"face_weight": -5}, "WeightedFusion: face_weight must be >= 0, got -5"),
    (WeightedFusion, {"voice_weight": -0.5}, "WeightedFusion: voice_weight must be >= 0, got -0.5"),
    (WeightedFusion, {"face_weight": "x"}, "WeightedFusion: face_weight must be a number, got 'x'"),
    (WeightedFusion, {"voice_weight": math.inf}, "WeightedFusion: voice_weight must be a finite number, got inf"),
    (WeightedFusion, {"face_weight": 0, "voice_weight": 0}, "WeightedFusion: face_weight and voice_weight must not both be 0"),
    (ProductFusion, {"face_weight": -1}, "ProductFusion: face_weight must be >= 0, got -1"),
    (ProductFusion, {"voice_weight": -2}, "ProductFusion: voice_weight must be >= 0, got -2"),
    (ProductFusion, {"floor": 0}, "ProductFusion: floor must be > 0, got 0"),
    (ProductFusion, {"floor": 0.5}, "ProductFusion: floor must be <= 0.1, got 0.5"),
    (ProductFusion, {"floor": "a"}, "ProductFusion: floor must be a number, got 'a'"),
])
def test_weighted_and_product_options_are_checked_with_one_line_messages(cls, kwargs, text):
    with pytest.raises(ValueError) as excinfo:
        cls(**kwargs)
    assert message(excinfo) == text


@pytest.mark.parametrize("kwargs, text", [
    ({"face_weight": -1}, "face_weight must be >= 0, got -1"),
    ({"voice_weight": -0.25}, "voice_weight must be >= 0, got -0.25"),
    ({"face_weight": "x"}, "face_weight must be a number, got 'x'"),
    ({"voice_weight": "y"}, "voice_weight must be a number, got 'y'"),
    ({"face_weight": 0, "voice_weight": 0}, "face_weight and voice_weight must not both be 0"),
    ({"face_temperature": 0}, "face_temperature must be > 0, got 0"),
    ({"face_temperature": "t"}, "face_temperature must be a number, got 't'"),
    ({"voice_temperature": 0}, "voice_temperature must be > 0, got 0"),
    ({"voice_temperature": -1}, "voice_temperature must be > 0, got -1"),
    ({"confidence_power": -1}, "confidence_power must be >= 0, got -1"),
    ({"confidence_power": "p"}, "confidence_power must be a number, got 'p'"),
    ({"narrowband_weight": 1.5}, "narrowband_weight must be <= 1, got 1.5"),
    ({"narrowband_weight": -0.1}, "narrowband_weight must be >= 0, got -0.1"),
    ({"face_size": 0}, "face_size must be > 0, got 0"),
    ({"face_size": "s"}, "face_size must be a number, got 's'"),
    ({"quiet_db": "q"}, "quiet_db must be a number, got 'q'"),
    ({"loud_db": "l"}, "loud_db must be a number, got 'l'"),
    ({"loud_db": math.nan}, "loud_db must be a finite number, got nan"),
    ({"quiet_db": -30, "loud_db": -40}, "loud_db must be above quiet_db, got -40 <= -30"),
    ({"full_window": 0}, "full_window must be > 0, got 0"),
    ({"full_window": "w"}, "full_window must be a number, got 'w'"),
    ({"floor": 0}, "floor must be > 0, got 0"),
    ({"floor": 0.5}, "floor must be <= 0.1, got 0.5"),
    ({"floor": "f"}, "floor must be a number, got 'f'"),
])
def test_evidence_options_are_checked_with_one_line_messages(kwargs, text):
    with pytest.raises(ValueError) as excinfo:
        EvidenceFusion(**kwargs)
    assert message(excinfo) == "evidence fusion: " + text


def test_open_lower_bounds_accept_anything_above_them():
    """face_size and full_window need only be > 0 (half a pixel, a tenth of a second); floor up to 0.1."""
    fusion = EvidenceFusion(face_size=0.5, full_window=0.1, floor=0.1)
    assert (fusion.face_size, fusion.full_window, fusion.floor) == (0.5, 0.1, 0.1)
    assert ProductFusion(floor=0.1).floor == 0.1


def test_evidence_repr_lists_every_option():
    assert repr(EvidenceFusion()) == (
        "EvidenceFusion(face_weight=0.6, voice_weight=0.4, face_temperature=1.3, voice_temperature=1.04, "
        "confidence_power=2, narrowband_weight=1, face_size=48, quiet_db=-45, loud_db=-35, full_window=2)")
    assert repr(EvidenceFusion(face_weight=1, quiet_db=-50.5)).startswith("EvidenceFusion(face_weight=1, voice_weight=0.4,")


# ------------------------------------------------------------------ weighted / product


def test_weighted_fusion_depends_only_on_the_ratio_of_the_weights():
    """Weights 3:1 give the same mean however large they are (no overflow)."""
    small = WeightedFusion(3, 1).fuse(FACE, VOICE)
    huge = WeightedFusion(3e200, 1e200).fuse(FACE, VOICE)
    assert huge.values == pytest.approx(small.values)
    assert small.values[0] == pytest.approx((3 * 0.6 + 0.2) / 4)


# ------------------------------------------------------------------ calibrate / certainty


def test_a_uniform_row_stays_uniform_at_any_temperature():
    assert calibrate(UNIFORM, 0.001) == pytest.approx(UNIFORM)


def test_calibrate_treats_rows_independently():
    rows = np.array([UNIFORM, np.eye(7)[HAPPY]])
    q = calibrate(rows, 0.001)
    assert q[0] == pytest.approx(UNIFORM)
    assert q[1][HAPPY] == pytest.approx(1.0)


def test_certainty_is_never_negative_for_rows_a_rounding_error_off_uniform():
    rng = np.random.default_rng(0)
    rows = UNIFORM + rng.normal(0, 1e-9, (20000, 7))
    rows /= rows.sum(axis=1, keepdims=True)
    assert (certainty(rows) >= 0).all()


# ------------------------------------------------------------------ evidence reliability


def test_face_reliability_is_the_product_of_its_clipped_factors():
    fusion = EvidenceFusion(confidence_power=0)  # certainty ** 0 = 1: only the evidence counts
    q = UNIFORM[None, :]

    def rel(coverage=1.0, size=0.0, detector=1.0, agreement=1.0):
        return float(fusion.face_reliability(q, coverage, size, detector, agreement)[0])

    assert rel() == 1.0
    assert rel(detector=0.5) == pytest.approx(0.5)
    assert rel(agreement=0.5) == pytest.approx(0.5)
    assert rel(coverage=0.5, detector=0.5, agreement=0.5) == pytest.approx(0.125)
    assert rel(coverage=3.0) == 1.0 and rel(detector=2.0) == 1.0 and rel(agreement=4.0) == 1.0
    assert rel(coverage=-1.0) == 0.0 and rel(detector=-0.5) == 0.0 and rel(agreement=-2.0) == 0.0
    assert rel(size=24.0) == pytest.approx(0.5)
    assert rel(size=0.5) == pytest.approx(0.5 / 48)  # any known size counts, only 0 is unknown
    assert rel(size=96.0) == 1.0


def test_voice_reliability_is_the_product_of_its_clipped_factors():
    fusion = EvidenceFusion(confidence_power=0, narrowband_weight=0.5)
    q = UNIFORM[None, :]

    def rel(speech=1.0, level_db=0.0, window=0.0, rate=0):
        return float(fusion.voice_reliability(q, speech, level_db, window, rate)[0])

    assert rel() == 1.0
    assert rel(speech=2.0) == 1.0 and rel(speech=-1.0) == 0.0
    assert rel(level_db=-60.0) == 0.0 and rel(level_db=-40.0) == pytest.approx(0.5)
    assert rel(window=1.0) == pytest.approx(0.5) and rel(window=4.0) == 1.0
    assert rel(rate=8000) == pytest.approx(0.5) and rel(rate=1) == pytest.approx(0.5)
    assert rel(rate=16000) == 1.0


def test_fuse_many_alone_uses_its_floor_for_calibration():
    """A modality alone gives its calibrated scores: floored at the fusion's own floor."""
    p = np.array([[0.5, 0.5, 0, 0, 0, 0, 0]])
    fusion = EvidenceFusion(face_temperature=1.0, floor=0.05)
    out = fusion.fuse_many({"scores": p, "coverage": 1.0, "size": 0.0, "detector_score": 1.0, "agreement": 1.0}, None)
    # calibrated at T=1: p floored at 0.05 and renormalised (0.4, 0.4, 5 x 0.04); pooled: floored again
    expected = np.array([0.4, 0.4, 0.05, 0.05, 0.05, 0.05, 0.05]) / 1.05
    assert out[0] == pytest.approx(expected)


def _zero_trust_rows(n):
    face = {"scores": np.tile(FACE.array, (n, 1)), "coverage": 0.0, "size": 0.0, "detector_score": 1.0,
            "agreement": 1.0}
    voice = {"scores": np.tile(VOICE.array, (n, 1)), "speech": 0.0, "level_db": 0.0, "window": 0.0,
             "sample_rate": 0}
    return face, voice


def test_fuse_many_with_no_trust_anywhere_counts_both_equally_row_by_row_without_warnings():
    fusion = EvidenceFusion()
    face, voice = _zero_trust_rows(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        many = fusion.fuse_many(face, voice)
    one = fusion.fuse_many(*_zero_trust_rows(1))[0]
    for row in many:
        assert row == pytest.approx(one)
    qf = calibrate(FACE.array, EVIDENCE_DEFAULTS["face_temperature"])   # the defaults are refitted now and then
    qv = calibrate(VOICE.array, EVIDENCE_DEFAULTS["voice_temperature"])
    pooled = np.exp(0.5 * np.log(np.maximum(qf, 1e-4)) + 0.5 * np.log(np.maximum(qv, 1e-4)))
    assert one == pytest.approx(pooled / pooled.sum())


# ------------------------------------------------------------------ face evidence


def test_face_evidence_without_boxes_has_unknown_size_and_a_full_detector_score():
    ev = face_evidence([FACE], [], frames=1, sampled=2)
    assert ev.size == 0.0 and ev.detector_score == 1.0
    assert ev.frames == 1 and ev.sampled == 2


def test_face_evidence_with_boxes_takes_their_medians():
    boxes = [FaceBox(0, 0, w, w, score=s) for w, s in ((40, 0.9), (60, 0.5), (100, 0.7))]
    ev = face_evidence([FACE, FACE, VOICE], boxes, frames=3, sampled=3)
    assert ev.size == 60.0 and ev.detector_score == pytest.approx(0.7)


# ------------------------------------------------------------------ smoothing


def timeline(fused):
    segs = [SegmentResult(float(i), i + 1.0, fused=fused[i]) for i in range(len(fused))]
    return Timeline("x.mp4", segs, {"fusion": "weighted"}, float(len(fused)))


def test_smooth_timeline_defaults_to_ema_over_3_segments():
    tl = timeline([onehot("happy"), onehot("sad"), onehot("sad")])
    out = smooth_timeline(tl)
    assert out.components["smoothing"] == "ema(window=3)"
    assert out.segments[1].fused.values[HAPPY] == pytest.approx(0.5)  # alpha = 2 / (3 + 1)


def test_ema_over_2_segments_smooths():
    out = smooth_timeline(timeline([onehot("happy"), onehot("sad")]), "ema", 2)  # alpha = 2/3
    assert out.segments[1].fused.values[SAD] == pytest.approx(2 / 3)
    assert out.segments[1].fused.values[HAPPY] == pytest.approx(1 / 3)


def test_smoothing_a_single_segment_leaves_it_as_it_was():
    for method in ("ema", "median"):
        out = smooth_timeline(timeline([onehot("happy", 0.7)]), method, 3)
        assert out.segments[0].fused.values == pytest.approx(onehot("happy", 0.7).values)


def test_median_window_5_reaches_two_segments_each_side():
    seq = [onehot("happy"), onehot("happy"), onehot("sad"), onehot("sad"), onehot("sad")]
    out = smooth_timeline(timeline(seq), "median", 5)
    # segment 0 sees 0..2 (happy, happy, sad); segment 1 sees 0..3 (2 happy, 2 sad: median 0.5 each)
    assert out.segments[0].label == "happy"
    assert out.segments[1].fused.values[HAPPY] == pytest.approx(0.5)
    assert out.segments[1].fused.values[SAD] == pytest.approx(0.5)


def test_median_of_disagreeing_one_hot_rows_falls_back_to_uniform():
    seq = [onehot("happy"), onehot("sad"), onehot("neutral")]
    out = smooth_timeline(timeline(seq), "median", 3)
    assert out.segments[1].fused.values == pytest.approx([1 / 7] * 7)


def test_median_smooths_raw_scores_too():
    raws = [{"calm": 0.9, "happy": 0.1}, {"calm": 0.1, "happy": 0.9}, {"calm": 0.8, "happy": 0.2}]
    seq = [EmotionScores.from_array(onehot("happy").array, raw=r) for r in raws]
    out = smooth_timeline(timeline(seq), "median", 3)
    assert dict(out.segments[1].fused.raw) == pytest.approx({"calm": 0.8, "happy": 0.2})


def test_raw_scores_are_dropped_when_segments_disagree_on_their_labels():
    a = EmotionScores.from_array(onehot("happy").array, raw={"calm": 1.0})
    b = EmotionScores.from_array(onehot("happy").array, raw=None)
    c = EmotionScores.from_array(onehot("happy").array, raw={"other": 1.0})
    for second in (b, c):
        out = smooth_timeline(timeline([a, second]), "ema", 3)
        assert all(s.fused.raw is None for s in out.segments)


@pytest.mark.parametrize("kwargs, text", [
    ({"method": "mean"}, "unknown smoothing method 'mean'; expected one of ema, median"),
    ({"window": 0}, "smoothing window must be a whole number of segments >= 1, got 0"),
    ({"window": 2.5}, "smoothing window must be a whole number of segments >= 1, got 2.5"),
    ({"method": "median", "window": 4}, "the median window must be odd (centred on a segment), got 4"),
    ({"groups": ("fused", "body")}, "unknown score groups ['body']; expected some of face, voice, fused"),
])
def test_smooth_timeline_refuses_bad_options_with_one_line_messages(kwargs, text):
    with pytest.raises(ValueError) as excinfo:
        smooth_timeline(timeline([onehot("happy")]), **kwargs)
    assert message(excinfo) == text


@pytest.mark.parametrize("text, parsed", [("ema:1", ("ema", 1)), ("median:1", ("median", 1)), ("ema:2", ("ema", 2))])
def test_parse_smoothing_accepts_windows_from_1(text, parsed):
    assert parse_smoothing(text) == parsed


@pytest.mark.parametrize("text, error", [
    ("ema:x", "bad smoothing window in 'ema:x': a whole number of segments, e.g. ema:3"),
    ("ema:0", "bad smoothing window in 'ema:0': >= 1"),
    ("median:4", "bad smoothing window in 'median:4': >= 1 and odd for median"),
    ("median:0", "bad smoothing window in 'median:0': >= 1 and odd for median"),
])
def test_parse_smoothing_messages(text, error):
    with pytest.raises(ValueError) as excinfo:
        parse_smoothing(text)
    assert message(excinfo) == error
