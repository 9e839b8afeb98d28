"""The voice feature cache (`ravdess_cnn.cache.file_features`): one entry per copy, so a run that
adds a copy computes only that copy, and what comes back is what a fresh computation gives."""
from __future__ import annotations

import numpy as np
import pytest

from emofuse.plugins.mfcc import MfccExtractor
from emofuse.plugins.ravdess_cnn import cache
from emofuse.plugins.ravdess_cnn.data import find_ravdess

from .voice_helpers import write_ravdess


@pytest.fixture()
def files(tmp_path):
    write_ravdess(tmp_path / "ravdess", actors=(1,), emotions=(1, 5, 8), seconds=0.8)
    return find_ravdess(tmp_path / "ravdess").files


def counting(monkeypatch):
    """Record the variant of every copy computed."""
    made = []
    real = cache.augment_waveform
    monkeypatch.setattr(cache, "augment_waveform", lambda y, rate, v, seed=0: made.append(v) or real(y, rate, v, seed))
    return made


def test_adding_a_copy_computes_only_that_copy(files, tmp_path, monkeypatch):
    made = counting(monkeypatch)
    extractor = MfccExtractor()
    first = cache.file_features(files, extractor, ("orig", "noise20"), tmp_path / "c")
    assert sorted(made) == sorted(["orig", "noise20"] * len(files))
    made.clear()
    second = cache.file_features(files, extractor, ("orig", "noise20", "pitch+2"), tmp_path / "c")
    assert made == ["pitch+2"] * len(files)
    for v in ("orig", "noise20"):
        for a, b in zip(first[v], second[v]):
            np.testing.assert_array_equal(a, b)
    made.clear()
    again = cache.file_features(files, extractor, ("pitch+2",), tmp_path / "c")
    assert made == [] and list(again) == ["pitch+2"]
    for a, b in zip(again["pitch+2"], second["pitch+2"]):
        np.testing.assert_array_equal(a, b)


def test_cached_copies_equal_a_fresh_computation_in_file_order(files, tmp_path):
    extractor = MfccExtractor()
    cache.file_features(files, extractor, ("orig",), tmp_path / "c")
    cached = cache.file_features(files, extractor, ("orig",), tmp_path / "c")["orig"]
    fresh = cache.file_features(files, extractor, ("orig",), tmp_path / "other")["orig"]
    assert len(cached) == len(files)
    for a, b in zip(cached, fresh):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(cached[0], cached[1])  # each file its own features


def test_another_extractor_spec_or_trim_gets_its_own_entry(files, tmp_path, monkeypatch):
    made = counting(monkeypatch)
    cache.file_features(files, MfccExtractor(), ("orig",), tmp_path / "c")
    cache.file_features(files, MfccExtractor(n_mfcc=20), ("orig",), tmp_path / "c")
    cache.file_features(files, MfccExtractor(), ("orig",), tmp_path / "c", trim=None)
    assert made == ["orig"] * (3 * len(files))


def test_an_unreadable_entry_is_rebuilt(files, tmp_path, monkeypatch):
    extractor = MfccExtractor()
    good = cache.file_features(files, extractor, ("orig",), tmp_path / "c")["orig"]
    (entry,) = (tmp_path / "c").glob("*.npz")
    entry.write_bytes(b"not an npz")
    made = counting(monkeypatch)
    rebuilt = cache.file_features(files, extractor, ("orig",), tmp_path / "c")["orig"]
    assert made == ["orig"] * len(files)
    for a, b in zip(good, rebuilt):
        np.testing.assert_array_equal(a, b)
    assert not list((tmp_path / "c").glob("*.part.npz"))
