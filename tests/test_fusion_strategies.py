import math

import numpy as np
import pytest

from emofuse import EmotionScores
from emofuse.labels import LABELS
from emofuse.plugin_manager import get_components
from emofuse.plugins.fusion_strategies import (
    DEFAULT_FUSION,
    EVIDENCE_DEFAULTS,
    EvidenceFusion,
    MaxConfidenceFusion,
    ProductFusion,
    WeightedFusion,
    calibrate,
    certainty,
)
from emofuse.testing import check_fusion_strategy
from emofuse.types import FaceEvidence, VoiceEvidence


def scores(*values):
    return EmotionScores.from_array(values, normalize=True)


FACE = scores(0.6, 0, 0, 0.4, 0, 0, 0)
VOICE = scores(0.2, 0, 0, 0.8, 0, 0, 0)
HAPPY = scores(0.02, 0.02, 0.02, 0.88, 0.02, 0.02, 0.02)
SAD = scores(0.05, 0.05, 0.05, 0.05, 0.65, 0.05, 0.1)


def face_ev(s=HAPPY, frames=4, sampled=4, size=120.0, detector_score=1.0, agreement=1.0):
    return FaceEvidence(s, frames=frames, sampled=sampled, size=size, detector_score=detector_score, agreement=agreement)


def voice_ev(s=SAD, speech=1.0, level_db=-20.0, window=2.0, sample_rate=16000):
    return VoiceEvidence(s, speech=speech, level_db=level_db, window=window, sample_rate=sample_rate)


def plain(**options):
    """EvidenceFusion at temperature 1, equal weights, no confidence factor (defaults may be re-fitted)."""
    base = {"face_weight": 0.5, "voice_weight": 0.5, "face_temperature": 1.0, "voice_temperature": 1.0,
            "confidence_power": 0.0, "narrowband_weight": 0.5}
    return EvidenceFusion(**{**base, **options})


def pooled(face, voice, face_share):
    """softmax(a log q_f + (1 - a) log q_v) by hand."""
    z = face_share * np.log(np.maximum(face.array, 1e-4)) + (1 - face_share) * np.log(np.maximum(voice.array, 1e-4))
    e = np.exp(z - z.max())
    return e / e.sum()


# ------------------------------------------------------------------------- weighted, product, max


def test_weighted_mean_by_hand():
    fused = WeightedFusion(face_weight=3, voice_weight=1).fuse(FACE, VOICE)
    assert fused.values[0] == pytest.approx((3 * 0.6 + 0.2) / 4)
    assert fused.values[3] == pytest.approx((3 * 0.4 + 0.8) / 4)


def test_weighted_uses_whichever_modality_is_present():
    strategy = WeightedFusion(face_weight=0.9, voice_weight=0.1)
    assert strategy.fuse(None, VOICE).values == pytest.approx(VOICE.values)
    assert strategy.fuse(FACE, None).values == pytest.approx(FACE.values)
    assert strategy.fuse(None, None) is None


def test_zero_weight_ignores_a_modality_unless_it_is_the_only_one():
    strategy = WeightedFusion(face_weight=1, voice_weight=0)
    assert strategy.fuse(FACE, VOICE).values == pytest.approx(FACE.values)
    assert strategy.fuse(None, VOICE).values == pytest.approx(VOICE.values)


def test_product_is_the_normalised_geometric_mean():
    fused = ProductFusion(floor=1e-9).fuse(FACE, VOICE)
    geo = np.sqrt(np.maximum(FACE.array, 1e-9) * np.maximum(VOICE.array, 1e-9))
    assert fused.values == pytest.approx(geo / geo.sum(), abs=1e-6)
    assert fused.label == "happy"  # sqrt(.4*.8) > sqrt(.6*.2)


def test_max_confidence_picks_the_surer_modality_and_returns_its_scores():
    assert MaxConfidenceFusion().fuse(FACE, VOICE) is VOICE
    assert MaxConfidenceFusion().fuse(FACE, None) is FACE
    assert MaxConfidenceFusion().fuse(None, None) is None
    got = MaxConfidenceFusion().fuse(face_ev(FACE), voice_ev(VOICE))
    assert type(got) is EmotionScores and got is VOICE  # the scores, not the evidence around them


@pytest.mark.parametrize("strategy", [WeightedFusion(0.3, 0.7), ProductFusion(0.3, 0.7), MaxConfidenceFusion()],
                         ids=["weighted", "product", "max-confidence"])
def test_score_only_strategies_give_the_same_on_evidence_and_on_bare_scores(strategy):
    for face, voice in ((FACE, VOICE), (FACE, None), (None, VOICE)):
        wrapped = strategy.fuse(None if face is None else face_ev(face, frames=1, sampled=4, size=30),
                                None if voice is None else voice_ev(voice, speech=0.3))
        assert isinstance(wrapped, EmotionScores)
        assert wrapped.values == pytest.approx(strategy.fuse(face, voice).values)


# ------------------------------------------------------------------------------- the registry


