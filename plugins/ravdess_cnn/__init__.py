"""The `ravdess-cnn` voice model: a 1-D CNN ensemble on MFCCs, trained on RAVDESS speech (CC BY-NC-SA 4.0).

Importing this package is cheap: TensorFlow and the weights load when the classifier is created.
"""
from __future__ import annotations

from emofuse.hookspecs import hookimpl


def RavdessCnnClassifier(**options):
    """Create the classifier (imports TensorFlow and loads the shipped weights; `model=PATH` overrides)."""
    from .classifier import RavdessCnnClassifier as cls

    return cls(**options)


@hookimpl
def register_audio_classifiers(register):
    register("ravdess-cnn", RavdessCnnClassifier,
             description="1-D CNN ensemble on 40 MFCCs + deltas, RAVDESS speech, 8 classes mapped to 7 "
                         "(weights CC BY-NC-SA 4.0)")
