"""Open media files: probe what they hold, stream their frames and their soundtrack.

Still images (IMAGE_SUFFIXES) are one frame at t=0 with no sound, a nominal STILL_DURATION long.
Nothing here loads a whole file: frames come one at a time from OpenCV, the soundtrack is
decoded by ffmpeg into a pipe and kept in a short rolling buffer.
"""
from __future__ import annotations

import dataclasses
import re
import subprocess
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .audio import ANALYSIS_SAMPLE_RATE
from .damage import StreamStop, stopped_early
from .errors import MediaError


@dataclasses.dataclass(frozen=True)
class MediaInfo:
    """What a media file holds, as ffmpeg sees it."""

    path: Path | str  # a str for a URL (`scheme://...`: Path would fold its //)
    duration: float
    has_video: bool
    has_audio: bool
    fps: float = 0.0
    width: int = 0
    height: int = 0
    audio_rate: int = 0  # the soundtrack's own sample rate (0: none or unknown)
    still: bool = False  # a still image: one frame at t=0, a nominal STILL_DURATION long


#: Suffixes read as still images (one frame, no sound) rather than through ffmpeg.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})
#: The nominal length of a still image: one segment.
STILL_DURATION = 1.0


def read_image(path: str | Path) -> np.ndarray:
    """A still image (a file, or a URL) as an RGB uint8 array (OpenCV, Pillow as a fallback for
    files); MediaError if unreadable."""
    import cv2

    if is_url(path):
        capture = cv2.VideoCapture(path)
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        capture.release()
        if not ok:
            raise MediaError(f"{path}: not an image OpenCV can read")
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    path = Path(path)
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is not None:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    try:
        from PIL import Image

        with Image.open(path) as image:
            return np.ascontiguousarray(np.asarray(image.convert("RGB")))
    except Exception as exc:
        raise MediaError(f"{path}: not an image OpenCV or Pillow can read ({type(exc).__name__}: {exc})") from None


def _is_image(source: str | Path) -> bool:
    """True when the file's (or the URL's path's) suffix is a still image's."""
    if is_url(source):
        from urllib.parse import urlsplit

        return Path(urlsplit(str(source)).path).suffix.lower() in IMAGE_SUFFIXES
    return Path(source).suffix.lower() in IMAGE_SUFFIXES


def _probe_image(path: Path | str) -> MediaInfo:
    image = read_image(path)
    height, width = image.shape[:2]
    return MediaInfo(path, STILL_DURATION, True, False, 1.0 / STILL_DURATION, int(width), int(height), 0, still=True)


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(source: str | Path) -> bool:
    """True for `scheme://...` (http, https, rtsp, ...): opened by ffmpeg as it is, not as a file."""
    return isinstance(source, str) and bool(_URL.match(source))


def _ffmpeg_reason(message: str) -> str:
    """The useful part of an ffmpeg error dump."""
    for pattern in (r"Error opening input: (.+)", r"moov atom not found", r"Invalid data found[^\n]*"):
        match = re.search(pattern, message)
        if match:
            reason = match.group(1) if match.groups() else match.group(0)
            if "moov atom not found" in message:
                reason += " (moov atom not found: truncated, or not a video)"
            return reason.strip()
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[-1] if lines else "ffmpeg cannot read it"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MediaError(f"{path}: no such file")
    if path.is_dir():
        raise MediaError(f"{path}: is a directory, not a media file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: the file is empty")


