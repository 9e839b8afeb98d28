"""Features of RAVDESS files (plus offline-augmented copies), computed once and cached on disk.

The cache lives outside the repository (default: `$TMPDIR/emofuse-voice-cache`), one entry per
copy (variant); an entry's key covers the files (path, size, mtime), the extractor's spec, the
trimming settings and the variant, so a stale entry is never reused.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emofuse.atomic import atomic_output

from .data import RavdessFile, load_audio
from .features import TRIM_MARGIN_S, TRIM_TOP_DB, trim_utterance

log = logging.getLogger(__name__)

#: Offline waveform augmentations: speed (tempo and pitch), pitch shift (semitones), added noise.
AUGMENTATIONS = ("speed0.9", "speed1.1", "pitch-2", "pitch+2", "noise20")
#: Copies with the mel bands warped (vocal tract length perturbation: formants x0.9 / x1.1, pitch kept).
VTLP_COPIES = ("vtlp0.9", "vtlp1.1")


def default_cache_dir() -> Path:
    return Path(os.environ.get("EMOFUSE_VOICE_CACHE") or Path(tempfile.gettempdir()) / "emofuse-voice-cache")


def augment_waveform(y: np.ndarray, rate: int, variant: str, seed: int = 0) -> np.ndarray:
    """One augmented copy of mono audio: `speedF`, `pitch±N` or `noiseDB` (SNR in dB); `vtlpF`
    copies keep the waveform (their extractor warps the spectrum: `variant_extractor`)."""
    import librosa

    if variant == "orig" or variant.startswith("vtlp"):
        return y
    if variant.startswith("speed"):
        factor = float(variant[5:])
        return librosa.resample(y, orig_sr=rate, target_sr=round(rate / factor), res_type="soxr_hq")
    if variant.startswith("pitch"):
        return librosa.effects.pitch_shift(y, sr=rate, n_steps=float(variant[5:]), res_type="soxr_hq")
    if variant.startswith("noise"):
        snr = float(variant[5:])
        rng = np.random.default_rng(seed)
        power = float(np.mean(y.astype(np.float64) ** 2)) or 1e-8
        return (y + rng.normal(0, np.sqrt(power / 10 ** (snr / 10)), y.shape)).astype(np.float32)
    raise ValueError(f"unknown augmentation {variant!r}")


def variant_extractor(extractor, variant: str):
    """The extractor of a copy: `vtlpF` warps the mel bands by F (`MfccExtractor.warped`)."""
    return extractor.warped(float(variant[4:])) if variant.startswith("vtlp") else extractor


def trim_key(trim: str | None) -> dict:
    """What a feature cache entry depends on of the trimming (energy keeps its older key)."""
    key = {"trim": [TRIM_TOP_DB, TRIM_MARGIN_S]}
    if trim not in (None, "energy"):
        key["trim_method"] = trim
    return key


def _key(files: Sequence[RavdessFile], spec: dict, variants: Sequence[str], trim: str | None = "energy") -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"spec": spec, "variants": list(variants), **trim_key(trim)}, sort_keys=True).encode())
    for f in files:
        st = f.path.stat()
        h.update(f"{f.path.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def file_features(files: Sequence[RavdessFile], extractor, variants: Sequence[str] = ("orig",),
                  cache_dir: str | Path | None = None, trim: str | None = "energy") -> dict[str, list[np.ndarray]]:
    """variant -> one (frames, features) array per file, in `files` order; each file trimmed the
    `trim` way (`features.TRIMS`; None: not trimmed) before its copies are made.

    Each variant is cached on its own, so a run that adds a copy computes only that copy; the
    audio is read once for all the variants not yet cached.
    """
    variants = list(dict.fromkeys(variants))
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    spec = dict(extractor.feature_spec)
    paths = {v: cache_dir / f"{_key(files, spec, [v], trim) if trim else 'notrim-' + _key(files, spec, [v])}.npz"
             for v in variants}
    out: dict[str, list[np.ndarray]] = {}
    for v in variants:
        cached = _read_entry(paths[v], v)
        if cached is not None:
            out[v] = cached
    missing = [v for v in variants if v not in out]
    if missing:
        computed = _compute(files, extractor, missing, trim)
        cache_dir.mkdir(parents=True, exist_ok=True)
        for v in missing:
            _write_entry(paths[v], v, computed[v], extractor.n_features)
            out[v] = computed[v]
    return {v: out[v] for v in variants}


def _read_entry(path: Path, variant: str) -> list[np.ndarray] | None:
    """The cached arrays of one variant, or None when absent or unreadable (then rebuilt)."""
    if not path.exists():
        return None
    try:
        with np.load(path) as npz:
            return np.split(npz[f"{variant}_x"], npz[f"{variant}_offsets"][1:-1])
    except Exception:  # a broken cache entry is rebuilt
        log.warning("ignoring unreadable feature cache %s", path)
        return None


def _compute(files: Sequence[RavdessFile], extractor, variants: Sequence[str], trim: str | None
             ) -> dict[str, list[np.ndarray]]:
    """The features of every copy in `variants` of every file (each file's audio read once)."""
    started = time.time()
    out: dict[str, list[np.ndarray]] = {v: [] for v in variants}
    extractors = {v: variant_extractor(extractor, v) for v in variants}
    for i, f in enumerate(files):
        y, rate = load_audio(f.path)
        if trim:
            y = trim_utterance(y, rate, trim)
        for v in variants:
            out[v].append(extractors[v].extract(augment_waveform(y, rate, v, seed=i), rate))
        if (i + 1) % 200 == 0:
            log.info("features (%s): %d/%d files (%.0f s)", ", ".join(variants), i + 1, len(files),
                     time.time() - started)
    return out


def _write_entry(path: Path, variant: str, feats: list[np.ndarray], n_features: int) -> None:
    """One variant's arrays, written to a temporary file and renamed (never half-written)."""
    x = np.concatenate(feats) if feats else np.zeros((0, n_features), np.float32)
    with atomic_output(path) as tmp:   # a unique temp name: parallel runs may write the same entry
        np.savez(tmp, **{f"{variant}_x": x, f"{variant}_offsets": np.cumsum([0] + [len(f) for f in feats])})
