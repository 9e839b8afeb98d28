"""Shared fixtures: fake components, tiny media files made with ffmpeg on the fly."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from emofuse import plugin_manager

from .fakes import Plugin

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _voice_cache_in_pytest_temp(tmp_path_factory):
    """Training and evaluation in tests cache voice features under pytest's temp folder, never in
    $TMPDIR/emofuse-voice-cache (which outlives the run)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("EMOFUSE_VOICE_CACHE", str(tmp_path_factory.mktemp("voice-cache")))
    yield
    patch.undo()


@pytest.fixture
def fake_components(monkeypatch):
    """Built-ins plus the fake components, installed as what the CLI and API see."""
    components = plugin_manager.collect_components(extra_plugins={"fakes": Plugin()})
    monkeypatch.setattr(plugin_manager, "_cached", components)
    from emofuse import api

    monkeypatch.setattr(api, "_pipelines", {})
    return components


def ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    """Tiny clips: 3 s video with a tone, 3 s silent-video, 2 s audio-only wav."""
    d = tmp_path_factory.mktemp("media")
    # a bright picture for 1.5 s then black; a loud tone in the second half only
    ffmpeg("-f", "lavfi", "-i", "color=c=white:size=160x120:rate=10:duration=1.5",
           "-f", "lavfi", "-i", "color=c=black:size=160x120:rate=10:duration=1.5",
           "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=16000:duration=3",
           "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v];[2:a]volume='if(lt(t,1.5),0,1)':eval=frame[a]",
           "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
           str(d / "clip.mp4"))
    ffmpeg("-f", "lavfi", "-i", "color=c=white:size=160x120:rate=10:duration=2",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(d / "silent.mp4"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:sample_rate=22050:duration=2", str(d / "voice.wav"))
    return d