def probe(path: str | Path) -> MediaInfo:
    """Check that `path` is a readable media file (or a URL ffmpeg opens: http, https, rtsp, ...)
    and say what it holds; MediaError otherwise."""
    if not is_url(path):
        path = Path(path)
        _check_file(path)
    if _is_image(path):
        return _probe_image(path)
    from moviepy.video.io.ffmpeg_reader import ffmpeg_parse_infos

    try:
        with warnings.catch_warnings():  # moviepy warns about streams it ignores (subtitles, data)
            warnings.simplefilter("ignore")
            infos = ffmpeg_parse_infos(str(path))
    except Exception as exc:
        raise MediaError(f"{path}: not a media file ffmpeg can read: {_ffmpeg_reason(str(exc))}") from None
    has_video = bool(infos.get("video_found"))
    has_audio = bool(infos.get("audio_found"))
    if not has_video and not has_audio:
        raise MediaError(f"{path}: has neither a video nor an audio stream")
    duration = float(infos.get("duration") or 0.0)
    if duration <= 0:
        raise MediaError(f"{path}: has no duration (empty or truncated stream)")
    width, height = infos.get("video_size") or (0, 0)
    audio_rate = int(infos.get("audio_fps") or 0) if has_audio else 0
    return MediaInfo(path, duration, has_video, has_audio, float(infos.get("video_fps") or 0.0), int(width), int(height),
                     audio_rate)


def iter_frames(info: MediaInfo, sample_fps: float | None,
                between: Callable[[float, np.ndarray], None] | None = None, between_fps: float = 0.0,
                start: float = 0.0) -> FrameStream:
    """(time in seconds, RGB frame) for frames sampled at `sample_fps` (None: every frame), from `start` s.

    A `FrameStream`: times are the frames' presentation timestamps, and once it has ended its
    `stop()` says whether decoding stopped short of the file's duration.
    """
    return FrameStream(info, sample_fps, between, between_fps, start)


