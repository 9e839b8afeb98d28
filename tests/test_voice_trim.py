"""Trimming utterances for the voice model: by energy (the shipped model's) or by voice activity."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emofuse.plugins.ravdess_cnn import features
from emofuse.plugins.ravdess_cnn.features import trim_silence, trim_to_speech, trim_utterance

from .voice_helpers import write_ravdess


class FakeDetector:
    """Speech probabilities per 0.1 s hop: speech only in the hops given; counts its calls."""

    hop = 0.1

    def __init__(self, speech_hops=(), value: float = 0.9):
        self.speech_hops, self.value, self.calls = set(speech_hops), value, 0

    def speech(self, samples, rate):
        self.calls += 1
        n = int(np.ceil(len(samples) / (self.hop * rate)))
        return np.array([self.value if i in self.speech_hops else 0.1 for i in range(n)])


def test_trim_to_speech_keeps_first_to_last_speech_hop_and_a_margin():
    y = np.arange(1, 1001, dtype=np.float32)  # 1 s at 1 kHz, never silent
    detector = FakeDetector()
    detector.speech = lambda samples, rate: np.array([0, 0, 0.9, 0.2, 0.5, 0, 0, 0, 0, 0])  # 0.5 counts
    out = trim_to_speech(y, 1000, detector)
    # hops 2..4 are 0.2-0.5 s; 0.1 s margin either side: 0.1-0.6 s
    assert out[0] == 101 and out.size == 500


def test_trim_to_speech_without_speech_falls_back_to_the_energy_trim():
    rng = np.random.default_rng(0)
    y = np.concatenate([np.zeros(4000), 0.3 * rng.normal(size=8000), np.zeros(4000)]).astype(np.float32)
    np.testing.assert_array_equal(trim_to_speech(y, 16000, FakeDetector()), trim_silence(y, 16000))
    assert trim_to_speech(y, 16000, FakeDetector()).size < y.size
    silent = np.zeros(100, np.float32)
    assert trim_to_speech(silent, 16000, FakeDetector()).size == 100


def test_trim_utterance_picks_the_way(monkeypatch):
    detector = FakeDetector(speech_hops={3})
    monkeypatch.setattr(features, "_speech_detector", lambda: detector)
    y = np.random.default_rng(1).normal(size=16000).astype(np.float32)
    np.testing.assert_array_equal(trim_utterance(y, 16000, "energy"), trim_silence(y, 16000))
    assert detector.calls == 0
    assert trim_utterance(y, 16000, "vad").size == int(0.3 * 16000)  # hop 3 (0.3-0.4 s) + 0.1 s each side
    assert detector.calls == 1
    with pytest.raises(ValueError, match="trim must be one of energy, vad, got 'peak'"):
        trim_utterance(y, 16000, "peak")


def test_training_and_condition_features_follow_the_trim(tmp_path, monkeypatch):
    from emofuse.plugins.mfcc import MfccExtractor
    from emofuse.plugins.ravdess_cnn.condition_cache import condition_features
    from emofuse.plugins.ravdess_cnn.data import find_ravdess
    from emofuse.plugins.ravdess_cnn.train import training_features

    monkeypatch.setattr(features, "_speech_detector", lambda: FakeDetector(speech_hops={4, 5}))
    write_ravdess(tmp_path / "data", actors=(1,), emotions=(1, 2), seconds=1.2)
    files = find_ravdess(tmp_path / "data").files
    extractor = MfccExtractor()
    frames = {}
    for trim in ("energy", "vad"):
        every = training_features(files, extractor, "none", 0, tmp_path / "cache", trim=trim)
        frames[trim] = [len(x) for x in every["orig"]]
        noisy = condition_features(files, extractor, "white20", tmp_path / "cache", trim)
        frames[trim + " noise"] = [len(x) for x in noisy]
    # the synthetic voice is loud throughout: energy keeps ~1.2 s, speech hops 4-5 + margins 0.4 s
    assert all(n > 110 for n in frames["energy"] + frames["energy noise"])
    assert all(35 <= n <= 45 for n in frames["vad"] + frames["vad noise"])
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 4  # one cache entry per trim and kind


@pytest.mark.slow
def test_a_model_trained_with_vad_trim_is_evaluated_with_it(tmp_path, monkeypatch, capsys):
    from emofuse.cli import main

    detector = FakeDetector(speech_hops=set(range(2, 9)))
    monkeypatch.setattr(features, "_speech_detector", lambda: detector)
    data, out = tmp_path / "ravdess", tmp_path / "voice.keras"
    write_ravdess(data, actors=(1, 2), emotions=(1, 3, 5), seconds=1.2)
    args = ["train", "voice", "--data", str(data), "--val-actors", "2", "--epochs", "1", "--members", "1", "--tiny",
            "--no-augment", "--trim", "vad", "--output", str(out), "--cache-dir", str(tmp_path / "cache"),
            "--threads", "1"]
    assert main(args) == 0
    assert json.loads(out.with_suffix(".json").read_text())["trim"] == "vad"
    trained_calls = detector.calls
    assert trained_calls == 6  # every file, once
    capsys.readouterr()
    assert main(["evaluate", "voice", "--data", str(data), "--model", str(out), "--json",
                 "--cache-dir", str(tmp_path / "fresh")]) == 0
    assert json.loads(capsys.readouterr().out)["trim"] == "vad"
    assert detector.calls == trained_calls + 6  # evaluation trimmed the same way
    with pytest.raises(SystemExit) as refused:  # argparse refuses other ways, naming the option
        main(args + ["--trim", "peak"])
    assert refused.value.code == 2 and "argument --trim: invalid choice: 'peak'" in capsys.readouterr().err
