"""The voice model end to end on synthetic RAVDESS-style audio: train, resume, evaluate, classify."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emofuse.cli import main
from emofuse.errors import IncompatibleComponentsError
from emofuse.labels import LABELS, RAVDESS_LABELS
from emofuse.plugins.mfcc import MfccExtractor

from .voice_helpers import voice, write_ravdess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained for one epoch on actors 1-2 (actor 3 held out), with its data and folders."""
    root = tmp_path_factory.mktemp("voice")
    data = root / "ravdess"
    write_ravdess(data, actors=(1, 2), rate=48000, suffix=".wav", stereo_every=3)
    write_ravdess(data, actors=(3,), rate=16000, suffix=".flac")
    out = root / "model" / "voice.keras"
    args = ["train", "voice", "--data", str(data), "--val-actors", "3", "--epochs", "1", "--members", "1",
            "--tiny", "--no-augment", "--output", str(out), "--checkpoint-dir", str(root / "ckpt"),
            "--cache-dir", str(root / "cache"), "--threads", "1", "--seed", "3"]
    assert main(args) == 0
    return {"root": root, "data": data, "model": out, "args": args}


def test_training_writes_model_metadata_and_checkpoints(trained):
    out = trained["model"]
    assert out.is_file() and out.stat().st_size > 0
    from emofuse.plugins.litert import stale_reason

    assert out.with_suffix(".tflite").is_file() and stale_reason(out) is None  # the LiteRT export
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["train_actors"] == [1, 2] and meta["val_actors"] == [3]
    assert meta["n_train"] == 16 and meta["n_val"] == 8
    assert meta["feature_spec"] == json.loads(json.dumps(MfccExtractor().feature_spec))
    assert meta["seed"] == 3
    # the recorded validation accuracy is what an evaluation of the saved model on actor 3 measures
    from emofuse.plugins.ravdess_cnn.evaluate import evaluate_voice_model

    again = evaluate_voice_model(trained["data"], actors=[3], model=out, cache_dir=trained["root"] / "cache")
    assert again["n"] == meta["n_val"] and again["accuracy"] == pytest.approx(meta["val_accuracy"], abs=1e-9)
    state = json.loads((trained["root"] / "ckpt" / "member0" / "state.json").read_text())
    assert state["epoch"] == 1 and len(state["history"]["loss"]) == 1


def test_resume_continues_from_the_checkpoint(trained, capsys):
    args = [a if a != "1" or i != trained["args"].index("--epochs") + 1 else "2"
            for i, a in enumerate(trained["args"])] + ["--resume"]
    assert main(args) == 0
    state = json.loads((trained["root"] / "ckpt" / "member0" / "state.json").read_text())
    assert state["epoch"] == 2 and len(state["history"]["loss"]) == 2
    assert "validation actors 3" in capsys.readouterr().out


def test_evaluate_json_over_every_file_and_report(trained, capsys, tmp_path):
    code = main(["evaluate", "voice", "--data", str(trained["data"]), "--model", str(trained["model"]), "--json",
                 "--cache-dir", str(trained["root"] / "cache"), "--report", str(tmp_path / "report")])
    assert code == 0
    captured = capsys.readouterr()
    metrics = json.loads(captured.out)
    for key in ("accuracy", "macro_f1", "n", "per_class", "confusion", "accuracy_7"):
        assert key in metrics
    assert metrics["n"] == 24 and metrics["actors"] == [1, 2, 3]
    assert set(metrics["per_class"]) == set(RAVDESS_LABELS)
    assert np.asarray(metrics["confusion"]).shape == (8, 8) and np.asarray(metrics["confusion"]).sum() == 24
    assert np.asarray(metrics["confusion_7"]).shape == (7, 7)
    assert "actors 1-2 were in the model's training set" in captured.err
    assert (tmp_path / "report" / "voice_confusion.png").stat().st_size > 1000


def test_evaluate_actor_filter_and_text_report(trained, capsys):
    code = main(["evaluate", "voice", "--data", str(trained["data"]), "--model", str(trained["model"]),
                 "--actors", "3", "--cache-dir", str(trained["root"] / "cache")])
    assert code == 0
    captured = capsys.readouterr()
    assert "7-class accuracy" in captured.out and "confusion matrix" in captured.out
    assert "training set" not in captured.err


