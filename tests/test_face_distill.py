"""Distillation for face training (`emofuse train face --teacher MODEL`): targets that mix the true
label with a teacher's softened probabilities, computed once and fed to training."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emofuse.plugins.fer_cnn.distill import mixed_targets, teacher_logits

from .face_helpers import run_cli, synthetic_faces, tiny_csv


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_without_a_teacher_the_targets_are_the_one_hot_labels():
    targets = mixed_targets(np.array([0, 6, 3]), None)
    np.testing.assert_array_equal(targets, np.eye(7, dtype=np.float32)[[0, 6, 3]])


def test_targets_mix_label_and_teacher_by_the_weight_after_softening_by_the_temperature():
    labels = np.array([1, 4])
    logits = np.array([[4.0, 0.0, 1.0, -2.0, 0.5, 0.0, 3.0], [0.0, 2.0, 0.0, 0.0, -1.0, 6.0, 1.0]])
    targets = mixed_targets(labels, logits, weight=0.3, temperature=2.0)
    expected = 0.7 * np.eye(7)[labels] + 0.3 * softmax(logits / 2.0)
    np.testing.assert_allclose(targets, expected, atol=1e-6)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-6)
    # the ends of the weight: the label alone, the teacher alone
    np.testing.assert_allclose(mixed_targets(labels, logits, weight=0.0), np.eye(7)[labels], atol=1e-7)
    np.testing.assert_allclose(mixed_targets(labels, logits, weight=1.0, temperature=1.0), softmax(logits), atol=1e-6)
    # a higher temperature flattens the teacher's share
    sharp = mixed_targets(labels, logits, weight=1.0, temperature=1.0)
    soft = mixed_targets(labels, logits, weight=1.0, temperature=4.0)
    assert (soft.max(axis=1) < sharp.max(axis=1)).all()


@pytest.mark.parametrize("weight, temperature", [(-0.1, 2.0), (1.5, 2.0), (0.5, 0.0)])
def test_impossible_weights_and_temperatures_are_refused(weight, temperature):
    with pytest.raises(ValueError):
        mixed_targets(np.array([0]), np.zeros((1, 7)), weight=weight, temperature=temperature)


@pytest.mark.parametrize("argv, message", [
    (["--teacher", "missing.keras"], "--teacher missing.keras: no such model file"),
    (["--distill-weight", "0.3"], "--distill-weight needs --teacher MODEL"),
    (["--distill-weight", "0.5"], "--distill-weight needs --teacher MODEL"),  # the default, said without a teacher
    (["--distill-temperature", "3"], "--distill-temperature needs --teacher MODEL"),
])
def test_bad_distillation_options_fail_in_one_line_before_any_work(tmp_path, capsys, argv, message):
    pytest.importorskip("tensorflow")
    out = tmp_path / "student.keras"
    code, _, err = run_cli(capsys, "train", "face", "--data", str(tmp_path / "absent.csv"), "--output", str(out), *argv)
    assert code == 1 and message in err and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.slow
def test_the_teachers_probabilities_reach_the_training_batches_and_the_recorded_command(tmp_path, capsys, monkeypatch,
                                                                                        caplog):
    pytest.importorskip("tensorflow")
    from emofuse.plugins.fer_cnn import train as face_train
    from emofuse.plugins.fer_cnn.artifacts import load_face_model
    from emofuse.plugins.fer_cnn.predict import predict_logits

    data = tiny_csv(tmp_path / "fer.csv.gz")
    tiny = ("--epochs", "1", "--batch-size", "10", "--tiny", "--no-mixed-precision")
    teacher = tmp_path / "teacher.keras"
    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(teacher), *tiny)
    assert code == 0, err

    batches = []
    real_datasets = face_train._datasets

    def spy(*args, **kwargs):
        train_ds, val_ds = real_datasets(*args, **kwargs)
        batches.extend(y.numpy() for _, y in train_ds)
        return train_ds, val_ds

    monkeypatch.setattr(face_train, "_datasets", spy)
    student = tmp_path / "student.keras"
    caplog.set_level("INFO", logger="emofuse")
    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(student), *tiny,
                           "--teacher", str(teacher), "--distill-weight", "0.4", "--distill-temperature", "3")
    assert code == 0, err

    images, labels = synthetic_faces(70, seed=1)  # the Training rows of tiny_csv
    logits = teacher_logits(teacher, images)  # what training used: the teacher's default views
    np.testing.assert_allclose(logits, predict_logits(load_face_model(teacher), images), atol=0.05)
    expected = mixed_targets(labels, logits, 0.4, 3.0)
    agreement = 100 * np.mean(logits.argmax(axis=1) == labels)
    assert f"teacher agrees with the labels on {agreement:.1f} % of the training faces" in caplog.text
    seen = np.concatenate(batches)
    assert len(seen) == 70  # 7 batches of 10, no augmentation of the labels without CutMix
    # every target fed to training is one face's mixed target (shuffled), none a bare one-hot label
    distances = np.abs(seen[:, None, :] - expected[None, :, :]).max(axis=2)
    assert distances.min(axis=1).max() < 1e-3
    assert not np.isclose(seen.max(axis=1), 1.0).any()
    command = json.loads(student.with_suffix(".json").read_text())["training"]["command"]
    assert f"--teacher {teacher} --distill-weight 0.4 --distill-temperature 3" in command

    # the teacher's logits are kept in the checkpoint folder: a resumed run does not score again
    kept, = student.with_suffix(".ckpt").glob("teacher_logits-*.npz")
    with np.load(kept) as cached:
        np.testing.assert_allclose(cached["logits"], logits, atol=0.05)

    def no_scoring(*args):
        raise AssertionError("the teacher scored the training faces again")

    monkeypatch.setattr(face_train, "teacher_logits", no_scoring)
    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(student), *tiny,
                           "--teacher", str(teacher), "--resume")
    assert code == 0, err


def test_distillation_options_are_refused_with_combine(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    code, _, err = run_cli(capsys, "train", "face", "--data", str(tmp_path / "x.csv"), "--output",
                           str(tmp_path / "o.keras"), "--combine", "a.keras", "b.keras", "--teacher", "t.keras")
    assert code == 1 and "--teacher" in err and "--combine" in err and err.count("\n") == 1
