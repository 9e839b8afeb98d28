"""The plugin API is a promise to users: these tests keep it."""
import importlib.metadata as md
import types
import warnings

import pytest

from emofuse import hookimpl, plugin_manager
from emofuse.errors import PluginError, RegistryError
from emofuse.hookspecs import HOOK_KINDS
from emofuse.registry import Registry

from .fakes import CenterFace, Plugin


def test_unknown_name_lists_the_available_ones():
    registry = Registry("face_detector", "face detector")
    registry.add("haar", CenterFace, "haar")
    registry.add("dnn", CenterFace, "other")
    with pytest.raises(RegistryError, match=r"unknown face detector 'hog'; available: dnn, haar"):
        registry.get("hog")


def test_duplicate_name_names_both_plugins():
    registry = Registry("face_detector", "face detector")
    registry.add("haar", CenterFace, "emofuse-haar")
    with pytest.raises(RegistryError, match="by plugin emofuse-haar and by plugin copycat"):
        registry.add("haar", CenterFace, "copycat")


def test_create_checks_the_component_protocol():
    from emofuse.components import FaceDetector

    registry = Registry("face_detector", "face detector", FaceDetector)
    registry.add("bad", lambda: object(), "oops")
    with pytest.raises(PluginError, match="lacks the FaceDetector methods"):
        registry.create("bad")
    registry.add("good", CenterFace, "fine")
    with pytest.raises(PluginError, match="unknown option 'nonsense'; options: size"):
        registry.create("good", nonsense=1)
    assert registry.create("good", size=10).size == 10


def test_builtins_register_every_default_component():
    components = plugin_manager.collect_components()
    assert not components.failures
    assert {"haar"} <= set(components["face_detector"].names())
    assert {"fer-cnn"} <= set(components["visual_classifier"].names())
    assert {"mfcc"} <= set(components["audio_features"].names())
    assert {"ravdess-cnn"} <= set(components["audio_classifier"].names())
    assert {"weighted", "product", "max-confidence"} <= set(components["fusion"].names())
    assert {"csv", "json", "jsonl"} <= set(components["exporter"].names())
    assert components.provided_by("haar") == {"face_detector": ["haar"]}


def test_every_hook_reaches_its_registry():
    components = plugin_manager.collect_components(extra_plugins={"fakes": Plugin()})
    assert components["face_detector"].get("center").plugin == "fakes"
    assert components["audio_classifier"].get("loud-angry").plugin == "fakes"
    assert set(HOOK_KINDS.values()) == set(components.registries)


class _EntryPoint:
    """Stands in for an importlib.metadata.EntryPoint of an installed third-party plugin."""

    def __init__(self, name, load):
        self.name, self._load = name, load
        self.dist = types.SimpleNamespace(name=f"emofuse-{name}", version="1.0")

    def load(self):
        return self._load()


def _install(monkeypatch, *eps):
    real = md.entry_points

    def entry_points(group=None, **kw):
        return list(eps) if group == "emofuse" else real(group=group, **kw)

    monkeypatch.setattr(plugin_manager.md, "entry_points", entry_points)


def _broken_import():
    raise ImportError("No module named 'missing_dependency'")


class _RaisingHook:
    @hookimpl
    def register_fusion_strategies(self, register):
        raise RuntimeError("boom")


class _Good:
    @hookimpl
    def register_fusion_strategies(self, register):
        register("mean-of-two", lambda: None, description="x")


def test_a_broken_plugin_is_a_warning_naming_it_not_a_dead_cli(monkeypatch):
    _install(monkeypatch, _EntryPoint("broken", _broken_import), _EntryPoint("raises", _RaisingHook),
             _EntryPoint("good", _Good))
    with pytest.warns(plugin_manager.PluginWarning) as record:
        components = plugin_manager.collect_components()
    messages = [str(w.message) for w in record]
    assert any("plugin broken (emofuse-broken 1.0) failed to import" in m and "missing_dependency" in m for m in messages)
    assert any("plugin raises: register_fusion_strategies failed: boom" in m for m in messages)
    assert "mean-of-two" in components["fusion"]
    assert "haar" in components["face_detector"]