def test_evaluate_unreadable_file_is_a_one_line_error(trained, tmp_path, capsys):
    write_ravdess(tmp_path, actors=(5,), emotions=(1,))
    bad = tmp_path / "Actor_05" / "03-01-03-01-01-01-05.wav"
    bad.write_bytes(b"not audio")
    code = main(["evaluate", "voice", "--data", str(tmp_path), "--model", str(trained["model"]),
                 "--cache-dir", str(tmp_path / "cache")])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("emofuse: error: ") and "03-01-03-01-01-01-05.wav: cannot read audio" in err


def _evaluate_json(trained, capsys, *options: str) -> dict:
    code = main(["evaluate", "voice", "--data", str(trained["data"]), "--model", str(trained["model"]), "--json",
                 "--actors", "3", "--cache-dir", str(trained["root"] / "cache"), *options])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_evaluate_under_a_condition_scores_the_files_under_it(trained, capsys):
    plain = _evaluate_json(trained, capsys)
    clean = _evaluate_json(trained, capsys, "--condition", "clean")
    assert plain["condition"] == clean["condition"] == "clean"
    assert clean["confusion"] == plain["confusion"] and clean["n"] == 8
    cache = trained["root"] / "cache"
    assert not list(cache.glob("cond-white5-*.npz"))
    noisy = _evaluate_json(trained, capsys, "--condition", "white5")
    assert noisy["condition"] == "white5" and noisy["n"] == 8
    assert len(list(cache.glob("cond-white5-*.npz"))) == 1      # the files were put under white noise


def test_evaluate_condition_list_prints_the_robustness_table(trained, capsys, tmp_path):
    import pandas as pd

    alone = {c: _evaluate_json(trained, capsys, "--condition", c)["accuracy"] for c in ("clean", "telephone")}
    table = _evaluate_json(trained, capsys, "--condition", "telephone,clean", "--report", str(tmp_path / "r"))
    rows = {row["condition"]: row for row in table["rows"]}
    assert list(rows) == ["telephone", "clean"] and table["n"] == 8 and table["actors"] == [3]
    assert rows["telephone"]["accuracy"] == pytest.approx(alone["telephone"])
    assert rows["clean"]["accuracy"] == pytest.approx(alone["clean"])
    assert rows["telephone"]["drop"] == pytest.approx(100 * (alone["clean"] - alone["telephone"]), abs=0.051)
    csv = pd.read_csv(tmp_path / "r" / "voice_robustness.csv")
    assert list(csv["condition"]) == ["telephone", "clean"]
    code = main(["evaluate", "voice", "--data", str(trained["data"]), "--model", str(trained["model"]),
                 "--actors", "3", "--cache-dir", str(trained["root"] / "cache"), "--condition", "clean,white5"])
    assert code == 0
    text = capsys.readouterr().out
    assert "| white5 |" in text and "conditions more than 10 points under clean" in text


