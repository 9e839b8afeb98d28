"""The `mfcc` and `ravdess-cnn` plugins: registration, the shipped weights, real RAVDESS audio."""
from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from emofuse.components import AudioClassifier, AudioFeatureExtractor
from emofuse.labels import RAVDESS_LABELS
from emofuse.plugins.mfcc import MfccExtractor

from .voice_helpers import RAVDESS_DIR

SHIPPED = resources.files("emofuse.plugins.ravdess_cnn") / "ravdess_cnn.keras"


def test_plugins_register_mfcc_and_ravdess_cnn():
    from emofuse.plugin_manager import collect_components
    from emofuse.plugins.ravdess_cnn import RavdessCnnClassifier

    components = collect_components()
    extractor = components["audio_features"].get("mfcc")
    assert extractor.factory is MfccExtractor and extractor.plugin == "mfcc"
    assert isinstance(components["audio_features"].create("mfcc"), AudioFeatureExtractor)
    entry = components["audio_classifier"].get("ravdess-cnn")
    assert entry.factory is RavdessCnnClassifier and "CC BY-NC-SA" in entry.description


def test_shipped_weights_are_small_and_describe_their_features():
    if not SHIPPED.is_file():
        pytest.fail("the shipped voice weights plugins/ravdess_cnn/ravdess_cnn.keras are missing")
    assert SHIPPED.stat().st_size < 15 * 1024 * 1024
    meta = json.loads((resources.files("emofuse.plugins.ravdess_cnn") / "ravdess_cnn.json").read_text())
    assert meta["feature_spec"] == json.loads(json.dumps(MfccExtractor().feature_spec))
    assert set(meta["val_actors"]).isdisjoint(meta["train_actors"])
    assert meta["val_accuracy"] >= 0.6
    assert "CC BY-NC-SA 4.0" in meta["licence"]


@pytest.mark.slow
def test_shipped_classifier_and_extractor_honour_the_contracts():
    from emofuse.plugins.ravdess_cnn import RavdessCnnClassifier
    from emofuse.testing import check_audio_classifier, check_audio_feature_extractor, make_speech_like

    extractor, classifier = MfccExtractor(), RavdessCnnClassifier()
    check_audio_feature_extractor(extractor)
    check_audio_classifier(classifier, extractor)
    assert classifier.min_window == pytest.approx(2.0)
    scores = classifier.classify(extractor.extract(make_speech_like(3.0, 16000), 16000))
    assert scores is not None and list(scores.raw) == list(RAVDESS_LABELS)


@pytest.mark.slow
@pytest.mark.data
def test_shipped_model_on_a_held_out_actor():
    if not RAVDESS_DIR.is_dir():
        pytest.skip(f"needs the RAVDESS development copy at {RAVDESS_DIR}")
    from emofuse.plugins.ravdess_cnn import RavdessCnnClassifier
    from emofuse.plugins.ravdess_cnn.data import find_ravdess, load_audio

    classifier = RavdessCnnClassifier()
    assert isinstance(classifier, AudioClassifier)
    extractor = MfccExtractor()
    classifier.check_features(extractor.feature_spec)
    assert 19 in classifier.meta["val_actors"]
    files = find_ravdess(RAVDESS_DIR, actors=[19]).files[::3]      # 20 files of a held-out actor
    hits = []
    for f in files:
        samples, rate = load_audio(f.path)
        scores = classifier.classify(extractor.extract(samples, rate))
        assert scores is not None
        hits.append(max(scores.raw, key=scores.raw.get) == f.emotion)
    assert np.mean(hits) >= 0.35, f"{np.mean(hits):.2f} of actor 19's files right"
