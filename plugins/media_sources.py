"""Built-in live inputs for `emofuse live`: `camera`, `video-file`, `microphone`, `audio-file`.

Each factory takes `device` (what the user gave to --camera / --mic) plus options from
`--set camera.OPTION=VALUE` / `--set mic.OPTION=VALUE`. OpenCV and sounddevice load when a
source is created, never at import.

Optional extras the live loop uses when a source has them: `list_devices()` (a static method:
`(device, description)` pairs for `emofuse live --list-devices`), `heard()` on an audio source
(seconds of sound received since `start()`), and `reconnect` + `reopen()` on a video source (a
network camera that drops is opened again every `reconnect` seconds).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from emofuse.errors import MediaError
from emofuse.hookspecs import hookimpl

MIC_EXTRA_HINT = ('the microphone needs the sounddevice package: pip install "emofuse[live]" '
                  "(or use --no-audio, or --mic FILE)")


def _quiet_opencv(cv2) -> None:
    """OpenCV prints a multi-line warning for every camera it cannot open: we say it in one line instead."""
    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:  # pragma: no cover - older builds
        pass


#: Camera indices `Camera.list_devices()` tries (OpenCV has no way to enumerate them).
CAMERA_INDICES = range(10)


def is_network(device) -> bool:
    """True for a stream URL (rtsp://, http://, udp://, ...) rather than a local device."""
    return isinstance(device, str) and "://" in device


class Camera:
    """An OpenCV capture device (`device`: index like 0, a /dev/video path or a stream URL).

    Options: `width`, `height`, `fps` ask the driver for a mode (it may pick the nearest);
    `timeout` (seconds) bounds opening and each read of a network stream; `reconnect` (seconds):
    after the device is lost, try to open it again this often (default 1 for a stream URL, 0 =
    never for a local camera).
    """

    media = "video"

    def __init__(self, device: int | str = 0, width: int | None = None, height: int | None = None,
                 fps: float | None = None, timeout: float = 5.0, reconnect: float | None = None) -> None:
        import cv2

        _quiet_opencv(cv2)
        self.name = f"camera {device}"
        self.device, self.timeout = device, float(timeout)
        self.reconnect = float(reconnect) if reconnect is not None else (1.0 if is_network(device) else 0.0)
        self._cv2 = cv2
        self._modes = ((cv2.CAP_PROP_FRAME_WIDTH, width), (cv2.CAP_PROP_FRAME_HEIGHT, height),
                       (cv2.CAP_PROP_FPS, fps), (cv2.CAP_PROP_BUFFERSIZE, 1))
        self._capture = self._open()
        if not self._capture.isOpened():
            raise MediaError(f"{self.name}: cannot open it (no such device, or busy); "
                             "try another --camera INDEX, a video file, or --no-video")
        self.frames = 0

    def _open(self):
        cv2 = self._cv2
        if is_network(self.device):  # bounded waits: a dead stream must fail, not hang the reader
            ms = int(1000 * self.timeout)
            capture = cv2.VideoCapture(self.device, cv2.CAP_FFMPEG,
                                       [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
        else:
            capture = cv2.VideoCapture(self.device)
        if capture.isOpened():
            for prop, value in self._modes:
                if value:
                    capture.set(prop, value)
        return capture

    def read(self) -> tuple[float, np.ndarray] | None:
        ok, frame = self._capture.read()
        if not ok or frame is None:
            raise MediaError(f"{self.name}: reading a frame failed after {self.frames} frames (device lost?)")
        self.frames += 1
        return time.monotonic(), self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2RGB)

    def reopen(self) -> bool:
        """Release the device and open it again; True when it opened (the next `read()` tells the rest)."""
        self._capture.release()
        self._capture = self._open()
        return bool(self._capture.isOpened())

    def close(self) -> None:
        self._capture.release()

    @staticmethod
    def list_devices() -> list[tuple[str, str]]:
        """The camera indices OpenCV opens here, each with its frame size: [("0", "640x480"), ...]."""
        import cv2

        logging = getattr(getattr(cv2, "utils", None), "logging", None)
        level = logging.getLogLevel() if logging else None
        if logging:  # every index that does not open is an error line from some backend: not here
            logging.setLogLevel(logging.LOG_LEVEL_SILENT)
        found = []
        try:
            for index in CAMERA_INDICES:
                capture = cv2.VideoCapture(index)
                try:
                    if capture.isOpened():
                        width, height = (int(capture.get(p)) for p in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT))
                        found.append((str(index), f"{width}x{height}" if width and height else "opens"))
                finally:
                    capture.release()
        finally:
            if logging:
                logging.setLogLevel(level)
        return found


class VideoFile:
    """A video file standing in for a camera, played at its own frame rate in real time.

    A real camera drops what nobody reads: when the reader falls behind, frames that are
    already late are skipped. `realtime=False` hands frames out as fast as they decode;
    `loop=True` starts again from the beginning at the end of the file.
    """

    media = "video"

    def __init__(self, device: str | Path, realtime: bool = True, loop: bool = False) -> None:
        import cv2

        path = Path(device)
        if not path.is_file():
            raise MediaError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
        self._cv2, self.name, self.realtime, self.loop = cv2, str(path), bool(realtime), bool(loop)
        self._capture = cv2.VideoCapture(str(path))
        ok, first = self._capture.read() if self._capture.isOpened() else (False, None)
        if not ok:
            self._capture.release()
            raise MediaError(f"{path}: OpenCV finds no video frames in it (is it a video file?)")
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or 25.0
        self._pending, self._index, self._start = first, 0, None

    def _next_bgr(self, decode: bool = True):
        """The next frame (BGR), or None at the end; `decode=False` only skips it (returns True)."""
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        for attempt in range(2 if self.loop else 1):
            if attempt:
                self._capture.set(self._cv2.CAP_PROP_POS_FRAMES, 0)
            if not decode and self._capture.grab():
                return True
            ok, frame = self._capture.read() if decode else (False, None)
            if ok:
                return frame
        return None

    def read(self) -> tuple[float, np.ndarray] | None:
        if self._start is None:
            self._start = time.monotonic()
        if self.realtime:  # skip the frames that are already late, as a camera would
            late = int((time.monotonic() - self._start) * self.fps) - self._index
            for _ in range(max(0, late)):
                if self._next_bgr(decode=False) is None:
                    return None
                self._index += 1
        frame = self._next_bgr()
        if frame is None:
            return None
        if self.realtime:
            delay = self._start + self._index / self.fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        self._index += 1
        return time.monotonic(), self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._capture.release()


def _sounddevice():
    try:
        import sounddevice
    except (ImportError, OSError):  # OSError: the PortAudio library itself is missing
        raise MediaError(MIC_EXTRA_HINT) from None
    return sounddevice


class Microphone:
    """A sound card input through sounddevice (PortAudio), kept in a ring buffer of `keep` seconds.

    `device`: an index, a name (or part of one) as `emofuse live --list-devices` lists them, or
    None/"default". `sample_rate`: default the device's own rate (extractors resample).
    `stall`: seconds without any sound data (not even silence) after which the device counts as
    lost (PortAudio's ALSA-to-PulseAudio bridge may take ~2 s to deliver its first block).
    """

    media = "audio"

    def __init__(self, device: int | str | None = None, sample_rate: int | None = None, keep: float = 10.0,
                 stall: float = 5.0) -> None:
        sounddevice = _sounddevice()
        device = None if device in (None, "", "default") else device
        self.name = f"microphone {device if device is not None else '(default)'}"
        self.stall = float(stall)
        try:
            info = sounddevice.query_devices(device, "input")
            self.sample_rate = int(sample_rate or info["default_samplerate"])
            self._stream = sounddevice.InputStream(device=device, channels=1, samplerate=self.sample_rate,
                                                   dtype="float32", callback=self._callback)
        except Exception as exc:  # PortAudioError, ValueError: no such device, no input channel, bad rate
            raise MediaError(f"{self.name}: cannot open it ({exc}); see `python -m sounddevice`, "
                             "or use --mic FILE, or --no-audio") from None
        self._ring = np.zeros(max(1, int(keep * self.sample_rate)), dtype=np.float32)
        self._written = 0  # samples received since start()
        self._lock = threading.Lock()
        self._started = self._closed = False
        self._last_data = 0.0  # time.monotonic() of the newest block (or of start())

    def _callback(self, indata, frames, time_info, status) -> None:
        samples = np.asarray(indata, dtype=np.float32).reshape(len(indata), -1)[:, 0]
        size = self._ring.size
        with self._lock:
            at = self._written % size
            written = self._written + samples.size
            samples = samples[-size:]
            first = min(samples.size, size - at)
            self._ring[at: at + first] = samples[:first]
            self._ring[: samples.size - first] = samples[first:]
            self._written = written
            self._last_data = time.monotonic()

    def start(self) -> None:
        self._last_data = time.monotonic()
        self._stream.start()
        self._started = True

    def heard(self) -> float:
        """Seconds of sound received since `start()`."""
        with self._lock:
            return self._written / self.sample_rate

    def latest(self, seconds: float) -> np.ndarray | None:
        if self._started and not self._closed:
            if not self._stream.active:
                raise MediaError(f"{self.name}: the input stream stopped (device lost?)")
            if self.stall > 0 and time.monotonic() - self._last_data > self.stall:
                raise MediaError(f"{self.name}: no sound data for {self.stall:g} s (device lost?)")
        n = int(round(seconds * self.sample_rate))
        out = np.zeros(n, dtype=np.float32)
        with self._lock:
            have = min(n, self._written, self._ring.size)
            end = self._written % self._ring.size
            idx = np.arange(end - have, end) % self._ring.size
            out[n - have:] = self._ring[idx]
        return out

    def close(self) -> None:
        self._closed = True
        try:
            self._stream.stop()
        finally:
            self._stream.close()

    @staticmethod
    def list_devices() -> list[tuple[str, str]]:
        """The sound inputs PortAudio sees: [("pulse", "#0, ALSA, 32 channels, 44100 Hz, default"), ...]."""
        sounddevice = _sounddevice()
        try:
            devices = sounddevice.query_devices()
            default = sounddevice.default.device[0]
            apis = [api["name"] for api in sounddevice.query_hostapis()]
        except Exception as exc:  # PortAudioError
            raise MediaError(f"cannot list the sound devices ({exc})") from None
        found = []
        for index, info in enumerate(devices):
            if info["max_input_channels"] > 0:
                api = apis[info["hostapi"]] if 0 <= info["hostapi"] < len(apis) else "?"
                text = (f"#{index}, {api}, {info['max_input_channels']} channels, "
                        f"{info['default_samplerate']:.0f} Hz" + (", default" if index == default else ""))
                found.append((info["name"], text))
        return found


class AudioFile:
    """A sound file (wav, flac, mp3, or a video's soundtrack) standing in for a microphone, in real time."""

    media = "audio"

    def __init__(self, device: str | Path) -> None:
        from emofuse.audio import ANALYSIS_SAMPLE_RATE
        from emofuse.media import AudioStream, probe

        info = probe(device)
        if not info.has_audio:
            raise MediaError(f"{info.path}: has no audio stream")
        self.name, self.duration, self.sample_rate = str(info.path), info.duration, ANALYSIS_SAMPLE_RATE
        self._stream = AudioStream(info.path, self.sample_rate)
        self._lock = threading.Lock()
        self._start: float | None = None

    def start(self) -> None:
        self._start = time.monotonic()

    def heard(self) -> float:
        """Seconds of the file played since `start()`."""
        return 0.0 if self._start is None else min(self.duration, time.monotonic() - self._start)

    def latest(self, seconds: float) -> np.ndarray | None:
        now = time.monotonic() - (self._start if self._start is not None else time.monotonic())
        if now >= self.duration:
            return None
        with self._lock:
            return self._stream.window(now - seconds, now)

    def close(self) -> None:
        self._stream.close()


@hookimpl
def register_media_sources(register):
    register("camera", Camera, description="a camera through OpenCV (--camera INDEX)")
    register("video-file", VideoFile, description="a video file played in real time as a camera (--camera FILE)")
    register("microphone", Microphone, description="a microphone through sounddevice, the live extra (--mic DEVICE)")
    register("audio-file", AudioFile, description="a sound file played in real time as a microphone (--mic FILE)")
