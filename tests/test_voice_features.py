"""The `mfcc` extractor: shapes, spec, resampling and channel handling, cheap import."""
from __future__ import annotations

import numpy as np
import pytest

from emofuse.plugins.mfcc import MfccExtractor, specs_differ
from emofuse.plugins.ravdess_cnn.features import fit_length, normalize, split_windows

from .voice_helpers import voice


def test_mfcc_shape_and_spec():
    ex = MfccExtractor()
    out = ex.extract(voice(1.0, 16000), 16000)
    assert out.dtype == np.float32 and out.ndim == 2
    assert out.shape == (101, 120)          # 1 s at 10 ms hops (centred frames), 40 MFCC x 3
    assert ex.feature_spec["kind"] == "mfcc" and ex.feature_spec["n_features"] == 120
    assert ex.feature_spec["sample_rate"] == 16000 and ex.feature_spec["hop_length"] == 160
    assert np.isfinite(out).all()


def test_logmel_kind_and_bad_options():
    ex = MfccExtractor(kind="logmel", n_mels=48)
    assert ex.extract(voice(0.5, 16000), 16000).shape == (51, 48)
    assert ex.feature_spec["n_features"] == 48
    with pytest.raises(ValueError, match="unknown feature kind"):
        MfccExtractor(kind="chroma")


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
def test_other_rates_are_resampled_to_16k(rate):
    ex = MfccExtractor()
    reference = ex.extract(voice(1.0, 16000), 16000)
    other = ex.extract(voice(1.0, rate), rate)
    assert other.shape == reference.shape
    # the same sound at another rate gives nearly the same static MFCCs
    c_ref, c_other = reference[5:-5, 1:13], other[5:-5, 1:13]
    corr = np.corrcoef(c_ref.ravel(), c_other.ravel())[0, 1]
    assert corr > 0.9


def test_stereo_is_mixed_down_and_short_input_gives_one_frame():
    ex = MfccExtractor()
    y = voice(0.5, 16000)
    stereo = ex.extract(np.stack([y, y], axis=1), 16000)
    np.testing.assert_allclose(stereo, ex.extract(y, 16000), atol=1e-4)
    assert ex.extract(np.zeros(10, np.float32), 16000).shape[0] >= 1
    assert ex.extract(np.zeros(0, np.float32), 16000).shape[1] == 120


def test_specs_differ_names_the_settings():
    a, b = MfccExtractor().feature_spec, MfccExtractor(n_mfcc=20).feature_spec
    diffs = specs_differ(a, b)
    assert any(d.startswith("n_mfcc: 40 != 20") for d in diffs)
    assert specs_differ(a, dict(a)) == []


def test_normalise_and_windows():
    x = np.random.default_rng(0).normal(3, 2, size=(50, 4)).astype(np.float32)
    n = normalize(x)
    np.testing.assert_allclose(n.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(n.std(0), 1, atol=1e-2)
    padded = fit_length(x, 120)
    assert padded.shape == (120, 4)
    np.testing.assert_array_equal(padded[50:100], x)     # repeat padding
    assert split_windows(x, 120).shape == (1, 120, 4)
    long = np.arange(700 * 2, dtype=np.float32).reshape(700, 2)
    w = split_windows(long, 300)
    assert w.shape[1:] == (300, 2) and len(w) == 4
    assert w[0, 0, 0] == long[0, 0] and w[-1, -1, 0] == long[-1, 0]   # first and last frames covered


def test_from_spec_rebuilds_the_same_extractor():
    for ex in (MfccExtractor(n_mfcc=20, deltas=1), MfccExtractor(kind="logmel", n_mels=40, hop_length=320)):
        assert MfccExtractor.from_spec(ex.feature_spec).feature_spec == ex.feature_spec


@pytest.mark.parametrize("options", [{}, {"n_mels": 40, "fmin": 50.0, "fmax": 7000.0}, {"n_fft": 1024, "win_length": 800}])
def test_mel_power_matches_librosa_melspectrogram(options):
    import librosa

    from emofuse.plugins.mfcc import mel_power

    spec = MfccExtractor(kind="logmel", **options).feature_spec
    y = voice(1.3, spec["sample_rate"]).astype(np.float32)
    ours = mel_power(y, spec)
    reference = librosa.feature.melspectrogram(
        y=y, sr=spec["sample_rate"], n_fft=spec["n_fft"], win_length=spec["win_length"],
        hop_length=spec["hop_length"], window="hann", n_mels=spec["n_mels"], fmin=spec["fmin"],
        fmax=spec["fmax"], power=2.0)
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-6 * reference.max())


def librosa_features(y: np.ndarray, spec: dict) -> np.ndarray:
    """The features as librosa computes them (what the shipped voice model was trained on)."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=y, sr=spec["sample_rate"], n_fft=spec["n_fft"], win_length=spec["win_length"],
        hop_length=spec["hop_length"], window="hann", n_mels=spec["n_mels"], fmin=spec["fmin"],
        fmax=spec["fmax"], power=2.0, pad_mode="constant")
    db = librosa.power_to_db(mel, **spec["power_to_db"])
    if spec["kind"] == "logmel":
        return db.T
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=spec["n_mfcc"], dct_type=2, norm="ortho")
    parts = [mfcc] + [librosa.feature.delta(mfcc, width=spec["delta_width"], order=o, mode="nearest")
                      for o in range(1, spec["deltas"] + 1)]
    return np.concatenate(parts).T


@pytest.mark.parametrize("options", [{}, {"deltas": 1, "n_mfcc": 20, "n_mels": 40, "fmin": 50.0},
                                     {"kind": "logmel", "n_fft": 1024, "win_length": 800, "hop_length": 320}])
def test_features_match_librosa(options):
    extractor = MfccExtractor(**options)
    y = voice(1.7, 16000).astype(np.float32)
    ours = extractor.extract(y, 16000)
    reference = librosa_features(y, extractor.feature_spec)
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, atol=2e-3 * np.abs(reference).max())


@pytest.mark.parametrize("order", [1, 2])
def test_delta_matches_librosa_at_the_edges_too(order):
    import librosa

    from emofuse.plugins.spectral import delta

    x = np.random.default_rng(order).standard_normal((5, 30)).astype(np.float32)
    np.testing.assert_allclose(delta(x, 9, order), librosa.feature.delta(x, width=9, order=order, mode="nearest"),
                               atol=1e-5)
    with pytest.raises(ValueError, match="odd"):
        delta(x, 4, order)


def test_extracting_features_does_not_import_librosa():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from emofuse.plugins.mfcc import MfccExtractor; "
            "MfccExtractor().extract(np.ones(16000, np.float32) * 0.1, 16000); "
            "print('librosa' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
