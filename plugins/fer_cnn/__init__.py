"""The `fer-cnn` plugin: a CNN trained on FER2013 that scores face crops over the 7 labels.

Import-light on purpose: TensorFlow and the weights load when a classifier is created.
"""
from __future__ import annotations

from emofuse.hookspecs import hookimpl

from .classifier import FerCnnClassifier

__all__ = ["FerCnnClassifier", "register_visual_classifiers"]


@hookimpl
def register_visual_classifiers(register):
    register(
        "fer-cnn",
        FerCnnClassifier,
        description="VGG-style CNN trained on FER2013 (48x48 gray faces, 2 test-time views, calibrated; "
                    "runs on LiteRT, or Keras with backend=keras)",
    )
