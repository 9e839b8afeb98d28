"""Runtime crops for face training (`emofuse train face --runtime-crops P`): training faces drawn
into a frame the way a camera shows them and cropped where the Haar detector finds them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emofuse.plugins.fer_cnn import runtime_crops as rc
from emofuse.plugins.fer_cnn.preprocess import to_gray48
from emofuse.testing import expected_face_box, make_frame

from .face_helpers import run_cli, tiny_csv


@pytest.fixture(scope="module")
def face48() -> np.ndarray:
    """The sample portrait's face, cropped like a FER2013 face: 48x48 grey."""
    return to_gray48(expected_face_box().crop(make_frame()))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def test_a_runtime_crop_is_the_face_again_as_haar_frames_it(face48):
    crops = [rc.runtime_crop(face48, np.random.default_rng([0, i])) for i in range(12)]
    found = [c for c in crops if c is not None]
    assert len(found) >= 8
    assert all(c.shape == (48, 48) and c.dtype == np.uint8 for c in found)
    assert np.median([correlation(c, face48) for c in found]) > 0.6
    # framed by the detector, not copied: no crop is the face itself
    assert all(np.abs(c.astype(int) - face48).mean() > 2 for c in found)


def test_a_face_haar_cannot_find_has_no_runtime_crop():
    blank = np.full((48, 48), 128, np.uint8)
    assert rc.runtime_crop(blank, np.random.default_rng(3)) is None


def test_runtime_crops_keep_faces_without_a_crop_and_do_not_depend_on_the_workers(face48, monkeypatch):
    monkeypatch.setattr(rc, "CHUNK", 2)
    faces = np.stack([face48, np.full((48, 48), 128, np.uint8), face48, face48, np.fliplr(face48)])
    crops, found = rc.runtime_crops(faces, seed=5)
    assert found.tolist()[1] is False and found.sum() >= 3
    np.testing.assert_array_equal(crops[~found], faces[~found])
    assert not np.array_equal(crops[found], faces[found])
    again, found_again = rc.runtime_crops(faces, seed=5, workers=2)
    np.testing.assert_array_equal(again, crops)
    np.testing.assert_array_equal(found_again, found)
    other, _ = rc.runtime_crops(faces, seed=6)
    assert not np.array_equal(other, crops)


def test_cached_runtime_crops_are_made_once_per_set_of_faces(face48, tmp_path, monkeypatch):
    made = []
    real = rc.runtime_crops
    monkeypatch.setattr(rc, "runtime_crops", lambda faces, *a, **k: made.append(len(faces)) or real(faces, *a, **k))
    faces = np.stack([face48, face48])
    first = rc.cached_runtime_crops(faces, tmp_path)
    second = rc.cached_runtime_crops(faces, tmp_path)
    assert made == [2]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    rc.cached_runtime_crops(faces[:1], tmp_path)  # other faces: made again, beside the first file
    assert made == [2, 1] and len(list(tmp_path.glob("runtime_crops-*.npz"))) == 2
    assert not list(tmp_path.glob("*.part*"))


@pytest.mark.slow
@pytest.mark.parametrize("share, expected", [(1.0, "all found"), (0.0, "none"), (0.5, "about half")])
def test_the_mixer_shows_the_share_of_faces_that_have_a_runtime_crop_as_it(share, expected):
    tf = pytest.importorskip("tensorflow")
    from emofuse.plugins.fer_cnn.train import runtime_mixer

    n = 2000
    faces = np.zeros((n, 48, 48, 1), np.float32)
    crops = np.ones((n, 48, 48, 1), np.float32)
    found = np.arange(n) % 4 != 0  # a quarter have no runtime crop
    labels = np.arange(n)
    mixed, y = runtime_mixer(share, seed=1)((tf.constant(faces), tf.constant(crops), tf.constant(found)), labels)
    shown = mixed.numpy()[:, 0, 0, 0] == 1.0
    assert (mixed.numpy() == shown[:, None, None, None]).all()  # whole faces swapped, never mixed
    np.testing.assert_array_equal(y, labels)
    assert not shown[~found].any()
    if expected == "all found":
        assert shown[found].all()
    elif expected == "none":
        assert not shown.any()
    else:
        assert 0.45 < shown[found].mean() < 0.55


@pytest.mark.parametrize("value", ["-0.1", "1.5"])
def test_a_share_outside_0_to_1_is_refused_in_one_line(tmp_path, capsys, value):
    pytest.importorskip("tensorflow")
    out = tmp_path / "m.keras"
    code, _, err = run_cli(capsys, "train", "face", "--data", str(tmp_path / "absent.csv"), "--output", str(out),
                           "--runtime-crops", value)
    assert code == 1 and f"--runtime-crops must be between 0 and 1, got {float(value)}" in err
    assert err.count("\n") == 1 and not out.exists()


def test_runtime_crops_are_refused_with_combine(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    code, _, err = run_cli(capsys, "train", "face", "--data", str(tmp_path / "x.csv"), "--output",
                           str(tmp_path / "o.keras"), "--combine", "a.keras", "b.keras", "--runtime-crops", "0.5")
    assert code == 1 and "--runtime-crops" in err and "--combine" in err and err.count("\n") == 1


@pytest.mark.slow
def test_training_with_runtime_crops_keeps_them_for_a_resume_and_records_the_share(tmp_path, capsys, monkeypatch):
    pytest.importorskip("tensorflow")
    monkeypatch.setattr(rc, "CHUNK", 30)  # 3 chunks: on a machine with several cores, worker processes under TF
    data = tiny_csv(tmp_path / "fer.csv.gz")
    out = tmp_path / "m.keras"
    argv = ("train", "face", "--data", str(data), "--output", str(out), "--epochs", "1", "--batch-size", "10",
            "--tiny", "--no-mixed-precision", "--runtime-crops", "0.25")
    code, _, err = run_cli(capsys, *argv)
    assert code == 0, err
    kept = list(out.with_suffix(".ckpt").glob("runtime_crops-*.npz"))
    assert len(kept) == 1
    with np.load(kept[0]) as cached:
        assert cached["crops"].shape == (70, 48, 48) and cached["found"].shape == (70,)
    command = json.loads(out.with_suffix(".json").read_text())["training"]["command"]
    assert "--runtime-crops 0.25" in command
