"""Consistency training of the voice network (`emofuse train voice --consistency W`): the pairs, the
shared-weight pair model, the loss, and the training command."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from emofuse.plugins.ravdess_cnn.consistency import pair_epoch_arrays
from emofuse.plugins.ravdess_cnn.train import TrainConfig

from .voice_helpers import write_ravdess

FRAMES = 20


def _cfg(**changes) -> TrainConfig:
    plain = dict(frames=FRAMES, mixup=0.0, time_masks=0, feature_masks=0)
    return dataclasses.replace(TrainConfig(), **{**plain, **changes})


def _files(n: int = 6, length: int = 60, stretch: float = 1.0) -> tuple[dict, np.ndarray]:
    """File i's frames hold (i, position along the file in 0..1, variant tag) in three columns."""
    def feats(i: int, frames: int, tag: float) -> np.ndarray:
        pos = np.arange(frames, dtype=np.float32) / frames
        return np.stack([np.full(frames, i, np.float32), pos, np.full(frames, tag, np.float32)], axis=1)

    variants = {"orig": [feats(i, length, 0.0) for i in range(n)],
                "copy": [feats(i, int(length * stretch), 1.0) for i in range(n)]}
    return variants, np.arange(n) % 8


def test_pairs_are_one_file_its_copy_and_its_label():
    variants, labels = _files()
    xa, xb, y = pair_epoch_arrays(variants, labels, np.random.default_rng(0), _cfg())
    assert xa.shape == xb.shape == (6, FRAMES, 3)
    np.testing.assert_array_equal(xa[:, :, 2], 0.0)              # the first view is the original
    np.testing.assert_array_equal(xb[:, :, 2], 1.0)              # the second an augmented copy
    np.testing.assert_array_equal(xa[:, :, 0], xb[:, :, 0])      # of the same file
    np.testing.assert_array_equal(y.argmax(1), labels[xa[:, 0, 0].astype(int)])
    assert sorted(xa[:, 0, 0].astype(int)) == list(range(6))     # every file once, shuffled
    assert list(xa[:, 0, 0].astype(int)) != list(range(6))


@pytest.mark.parametrize("stretch", [1.0, 1.5, 0.7])
def test_both_views_are_cut_around_the_same_moment_of_the_utterance(stretch):
    length = 120
    variants, labels = _files(n=60, length=length, stretch=stretch)
    xa, xb, _ = pair_epoch_arrays(variants, labels, np.random.default_rng(1), _cfg())
    lengths = {"a": length, "b": int(length * stretch)}
    centre_a = xa[:, 0, 1] + FRAMES / 2 / lengths["a"]
    centre_b = xb[:, 0, 1] + FRAMES / 2 / lengths["b"]
    inside = ((xa[:, 0, 1] > 0) & (xa[:, -1, 1] < (lengths["a"] - 1) / lengths["a"])
              & (xb[:, 0, 1] > 0) & (xb[:, -1, 1] < (lengths["b"] - 1) / lengths["b"]))
    assert inside.sum() > 30
    np.testing.assert_allclose(centre_a[inside], centre_b[inside], atol=1 / lengths["a"] + 1 / lengths["b"])
    assert centre_a.std() > 0.1                                      # and the moment itself is random


def test_each_view_gets_its_own_masks():
    variants, labels = _files(n=30)
    for v in variants.values():
        for f in v:
            f += 5.0                                                 # no zero anywhere before masking
    xa, xb, _ = pair_epoch_arrays(variants, labels, np.random.default_rng(2),
                                  _cfg(time_masks=2, time_mask_max=8))
    masked_a, masked_b = (xa == 0).all(axis=2), (xb == 0).all(axis=2)
    assert masked_a.any() and masked_b.any()
    assert not np.array_equal(masked_a, masked_b)


def test_mixup_mixes_both_views_with_the_same_partner_and_share():
    variants, labels = _files(n=50)
    xa, xb, y = pair_epoch_arrays(variants, labels, np.random.default_rng(3), _cfg(mixup=0.4))
    # column 0 is the file index: mixing files i and j with share lam gives lam*i + (1-lam)*j in both views
    np.testing.assert_allclose(xa[:, :, 0], xb[:, :, 0], atol=1e-5)
    assert (y.max(1) < 1).any()                                      # some labels are mixed


def test_pairs_need_augmented_copies():
    variants, labels = _files()
    with pytest.raises(ValueError, match="augmented copies"):
        pair_epoch_arrays({"orig": variants["orig"]}, labels, np.random.default_rng(0), _cfg())


