"""plugins/fer_cnn/run_cache.py: what a training run computes once is kept under a content key."""
from __future__ import annotations

import numpy as np

from emofuse.plugins.fer_cnn.run_cache import cached_arrays, content_key


def test_the_same_content_gives_the_same_key_and_other_content_another():
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert content_key(a, b"teacher") == content_key(a.copy(), b"teacher")
    assert content_key(a, b"teacher") != content_key(a, b"another teacher")
    assert content_key(a) != content_key(a[:2])


def test_arrays_are_made_once_and_read_back_after(tmp_path):
    calls = []

    def make():
        calls.append(1)
        return {"x": np.arange(5.0), "ok": np.array([True, False])}

    first = cached_arrays(tmp_path, "thing", "k1", make)
    second = cached_arrays(tmp_path, "thing", "k1", make)
    assert len(calls) == 1
    assert set(second) == {"x", "ok"}
    np.testing.assert_array_equal(second["x"], first["x"])
    np.testing.assert_array_equal(second["ok"], first["ok"])
    cached_arrays(tmp_path, "thing", "k2", make)  # another key: made again, beside the first
    assert len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thing-k1.npz", "thing-k2.npz"]
