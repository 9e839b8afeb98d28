"""Training speed of the face network on this machine: seconds per step in float32 and bfloat16.

    python benchmarks/train_step.py                 # both precisions, batch 64, 20 timed steps
    python benchmarks/train_step.py --steps 5 --policies float32

Fits the shipped architecture (`build_face_model`) on random 48x48 faces, one warm-up fit of two
steps, then times `--steps` steps per Keras dtype policy and prints ms per step and the time of a
FER2013 epoch (28,709 faces). Tells whether `emofuse train face` should use bfloat16 mixed
precision here (`--mixed-precision`, default: only with native bfloat16 or a GPU).
"""
from __future__ import annotations

import argparse
import sys
import time

TRAINING_FACES = 28_709


def step_seconds(policy: str, batch: int, steps: int) -> float:
    """Mean seconds of one training step of the face network in the Keras dtype `policy`."""
    import keras
    import numpy as np

    from emofuse.plugins.fer_cnn.model import build_face_model

    keras.mixed_precision.set_global_policy(policy)
    try:
        model = build_face_model()
        model.compile(optimizer=keras.optimizers.AdamW(1e-3),
                      loss=keras.losses.CategoricalCrossentropy(from_logits=True))
        rng = np.random.default_rng(0)
        x = rng.random((batch * steps, 48, 48, 1), dtype=np.float32)
        y = keras.utils.to_categorical(rng.integers(0, 7, batch * steps), 7)
        model.fit(x[:2 * batch], y[:2 * batch], batch_size=batch, epochs=1, verbose=0)  # warm-up: tracing
        started = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        return (time.perf_counter() - started) / steps
    finally:
        keras.mixed_precision.set_global_policy("float32")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--policies", default="float32,mixed_bfloat16")
    args = p.parse_args(argv)
    from emofuse.plugins.fer_cnn.precision import bfloat16_is_fast

    print(f"native bfloat16 or a GPU here: {bfloat16_is_fast()}")
    first = None
    for policy in args.policies.split(","):
        seconds = step_seconds(policy, args.batch, args.steps)
        first = first or seconds
        epoch = seconds * -(-TRAINING_FACES // args.batch)
        print(f"{policy}: {1000 * seconds:.0f} ms per step of {args.batch} faces, ~{epoch / 60:.1f} min per "
              f"FER2013 epoch ({seconds / first:.2f}x the first policy)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