class FrameStream(Iterator[tuple[float, np.ndarray]]):
    """The frames of a video, sampled at `sample_fps` on a fixed time grid (None: every frame).

    Each frame's time is its presentation timestamp as ffmpeg decodes it (OpenCV's position
    after `grab`), so files with a variable frame rate (dropped frames, screen recordings, phone
    videos) keep their real times; frames without a usable timestamp (none, or not after the
    last one) are placed one nominal frame period after the previous frame. Frames between
    samples are only grabbed, not converted. Decoding that ends early (a truncated or damaged
    file, a video stream shorter than the file) just ends the stream: `stop()` then says where.

    `between(time, bgr_frame)`, when given, sees frames between samples too, at most
    `between_fps` a second (0: every one), unconverted (BGR), before the next sample is handed out
    (the speaker finder's mouth motion: ~0.2 ms a frame instead of a full analysis).
    Frames before `start` seconds are only grabbed (neither handed out nor shown to `between`).
    """

    def __init__(self, info: MediaInfo, sample_fps: float | None,
                 between: Callable[[float, np.ndarray], None] | None = None, between_fps: float = 0.0,
                 start: float = 0.0) -> None:
        import cv2

        self.info = info
        self._between = between
        self._between_step = 1.0 / between_fps if between_fps else 0.0
        self._between_next = start
        self._still = read_image(info.path) if info.still else None
        self._capture = None if info.still else cv2.VideoCapture(str(info.path))
        if info.still:
            self.fps, self._step, self._next_time, self.last_time, self.ended = info.fps, 0.0, 0.0, None, False
            return
        if not self._capture.isOpened():
            raise MediaError(f"{info.path}: OpenCV cannot decode the video stream")
        self.fps = info.fps or self._capture.get(cv2.CAP_PROP_FPS) or 25.0
        self._step = 1.0 / sample_fps if sample_fps else 0.0
        self._next_time = start
        self.last_time: float | None = None  # presentation time of the last decoded frame
        self.ended = False

    def _time(self) -> float:
        import cv2

        time = self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if self.last_time is not None and not time > self.last_time:
            time = self.last_time + 1.0 / self.fps
        self.last_time = time
        return time

    def __next__(self) -> tuple[float, np.ndarray]:
        import cv2

        if self.info.still:  # a still image: its one frame at t=0, then the end
            if self._still is None:
                self.ended = True
                raise StopIteration
            frame, self._still, self.last_time = self._still, None, 0.0
            return 0.0, frame
        capture = self._capture
        if capture is None or self.ended:
            raise StopIteration
        while capture.grab():
            time = self._time()
            if time + 1e-6 < self._next_time:
                if self._between is not None and time + 1e-6 >= self._between_next:
                    ok, frame = capture.retrieve()
                    if ok:
                        self._between_next = time + self._between_step - 1e-6
                        self._between(time, frame)
                continue
            ok, frame = capture.retrieve()
            if not ok:
                break
            while self._step and self._next_time <= time + 1e-6:  # a fixed grid: no drift when fps don't divide
                self._next_time += self._step
            self._between_next = time + self._between_step - 1e-6
            return time, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        self.ended = True
        self.close()
        raise StopIteration

    def stop(self) -> StreamStop | None:
        """Where decoding stopped, if the stream has ended short of the file's duration; else None."""
        if not self.ended:
            return None
        period = 1.0 / self.fps
        covered = 0.0 if self.last_time is None else self.last_time + period
        return stopped_early("video", covered, self.info.duration, period)

    def close(self) -> None:
        """Release the decoder (also done when the stream ends)."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def __enter__(self) -> FrameStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AudioStream:
    """The soundtrack as mono float32 at `sample_rate`, decoded by ffmpeg as it is read.

    `window(start, end)` returns those seconds (zero-padded past the ends). Windows must move
    forward in time: samples older than `keep` seconds before the last window start are dropped,
    so memory stays flat however long the file is. `start` (seconds) makes ffmpeg seek there first;
    window times stay those of the file.
    """

    def __init__(self, path: str | Path, sample_rate: int = ANALYSIS_SAMPLE_RATE, keep: float = 30.0,
                 start: float = 0.0) -> None:
        import imageio_ffmpeg

        self.path, self.sample_rate, self.keep = path if is_url(path) else Path(path), sample_rate, keep
        seek = ["-ss", f"{start:.6f}"] if start > 0 else []
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", *seek, "-i", str(path),
               "-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "pipe:1"]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._buffer = np.zeros(0, dtype=np.float32)
        self._offset = int(round(start * sample_rate))  # index (in samples since the file's start) of _buffer[0]
        self._eof = False

    def _read_until(self, sample: int) -> None:
        chunks = [self._buffer]
        have = self._offset + self._buffer.size
        while not self._eof and have < sample:
            data = self._proc.stdout.read(max(4 * (sample - have), 4 * self.sample_rate))
            if not data:
                self._eof = True
                break
            usable = len(data) - len(data) % 4
            chunks.append(np.frombuffer(data[:usable], dtype=np.float32))
            have += usable // 4
        self._buffer = np.concatenate(chunks) if len(chunks) > 1 else self._buffer

    def window(self, start: float, end: float) -> np.ndarray:
        """Samples from `start` to `end` seconds (zeros where the soundtrack has none)."""
        a, b = int(round(start * self.sample_rate)), int(round(end * self.sample_rate))
        self._read_until(b)
        out = np.zeros(max(0, b - a), dtype=np.float32)
        lo, hi = max(a, self._offset), min(b, self._offset + self._buffer.size)
        if hi > lo:
            out[lo - a: hi - a] = self._buffer[lo - self._offset: hi - self._offset]
        drop = min(self._buffer.size, max(0, a - int(self.keep * self.sample_rate) - self._offset))
        if drop > 0:
            self._buffer = self._buffer[drop:].copy()
            self._offset += drop
        return out

    def stop(self, duration: float) -> StreamStop | None:
        """Where decoding stopped, if the soundtrack ended (was read to its end) short of `duration`."""
        if not self._eof:
            return None
        return stopped_early("audio", (self._offset + self._buffer.size) / self.sample_rate, duration)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        if self._proc.stdout:
            self._proc.stdout.close()

    def __enter__(self) -> AudioStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
