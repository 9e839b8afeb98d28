"""The `ravdess-cnn` voice model: a 1-D CNN ensemble on MFCCs and prosody, trained on RAVDESS speech (CC BY-NC-SA 4.0).

Importing this package is cheap (no TensorFlow): the weights load when the classifier is created.
"""
from __future__ import annotations

from emofuse.hookspecs import hookimpl

from collections.abc import Mapping
from typing import Any

from .classifier import RavdessCnnClassifier, model_extractor_name
from .prosody import ProsodyMfccExtractor

__all__ = ["ProsodyMfccExtractor", "RavdessCnnClassifier", "register_audio_classifiers",
           "register_audio_feature_extractors", "default_extractor_name"]


def default_extractor_name(classifier: str, options: Mapping[str, Any]) -> str:
    """The audio feature extractor `audio-features=auto` means for the audio classifier `classifier`
    with `options`: the one a ravdess-cnn model was trained on (read from its `.json`), else `mfcc`."""
    if classifier != "ravdess-cnn":
        return "mfcc"
    return model_extractor_name(options.get("model"))


@hookimpl
def register_audio_classifiers(register):
    register("ravdess-cnn", RavdessCnnClassifier,
             description="1-D CNN ensemble on 40 MFCCs + deltas and pitch/energy prosody, RAVDESS speech, 8 classes mapped to 7 "
                         "(weights CC BY-NC-SA 4.0)")


@hookimpl
def register_audio_feature_extractors(register):
    register("mfcc-prosody", ProsodyMfccExtractor,
             description="the mfcc extractor's frames plus pitch (log F0, its slope), voicing and relative "
                         "energy, for voice models trained with `--features mfcc+prosody`")
