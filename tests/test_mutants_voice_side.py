"""The voice side of a segment (emofuse.voice_side) and the loudness rule (emofuse.audio.rms_db) on
tiny synthetic soundtracks (issue 19: pins the behaviour at the boundaries mutation testing found
unchecked)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from emofuse import EmotionScores
from emofuse.audio import is_silent, rms_db
from emofuse.voice_side import VoiceSide, _takes_start

RATE = 16000
SCORES = EmotionScores(tuple(np.arange(1, 8) / 28.0))


def guard(kind, errors, call):
    """Records a failure as 'kind: message' in `errors` instead of raising."""
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - a test double of the runner's guard
        errors.append(f"{kind}: {error}")
        return None


def side(samples, vad=None, silence_db=-45.0, min_window=1.0, **kwargs):
    samples = np.asarray(samples, np.float32)
    return VoiceSide(lambda a, b: samples[int(round(a * RATE)): int(round(b * RATE))], RATE, samples.size / RATE,
                     min_window, vad, lambda s, rate, errors: SCORES, guard, silence_db, **kwargs)


class Broken:
    def speech(self, samples, rate):
        raise RuntimeError("boom")


# -- rms_db and is_silent ----------------------------------------------------------------------------


def test_rms_db_of_nothing_is_minus_infinity_and_of_one_sample_its_level():
    assert rms_db(np.zeros(0)) == -math.inf
    assert rms_db(np.array([0.5])) == pytest.approx(20 * math.log10(0.5))


def test_rms_db_measures_whole_25_ms_frames_only():
    # 500 samples: one whole 400-sample frame (0.1), the rest (loud) is not a frame
    x = np.concatenate([np.full(400, 0.1), np.ones(100)])
    assert rms_db(x) == pytest.approx(-20.0, abs=1e-6)


def test_rms_db_is_the_90th_percentile_of_the_frame_levels():
    # 11 frames at 0.0, 0.1, ..., 1.0: the 90th percentile of their RMS is 0.9
    x = np.concatenate([np.full(400, k / 10) for k in range(11)])
    assert rms_db(x) == pytest.approx(20 * math.log10(0.9), abs=1e-6)


def test_a_window_exactly_at_the_threshold_is_not_silent():
    x = np.full(800, 0.1)
    assert not is_silent(x, threshold_db=rms_db(x))
    assert is_silent(x, threshold_db=rms_db(x) + 1e-9)


# -- speech share ------------------------------------------------------------------------------------


def test_takes_start_is_false_for_what_has_no_signature():
    assert _takes_start(5) is False
    assert _takes_start(lambda samples, rate, start=None: None) is True


def test_without_a_detector_any_sound_is_all_speech_even_one_sample():
    assert side(np.zeros(RATE)).speech(np.array([0.5], np.float32), []) == 1.0
    assert side(np.zeros(RATE)).speech(np.zeros(0, np.float32), []) == 0.0


def test_the_sides_own_silence_threshold_is_used():
    quiet = np.full(800, 10 ** (-50 / 20), np.float32)  # -50 dBFS
    assert side(np.zeros(RATE), silence_db=-60.0).speech(quiet, []) == 1.0
    assert side(np.zeros(RATE), silence_db=-45.0).speech(quiet, []) == 0.0


def test_a_failing_detector_is_recorded_and_gives_no_speech_share():
    errors: list[str] = []
    loud = np.full(RATE, 0.1, np.float32)
    assert side(loud, vad=Broken()).speech(loud, errors) is None
    assert errors == ["voice_activity: boom"]
    errors.clear()
    evidence, speech, _ = side(loud, vad=Broken()).evidence(0.0, 1.0, errors)
    assert evidence is None and speech == 0.0 and errors == ["voice_activity: boom"]


# -- evidence ----------------------------------------------------------------------------------------


def test_evidence_level_is_rounded_to_a_hundredth_of_a_db_and_window_to_a_millisecond():
    x = np.full(2 * RATE, 0.123, np.float32)  # 20 log10(0.123) = -18.2019... dBFS
    evidence, speech, own = side(x, min_window=1.23456).evidence(0.5, 1.0, [])
    assert speech == 1.0 and own.size == RATE // 2
    assert evidence.level_db == -18.2 and evidence.window == 1.235
    assert evidence.sample_rate == 0  # unknown source rate
    assert side(x, source_rate=8000).evidence(0.5, 1.0, [])[0].sample_rate == 8000


def test_evidence_level_that_cannot_be_measured_is_minus_120_db():
    x = np.full(2 * RATE, np.nan, np.float32)  # not silent (nothing is under the threshold), not a level
    evidence, _, _ = side(x).evidence(0.0, 1.0, [])
    assert evidence.level_db == -120.0
