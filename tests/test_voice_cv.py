"""Actor-disjoint cross-validation of the voice recipe (`benchmarks/voice_cv.py`) and the shared
condition copies it relies on."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from .voice_helpers import write_ravdess

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import voice_cv  # noqa: E402


def _train(data: Path, tmp_path: Path, val: str, name: str, augment: str = "conditions") -> dict:
    from emofuse.cli import main

    out = tmp_path / f"{name}.keras"
    assert main(["train", "voice", "--data", str(data), "--val-actors", val, "--epochs", "1", "--members", "1",
                 "--tiny", "--augment", augment, "--output", str(out), "--cache-dir", str(tmp_path / "cache"),
                 "--threads", "1"]) == 0
    return json.loads(out.with_suffix(".json").read_text())


def test_training_features_cover_every_file_in_order(tmp_path):
    from emofuse.plugins.mfcc import MfccExtractor
    from emofuse.plugins.ravdess_cnn.data import find_ravdess
    from emofuse.plugins.ravdess_cnn.train import training_features

    data = tmp_path / "ravdess"
    write_ravdess(data, actors=(1, 2), emotions=(1, 5), seconds=0.6)
    files = find_ravdess(data).files
    every = training_features(files, MfccExtractor(), "conditions", condition_copies=2, cache_dir=tmp_path / "c")
    assert list(every) == ["orig", "speed0.9", "speed1.1", "pitch-2", "pitch+2", "noise20", "random:0", "random:1"]
    assert all(len(v) == len(files) for v in every.values())
    assert not np.array_equal(every["random:0"][0], every["orig"][0])
    assert list(training_features(files, MfccExtractor(), "none", cache_dir=tmp_path / "c")) == ["orig"]
    assert list(training_features(files, MfccExtractor(), "default", 2, tmp_path / "c"))[-1] == "noise20"


@pytest.mark.slow
def test_folds_share_one_set_of_condition_copies(tmp_path):
    data = tmp_path / "ravdess"
    write_ravdess(data, actors=(1, 2, 3), emotions=(1, 3, 5), seconds=0.8)
    first = _train(data, tmp_path, "3", "a")
    cached = sorted(p.name for p in (tmp_path / "cache").glob("cond-random*.npz"))
    second = _train(data, tmp_path, "1", "b")
    assert sorted(p.name for p in (tmp_path / "cache").glob("cond-random*.npz")) == cached   # reused
    assert len(cached) == 6
    assert (first["train_actors"], first["val_actors"]) == ([1, 2], [3])
    assert (second["train_actors"], second["val_actors"]) == ([2, 3], [1])
    assert first["n_train"] == second["n_train"] == 6


@pytest.mark.slow
def test_cross_validation_trains_each_fold_once_and_reports_the_mean(tmp_path, capsys):
    data = tmp_path / "ravdess"
    write_ravdess(data, actors=(1, 2, 3), emotions=(1, 3, 5), seconds=0.8)
    out = tmp_path / "cv"
    argv = ["--data", str(data), "--out", str(out), "--folds", "1,2-3", "--members", "1", "--epochs", "1",
            "--augment", "none", "--tiny", "--cache-dir", str(tmp_path / "cache")]
    assert voice_cv.main(argv) == 0
    result = json.loads((out / "cv.json").read_text())
    rows = {r["fold"]: r for r in result["rows"]}
    assert set(rows) == {"1", "2-3"} and (rows["1"]["n"], rows["2-3"]["n"]) == (3, 6)
    assert result["mean_accuracy"] == pytest.approx((rows["1"]["accuracy"] + rows["2-3"]["accuracy"]) / 2)
    assert json.loads((out / "fold_2-3" / "ravdess_cnn.json").read_text())["train_actors"] == [1]
    table = capsys.readouterr().out
    assert f"{result['mean_accuracy']:.1%}" in table and "| 2-3 |" in table

    log = out / "fold_1" / "train.log"
    size = log.stat().st_size
    assert voice_cv.main(argv) == 0                        # finished folds are not trained again
    assert log.stat().st_size == size
    def asked(**changes):
        return argparse.Namespace(**{"out": out, "members": 1, "epochs": 1, "features": "mfcc", "trim": "energy",
                                     "augment": "none", "condition_copies": 6, "condition_strength": "table",
                                     "width_scale": 1.0, "vtlp": False, "consistency": 0.0, **changes})

    assert voice_cv.finished(asked(), "1") is True
    assert voice_cv.finished(asked(members=2), "1") is False      # more members: the fold is trained further
    assert voice_cv.finished(asked(epochs=2), "1") is False
    assert voice_cv.finished(asked(features="mfcc+prosody"), "1") is False
    assert voice_cv.finished(asked(trim="vad"), "1") is False             # trimmed another way
    assert voice_cv.finished(asked(condition_copies=12), "1") is True     # copies only matter with conditions
    assert voice_cv.finished(asked(condition_strength="hard"), "1") is True
    assert voice_cv.finished(asked(width_scale=1.5), "1") is False        # a wider network is another recipe
    assert voice_cv.finished(asked(vtlp=True), "1") is False              # trained without the warped copies
    assert voice_cv.finished(asked(consistency=1.0), "1") is False        # trained without the pairs


def test_a_fold_with_other_condition_copies_is_not_finished(tmp_path):
    meta = tmp_path / "fold_1" / "ravdess_cnn.json"
    meta.parent.mkdir()
    recipe = {"members": 1, "epochs": 60, "features": "mfcc", "trim": "energy"}
    args = argparse.Namespace(out=tmp_path, augment="conditions", condition_copies=6, condition_strength="table",
                              width_scale=1.0, vtlp=False, consistency=0.0, **recipe)
    meta.write_text(json.dumps(recipe))                                   # older models: 6 copies, not recorded
    assert voice_cv.finished(args, "1") is True
    meta.write_text(json.dumps({**recipe, "condition_copies": 12}))
    assert voice_cv.finished(args, "1") is False
    args.condition_copies = 12
    assert voice_cv.finished(args, "1") is True
    args.condition_strength = "hard"                                      # the copies were the table's
    assert voice_cv.finished(args, "1") is False
    meta.write_text(json.dumps({**recipe, "condition_copies": 12, "condition_strength": "hard"}))
    assert voice_cv.finished(args, "1") is True


def test_fold_command_resumes_and_passes_the_recipe(tmp_path):
    args = argparse.Namespace(out=tmp_path, data=Path("d"), epochs=60, members=3, seed=7, augment="conditions",
                              features="mfcc+prosody", trim="vad", threads=1, cache_dir=None, tiny=False,
                              condition_copies=12, condition_strength="table", width_scale=1.5, vtlp=False,
                              consistency=0.0)
    assert "--vtlp" not in voice_cv.train_command(args, "5-8")
    assert "--condition-strength" not in voice_cv.train_command(args, "5-8")   # the default, as train voice's
    args.condition_strength = "hard"
    cmd = voice_cv.train_command(args, "5-8")
    assert cmd[cmd.index("--condition-strength") + 1] == "hard"
    args.condition_strength = "table"
    assert "--consistency" not in voice_cv.train_command(args, "5-8")
    args.consistency = 1.0
    cmd = voice_cv.train_command(args, "5-8")
    assert cmd[cmd.index("--consistency") + 1] == "1"
    args.vtlp = True
    cmd = voice_cv.train_command(args, "5-8")
    joined = " ".join(cmd[1:])
    assert "--width-scale 1.5" in joined and "--vtlp" in cmd
    assert "--val-actors 5-8" in joined and "--resume" in cmd and "--tiny" not in cmd
    assert "--trim vad" in joined
    assert "--features mfcc+prosody" in joined and "--augment conditions" in joined and "--members 3" in joined
    assert cmd[cmd.index("--output") + 1] == str(tmp_path / "fold_5-8" / "ravdess_cnn.keras")
    assert cmd[cmd.index("--condition-copies") + 1] == "12"
    args.augment = "default"                                              # no copies to count
    assert "--condition-copies" not in voice_cv.train_command(args, "5-8")


def test_too_few_condition_copies_is_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        voice_cv.main(["--data", str(tmp_path), "--out", str(tmp_path / "cv"), "--condition-copies", "0"])
    assert stop.value.code == 2
    assert "--condition-copies 0: must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "cv").exists()


@pytest.mark.parametrize("options, message", [
    (["--consistency", "-1"], "--consistency -1: must be 0 (off) or above"),
    (["--consistency", "1", "--augment", "none"], "--consistency pairs files with their augmented copies"),
])
def test_a_consistency_run_that_cannot_train_is_refused_before_any_work(tmp_path, capsys, options, message):
    with pytest.raises(SystemExit) as stop:
        voice_cv.main(["--data", str(tmp_path), "--out", str(tmp_path / "cv"), *options])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "cv").exists()
