"""benchmarks/face_views.py: the views it scores and the mirror-symmetric sets it compares."""
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import face_views  # noqa: E402


def test_views_are_the_named_transforms_and_their_mirrors():
    x = np.random.default_rng(0).random((3, 48, 48, 1), dtype=np.float32)
    v = face_views.views(x)
    assert len(v) == 20 and all(a.shape == x.shape for a in v.values())
    np.testing.assert_array_equal(v["face"], x)
    np.testing.assert_array_equal(v["m_face"], x[:, :, ::-1])
    np.testing.assert_allclose(v["right2"][:, :, 2:], x[:, :, :-2], atol=1e-6)   # moved 2 px right
    np.testing.assert_allclose(v["down2"][:, 2:], x[:, :-2], atol=1e-6)          # moved 2 px down
    np.testing.assert_array_equal(v["m_rot+6"], v["rot+6"][:, :, ::-1])
    assert not np.allclose(v["rot+6"], v["rot-6"])


def test_shipped_views_are_the_runtime_views():
    from emofuse.plugins.fer_cnn.predict import views_of

    x = np.random.default_rng(1).random((2, 48, 48, 1), dtype=np.float32)
    v = face_views.views(x)
    runtime = views_of(x, flip_average=True, zoom_average=True)
    assert len(runtime) == len(face_views.SHIPPED_VIEWS)
    for name, expected in zip(face_views.SHIPPED_VIEWS, runtime):
        np.testing.assert_array_equal(v[name], expected)


def test_mirror_sets_pair_each_view_with_its_mirror():
    sets = face_views.mirror_sets(["face", "zoom95", "m_face", "m_zoom95", "rot+6", "m_rot+6"])
    assert ("face", "m_face") in sets and ("face", "zoom95", "m_face", "m_zoom95") in sets
    assert len(sets) == 3 + 3  # 3 single views and 3 pairs, each with its mirrors
    assert tuple(face_views.SHIPPED_VIEWS) in [tuple(s) for s in sets]
