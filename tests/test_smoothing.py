import numpy as np
import pytest

from emofuse import EmotionScores, LABELS
from emofuse.smoothing import parse_smoothing, smooth_timeline
from emofuse.testing import sample_scores
from emofuse.types import SegmentResult, Timeline

HAPPY, SAD = sample_scores("happy", 0.7), sample_scores("sad", 0.7)


def onehot(label, p=1.0):
    rest = (1 - p) / 6
    return EmotionScores.from_array([p if l == label else rest for l in LABELS])


def timeline(fused, face=None, voice=None):
    n = len(fused)
    face = face or [None] * n
    voice = voice or [None] * n
    segs = [SegmentResult(float(i), i + 1.0, face=face[i], voice=voice[i], fused=fused[i], faces=int(face[i] is not None))
            for i in range(n)]
    return Timeline("x.mp4", segs, {"fusion": "weighted"}, float(n))


def test_ema_by_hand():
    a, b = onehot("happy"), onehot("sad")
    out = smooth_timeline(timeline([a, b, b]), method="ema", window=3)  # alpha = 0.5
    happy, sad = LABELS.index("happy"), LABELS.index("sad")
    assert out.segments[0].fused.values[happy] == pytest.approx(1.0)
    assert out.segments[1].fused.values[happy] == pytest.approx(0.5)
    assert out.segments[1].fused.values[sad] == pytest.approx(0.5)
    assert out.segments[2].fused.values[sad] == pytest.approx(0.75)
    assert out.segments[2].label == "sad"


def test_median_removes_a_single_outlier_and_keeps_the_ends():
    seq = [HAPPY, HAPPY, SAD, HAPPY, HAPPY]
    out = smooth_timeline(timeline(seq), method="median", window=3)
    assert [s.label for s in out.segments] == ["happy"] * 5
    assert out.segments[2].fused.values == pytest.approx(HAPPY.values)
    # a change that lasts is kept
    seq = [HAPPY, HAPPY, SAD, SAD, SAD]
    assert [s.label for s in smooth_timeline(timeline(seq), "median", 3).segments] == ["happy"] * 2 + ["sad"] * 3


def test_gaps_stay_gaps_and_neighbours_skip_them():
    face = [onehot("happy"), None, onehot("sad"), None]
    fused = [onehot("happy"), onehot("neutral"), onehot("sad"), None]
    out = smooth_timeline(timeline(fused, face=face), method="ema", window=3)
    assert out.segments[1].face is None and out.segments[3].face is None and out.segments[3].fused is None
    # the EMA carries over the gap: segment 2 mixes happy (seg 0) and sad (seg 2) only
    assert out.segments[2].face.values[LABELS.index("happy")] == pytest.approx(0.5)
    assert out.segments[2].face.values[LABELS.index("neutral")] == pytest.approx(0.0)


def test_pure_and_records_itself():
    tl = timeline([HAPPY, SAD, HAPPY], face=[HAPPY, SAD, HAPPY])
    before = [s.fused.values for s in tl.segments]
    out = smooth_timeline(tl, method="median", window=3, groups=("fused",))
    assert [s.fused.values for s in tl.segments] == before
    assert out is not tl and out.components["smoothing"] == "median(window=3)"
    assert out.components["fusion"] == "weighted"
    assert out.segments[1].face.values == SAD.values  # only the fused group was asked for
    assert out.segments[1].fused.values == pytest.approx(HAPPY.values)
    assert [(s.start, s.end, s.faces) for s in out.segments] == [(s.start, s.end, s.faces) for s in tl.segments]


def test_window_one_changes_nothing_and_results_sum_to_one():
    rng = np.random.default_rng(0)
    seq = [EmotionScores.from_array(rng.random(7), normalize=True) for _ in range(6)]
    assert [s.fused for s in smooth_timeline(timeline(seq), "ema", 1).segments] == seq
    for method in ("ema", "median"):
        for seg in smooth_timeline(timeline(seq), method, 5).segments:
            assert sum(seg.fused.values) == pytest.approx(1.0)


def test_raw_scores_are_smoothed_too():
    raw1 = {"calm": 1.0, "neutral": 0.0}
    raw2 = {"calm": 0.0, "neutral": 1.0}
    v1 = EmotionScores(onehot("neutral").values, raw=raw1)
    v2 = EmotionScores(onehot("neutral").values, raw=raw2)
    out = smooth_timeline(timeline([None, None], voice=[v1, v2]), "ema", 3)
    assert out.segments[1].voice.raw["calm"] == pytest.approx(0.5)


@pytest.mark.parametrize("kwargs", [dict(method="mean"), dict(window=0), dict(window=2.5),
                                    dict(method="median", window=4), dict(groups=("faces",))])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        smooth_timeline(timeline([HAPPY]), **kwargs)


def test_parse_smoothing_for_the_command_line():
    assert parse_smoothing("median:5") == ("median", 5)
    assert parse_smoothing(" EMA:2 ") == ("ema", 2)
    assert parse_smoothing("ema") == ("ema", 3) and parse_smoothing("median") == ("median", 5)
    for bad in ("mean:3", "median:4", "ema:0", "ema:x", ""):
        with pytest.raises(ValueError):
            parse_smoothing(bad)
