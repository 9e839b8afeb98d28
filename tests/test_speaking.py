"""Who is speaking (emofuse.speaking): mouth patches, motion, the envelope, SpeakerFinder."""
import math
import sys

import cv2
import numpy as np
import pytest

from emofuse.speaking import (FLOOR_DB, MOUTH_REGION, PATCH_SIZE, MouthRecorder, SpeakerFinder, mouth_motion,
                              mouth_patch, speech_envelope, steady_box)
from emofuse.types import FaceBox

from .conftest import REPO, SHARED_DATA

RATE, FPS = 16000, 25.0
BOX = FaceBox(20, 10, 80, 80)


def syllables(seconds: float, seed: int = 0) -> np.ndarray:
    """How open a synthetic mouth is (0..1), 100 values a second: bursts of 0.1-0.3 s, random gaps."""
    rng = np.random.default_rng(seed)
    out, t = np.zeros(int(seconds * 100)), 0.0
    while t < seconds:
        length = rng.uniform(0.1, 0.3)
        a, b = int(t * 100), int((t + length) * 100)
        burst = np.sin(np.linspace(0, np.pi, max(1, b - a))) * rng.uniform(0.5, 1.0)
        out[a:b] = burst[: len(out[a:b])]
        t += length + rng.uniform(0.05, 0.35)
    return out


def tone(openness: np.ndarray) -> np.ndarray:
    """A 220 Hz tone whose amplitude follows `openness` (100 values a second), over a little noise."""
    t = np.arange(int(len(openness) / 100 * RATE)) / RATE
    noise = 0.01 * np.random.default_rng(1).standard_normal(t.size)
    amplitude = 0.5 * np.interp(t, np.arange(len(openness)) / 100, openness)
    return (amplitude * np.sin(2 * np.pi * 220 * t) + noise).astype(np.float32)


