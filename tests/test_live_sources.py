"""The built-in media sources of `emofuse live`, how --camera/--mic pick them, and the views."""
from __future__ import annotations

import time
import types

import numpy as np
import pytest

from emofuse.errors import MediaError
from emofuse.live import (LiveState, NullView, SourceChoice, choose_source, draw_overlay, make_view,
                          render_terminal)
from emofuse.plugins.media_sources import AudioFile, Microphone, VideoFile
from emofuse.testing import write_media
from emofuse.types import FaceBox

from .fakes import one_hot


@pytest.mark.parametrize("media, device, expected", [
    ("video", "0", SourceChoice("camera", 0)),
    ("video", 2, SourceChoice("camera", 2)),
    ("video", "/dev/video1", SourceChoice("camera", "/dev/video1")),
    ("video", "rtsp://cam/stream", SourceChoice("camera", "rtsp://cam/stream")),
    ("video", "clip.mp4", SourceChoice("video-file", "clip.mp4")),
    ("audio", "default", SourceChoice("microphone", None)),
    ("audio", "1", SourceChoice("microphone", 1)),
    ("audio", "USB Audio", SourceChoice("microphone", "USB Audio")),
    ("audio", "talk.wav", SourceChoice("audio-file", "talk.wav")),
    ("audio", "recordings/talk", SourceChoice("audio-file", "recordings/talk")),
])
def test_camera_and_mic_values_pick_a_source(media, device, expected):
    assert choose_source(media, device) == expected


def test_an_explicit_source_name_wins():
    assert choose_source("video", "3", "my-camera", {"fps": 30}) == SourceChoice("my-camera", 3, {"fps": 30})


class FakeClock:
    """Stands in for the `time` module of the sources: sleeping moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def test_a_video_file_plays_at_its_own_pace_and_skips_late_frames(tmp_path, monkeypatch):
    import emofuse.plugins.media_sources as media_sources

    clock = FakeClock()
    monkeypatch.setattr(media_sources, "time", clock)
    clip = write_media(tmp_path / "clip.mp4", 2, fps=10, size=(64, 48), audio=None)
    source = VideoFile(clip)
    try:
        stamps = [source.read()[0] for _ in range(4)]
        assert stamps[-1] - stamps[0] == pytest.approx(0.3)  # 10 frames/s, not as fast as they decode
        clock.now += 0.55  # a slow reader: the frames due meanwhile are skipped, as a camera would
        stamp, frame = source.read()
        index = source._index
        assert frame.shape == (48, 64, 3) and 9 <= index <= 11
        assert 20 - index - 3 <= sum(1 for _ in iter(source.read, None)) <= 20 - index  # ends with the file
    finally:
        source.close()
    fast = VideoFile(clip, realtime=False, loop=True)
    before = clock.now
    assert sum(fast.read() is not None for _ in range(45)) == 45  # past the 20-frame end, looped
    assert clock.now == before  # never waited
    fast.close()


def test_an_audio_file_is_heard_in_real_time(tmp_path):
    wav = write_media(tmp_path / "talk.wav", 0.6, audio="tone")
    source = AudioFile(wav)
    try:
        source.start()
        time.sleep(0.3)
        window = source.latest(1.0)
        assert window.shape == (16000,) and window.dtype == np.float32
        heard = np.flatnonzero(np.abs(window) > 0.01)
        assert 0.2 <= heard.size / 16000 <= 0.45 and heard[-1] > 15000  # ~0.3 s, at the end of the window
        time.sleep(0.4)
        assert source.latest(1.0) is None  # the file has ended
    finally:
        source.close()
    with pytest.raises(MediaError, match="has no audio stream"):
        AudioFile(write_media(tmp_path / "mute.mp4", 0.5, size=(64, 48), audio=None))


class _FakeStream:
    def __init__(self, device, channels, samplerate, dtype, callback):
        self.callback, self.active = callback, False

    def start(self):
        self.active = True

    def stop(self):
        self.active = False

    def close(self):
        pass


def _query_devices(device, kind):
    if device not in (None, 1):
        raise ValueError(f"No input device matching {device!r}")
    return {"default_samplerate": 8000.0}


def test_the_microphone_keeps_a_ring_buffer_of_the_newest_sound(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "sounddevice",
                        types.SimpleNamespace(query_devices=_query_devices, InputStream=_FakeStream))
    with pytest.raises(MediaError, match="microphone headset: cannot open it .*No input device matching"):
        Microphone("headset")
    mic = Microphone(1, keep=1.0)
    assert mic.sample_rate == 8000
    mic.start()
    signal = np.arange(1, 15001, dtype=np.float32)
    for chunk in np.split(signal, 3):  # 15,000 samples through an 8,000-sample ring: it wraps
        mic._stream.callback(chunk[:, None], len(chunk), None, None)
    np.testing.assert_array_equal(mic.latest(0.5), signal[-4000:])
    longer = mic.latest(1.5)
    assert longer.shape == (12000,) and not longer[:4000].any()
    np.testing.assert_array_equal(longer[4000:], signal[-8000:])
    mic._stream.active = False  # the device went away
    with pytest.raises(MediaError, match="microphone 1: the input stream stopped"):
        mic.latest(0.5)
    mic.close()


def _state(**kw):
    frame = np.full((120, 160, 3), 90, np.uint8)
    return LiveState(frame=frame, boxes=[FaceBox(20, 30, 50, 50)], face_scores=[one_hot("happy")],
                     face=one_hot("happy"), voice=None, has_voice=True, fused=one_hot("happy"),
                     elapsed=1.5, fps=24.0, delay_ms=31.0, **kw)


def test_the_window_picture_shows_boxes_labels_and_bars():
    image = draw_overlay(_state())
    assert image.shape[0] >= 120 and image.shape[1] == 160 + 240
    assert tuple(image[30, 45]) == (0, 220, 0)  # the box outline, BGR green
    assert tuple(image[60, 45]) == (90, 90, 90)  # inside the box: the frame itself
    panel = image[:, 160:]
    bar_lengths = [(panel[18 * 4 + 14 + 24 * i + 7] == (60, 160, 255)).all(axis=1).sum() for i in range(7)]
    assert bar_lengths[3] == pytest.approx(150 * 0.9, abs=2)  # happy, 90 %
    assert max(bar_lengths[:3] + bar_lengths[4:]) <= 4


def test_the_terminal_view_says_the_same():
    from rich.console import Console

    console = Console(record=True, width=100)
    console.print(render_terminal(_state()))
    text = console.export_text()
    assert "faces: happy 90%" in text and "voice: silent" in text and "fused: happy 90%" in text
    assert "24.0 frames/s" in text and "delay 31 ms" in text


def test_no_display_means_no_window(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    import emofuse.live.views as views

    monkeypatch.setattr(views, "WindowView", lambda: pytest.fail("tried to open a window without a display"))
    assert isinstance(make_view(window=True, quiet=True), NullView)
