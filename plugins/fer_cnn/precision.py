"""Whether bfloat16 mixed precision pays off for training on this machine."""
from __future__ import annotations

from .artifacts import cpu_has_bfloat16


def gpu_count() -> int:
    """The GPUs TensorFlow sees."""
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


def bfloat16_is_fast(native_cpu: bool | None = None, gpus: int | None = None) -> bool:
    """True with a GPU or a CPU with native bfloat16 (AVX512-BF16 or AMX). Elsewhere TensorFlow
    emulates bfloat16: a training step of the face network took 9-12x as long as in float32
    (10-14 s vs 1.15 s for 64 faces on 2 AVX2 AMD EPYC cores, `benchmarks/train_step.py`)."""
    native_cpu = cpu_has_bfloat16() if native_cpu is None else native_cpu
    gpus = gpu_count() if gpus is None else gpus
    return gpus > 0 or native_cpu