def _reference_loss(y, logits, weight, smoothing):
    target = y * (1 - smoothing) + smoothing / y.shape[1]
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    ce = -(target[:, None, :] * logp).sum(-1).mean(1)
    p = np.exp(logp)
    m = p.mean(1, keepdims=True)
    js = (p * (logp - np.log(m))).sum(-1).mean(1)
    return (ce + weight * js).mean()


@pytest.mark.parametrize("weight,smoothing", [(0.0, 0.0), (12.0, 0.1), (3.0, 0.0)])
def test_the_loss_is_mean_cross_entropy_plus_weighted_jensen_shannon(weight, smoothing):
    from emofuse.plugins.ravdess_cnn.consistency import consistency_loss

    rng = np.random.default_rng(4)
    y = np.eye(8, dtype=np.float32)[rng.integers(0, 8, 5)]
    logits = rng.normal(size=(5, 2, 8)).astype(np.float32) * 2
    got = float(consistency_loss(weight, smoothing)(y, logits))
    assert got == pytest.approx(_reference_loss(y, logits, weight, smoothing), rel=1e-4)


def test_agreeing_views_cost_no_consistency_and_disagreeing_ones_do():
    from emofuse.plugins.ravdess_cnn.consistency import consistency_loss

    y = np.eye(8, dtype=np.float32)[[2]]
    same = np.stack([np.linspace(-1, 1, 8)] * 2)[None].astype(np.float32)
    apart = same.copy()
    apart[0, 1] = apart[0, 1, ::-1]
    loss = consistency_loss(12.0)
    assert float(loss(y, same)) == pytest.approx(float(consistency_loss(0.0)(y, same)), abs=1e-6)
    assert float(loss(y, apart)) > float(consistency_loss(0.0)(y, apart)) + 0.5


def test_the_pair_model_runs_one_network_on_both_views():
    from emofuse.plugins.ravdess_cnn.consistency import base_of, pair_model
    from emofuse.plugins.ravdess_cnn.model import TINY_WIDTHS, build_voice_model

    base = build_voice_model(6, None, TINY_WIDTHS, dense=8)
    pair = pair_model(base)
    assert base_of(pair) is base
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(3, 40, 6)).astype(np.float32), rng.normal(size=(3, 40, 6)).astype(np.float32)
    out = np.asarray(pair.predict_on_batch([a, b]))
    assert out.shape == (3, 2, 8)
    np.testing.assert_allclose(out[:, 0], np.asarray(base.predict_on_batch(a)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[:, 1], np.asarray(base.predict_on_batch(b)), rtol=1e-5, atol=1e-5)
    assert len(pair.trainable_weights) == len(base.trainable_weights)   # shared, not copied


@pytest.mark.slow
def test_train_voice_with_consistency_saves_a_plain_model_resumes_and_refuses_bad_options(tmp_path, capsys):
    from emofuse.cli import main
    from emofuse.plugins.ravdess_cnn.model import load_voice_model

    data = tmp_path / "ravdess"
    write_ravdess(data, actors=(1, 2, 3))
    args = ["train", "voice", "--data", str(data), "--val-actors", "3", "--members", "1", "--tiny",
            "--cache-dir", str(tmp_path / "cache"), "--threads", "1", "--checkpoint-dir", str(tmp_path / "ckpt")]
    out = tmp_path / "m.keras"
    assert main(args + ["--epochs", "1", "--consistency", "12", "--augment", "default", "--output", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["consistency"] == 12.0 and meta["config"]["consistency"] == 12.0
    assert len(load_voice_model(out).inputs) == 1                    # the pair wrapper is not shipped
    assert len(load_voice_model(tmp_path / "ckpt" / "member0" / "last.keras").inputs) == 2   # but it trained
    # resumed from the pair checkpoint, one more epoch
    assert main(args + ["--epochs", "2", "--consistency", "12", "--augment", "default", "--resume",
                        "--output", str(out)]) == 0
    state = json.loads((tmp_path / "ckpt" / "member0" / "state.json").read_text())
    assert state["epoch"] == 2 and len(state["history"]["loss"]) == 2
    capsys.readouterr()
    refused = tmp_path / "n.keras"
    assert main(args + ["--epochs", "1", "--consistency", "12", "--augment", "none", "--output", str(refused)]) == 1
    assert "--consistency pairs files with their augmented copies" in capsys.readouterr().err
    assert main(args + ["--epochs", "1", "--consistency", "-1", "--output", str(refused)]) == 1
    assert "--consistency -1: must be 0 (off) or above" in capsys.readouterr().err
    assert not refused.exists()
