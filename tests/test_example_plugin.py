"""The example third-party plugin, installed like a user would, then chosen from the command line."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "emofuse-subtitles"

# runs the real CLI, with the fast fake components added (the plugin under test comes from its entry point)
CHILD = """
import sys
from emofuse import plugin_manager
from emofuse.cli import main
from tests.fakes import Plugin
plugin_manager._cached = plugin_manager.collect_components(extra_plugins={"fakes": Plugin()})
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target),
         str(EXAMPLE)], capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(REPO)]), "PYTHONWARNINGS": "ignore"}
    return env


def emofuse(env, *args):
    return subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=REPO)


@pytest.mark.slow
def test_installed_plugin_is_listed(installed):
    result = emofuse(installed, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["subtitles"]["distribution"] == "emofuse-subtitles"
    assert plugins["subtitles"]["version"] == "1.0.0"
    assert plugins["subtitles"]["provides"] == {"exporter": ["srt", "vtt"]}


@pytest.mark.slow
def test_analyze_with_the_plugin_chosen_on_the_command_line(installed, media_dir, tmp_path):
    from .fakes import FAKE_FLAGS

    out = tmp_path / "clip.srt"
    result = emofuse(installed, "analyze", str(media_dir / "clip.mp4"), "-o", str(out), "-q", *FAKE_FLAGS)
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("1\n00:00:00,000 --> 00:00:01,000\nhappy 78% (face happy)\n\n2\n")  # evidence fusion calibrates the face alone (T 1.30)
    result = emofuse(installed, "analyze", str(media_dir / "clip.mp4"), "--format", "vtt", "-o", f"{tmp_path}/vtt/",
                     "-q", *FAKE_FLAGS)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "vtt" / "clip.vtt").read_text().startswith("WEBVTT")


@pytest.mark.slow
def test_blocking_the_plugin(installed):
    env = {**installed, "EMOFUSE_BLOCK_PLUGINS": "subtitles"}
    result = emofuse(env, "analyze", "x.mp4", "--format", "srt")
    assert result.returncode == 1 and "unknown exporter 'srt'" in result.stderr


@pytest.mark.slow
def test_the_plugins_own_tests_pass(installed):
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
                            capture_output=True, text=True, env=installed, timeout=300, cwd=EXAMPLE)
    assert result.returncode == 0, result.stdout[-2000:]
