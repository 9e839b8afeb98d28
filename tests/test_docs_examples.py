"""The examples of docs/plugins.md run and pass their own contract checks (issue 14, item 13)."""
from __future__ import annotations

import re

from emofuse.option_check import options_of
from emofuse.testing import check_face_detector

from .conftest import REPO

DOC = (REPO / "docs" / "plugins.md").read_text()


def _example(hook: str) -> dict:
    block = re.search(rf"### `{hook}\(register\)`.*?```python\n(.*?)```", DOC, re.S).group(1)
    namespace: dict = {}
    exec(block, namespace)  # noqa: S102 - our own documentation
    return namespace


def test_face_detector_example_passes_check_face_detector():
    detector_class = _example("register_face_detectors")["CascadeDetector"]
    check_face_detector(detector_class())
    [option] = options_of(detector_class)
    assert (option.name, option.type, option.default) == ("min_neighbors", "int", 5) and option.help


def _help(*args: str) -> str:
    import contextlib
    import io

    import pytest

    from emofuse.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main([*args, "--help"])
    return out.getvalue()


def test_train_and_evaluate_help_have_examples_and_no_empty_defaults():
    for action in ("train", "evaluate"):
        for model in ("face", "voice"):
            text = _help(action, model)
            assert "examples:\n  emofuse " in text, (action, model)
            assert "(default: None)" not in text and "(default: False)" not in text, (action, model)
    assert "(default: 36)" in _help("train", "face")  # defaults worth saying are still said
    assert 'pip install "emofuse[train]"' in _help("train", "voice")
    precision = _help("evaluate", "face")
    assert "(default float32;" in precision and "(default: float32)" not in precision  # said once


def test_train_and_evaluate_help_show_every_models_examples():
    for action in ("train", "evaluate"):
        text = _help(action)
        examples = text[text.index("examples:\n"):]
        for model in ("face", "voice"):
            assert f"\n  emofuse {action} {model} --data " in examples, (action, model)
        assert f"emofuse {action} MODEL --help" in examples
    assert 'pip install "emofuse[train]"' in _help("train")
