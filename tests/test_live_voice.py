"""Live mode without devices: the voice from the first second of speech, devices that drop and
come back, and the device listing (fake sources and components; tests/test_live_devices.py has
the real ones)."""
from __future__ import annotations

import threading
import time
import types

import numpy as np
import pytest

from emofuse import hookimpl
from emofuse.errors import MediaError
from emofuse.live import LiveSession, SegmentBook, VoiceWorker
from emofuse.live.sources import MIN_VOICE_WINDOW, LatestFrame, merge_voice
from emofuse.plugin_manager import collect_components
from emofuse.runner import AnalysisOptions, Pipeline
from emofuse.types import VoiceEvidence

from .fakes import Plugin, one_hot

RATE = 16000


class Picky:
    """Audio classifier like ravdess-cnn: wants 3 s, and a window that is mostly silence is no verdict."""

    min_window = 3.0

    def check_features(self, spec):
        pass

    def classify(self, features):
        loud = np.asarray(features).ravel() > 0.03
        return one_hot("angry") if loud.mean() >= 0.5 else None


class Never:
    """Voice activity: nothing is speech."""

    hop = 0.01

    def speech(self, samples, sample_rate):
        return np.zeros(len(samples) // int(sample_rate * self.hop))


class Streaming:
    """Voice activity that streams (takes `start`) and records where each call began."""

    hop = 0.032

    def __init__(self):
        self.starts, self._rest = [], 0

    def speech(self, samples, sample_rate, start=None):
        self.starts.append((start, len(samples)))
        chunk = int(self.hop * sample_rate)
        n = (self._rest + len(samples)) // chunk
        self._rest = (self._rest + len(samples)) % chunk
        x = np.asarray(samples, dtype=np.float64)
        return np.full(n, 1.0 if np.sqrt(np.mean(x ** 2)) > 0.01 else 0.0)


class _Extra:
    @hookimpl
    def register_audio_classifiers(self, register):
        register("picky", Picky)

    @hookimpl
    def register_voice_activity_detectors(self, register):
        register("never", Never)
        register("streaming", Streaming)


def _pipeline(vad: str = "loud", min_speech: float = 0.2) -> Pipeline:
    components = collect_components(extra_plugins={"fakes": Plugin(), "extra": _Extra()})
    options = AnalysisOptions(video=False, audio_features="energy", audio_classifier="picky", voice_activity=vad,
                              min_speech=min_speech)
    return Pipeline(options, components)


class Tape:
    """An audio source whose sound is a fixed array, heard as far as `at` seconds."""

    media, sample_rate = "audio", RATE

    def __init__(self, sound: np.ndarray) -> None:
        self.sound, self.at = sound, 0.0

    def start(self):
        pass

    def heard(self) -> float:
        return self.at

    def latest(self, seconds):
        end = int(round(self.at * RATE))
        n = int(round(seconds * RATE))
        out = np.zeros(n, np.float32)
        got = self.sound[max(0, end - n): end]
        out[n - got.size:] = got
        return out

    def close(self):
        pass


def _tone(seconds: float) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * 220 * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


def _listen(pipeline, sound, until, every=0.25, own=1.0):
    """Run the worker's `hear` tick by tick (no thread): [(time, evidence, speech share)]."""
    tape = Tape(sound)
    worker = VoiceWorker(tape, pipeline, window=3.0, own=own, every=every)
    worker._vad = pipeline.voice_activity
    worker._streams = "start" in __import__("inspect").signature(worker._vad.speech).parameters
    out = []
    for k in range(1, int(round(until / every)) + 1):
        tape.at = k * every
        total = int(round(tape.at * RATE))
        evidence, speech = worker.hear(tape.latest(3.0), total, [])
        out.append((tape.at, evidence, speech))
    return out, worker


def test_the_first_second_of_speech_after_silence_gets_a_voice_verdict():
    sound = np.concatenate([np.zeros(3 * RATE, np.float32), _tone(4.0)])  # speech from 3.0 s
    ticks, worker = _listen(_pipeline(), sound, until=7.0)
    verdicts = [(t, e) for t, e, _ in ticks if e is not None]
    assert all(t > 3.0 for t, _ in verdicts), "a verdict in the silence"
    first_at, first = verdicts[0]
    assert first_at <= 3.5  # a 3 s window ending then would be mostly silence: Picky says nothing
    assert first.label == "angry" and MIN_VOICE_WINDOW <= first.window < 3.0  # flagged: a shorter window
    windows = [e.window for _, e in verdicts]
    assert windows == sorted(windows)  # it grows with the speech ...
    assert all(e.window < 3.0 for t, e in verdicts if t <= 5.5)
    assert all(e.window == 3.0 for t, e in verdicts if t >= 6.25)  # ... until the speech fills it
    assert worker.short == sum(e.window < 3.0 for _, e in verdicts) >= 2


def test_a_verdict_needs_min_speech_of_the_last_second():
    def first_verdict(speech_seconds):
        sound = np.concatenate([np.zeros(2 * RATE, np.float32), _tone(speech_seconds), np.zeros(2 * RATE, np.float32)])
        ticks, _ = _listen(_pipeline(min_speech=0.2), sound, until=4.0, every=0.1)
        return [(round(t, 2), round(s, 2)) for t, e, s in ticks if e is not None]

    assert first_verdict(0.17) == []  # 17 % of the last second at most: no verdict
    heard = first_verdict(0.25)
    assert heard and all(s >= 0.2 for _, s in heard)


def test_loud_sound_that_is_no_speech_gets_no_voice():
    ticks, _ = _listen(_pipeline(vad="never"), _tone(3.0), until=3.0)
    assert all(e is None and s == 0.0 for _, e, s in ticks)


def test_a_streaming_detector_hears_each_sample_once_in_order():
    pipeline = _pipeline(vad="streaming")
    ticks, worker = _listen(pipeline, _tone(2.0), until=2.0)
    starts = worker._vad.starts
    assert [s for s, _ in starts] == pytest.approx([sum(n for _, n in starts[:i]) / RATE for i in range(len(starts))])
    assert sum(n for _, n in starts) == 2 * RATE
    assert ticks[-1][1] is not None and ticks[-1][2] == 1.0


def test_a_segment_gets_the_mean_speech_share_and_the_window_its_verdicts_had():
    seen, rows = [], []

    def fuse(face, voice, errors):
        seen.append(voice)
        return None if voice is None else voice.scores

    book = SegmentBook(1.0, fuse, rows.append)
    pending = book.at(0.3)
    pending.voices += [VoiceEvidence(one_hot("angry"), speech=0.5, level_db=-20, window=0.6, sample_rate=RATE),
                       VoiceEvidence(one_hot("angry"), speech=1.0, level_db=-12, window=1.0, sample_rate=RATE)]
    pending.speech += [0.0, 0.5, 1.0]
    book.at(1.2).speech.append(0.0)
    book.finish(2.0)
    assert [r.voice_speech for r in rows] == [0.5, 0.0]
    assert rows[0].voice.label == "angry" and rows[1].voice is None
    assert seen[0].window == pytest.approx(0.8) and seen[0].speech == 0.5 and seen[0].level_db == -12
    assert merge_voice([], [0.3]) is None


# --------------------------------------------------------------------------- a camera that drops


class Flaky:
    """Video source: frames, then a failure after `fail_after`; `reopen()` works on its `opens_on`-th call."""

    media = "video"
    name = "camera http://cam"

    def __init__(self, fail_after=5, opens_on=3, reconnect=0.01):
        self.fail_after, self.opens_on, self.reconnect = fail_after, opens_on, reconnect
        self.count = self.reopens = 0
        self.frame = np.full((60, 80, 3), 200, np.uint8)

    def read(self):
        time.sleep(0.005)
        if self.count == self.fail_after:
            self.count += 1
            raise MediaError(f"{self.name}: reading a frame failed (device lost?)")
        self.count += 1
        return time.monotonic(), self.frame

    def reopen(self):
        self.reopens += 1
        return self.reopens >= self.opens_on

    def close(self):
        pass


def _frames(grabber, n, timeout=5.0):
    got, deadline = 0, time.monotonic() + timeout
    while got < n and time.monotonic() < deadline:
        got += grabber.get(0.05) is not None
    return got


def test_a_camera_that_drops_is_reopened_and_says_so():
    source = Flaky()
    grabber = LatestFrame(source).start()
    try:
        assert _frames(grabber, 12) == 12  # frames go on after the failure at the 6th
        events = grabber.notices()
        assert [e for e, _ in events] == ["lost", "back"]
        assert "device lost" in str(events[0][1]) and events[1][1] >= 0.02  # two failed reopens, 10 ms apart
        assert source.reopens == 3 and grabber.lost == 1 and not grabber.ended
    finally:
        assert grabber.stop()
    assert grabber.error is None


def test_a_camera_that_cannot_reopen_ends_with_its_error():
    source = Flaky(reconnect=0)
    grabber = LatestFrame(source).start()
    _frames(grabber, 10, timeout=1.0)
    grabber.stop()
    assert grabber.ended and isinstance(grabber.error, MediaError) and source.reopens == 0


def test_stopping_while_reopening_ends_quietly():
    source = Flaky(fail_after=0, opens_on=10**9, reconnect=0.01)
    grabber = LatestFrame(source).start()
    time.sleep(0.1)
    assert grabber.stop() and grabber.error is None and source.reopens >= 2


def test_the_session_reports_the_loss_once_and_the_return():
    components = collect_components(extra_plugins={"fakes": Plugin()})
    options = AnalysisOptions(face_detector="center", visual_classifier="brightness", fusion="face-first",
                              audio=False, segment=0.1)
    messages, rows = [], []
    session = LiveSession(Pipeline(options, components), Flaky(fail_after=10, opens_on=5), duration=0.6,
                          on_segment=rows.append, message=messages.append)
    report = session.run()
    assert messages[0] == "emofuse: error: camera http://cam: reading a frame failed (device lost?); reopening it every 0.01 s"
    assert messages[1].startswith("emofuse: camera http://cam: back after ") and len(messages) == 2
    assert report.reconnects == 1 and len(report.failures) == 1
    assert sum("video source failed" in " ".join(r.errors) for r in rows) == 1
    assert rows[-1].faces == 1


# --------------------------------------------------------------------------- sources: stall, listing


def test_a_microphone_that_goes_quiet_counts_as_lost(monkeypatch):
    from emofuse.plugins.media_sources import Microphone

    from .test_live_sources import _FakeStream

    fake = types.SimpleNamespace(query_devices=lambda device, kind: {"default_samplerate": 8000.0},
                                 InputStream=_FakeStream)
    monkeypatch.setitem(__import__("sys").modules, "sounddevice", fake)
    mic = Microphone("usb", stall=0.2)
    mic.start()
    mic._stream.callback(np.ones((4000, 1), np.float32), 4000, None, None)
    assert mic.heard() == 0.5 and mic.latest(0.1).shape == (800,)
    time.sleep(0.1)
    mic.latest(0.1)  # 0.1 s without data: still fine
    time.sleep(0.15)
    with pytest.raises(MediaError, match=r"microphone usb: no sound data for 0.2 s \(device lost\?\)"):
        mic.latest(0.1)
    mic.close()


class _FakeCapture:
    opened = {0: (640, 480), 2: (1280, 720)}
    calls: list = []

    def __init__(self, device, *args):
        _FakeCapture.calls.append((device, *args))
        self.size = self.opened.get(device)

    def isOpened(self):
        return self.size is not None or isinstance(self.calls[-1][0], str)

    def get(self, prop):
        import cv2

        return {cv2.CAP_PROP_FRAME_WIDTH: self.size[0], cv2.CAP_PROP_FRAME_HEIGHT: self.size[1]}[prop]

    def set(self, prop, value):
        pass

    def release(self):
        pass


def test_cameras_are_listed_by_the_indices_that_open(monkeypatch):
    import cv2

    import emofuse.plugins.media_sources as media_sources

    monkeypatch.setattr(cv2, "VideoCapture", _FakeCapture)
    monkeypatch.setattr(media_sources, "CAMERA_INDICES", range(4))
    assert media_sources.Camera.list_devices() == [("0", "640x480"), ("2", "1280x720")]


def test_a_stream_url_opens_with_timeouts_and_reconnects(monkeypatch):
    import cv2

    from emofuse.plugins.media_sources import Camera

    monkeypatch.setattr(cv2, "VideoCapture", _FakeCapture)
    _FakeCapture.calls = []
    stream = Camera("http://10.0.0.7/cam", timeout=2)
    assert _FakeCapture.calls[-1] == ("http://10.0.0.7/cam", cv2.CAP_FFMPEG,
                                      [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 2000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 2000])
    assert stream.reconnect == 1.0 and stream.reopen() and len(_FakeCapture.calls) == 2
    assert Camera(0).reconnect == 0.0 and _FakeCapture.calls[-1] == (0,)


def test_list_devices_prints_each_source_and_what_picks_it(capsys, monkeypatch):
    import emofuse.plugins.media_sources as media_sources
    from emofuse.cli.live_cmd import list_devices, print_devices

    monkeypatch.setattr(media_sources, "CAMERA_INDICES", range(0))  # no probing of this machine's cameras
    class Listed:
        media = "audio"

        @staticmethod
        def list_devices():
            return [("hw:1", "USB mic"), ("default", "the system's")]

    class Broken:
        media = "video"

        @staticmethod
        def list_devices():
            raise RuntimeError("no bus")

    class Sources:
        @hookimpl
        def register_media_sources(self, register):
            register("usb-mic", Listed)
            register("broken-cam", Broken)

    found = {name: devices for name, _, devices in list_devices(collect_components(extra_plugins={"s": Sources()}))}
    assert found["usb-mic"] == [("hw:1", "USB mic"), ("default", "the system's")]
    assert found["broken-cam"] == "RuntimeError: no bus"
    assert "video-file" not in found  # nothing to list
    print_devices([("camera", "video", []), ("usb-mic", "audio", found["usb-mic"]), ("broken-cam", "video", "no bus")])
    assert capsys.readouterr().out.splitlines() == [
        "camera (video): --camera DEVICE",
        "  none found; a video file or a stream URL (rtsp://, http://) works too",
        "usb-mic (audio): --mic DEVICE --mic-source usb-mic",
        "  hw:1     USB mic",
        "  default  the system's",
        "broken-cam (video): --camera DEVICE --camera-source broken-cam",
        "  cannot list them: no bus",
    ]


def test_threads_left_behind_are_daemons():
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("emofuse-"))
