"""The `ravdess-cnn` network: a compact 1-D CNN over time with mean+std pooling, 8 RAVDESS logits."""
from __future__ import annotations

from emofuse.labels import RAVDESS_LABELS

#: Channel widths of the conv blocks (each block: two convs, batch norm, pooling).
WIDTHS = (64, 96, 128)
TINY_WIDTHS = (8, 8)


def build_voice_model(n_features: int, frames: int | None = None, widths: tuple[int, ...] = WIDTHS,
                      dropout: float = 0.4, dense: int = 128, name: str = "ravdess_cnn"):
    """(batch, frames, n_features) normalised features -> 8 logits (no softmax).

    Conv1D blocks (kernel 5 then 3) with batch norm, ReLU, max pooling and spatial dropout, then
    statistics pooling (mean and standard deviation over time) and a small dense head.
    """
    import keras
    from keras import layers

    inputs = keras.Input((frames, n_features), name="features")
    x = layers.GaussianNoise(0.05, name="noise")(inputs)
    for i, width in enumerate(widths):
        for j, kernel in enumerate((5, 3)):
            stride = 2 if i == j == 0 else 1   # 10 ms frames -> 20 ms steps from the first conv on
            x = layers.Conv1D(width, kernel, strides=stride, padding="same", use_bias=False, name=f"b{i}_conv{j}")(x)
            x = layers.BatchNormalization(name=f"b{i}_bn{j}")(x)
            x = layers.Activation("relu", name=f"b{i}_relu{j}")(x)
        x = layers.MaxPooling1D(2, name=f"b{i}_pool")(x)
        x = layers.SpatialDropout1D(0.1, name=f"b{i}_drop")(x)
    x = stats_pooling()(name="stats")(x)
    x = layers.Dropout(dropout, name="head_drop0")(x)
    x = layers.Dense(dense, use_bias=False, name="head_dense")(x)
    x = layers.BatchNormalization(name="head_bn")(x)
    x = layers.Activation("relu", name="head_relu")(x)
    x = layers.Dropout(dropout, name="head_drop1")(x)
    logits = layers.Dense(len(RAVDESS_LABELS), name="logits")(x)
    return keras.Model(inputs, logits, name=name)


_STATS_POOLING = None


def stats_pooling():
    """The StatsPooling layer class (mean and std over time), defined and registered on first use."""
    global _STATS_POOLING
    if _STATS_POOLING is None:
        import keras
        from keras import ops

        @keras.saving.register_keras_serializable(package="emofuse")
        class StatsPooling(keras.layers.Layer):
            def call(self, x):
                mean = ops.mean(x, axis=1)
                var = ops.maximum(ops.mean(x * x, axis=1) - mean * mean, 0.0)
                return ops.concatenate([mean, ops.sqrt(var + 1e-6)], axis=-1)

        _STATS_POOLING = StatsPooling
    return _STATS_POOLING


def load_voice_model(path):
    """Load a saved `ravdess-cnn` model (registers the custom layer first)."""
    import keras

    stats_pooling()
    return keras.models.load_model(path, compile=False)


def build_ensemble(members, n_features: int, temperature: float = 1.0, name: str = "ravdess_cnn_ensemble"):
    """One model whose output is the mean of the members' logits divided by `temperature`."""
    import keras
    from keras import layers

    inputs = keras.Input((None, n_features), name="features")
    outputs = [m(inputs) for m in members]
    mean = outputs[0] if len(outputs) == 1 else layers.Average(name="average")(outputs)
    scaled = layers.Rescaling(1.0 / float(temperature), name="temperature")(mean)
    return keras.Model(inputs, scaled, name=name)
