"""`emofuse train face` and `emofuse evaluate face`, end to end on tiny synthetic datasets."""
from __future__ import annotations

import gzip
import json
from collections import Counter

import pytest

from emofuse.labels import LABELS

from .face_helpers import FER_CSV, csv_rows, run_cli, run_json, synthetic_faces, tiny_csv, tiny_folders, write_csv

pytestmark = pytest.mark.slow

TINY_TRAIN = ("--epochs", "1", "--batch-size", "16", "--tiny", "--no-mixed-precision")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny training run on a .gz Kaggle CSV, shared by the tests below."""
    from emofuse.cli import main

    root = tmp_path_factory.mktemp("face")
    data = tiny_csv(root / "fer.csv.gz")
    model = root / "model" / "face.keras"
    assert main(["train", "face", "--data", str(data), "--output", str(model), *TINY_TRAIN]) == 0
    return data, model


def test_train_writes_model_checkpoint_and_metadata(trained):
    data, model = trained
    assert model.is_file()
    state = json.loads((model.with_suffix(".ckpt") / "state.json").read_text())
    assert state["epoch"] == 1 and len(state["history"]["loss"]) == 1
    assert (model.with_suffix(".ckpt") / "last.keras").is_file()
    meta = json.loads(model.with_suffix(".json").read_text())
    assert meta["labels"] == list(LABELS)
    assert meta["input"]["height"] == meta["input"]["width"] == 48
    assert 0.05 <= meta["temperature"] <= 20
    assert meta["public_test"]["n"] == 21 and 0 <= meta["public_test"]["accuracy"] <= 1
    assert meta["training"]["command"].startswith(f"emofuse train face --data {data} --output {model} --epochs 1")
    assert meta["training"]["training_faces"] == 70
    # the LiteRT export (int8 weights) is written beside it, recorded and scored on PublicTest
    assert model.with_suffix(".tflite").is_file()
    assert meta["litert"]["quantization"].startswith("dynamic-range")
    assert 0 <= meta["litert"]["public_test_accuracy"] <= 1
    from emofuse.plugins.litert import stale_reason

    assert stale_reason(model) is None


def test_evaluate_runs_either_backend(trained, capsys):
    data, model = trained
    lite = run_json(capsys, "evaluate", "face", "--data", str(data), "--model", str(model), "--backend", "litert")
    keras = run_json(capsys, "evaluate", "face", "--data", str(data), "--model", str(model), "--backend", "keras")
    assert lite["backend"] == "litert" and keras["backend"] == "keras"
    assert lite["accuracy"] == pytest.approx(json.loads(model.with_suffix(".json").read_text())["litert"]["public_test_accuracy"], abs=1e-4)
    assert abs(lite["accuracy"] - keras["accuracy"]) <= 2 / 21  # int8 weights: at most a face or two apart
    # the training record's PublicTest figures are the Keras model's at the default views and at face + mirror
    recorded = json.loads(model.with_suffix(".json").read_text())["public_test"]
    assert recorded["accuracy"] == pytest.approx(keras["accuracy"], abs=1e-4)
    mirror = run_json(capsys, "evaluate", "face", "--data", str(data), "--model", str(model), "--backend", "keras",
                      "--no-zoom")
    assert recorded["accuracy_flip_only"] == pytest.approx(mirror["accuracy"], abs=1e-4)


def test_calibration_records_the_default_views(trained, tmp_path, monkeypatch):
    """The temperature and the recorded accuracy are those of the default views (the zoom and its
    mirror, views 1 and 3 of face/zoom/mirrors), face + mirror and the face alone beside them."""
    import shutil

    import numpy as np

    from emofuse.plugins.fer_cnn import commands, predict
    from emofuse.plugins.fer_cnn.data import load_fer2013

    data, model = trained
    copy = tmp_path / "face.keras"
    shutil.copy(model, copy)
    labels = load_fer2013(data).split("PublicTest").labels
    right, wrong = np.eye(7)[labels] * 4, np.eye(7)[(labels + 1) % 7] * 4
    asked = []

    def fake_views(model, images, face_view=None, **kwargs):
        asked.append(face_view)
        return np.stack([right, wrong, right, wrong])  # face, zoom, mirrored face, mirrored zoom

    monkeypatch.setattr(predict, "predict_view_logits", fake_views)
    meta = commands.calibrate(copy, data, "cmd")
    assert asked == [True]
    assert meta["public_test"]["accuracy"] == 0.0  # the zoom and its mirror: both wrong
    assert meta["public_test"]["accuracy_flip_only"] == 1.0 and meta["public_test"]["accuracy_single_view"] == 1.0
    assert meta["views"] == {"flip_average": True, "zoom_average": True, "face_view": False, "zoom": predict.ZOOM}


def test_evaluate_json_counts_match_the_test_split(trained, capsys):
    data, model = trained
    result = run_json(capsys, "evaluate", "face", "--data", str(data), "--model", str(model))
    assert result["split"] == "PublicTest" and result["n"] == 21
    assert result["flip_average"] is True and result["zoom_average"] is True
    # every true class has 3 PublicTest faces: the confusion rows must say so
    assert [sum(row) for row in result["confusion"]] == [3] * 7
    assert sum(sum(row) for row in result["confusion"]) == 21
    assert set(result["per_class"]) == set(LABELS)
    assert result["accuracy"] == pytest.approx(sum(result["confusion"][i][i] for i in range(7)) / 21)
    assert result["temperature"] == json.loads(model.with_suffix(".json").read_text())["temperature"]
    everything = run_json(capsys, "evaluate", "face", "--data", str(data), "--model", str(model), "--split", "all",
                          "--no-flip", "--no-zoom")
    assert everything["n"] == 91 and everything["flip_average"] is False and everything["zoom_average"] is False
    assert result["zoom"] == 0.95 and result["face_view"] is False and everything["face_view"] is True
    four = run_json(capsys, "evaluate", "face", "--data", str(data), "--model", str(model), "--zoom", "0.9",
                    "--face-view")
    assert four["zoom"] == 0.9 and four["face_view"] is True
    from emofuse.plugins.fer_cnn.data import load_fer2013
    from emofuse.plugins.fer_cnn.predict import predict_logits
    from emofuse.plugins.litert import LiteRTModel, litert_path

    faces = load_fer2013(data).split("PublicTest")
    for views, options in ((result, {}), (four, dict(face_view=True, zoom=0.9))):
        logits = predict_logits(LiteRTModel(litert_path(model)), faces.images, **options)
        assert views["accuracy"] == pytest.approx(float((logits.argmax(axis=1) == faces.labels).mean()))


def test_evaluate_refuses_a_view_set_that_scores_nothing(trained, capsys):
    data, model = trained
    code, out, err = run_cli(capsys, "evaluate", "face", "--data", str(data), "--model", str(model), "--no-zoom",
                             "--no-face-view")
    assert code != 0 and "no test-time view left" in err and "Traceback" not in err
    code, out, err = run_cli(capsys, "evaluate", "face", "--data", "no/such.csv", "--zoom", "1.5")
    assert code != 0 and "--zoom" in err and "zoom must be a share" in err


def test_evaluate_table_and_report(trained, capsys, tmp_path):
    data, model = trained
    code, out, err = run_cli(capsys, "evaluate", "face", "--data", str(data), "--model", str(model),
                             "--report", str(tmp_path / "rep"))
    assert code == 0, err
    assert "confusion matrix" in out and "macro f1" in out and "surprise" in out
    png = tmp_path / "rep" / "fer_cnn_PublicTest_confusion.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "rep" / "fer_cnn_PublicTest_metrics.json").read_text())["n"] == 21


def test_resume_continues_from_the_checkpoint(trained, tmp_path):
    import shutil

    from emofuse.cli import main

    data, model = trained
    ckpt = shutil.copytree(model.with_suffix(".ckpt"), tmp_path / "ckpt")
    out = tmp_path / "resumed.keras"
    args = ["train", "face", "--data", str(data), "--output", str(out), "--checkpoint-dir", str(ckpt),
            *TINY_TRAIN, "--epochs", "2", "--resume"]
    assert main(args) == 0
    state = json.loads((ckpt / "state.json").read_text())
    assert state["epoch"] == 2 and len(state["history"]["loss"]) == 2
    assert json.loads(out.with_suffix(".json").read_text())["training"]["epochs_run"] == 2
    # started for 1 epoch, resumed for 2: the rest follows the 2-epoch schedule, not the 1-epoch one
    import keras

    from emofuse.plugins.fer_cnn.train import learning_schedule

    resumed = keras.models.load_model(ckpt / "last.keras").optimizer
    steps = int(resumed.iterations.numpy()) // 2
    assert resumed._learning_rate.decay_steps == learning_schedule(2e-3, steps, 2).decay_steps == steps


def test_init_from_starts_a_new_run_from_a_trained_model(trained, tmp_path, capsys):
    import keras
    import numpy as np

    data, model = trained
    out = tmp_path / "continued.keras"
    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(out),
                           "--init-from", str(model), *TINY_TRAIN, "--learning-rate", "1e-9")
    assert code == 0, err
    meta = json.loads(out.with_suffix(".json").read_text())
    assert f"--init-from {model}" in meta["training"]["command"]
    # a learning rate of ~0 leaves the convolution weights where the first run put them
    before = keras.models.load_model(model, compile=False).get_layer("b0_conv0").get_weights()[0]
    after = keras.models.load_model(out, compile=False).get_layer("b0_conv0").get_weights()[0]
    np.testing.assert_allclose(after, before, atol=1e-5)
    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(tmp_path / "x.keras"),
                           "--init-from", str(data), *TINY_TRAIN)
    assert code == 1 and "cannot load the model to start from" in err and err.count("\n") == 1


def test_width_scale_widens_every_block_and_the_head(trained, tmp_path, capsys):
    import keras

    data, _ = trained
    out = tmp_path / "wide.keras"
    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(out), *TINY_TRAIN,
                           "--width-scale", "1.5")
    assert code == 0, err
    network = keras.models.load_model(out, compile=False)
    assert [network.get_layer(f"b{i}_conv{j}").filters for i in (0, 1) for j in (0, 1)] == [12, 12, 24, 24]  # --tiny: 8, 16
    assert network.get_layer("head_dense").units == 24                                                     # --tiny: 16
    assert "--width-scale 1.5" in json.loads(out.with_suffix(".json").read_text())["training"]["command"]


def test_width_scale_is_checked_before_any_work(trained, tmp_path, capsys):
    data, model = trained
    for extra, message in ((("--width-scale", "0"), "--width-scale must be above 0, got 0"),
                           (("--width-scale", "2", "--init-from", str(model)),
                            f"--width-scale cannot be used with --init-from: the network's shape comes from {model}")):
        out = tmp_path / "refused.keras"
        code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(out), *TINY_TRAIN, *extra)
        assert code == 1 and message in err and err.count("\n") == 1
        assert not out.exists() and not out.with_suffix(".ckpt").exists()


def test_train_and_evaluate_on_image_folders(tmp_path, capsys):
    root = tiny_folders(tmp_path / "fer", n_train=35, n_test=14, size=64)
    model = tmp_path / "folder.keras"
    code, _, err = run_cli(capsys, "train", "face", "--data", str(root), "--output", str(model), *TINY_TRAIN)
    assert code == 0, err
    result = run_json(capsys, "evaluate", "face", "--data", str(root), "--model", str(model))
    assert result["n"] == 14 and [sum(r) for r in result["confusion"]] == [2] * 7


def test_errors_are_one_line_and_exit_1(trained, capsys, tmp_path):
    data, model = trained
    images, labels = synthetic_faces(7)
    rows = csv_rows(images, labels, "PublicTest")
    rows[2] = "3," + " ".join(["1"] * 100) + ",PublicTest"
    bad = write_csv(tmp_path / "bad.csv", rows)
    code, out, err = run_cli(capsys, "evaluate", "face", "--data", str(bad), "--model", str(model))
    assert code == 1 and out == ""
    assert err.startswith("emofuse: error: ") and "line 4" in err and "found 100" in err
    assert err.count("\n") == 1
    result = run_json(capsys, "evaluate", "face", "--data", str(bad), "--model", str(model), "--skip-bad")
    assert result["skipped"] == 1 and result["n"] == 6

    code, _, err = run_cli(capsys, "evaluate", "face", "--data", str(data), "--model", str(tmp_path / "none.keras"))
    assert code == 1 and "none.keras: no such face model file" in err
    code, _, err = run_cli(capsys, "train", "face", "--data", str(tmp_path / "missing.csv"), "--output",
                           str(tmp_path / "m.keras"), *TINY_TRAIN)
    assert code == 1 and "missing.csv: no such file or directory" in err
    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), *TINY_TRAIN, "--epochs", "0")
    assert code == 1 and "--epochs must be at least 1" in err


def _combined(capsys, data, out, *models):
    """`emofuse train face --combine MODELS --output out`, which must succeed; the model it saved."""
    from emofuse.plugins.fer_cnn.artifacts import load_face_model

    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(out),
                           "--combine", *map(str, models))
    assert code == 0, err
    return load_face_model(out)


def test_combine_averages_trained_models_into_one_file(trained, tmp_path, capsys):
    import keras
    import numpy as np

    from emofuse.plugins.fer_cnn.artifacts import load_face_model
    from emofuse.plugins.fer_cnn.model import members_of

    data, model = trained
    shifted = tmp_path / "shifted.keras"
    net = keras.models.load_model(model, compile=False)
    bias = net.get_layer("logits").bias
    bias.assign(bias + np.arange(7, dtype="float32"))  # a second, different "model"
    net.save(shifted)
    out = tmp_path / "ensemble.keras"
    ensemble = _combined(capsys, data, out, model, shifted)
    assert [m.name for m in members_of(ensemble)] == ["member0", "member1"]
    x = np.random.default_rng(0).random((5, 48, 48, 1), dtype=np.float32)
    single = keras.models.load_model(model, compile=False).predict_on_batch(x)
    np.testing.assert_allclose(ensemble.predict_on_batch(x), single + np.arange(7) / 2, atol=1e-4)
    assert load_face_model(out, "bfloat16").predict_on_batch(x).shape == (5, 7)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["parameters"] == 2 * net.count_params()
    assert meta["training"]["command"] == (f"emofuse train face --data {data} --output {out} "
                                           f"--combine {model} {shifted}")
    first, second = meta["training"]["members"]  # provenance: each network's own training record
    assert first["file"] == str(model) and second["file"] == str(shifted)
    assert first["training"] == json.loads(model.with_suffix(".json").read_text())["training"]
    assert second["training"] == {}  # saved by hand above: no metadata beside it
    result = run_json(capsys, "evaluate", "face", "--data", str(data), "--model", str(out))
    assert result["n"] == 21

    # an ensemble given to --combine adds each of its networks, each with an equal share
    grown = tmp_path / "grown.keras"
    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(grown),
                           "--combine", str(out), str(model))
    assert code == 0, err
    assert [m.name for m in members_of(load_face_model(grown))] == ["member0", "member1", "member2"]
    np.testing.assert_allclose(load_face_model(grown).predict_on_batch(x), single + np.arange(7) / 3, atol=1e-4)
    records = json.loads(grown.with_suffix(".json").read_text())["training"]["members"]
    assert [r["file"] for r in records] == [str(model), str(shifted), str(model)]

    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(tmp_path / "x.keras"),
                           "--combine", str(model))
    assert code == 1 and "--combine needs at least two networks, got 1" in err
    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(tmp_path / "x.keras"),
                           "--combine", str(model), str(out.with_suffix(".json")))
    assert code == 1 and "ensemble.json: cannot load the model to combine" in err
    assert not (tmp_path / "x.keras").exists()


def test_combine_joins_networks_of_different_widths(trained, capsys, tmp_path):
    """A wide network joins narrow ones (`train face --width-scale`): each member keeps its own
    shape and the ensemble's logits are the mean of its members'."""
    import numpy as np

    keras = pytest.importorskip("keras")

    from emofuse.plugins.fer_cnn.model import architecture_of, build_face_model, members_of, scaled_shape

    data, model = trained
    narrow = keras.models.load_model(model, compile=False)
    shape = architecture_of(narrow)
    wide_shape = scaled_shape(shape["widths"], shape["dense"], 1.5)
    wide = build_face_model(**wide_shape)
    wide_path = tmp_path / "wide.keras"
    wide.save(wide_path)
    out = tmp_path / "mixed.keras"
    ensemble = _combined(capsys, data, out, model, wide_path)
    assert [architecture_of(m)["widths"] for m in members_of(ensemble)] == [shape["widths"], wide_shape["widths"]]
    assert [architecture_of(m)["dense"] for m in members_of(ensemble)] == [shape["dense"], wide_shape["dense"]]
    x = np.random.default_rng(1).random((4, 48, 48, 1), dtype=np.float32)
    expected = (narrow.predict_on_batch(x) + wide.predict_on_batch(x)) / 2
    np.testing.assert_allclose(ensemble.predict_on_batch(x), expected, atol=1e-4)
    assert out.with_suffix(".tflite").is_file()


@pytest.mark.parametrize("mode, extra, named", [
    ("--combine", ["--width-scale", "1.5"], "--width-scale: no effect with --combine"),
    ("--combine", ["--epochs", "5", "--seed", "3"], "--epochs, --seed: no effect with --combine"),
    ("--calibrate-only", ["--cutmix", "0.5"], "--cutmix: no effect with --calibrate-only"),
    ("--calibrate-only", ["--mixed-precision"], "--mixed-precision: no effect with --calibrate-only"),
])
def test_training_options_are_refused_where_nothing_is_trained(trained, capsys, tmp_path, mode, extra, named):
    data, model = trained
    out = tmp_path / "out.keras"
    sources = ["--combine", str(model), str(model)] if mode == "--combine" else ["--calibrate-only"]
    code, _, err = run_cli(capsys, "train", "face", "--data", str(data), "--output", str(out), *sources, *extra)
    assert code == 1 and named in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_calibrate_only_rewrites_the_metadata(trained, tmp_path):
    import shutil

    from emofuse.cli import main

    data, model = trained
    copy = tmp_path / "copy.keras"
    shutil.copy(model, copy)
    assert main(["train", "face", "--data", str(data), "--output", str(copy), "--calibrate-only"]) == 0
    meta = json.loads(copy.with_suffix(".json").read_text())
    assert meta["temperature"] == json.loads(model.with_suffix(".json").read_text())["temperature"]
    assert not copy.with_suffix(".ckpt").exists()


@pytest.mark.data
def test_shipped_model_on_real_publictest_faces(capsys, tmp_path):
    """The shipped model on the last 500 PublicTest rows of the real FER2013 file."""
    from emofuse.plugins.fer_cnn.artifacts import default_model_path

    if not FER_CSV.is_file():
        pytest.skip(f"real FER2013 data not found at {FER_CSV}")
    if not default_model_path().is_file():
        pytest.skip(f"the shipped face model is not installed at {default_model_path()}")
    with gzip.open(FER_CSV, "rt") as f:
        header, *rows = f.read().splitlines()
    rows = [row for row in rows[-500:] if row.endswith(",PublicTest")]
    sample = write_csv(tmp_path / "sample.csv", rows, header=header)
    result = run_json(capsys, "evaluate", "face", "--data", str(sample))
    assert result["n"] == 500
    assert result["accuracy"] > 0.6, result["accuracy"]
    counts = Counter(int(row.split(",", 1)[0]) for row in rows)
    assert [sum(r) for r in result["confusion"]] == [counts[i] for i in range(7)]
