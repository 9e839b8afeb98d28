"""The voice feature maths by hand on tiny signals: emofuse.audio, plugins.spectral, plugins.mfcc
(issue 19: pins the behaviour at the boundaries mutation testing found unchecked)."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from emofuse.audio import SILENCE_DB, is_silent, resample, rms_db, to_mono
from emofuse.plugins import spectral
from emofuse.plugins.mfcc import MfccExtractor, specs_differ

# -- emofuse.audio ----------------------------------------------------------------------------------


def test_to_mono_gives_float32_whatever_the_input_type():
    mono = to_mono(np.array([1, -2, 3], dtype=np.int16))
    assert mono.dtype == np.float32 and mono.tolist() == [1.0, -2.0, 3.0]
    assert to_mono(np.zeros((5, 2), np.float64)).dtype == np.float32


def test_to_mono_of_a_square_array_reads_it_as_samples_by_channels():
    # (n, channels) is the first reading: 2 samples of 2 channels, averaged per sample
    assert to_mono(np.array([[1.0, 3.0], [5.0, 7.0]])).tolist() == [2.0, 6.0]
    assert to_mono(np.array([[1.0, 3.0, 5.0], [7.0, 9.0, 11.0]])).tolist() == [4.0, 6.0, 8.0]  # (channels, n)


def test_to_mono_refuses_three_dimensional_audio_naming_the_shape():
    with pytest.raises(ValueError, match=re.escape("audio must be 1-D or 2-D, got shape (1, 2, 3)")):
        to_mono(np.zeros((1, 2, 3)))


def test_resample_returns_float32_with_or_without_a_rate_change():
    same = resample(np.ones(4, np.float64), 16000, 16000)
    assert same.dtype == np.float32 and same.tolist() == [1.0] * 4
    t = np.arange(1600) / 16000
    down = resample(np.sin(2 * np.pi * 440 * t), 16000, 8000)  # float64 in
    assert down.dtype == np.float32 and down.size == 800


def test_rms_db_and_the_silence_rule_by_hand():
    assert rms_db(np.full(800, 0.1, np.float32)) == pytest.approx(-20.0, abs=1e-4)
    quiet = np.full(800, 10 ** (-46 / 20), np.float32)  # -46 dBFS: under the -45 dB rule
    loud = np.full(800, 10 ** (-44 / 20), np.float32)
    assert SILENCE_DB == -45.0
    assert is_silent(quiet) and not is_silent(loud)
    assert not is_silent(quiet, threshold_db=-50.0)


# -- plugins.spectral: the mel scale ----------------------------------------------------------------


def test_slaney_mel_scale_is_linear_below_1khz_and_logarithmic_above():
    # 200/3 Hz per mel up to 1 kHz (15 mel); then 27 mel per factor 6.4 of frequency
    hz = np.array([0.0, 200.0, 500.0, 1000.0, 6400.0, 40960.0])
    assert spectral._hz_to_mel(hz) == pytest.approx([0.0, 3.0, 7.5, 15.0, 42.0, 69.0], abs=1e-9)
    assert spectral._mel_to_hz(np.array([0.0, 3.0, 7.5, 15.0, 42.0, 69.0])) == pytest.approx(
        [0.0, 200.0, 500.0, 1000.0, 6400.0, 40960.0], rel=1e-12)
    assert spectral._hz_to_mel(200.0) == pytest.approx(3.0)  # a plain number works too
    assert spectral._mel_to_hz(3.0) == pytest.approx(200.0)


def test_mel_scale_switches_branch_right_at_1khz_and_15_mel():
    step = math.log(6.4) / 27.0
    assert spectral._hz_to_mel(np.array([999.0, 1000.5])) == pytest.approx(
        [999.0 * 3 / 200, 15.0 + math.log(1.0005) / step], abs=1e-12)
    assert spectral._mel_to_hz(np.array([14.5, 15.5])) == pytest.approx(
        [14.5 * 200 / 3, 1000.0 * math.exp(0.5 * step)], rel=1e-12)
    # double precision whatever the input: float32 frequencies are not computed in float32
    assert spectral._hz_to_mel(np.array([5000.0, 700.0], np.float32)).tolist() == pytest.approx(
        [15.0 + math.log(5.0) / step, 10.5], abs=1e-12)
    assert spectral._mel_to_hz(np.array([42.1], np.float32)).tolist() == pytest.approx(
        [1000.0 * math.exp((float(np.float32(42.1)) - 15.0) * step)], rel=1e-14)
    mels = np.linspace(0.0, 60.0, 121)
    assert spectral._hz_to_mel(spectral._mel_to_hz(mels)) == pytest.approx(mels, abs=1e-9)


# -- plugins.spectral: STFT, dB, DCT, deltas --------------------------------------------------------


def test_stft_power_of_a_sine_peaks_in_its_frequency_bin():
    rate, n_fft = 16000, 512  # bins of 31.25 Hz: 1000 Hz is bin 32
    t = np.arange(4000) / rate
    power = spectral.stft_power(np.sin(2 * np.pi * 1000.0 * t), n_fft, 160, 400)
    assert power.dtype == np.float32 and power.shape == (257, 1 + 4000 // 160)
    assert set(np.argmax(power[:, 3:-3], axis=0).tolist()) == {32}


def test_stft_power_works_in_float32_whatever_the_input_precision():
    y = np.random.default_rng(0).standard_normal(2000)
    assert np.array_equal(spectral.stft_power(y, 256, 100, 200), spectral.stft_power(y.astype(np.float32), 256, 100, 200))


def test_power_to_db_defaults_are_ref_1_amin_1e_10_and_an_80_db_range():
    power = np.array([1.0, 1e-3, 0.0])
    assert spectral.power_to_db(power).tolist() == pytest.approx([0.0, -30.0, -80.0])  # 0 -> -100 -> cut at -80
    assert spectral.power_to_db(power, top_db=None).tolist() == pytest.approx([0.0, -30.0, -100.0])
    assert spectral.power_to_db(np.array([1.0, 0.1]), ref=10.0).tolist() == pytest.approx([-10.0, -20.0])
    assert spectral.power_to_db(np.array([1e-12]), top_db=None).tolist() == pytest.approx([-100.0])  # amin


def test_mfcc_is_the_orthonormal_dct_ii_of_the_bands():
    db = np.array([[1.0], [2.0], [3.0], [4.0]])
    n = 4
    expected = [math.sqrt((1 if k == 0 else 2) / n) * sum(db[i, 0] * math.cos(math.pi * k * (2 * i + 1) / (2 * n))
                                                          for i in range(n)) for k in range(n)]
    assert spectral.mfcc_from_db(db, 3)[:, 0] == pytest.approx(expected[:3], abs=1e-12)


def test_delta_defaults_to_a_first_derivative_over_nine_frames():
    ramp = 0.5 * np.arange(20.0)[None, :]
    d = spectral.delta(ramp)
    assert d[0, 4:-4] == pytest.approx([0.5] * 12)  # slope of the line, away from the edges
    assert spectral.delta(ramp, order=2)[0, 4:-4] == pytest.approx([0.0] * 12, abs=1e-9)
    assert spectral.delta(ramp, width=3)[0, 1:-1] == pytest.approx([0.5] * 18)  # the smallest window
    # the edges repeat the nearest frame: at the first frame, the window sees 0, 0, 0, 0, 0, .5, 1, 1.5, 2
    weights = np.arange(-4, 5) / 60.0
    assert d[0, 0] == pytest.approx(float(weights @ ramp[0, [0, 0, 0, 0, 0, 1, 2, 3, 4]]))


def test_delta_works_along_the_last_axis_of_one_dimensional_features():
    assert spectral.delta(np.arange(12.0), width=5)[2:-2] == pytest.approx([1.0] * 8)


@pytest.mark.parametrize("width, order", [(2, 1), (4, 1), (1, 0), (3, 3)])
def test_delta_refuses_even_or_tiny_windows_and_orders_as_high_as_the_window(width, order):
    with pytest.raises(ValueError, match=f"width must be odd, >= 3 and > order, got width={width}, order={order}"):
        spectral.delta(np.zeros((1, 10)), width=width, order=order)


def test_delta_keeps_float32_float32_and_float64_in_double_precision():
    x = np.random.default_rng(1).standard_normal((2, 15))
    assert spectral.delta(x.astype(np.float32)).dtype == np.float32
    d = spectral.delta(x)
    assert d.dtype == np.float64
    weights = np.arange(-4, 5) / 60.0
    assert d[:, 7] == pytest.approx(x[:, 3:12] @ weights, rel=1e-13, abs=1e-14)
    ints = spectral.delta(np.arange(10)[None, :], width=3)
    assert ints.dtype.kind == "f" and ints[0, 1:-1] == pytest.approx([1.0] * 8)


# -- plugins.mfcc ------------------------------------------------------------------------------------


def test_mfcc_extractor_names_the_kinds_it_knows():
    with pytest.raises(ValueError, match="^" + re.escape("unknown feature kind 'mel'; expected one of mfcc, logmel") + "$"):
        MfccExtractor(kind="mel")


def test_mfcc_extractor_takes_deltas_0_1_2_only():
    assert MfccExtractor(deltas=0, n_mfcc=13).n_features == 13
    assert MfccExtractor(deltas=1, n_mfcc=13).n_features == 26
    with pytest.raises(ValueError, match="^" + re.escape("deltas must be 0, 1 or 2, got 3") + "$"):
        MfccExtractor(deltas=3)


GEOMETRY_ERROR = "^" + re.escape("need 0 < win_length <= n_fft, hop_length > 0 and sample_rate > 0") + "$"


@pytest.mark.parametrize("options", [{"win_length": 0}, {"win_length": 513}, {"hop_length": 0},
                                     {"sample_rate": 0}, {"hop_length": -1}])
def test_mfcc_extractor_refuses_impossible_frame_geometry(options):
    with pytest.raises(ValueError, match=GEOMETRY_ERROR):
        MfccExtractor(**options)


def test_mfcc_extractor_accepts_the_geometry_limits():
    assert MfccExtractor(win_length=1).feature_spec["win_length"] == 1
    assert MfccExtractor(win_length=512, n_fft=512).feature_spec["win_length"] == 512
    assert MfccExtractor(hop_length=1).frame_rate == 16000.0
    assert MfccExtractor(sample_rate=1).feature_spec["fmax"] == 0.5


def test_fmax_is_kept_when_given_and_half_the_rate_otherwise():
    assert MfccExtractor(fmax=7000).feature_spec["fmax"] == 7000.0
    assert MfccExtractor(sample_rate=8000).feature_spec["fmax"] == 4000.0
    assert MfccExtractor(fmax=None).feature_spec["fmax"] == 8000.0


def test_from_spec_keeps_every_setting():
    for extractor in (MfccExtractor(sample_rate=8000, n_mfcc=13, n_mels=30, deltas=1, n_fft=256, win_length=200,
                                    hop_length=80, fmin=50.0, fmax=3000.0),
                      MfccExtractor(kind="logmel", sample_rate=22050, n_mels=20, n_fft=1024, win_length=1024,
                                    hop_length=441, fmin=10.0)):
        assert MfccExtractor.from_spec(extractor.feature_spec).feature_spec == extractor.feature_spec


def test_short_audio_is_zero_padded_at_its_end_to_one_window():
    short = np.random.default_rng(2).uniform(-0.5, 0.5, 100).astype(np.float32)
    for kind in ("mfcc", "logmel"):
        extractor = MfccExtractor(kind=kind)
        features = extractor.extract(short, 16000)
        assert features.dtype == np.float32 and features.shape[0] == 1 + 512 // 160
        assert np.array_equal(features, extractor.extract(np.pad(short, (0, 412)), 16000))


def test_specs_differ_names_keys_present_on_one_side_only():
    assert specs_differ({"a": 1, "c": 3}, {"b": 2, "c": 3}) == ["a: 1 != None", "b: None != 2"]
