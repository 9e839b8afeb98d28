import numpy as np
import pytest

from emofuse import EmotionScores
from emofuse.plugins.fusion_strategies import MaxConfidenceFusion, ProductFusion, WeightedFusion


def scores(*values):
    return EmotionScores.from_array(values, normalize=True)


FACE = scores(0.6, 0, 0, 0.4, 0, 0, 0)
VOICE = scores(0.2, 0, 0, 0.8, 0, 0, 0)


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


def test_weights_are_validated():
    with pytest.raises(ValueError):
        WeightedFusion(face_weight=-1)
    with pytest.raises(ValueError):
        WeightedFusion(face_weight=0, voice_weight=0)


def test_product_is_the_normalised_geometric_mean():
    fused = ProductFusion(floor=1e-9).fuse(FACE, VOICE)
    geo = np.sqrt(np.maximum(FACE.array, 1e-9) * np.maximum(VOICE.array, 1e-9))
    assert fused.values == pytest.approx(geo / geo.sum(), abs=1e-6)
    assert fused.label == "happy"  # sqrt(.4*.8) > sqrt(.6*.2)


def test_max_confidence_picks_the_surer_modality():
    assert MaxConfidenceFusion().fuse(FACE, VOICE) is VOICE
    assert MaxConfidenceFusion().fuse(FACE, None) is FACE
    assert MaxConfidenceFusion().fuse(None, None) is None
