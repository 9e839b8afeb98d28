"""Vocal tract length perturbation: the frequency warp, the warped mel bands, the `vtlpF` training
copies and `emofuse train voice --vtlp`."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emofuse.plugins.mfcc import MfccExtractor, mel_power
from emofuse.plugins.spectral import VTLP_BOUNDARY_HZ, mel_filter_bank, vtlp_warp

from .voice_helpers import voice, write_ravdess

NYQUIST = 8000.0


@pytest.mark.parametrize("alpha", [0.9, 1.1])
def test_the_warp_scales_below_the_knee_and_keeps_both_ends(alpha):
    hz = np.linspace(0, NYQUIST, 1601)
    warped = vtlp_warp(hz, alpha, NYQUIST)
    knee = VTLP_BOUNDARY_HZ * min(alpha, 1.0) / alpha
    below = hz <= knee
    np.testing.assert_allclose(warped[below], alpha * hz[below])
    assert warped[0] == 0.0 and warped[-1] == pytest.approx(NYQUIST)
    assert np.all(np.diff(warped) > 0)                                       # increasing: no band folds
    assert vtlp_warp([knee], alpha, NYQUIST)[0] == pytest.approx(VTLP_BOUNDARY_HZ * min(alpha, 1.0))
    # continuous at the knee: the straight line above it starts where the scaling ends
    step = vtlp_warp([knee + 1e-6], alpha, NYQUIST)[0] - vtlp_warp([knee], alpha, NYQUIST)[0]
    assert abs(step) < 1e-3


def test_no_warp_is_the_identity():
    hz = np.linspace(0, NYQUIST, 101)
    np.testing.assert_allclose(vtlp_warp(hz, 1.0, NYQUIST), hz)


def _tone_band(alpha: float, hz: float = 1000.0) -> int:
    spec = MfccExtractor(kind="logmel").feature_spec
    t = np.arange(16000) / 16000
    return int(mel_power(np.sin(2 * np.pi * hz * t).astype(np.float32), spec, alpha).mean(axis=1).argmax())


def test_warped_mel_bands_move_formants_up_for_alpha_above_one_and_down_below():
    plain = _tone_band(1.0)
    assert _tone_band(1.1) > plain > _tone_band(0.9)
    # a tone at 1.1 kHz falls in the band the 1 kHz tone reaches with alpha 1.1
    assert _tone_band(1.1) == _tone_band(1.0, hz=1100.0)


def test_the_default_bank_is_unwarped():
    assert np.array_equal(mel_filter_bank(16000, 512, 64, 20.0, 8000.0),
                          mel_filter_bank(16000, 512, 64, 20.0, 8000.0, 1.0))
    assert not np.array_equal(mel_filter_bank(16000, 512, 64, 20.0, 8000.0),
                              mel_filter_bank(16000, 512, 64, 20.0, 8000.0, 1.1))


def test_a_warped_extractor_keeps_the_spec_and_leaves_the_original_alone():
    from emofuse.plugins.ravdess_cnn.prosody import ProsodyMfccExtractor

    ex = ProsodyMfccExtractor()
    y = voice(1.0, 16000)
    twin = ex.warped(1.1)
    assert twin.feature_spec == ex.feature_spec and isinstance(twin, ProsodyMfccExtractor)
    plain, warped = ex.extract(y, 16000), twin.extract(y, 16000)
    assert plain.shape == warped.shape
    assert not np.allclose(plain[:, :120], warped[:, :120])                  # the MFCCs move
    np.testing.assert_array_equal(plain[:, 120:], warped[:, 120:])           # pitch and energy do not
    np.testing.assert_array_equal(ex.extract(y, 16000), plain)               # the original is unwarped
    with pytest.raises(ValueError, match="warp"):
        ex.warped(3.0)


def test_vtlp_copies_are_the_warped_extractors_features(tmp_path):
    from emofuse.plugins.ravdess_cnn.data import find_ravdess, load_audio
    from emofuse.plugins.ravdess_cnn.features import trim_utterance
    from emofuse.plugins.ravdess_cnn.train import training_features

    data = tmp_path / "ravdess"
    write_ravdess(data, actors=(1, 2), emotions=(1, 5), seconds=0.6)
    files = find_ravdess(data).files
    ex = MfccExtractor()
    every = training_features(files, ex, "default", cache_dir=tmp_path / "c", vtlp=True)
    assert list(every)[-2:] == ["vtlp0.9", "vtlp1.1"]
    y, rate = load_audio(files[1].path)
    y = trim_utterance(y, rate, "energy")
    np.testing.assert_allclose(every["vtlp1.1"][1], ex.warped(1.1).extract(y, rate), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(every["vtlp0.9"][1], ex.warped(0.9).extract(y, rate), rtol=1e-5, atol=1e-5)
    assert "vtlp1.1" not in training_features(files, ex, "default", cache_dir=tmp_path / "c")


@pytest.mark.slow
def test_train_voice_vtlp_records_the_copies_and_refuses_no_augmentation(tmp_path, capsys):
    from emofuse.cli import main

    data = tmp_path / "ravdess"
    write_ravdess(data, actors=(1, 2, 3))
    args = ["train", "voice", "--data", str(data), "--val-actors", "3", "--epochs", "1", "--members", "1", "--tiny",
            "--vtlp", "--cache-dir", str(tmp_path / "cache"), "--threads", "1"]
    out = tmp_path / "m.keras"
    assert main(args + ["--augment", "default", "--output", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["vtlp"] == [0.9, 1.1] and meta["augmentations"][-2:] == ["vtlp0.9", "vtlp1.1"]
    refused = tmp_path / "n.keras"
    capsys.readouterr()
    assert main(args + ["--augment", "none", "--output", str(refused)]) == 1
    assert "--vtlp adds augmented copies" in capsys.readouterr().err
    assert not refused.exists()
