"""The base install has no TensorFlow (issue 14, item 11), and the suite cleans up after itself (item 12)."""
from __future__ import annotations

import importlib.util
import sys

import pytest

from emofuse.cli import main

from .conftest import REPO
from .fakes import FAKE_FLAGS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    import re

    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].strip().lower() for r in requirements}


def test_tensorflow_is_an_extra_not_a_dependency():
    project = _project()
    assert not _names(project["dependencies"]) & {"tensorflow", "tensorflow-cpu", "keras"}
    assert "tensorflow" in _names(project["optional-dependencies"]["train"])
    assert "tensorflow" in _names(project["optional-dependencies"]["test"])  # the suite trains tiny models


def test_licence_is_an_spdx_string():
    assert _project()["license"] == "MIT AND CC-BY-NC-SA-4.0"


@pytest.fixture
def without_tensorflow(monkeypatch):
    """find_spec says TensorFlow (and Keras) are not installed."""
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name.split(".")[0] in ("tensorflow", "keras"):
            return None
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


@pytest.mark.parametrize("model", ["face", "voice"])
def test_train_without_tensorflow_says_what_to_install(without_tensorflow, tmp_path, capsys, model):
    code = main(["train", model, "--data", str(tmp_path), "--output", str(tmp_path / "m.keras")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == (f'emofuse: error: emofuse train {model} needs TensorFlow, which the base install '
                           'leaves out: pip install "emofuse[train]"')
    assert list(tmp_path.iterdir()) == []


def test_keras_backend_without_tensorflow_is_one_line(without_tensorflow, fake_components, media_dir, tmp_path,
                                                      capsys):
    code = main(["analyze", str(media_dir / "clip.mp4"), "-o", str(tmp_path / "o.csv"), "-q", *FAKE_FLAGS,
                 "--visual-classifier", "fer-cnn", "--set", "visual-classifier.backend=keras"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "the Keras backend of fer-cnn" in err and 'pip install "emofuse[train]"' in err


def test_voice_keras_backend_without_tensorflow(without_tensorflow):
    from emofuse.errors import EmofuseError
    from emofuse.plugins.ravdess_cnn import RavdessCnnClassifier

    with pytest.raises(EmofuseError, match=r'^the Keras backend of ravdess-cnn .*pip install "emofuse\[train\]"$'):
        RavdessCnnClassifier(backend="keras")


def test_has_tensorflow_follows_find_spec(without_tensorflow):
    from emofuse.extras import has_tensorflow

    assert has_tensorflow() is False


# --------------------------------------------------------------------------- the suite cleans up


def test_voice_feature_cache_is_under_pytest_temp(tmp_path_factory):
    from emofuse.plugins.ravdess_cnn.cache import default_cache_dir

    assert tmp_path_factory.getbasetemp() in default_cache_dir().parents


def test_make_test_runs_in_a_temp_folder_it_removes():
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "mktemp -d" in recipe and "TMPDIR=$$tmp" in recipe and 'rm -rf "$$tmp"' in recipe
    assert "exit $$status" in recipe  # a failing suite still fails make
