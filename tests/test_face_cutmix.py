"""CutMix for face training (`emofuse train face --cutmix P`): pixels and labels mixed alike."""
from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from emofuse.plugins.fer_cnn import train as face_train  # noqa: E402

from .face_helpers import run_cli, tiny_csv  # noqa: E402


def constant_batch(values, classes):
    """Faces that are each one grey level, so a pixel tells which face it came from."""
    x = np.stack([np.full((48, 48, 1), v, np.float32) for v in values])
    return tf.constant(x), tf.constant(np.eye(7, dtype=np.float32)[classes])


def test_each_label_is_weighted_by_the_pixels_its_face_keeps():
    x, y = constant_batch([0.0, 0.5, 1.0], [0, 3, 6])
    mixed_x, mixed_y = face_train.cutmix(x, y, tf.random.Generator.from_seed(3), probability=1.0)
    mixed_x, mixed_y = mixed_x.numpy(), mixed_y.numpy()
    partner = [2, 1, 0]  # the batch reversed
    for i, cls in enumerate([0, 3, 6]):
        own = np.isclose(mixed_x[i], x.numpy()[i, 0, 0, 0]).mean()
        assert 0 < own < 1 or partner[i] == i
        np.testing.assert_allclose(mixed_y[i].sum(), 1.0, atol=1e-6)
        if partner[i] != i:
            # every pixel comes from the face itself or from its partner, and the label says how many
            from_partner = np.isclose(mixed_x[i], x.numpy()[partner[i], 0, 0, 0]).mean()
            assert own + from_partner == pytest.approx(1.0)
            assert mixed_y[i, cls] == pytest.approx(own, abs=1e-6)
            assert mixed_y[i, [0, 3, 6][partner[i]]] == pytest.approx(from_partner, abs=1e-6)


def test_probability_sets_the_share_of_faces_mixed():
    n = 400
    x, y = constant_batch(np.linspace(0, 1, n), np.arange(n) % 7)
    gen = tf.random.Generator.from_seed(5)
    unchanged_x, unchanged_y = face_train.cutmix(x, y, gen, probability=0.0)
    np.testing.assert_array_equal(unchanged_x.numpy(), x.numpy())
    np.testing.assert_array_equal(unchanged_y.numpy(), y.numpy())
    mixed_x, _ = face_train.cutmix(x, y, gen, probability=0.3)
    changed = (np.abs(mixed_x.numpy() - x.numpy()).reshape(n, -1).max(axis=1) > 0).mean()
    assert 0.2 < changed < 0.4  # some boxes are too small to cover a pixel centre, so a little under 0.3


@pytest.mark.slow
def test_train_face_cutmix_option_reaches_the_augmentation_and_the_recorded_command(tmp_path, capsys, monkeypatch):
    calls = []
    real = face_train.cutmix
    monkeypatch.setattr(face_train, "cutmix", lambda *a, **k: calls.append(a[3]) or real(*a, **k))
    data = tiny_csv(tmp_path / "fer.csv.gz")
    out = tmp_path / "cutmix.keras"
    tiny = ("--epochs", "1", "--batch-size", "16", "--tiny", "--no-mixed-precision")
    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(out), *tiny, "--cutmix", "0.5")
    assert code == 0, err
    assert calls and set(calls) == {0.5}
    assert "--cutmix 0.5" in json.loads(out.with_suffix(".json").read_text())["training"]["command"]

    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(out), *tiny, "--cutmix", "1.5")
    assert code == 1 and "--cutmix must be between 0 and 1, got 1.5" in err and err.count("\n") == 1


def test_without_cutmix_the_augmentation_never_mixes(monkeypatch):
    calls = []
    monkeypatch.setattr(face_train, "cutmix", lambda *a, **k: calls.append(a) or (a[0], a[1]))
    augment = face_train.make_augmenter(seed=1)
    x, y = constant_batch([0.2, 0.8], [1, 2])
    _, labels = augment(x, y)
    assert calls == [] and np.array_equal(labels.numpy(), y.numpy())
    face_train.make_augmenter(seed=1, cutmix_probability=0.25)(x, y)
    assert len(calls) == 1 and calls[0][3] == 0.25
