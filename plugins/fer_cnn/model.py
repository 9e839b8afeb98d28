"""The `fer-cnn` network: a VGG-style CNN for 48x48 grayscale faces, 7 outputs."""
from __future__ import annotations

from emofuse.labels import LABELS

from .preprocess import FACE_SIZE

#: The shipped network's conv block widths and dense head units.
WIDTHS: tuple[int, ...] = (32, 64, 128, 256)
DENSE = 256


def scaled_shape(widths: tuple[int, ...], dense: int, scale: float) -> dict:
    """`widths` and `dense` `scale` times as wide (at least 1 each), as build_face_model's keywords."""
    return {"widths": tuple(max(1, round(w * scale)) for w in widths), "dense": max(1, round(dense * scale))}


def build_face_model(widths: tuple[int, ...] = WIDTHS, dropout: float = 0.3, dense: int = DENSE,
                     name: str = "fer_cnn"):
    """Double 3x3 conv blocks with batch norm and max pooling, global pooling, a small dense head.

    Outputs logits (no softmax): calibration divides them by a temperature before the softmax.
    """
    import keras
    from keras import layers

    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="face")
    x = inputs
    for i, width in enumerate(widths):
        for j in range(2):
            x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"b{i}_conv{j}")(x)
            x = layers.BatchNormalization(name=f"b{i}_bn{j}")(x)
            x = layers.Activation("relu", name=f"b{i}_relu{j}")(x)
        x = layers.MaxPooling2D(name=f"b{i}_pool")(x)
        x = layers.SpatialDropout2D(0.1 * (i + 1) / len(widths), name=f"b{i}_drop")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="head_drop0")(x)
    x = layers.Dense(dense, use_bias=False, name="head_dense")(x)
    x = layers.BatchNormalization(name="head_bn")(x)
    x = layers.Activation("relu", name="head_relu")(x)
    x = layers.Dropout(dropout, name="head_drop1")(x)
    logits = layers.Dense(len(LABELS), name="logits", dtype="float32")(x)
    return keras.Model(inputs, logits, name=name)


def build_ensemble(members):
    """One model whose logits are the mean of the logits of `members` (fer_cnn networks): a
    single compiled call scores a batch with all of them."""
    import keras
    from keras import layers

    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="face")
    outputs = [member(inputs) for member in members]
    logits = layers.Average(name="mean_logits", dtype="float32")(outputs)
    return keras.Model(inputs, logits, name="fer_cnn_ensemble")


def members_of(model) -> list:
    """The networks inside an ensemble built by `build_ensemble` ([] for a single network)."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.Model)]


def architecture_of(model) -> dict:
    """The `build_face_model` arguments that rebuild `model` (read from its layers)."""
    widths = tuple(layer.filters for layer in model.layers if layer.name.endswith("_conv0"))
    return {"widths": widths, "dense": model.get_layer("head_dense").units,
            "dropout": model.get_layer("head_drop0").rate}


def rebuild(model, policy: str = "float32"):
    """A copy of `model` computing in the Keras dtype policy `policy` (e.g. "mixed_bfloat16"),
    with the same float32 weights; the global policy is left as it was."""
    import keras
    import numpy as np

    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        members = members_of(model)
        if members:
            clean = build_ensemble([build_face_model(**architecture_of(m), name=m.name) for m in members])
        else:
            clean = build_face_model(**architecture_of(model))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    clean.set_weights([np.asarray(w, dtype=np.float32) for w in model.get_weights()])
    return clean
