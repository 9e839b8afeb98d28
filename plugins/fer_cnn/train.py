"""Train the `fer-cnn` face model on FER2013 (Training rows; PublicTest for validation)."""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from emofuse.errors import DatasetError
from emofuse.labels import LABELS

from .data import load_fer2013
from .distill import DISTILL_TEMPERATURE, DISTILL_WEIGHT, mixed_targets, teacher_logits
from .model import DENSE, WIDTHS, architecture_of, build_ensemble, build_face_model, members_of, rebuild
from .preprocess import FACE_SIZE, prepare_faces

log = logging.getLogger(__name__)


def cutmix(x, y, gen, probability: float):
    """CutMix within a batch: each face, with `probability`, gets a random box pasted from its
    partner (the batch reversed), and its one-hot label becomes the two labels weighted by the
    share of pixels each face keeps. `x` is (n, h, w, c) float, `y` (n, classes)."""
    import tensorflow as tf

    n = tf.shape(x)[0]
    height, width = tf.shape(x)[1], tf.shape(x)[2]
    ratio = tf.sqrt(gen.uniform([n, 1, 1, 1]))  # box side / image side; box area ~ Uniform(0, 1)
    h, w = ratio * tf.cast(height, tf.float32), ratio * tf.cast(width, tf.float32)
    cy = gen.uniform([n, 1, 1, 1]) * tf.cast(height, tf.float32)
    cx = gen.uniform([n, 1, 1, 1]) * tf.cast(width, tf.float32)
    apply = tf.cast(gen.uniform([n, 1, 1, 1]) < probability, tf.float32)
    rows = tf.reshape(tf.range(height, dtype=tf.float32) + 0.5, [1, -1, 1, 1])
    cols = tf.reshape(tf.range(width, dtype=tf.float32) + 0.5, [1, 1, -1, 1])
    inside = tf.cast(tf.abs(rows - cy) < h / 2, tf.float32) * tf.cast(tf.abs(cols - cx) < w / 2, tf.float32)
    mask = inside * apply
    pasted = tf.reduce_mean(mask, axis=[1, 2, 3])[:, None]  # share of pixels taken from the partner
    mixed_x = x * (1 - mask) + tf.reverse(x, axis=[0]) * mask
    mixed_y = y * (1 - pasted) + tf.reverse(y, axis=[0]) * pasted
    return mixed_x, mixed_y


def make_augmenter(seed: int, cutmix_probability: float = 0.0):
    """Random flips, shifts, rotations, zooms and erasing, applied to float batches (n, 48, 48, 1);
    with `cutmix_probability` > 0, CutMix (see `cutmix`) before the erasing."""
    import keras
    import tensorflow as tf
    from keras import layers

    geometric = keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(10 / 360, fill_mode="reflect", seed=seed + 1),
            layers.RandomZoom((-0.15, 0.1), fill_mode="reflect", seed=seed + 2),
            layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed + 3),
        ],
        name="augment",
    )
    gen = tf.random.Generator.from_seed(seed + 4)

    def random_erase(x):
        n = tf.shape(x)[0]
        size = tf.cast(FACE_SIZE, tf.float32)
        h = gen.uniform([n, 1, 1, 1], 0.1, 0.35) * size
        w = gen.uniform([n, 1, 1, 1], 0.1, 0.35) * size
        cy = gen.uniform([n, 1, 1, 1], 0, 1) * size
        cx = gen.uniform([n, 1, 1, 1], 0, 1) * size
        apply = tf.cast(gen.uniform([n, 1, 1, 1]) < 0.5, tf.float32)
        coords = tf.range(FACE_SIZE, dtype=tf.float32)
        inside_y = tf.cast(tf.abs(tf.reshape(coords, [1, -1, 1, 1]) - cy) < h / 2, tf.float32)
        inside_x = tf.cast(tf.abs(tf.reshape(coords, [1, 1, -1, 1]) - cx) < w / 2, tf.float32)
        mask = inside_y * inside_x * apply
        return x * (1 - mask) + gen.uniform(tf.shape(x)) * mask

    def augment(x, y):
        x = tf.cast(geometric(x, training=True), tf.float32)
        if cutmix_probability > 0:
            x, y = cutmix(x, y, gen, cutmix_probability)
        return random_erase(x), y

    return augment


def runtime_mixer(share: float, seed: int):
    """A batch map ((faces, runtime crops, found), y) -> (faces, y) that puts the runtime crop in
    place of each face that has one with probability `share`, drawn anew every epoch."""
    import tensorflow as tf

    gen = tf.random.Generator.from_seed(seed + 5)

    def mix(x, y):
        faces, crops, found = x
        n = tf.shape(faces)[0]
        take = tf.logical_and(gen.uniform([n]) < share, found)
        return tf.where(tf.reshape(take, [-1, 1, 1, 1]), crops, faces), y

    return mix


