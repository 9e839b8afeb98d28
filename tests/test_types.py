import dataclasses

import numpy as np
import pytest

from emofuse import LABELS, EmotionScores, FaceBox, SegmentResult, Timeline
from emofuse.table import COLUMNS


def test_labels_are_the_fer2013_order():
    assert LABELS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def test_emotion_scores_validate_length_sign_and_sum():
    with pytest.raises(ValueError, match="7 values"):
        EmotionScores((0.5, 0.5))
    with pytest.raises(ValueError, match="non-negative"):
        EmotionScores.from_array([1.2, -0.2, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="sum to 1"):
        EmotionScores.from_array([0.5] * 7)
    with pytest.raises(ValueError, match="sum to zero"):
        EmotionScores.from_array([0] * 7, normalize=True)


def test_emotion_scores_label_confidence_and_normalise():
    s = EmotionScores.from_array([1, 0, 0, 3, 0, 0, 0], normalize=True)
    assert s.label == "happy"
    assert s.confidence == pytest.approx(0.75)
    assert sum(s.values) == pytest.approx(1.0)
    assert s.as_dict()["angry"] == pytest.approx(0.25)


def test_emotion_scores_from_mapping_needs_every_label():
    with pytest.raises(ValueError, match="missing"):
        EmotionScores.from_mapping({"happy": 1.0})
    with pytest.raises(ValueError, match="unknown"):
        EmotionScores.from_mapping({**{k: 0.0 for k in LABELS}, "calm": 1.0})
    assert EmotionScores.from_mapping({**{k: 0.0 for k in LABELS}, "sad": 2.0}, normalize=True).label == "sad"


def test_emotion_scores_are_frozen_and_keep_raw_read_only():
    s = EmotionScores.from_array(np.eye(7)[2], raw={"fearful": 1.0})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.values = (1,) * 7
    with pytest.raises(TypeError):
        s.raw["calm"] = 1.0
    assert s.raw["fearful"] == 1.0


def test_mean_of_scores():
    a, b = EmotionScores.from_array(np.eye(7)[0]), EmotionScores.from_array(np.eye(7)[3])
    m = EmotionScores.mean([a, b])
    assert m.values[0] == pytest.approx(0.5) and m.values[3] == pytest.approx(0.5)
    assert EmotionScores.mean([]) is None


def test_face_box_validates_and_crops_inside_frame():
    with pytest.raises(ValueError):
        FaceBox(0, 0, 0, 10)
    with pytest.raises(TypeError):
        FaceBox(0.5, 0, 10, 10)
    frame = np.zeros((100, 50, 3), dtype=np.uint8)
    assert FaceBox(40, 90, 20, 20).crop(frame).shape == (10, 10, 3)


def test_segment_result_rejects_bad_times_and_types():
    with pytest.raises(ValueError):
        SegmentResult(2.0, 1.0)
    with pytest.raises(TypeError):
        SegmentResult(0.0, 1.0, face={"happy": 1.0})
    seg = SegmentResult(0.0, 1.0)
    assert seg.label is None and seg.confidence is None


def test_timeline_table_schema_and_gaps():
    happy = EmotionScores.from_array(np.eye(7)[3])
    timeline = Timeline("x.mp4", [SegmentResult(0, 1, face=happy, fused=happy, faces=1), SegmentResult(1, 2)],
                        {"fusion": "weighted"}, 2.0)
    df = timeline.to_dataframe()
    assert tuple(df.columns) == COLUMNS
    assert list(df.columns[:5]) == ["start", "end", "label", "confidence", "faces"]
    assert df.loc[0, "face_happy"] == 1.0 and np.isnan(df.loc[0, "voice_happy"])
    assert df.loc[1, "label"] == "" and df.loc[1, [c for c in df.columns if c.startswith("fused_")]].isna().all()
    assert timeline.summary() == [("happy", 1.0)]
    with pytest.raises(TypeError):
        timeline.components["fusion"] = "product"


def test_atomic_output_has_the_usual_permissions(tmp_path):
    import os

    from emofuse.atomic import atomic_output

    umask = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "out.csv") as tmp:
            tmp.write_text("x\n")
    finally:
        os.umask(umask)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
