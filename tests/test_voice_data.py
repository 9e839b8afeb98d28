"""The RAVDESS loader: names, skipping, unreadable files, rates, channels, actor filters."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf

from emofuse.errors import DatasetError
from emofuse.plugins.ravdess_cnn.data import (find_ravdess, format_actors, load_audio, parse_actors,
                                              parse_name)

from .voice_helpers import RAVDESS_DIR, voice, write_ravdess


def test_parse_name_reads_every_part():
    f = parse_name("some/dir/03-01-06-02-01-02-12.wav")
    assert (f.emotion, f.intensity, f.statement, f.repetition, f.actor) == ("fearful", 2, 1, 2, 12)
    assert f.label == 5


@pytest.mark.parametrize("name", [
    "03-01-09-01-01-01-01.wav",   # unknown emotion code
    "03-01-01-01-01-01.wav",      # six parts
    "03-01-01-01-01-01-01.txt",   # not audio
    "notes.wav",
    "3-1-1-1-1-1-1.wav",          # not two digits
    "03-01-01-03-01-01-01.wav",   # intensity 03
])
def test_parse_name_rejects_non_ravdess(name):
    assert parse_name(name) is None


def test_find_skips_bad_names_with_a_count(tmp_path, caplog):
    write_ravdess(tmp_path, actors=(1,), emotions=(1, 3))
    sf.write(tmp_path / "Actor_01" / "recording.wav", voice(0.5, 16000), 16000)
    sf.write(tmp_path / "03-01-99-01-01-01-01.wav", voice(0.5, 16000), 16000)
    (tmp_path / "README.txt").write_text("not audio, not counted")
    with caplog.at_level(logging.WARNING):
        index = find_ravdess(tmp_path)
    assert len(index) == 2
    assert index.skipped == 2
    assert "skipped 2" in caplog.text


def test_find_is_recursive_and_accepts_any_audio_extension(tmp_path):
    write_ravdess(tmp_path / "a" / "b", actors=(3,), emotions=(2,), suffix=".wav")
    write_ravdess(tmp_path / "c", actors=(4,), emotions=(5,), suffix=".FLAC")
    write_ravdess(tmp_path / "d", actors=(5,), emotions=(6,), suffix=".ogg")
    index = find_ravdess(tmp_path)
    assert index.actors == [3, 4, 5]
    assert sorted(f.emotion for f in index.files) == ["angry", "calm", "fearful"]


def test_find_filters_actors_and_says_which_exist(tmp_path):
    write_ravdess(tmp_path, actors=(1, 2, 3), emotions=(1,))
    assert find_ravdess(tmp_path, actors=[2, 3]).actors == [2, 3]
    with pytest.raises(DatasetError, match=r"actor\(s\) 7-8 .*found actors 1-3"):
        find_ravdess(tmp_path, actors=[7, 8])


def test_find_errors_on_missing_or_empty_folder(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        find_ravdess(tmp_path / "nope")
    with pytest.raises(DatasetError, match="no RAVDESS audio files"):
        find_ravdess(tmp_path)


@pytest.mark.parametrize("rate", [44100, 48000, 16000])
def test_load_audio_any_rate_and_stereo(tmp_path, rate):
    path = tmp_path / "03-01-01-01-01-01-01.wav"
    y = voice(0.5, rate)
    sf.write(path, np.stack([y, -y * 0.5], axis=1), rate)
    samples, got_rate = load_audio(path)
    assert got_rate == rate
    assert samples.ndim == 1 and samples.dtype == np.float32
    assert len(samples) == len(y)
    np.testing.assert_allclose(samples, 0.25 * y, atol=1e-3)   # mean of the two channels


def test_unreadable_and_empty_files_name_the_file(tmp_path):
    broken = tmp_path / "03-01-01-01-01-01-01.wav"
    broken.write_bytes(b"RIFF not really a wav file")
    with pytest.raises(DatasetError, match="03-01-01-01-01-01-01.wav: cannot read audio"):
        load_audio(broken)
    empty = tmp_path / "03-01-02-01-01-01-01.wav"
    sf.write(empty, np.zeros(0, np.float32), 16000)
    with pytest.raises(DatasetError, match="03-01-02-01-01-01-01.wav: the audio is empty"):
        load_audio(empty)


def test_actor_lists_round_trip():
    assert parse_actors("17-20") == [17, 18, 19, 20]
    assert parse_actors("1,3, 5-6") == [1, 3, 5, 6]
    assert parse_actors("") is None
    assert format_actors([1, 2, 3, 5, 7, 8]) == "1-3,5,7-8"
    for bad in ("a-b", "5-2", "0"):
        with pytest.raises(DatasetError, match="bad actor list"):
            parse_actors(bad)


def test_real_ravdess_folder_has_60_files_per_actor():
    if not RAVDESS_DIR.is_dir():
        pytest.skip(f"needs the RAVDESS development copy at {RAVDESS_DIR}")
    index = find_ravdess(RAVDESS_DIR)
    assert len(index) == 1200 and index.skipped == 0
    assert index.actors == list(range(1, 21))
    assert np.bincount(index.labels).tolist() == [80] + [160] * 7
