"""The LiteRT backend: exports, freshness, backend choice, the shipped exports, and an analysis
that never imports TensorFlow."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emofuse.errors import EmofuseError
from emofuse.plugins import litert
from emofuse.plugins.litert import LiteRTModel, choose_backend, export_litert, stale_reason

needs_litert = pytest.mark.skipif(not litert.litert_available(), reason="ai-edge-litert is not installed")

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
SHIPPED = [PLUGINS / "fer_cnn" / "fer_cnn.keras", PLUGINS / "ravdess_cnn" / "ravdess_cnn.keras"]


@pytest.fixture(scope="module")
def tiny_face(tmp_path_factory):
    """A small face network saved as .keras with its .json, exported in float32 and int8."""
    import keras

    from emofuse.plugins.fer_cnn.model import build_face_model

    keras.utils.set_random_seed(1)
    model = build_face_model(widths=(16, 32), dense=64)  # big enough tensors to be quantised
    root = tmp_path_factory.mktemp("litert")
    exact, small = root / "exact.keras", root / "small.keras"
    for path in (exact, small):
        model.save(path)
        path.with_suffix(".json").write_text(json.dumps({"name": "tiny"}))
    export_litert(exact, model)
    export_litert(small, quantize=True)  # loaded from the file this time
    return model, exact, small


@needs_litert
def test_a_float32_export_gives_the_keras_outputs_for_any_batch_size(tiny_face):
    model, exact, _ = tiny_face
    lite = LiteRTModel(exact.with_suffix(".tflite"))
    assert lite.output_shape == (None, 7)
    rng = np.random.default_rng(0)
    for n in (1, 6, 2):
        x = rng.random((n, 48, 48, 1), dtype=np.float32)
        np.testing.assert_allclose(lite(x), model.predict_on_batch(x), atol=1e-5)
    assert json.loads(exact.with_suffix(".json").read_text())["name"] == "tiny"  # metadata kept


@needs_litert
def test_an_int8_export_is_smaller_and_close(tiny_face):
    model, exact, small = tiny_face
    record = json.loads(small.with_suffix(".json").read_text())["litert"]
    assert record["quantization"].startswith("dynamic-range") and record["file"] == "small.tflite"
    assert small.with_suffix(".tflite").stat().st_size < exact.with_suffix(".tflite").stat().st_size
    x = np.random.default_rng(1).random((8, 48, 48, 1), dtype=np.float32)
    reference = model.predict_on_batch(x)
    out = LiteRTModel(small.with_suffix(".tflite"))(x)
    assert np.abs(out - reference).max() < 0.1 * max(1.0, np.abs(reference).max())
    assert not np.allclose(out, reference, atol=1e-7)  # really quantised


@needs_litert
def test_auto_uses_litert_only_for_a_fresh_export(tiny_face, tmp_path):
    _, exact, _ = tiny_face
    assert stale_reason(exact) is None
    assert choose_backend("auto", exact) == "litert" and choose_backend("keras", exact) == "keras"
    # a .keras changed after the export: the .tflite no longer stands in for it
    changed = tmp_path / "changed.keras"
    changed.write_bytes(exact.read_bytes() + b"\0")
    changed.with_suffix(".json").write_text(exact.with_suffix(".json").read_text())
    changed.with_suffix(".tflite").write_bytes(exact.with_suffix(".tflite").read_bytes())
    assert "not exported from this changed.keras" in stale_reason(changed)
    assert choose_backend("auto", changed) == "keras"
    with pytest.raises(EmofuseError, match="changed.keras: cannot run with LiteRT: .*export it again"):
        choose_backend("litert", changed)
    changed.with_suffix(".tflite").unlink()
    assert stale_reason(changed) == "changed.tflite is missing"


def test_backend_names_and_a_missing_runtime(tiny_face, monkeypatch):
    _, exact, _ = tiny_face
    with pytest.raises(ValueError, match="backend must be one of auto, litert, keras"):
        choose_backend("onnx", exact)
    monkeypatch.setattr(litert, "litert_available", lambda: False)
    assert choose_backend("auto", exact) == "keras"
    with pytest.raises(EmofuseError, match="ai-edge-litert package is not installed"):
        choose_backend("litert", exact)


@needs_litert
def test_a_broken_tflite_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer")
    with pytest.raises(EmofuseError, match="bad.tflite: cannot load as a LiteRT model"):
        LiteRTModel(bad)


def test_export_needs_the_metadata_first(tiny_face, tmp_path):
    model, _, _ = tiny_face
    with pytest.raises(EmofuseError, match="orphan.json: missing"):
        export_litert(tmp_path / "orphan.keras", model)


# --------------------------------------------------------------------------- the shipped models


@pytest.mark.parametrize("keras_path", SHIPPED, ids=["fer-cnn", "ravdess-cnn"])
def test_the_shipped_exports_are_up_to_date_and_small(keras_path):
    assert stale_reason(keras_path) is None, "re-export: see docs/models.md (LiteRT exports)"
    assert keras_path.with_suffix(".tflite").stat().st_size < 15 * 1024 * 1024


@needs_litert
def test_the_shipped_face_export_scores_like_the_keras_model():
    from emofuse.plugins.fer_cnn import FerCnnClassifier
    from emofuse.testing import sample_face

    rng = np.random.default_rng(2)
    face = sample_face()
    crops = [face, np.ascontiguousarray(face[:, ::-1]), rng.integers(0, 256, (70, 60, 3), dtype=np.uint8)]
    lite = FerCnnClassifier(backend="litert")
    keras = FerCnnClassifier(backend="keras", precision="float32")
    assert lite.backend == "litert" and lite.precision == "int8 weights"
    a = np.array([s.values for s in lite.classify(crops)])
    b = np.array([s.values for s in keras.classify(crops)])
    assert np.abs(a - b).max() < 0.05
    assert (a.argmax(axis=1) == b.argmax(axis=1)).all()


@needs_litert
def test_the_shipped_voice_export_gives_the_keras_scores():
    from emofuse.plugins.ravdess_cnn import RavdessCnnClassifier
    from emofuse.plugins.ravdess_cnn.prosody import extractor_from_spec
    from emofuse.testing import make_speech_like

    lite, keras = RavdessCnnClassifier(backend="litert"), RavdessCnnClassifier(backend="keras")
    features = extractor_from_spec(lite.meta["feature_spec"]).extract(make_speech_like(2.5, 16000), 16000)
    assert lite.backend == "litert"
    np.testing.assert_allclose(lite.classify(features).array, keras.classify(features).array, atol=1e-4)


@needs_litert
def test_an_analysis_with_the_shipped_models_never_imports_tensorflow(tmp_path):
    from emofuse.testing import write_media

    clip = write_media(tmp_path / "clip.mp4", 2.0, fps=10, size=(320, 240), face=True, audio="speech")
    code = ("import sys; import emofuse; t = emofuse.analyze(sys.argv[1]); "
            "print(len(t.segments), sum(s.face is not None for s in t.segments), "
            "'tensorflow' in sys.modules, 'keras' in sys.modules, 'librosa' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(clip)], capture_output=True, text=True, check=True)
    segments, with_face, tensorflow, keras, librosa = out.stdout.split()
    assert int(segments) == 2 and int(with_face) >= 1
    assert (tensorflow, keras, librosa) == ("False", "False", "False")
