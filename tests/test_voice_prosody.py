"""Prosody features beside the MFCCs (`emofuse train voice --features mfcc+prosody`)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emofuse.plugins.mfcc import MfccExtractor
from emofuse.plugins.ravdess_cnn.features import normalize
from emofuse.plugins.ravdess_cnn.prosody import (
    PROSODY_FEATURES,
    ProsodyMfccExtractor,
    extractor_from_spec,
    frame_energy_db,
    prosody_features,
    raw_columns,
    yin_track,
)

from .conftest import REPO
from .voice_helpers import voice, write_ravdess

RATE, HOP = 16000, 160


def harmonic(f0: np.ndarray, rate: int = RATE) -> np.ndarray:
    """A five-harmonic tone following the per-sample pitch `f0` (Hz)."""
    phase = 2 * np.pi * np.cumsum(f0) / rate
    return 0.3 * sum(np.sin(k * phase) / k for k in range(1, 6))


def frames_of(y: np.ndarray) -> int:
    return 1 + len(y) // HOP


@pytest.mark.parametrize("pitch", [90.0, 150.0, 220.0, 400.0])
def test_yin_finds_the_pitch_of_a_steady_tone(pitch):
    y = harmonic(np.full(RATE, pitch))
    f0, voicing = yin_track(y, RATE, HOP, frames_of(y))
    middle = slice(10, -10)
    np.testing.assert_allclose(f0[middle], pitch, rtol=0.01)
    assert voicing[middle].min() > 0.9


def test_log_f0_follows_a_glide_and_its_slope_is_in_octaves_per_100_ms():
    t = np.arange(RATE) / RATE
    y = harmonic(150 * 2 ** t)                 # one octave per second, 150 -> 300 Hz
    p = prosody_features(y, RATE, HOP, frames_of(y))
    assert p.shape == (frames_of(y), len(PROSODY_FEATURES)) and p.dtype == np.float32
    log_f0, voicing, energy, slope = p.T
    for frame in (20, 50, 80):                  # frame k is centred on k * 10 ms
        assert log_f0[frame] == pytest.approx(np.log2(150 * 2 ** (frame / 100) / 200), abs=0.02)
    assert np.median(slope[10:-10]) == pytest.approx(0.1, abs=0.01)
    assert energy.max() == 0.0 and voicing[10:-10].min() > 0.9


def test_silence_is_unvoiced_and_pitch_is_held_through_it():
    tone = harmonic(np.full(RATE // 2, 150.0))
    y = np.concatenate([np.zeros(RATE // 2), tone, np.zeros(RATE // 2)])
    log_f0, voicing, energy, slope = prosody_features(y, RATE, HOP, frames_of(y)).T
    assert voicing[:40].max() == 0.0 and voicing[-40:].max() == 0.0
    assert energy[:40].max() == pytest.approx(-3.0)          # floored at 60 dB under the loudest frame
    np.testing.assert_allclose(log_f0[:40], np.log2(150 / 200), atol=0.02)   # held from the voiced part
    np.testing.assert_allclose(log_f0[-40:], np.log2(150 / 200), atol=0.02)
    assert np.all(slope[:40] == 0) and np.all(slope[-40:] == 0)


def test_noise_is_not_voiced_and_all_silent_audio_gives_zeros():
    noise = np.random.default_rng(0).normal(0, 0.1, RATE)
    _, voicing = yin_track(noise, RATE, HOP, frames_of(noise))
    assert np.median(voicing) < 0.5
    p = prosody_features(np.zeros(RATE // 4), RATE, HOP, frames_of(np.zeros(RATE // 4)))
    assert np.all(p[:, [0, 1, 3]] == 0) and np.all(np.isfinite(p))


def test_energy_is_relative_to_the_loudest_frame():
    y = np.concatenate([np.full(RATE // 2, 0.1), np.full(RATE // 2, 0.01)])
    db = frame_energy_db(y, RATE, HOP, frames_of(y))
    assert db[10] == pytest.approx(0.0, abs=0.01) and db[-10] == pytest.approx(-20.0, abs=0.1)
    louder = frame_energy_db(10 * y, RATE, HOP, frames_of(y))
    np.testing.assert_allclose(louder, db, atol=1e-6)      # gain-free


def test_extractor_appends_prosody_to_the_mfcc_frames_at_any_rate():
    base = MfccExtractor()
    ex = ProsodyMfccExtractor()
    assert ex.n_features == 124 and ex.feature_spec["n_features"] == 124
    assert ex.feature_spec["prosody"]["features"] == list(PROSODY_FEATURES)
    y16 = voice(1.0, 16000, pitch=140.0)
    out = ex.extract(y16, 16000)
    np.testing.assert_array_equal(out[:, :120], base.extract(y16, 16000))
    assert np.median(out[10:-10, 120]) == pytest.approx(np.log2(140 / 200), abs=0.03)
    other = ex.extract(voice(1.0, 48000, pitch=140.0), 48000)
    assert other.shape == out.shape
    np.testing.assert_allclose(np.median(other[10:-10, 120]), np.median(out[10:-10, 120]), atol=0.02)


def test_spec_round_trip_and_raw_columns():
    spec = json.loads(json.dumps(ProsodyMfccExtractor().feature_spec))
    again = extractor_from_spec(spec)
    assert isinstance(again, ProsodyMfccExtractor) and again.feature_spec == spec
    assert raw_columns(spec) == 4
    plain = MfccExtractor().feature_spec
    assert isinstance(extractor_from_spec(plain), MfccExtractor) and raw_columns(plain) == 0


def test_normalize_leaves_the_raw_columns_alone():
    x = np.random.default_rng(1).normal(3, 2, size=(60, 6)).astype(np.float32)
    out = normalize(x, raw=2)
    np.testing.assert_allclose(out[:, :4], normalize(x[:, :4]))
    np.testing.assert_array_equal(out[:, 4:], x[:, 4:])
    np.testing.assert_array_equal(normalize(x, raw=0), normalize(x))


def test_train_refuses_an_unknown_feature_set(tmp_path):
    from emofuse.errors import DatasetError
    from emofuse.plugins.ravdess_cnn.train import extractor_for_training

    with pytest.raises(DatasetError, match="unknown feature set 'pitch'"):
        extractor_for_training("pitch")
    assert isinstance(extractor_for_training("mfcc+prosody"), ProsodyMfccExtractor)
    assert type(extractor_for_training()) is MfccExtractor


@pytest.mark.slow
def test_a_prosody_model_trains_and_evaluates_with_its_features(tmp_path):
    from emofuse.cli import main
    from emofuse.plugins.ravdess_cnn.evaluate import evaluate_voice_model

    data = tmp_path / "ravdess"
    write_ravdess(data, actors=(1, 2, 3))
    out = tmp_path / "model" / "voice.keras"
    assert main(["train", "voice", "--data", str(data), "--val-actors", "3", "--epochs", "1", "--members", "1",
                 "--tiny", "--no-augment", "--features", "mfcc+prosody", "--output", str(out),
                 "--cache-dir", str(tmp_path / "cache"), "--threads", "1"]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["features"] == "mfcc+prosody" and meta["feature_spec"]["n_features"] == 124
    assert "prosody features raw" in meta["normalisation"]
    again = evaluate_voice_model(data, actors=[3], model=out, cache_dir=tmp_path / "cache")
    assert again["accuracy"] == pytest.approx(meta["val_accuracy"], abs=1e-9)
    from emofuse.errors import IncompatibleComponentsError
    from emofuse.runner import AnalysisOptions, Pipeline

    chosen = {"audio_classifier": {"model": str(out), "backend": "keras"}}
    pipeline = Pipeline(AnalysisOptions(component_options=chosen))     # audio-features=auto
    assert type(pipeline.audio_features) is ProsodyMfccExtractor
    scores = pipeline.audio_classifier.classify(pipeline.audio_features.extract(voice(2.0, RATE), RATE))
    assert scores is not None and set(scores.raw) == set(meta["labels"])
    with pytest.raises(IncompatibleComponentsError, match="use the 'mfcc-prosody' extractor"):
        Pipeline(AnalysisOptions(audio_features="mfcc", component_options=chosen)).audio_classifier


def _model_with_spec(folder, spec) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "m.json").write_text(json.dumps({"feature_spec": spec}))
    return str(folder / "m.keras")


def test_auto_audio_features_follow_the_models_spec(tmp_path):
    from emofuse.plugins.ravdess_cnn import default_extractor_name
    from emofuse.runner import AnalysisOptions

    prosody = _model_with_spec(tmp_path / "p", ProsodyMfccExtractor().feature_spec)
    plain = _model_with_spec(tmp_path / "m", MfccExtractor().feature_spec)
    assert default_extractor_name("ravdess-cnn", {"model": prosody}) == "mfcc-prosody"
    assert default_extractor_name("ravdess-cnn", {"model": plain}) == "mfcc"
    assert default_extractor_name("my-classifier", {"model": prosody}) == "mfcc"
    assert default_extractor_name("ravdess-cnn", {"model": str(tmp_path / "none.keras")}) == "mfcc"
    shipped = json.loads((REPO / "plugins" / "ravdess_cnn" / "ravdess_cnn.json").read_text())["feature_spec"]
    assert default_extractor_name("ravdess-cnn", {}) == ("mfcc-prosody" if "prosody" in shipped else "mfcc")
    options = AnalysisOptions(component_options={"audio_classifier": {"model": prosody}})
    assert options.audio_features == "auto" and options.name_of("audio_features") == "mfcc-prosody"
    assert AnalysisOptions(audio_features="mfcc", component_options=options.component_options).name_of(
        "audio_features") == "mfcc"


def test_mfcc_prosody_is_a_registered_extractor_with_the_mfcc_options():
    from emofuse.plugin_manager import get_components

    extractors = get_components()["audio_features"]
    made = extractors.create("mfcc-prosody", n_mfcc=20)
    assert type(made) is ProsodyMfccExtractor and made.n_features == 20 * 3 + 4
    assert {o.name for o in extractors.options("mfcc-prosody")} == {o.name for o in extractors.options("mfcc")}
