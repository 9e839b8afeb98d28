"""The `fer-cnn` visual classifier plugin: registration, import cost, scores on face crops."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emofuse.components import VisualClassifier
from emofuse.errors import EmofuseError
from emofuse.labels import LABELS
from emofuse.types import EmotionScores


def test_plugin_registers_fer_cnn():
    from emofuse.plugin_manager import collect_components
    from emofuse.plugins.fer_cnn import FerCnnClassifier

    entry = collect_components()["visual_classifier"].get("fer-cnn")
    assert entry.factory is FerCnnClassifier and entry.plugin == "fer_cnn"
    assert "FER2013" in entry.description


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """The shipped model when it is installed; otherwise an untrained tiny one with metadata, saved to tmp."""
    from emofuse.plugins.fer_cnn.artifacts import default_model_path, write_metadata

    shipped = default_model_path()
    if shipped.is_file():
        return shipped
    from emofuse.plugins.fer_cnn.model import build_face_model

    path = tmp_path_factory.mktemp("fer") / "untrained.keras"
    build_face_model(widths=(4, 8), dense=8).save(path)
    write_metadata(path, {"labels": list(LABELS), "temperature": 1.5})
    return path


def _crops():
    from skimage.data import astronaut

    rng = np.random.default_rng(0)
    face = astronaut()[20:220, 140:320]  # Eileen Collins's face, RGB uint8
    return [face, np.ascontiguousarray(face[:, ::-1]), rng.integers(0, 256, (60, 50), dtype=np.uint8)]


def test_classify_returns_valid_scores_in_one_call(model_path, monkeypatch):
    from emofuse.plugins.fer_cnn import FerCnnClassifier, predict

    classifier = FerCnnClassifier(model=model_path)
    assert isinstance(classifier, VisualClassifier)
    assert classifier.temperature == json.loads(model_path.with_suffix(".json").read_text())["temperature"]
    calls = []
    forward = predict.compiled_forward(classifier.model)
    monkeypatch.setattr(predict, "compiled_forward", lambda model: lambda x: calls.append(len(x)) or forward(x))
    crops = _crops()
    scores = classifier.classify(crops)
    assert calls == [2 * len(crops)]  # zoomed faces and their mirror images, one batched call
    assert len(scores) == 3 and all(isinstance(s, EmotionScores) for s in scores)
    for s in scores:
        assert s.array.shape == (7,) and abs(s.array.sum() - 1) < 1e-6 and s.array.min() >= 0
        assert s.label in LABELS
    # flip averaging: a face and its mirror image get the same scores
    np.testing.assert_allclose(scores[0].array, scores[1].array, atol=1e-5)
    assert classifier.classify([]) == []


def test_temperature_option_overrides_the_metadata(model_path):
    from emofuse.plugins.fer_cnn import FerCnnClassifier
    from emofuse.plugins.fer_cnn.predict import predict_logits, softmax

    classifier = FerCnnClassifier(model=model_path, temperature=3.0, flip_average=False)
    crops = _crops()
    expected = softmax(predict_logits(classifier.model, crops, flip_average=False), 3.0)
    assert not np.allclose(expected, softmax(predict_logits(classifier.model, crops), 3.0), atol=1e-6)
    np.testing.assert_allclose([s.array for s in classifier.classify(crops)], expected, atol=1e-6)
    with pytest.raises(ValueError, match="temperature"):
        FerCnnClassifier(model=model_path, temperature=0)


def test_view_options_reach_the_network(model_path, monkeypatch):
    from emofuse.plugins.fer_cnn import FerCnnClassifier, predict
    from emofuse.plugins.fer_cnn.predict import predict_logits, softmax

    classifier = FerCnnClassifier(model=model_path, face_view=True, zoom=0.9)
    crops = _crops()
    expected = softmax(predict_logits(classifier.model, crops, face_view=True, zoom=0.9), classifier.temperature)
    assert not np.allclose(expected, softmax(predict_logits(classifier.model, crops), classifier.temperature), atol=1e-6)
    calls = []
    forward = predict.compiled_forward(classifier.model)
    monkeypatch.setattr(predict, "compiled_forward", lambda model: lambda x: calls.append(len(x)) or forward(x))
    np.testing.assert_allclose([s.array for s in classifier.classify(crops)], expected, atol=1e-6)
    assert calls == [4 * len(crops)]  # the crop, its 0.9 zoom and their mirror images
    # a view set that scores nothing is refused before any model is loaded
    with pytest.raises(ValueError, match="no test-time view left"):
        FerCnnClassifier(model="no/such/model.keras", face_view=False, zoom_average=False)


def test_created_through_the_registry(model_path):
    from emofuse.plugin_manager import collect_components

    classifier = collect_components()["visual_classifier"].create("fer-cnn", model=str(model_path))
    assert len(classifier.classify(_crops()[:1])) == 1


def test_missing_model_is_a_clear_error(monkeypatch, tmp_path):
    from emofuse.plugins.fer_cnn import FerCnnClassifier, artifacts

    monkeypatch.setattr(artifacts, "default_model_path", lambda: tmp_path / "fer_cnn.keras")
    with pytest.raises(EmofuseError, match="face model is not installed"):
        FerCnnClassifier()
    (tmp_path / "junk.keras").write_bytes(b"not a model")
    with pytest.raises(EmofuseError, match="junk.keras: cannot load"):
        FerCnnClassifier(model=tmp_path / "junk.keras")


def test_bfloat16_precision_gives_nearly_the_float32_scores(model_path):
    from emofuse.plugins.fer_cnn import FerCnnClassifier

    exact = FerCnnClassifier(model=model_path, precision="float32", backend="keras")
    fast = FerCnnClassifier(model=model_path, precision="bfloat16", backend="keras")
    import keras

    assert keras.mixed_precision.global_policy().name == "float32"  # left as it was
    assert fast.model.layers[1].compute_dtype == "bfloat16" and exact.model.layers[1].compute_dtype == "float32"
    a = np.array([s.values for s in exact.classify(_crops())])
    b = np.array([s.values for s in fast.classify(_crops())])
    assert np.abs(a - b).max() < 0.03
    assert (a.argmax(axis=1) == b.argmax(axis=1)).all()


def test_precision_is_checked_and_auto_follows_the_cpu(monkeypatch):
    from emofuse.plugins.fer_cnn import artifacts

    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16"):
        artifacts.resolve_precision("float16")
    monkeypatch.setattr(artifacts, "cpu_has_bfloat16", lambda: False)
    assert artifacts.resolve_precision("auto") == "float32"
    monkeypatch.setattr(artifacts, "cpu_has_bfloat16", lambda: True)
    assert artifacts.resolve_precision("auto") == "bfloat16"
    assert artifacts.resolve_precision("float32") == "float32"


@pytest.mark.slow
@pytest.mark.data
def test_shipped_model_reproduces_its_publictest_figures(tmp_path):
    """The shipped LiteRT face model on all 3,589 PublicTest faces (its validation set: watched
    during training, temperature and views chosen on it) gives the figures README, docs/models.md
    and fer_cnn.json state, to the rounding they are stated with: a 1-point regression fails."""
    import gzip
    import re

    from emofuse.plugins.fer_cnn.artifacts import default_model_path, read_metadata
    from emofuse.plugins.fer_cnn.data import load_fer2013
    from emofuse.plugins.fer_cnn.predict import predict_view_logits
    from emofuse.plugins.litert import LiteRTModel, litert_available, litert_path

    from .face_helpers import FER_CSV, REPO, write_csv

    if not FER_CSV.is_file():
        pytest.skip(f"real FER2013 data not found at {FER_CSV}")
    if not litert_available():
        pytest.skip("ai-edge-litert is not installed")
    with gzip.open(FER_CSV, "rt") as f:
        header, *rows = f.read().splitlines()
    faces = load_fer2013(write_csv(tmp_path / "public.csv", [r for r in rows if r.endswith(",PublicTest")],
                                   header=header)).split("PublicTest")
    assert len(faces) == 3589
    # face, zoom 95 %, and their mirrors: the default 2 views are the 2nd and 4th
    views = predict_view_logits(LiteRTModel(litert_path(default_model_path())), faces.images, face_view=True)

    def accuracy(logits):
        return float(np.mean(logits.argmax(axis=1) == faces.labels))

    default, mirror, single = accuracy(views[[1, 3]].mean(axis=0)), accuracy(views[[0, 2]].mean(axis=0)), accuracy(views[0])
    meta = read_metadata(default_model_path())
    assert default == pytest.approx(meta["litert"]["public_test_accuracy"], abs=5e-5)
    readme = (REPO / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `fer-cnn`"))
    stated, stated_mirror = re.search(r"(\d+\.\d) % \(2 test-time views.*?(\d+\.\d) % face \+ mirror", row).groups()
    assert round(100 * default, 1) == float(stated)
    assert round(100 * mirror, 1) == float(stated_mirror)
    models = (REPO / "docs" / "models.md").read_text()
    assert f"PublicTest, 2 views: **{100 * default:.2f} %**" in models
    single_row = re.search(r"\| the face only \(`--no-flip --no-zoom`\) \| (\d+\.\d) %", models).group(1)
    assert abs(100 * single - float(single_row)) < 0.15  # the table's figure is the Keras model's