def test_strict_mode_turns_a_broken_plugin_into_an_error(monkeypatch):
    _install(monkeypatch, _EntryPoint("broken", _broken_import))
    monkeypatch.setenv("EMOFUSE_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="plugin broken"):
        plugin_manager.collect_components()


def test_hook_returning_a_value_is_reported(monkeypatch):
    class Returns:
        @hookimpl
        def register_exporters(self, register):
            return {"csv2": object}

    _install(monkeypatch, _EntryPoint("returns", Returns))
    with pytest.warns(plugin_manager.PluginWarning, match="returned dict; call register"):
        plugin_manager.collect_components()


def test_load_only_and_block_switches(monkeypatch):
    _install(monkeypatch, _EntryPoint("good", _Good), _EntryPoint("broken", _broken_import))
    monkeypatch.setenv("EMOFUSE_LOAD_PLUGINS", "good")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        components = plugin_manager.collect_components()
    assert [p.name for p in components.plugins if not p.builtin] == ["good"]
    monkeypatch.delenv("EMOFUSE_LOAD_PLUGINS")
    monkeypatch.setenv("EMOFUSE_BLOCK_PLUGINS", "good,broken")
    components = plugin_manager.collect_components()
    assert [p.name for p in components.plugins if not p.builtin] == []
    assert "mean-of-two" not in components["fusion"]


class _Copycat:
    """Registers a built-in's name, then a name of its own."""

    @hookimpl
    def register_face_detectors(self, register):
        register("haar", CenterFace)
        register("copy-center", CenterFace)


def test_third_party_duplicate_of_a_builtin_name_is_reported(monkeypatch):
    _install(monkeypatch, _EntryPoint("copycat", _Copycat))
    with pytest.warns(plugin_manager.PluginWarning, match="by plugin haar and by plugin copycat"):
        components = plugin_manager.collect_components()
    assert components["face_detector"].get("haar").plugin == "haar"


def test_a_duplicate_name_does_not_drop_the_names_registered_after_it(monkeypatch):
    _install(monkeypatch, _EntryPoint("copycat", _Copycat))
    with pytest.warns(plugin_manager.PluginWarning, match="registered twice"):
        components = plugin_manager.collect_components()
    assert components["face_detector"].get("copy-center").plugin == "copycat"


def test_a_duplicate_in_strict_mode_is_one_error_worded_once(monkeypatch):
    _install(monkeypatch, _EntryPoint("copycat", _Copycat))
    monkeypatch.setenv("EMOFUSE_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError) as caught:
        plugin_manager.collect_components()
    assert str(caught.value) == ("plugin copycat: register_face_detectors: face detector 'haar' is registered "
                                 "twice: by plugin haar and by plugin copycat")


@pytest.mark.parametrize("variable, value, said", [
    ("EMOFUSE_LOAD_PLUGINS", "goood", "EMOFUSE_LOAD_PLUGINS names 'goood', which is not the name of an installed "
                                      "plugin; installed plugins: good"),
    ("EMOFUSE_LOAD_PLUGINS", "good,haar", "EMOFUSE_LOAD_PLUGINS names 'haar', which is a built-in plugin "
                                          "(built-ins are always loaded)"),
    ("EMOFUSE_BLOCK_PLUGINS", "goood", "EMOFUSE_BLOCK_PLUGINS names 'goood', which is not the name of an "
                                       "installed plugin"),
])
def test_a_plugin_switch_naming_no_installed_plugin_is_said(monkeypatch, variable, value, said):
    _install(monkeypatch, _EntryPoint("good", _Good))
    monkeypatch.setenv(variable, value)
    with pytest.warns(plugin_manager.PluginWarning) as record:
        plugin_manager.collect_components()
    assert any(said in str(w.message) for w in record), [str(w.message) for w in record]


def test_a_plugin_switch_naming_installed_plugins_says_nothing(monkeypatch):
    _install(monkeypatch, _EntryPoint("good", _Good))
    monkeypatch.setenv("EMOFUSE_LOAD_PLUGINS", "good")
    monkeypatch.setenv("EMOFUSE_BLOCK_PLUGINS", "good")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not plugin_manager.collect_components().failures


def test_a_plugin_passed_in_code_that_is_also_installed_is_one_line_naming_it(monkeypatch):
    mine = _Good()
    _install(monkeypatch, _EntryPoint("mine", lambda: mine))
    expected = ("extra_plugins['mine']: plugin 'mine' is also installed (emofuse-mine 1.0); set "
                "EMOFUSE_BLOCK_PLUGINS=mine to use the one passed in code, or leave it out of extra_plugins")
    for passed in (mine, _Good()):  # the installed object itself, or another under the installed name
        with pytest.raises(PluginError) as caught:
            plugin_manager.collect_components(extra_plugins={"mine": passed})
        assert str(caught.value) == expected
    with pytest.raises(PluginError, match=r"^extra_plugins\['dev'\]: plugin 'mine' is also installed"):
        plugin_manager.collect_components(extra_plugins={"dev": mine})
    monkeypatch.setenv("EMOFUSE_BLOCK_PLUGINS", "mine")  # the advice works
    components = plugin_manager.collect_components(extra_plugins={"mine": mine})
    assert components["fusion"].get("mean-of-two").plugin == "mine"


def test_a_plugin_passed_in_code_under_a_builtin_name_or_twice_is_one_clear_error():
    with pytest.raises(PluginError, match=r"^extra_plugins\['haar'\]: 'haar' is a built-in plugin; pass yours "
                                          r"under another name$"):
        plugin_manager.collect_components(extra_plugins={"haar": _Good()})
    good = _Good()
    with pytest.raises(PluginError, match=r"^extra_plugins\['b'\]: the same plugin is passed twice \(also as 'a'\)$"):
        plugin_manager.collect_components(extra_plugins={"a": good, "b": good})


def test_an_invalid_plugin_passed_in_code_is_a_plugin_error():
    class WrongArguments:
        @hookimpl
        def register_face_detectors(self, register, extra):
            pass

    with pytest.raises(PluginError, match=r"^extra_plugins\['wrong'\] is not a valid plugin: .*'extra'") as caught:
        plugin_manager.collect_components(extra_plugins={"wrong": WrongArguments()})
    assert "\n" not in str(caught.value)


def test_a_hook_that_raises_keeps_the_names_it_registered_before(monkeypatch):
    class HalfDone:
        @hookimpl
        def register_face_detectors(self, register):
            register("first-half", CenterFace)
            raise RuntimeError("model file missing")

    _install(monkeypatch, _EntryPoint("halfdone", HalfDone))
    with pytest.warns(plugin_manager.PluginWarning, match="plugin halfdone: register_face_detectors failed: model file"):
        components = plugin_manager.collect_components()
    assert components["face_detector"].get("first-half").plugin == "halfdone"
