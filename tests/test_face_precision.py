"""bfloat16 mixed precision for face training: on by default only where the machine runs it fast."""
from __future__ import annotations

import pytest

from emofuse.errors import EmofuseError
from emofuse.plugins.fer_cnn import precision

from .face_helpers import tiny_csv

@pytest.mark.parametrize("native_cpu, gpus, fast", [(False, 0, False), (True, 0, True), (False, 1, True)])
def test_bfloat16_is_fast_with_native_support_only(native_cpu, gpus, fast):
    assert precision.bfloat16_is_fast(native_cpu, gpus) is fast


def test_bfloat16_reads_the_cpu_by_default(monkeypatch):
    monkeypatch.setattr(precision, "gpu_count", lambda: 0)
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: True)
    assert precision.bfloat16_is_fast() is True
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: False)
    assert precision.bfloat16_is_fast() is False


@pytest.mark.parametrize("fast, flag, expected", [
    (False, None, False), (True, None, True), (True, "--no-mixed-precision", False), (False, "--mixed-precision", True),
])
def test_train_face_decides_mixed_precision_by_the_machine_unless_told(tmp_path, monkeypatch, fast, flag, expected):
    from emofuse.cli import main
    from emofuse.plugins.fer_cnn import train

    seen = {}

    def fake_train(*args, **kwargs):
        seen.update(kwargs)
        raise EmofuseError("stopped before training")

    monkeypatch.setattr(train, "train_face_model", fake_train)
    monkeypatch.setattr(precision, "bfloat16_is_fast", lambda: fast)
    data = tiny_csv(tmp_path / "fer.csv.gz")
    argv = ["train", "face", "--data", str(data), "--output", str(tmp_path / "m.keras"), "--tiny"]
    assert main(argv + ([flag] if flag else [])) == 1
    assert seen["mixed_precision"] is expected
