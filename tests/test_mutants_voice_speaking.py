"""Who is speaking (emofuse.speaking, emofuse.speaker_side) on synthetic inputs: exact mouth patches,
the envelope by hand, and SpeakerFinder's score against the formula of docs/speaking.md
(issue 19: pins the behaviour at the boundaries mutation testing found unchecked)."""
from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from emofuse.speaker_side import EnvelopeBook
from emofuse.speaking import (FLOOR_DB, MouthRecorder, SpeakerFinder, _pearson_rows, mouth_motion, mouth_patch,
                              speech_envelope)
from emofuse.types import FaceBox

# A 58 x 60 box: its mouth region, columns 13-44 and rows 37-60 of the box, is exactly the
# 32 x 24 patch size, so the patch is the region itself.
EXACT = FaceBox(20, 10, 58, 60)


def grey_frame(h: int = 100, w: int = 100, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)


# -- mouth patches ------------------------------------------------------------------------------------


def test_mouth_patch_is_the_mouth_region_itself_at_the_patch_size():
    frame = grey_frame()
    patch = mouth_patch(frame, EXACT)
    assert patch.dtype == np.float32
    assert np.array_equal(patch, frame[47:71, 33:65].astype(np.float32))
    colour = np.stack([frame, frame // 2, frame // 4], axis=2)
    assert np.allclose(mouth_patch(colour, EXACT), (colour[47:71, 33:65].astype(np.float32)).mean(axis=2))


def test_mouth_patch_repeats_the_frame_edge_on_every_side():
    frame = grey_frame(seed=1)
    # above the frame: region rows -3..20, rows 0..20 of the frame, row 0 repeated 3 times on top
    top = mouth_patch(frame, FaceBox(20, -40, 58, 60))
    assert np.array_equal(top, np.concatenate([frame[[0, 0, 0], 33:65], frame[0:21, 33:65]]).astype(np.float32))
    # region starting exactly at the top row: no border, row 0 kept
    at_top = mouth_patch(frame, FaceBox(20, -37, 58, 60))
    assert np.array_equal(at_top, frame[0:24, 33:65].astype(np.float32))
    # below: rows 90..113, rows 90..99 then row 99 repeated 14 times
    bottom = mouth_patch(frame, FaceBox(20, 53, 58, 60))
    assert np.array_equal(bottom, frame[[*range(90, 100)] + [99] * 14, 33:65].astype(np.float32))
    # right: columns 80..111, columns 80..99 then column 99 repeated 12 times
    right = mouth_patch(frame, FaceBox(67, 10, 58, 60))
    assert np.array_equal(right, frame[47:71][:, [*range(80, 100)] + [99] * 12].astype(np.float32))
    # left: columns -5..26, column 0 repeated 5 times then 0..26
    left = mouth_patch(frame, FaceBox(-18, 10, 58, 60))
    assert np.array_equal(left, frame[47:71][:, [0] * 5 + [*range(0, 27)]].astype(np.float32))


def test_mouth_patch_averages_the_pixels_it_shrinks():
    frame = np.zeros((100, 100), np.uint8)
    frame[:, ::4] = 200  # one column in 4 lit: every patch pixel of a 4x shrink covers one of them
    patch = mouth_patch(frame, FaceBox(20, 10, 58, 60), size=(8, 6))
    assert patch.shape == (6, 8) and np.allclose(patch, 50.0)


@pytest.mark.parametrize("box", [FaceBox(200, 10, 58, 60),  # right of the frame, rows inside
                                 FaceBox(20, 200, 58, 60),  # below, columns inside
                                 FaceBox(87, 10, 58, 60),  # region starts exactly at the right edge
                                 FaceBox(20, 63, 58, 60)])  # region starts exactly at the bottom edge
def test_a_mouth_region_outside_the_frame_is_a_zero_patch(box):
    patch = mouth_patch(grey_frame(), box, size=(10, 6))
    assert patch.shape == (6, 10) and patch.dtype == np.float32 and not patch.any()


def test_tiny_boxes_give_a_patch_of_at_least_one_pixel_or_none():
    frame = np.zeros((50, 50), np.uint8)
    frame[:, 10] = 120
    frame[:, 11] = 0
    # 1 px wide: the region is the one column at x (6-10 rows below y)
    assert np.allclose(mouth_patch(frame, FaceBox(10, 5, 1, 10), size=(4, 3)), 120.0)
    # 1 px high: the region (from row round(0.62) = 1 to row max(1, round(1.02)) = 1) is empty
    assert not mouth_patch(np.full((50, 50), 99, np.uint8), FaceBox(10, 5, 10, 1), size=(4, 3)).any()


def test_mouth_motion_of_random_patches_is_their_mean_absolute_difference():
    a, b = grey_frame(4, 6, 2).astype(np.float32), grey_frame(4, 6, 3).astype(np.float32)
    assert mouth_motion(a, b) == pytest.approx(float(np.abs(a - b).sum()) / 24)


# -- MouthRecorder -------------------------------------------------------------------------------------


def test_a_lost_track_starts_again_with_its_new_box():
    finder = SpeakerFinder(min_samples=3)
    recorder = MouthRecorder(finder)
    old, new = FaceBox(0, 0, 100, 100), FaceBox(5, 0, 100, 100)  # within the 10 % tolerance
    still = np.zeros((120, 120), np.uint8)
    changed = still.copy()
    changed[62:102, 78:83] = 200  # columns 78-82: inside the new box's mouth region only (27-82 vs 22-77)
    recorder.see(0.0, 1, old, still)
    recorder.lost(1)
    recorder.see(1.0, 1, new, still)
    recorder.see(1.04, 1, new, changed)
    assert finder._motions(1)[:, 2].tolist() == [pytest.approx(float(np.abs(
        mouth_patch(changed, new) - mouth_patch(still, new)).mean()))]
    assert finder._motions(1)[0, 2] > 0


def test_losing_a_track_never_seen_is_harmless():
    recorder = MouthRecorder(SpeakerFinder())
    recorder.lost(7)
    recorder.see(0.0, 7, EXACT, grey_frame())
    recorder.lost(7)
    recorder.lost(7)


# -- the envelope ----------------------------------------------------------------------------------------


def test_speech_envelope_by_hand_one_sample_per_hop():
    # rate 100, hop 10 ms: one sample per value, 20 log10 |x|, floored at -80 dB
    env = speech_envelope(np.array([1.0, 0.1, -0.01, 0.0, 1e-5]), 100)
    assert env.dtype == np.float32 and env.tolist() == pytest.approx([0.0, -20.0, -40.0, -80.0, -80.0], abs=1e-5)


def test_speech_envelope_default_hop_is_10_ms_and_one_whole_hop_gives_one_value():
    assert speech_envelope(np.full(160, 0.1), 16000).tolist() == pytest.approx([-20.0], abs=1e-5)
    assert speech_envelope(np.full(1600, 0.1), 16000).size == 10
    assert speech_envelope(np.full(319, 0.1), 16000).size == 1
    empty = speech_envelope(np.full(159, 0.1), 16000)
    assert empty.size == 0 and empty.dtype == np.float32


def test_speech_envelope_power_is_the_mean_square_of_each_hop():
    # two samples a hop: (0.25 + 0.0625) / 2 = 0.15625, (0.015625 + 0.140625) / 2 = 0.078125;
    # half-precision samples (exact here) are measured in double precision all the same
    env = speech_envelope(np.array([0.5, -0.25, 0.125, 0.375], np.float16), 200)
    assert env.tolist() == pytest.approx([10 * math.log10(0.15625), 10 * math.log10(0.078125)], abs=1e-5)


def test_envelope_book_uses_its_own_hop_and_gives_float64_series():
    book = EnvelopeBook(hop=0.02)
    book.add(1.0, np.full(1600, 0.1, np.float32), 16000)
    book.add(2.0, np.full(800, 0.01, np.float32), 16000)
    times, values = book.series()
    assert times.tolist() == pytest.approx([1.0 + 0.02 * i for i in range(5)] + [2.0 + 0.02 * i for i in range(2)])
    assert values.tolist() == pytest.approx([-20.0] * 5 + [-40.0] * 2, abs=1e-4)
    assert times.dtype == values.dtype == np.float64
    assert [a.size for a in EnvelopeBook().series()] == [0, 0]


# -- Pearson rows ------------------------------------------------------------------------------------------


def test_pearson_rows_by_hand():
    rows = np.array([[1.0, 2.0, 3.0], [13.0, 12.0, 11.0], [5.0, 5.0, 5.0], [0.01, 0.02, 0.03], [1.0, 3.0, 2.0]])
    r = _pearson_rows(rows, np.array([2.0, 4.0, 6.0]))
    assert r.tolist() == pytest.approx([1.0, -1.0, 0.0, 1.0, 0.5], abs=1e-12)


# -- SpeakerFinder: settings, add, forget --------------------------------------------------------------------


def test_speaker_finder_defaults_are_the_documented_ones():
    finder = SpeakerFinder()
    assert (finder.window, finder.min_score, finder.max_lag, finder.smooth, finder.min_samples) == (4.0, 4.0, 0.1, 0.05, 10)
    assert finder.reach == pytest.approx(1.6)


@pytest.mark.parametrize("options", [{"window": 0}, {"window": -1}, {"max_lag": -0.01}, {"smooth": -0.01},
                                     {"min_samples": 2}])
def test_speaker_finder_refuses_each_bad_setting_alone(options):
    with pytest.raises(ValueError, match="^SpeakerFinder needs window > 0, max_lag >= 0, smooth >= 0, min_samples >= 3$"):
        SpeakerFinder(**options)


def test_speaker_finder_accepts_the_setting_limits():
    finder = SpeakerFinder(window=0.5, max_lag=0, smooth=0, min_samples=3)
    assert (finder.window, finder.max_lag, finder.smooth, finder.min_samples) == (0.5, 0.0, 0.0, 3)


def test_add_at_the_same_time_again_is_allowed_and_zero_spans_are_not_kept():
    finder = SpeakerFinder()
    finder.add(1, 1.0, 0.5)
    finder.add(1, 1.0, 0.5)  # same time: not going back; no interval, nothing kept
    finder.add(1, 1.0, 0.5, span=0.0)
    assert finder._motions(1).shape == (0, 3)
    finder.add(1, 1.04, 0.5)
    assert finder._motions(1).tolist() == [[1.04, pytest.approx(0.04), 0.5]]


def test_forget_keeps_a_motion_ending_exactly_at_before_and_needs_no_cache():
    finder = SpeakerFinder()
    for t in (1.0, 1.5, 2.0, 2.5):
        finder.add(1, t, t, span=0.1)
    finder.forget(2.0)  # before any scoring: nothing cached yet
    assert finder._motions(1)[:, 0].tolist() == [2.0, 2.5]


# -- SpeakerFinder.scores against the documented formula ------------------------------------------------------


def reference_score(finder: SpeakerFinder, times, values, start, end, motions):
    """docs/speaking.md, step 4, written out plainly: the envelope smoothed over `smooth` s (edges
    repeated), silence (FLOOR_DB) outside it; motions wholly inside the `window` centred on the
    segment; r(lag) of |E(t + lag) - E(t - span + lag)| / span with motion / span;
    (max r_near - median r_far) / max(std r_far, 0.1). None: too few motions."""
    times, values = np.asarray(times, float), np.asarray(values, float)
    hop = statistics.median(np.diff(times).tolist())
    width = max(1, round(finder.smooth / hop)) if hop > 0 else 1
    n = len(values)
    smoothed = np.array([np.mean([values[min(max(k, 0), n - 1)] for k in range(i - width // 2, i - width // 2 + width)])
                         for i in range(n)])

    def level(t):
        return np.interp(t, times, smoothed, left=FLOOR_DB, right=FLOOR_DB)

    middle = (start + end) / 2
    lo, hi = middle - finder.window / 2, middle + finder.window / 2
    kept = [(t, s, m) for t, s, m in motions if lo - 1e-9 <= t - s and t <= hi]
    if len(kept) < finder.min_samples:
        return None

    ends, spans, moved = (np.array(column) for column in zip(*kept))

    def r(lag):
        x = (np.abs(level(ends + lag) - level(ends - spans + lag)) / spans).tolist()
        y = (moved / spans).tolist()
        mx, my = statistics.fmean(x), statistics.fmean(y)
        sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
        sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y)
        return sxy / math.sqrt(sxx * syy) if sxx * syy > 1e-24 else 0.0

    steps = round(finder.max_lag / hop) if hop > 0 else 0
    near = [r(k * hop) for k in range(-steps, steps + 1)]
    far = [0.5 + 0.05 * k for k in range(21)]
    null = [r(-f) for f in far] + [r(f) for f in far]
    return (max(near) - statistics.median(null)) / max(statistics.pstdev(null), 0.1)


def synthetic_talk(seed: int = 0, seconds: float = 8.0):
    """An envelope (10 ms hops, loud at both ends: silence outside it is not its edge value) and
    mouth tracks whose motion follows its change at several offsets, on uneven intervals."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 100)
    walk = np.convolve(rng.standard_normal(n + 20), np.ones(15) / 15, mode="same")[10:n + 10]
    values = np.clip(-30 + 25 * walk, -75, -5)
    times = 0.003 + 0.01 * np.arange(n)  # off the motion and lag grids: no time lands exactly on its edges
    tracks = {}
    for track, lag in enumerate((0.0, -0.05, 0.1, 0.13, 0.7, None)):
        t, out = 0.0, []
        while True:
            span = float(rng.choice([0.04, 0.08]))
            if t + span > seconds:
                break
            t = round(t + span, 2)
            if lag is None:
                motion = float(rng.uniform(0, 5))
            else:
                change = abs(np.interp(t + lag, times, values) - np.interp(t - span + lag, times, values))
                motion = float(change * (0.5 + rng.uniform(0, 1)) + rng.uniform(0, 0.5))
            out.append((t, span, motion))
        tracks[track] = out
    return times, values, tracks


@pytest.fixture(scope="module")
def talk():
    return synthetic_talk()


@pytest.mark.parametrize("options", [{}, {"smooth": 0.02}, {"smooth": 0.2}, {"smooth": 0.0, "max_lag": 0.0}, {"window": 2.5},
                                     {"max_lag": 0.15, "min_samples": 20}])
def test_scores_follow_the_documented_formula(talk, options):
    times, values, tracks = talk
    finder = SpeakerFinder(**options)
    for track, motions in tracks.items():
        for t, span, motion in motions:
            finder.add(track, t, motion, span=span)
    for start, end in ((0.2, 1.0), (3.0, 4.5), (6.8, 7.9)):
        scores = finder.scores(times, values, start, end, list(tracks))
        expected = {track: reference_score(finder, times, values, start, end, motions)
                    for track, motions in tracks.items()}
        assert scores == pytest.approx({k: v for k, v in expected.items() if v is not None}, rel=1e-9, abs=1e-9)


def test_a_mouth_in_sync_outscores_the_others_and_speaks(talk):
    times, values, tracks = talk
    finder = SpeakerFinder()
    for track, motions in tracks.items():
        for t, span, motion in motions:
            finder.add(track, t, motion, span=span)
    speaker, scores = finder.speaker(times, values, 3.0, 4.0, [0, 4, 5])
    assert speaker == 0 and scores[0] >= 4.0 > max(scores[4], scores[5])


def test_candidates_without_enough_motions_are_skipped_not_the_end():
    times, values, tracks = synthetic_talk(seed=1)
    finder = SpeakerFinder()
    for t, span, motion in tracks[0]:
        finder.add(0, t, motion, span=span)
    for t in (3.0, 3.04):
        finder.add(9, t, 1.0, span=0.04)  # 2 motions only
    assert set(finder.scores(times, values, 3.0, 4.0, [8, 9, 0])) == {0}  # 8: none at all


def test_the_window_counts_motions_wholly_inside_it_both_ends_included():
    times, values, _ = synthetic_talk(seed=2)
    # segment 3-4 s, window 4 s: 1.5 to 5.5 s
    inside = [(1.54, 0.04)] + [(2.0 + 0.25 * k, 0.08) for k in range(13)] + [(5.5, 0.04)]
    straddling, outside = [(1.52, 0.04)], [(5.54, 0.04)]
    for min_samples, expected in ((15, {1}), (16, set())):
        finder = SpeakerFinder(min_samples=min_samples)
        rng = np.random.default_rng(min_samples)
        for t, span in sorted(inside + straddling + outside):
            finder.add(1, t, float(rng.uniform(0, 3)), span=span)
        assert set(finder.scores(times, values, 3.0, 4.0, [1])) == expected


def test_three_envelope_values_are_enough_to_score():
    finder = SpeakerFinder(min_samples=3)
    for k, motion in enumerate((1.0, 3.0, 2.0, 5.0)):
        finder.add(1, 1.0 + 0.2 * k, motion, span=0.2)
    assert set(finder.scores(np.array([0.5, 1.5, 2.5]), np.array([-60.0, -20.0, -50.0]), 1.0, 2.0, [1])) == {1}
    assert finder.scores(np.array([0.5, 1.5]), np.array([-60.0, -20.0]), 1.0, 2.0, [1]) == {}


def test_an_envelope_with_repeated_times_is_scored_without_smoothing_or_lag_search():
    times, values, tracks = synthetic_talk(seed=3)
    twice_t, twice_v = np.repeat(times, 3), np.repeat(values, 3)  # median step 0
    finder = SpeakerFinder()
    for t, span, motion in tracks[0]:
        finder.add(0, t, motion, span=span)
    score = finder.scores(twice_t, twice_v, 3.0, 4.0, [0])[0]
    assert score == pytest.approx(reference_score(finder, twice_t, twice_v, 3.0, 4.0, tracks[0]), rel=1e-9)