def test_evaluate_unknown_condition_is_refused_before_any_work(trained, tmp_path, capsys):
    code = main(["evaluate", "voice", "--data", str(tmp_path / "absent"), "--model", str(trained["model"]),
                 "--cache-dir", str(tmp_path / "cache"), "--condition", "white5,underwater"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("emofuse: error: --condition white5,underwater: unknown condition underwater")
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "cache").exists()


@pytest.fixture(scope="module")
def second(trained):
    """A second tiny model on the same data, another seed."""
    out = trained["root"] / "model" / "voice_b.keras"
    args = [a for a in trained["args"]]
    args[args.index("--seed") + 1] = "4"
    args[args.index("--epochs") + 1] = "2"          # a schedule may differ, the network's shape may not
    args[args.index("--output") + 1] = str(out)
    args[args.index("--checkpoint-dir") + 1] = str(trained["root"] / "ckpt_b")
    assert main(args) == 0
    return out


def _raw_logits(path, x):
    """The saved model's logits on `x` with its temperature taken out."""
    from emofuse.plugins.ravdess_cnn.model import load_voice_model

    return np.asarray(load_voice_model(path)(x)) * json.loads(path.with_suffix(".json").read_text())["temperature"]


def test_combine_gives_every_network_an_equal_share(trained, second, capsys):
    out = trained["root"] / "model" / "both.keras"
    code = main(["train", "voice", "--data", str(trained["data"]), "--combine", str(trained["model"]), str(second),
                 "--output", str(out), "--cache-dir", str(trained["root"] / "cache")])
    assert code == 0
    assert "2 networks" in capsys.readouterr().out and out.with_suffix(".tflite").is_file()
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["members"] == 2 and [m["model"] for m in meta["combined_from"]] == [str(trained["model"]), str(second)]
    assert [m["consistency"] for m in meta["combined_from"]] == [0.0, 0.0]   # how each part was trained
    x = np.random.default_rng(0).standard_normal((2, 100, meta["feature_spec"]["n_features"])).astype(np.float32)
    expected = (_raw_logits(trained["model"], x) + _raw_logits(second, x)) / 2
    np.testing.assert_allclose(_raw_logits(out, x), expected, rtol=1e-4, atol=1e-4)
    # the recorded accuracy and temperature are those of the saved ensemble on the validation actor
    from emofuse.plugins.ravdess_cnn.evaluate import evaluate_voice_model

    again = evaluate_voice_model(trained["data"], actors=[3], model=out, cache_dir=trained["root"] / "cache")
    assert again["accuracy"] == pytest.approx(meta["val_accuracy"], abs=1e-9)
    assert meta["temperature"] == pytest.approx(_refitted_temperature(out, trained["data"], trained["root"] / "cache"),
                                                rel=1e-3)


def _refitted_temperature(path, data, cache):
    """The temperature fitted again on the saved model's raw logits over its validation actors."""
    from emofuse.calibration import fit_temperature
    from emofuse.plugins.ravdess_cnn.cache import file_features
    from emofuse.plugins.ravdess_cnn.data import find_ravdess
    from emofuse.plugins.ravdess_cnn.features import normalize
    from emofuse.plugins.ravdess_cnn.model import load_voice_model
    from emofuse.plugins.ravdess_cnn.prosody import extractor_from_spec, raw_columns
    from emofuse.plugins.ravdess_cnn.train import utterance_logits

    meta = json.loads(path.with_suffix(".json").read_text())
    model, spec = load_voice_model(path), meta["feature_spec"]
    val = find_ravdess(data, meta["val_actors"])
    feats = file_features(val.files, extractor_from_spec(spec), ("orig",), cache, meta["trim"])["orig"]
    logits = utterance_logits(lambda x: np.asarray(model(x)) * meta["temperature"],
                              [normalize(f, raw_columns(spec)) for f in feats], meta["window_frames"])
    return fit_temperature(logits, val.labels)


def test_combine_refuses_models_that_do_not_fit_together(trained, second, tmp_path, capsys):
    other = tmp_path / "other.keras"
    other.write_bytes(second.read_bytes())
    meta = json.loads(second.with_suffix(".json").read_text())
    other.with_suffix(".json").write_text(json.dumps({**meta, "window_frames": meta["window_frames"] + 1}))
    out = tmp_path / "c.keras"
    wider = tmp_path / "wider.keras"
    wider.write_bytes(second.read_bytes())
    wider.with_suffix(".json").write_text(json.dumps({**meta, "config": {**meta["config"], "dense": 9}}))
    cases = [([str(trained["model"]), str(other)], f"--combine {other}: its window_frames differs"),
             ([str(trained["model"]), str(wider)], f"--combine {wider}: its config differs"),
             ([str(trained["model"]), str(tmp_path / "absent.keras")], "absent.keras: no such model file"),
             ([str(trained["model"])], "--combine needs at least two networks, got 1")]
    for models, message in cases:
        code = main(["train", "voice", "--data", str(trained["data"]), "--combine", *models, "--output", str(out),
                     "--cache-dir", str(trained["root"] / "cache")])
        err = capsys.readouterr().err
        assert code == 1 and message in err and len(err.strip().splitlines()) == 1, err
        assert not out.exists()


@pytest.mark.parametrize("extra, named", [
    (["--vtlp"], "--vtlp: no effect with --combine"),
    (["--width-scale", "1.5", "--epochs", "5"], "--epochs, --width-scale: no effect with --combine"),
    (["--val-actors", "1-4"], "--val-actors: no effect with --combine"),
])
def test_combine_refuses_options_only_training_reads(trained, second, tmp_path, capsys, extra, named):
    out = tmp_path / "c.keras"
    code = main(["train", "voice", "--data", str(trained["data"]), "--combine", str(trained["model"]), str(second),
                 "--output", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 1 and named in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_width_scale_widens_every_block_and_the_head(trained, tmp_path):
    from emofuse.plugins.ravdess_cnn.model import load_voice_model

    out = tmp_path / "wide.keras"
    args = [a for a in trained["args"]]
    args[args.index("--output") + 1] = str(out)
    args[args.index("--checkpoint-dir") + 1] = str(tmp_path / "ckpt")
    assert main(args + ["--width-scale", "2"]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["config"]["widths"] == [16, 16] and meta["config"]["dense"] == 16     # --tiny: 8, 8 and 8
    assert meta["width_scale"] == 2 and json.loads(trained["model"].with_suffix(".json").read_text())["width_scale"] == 1
    member = next(layer for layer in load_voice_model(out).layers if layer.name == "member0")
    assert member.get_layer("b1_conv1").filters == 16 and member.get_layer("head_dense").units == 16


def test_width_scale_must_be_positive(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    out = tmp_path / "m.keras"
    assert main(["train", "voice", "--data", str(tmp_path), "--width-scale", "0", "--output", str(out)]) == 1
    assert "--width-scale 0: must be above 0" in capsys.readouterr().err and not out.exists()


@pytest.fixture(scope="module")
def classifier(trained):
    from emofuse.plugins.ravdess_cnn import RavdessCnnClassifier

    return RavdessCnnClassifier(model=trained["model"])


def test_classifier_scores_short_and_long_windows(classifier):
    ex = MfccExtractor()
    assert classifier.min_window == pytest.approx(1.0)        # the tiny model trains on 1 s crops
    for seconds in (0.3, 1.0, 7.5):
        scores = classifier.classify(ex.extract(voice(seconds, 16000), 16000))
        assert scores is not None and len(scores.values) == len(LABELS)
        assert list(scores.raw) == list(RAVDESS_LABELS)
        raw = np.asarray(list(scores.raw.values()))
        assert raw.sum() == pytest.approx(1.0, abs=1e-5)
        assert scores.as_dict()["neutral"] == pytest.approx(scores.raw["neutral"] + scores.raw["calm"], abs=1e-5)
        assert scores.as_dict()["fear"] == pytest.approx(scores.raw["fearful"], abs=1e-5)


def test_long_windows_average_their_parts(classifier):
    ex = MfccExtractor()
    feats = ex.extract(np.concatenate([voice(1.0, 16000, pitch=120), voice(1.0, 16000, pitch=260, seed=2)]), 16000)
    both = classifier.classify(feats)
    first = classifier.classify(feats[:100])
    assert both is not None and first is not None
    assert not np.allclose(both.array, first.array)


def test_classifier_returns_none_for_silence(classifier):
    ex = MfccExtractor()
    assert classifier.classify(ex.extract(np.zeros(16000, np.float32), 16000)) is None
    quiet = voice(1.0, 16000, level=1e-5)
    assert classifier.classify(ex.extract(quiet, 16000)) is None
    assert classifier.classify(np.zeros((0, 120), np.float32)) is None
    assert classifier.classify(ex.extract(voice(1.0, 16000, level=0.05), 16000)) is not None


def test_check_features_refuses_other_specs(classifier):
    classifier.check_features(MfccExtractor().feature_spec)
    with pytest.raises(IncompatibleComponentsError, match="n_mfcc: 40 expected, got 20"):
        classifier.check_features(MfccExtractor(n_mfcc=20).feature_spec)
    with pytest.raises(IncompatibleComponentsError, match="kind: 'mfcc' expected, got 'logmel'"):
        classifier.check_features(MfccExtractor(kind="logmel").feature_spec)
    with pytest.raises(IncompatibleComponentsError, match=r"shaped \(frames, 120\)"):
        classifier.classify(np.ones((50, 64), np.float32))


def test_train_refuses_bad_options_before_loading_anything(tmp_path, capsys):
    assert main(["train", "voice", "--data", str(tmp_path), "--output", str(tmp_path / "m.h5")]) == 1
    assert "must end in .keras" in capsys.readouterr().err
    assert main(["train", "voice", "--data", str(tmp_path / "missing"), "--output", str(tmp_path / "m.keras")]) == 1
    assert "no such file or directory" in capsys.readouterr().err
