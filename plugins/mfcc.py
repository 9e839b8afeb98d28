"""The `mfcc` audio feature extractor: MFCCs with deltas (or log-mel bands) at 16 kHz.

The features are librosa's (melspectrogram, power_to_db, mfcc, delta), computed by the numpy
functions of `emofuse.plugins.spectral`: importing librosa's spectral code took 1-2 s per run.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np

from emofuse.audio import ANALYSIS_SAMPLE_RATE, resample, to_mono
from emofuse.hookspecs import hookimpl

from . import spectral

KINDS = ("mfcc", "logmel")


class MfccExtractor:
    """Mono audio of any rate and channel count -> time-major float32 features (frames, features).

    kind="mfcc": `n_mfcc` coefficients, plus their first (and second) deltas when `deltas`
    is 1 (or 2); kind="logmel": `n_mels` log-mel bands in dB. Frames are `win_length`
    samples every `hop_length` samples at `sample_rate` Hz (25 ms every 10 ms by default).
    Audio shorter than one window is zero-padded to one frame, so the output is never empty.
    `feature_spec` holds every setting; classifiers refuse features with another spec.
    """

    option_help = {
        "kind": "mfcc (coefficients with deltas) or logmel (log-mel bands)",
        "sample_rate": "audio is resampled to this rate (Hz) first",
        "n_mfcc": "MFCC coefficients per frame (kind=mfcc)",
        "n_mels": "mel bands (the MFCCs are computed from them)",
        "deltas": "0, 1 or 2: add first (and second) differences of the MFCCs",
        "n_fft": "FFT size in samples (>= win_length)",
        "win_length": "analysis window in samples (400: 25 ms at 16 kHz)",
        "hop_length": "step between frames in samples (160: 10 ms at 16 kHz)",
        "fmin": "lowest frequency of the mel bands (Hz)",
        "fmax": "highest frequency of the mel bands (Hz; none: half the sample rate)",
    }

    def __init__(self, kind: str = "mfcc", sample_rate: int = ANALYSIS_SAMPLE_RATE, n_mfcc: int = 40,
                 n_mels: int = 64, deltas: int = 2, n_fft: int = 512, win_length: int = 400,
                 hop_length: int = 160, fmin: float = 20.0, fmax: float | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown feature kind {kind!r}; expected one of {', '.join(KINDS)}")
        if deltas not in (0, 1, 2):
            raise ValueError(f"deltas must be 0, 1 or 2, got {deltas!r}")
        if not 0 < win_length <= n_fft or hop_length <= 0 or sample_rate <= 0:
            raise ValueError("need 0 < win_length <= n_fft, hop_length > 0 and sample_rate > 0")
        fmax = float(fmax) if fmax else sample_rate / 2.0
        self.feature_spec: dict[str, Any] = {
            "kind": kind,
            "sample_rate": int(sample_rate),
            "n_fft": int(n_fft),
            "win_length": int(win_length),
            "hop_length": int(hop_length),
            "n_mels": int(n_mels),
            "fmin": float(fmin),
            "fmax": fmax,
            "window": "hann",
            "power_to_db": {"ref": 1.0, "amin": 1e-10, "top_db": 80.0},
        }
        if kind == "mfcc":
            self.feature_spec.update({"n_mfcc": int(n_mfcc), "deltas": int(deltas), "delta_width": 9, "dct": "ortho-2"})
        self.feature_spec["n_features"] = self.n_features
        self.warp = 1.0

    def warped(self, alpha: float) -> MfccExtractor:
        """A copy whose mel bands see the spectrum warped by `alpha` (vocal tract length
        perturbation, `spectral.vtlp_warp`): a training augmentation; the feature spec is unchanged."""
        if not 0.5 <= alpha <= 2.0:
            raise ValueError(f"warp must be within 0.5-2, got {alpha:g}")
        twin = copy.copy(self)
        twin.warp = float(alpha)
        return twin

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> MfccExtractor:
        """The extractor that produces features of `spec` (e.g. the one a model was trained on)."""
        keys = ("kind", "sample_rate", "n_mfcc", "n_mels", "deltas", "n_fft", "win_length", "hop_length", "fmin", "fmax")
        return cls(**{k: spec[k] for k in keys if k in spec})

    @property
    def n_features(self) -> int:
        spec = self.feature_spec
        return spec["n_mels"] if spec["kind"] == "logmel" else spec["n_mfcc"] * (1 + spec["deltas"])

    @property
    def frame_rate(self) -> float:
        """Frames per second of audio."""
        return self.feature_spec["sample_rate"] / self.feature_spec["hop_length"]

    def extract(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        spec = self.feature_spec
        y = resample(to_mono(samples), int(sample_rate), spec["sample_rate"])
        y = np.nan_to_num(np.asarray(y, dtype=np.float32))
        if y.size < spec["n_fft"]:
            y = np.pad(y, (0, spec["n_fft"] - y.size))
        db = spectral.power_to_db(mel_power(y, spec, self.warp), **spec["power_to_db"])
        if spec["kind"] == "logmel":
            return np.ascontiguousarray(db.T, dtype=np.float32)
        mfcc = spectral.mfcc_from_db(db, spec["n_mfcc"])
        parts = [mfcc] + [spectral.delta(mfcc, spec["delta_width"], order) for order in range(1, spec["deltas"] + 1)]
        return np.ascontiguousarray(np.concatenate(parts, axis=0).T, dtype=np.float32)


def mel_power(y: np.ndarray, spec: Mapping[str, Any], warp: float = 1.0) -> np.ndarray:
    """Mel power spectrogram (n_mels, frames): `librosa.feature.melspectrogram` with these
    settings, in numpy (`emofuse.plugins.spectral`) with a cached filter bank (`warp`: VTLP)."""
    power = spectral.stft_power(y, spec["n_fft"], spec["hop_length"], spec["win_length"])
    bank = spectral.mel_filter_bank(spec["sample_rate"], spec["n_fft"], spec["n_mels"], spec["fmin"], spec["fmax"], warp)
    return bank @ power


def specs_differ(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """The settings (as `key: expected != actual`) where two feature specs disagree."""
    keys = sorted(set(expected) | set(actual))
    return [f"{k}: {expected.get(k)!r} != {actual.get(k)!r}" for k in keys if expected.get(k) != actual.get(k)]


@hookimpl
def register_audio_feature_extractors(register):
    register("mfcc", MfccExtractor,
             description="40 MFCCs + deltas + delta-deltas (or log-mel bands), 25 ms frames every 10 ms at 16 kHz")
