"""Train the `ravdess-cnn` voice model, speaker-independently: validation actors are held out whole.

Recipe: MFCC+delta features of silence-trimmed utterances, cached with offline augmented copies
(speed, pitch, noise); per-utterance normalisation; random 3 s crops of the (tiled) utterance,
SpecAugment masks and mixup; AdamW with cosine decay and label smoothing; several members with
different seeds averaged into one `.keras` model; a softmax temperature fitted on the validation
actors (it does not change which class wins). Never a random file split.

`features="mfcc+prosody"` appends pitch, voicing, relative energy and pitch slope to every MFCC
frame (`prosody.ProsodyMfccExtractor`; those columns are not normalised per utterance).

`augment="conditions"` adds to those offline copies `CONDITION_COPIES` more of every training
file, each file under a random recording condition of the robustness table at a random strength
(noise, room, telephone band, MP3/AAC 32 kbps, pitch, tempo; `conditions.random_condition`).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emofuse.atomic import atomic_output
from emofuse.calibration import fit_temperature
from emofuse.errors import DatasetError
from emofuse.labels import RAVDESS_LABELS

from .cache import AUGMENTATIONS, VTLP_COPIES, file_features
from .condition_cache import condition_features, copy_name, is_copy
from .consistency import base_of, consistency_loss, pair_epoch_arrays, pair_model
from .conditions import CONDITION_COPIES, STRENGTHS
from .data import RavdessIndex, find_ravdess, format_actors
from .features import TRIMS, WINDOW_FRAMES, normalize, split_windows
from .model import TINY_WIDTHS, WIDTHS, build_ensemble, build_voice_model, stats_pooling
from .prosody import raw_columns

log = logging.getLogger(__name__)

DEFAULT_VAL_ACTORS = (17, 18, 19, 20)
AUGMENT_MODES = ("default", "conditions", "none")
FEATURE_SETS = ("mfcc", "mfcc+prosody")


@dataclasses.dataclass
class TrainConfig:
    epochs: int = 60
    passes: int = 2
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 0.02
    label_smoothing: float = 0.1
    mixup: float = 0.2
    orig_share: float = 0.4
    widths: tuple[int, ...] = WIDTHS
    dense: int = 128
    dropout: float = 0.4
    frames: int = WINDOW_FRAMES
    time_masks: int = 2
    time_mask_max: int = 30
    feature_masks: int = 2
    feature_mask_max: int = 8
    consistency: float = 0.0   # > 0: train on (original, copy) pairs with this Jensen-Shannon weight


def extractor_for_training(features: str = "mfcc"):
    """The feature extractor for `features`: the `mfcc` plugin's defaults, with prosody columns
    appended for "mfcc+prosody" (the shipped model's)."""
    from emofuse.plugins.mfcc import MfccExtractor

    if features not in FEATURE_SETS:
        raise DatasetError(f"unknown feature set {features!r}; choose from {', '.join(FEATURE_SETS)}")
    if features == "mfcc+prosody":
        from .prosody import ProsodyMfccExtractor

        return ProsodyMfccExtractor()
    return MfccExtractor()


def set_threads(threads: int | None) -> None:
    """Cap TensorFlow's CPU threads (call before the first TensorFlow op)."""
    if not threads:
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised: the first setting stays
        log.debug("TensorFlow threads already configured")


def epoch_arrays(variants: dict[str, list[np.ndarray]], labels: np.ndarray, rng: np.random.Generator,
                 cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of training examples: a random copy of each file, a random crop, SpecAugment, mixup."""
    names = list(variants)
    others = [v for v in names if v != "orig"]
    n, frames = len(labels), cfg.frames
    n_features = variants[names[0]][0].shape[1]
    x = np.empty((n, frames, n_features), dtype=np.float32)
    for i in range(n):
        name = "orig" if not others or rng.random() < cfg.orig_share else others[rng.integers(len(others))]
        tiled = tile_to(variants[name][i], frames)
        start = rng.integers(0, max(1, len(tiled) - frames + 1))
        x[i] = tiled[start:start + frames]
        mask_window(x[i], cfg, rng)
    y = np.eye(len(RAVDESS_LABELS), dtype=np.float32)[labels]
    if cfg.mixup > 0:
        (x,), y = mix_up([x], y, rng, cfg.mixup)
    order = rng.permutation(n)
    return x[order], y[order]


def mix_up(views: list[np.ndarray], y: np.ndarray, rng: np.random.Generator,
           alpha: float) -> tuple[list[np.ndarray], np.ndarray]:
    """Mixup: each example mixed with a random partner at a share of at least a half (Beta(`alpha`,
    `alpha`)); every array in `views` with the same partners and shares, and the targets `y` alike."""
    n = len(y)
    lam = rng.beta(alpha, alpha, size=(n, 1)).astype(np.float32)
    lam = np.maximum(lam, 1 - lam)
    perm = rng.permutation(n)
    mixed = [lam[:, :, None] * x + (1 - lam[:, :, None]) * x[perm] for x in views]
    return mixed, lam * y + (1 - lam) * y[perm]


def tile_to(feats: np.ndarray, frames: int) -> np.ndarray:
    """`feats` repeated end to end when shorter than `frames` (to at least `frames` + its length)."""
    t = len(feats)
    return np.tile(feats, (-(-(frames + t) // t), 1)) if t < frames else feats


def mask_window(window: np.ndarray, cfg: TrainConfig, rng: np.random.Generator) -> None:
    """SpecAugment in place: `cfg.time_masks` runs of frames and `cfg.feature_masks` runs of features zeroed."""
    frames, n_features = window.shape
    for _ in range(cfg.time_masks):
        w = rng.integers(0, cfg.time_mask_max + 1)
        s = rng.integers(0, frames - w + 1)
        window[s:s + w] = 0.0
    for _ in range(cfg.feature_masks):
        w = rng.integers(0, cfg.feature_mask_max + 1)
        s = rng.integers(0, n_features - w + 1)
        window[:, s:s + w] = 0.0


def utterance_logits(predict, utterances: Sequence[np.ndarray], frames: int = WINDOW_FRAMES,
                     batch: int = 256) -> np.ndarray:
    """Mean logits over the windows of each normalised utterance, windows batched across files."""
    windows, owner = [], []
    for i, feats in enumerate(utterances):
        w = split_windows(feats, frames)
        windows.append(w)
        owner.extend([i] * len(w))
    if not windows:
        return np.zeros((0, len(RAVDESS_LABELS)), dtype=np.float32)
    stacked, owner = np.concatenate(windows), np.asarray(owner)
    logits = np.concatenate([np.asarray(predict(stacked[s:s + batch])) for s in range(0, len(stacked), batch)])
    out = np.zeros((len(utterances), logits.shape[1]), dtype=np.float64)
    np.add.at(out, owner, logits)
    return (out / np.bincount(owner, minlength=len(utterances))[:, None]).astype(np.float32)


def train_member(variants: dict[str, list[np.ndarray]], labels: np.ndarray, val: list[np.ndarray] | None,
                 val_labels: np.ndarray | None, cfg: TrainConfig, seed: int, checkpoint_dir: Path,
                 resume: bool = False, name: str = "member"):
    """Train one network; checkpoint each epoch to `checkpoint_dir`; `resume` continues from there."""
    import keras

    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    last, state_file = checkpoint_dir / "last.keras", checkpoint_dir / "state.json"
    n_features = variants["orig"][0].shape[1]
    steps = max(1, len(labels) * cfg.passes // cfg.batch_size)
    history: dict[str, list] = {}
    initial_epoch = 0
    keras.utils.set_random_seed(seed)
    paired = cfg.consistency > 0
    if resume and last.exists() and state_file.exists():
        stats_pooling()
        consistency_loss(cfg.consistency)   # registers the loss class for loading
        model = keras.models.load_model(last)
        state = json.loads(state_file.read_text())
        initial_epoch, history = state["epoch"], state["history"]
        log.info("%s: resuming from %s at epoch %d", name, last, initial_epoch)
    else:
        model = build_voice_model(n_features, None, cfg.widths, cfg.dropout, cfg.dense, name=name)
        schedule = keras.optimizers.schedules.CosineDecay(
            cfg.learning_rate / 10, decay_steps=max(1, steps * (cfg.epochs - 1)), alpha=0.01,
            warmup_target=cfg.learning_rate, warmup_steps=steps,
        )
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay)
        if paired:
            model = pair_model(model)
            model.compile(optimizer=optimizer, loss=consistency_loss(cfg.consistency, cfg.label_smoothing))
        else:
            model.compile(
                optimizer=optimizer,
                loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=cfg.label_smoothing),
                metrics=["accuracy"],
            )
    network = base_of(model) if paired else model
    arrays = pair_epoch_arrays if paired else epoch_arrays
    for epoch in range(initial_epoch, cfg.epochs):
        started = time.time()
        rng = np.random.default_rng([seed, epoch])
        *x, y = (np.concatenate(parts) for parts in zip(*(arrays(variants, labels, rng, cfg)
                                                           for _ in range(cfg.passes))))
        fit = model.fit(x if paired else x[0], y, batch_size=cfg.batch_size, epochs=epoch + 1, initial_epoch=epoch,
                        verbose=0, shuffle=False)
        logs = {k: float(v[-1]) for k, v in fit.history.items()}
        if val is not None and len(val):
            logits = utterance_logits(network.predict_on_batch, val, cfg.frames)
            logs["val_accuracy"] = float(np.mean(logits.argmax(1) == val_labels))
        logs["seconds"] = time.time() - started
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        tmp = checkpoint_dir / "last.tmp.keras"
        model.save(tmp)
        tmp.replace(last)
        state_file.write_text(json.dumps({"epoch": epoch + 1, "history": history}))
        log.info("%s epoch %d/%d %s", name, epoch + 1, cfg.epochs, {k: round(v, 4) for k, v in logs.items()})
    return network, history


def _normalised(feats: list[np.ndarray], raw: int = 0) -> list[np.ndarray]:
    return [normalize(f, raw) for f in feats]


def training_features(files: Sequence, extractor, mode: str = "conditions", condition_copies: int = CONDITION_COPIES,
                      cache_dir: str | Path | None = None, trim: str = "energy",
                      vtlp: bool = False, strength: str = "table") -> dict[str, list[np.ndarray]]:
    """variant -> unnormalised features of every file in `files` (cached): "orig", the fixed copies
    unless `mode` is "none" (with `vtlp`, also `VTLP_COPIES`), and `condition_copies` random-condition
    copies at `strength` (`conditions.STRENGTHS`; named by `copy_name`) when `mode` is "conditions".

    Computed for all files found, training and validation actors alike, so every fold of a
    cross-validation shares one cache entry and sees the same copy of a file.
    """
    variants = ("orig",) + ((AUGMENTATIONS + VTLP_COPIES * vtlp) if mode != "none" else ())
    every = file_features(files, extractor, variants, cache_dir, trim)
    for name in (copy_name(k, strength) for k in range(condition_copies if mode == "conditions" else 0)):
        every[name] = condition_features(files, extractor, name, cache_dir, trim)
    return every


def train_voice_model(
    data: str | Path,
    output: str | Path,
    val_actors: Sequence[int] | None = DEFAULT_VAL_ACTORS,
    epochs: int = 60,
    seed: int = 7,
    members: int = 3,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    tiny: bool = False,
    augment: bool | str = True,
    cache_dir: str | Path | None = None,
    threads: int | None = None,
    condition_copies: int = CONDITION_COPIES,
    features: str = "mfcc",
    trim: str = "energy",
    width_scale: float = 1.0,
    vtlp: bool = False,
    consistency: float = 0.0,
    condition_strength: str = "table",
) -> dict:
    """Train on every actor of `data` except `val_actors`; save the ensemble to `output` (+ `.json`).

    The validation actors are only measured (each epoch) and used to fit the softmax temperature;
    no file of theirs is ever trained on. `augment`: True/"default" (offline speed, pitch, noise
    copies), "conditions" (those plus `condition_copies` random-condition copies), False/"none".
    `features`: "mfcc" or "mfcc+prosody" (the shipped model's; see `extractor_for_training`).
    `trim`: how utterances are trimmed (`features.TRIMS`), recorded in the metadata for evaluation.
    `width_scale`: every conv block's channels and the dense head's units times this (1: the shipped shape).
    `vtlp`: also train on copies with the formants warped (`cache.VTLP_COPIES`; not with `augment` "none").
    `consistency`: above 0, train on (original, augmented copy) pairs, this weight on the Jensen-Shannon
    divergence between their predictions (`consistency.py`; not with `augment` "none").
    `condition_strength`: how hard the random-condition copies are (`conditions.STRENGTHS`; "table" the
    shipped recipe's); only with `augment` "conditions".
    Returns the metadata written beside the model.
    """
    mode = {True: "default", False: "none"}.get(augment, augment) if isinstance(augment, bool) else augment
    if mode not in AUGMENT_MODES:
        raise DatasetError(f"unknown augmentation {augment!r}; choose from {', '.join(AUGMENT_MODES)}")
    if trim not in TRIMS:
        raise DatasetError(f"unknown trim {trim!r}; choose from {', '.join(TRIMS)}")
    if width_scale <= 0:
        raise DatasetError(f"--width-scale {width_scale:g}: must be above 0")
    if vtlp and mode == "none":
        raise DatasetError("--vtlp adds augmented copies: it cannot go with --augment none or --no-augment")
    if consistency < 0:
        raise DatasetError(f"--consistency {consistency:g}: must be 0 (off) or above")
    if consistency and mode == "none":
        raise DatasetError("--consistency pairs files with their augmented copies: it cannot go with --augment none "
                           "or --no-augment")
    if condition_strength not in STRENGTHS:
        raise DatasetError(f"unknown condition strength {condition_strength!r}; choose from {', '.join(STRENGTHS)}")
    if condition_strength != "table" and mode != "conditions":
        raise DatasetError(f"--condition-strength {condition_strength} shapes the random-condition copies: it needs "
                           "--augment conditions")
    set_threads(threads)
    import keras

    started = time.time()
    index = find_ravdess(data)
    val_set = sorted(set(val_actors or ()))
    train_index = index.select(exclude=val_set)
    val_index = index.select(val_set) if val_set else RavdessIndex(())
    if not train_index.files:
        raise DatasetError(f"{data}: no training files left after holding out actors {format_actors(val_set)}")
    if val_set and not val_index.files:
        log.warning("no files of validation actors %s in %s", format_actors(val_set), data)
    cfg = TrainConfig(epochs=epochs, consistency=float(consistency))
    if tiny:
        cfg = dataclasses.replace(cfg, widths=TINY_WIDTHS, dense=8, frames=100, batch_size=8)
    cfg = scaled_config(cfg, width_scale)
    extractor = extractor_for_training(features)
    raw = raw_columns(extractor.feature_spec)
    log.info("features for %d training files and %d validation files (augmentation: %s)", len(train_index),
             len(val_index), mode)
    every = training_features(index.files, extractor, mode, condition_copies, cache_dir, trim, vtlp,
                              condition_strength)
    variants = [v for v in every if not is_copy(v)]
    copies = [v for v in every if is_copy(v)]
    is_val = np.isin([f.actor for f in index.files], val_set)
    # validation actors are only ever measured on their original recordings, never augmented
    train_feats = {v: _normalised([x for x, held in zip(f, is_val) if not held], raw) for v, f in every.items()}
    val_feats = _normalised([x for x, held in zip(every["orig"], is_val) if held], raw)
    labels, val_labels = train_index.labels, val_index.labels
    checkpoint_dir = Path(checkpoint_dir or Path(output).with_suffix(".ckpt"))
    trained, histories = [], []
    for k in range(members):
        model, history = train_member(train_feats, labels, val_feats or None, val_labels, cfg, seed + 1000 * k,
                                      checkpoint_dir / f"member{k}", resume, name=f"member{k}")
        trained.append(model)
        histories.append(history)
    ensemble = build_ensemble(trained, extractor.n_features)
    logits = utterance_logits(ensemble.predict_on_batch, val_feats, cfg.frames) if val_feats else None
    temperature = fit_temperature(logits, val_labels) if logits is not None and len(val_labels) else 1.0
    val_accuracy = float(np.mean(logits.argmax(1) == val_labels)) if logits is not None else None
    meta = {
        "labels": list(RAVDESS_LABELS),
        "feature_spec": dict(extractor.feature_spec),
        "features": features,
        "trim": trim,
        "window_frames": cfg.frames,
        "min_window": round(cfg.frames * extractor.feature_spec["hop_length"] / extractor.feature_spec["sample_rate"], 3),
        "normalisation": "per-utterance mean/variance" + (f" (the last {raw} prosody features raw)" if raw else ""),
        "temperature": temperature,
        "train_actors": train_index.actors,
        "val_actors": val_index.actors,
        "n_train": len(train_index),
        "n_val": len(val_index),
        "val_accuracy": val_accuracy,
        "members": members,
        "seed": seed,
        "epochs": epochs,
        "width_scale": width_scale,
        "vtlp": [float(v[4:]) for v in variants if v.startswith("vtlp")],
        "consistency": cfg.consistency,
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()},
        "augmentations": variants[1:] + [f"conditions ({len(copies)} random-condition copies)"] * bool(copies),
        "condition_copies": len(copies),
        "condition_strength": condition_strength if copies else None,
        "member_val_accuracy": [h.get("val_accuracy", [None])[-1] for h in histories],
        "wall_seconds": round(time.time() - started, 1),
        "keras": keras.__version__,
        "licence": "CC BY-NC-SA 4.0 (trained on RAVDESS, Livingstone & Russo 2018)",
    }
    save_model(trained, extractor.n_features, cfg, temperature, meta, output)
    log.info("saved %s (validation actors %s: accuracy %s, temperature %.2f)", output,
             format_actors(val_index.actors) or "none", "n/a" if val_accuracy is None else f"{val_accuracy:.3f}",
             temperature)
    return meta


def scaled_config(cfg: TrainConfig, width_scale: float) -> TrainConfig:
    """`cfg` with every conv width and the dense head `width_scale` times as wide (at least 1 channel)."""
    if width_scale == 1.0:
        return cfg
    return dataclasses.replace(cfg, widths=tuple(max(1, round(w * width_scale)) for w in cfg.widths),
                               dense=max(1, round(cfg.dense * width_scale)))


def save_model(members, n_features: int, cfg: TrainConfig, temperature: float, meta: dict,
               output: str | Path) -> Path:
    """Write the inference ensemble (temperature built in, no optimizer state) and its `.json` beside it."""
    clean = []
    for i, member in enumerate(members):
        fresh = build_voice_model(n_features, None, cfg.widths, cfg.dropout, cfg.dense, name=f"member{i}")
        fresh.set_weights([np.asarray(w, dtype=np.float32) for w in member.get_weights()])
        clean.append(fresh)
    ensemble = build_ensemble(clean, n_features, temperature)
    output = Path(output)
    with atomic_output(output) as tmp:   # the temp name ends in .keras, as Keras requires
        ensemble.save(tmp)
    with atomic_output(output.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n")
    return output
