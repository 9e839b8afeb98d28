"""The examples of docs/plugins.md run and pass their own contract checks (issue 14, item 13);
the names, signatures and kinds the page states are the code's."""
from __future__ import annotations

import importlib
import inspect
import re
import types

import pytest

import emofuse.testing as testing
from emofuse.option_check import options_of

from .conftest import REPO

DOC = (REPO / "docs" / "plugins.md").read_text()
HOOK_BLOCKS = re.findall(r"### `(\w+)\(register\)`.*?```python\n(.*?)```", DOC, re.S)


def _block(after: str) -> str:
    """The first python block of the page after the text `after`."""
    return re.search(rf"{re.escape(after)}.*?```python\n(.*?)```", DOC, re.S).group(1)


def _plugin() -> types.ModuleType:
    """Every hook's example run in one module: the plugin the page builds."""
    module = types.ModuleType("docs_plugin")
    for _, block in HOOK_BLOCKS:
        exec(block, module.__dict__)  # noqa: S102 - our own documentation
    return module


def test_face_detector_example_passes_check_face_detector():
    detector_class = _plugin().CascadeDetector
    testing.check_face_detector(detector_class())
    [option] = options_of(detector_class)
    assert (option.name, option.type, option.default) == ("min_neighbors", "int", 5) and option.help


def test_every_hook_example_passes_its_contract_check(tmp_path):
    plugin = _plugin()
    assert len(HOOK_BLOCKS) == 9
    testing.check_visual_classifier(plugin.AlwaysNeutral())
    testing.check_audio_feature_extractor(plugin.Loudness())
    testing.check_audio_classifier(plugin.LoudIsAngry(), plugin.Loudness())
    testing.check_face_embedder(plugin.MeanColour())
    testing.check_voice_activity(plugin.LoudIsSpeech())
    testing.check_fusion_strategy(plugin.PreferSurerFace())
    testing.check_exporter(plugin.Labels(), tmp_path)
    camera = plugin.NoiseCamera(fps=1000.0)
    timestamp, frame = camera.read()
    assert camera.media == "video" and frame.shape == (480, 640, 3) and timestamp > 0
    exec(_block("## Testing your plugin"), namespace := dict(vars(plugin)))  # noqa: S102
    namespace["test_contract"]()


@pytest.mark.slow
def test_the_analyse_in_code_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    testing.write_media("clip.mp4", 2.0, size=(320, 240))
    namespace = {"my_module": _plugin()}
    exec(_block("To try your plugin inside emofuse"), namespace)  # noqa: S102
    timeline, components = namespace["timeline"], namespace["components"]
    assert len(timeline.segments) == 2 and timeline.segments[0].label is not None
    assert components["fusion"].get("prefer-surer-face").plugin == "mine"
    assert components["face_detector"].get("cascade").plugin == "mine"


def test_write_media_is_documented_with_its_real_parameters_and_defaults():
    real = ", ".join(name if p.default is inspect.Parameter.empty else f"{name}={p.default!r}"
                     for name, p in inspect.signature(testing.write_media).parameters.items())
    assert f"`write_media({real.replace(chr(39), chr(34))}) -> Path`" in DOC
    documented = re.search(r"`write_media\(.*?\n(.*?)\n- contract checks", DOC, re.S).group(1)
    for name in inspect.signature(testing.write_media).parameters:
        assert f"`{name}`" in documented, f"write_media's {name} has no documented type"


def test_the_emotion_scores_reading_members_exist_and_give_what_the_table_says():
    from emofuse import LABELS, EmotionScores

    members = re.findall(r"^\| `(?:s|EmotionScores)\.(\w+)", DOC, re.M)
    assert members == ["array", "values", "as_dict", "label", "confidence", "raw", "mean"]
    s = testing.sample_scores("happy", 0.7)
    assert all(hasattr(s, member) for member in members)
    assert s.array.tolist() == list(s.values) and list(s.as_dict()) == list(LABELS)
    assert (s.label, s.confidence, s.raw) == ("happy", pytest.approx(0.7), None)
    assert EmotionScores.mean([]) is None and EmotionScores.mean([s, s]).label == "happy"


def test_every_emofuse_name_the_page_gives_exists():
    for dotted in sorted(set(re.findall(r"`(emofuse(?:\.\w+)+)", DOC))):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
                break
            except ImportError:
                continue
        for attribute in parts[cut:]:
            assert hasattr(obj, attribute), dotted
            obj = getattr(obj, attribute)
    assert (REPO / "fusion" / "components.py").is_file() and "`fusion/components.py`" in DOC


def test_the_kinds_the_page_lists_are_those_emofuse_list_takes():
    from emofuse.cli.list_cmd import KIND_NAMES
    from emofuse.components import KINDS

    paragraph = DOC[DOC.index("The kinds, as `emofuse list KIND` takes them"):]
    paragraph = paragraph[:paragraph.index("\n\n")]
    listed = re.findall(r"`([a-z-]+)`", paragraph[:paragraph.index("`--set")])
    assert listed == list(KIND_NAMES)
    assert "`face_detector`" in paragraph and "`media_source`" in paragraph and set(KINDS) >= {"media_source"}


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
    voice = _help("train", "voice")
    assert "(default 1: the" in voice and "(default: 1.0)" not in voice  # --width-scale says it in its own words


def test_train_and_evaluate_help_show_every_models_examples():
    for action in ("train", "evaluate"):
        text = _help(action)
        examples = text[text.index("examples:\n"):]
        for model in ("face", "voice"):
            assert f"\n  emofuse {action} {model} --data " in examples, (action, model)
        assert f"emofuse {action} MODEL --help" in examples
    assert 'pip install "emofuse[train]"' in _help("train")