def test_every_registered_strategy_honours_the_contract_with_evidence_and_bare_scores():
    registry = get_components()["fusion"]
    assert {"evidence", "weighted", "product", "max-confidence"} <= set(registry.names())
    assert DEFAULT_FUSION in registry
    for name in registry.names():
        strategy = registry.create(name)
        check_fusion_strategy(strategy)  # evidence objects
        for args in ((FACE, VOICE), (FACE, None), (None, VOICE)):  # a caller with bare scores still works
            got = strategy.fuse(*args)
            assert isinstance(got, EmotionScores), name
            assert sum(got.values) == pytest.approx(1.0)


# --------------------------------------------------------------------------------- evidence


def test_a_voice_with_no_speech_carries_no_weight():
    strategy = plain()
    silent = strategy.fuse(face_ev(), voice_ev(speech=0.0))
    assert silent.values == pytest.approx(HAPPY.values)
    barely = strategy.fuse(face_ev(), voice_ev(speech=0.05))
    assert barely.values != pytest.approx(HAPPY.values, abs=1e-3)  # just above 0 it counts a little


def test_a_face_seen_in_no_frame_carries_no_weight():
    strategy = plain()
    unseen = strategy.fuse(face_ev(frames=0, sampled=4), voice_ev())
    assert unseen.values == pytest.approx(SAD.values)
    once = strategy.fuse(face_ev(frames=1, sampled=4), voice_ev())
    assert once.values == pytest.approx(pooled(HAPPY, SAD, 0.25 / 1.25))


def test_reliability_weights_by_hand():
    # face: coverage 2/4 x size 24/48 x detector 1 x agreement 1 = 0.25; voice: speech 1 x level
    # (-35 is loud_db: 1) x window 1/2 x wideband 1 = 0.5; equal base weights: face share 0.25/0.75
    strategy = plain(face_size=48.0, quiet_db=-45.0, loud_db=-35.0, full_window=2.0)
    got = strategy.fuse(face_ev(frames=2, sampled=4, size=24.0), voice_ev(level_db=-35.0, window=1.0))
    assert got.values == pytest.approx(pooled(HAPPY, SAD, 1 / 3))
    quieter = strategy.fuse(face_ev(frames=2, sampled=4, size=24.0), voice_ev(level_db=-40.0, window=1.0))
    assert quieter.values == pytest.approx(pooled(HAPPY, SAD, 0.25 / 0.5))  # level ramp at its middle: 0.5


def test_narrowband_sources_weigh_less_from_just_under_16_khz():
    strategy = plain(narrowband_weight=0.5)
    wide = strategy.fuse(face_ev(), voice_ev(sample_rate=16000))
    narrow = strategy.fuse(face_ev(), voice_ev(sample_rate=15999))
    unknown = strategy.fuse(face_ev(), voice_ev(sample_rate=0))
    assert wide.values == pytest.approx(pooled(HAPPY, SAD, 0.5))
    assert narrow.values == pytest.approx(pooled(HAPPY, SAD, 2 / 3))  # face 0.5 vs voice 0.5 x 0.5
    assert unknown.values == pytest.approx(wide.values)


def test_ignoring_a_weight_flips_the_label():
    face = scores(0.1, 0.05, 0.05, 0.5, 0.1, 0.1, 0.1)
    voice = scores(0.05, 0.05, 0.05, 0.05, 0.7, 0.05, 0.05)
    strategy = plain()
    assert strategy.fuse(face, voice).label == "sad"  # as bare scores: both fully trusted, the surer voice wins
    assert strategy.fuse(face_ev(face), voice_ev(voice, speech=1.0)).label == "sad"
    assert strategy.fuse(face_ev(face), voice_ev(voice, speech=0.25)).label == "happy"  # a quarter of speech
    assert strategy.fuse(face_ev(face, frames=1, sampled=4), voice_ev(voice, speech=0.25)).label == "sad"


def test_both_present_both_matter_and_the_face_is_never_dropped():
    strategy = EvidenceFusion()  # the shipped defaults
    both = strategy.fuse(face_ev(), voice_ev())
    alone_face, alone_voice = strategy.fuse(face_ev(), None), strategy.fuse(None, voice_ev())
    assert both.values != pytest.approx(alone_face.values, abs=1e-3)
    assert both.values != pytest.approx(alone_voice.values, abs=1e-3)
    other_face = strategy.fuse(face_ev(scores(0.88, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02)), voice_ev())
    other_voice = strategy.fuse(face_ev(), voice_ev(scores(0.05, 0.05, 0.05, 0.05, 0.1, 0.05, 0.65)))
    assert other_face.values != pytest.approx(both.values, abs=1e-3)
    assert other_voice.values != pytest.approx(both.values, abs=1e-3)
    # the demo: a face happy at 0.90, an unsure voice says neutral: happy
    demo_voice = voice_ev(scores(0.1, 0.08, 0.08, 0.1, 0.16, 0.08, 0.4))
    assert strategy.fuse(face_ev(scores(0.02, 0.01, 0.02, 0.9, 0.02, 0.01, 0.02)), demo_voice).label == "happy"