def _datasets(train, val, batch_size: int, seed: int, augment, y_train: np.ndarray,
              runtime: tuple[np.ndarray, np.ndarray] | None = None, runtime_share: float = 0.0):
    import tensorflow as tf

    x_train = prepare_faces(train.images)
    inputs = x_train if runtime is None else (x_train, prepare_faces(runtime[0]), runtime[1])
    ds = (
        tf.data.Dataset.from_tensor_slices((inputs, y_train))
        .shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
    )
    if runtime is not None:
        ds = ds.map(runtime_mixer(runtime_share, seed))
    ds = ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
    val_ds = None
    if val is not None:
        y_val = np.eye(len(LABELS), dtype=np.float32)[val.labels]
        val_ds = tf.data.Dataset.from_tensor_slices((prepare_faces(val.images), y_val)).batch(256)
    return ds, val_ds


def train_face_model(
    data: str | Path,
    output: str | Path,
    epochs: int = 40,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    seed: int = 13,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    mixed_precision: bool = False,
    limit: int | None = None,
    skip_bad: bool = False,
    widths: tuple[int, ...] = WIDTHS,
    dense: int = DENSE,
    init_from: str | Path | None = None,
    cutmix_probability: float = 0.0,
    teacher: str | Path | None = None,
    distill_weight: float = DISTILL_WEIGHT,
    distill_temperature: float = DISTILL_TEMPERATURE,
    runtime_crops: float = 0.0,
) -> dict:
    """Train on the Training rows of `data`, validate on PublicTest, save the final model to `output`.

    Each epoch writes `checkpoint_dir/last.keras` and `state.json`; `resume=True` continues from
    them (with another `epochs` than the run was started with, the rest of the run follows the
    learning-rate schedule of the new length). PrivateTest rows are never read into training.
    `skip_bad` drops malformed rows instead of failing; `limit` keeps the first N training faces
    (smoke tests); `widths`/`dense` set the network's shape (smaller for smoke tests, wider with
    `--width-scale`). `init_from` starts from
    the weights (and architecture) of a saved model instead of random ones: a warm restart of the
    schedule that continues a finished run.
    `cutmix_probability` is the share of training faces that get a CutMix box (0: none).
    `teacher` (a saved face model) distils: each target mixes the one-hot label with the teacher's
    softened probabilities (`distill.mixed_targets`, `distill_weight`, `distill_temperature`).
    `runtime_crops` is the share of training faces shown, each epoch, as the runtime would crop
    them (`runtime_crops.py`; made once and kept in the checkpoint folder).
    Returns the training history.
    """
    import keras

    keras.utils.set_random_seed(seed)
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    dataset = load_fer2013(data, skip_bad=skip_bad)
    train = dataset.split("Training")
    val = dataset.splits.get("PublicTest")
    if limit:
        train = type(train)(train.images[:limit], train.labels[:limit])
    if len(train) < batch_size:
        batch_size = max(1, len(train))
    log.info("training on %d faces, validating on %d", len(train), 0 if val is None else len(val))

    checkpoint_dir = Path(checkpoint_dir or Path(output).with_suffix(".ckpt"))
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    last, state_file = checkpoint_dir / "last.keras", checkpoint_dir / "state.json"
    history: dict[str, list] = {}
    initial_epoch = 0
    steps = len(train) // batch_size
    if resume and last.exists() and state_file.exists():
        model = keras.models.load_model(last)
        state = json.loads(state_file.read_text())
        initial_epoch, history = state["epoch"], state["history"]
        log.info("resuming from %s at epoch %d", last, initial_epoch)
        planned = getattr(model.optimizer, "_learning_rate", None)  # the schedule (the property gives its value)
        schedule = learning_schedule(learning_rate, steps, epochs)
        if getattr(planned, "decay_steps", None) != schedule.decay_steps:
            # another --epochs than the run was started with: the remaining steps follow the cosine
            # of the new length (the step count goes on, so the warm-up is not repeated)
            model.optimizer.learning_rate = schedule
            log.info("learning-rate schedule re-planned for %d epochs", epochs)
    else:
        model = _initial_model(init_from, widths=widths, dense=dense)
        model.compile(
            optimizer=keras.optimizers.AdamW(learning_schedule(learning_rate, steps, epochs), weight_decay=0.02),
            loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
            metrics=["accuracy"],
        )
    logits = None
    if teacher is not None:
        from .run_cache import cached_arrays, content_key

        key = content_key(Path(teacher).read_bytes(), train.images)
        logits = cached_arrays(checkpoint_dir, "teacher_logits", key,
                               lambda: {"logits": teacher_logits(teacher, train.images)})["logits"]
        log.info("teacher agrees with the labels on %.1f %% of the training faces",
                 100 * float(np.mean(logits.argmax(axis=1) == train.labels)))
    targets = mixed_targets(train.labels, logits, distill_weight, distill_temperature, len(LABELS))
    runtime = None
    if runtime_crops > 0:
        from .runtime_crops import cached_runtime_crops

        started = time.time()
        runtime = cached_runtime_crops(train.images, checkpoint_dir, os.cpu_count() or 1,
                                       lambda done, total: log.info("runtime crops: %d/%d faces", done, total))
        log.info("runtime crops: Haar found %.1f %% of the training faces (%.0f s)",
                 100 * float(np.mean(runtime[1])), time.time() - started)
    train_ds, val_ds = _datasets(train, val, batch_size, seed, make_augmenter(seed, cutmix_probability), targets,
                                 runtime, runtime_crops)

    class Checkpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                history.setdefault(key, []).append(float(value))
            history.setdefault("time", []).append(time.time())
            tmp = checkpoint_dir / "last.tmp.keras"
            self.model.save(tmp)
            tmp.replace(last)
            state_file.write_text(json.dumps({"epoch": epoch + 1, "history": history}))
            log.info("epoch %d/%d %s", epoch + 1, epochs, {k: round(float(v), 4) for k, v in (logs or {}).items()})

    if initial_epoch < epochs:
        model.fit(
            train_ds, validation_data=val_ds, epochs=epochs, initial_epoch=initial_epoch,
            callbacks=[Checkpoint()], verbose=2,
        )
    save_inference_model(model, output)
    return history


