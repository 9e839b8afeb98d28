"""The `ravdess-cnn` voice model: a 1-D CNN ensemble on MFCCs, trained on RAVDESS speech (CC BY-NC-SA 4.0).

Importing this package is cheap (no TensorFlow): the weights load when the classifier is created.
"""
from __future__ import annotations

from emofuse.hookspecs import hookimpl

from .classifier import RavdessCnnClassifier

__all__ = ["RavdessCnnClassifier", "register_audio_classifiers"]


@hookimpl
def register_audio_classifiers(register):
    register("ravdess-cnn", RavdessCnnClassifier,
             description="1-D CNN ensemble on 40 MFCCs + deltas, RAVDESS speech, 8 classes mapped to 7 "
                         "(weights CC BY-NC-SA 4.0)")