def test_one_modality_alone_gives_its_calibrated_scores_whatever_its_reliability():
    strategy = plain(face_temperature=2.0, voice_temperature=0.5)
    for frames in (1, 4):
        assert strategy.fuse(face_ev(frames=frames), None).values == pytest.approx(calibrate(HAPPY.array, 2.0))
    assert strategy.fuse(None, voice_ev(speech=0.0)).values == pytest.approx(calibrate(SAD.array, 0.5))
    assert strategy.fuse(None, None) is None


def test_when_every_weight_is_zero_both_count_equally():
    got = plain().fuse(face_ev(frames=0, sampled=4), voice_ev(speech=0.0))
    assert got.values == pytest.approx(pooled(HAPPY, SAD, 0.5))


def test_temperature_softens_or_sharpens():
    p = np.array([0.7, 0.1, 0.05, 0.05, 0.05, 0.03, 0.02])
    assert calibrate(p, 1.0) == pytest.approx(p / p.sum(), abs=1e-9)
    assert calibrate(p, 2.0).max() < 0.7 < calibrate(p, 0.5).max()


def test_certainty_is_zero_for_uniform_and_one_for_a_sure_label():
    assert certainty(np.full(7, 1 / 7)) == pytest.approx(0.0, abs=1e-9)
    assert certainty(np.eye(7)[3]) == pytest.approx(1.0, abs=1e-6)


def test_confidence_power_down_weights_an_unsure_modality():
    unsure = scores(0.2, 0.1, 0.1, 0.1, 0.3, 0.1, 0.1)
    without = plain(confidence_power=0.0).fuse(face_ev(), voice_ev(unsure))
    with_power = plain(confidence_power=2.0).fuse(face_ev(), voice_ev(unsure))
    face_share = lambda fused: fused.as_dict()["happy"]  # noqa: E731
    assert face_share(with_power) > face_share(without)
    c_face, c_voice = certainty(HAPPY.array) ** 2, certainty(unsure.array) ** 2
    assert with_power.values == pytest.approx(pooled(HAPPY, unsure, c_face / (c_face + c_voice)))


def test_fuse_many_is_fuse_row_by_row():
    strategy = EvidenceFusion(confidence_power=1.0, narrowband_weight=0.3)
    rows = [(face_ev(), voice_ev()), (face_ev(frames=1, size=30.0), None), (None, voice_ev(sample_rate=8000)),
            (face_ev(agreement=0.5), voice_ev(speech=0.4, level_db=-42.0)), (None, None)]
    def side(i, fields, default):
        return {"scores": np.array([r[i].array if r[i] is not None else [np.nan] * 7 for r in rows]),
                **{f: np.array([getattr(r[i], f) if r[i] is not None else default for r in rows], dtype=float)
                   for f in fields}}
    many = strategy.fuse_many(side(0, ("coverage", "size", "detector_score", "agreement"), 0.0),
                              side(1, ("speech", "level_db", "window", "sample_rate"), 0.0))
    for row, (face, voice) in zip(many, rows):
        one = strategy.fuse(face, voice)
        if one is None:
            assert np.isnan(row).all()
        else:
            assert row == pytest.approx(one.array)


def test_defaults_are_the_documented_ones():
    strategy = EvidenceFusion()
    for name, value in EVIDENCE_DEFAULTS.items():
        assert getattr(strategy, name) == value


@pytest.mark.parametrize("option, value", [
    ("face_weight", -0.1), ("voice_weight", -1), ("face_temperature", 0.0), ("voice_temperature", -1.0),
    ("confidence_power", -0.5), ("narrowband_weight", 1.01), ("narrowband_weight", -0.01), ("face_size", 0),
    ("full_window", 0.0), ("floor", 0.0), ("face_weight", math.nan), ("quiet_db", math.inf),
    ("voice_temperature", "warm"), ("face_weight", True),
])
def test_evidence_options_are_validated_by_name(option, value):
    with pytest.raises(ValueError, match=option):
        EvidenceFusion(**{option: value})


def test_evidence_option_bounds_are_inclusive_where_they_should_be():
    EvidenceFusion(face_weight=0.0, voice_weight=1.0, confidence_power=0.0, narrowband_weight=0.0)
    EvidenceFusion(narrowband_weight=1.0)
    with pytest.raises(ValueError, match="both be 0"):
        EvidenceFusion(face_weight=0.0, voice_weight=0.0)
    with pytest.raises(ValueError, match="loud_db"):
        EvidenceFusion(quiet_db=-30.0, loud_db=-30.0)


def test_weighted_and_product_options_are_validated_by_name():
    with pytest.raises(ValueError, match="face_weight"):
        WeightedFusion(face_weight=-1)
    with pytest.raises(ValueError, match="both be 0"):
        WeightedFusion(face_weight=0, voice_weight=0)
    with pytest.raises(ValueError, match="floor"):
        ProductFusion(floor=0)


def test_labels_order_is_what_the_hand_computations_assume():
    assert LABELS[3] == "happy" and LABELS[4] == "sad"