def learning_schedule(learning_rate: float, steps: int, epochs: int):
    """One warm-up epoch from a tenth of `learning_rate` to it, then cosine decay to 1 % of it
    at the end of `epochs` epochs of `steps` steps."""
    import keras

    return keras.optimizers.schedules.CosineDecay(
        learning_rate / 10, decay_steps=max(1, steps * epochs - steps), alpha=0.01,
        warmup_target=learning_rate, warmup_steps=steps,
    )


def _initial_model(init_from: str | Path | None, **architecture):
    """A fresh network, or one carrying the weights of the saved model `init_from`."""
    if init_from is None:
        return build_face_model(**architecture)
    model = _load_network(init_from, "start from")
    log.info("starting from the weights of %s", init_from)
    return model


def combine_models(models, output: str | Path) -> Path:
    """Save one model averaging the logits of the trained `models` (see `build_ensemble`). An
    ensemble among `models` contributes each of its networks, so a network can be added to a
    shipped ensemble and every network keeps an equal share."""
    sources = [network for path in models for network in _networks_in(path, "combine")]
    if len(sources) < 2:
        raise DatasetError(f"--combine needs at least two networks, got {len(sources)} in "
                           f"{', '.join(map(str, models))}")
    return _save(build_ensemble([_copy_network(source, f"member{i}") for i, source in enumerate(sources)]), output)


def _networks_in(path: str | Path, purpose: str) -> list:
    """The fer_cnn networks of the saved model `path`: itself, or the members of an ensemble; a
    clear error when the file is not such a model."""
    import keras

    try:
        source = keras.models.load_model(path, compile=False)
        networks = members_of(source) or [source]
        for network in networks:
            architecture_of(network)
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{path}: cannot load the model to {purpose} ({exc})") from exc
    return networks


def _copy_network(source, name: str):
    """A fer_cnn network named `name` with the weights of `source`, built in the current dtype policy."""
    model = build_face_model(**architecture_of(source), name=name)
    model.set_weights(source.get_weights())
    return model


def _load_network(path: str | Path, purpose: str, name: str = "fer_cnn"):
    """A single fer_cnn network with the weights of the saved model `path`, built in the current
    dtype policy; a clear error when the file is not such a model."""
    networks = _networks_in(path, purpose)
    if len(networks) != 1:
        raise DatasetError(f"{path}: cannot load the model to {purpose} (an ensemble of {len(networks)} networks, "
                           "not a single network)")
    return _copy_network(networks[0], name)


def save_inference_model(model, output: str | Path) -> Path:
    """Save weights and architecture in float32 without optimizer state (small, loads anywhere)."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
    return _save(rebuild(model), output)


def _save(model, output: str | Path) -> Path:
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.stem + ".tmp.keras")
    model.save(tmp)
    tmp.replace(output)
    return output


if __name__ == "__main__":  # pragma: no cover - `emofuse train face` is the supported entry
    raise DatasetError("use `emofuse train face`")
