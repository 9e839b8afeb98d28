"""Consistency training for the voice network (`emofuse train voice --consistency W`).

Each training example is a pair: a crop of a file's original recording and the same stretch of
one of its augmented copies (noise, room, telephone band, codec, pitch, tempo, formant warp).
The network sees both through shared weights; the loss is the cross-entropy of both views plus
`W` times the Jensen-Shannon divergence between their predicted distributions, so the network is
taught to give the same answer whatever the recording did to the voice (AugMix's consistency
loss, Hendrycks et al. 2020, with one augmented view).
"""
from __future__ import annotations

import numpy as np

from emofuse.labels import RAVDESS_LABELS

_LOSS = None


def pair_epoch_arrays(variants: dict[str, list[np.ndarray]], labels: np.ndarray, rng: np.random.Generator,
                      cfg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One epoch of pairs `(x_orig, x_copy, y)`: each file's original and a random augmented copy,
    cut around the same relative position (copies may be longer or shorter), masked independently
    (SpecAugment), mixed up with the same partners and shares; the pairs shuffled together."""
    from .train import mask_window, mix_up

    others = [v for v in variants if v != "orig"]
    if not others:
        raise ValueError("consistency training needs augmented copies of the training files")
    n, frames = len(labels), cfg.frames
    n_features = variants["orig"][0].shape[1]
    xa = np.empty((n, frames, n_features), dtype=np.float32)
    xb = np.empty_like(xa)
    for i in range(n):
        copy = variants[others[rng.integers(len(others))]][i]
        where = rng.random()
        xa[i] = _crop_at(variants["orig"][i], frames, where)
        xb[i] = _crop_at(copy, frames, where)
        mask_window(xa[i], cfg, rng)
        mask_window(xb[i], cfg, rng)
    y = np.eye(len(RAVDESS_LABELS), dtype=np.float32)[labels]
    if cfg.mixup > 0:
        (xa, xb), y = mix_up([xa, xb], y, rng, cfg.mixup)
    order = rng.permutation(n)
    return xa[order], xb[order], y[order]


def _crop_at(feats: np.ndarray, frames: int, where: float) -> np.ndarray:
    """`frames` frames of the (tiled) `feats` centred `where` (0..1) of the way along it, moved inside
    at the ends: a tempo-changed copy is cut around the same moment of the utterance."""
    from .train import tile_to

    tiled = tile_to(feats, frames)
    start = int(np.clip(round(where * len(tiled) - frames / 2), 0, len(tiled) - frames))
    return tiled[start:start + frames]


def pair_model(base):
    """A two-input model sharing `base`'s weights: `(x_orig, x_copy)` -> logits stacked as (batch, 2, classes)."""
    import keras

    shape = base.input_shape[1:]
    classes = base.output_shape[-1]
    a = keras.Input(shape, name="orig")
    b = keras.Input(shape, name="copy")
    views = [keras.layers.Reshape((1, classes), name=f"view_{k}")(base(x)) for k, x in (("orig", a), ("copy", b))]
    stacked = keras.layers.Concatenate(axis=1, name="views")(views)
    return keras.Model([a, b], stacked, name=f"{base.name}_pair")


def base_of(pair) -> object:
    """The shared network inside a `pair_model` (e.g. one loaded from a checkpoint)."""
    import keras

    nested = [layer for layer in pair.layers if isinstance(layer, keras.Model)]
    if len(nested) != 1:
        raise ValueError(f"{pair.name}: expected one shared network, found {len(nested)}")
    return nested[0]


def consistency_loss(weight: float, label_smoothing: float = 0.0):
    """The pair loss: mean cross-entropy of the two views + `weight` x their Jensen-Shannon divergence."""
    return _loss_class()(weight=weight, label_smoothing=label_smoothing)


def _loss_class():
    global _LOSS
    if _LOSS is None:
        import keras
        from keras import ops

        @keras.saving.register_keras_serializable(package="emofuse")
        class ConsistencyLoss(keras.losses.Loss):
            def __init__(self, weight: float = 12.0, label_smoothing: float = 0.0, name: str = "consistency",
                         **kwargs):
                super().__init__(name=name, **kwargs)
                self.weight = float(weight)
                self.label_smoothing = float(label_smoothing)

            def call(self, y_true, y_pred):
                classes = ops.shape(y_pred)[-1]
                target = y_true * (1.0 - self.label_smoothing) + self.label_smoothing / ops.cast(classes, y_true.dtype)
                logp = ops.log_softmax(y_pred, axis=-1)                       # (batch, 2, classes)
                cross_entropy = -ops.mean(ops.sum(target[:, None, :] * logp, axis=-1), axis=1)
                p = ops.exp(logp)
                log_mean = ops.log(ops.clip(ops.mean(p, axis=1, keepdims=True), 1e-7, 1.0))
                js = ops.mean(ops.sum(p * (logp - log_mean), axis=-1), axis=1)
                return cross_entropy + self.weight * js

            def get_config(self):
                return {**super().get_config(), "weight": self.weight, "label_smoothing": self.label_smoothing}

        _LOSS = ConsistencyLoss
    return _LOSS