def face_frame(opening: float) -> np.ndarray:
    """A 120x120 grey frame: a light face in BOX with a dark mouth `opening` (0..1) open."""
    frame = np.full((120, 120, 3), 40, np.uint8)
    frame[BOX.y:BOX.y + BOX.height, BOX.x:BOX.x + BOX.width] = 190
    centre = (BOX.x + BOX.width // 2, BOX.y + int(0.8 * BOX.height))
    cv2.ellipse(frame, centre, (14, 1 + int(round(8 * opening))), 0, 0, 360, (30, 30, 30), -1)
    return frame


def feed(finder: SpeakerFinder, track: int, openness: np.ndarray, delay: float = 0.0, steps=(1,)) -> None:
    """Mouth motion of a face whose mouth follows `openness` `delay` seconds late, on frames
    `steps` apart in turn (1: every frame)."""
    previous, i, n = None, 0, 0
    while i < int(len(openness) / 100 * FPS):
        t = i / FPS
        k = int(round((t - delay) * 100))
        patch = mouth_patch(face_frame(openness[k] if 0 <= k < len(openness) else 0.0), BOX)
        if previous is not None:
            finder.add(track, t, mouth_motion(previous, patch))
        previous = patch
        i, n = i + steps[n % len(steps)], n + 1


def envelope_of(samples: np.ndarray, hop: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    env = speech_envelope(samples, RATE, hop)
    return hop * np.arange(env.size), env


# -- mouth patches ------------------------------------------------------------------------------

def test_mouth_patch_is_grey_float_of_the_lower_face_and_ignores_channel_order():
    frame = np.zeros((120, 120, 3), np.uint8)
    left, top, right, bottom = MOUTH_REGION
    y_mouth = BOX.y + int((top + bottom) / 2 * BOX.height)
    frame[y_mouth:, :, 0] = 240  # only the lower part, in one channel
    patch = mouth_patch(frame, BOX)
    assert patch.shape == (PATCH_SIZE[1], PATCH_SIZE[0]) and patch.dtype == np.float32
    assert patch[0].mean() == pytest.approx(0.0) and patch[-1].mean() == pytest.approx(80.0)  # 240 / 3
    assert np.array_equal(mouth_patch(frame[..., ::-1].copy(), BOX), patch)
    assert mouth_patch(frame[..., 0], BOX, size=(10, 6)).shape == (6, 10)
    upper = FaceBox(BOX.x, BOX.y - 60, BOX.width, BOX.height)  # its mouth region is above y_mouth
    assert mouth_patch(frame, upper).max() == 0.0


def test_mouth_patch_at_the_frame_border_repeats_the_edge():
    frame = np.zeros((100, 100, 3), np.uint8)
    frame[:, 0] = 200  # the left column
    inside = FaceBox(0, 20, 40, 40)
    outside = FaceBox(-40, 20, 40 + 40, 40)  # its mouth region starts 22 px left of the frame
    assert mouth_patch(frame, inside)[:, 0].mean() < 200
    patch = mouth_patch(frame, outside)
    assert patch.shape == (PATCH_SIZE[1], PATCH_SIZE[0])
    assert np.allclose(patch[:, :5], 200)  # the left edge repeated
    low = FaceBox(10, 70, 40, 40)  # mouth region rows 95-110: past the bottom edge, the last row repeated
    frame[-1] = 90
    assert np.allclose(mouth_patch(frame, low)[-1, 2:-2], 90)
    gone = FaceBox(150, 150, 40, 40)
    assert not mouth_patch(frame, gone).any()


def test_mouth_motion_is_mean_absolute_difference():
    a = np.zeros((4, 4), np.float32)
    b = a.copy()
    b[0] = 8.0
    assert mouth_motion(a, a) == 0.0
    assert mouth_motion(a, b) == pytest.approx(2.0) == mouth_motion(b, a)


def test_steady_box_keeps_the_old_box_within_tolerance_only():
    old = FaceBox(100, 100, 100, 100)
    assert steady_box(None, old) is old
    assert steady_box(old, FaceBox(110, 90, 110, 90), tolerance=0.1) is old  # 10 px = 0.1 x 100
    moved = FaceBox(111, 100, 100, 100)
    assert steady_box(old, moved, tolerance=0.1) is moved
    grown = FaceBox(100, 100, 100, 111)
    assert steady_box(old, grown, tolerance=0.1) is grown


def test_mouth_recorder_ignores_box_jitter_and_measures_nothing_across_a_gap():
    rng = np.random.default_rng(3)
    frame = np.clip(face_frame(0.5) + rng.integers(0, 60, (120, 120, 3)), 0, 255).astype(np.uint8)  # texture
    jitter = [FaceBox(BOX.x + dx, BOX.y + dy, BOX.width, BOX.height) for dx, dy in ((0, 0), (3, -2), (-4, 3), (2, 4))]
    steady, loose = SpeakerFinder(min_samples=3), SpeakerFinder(min_samples=3)
    for recorder in (MouthRecorder(steady), MouthRecorder(loose, tolerance=0.0)):
        for i, box in enumerate(jitter):
            recorder.see(i * 0.04, 1, box, frame)
    assert steady._motions(1)[:, 2].tolist() == [0.0, 0.0, 0.0]
    assert np.all(loose._motions(1)[:, 2] > 1.0)
    recorder = MouthRecorder(steady)
    recorder.see(1.0, 2, BOX, frame)
    recorder.lost(2)
    recorder.see(1.5, 2, BOX, face_frame(1.0))
    recorder.see(1.54, 2, BOX, face_frame(0.0))
    assert steady._motions(2)[:, :2].tolist() == [[1.54, pytest.approx(0.04)]]


# -- the envelope --------------------------------------------------------------------------------

def test_speech_envelope_is_log_energy_per_hop_with_a_floor():
    t = np.arange(RATE) / RATE
    sine = (0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)  # RMS 0.5 / sqrt(2)
    samples = np.concatenate([sine, np.zeros(RATE // 2 + 37, np.float32)])
    env = speech_envelope(samples, RATE, hop=0.01)
    assert env.size == len(samples) // 160
    assert env[:100] == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.05)
    assert np.all(env[100:] == FLOOR_DB)
    assert speech_envelope(samples[:100], RATE, hop=0.01).size == 0


# -- SpeakerFinder -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def talk():
    """8 s of a synthetic mouth and its tone; finder with the in-sync face (1), a 0.4 s late one (2)
    and one 0.06 s early (3: within the lags tried)."""
    openness = syllables(8.0)
    finder = SpeakerFinder()
    feed(finder, 1, openness)
    feed(finder, 2, openness, delay=0.4)
    feed(finder, 3, openness, delay=-0.06)
    return finder, envelope_of(tone(openness))


def test_the_in_sync_mouth_is_chosen_over_a_delayed_one(talk):
    finder, (times, env) = talk
    for start in (2.0, 3.0, 4.0, 5.0):
        speaker, scores = finder.speaker(times, env, start, start + 1, [1, 2])
        assert speaker == 1, scores
        assert scores[1] > finder.min_score > scores[2]
    # a mouth slightly ahead of the voice (lip movements lead sound) still matches
    speaker, scores = finder.speaker(times, env, 3.0, 4.0, [2, 3])
    assert speaker == 3 and scores[3] > scores[2]


def test_irregularly_spaced_mouth_samples_compare_as_rates():
    openness = syllables(8.0)
    times, env = envelope_of(tone(openness))
    finder = SpeakerFinder()
    feed(finder, 1, openness, steps=(1, 3))
    feed(finder, 2, openness, delay=0.4, steps=(1, 3))
    speaker, scores = finder.speaker(times, env, 3.0, 4.0, [1, 2])
    assert speaker == 1 and scores[2] < finder.min_score, scores
    # a mouth moving at one steady rate, sampled at uneven intervals: its motions follow the
    # intervals, as the envelope's changes do, but that is no synchrony
    steady, rng, t = SpeakerFinder(), np.random.default_rng(0), 0.0
    while t < 8.0:
        span = float(rng.choice([0.04, 0.08, 0.12]))
        t += span
        steady.add(9, t, 3.0 * span, span=span)
    assert [steady.scores(times, env, s, s + 1, [9])[9] for s in (2.0, 5.0)] == pytest.approx([0.0, 0.0], abs=1e-6)


def test_a_score_just_under_the_threshold_is_nobody(talk):
    finder, (times, env) = talk
    score = finder.scores(times, env, 3.0, 4.0, [1])[1]
    below, at = SpeakerFinder(min_score=score + 1e-6), SpeakerFinder(min_score=score)
    for f in (below, at):
        f._samples, f._last = finder._samples, finder._last
    assert below.speaker(times, env, 3.0, 4.0, [1])[0] is None
    assert at.speaker(times, env, 3.0, 4.0, [1])[0] == 1


def test_no_motion_or_no_sound_is_nobody(talk):
    _, (times, env) = talk
    still = SpeakerFinder()
    feed(still, 7, np.zeros(800))
    assert still.speaker(times, env, 3.0, 4.0, [7]) == (None, {7: 0.0})
    finder = talk[0]
    silent = np.full_like(env, FLOOR_DB)
    speaker, scores = finder.speaker(times, silent, 3.0, 4.0, [1, 2])
    assert speaker is None and set(scores.values()) == {0.0}
    assert finder.speaker(times, env, 3.0, 4.0, []) == (None, {})
    assert finder.speaker(times[:2], env[:2], 3.0, 4.0, [1]) == (None, {})


def test_too_few_motions_in_the_window_give_no_score():
    finder = SpeakerFinder(window=2.0, min_samples=10)
    for i in range(10):  # 9 motions (the first has no span), in 2.0-2.4 s
        finder.add(5, 2.0 + i * 0.04, float(i % 3))
    times, env = envelope_of(tone(syllables(6.0)))
    assert finder.scores(times, env, 2.0, 3.0, [5]) == {}
    finder.add(5, 2.4, 1.0)
    assert set(finder.scores(times, env, 2.0, 3.0, [5])) == {5}


def test_add_spans_order_and_forget():
    finder = SpeakerFinder(min_samples=3)
    finder.add(1, 1.0, 0.5)  # no span and nothing before: not kept
    finder.add(1, 1.04, 0.5)
    finder.add(1, 2.0, 0.7, span=0.04)  # a pair: motion between 1.96 and 2.0
    assert finder._motions(1).tolist() == [[1.04, pytest.approx(0.04), 0.5], [2.0, 0.04, 0.7]]
    with pytest.raises(ValueError, match="after one at 2.000"):
        finder.add(1, 1.5, 0.1)
    finder.add(1, 2.1, float("nan"))  # not a number: skipped
    finder.forget(1.5)
    assert finder._motions(1)[:, 0].tolist() == [2.0]
    with pytest.raises(ValueError):
        SpeakerFinder(min_samples=2)


# -- real talking faces ---------------------------------------------------------------------------

@pytest.mark.data
def test_crema_d_in_sync_face_wins_against_its_delayed_copy(tmp_path):
    """Side by side: a CREMA-D sequence in sync with its voice and the same 0.5 s late (both
    sides), Haar boxes at 4/s, mouths every 2nd frame: the in-sync face scores higher in nearly
    every speech segment and is named the speaker in most."""
    crema = SHARED_DATA / "crema-d"
    if not any(crema.glob("*.flv")):
        pytest.skip(f"CREMA-D clips not found in {crema}")
    sys.path.insert(0, str(REPO / "benchmarks"))
    import speaker_bench

    clips = speaker_bench.load_clips(crema)
    decided, ranked = [], []
    for comp in speaker_bench.compositions(clips, [speaker_bench.ORDERS[0]], cases=("delay0.5",)):
        path = speaker_bench.write(comp, tmp_path / f"{comp.name}.mp4")
        finders, times, env, _ = speaker_bench.attribute(path, ["every2"])
        segments = speaker_bench.speech_segments(comp.audio)
        assert len(segments) >= 5
        side = {0: "left", 1: "right", None: None}
        for a, b in segments:
            speaker, scores = finders["every2"].speaker(times, env, a, b, (0, 1))
            decided.append(side[speaker] == comp.speaker)
            ranked.append(scores[0 if comp.speaker == "left" else 1] > scores[1 if comp.speaker == "left" else 0])
    assert np.mean(ranked) >= 0.9, ranked
    assert np.mean(decided) > 0.6, decided
