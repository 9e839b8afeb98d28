"""Test helpers for emofuse and for plugin authors: sample media and component contract checks.

Everything here is offline and light (numpy and OpenCV; no TensorFlow, no librosa):

- `sample_face()`, `make_frame()` and `expected_face_box()`: a real, redistributable face
  (the NASA astronaut portrait shipped with scikit-image, public domain) in synthetic frames
  that OpenCV's Haar cascade finds.
- `make_speech_like()`: a voiced, speech-like signal (pitch contour, syllables, formants).
- `write_media()` and `encode_media()`: real video and audio files through the ffmpeg
  binary of `imageio-ffmpeg`.
- `check_face_detector()`, `check_visual_classifier()`, `check_audio_feature_extractor()`,
  `check_audio_classifier()`, `check_face_embedder()`, `check_voice_activity()`,
  `check_fusion_strategy()`, `check_exporter()`: call these from a plugin's tests; each raises
  `AssertionError` with a message saying what the component did wrong, and returns quietly
  when it honours its contract (see `emofuse.components`).

Example::

    from emofuse.testing import check_face_detector

    def test_my_detector():
        check_face_detector(MyDetector())
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import math
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from .labels import LABELS
from .types import EmotionScores, FaceBox, FaceEvidence, SegmentResult, Timeline, VoiceEvidence

__all__ = [
    "AUDIO_SUFFIXES",
    "VIDEO_SUFFIXES",
    "EncoderUnavailableError",
    "check_audio_classifier",
    "check_audio_feature_extractor",
    "check_exporter",
    "check_face_detector",
    "check_face_embedder",
    "check_fusion_strategy",
    "check_visual_classifier",
    "check_voice_activity",
    "encode_media",
    "expected_face_box",
    "make_frame",
    "make_speech_like",
    "sample_face",
    "sample_scores",
    "sample_timeline",
    "write_media",
]

#: Where the face is inside `sample_face()` (x, y, width, height), as Haar's default cascade sees it.
SAMPLE_FACE_BOX: tuple[int, int, int, int] = (53, 66, 95, 95)

#: Neutral background of `make_frame()`: a soft grey vertical gradient, top and bottom RGB.
_BACKGROUND_TOP = np.array([168, 170, 174], dtype=np.float32)
_BACKGROUND_BOTTOM = np.array([112, 114, 120], dtype=np.float32)


_H264 = ("-c:v", "libx264", "-pix_fmt", "yuv420p")
_AAC = ("-c:a", "aac", "-b:a", "64k")
_MP3 = ("-c:a", "libmp3lame", "-b:a", "64k")
_OPUS = ("-c:a", "libopus", "-b:a", "48k")

#: Video container suffix -> (video encoder arguments, audio encoder arguments).
_VIDEO_CODECS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ".mp4": (_H264, _AAC),
    ".mov": (_H264, _AAC),
    ".mkv": (_H264, _AAC),
    ".avi": (("-c:v", "mpeg4", "-q:v", "4", "-pix_fmt", "yuv420p"), _MP3),
    ".webm": (("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1",
               "-b:v", "0", "-pix_fmt", "yuv420p"), _OPUS),
}

#: Audio-only suffix written by ffmpeg -> audio encoder arguments (.wav and .flac go through soundfile).
_AUDIO_CODECS: dict[str, tuple[str, ...]] = {".mp3": _MP3, ".m4a": _AAC, ".ogg": _OPUS}

#: Video container suffixes that `write_media` can write.
VIDEO_SUFFIXES: tuple[str, ...] = tuple(_VIDEO_CODECS)

#: Suffixes that `write_media` always treats as audio-only files.
AUDIO_SUFFIXES: tuple[str, ...] = (".wav", ".flac", *_AUDIO_CODECS)

AudioKind = Literal["speech", "silence", "tone"]
FaceMode = bool | Literal["alternate"]


class EncoderUnavailableError(RuntimeError):
    """The ffmpeg of imageio-ffmpeg lacks an encoder that a container needs (skip that container)."""


# --------------------------------------------------------------------------- faces and frames


@functools.lru_cache(maxsize=1)
def _face_rgb() -> np.ndarray:
    data = resources.files("emofuse").joinpath("data", "face.png").read_bytes()
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise RuntimeError("emofuse/data/face.png is missing or unreadable: reinstall emofuse")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    rgb.setflags(write=False)
    return rgb


def sample_face() -> np.ndarray:
    """A head-and-shoulders photo (RGB uint8, 240x200): NASA's astronaut portrait, public domain.

    The face itself is at `SAMPLE_FACE_BOX` inside it. Each call returns a fresh copy.
    """
    return _face_rgb().copy()


def _background(width: int, height: int) -> np.ndarray:
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    column = _BACKGROUND_TOP * (1 - ramp) + _BACKGROUND_BOTTOM * ramp
    return np.repeat(column[:, None, :], width, axis=1).round().astype(np.uint8)


def _face_size(width: int, height: int, face_width: int) -> tuple[int, int]:
    """Size (w, h) of the pasted portrait: `face_width` wide, shrunk to fit 95 % of the frame."""
    src_h, src_w = _face_rgb().shape[:2]
    scale = min(face_width / src_w, 0.95 * width / src_w, 0.95 * height / src_h)
    return max(1, round(src_w * scale)), max(1, round(src_h * scale))


def _face_origin(width: int, height: int, size: tuple[int, int], offset: tuple[int, int]) -> tuple[int, int]:
    """Top-left corner of the pasted portrait: centred horizontally, shoulders cut by the bottom edge."""
    w, h = size
    return (width - w) // 2 + int(offset[0]), height - h + round(0.04 * h) + int(offset[1])


@functools.lru_cache(maxsize=8)
def _scaled_face(size: tuple[int, int]) -> np.ndarray:
    face = _face_rgb()
    interpolation = cv2.INTER_AREA if size[0] < face.shape[1] else cv2.INTER_LINEAR
    scaled = cv2.resize(face, size, interpolation=interpolation)
    scaled.setflags(write=False)
    return scaled


def _paste(frame: np.ndarray, image: np.ndarray, x: int, y: int) -> None:
    """Copy `image` into `frame` with its top-left corner at (x, y), clipped to the frame."""
    fh, fw = frame.shape[:2]
    ih, iw = image.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + iw), min(fh, y + ih)
    if x0 < x1 and y0 < y1:
        frame[y0:y1, x0:x1] = image[y0 - y:y1 - y, x0 - x:x1 - x]


def make_frame(width: int = 640, height: int = 480, face: bool = True, face_width: int = 260,
               offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """An RGB uint8 frame (height, width, 3): the sample portrait on a neutral grey background.

    The portrait is `face_width` pixels wide (the face itself about half of that), shrunk if
    needed to fit the frame, centred horizontally and moved by `offset` (dx, dy) pixels; parts
    pushed outside the frame are cut off. With `face=False` the frame is background only.
    OpenCV's frontal-face Haar cascade finds the face at `expected_face_box(...)` when the
    portrait is 100 pixels wide or more.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    frame = _background(width, height)
    if face:
        size = _face_size(width, height, face_width)
        _paste(frame, _scaled_face(size), *_face_origin(width, height, size, offset))
    return frame


def expected_face_box(width: int = 640, height: int = 480, face_width: int = 260,
                      offset: tuple[int, int] = (0, 0)) -> FaceBox:
    """Where the face is in `make_frame(width, height, True, face_width, offset)` (may reach past its edges)."""
    size = _face_size(width, height, face_width)
    x, y = _face_origin(width, height, size, offset)
    scale = size[0] / _face_rgb().shape[1]
    fx, fy, fw, fh = SAMPLE_FACE_BOX
    return FaceBox(x + round(fx * scale), y + round(fy * scale), max(1, round(fw * scale)), max(1, round(fh * scale)))


# --------------------------------------------------------------------------- audio

#: Vowel formants (F1, F2, F3) in Hz: a, e, i, o, u.
_VOWELS = np.array([[730, 1090, 2440], [530, 1840, 2480], [270, 2290, 3010], [570, 840, 2410], [300, 870, 2240]],
                   dtype=np.float64)
_FORMANT_GAINS = np.array([1.0, 0.6, 0.3])
_FORMANT_WIDTHS = np.array([90.0, 120.0, 170.0])


def _smooth(x: np.ndarray, samples: int) -> np.ndarray:
    if samples <= 1 or x.size < samples:
        return x
    kernel = np.ones(samples) / samples
    return np.convolve(np.pad(x, (samples // 2, samples - 1 - samples // 2), mode="edge"), kernel, mode="valid")


def make_speech_like(seconds: float, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A voiced, speech-like float32 mono signal (not noise, not a tone, not words).

    Words of 2-4 syllables (0.14-0.28 s each) separated by short pauses, a pitch contour
    between 100 and 250 Hz that falls over each phrase, and harmonics shaped by the formants of
    a vowel per syllable. It peaks at 0.5 (about -15 dBFS RMS while voiced), so a window of
    0.5 s or more is never silent per `emofuse.audio.is_silent`. Same seed, same signal.
    """
    if seconds < 0 or sample_rate <= 0:
        raise ValueError(f"need seconds >= 0 and sample_rate > 0, got {seconds}, {sample_rate}")
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    envelope = np.zeros(n)
    pitch = np.zeros(n)
    formants = np.zeros((n, 3))
    pos, phrase_start, phrase_pitch, phrase_len = 0.02, 0.0, 200.0, 0.0
    while pos < seconds:
        if pos >= phrase_start + phrase_len:  # a new phrase: new starting pitch, pitch falls along it
            phrase_start, phrase_pitch, phrase_len = pos, rng.uniform(150, 235), rng.uniform(1.2, 2.5)
        for _ in range(rng.integers(2, 5)):
            length = rng.uniform(0.14, 0.28)
            a, b = int(pos * sample_rate), min(n, int((pos + length) * sample_rate))
            if a >= n:
                break
            x = np.linspace(0, 1, b - a, endpoint=False)
            envelope[a:b] = np.sin(np.pi * x) ** 0.6 * rng.uniform(0.6, 1.0)
            fall = 1 - 0.3 * (pos - phrase_start) / phrase_len
            pitch[a:b] = phrase_pitch * fall * (1 + rng.uniform(-0.06, 0.1) * np.sin(np.pi * x))
            formants[a:b] = _VOWELS[rng.integers(len(_VOWELS))] * rng.uniform(0.92, 1.08)
            pos += length
        pos += rng.uniform(0.06, 0.22)
    voiced = pitch > 0
    if not voiced.any():
        return np.zeros(n, dtype=np.float32)
    # fill pauses with the neighbouring values so pitch and formants glide instead of jumping
    idx = np.where(voiced, np.arange(n), 0)
    np.maximum.accumulate(idx, out=idx)
    first = int(np.argmax(voiced))
    idx[:first] = first
    pitch, formants = pitch[idx], formants[idx]
    pitch = np.clip(_smooth(pitch, int(0.03 * sample_rate)), 100.0, 250.0)
    formants = np.stack([_smooth(formants[:, j], int(0.04 * sample_rate)) for j in range(3)], axis=1)
    envelope = _smooth(envelope, int(0.01 * sample_rate))
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    phase += rng.uniform(0, 2 * np.pi)
    # harmonic gains follow the formants; computed every 2 ms (they change slowly), then held
    hop = max(1, sample_rate // 500)
    nyquist = sample_rate / 2
    k = np.arange(1, int(min(4000.0, 0.9 * nyquist) / 100) + 1)[:, None]
    fk = k * pitch[::hop]
    resonance = np.exp(-0.5 * ((fk[..., None] - formants[::hop]) / _FORMANT_WIDTHS) ** 2) @ _FORMANT_GAINS
    gains = np.repeat((resonance + 0.05) / np.sqrt(k) * (fk < 0.9 * nyquist), hop, axis=1)[:, :n]
    signal = np.zeros(n)
    for i, gain in enumerate(gains):
        signal += gain * np.sin((i + 1) * phase)
    breath = _smooth(rng.standard_normal(n), 3) * 0.03
    signal = (signal + breath) * envelope
    peak = np.abs(signal).max()
    return (0.5 * signal / peak).astype(np.float32) if peak > 0 else signal.astype(np.float32)


def _soundtrack(kind: AudioKind, seconds: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    if kind == "speech":
        return make_speech_like(seconds, sample_rate, seed)
    n = int(round(seconds * sample_rate))
    if kind == "silence":
        return np.zeros(n, dtype=np.float32)
    if kind == "tone":
        return (0.3 * np.sin(2 * np.pi * 440.0 * np.arange(n) / sample_rate)).astype(np.float32)
    raise ValueError(f"unknown audio {kind!r}; expected 'speech', 'silence', 'tone' or None")


# --------------------------------------------------------------------------- media files


@functools.lru_cache(maxsize=1)
def _ffmpeg() -> tuple[str, frozenset[str]]:
    """The path of imageio-ffmpeg's ffmpeg and the names of its encoders."""
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    listing = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, check=False).stdout
    names = {parts[1] for line in listing.splitlines() if len(parts := line.split()) > 1 and len(parts[0]) == 6}
    return exe, frozenset(names)


def _codec_args(suffix: str, video: bool, audio: bool) -> list[str]:
    if video:
        if suffix not in _VIDEO_CODECS:
            raise ValueError(f"cannot write {suffix!r} video; use one of {', '.join(VIDEO_SUFFIXES)}")
        video_args, audio_args = _VIDEO_CODECS[suffix]
        args = list(video_args) + (list(audio_args) if audio else [])
    elif suffix in _AUDIO_CODECS:
        args = list(_AUDIO_CODECS[suffix])
    elif suffix in _VIDEO_CODECS:
        args = list(_VIDEO_CODECS[suffix][1])
    else:
        raise ValueError(f"cannot write {suffix!r} audio; use one of {', '.join((*_AUDIO_CODECS, *VIDEO_SUFFIXES))}")
    encoders = _ffmpeg()[1]
    missing = [args[i + 1] for i, arg in enumerate(args) if arg in ("-c:v", "-c:a") and args[i + 1] not in encoders]
    if missing:
        raise EncoderUnavailableError(
            f"imageio-ffmpeg's ffmpeg has no {' or '.join(missing)} encoder, needed for {suffix} files; "
            f"use another container ({', '.join(VIDEO_SUFFIXES)})")
    return args


def encode_media(path: str | Path, frames: Iterable[np.ndarray] | None, fps: float = 25,
                 audio: np.ndarray | None = None, sample_rate: int = 16000,
                 preset: str = "ultrafast", crf: int = 23) -> Path:
    """Encode RGB uint8 frames (all the same even size) and/or mono float audio into `path`.

    The container follows the suffix: .mp4/.mov/.mkv get H.264 (yuv420p) + AAC, .avi MPEG-4
    part 2 + MP3, .webm VP9 + Opus. With `frames=None` the file is audio-only: .mp3, .m4a (AAC),
    .ogg (Opus) or any of those video containers. Frames are streamed, never all in memory.
    `preset` and `crf` tune H.264 (and `crf` VP9): "ultrafast" for tests, "slow" for small files.
    Raises EncoderUnavailableError when this ffmpeg lacks an encoder the container needs.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if frames is None and audio is None:
        raise ValueError("nothing to encode: give frames, audio or both")
    exe = _ffmpeg()[0]
    args = _codec_args(suffix, video=frames is not None, audio=audio is not None)
    if "libx264" in args:
        args += ["-preset", preset, "-crf", str(crf)]
    elif "libvpx-vp9" in args:
        args += ["-crf", str(crf + 10)]
    frame_iter = iter(frames) if frames is not None else None
    first = next(frame_iter, None) if frame_iter is not None else None
    if frame_iter is not None and first is None:
        raise ValueError("frames is empty")
    with tempfile.TemporaryDirectory(prefix="emofuse-media-") as tmp:
        cmd = [exe, "-hide_banner", "-loglevel", "error", "-y"] + (["-nostdin"] if first is None else [])
        if first is not None:
            height, width = first.shape[:2]
            if first.ndim != 3 or first.shape[2] != 3 or width % 2 or height % 2:
                raise ValueError(f"frames must be RGB (height, width, 3) with even sides, got {first.shape}")
            cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-"]
        if audio is not None:
            import soundfile

            wav = Path(tmp) / "audio.wav"
            soundfile.write(wav, np.asarray(audio, dtype=np.float32), int(sample_rate), subtype="FLOAT")
            cmd += ["-i", str(wav)]
        cmd += args + [str(path)]
        stdin = subprocess.PIPE if first is not None else subprocess.DEVNULL
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            if first is not None:
                assert proc.stdin is not None
                for frame in itertools.chain([first], frame_iter):
                    if frame.shape != first.shape:
                        raise ValueError(f"frame of shape {frame.shape} after frames of {first.shape}")
                    proc.stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
                proc.stdin.close()
        except BrokenPipeError:  # ffmpeg gave up: its message is read below
            with contextlib.suppress(OSError):
                proc.stdin.close()
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
        assert proc.stderr is not None
        with proc.stderr:
            stderr = proc.stderr.read()  # little output: -loglevel error
        proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed writing {path}: {stderr.decode(errors='replace').strip()[-2000:]}")
    return path


def write_media(path: str | Path, duration: float, fps: float = 25, size: tuple[int, int] | None = (640, 480),
                face: FaceMode = True, audio: AudioKind | None = "speech", face_motion: bool = True,
                sample_rate: int = 16000, seed: int = 0) -> Path:
    """Write a real media file of `duration` seconds and return its path.

    Video (`size` = (width, height), even numbers; .mp4 .mov .mkv .avi .webm): the sample
    portrait on a grey background, `face=True` all the time, `"alternate"` in odd seconds only
    (1-2 s, 3-4 s, ...), `False` never; `face_motion` sways it a few pixels. `audio`:
    "speech" (make_speech_like), "silence" (digital zeros), "tone" (440 Hz) or None for no
    soundtrack. A file is audio-only when `size` is None or the suffix is .wav, .flac or .mp3
    (wav and flac through soundfile, mp3 through ffmpeg). Fast: a 3 s 320x240 clip takes a
    fraction of a second.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration}")
    if face not in (True, False, "alternate"):
        raise ValueError(f"face must be True, False or 'alternate', got {face!r}")
    samples = None if audio is None else _soundtrack(audio, duration, sample_rate, seed)
    if size is None or suffix in AUDIO_SUFFIXES:
        if samples is None:
            raise ValueError(f"{path.name}: an audio-only file needs audio='speech', 'silence' or 'tone'")
        if suffix in (".wav", ".flac"):
            import soundfile

            soundfile.write(path, samples, sample_rate, subtype="PCM_16")
            return path
        return encode_media(path, None, audio=samples, sample_rate=sample_rate)
    width, height = size
    n_frames = max(1, int(round(duration * fps)))
    face_width = round(260 * width / 640)
    background = make_frame(width, height, face=False)
    face_size = _face_size(width, height, face_width)
    portrait = _scaled_face(face_size)

    def frames() -> Iterable[np.ndarray]:
        for i in range(n_frames):
            t = i / fps
            if not face or (face == "alternate" and int(t) % 2 == 0):
                yield background
                continue
            dx = dy = 0
            if face_motion:
                dx = round(0.03 * width * math.sin(2 * math.pi * t / 4.0))
                dy = round(0.02 * height * math.sin(2 * math.pi * t / 2.7))
            frame = background.copy()
            _paste(frame, portrait, *_face_origin(width, height, face_size, (dx, dy)))
            yield frame

    return encode_media(path, frames(), fps=fps, audio=samples, sample_rate=sample_rate)


# --------------------------------------------------------------------------- contract checks


def _name(component: Any) -> str:
    return type(component).__name__


def sample_scores(top: str = "happy", confidence: float = 0.7) -> EmotionScores:
    """EmotionScores with `confidence` on `top` and the rest shared equally by the other labels."""
    if top not in LABELS:
        raise ValueError(f"unknown label {top!r}; expected one of {', '.join(LABELS)}")
    rest = (1.0 - confidence) / (len(LABELS) - 1)
    return EmotionScores.from_array([confidence if label == top else rest for label in LABELS])


def sample_timeline() -> Timeline:
    """A small hand-made Timeline: both modalities, voice only, a gap with an error, face only."""
    happy, sad, neutral = sample_scores("happy"), sample_scores("sad", 0.5), sample_scores("neutral", 0.6)
    segments = (
        SegmentResult(0.0, 1.0, face=happy, voice=sad, fused=EmotionScores.mean([happy, sad]), faces=1),
        SegmentResult(1.0, 2.0, voice=neutral, fused=neutral),
        SegmentResult(2.0, 3.0, errors=("audio_classifier: example failure",)),
        SegmentResult(3.0, 3.5, face=sad, fused=sad, faces=2),
    )
    return Timeline("sample.mp4", segments, components={"face_detector": "haar", "fusion": "weighted"}, duration=3.5)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def check_face_detector(detector: Any) -> None:
    """Assert that `detector` honours the FaceDetector contract.

    On `make_frame()` it returns a sequence of FaceBox, all inside the frame, one of them on
    the face; it does not modify the frame; on a face-less frame it returns an empty sequence.
    A detector with the optional `track(frame, boxes)` must find the face again after it moved a
    little, return nothing once it left, and nothing for no boxes. One with the optional
    `new_stream()` must find, after it, what it found on the same frame at the start of a stream.
    """
    name = _name(detector)
    assert callable(getattr(detector, "detect", None)), f"{name} has no detect(frame) method"
    frame = make_frame()
    original = frame.copy()
    boxes = detector.detect(frame)
    assert _is_sequence(boxes), f"{name}.detect must return a list of FaceBox, got {type(boxes).__name__}"
    assert all(isinstance(b, FaceBox) for b in boxes), (
        f"{name}.detect must return FaceBox objects, got {[type(b).__name__ for b in boxes]}")
    assert np.array_equal(frame, original), f"{name}.detect modified the frame it was given"
    height, width = frame.shape[:2]
    outside = [b for b in boxes if b.x < 0 or b.y < 0 or b.x + b.width > width or b.y + b.height > height]
    assert not outside, f"{name}.detect returned boxes outside the {width}x{height} frame: {outside}"
    face = expected_face_box()
    centres = [(b.x + b.width / 2, b.y + b.height / 2) for b in boxes]
    hit = any(face.x <= cx <= face.x + face.width and face.y <= cy <= face.y + face.height for cx, cy in centres)
    assert hit, f"{name}.detect missed the obvious face at {face} in make_frame(); it returned {list(boxes)}"
    empty = detector.detect(make_frame(face=False))
    assert _is_sequence(empty), f"{name}.detect must return a list on a face-less frame, got {type(empty).__name__}"
    assert len(empty) == 0, f"{name}.detect found faces on a plain grey frame: {list(empty)}"
    if callable(getattr(detector, "track", None)):
        _check_tracking(detector, name)
    if callable(getattr(detector, "new_stream", None)):
        _check_new_stream(detector, name)


def _check_new_stream(detector: Any, name: str) -> None:
    """The optional `new_stream()`: after it, a frame gives what it gave at the start of a stream."""
    frame = make_frame(offset=(-40, 20))
    detector.new_stream()
    first = list(detector.detect(frame))
    for _ in range(3):
        detector.detect(make_frame(face=False))
    detector.new_stream()
    again = list(detector.detect(frame))
    assert again == first, f"{name}.detect after new_stream() returned {again}, at the start of a stream {first}"


def _check_tracking(detector: Any, name: str) -> None:
    """The optional `track(frame, boxes)`: finds a face that moved a little, drops one that left."""
    before = expected_face_box()
    moved = make_frame(offset=(16, 10))
    original = moved.copy()
    boxes = detector.track(moved, [before])
    assert _is_sequence(boxes) and all(isinstance(b, FaceBox) for b in boxes), (
        f"{name}.track must return a list of FaceBox, got {boxes!r}")
    assert np.array_equal(moved, original), f"{name}.track modified the frame it was given"
    face = expected_face_box(offset=(16, 10))
    centres = [(b.x + b.width / 2, b.y + b.height / 2) for b in boxes]
    assert any(face.x <= cx <= face.x + face.width and face.y <= cy <= face.y + face.height for cx, cy in centres), (
        f"{name}.track lost the face that moved from {before} to {face}; it returned {list(boxes)}")
    gone = detector.track(make_frame(face=False), [before])
    assert _is_sequence(gone) and len(gone) == 0, f"{name}.track kept a face that left the frame: {gone!r}"
    nothing = detector.track(moved, [])
    assert _is_sequence(nothing) and len(nothing) == 0, f"{name}.track([]) must return [], got {nothing!r}"


def check_face_embedder(embedder: Any) -> None:
    """Assert that `embedder` honours the FaceEmbedder contract.

    `dimension` is a positive int and `same_person` a positive finite distance; embed() on three
    grown face crops of `make_frame()` (the face, moved a little, a little larger) returns a finite
    float array (3, dimension) in one call, without modifying the crops, the three within
    `same_person` of the first; a plain grey crop is not embedded like the face (another row, or
    NaN: "cannot embed"); a 6x5 crop gives a row (finite or NaN), not an error; embed([]) has
    shape (0, dimension).
    """
    name = _name(embedder)
    dimension, same = getattr(embedder, "dimension", None), getattr(embedder, "same_person", None)
    assert isinstance(dimension, (int, np.integer)) and not isinstance(dimension, bool) and dimension > 0, (
        f"{name}.dimension must be a positive int, got {dimension!r}")
    assert isinstance(same, (int, float, np.number)) and not isinstance(same, bool) and math.isfinite(same) \
        and same > 0, f"{name}.same_person must be a positive finite distance, got {same!r}"
    assert callable(getattr(embedder, "embed", None)), f"{name} has no embed(crops) method"
    crops = [_grown_face(260, (0, 0)), _grown_face(260, (6, -4)), _grown_face(280, (0, 0))]
    originals = [c.copy() for c in crops]
    vectors = embedder.embed(crops)
    assert isinstance(vectors, np.ndarray), f"{name}.embed must return a numpy array, got {type(vectors).__name__}"
    assert vectors.shape == (3, dimension), f"{name}.embed gave shape {vectors.shape} for 3 crops, not (3, {dimension})"
    assert np.issubdtype(vectors.dtype, np.floating), f"{name}.embed must return floats, got {vectors.dtype}"
    assert np.isfinite(vectors).all(), f"{name}.embed returned NaN or infinite values for ordinary face crops"
    assert all(np.array_equal(c, o) for c, o in zip(crops, originals)), f"{name}.embed modified its crops"
    far = max(float(np.linalg.norm(vectors[0] - v)) for v in vectors[1:])
    assert far < same, f"{name}: the same face moved or zoomed a little is {far:.3f} away, not under same_person {same}"
    grey = embedder.embed([np.full_like(crops[0], 128)])
    assert isinstance(grey, np.ndarray) and grey.shape == (1, dimension), (
        f"{name}.embed gave shape {getattr(grey, 'shape', grey)!r} for one plain grey crop, not (1, {dimension})")
    assert not np.allclose(grey[0], vectors[0]), f"{name}.embed gives a plain grey crop the face's embedding"
    tiny = embedder.embed([crops[0][:6, :5].copy()])
    assert isinstance(tiny, np.ndarray) and tiny.shape == (1, dimension), (
        f"{name}.embed must give one row (NaN if it cannot embed) for a 6x5 crop, got {getattr(tiny, 'shape', tiny)!r}")
    empty = embedder.embed([])
    assert isinstance(empty, np.ndarray) and empty.shape == (0, dimension), (
        f"{name}.embed([]) must have shape (0, {dimension}), got {getattr(empty, 'shape', empty)!r}")


def _grown_face(face_width: int, offset: tuple[int, int]) -> np.ndarray:
    """The face of `make_frame(face_width=..., offset=...)` grown by a quarter on each side (an embedder's crop)."""
    frame, box = make_frame(face_width=face_width, offset=offset), expected_face_box(face_width=face_width, offset=offset)
    dx, dy = box.width // 4, box.height // 4
    return frame[max(0, box.y - dy):box.y + box.height + dy, max(0, box.x - dx):box.x + box.width + dx].copy()


def _check_scores_list(result: Any, expected: int, who: str) -> None:
    assert _is_sequence(result), f"{who} must return a list of EmotionScores, got {type(result).__name__}"
    assert len(result) == expected, f"{who} returned {len(result)} results for {expected} crops"
    wrong = [type(s).__name__ for s in result if not isinstance(s, EmotionScores)]
    assert not wrong, f"{who} must return EmotionScores, got {wrong}"


def check_visual_classifier(classifier: Any) -> None:
    """Assert that `classifier` honours the VisualClassifier contract.

    classify() on 3 RGB crops of different sizes returns 3 EmotionScores in one call, without
    modifying the crops; classify([]) returns an empty sequence.
    """
    name = _name(classifier)
    assert callable(getattr(classifier, "classify", None)), f"{name} has no classify(crops) method"
    face = sample_face()
    fx, fy, fw, fh = SAMPLE_FACE_BOX
    tight = face[fy:fy + fh, fx:fx + fw]
    crops = [cv2.resize(tight, (48, 48), interpolation=cv2.INTER_AREA), tight, face]
    originals = [c.copy() for c in crops]
    result = classifier.classify(crops)
    _check_scores_list(result, len(crops), f"{name}.classify")
    assert all(np.array_equal(c, o) for c, o in zip(crops, originals)), f"{name}.classify modified its crops"
    empty = classifier.classify([])
    _check_scores_list(empty, 0, f"{name}.classify([])")


def _check_features(features: Any, who: str) -> np.ndarray:
    assert isinstance(features, np.ndarray), f"{who} must return a numpy array, got {type(features).__name__}"
    assert features.ndim == 2, f"{who} must return a 2-D array (frames, features), got shape {features.shape}"
    assert features.size > 0, f"{who} returned an empty array of shape {features.shape}"
    assert np.issubdtype(features.dtype, np.floating), f"{who} must return floats, got {features.dtype}"
    assert np.isfinite(features).all(), f"{who} returned NaN or infinite values"
    return features


def check_audio_feature_extractor(extractor: Any) -> None:
    """Assert that `extractor` honours the AudioFeatureExtractor contract.

    `feature_spec` is a mapping; extract() on 1 s of speech-like audio at 16 kHz mono and at
    44.1 kHz stereo returns finite 2-D float arrays with the same number of columns.
    """
    name = _name(extractor)
    spec = getattr(extractor, "feature_spec", None)
    assert isinstance(spec, Mapping), f"{name}.feature_spec must be a mapping, got {type(spec).__name__}"
    assert callable(getattr(extractor, "extract", None)), f"{name} has no extract(samples, sample_rate) method"
    mono = _check_features(extractor.extract(make_speech_like(1.0, 16000), 16000), f"{name}.extract (16 kHz mono)")
    voice = make_speech_like(1.0, 44100)
    stereo = np.stack([voice, 0.8 * voice], axis=1)
    both = _check_features(extractor.extract(stereo, 44100), f"{name}.extract (44.1 kHz stereo)")
    assert mono.shape[1] == both.shape[1], (
        f"{name}.extract gives {mono.shape[1]} feature columns at 16 kHz mono but {both.shape[1]} at 44.1 kHz "
        "stereo: resample to one rate and mix to mono")


def check_audio_classifier(classifier: Any, extractor: Any) -> None:
    """Assert that `classifier` honours the AudioClassifier contract with features from `extractor`.

    `min_window` is a finite number >= 0; check_features(extractor.feature_spec) passes;
    classify() on the features of 0.5 s, 3 s and 10 s of speech-like audio returns
    EmotionScores or None.
    """
    name = _name(classifier)
    window = getattr(classifier, "min_window", None)
    assert isinstance(window, (int, float)) and not isinstance(window, bool) and math.isfinite(window) \
        and window >= 0, f"{name}.min_window must be a number of seconds >= 0, got {window!r}"
    try:
        classifier.check_features(extractor.feature_spec)
    except Exception as exc:  # noqa: BLE001 - turned into the assertion a test expects
        raise AssertionError(f"{name}.check_features refused {_name(extractor)}'s features: {exc}") from exc
    for seconds in (0.5, 3.0, 10.0):
        features = extractor.extract(make_speech_like(seconds, 16000, seed=int(seconds * 10)), 16000)
        result = classifier.classify(features)
        assert result is None or isinstance(result, EmotionScores), (
            f"{name}.classify on {seconds:g} s of features must return EmotionScores or None, "
            f"got {type(result).__name__}")


def check_fusion_strategy(strategy: Any) -> None:
    """Assert that `strategy` honours the FusionStrategy contract.

    It is handed a FaceEvidence and a VoiceEvidence, as the runner hands them: fuse(None, None)
    is None; with one modality missing it still gives EmotionScores; with both it gives
    EmotionScores summing to 1.
    """
    name = _name(strategy)
    assert callable(getattr(strategy, "fuse", None)), f"{name} has no fuse(face, voice) method"
    face = FaceEvidence(sample_scores("happy", 0.8), frames=4, sampled=4, size=120.0, detector_score=1.0, agreement=1.0)
    voice = VoiceEvidence(sample_scores("sad", 0.6), speech=0.9, level_db=-25.0, window=2.0, sample_rate=16000)
    nothing = strategy.fuse(None, None)
    assert nothing is None, f"{name}.fuse(None, None) must be None (nothing to fuse), got {nothing!r}"
    for args, what in (((face, None), "face only"), ((None, voice), "voice only"), ((face, voice), "face and voice")):
        result = strategy.fuse(*args)
        assert isinstance(result, EmotionScores), (
            f"{name}.fuse with {what} must return EmotionScores, got {type(result).__name__}")
        total = float(np.sum(result.array))
        assert abs(total - 1.0) < 1e-6, f"{name}.fuse with {what} gives scores summing to {total}"


def check_voice_activity(vad: Any) -> None:
    """Assert that `vad` honours the VoiceActivityDetector contract.

    `hop` is a number of seconds in (0, 1]; speech() on 2 s of audio at 16 kHz and at 44.1 kHz
    returns a 1-D array of probabilities in [0, 1], one per hop (give or take one), without
    modifying the samples; digital silence has no hop at 0.5 or more; the speech-like signal of
    `make_speech_like()` has some.
    """
    name = _name(vad)
    hop = getattr(vad, "hop", None)
    assert isinstance(hop, (int, float)) and not isinstance(hop, bool) and math.isfinite(hop) and 0 < hop <= 1, (
        f"{name}.hop must be a number of seconds in (0, 1], got {hop!r}")
    assert callable(getattr(vad, "speech", None)), f"{name} has no speech(samples, sample_rate) method"
    for rate in (16000, 44100):
        for kind, samples in (("silence", np.zeros(2 * rate, dtype=np.float32)),
                              ("speech-like audio", make_speech_like(2.0, rate, seed=3))):
            who = f"{name}.speech on 2 s of {kind} at {rate} Hz"
            original = samples.copy()
            p = vad.speech(samples, rate)
            assert isinstance(p, np.ndarray) and p.ndim == 1, f"{who} must return a 1-D numpy array, got {p!r}"
            assert abs(p.size - 2.0 / hop) <= 1.5, f"{who} gave {p.size} values; expected one per {hop:g} s hop"
            assert np.issubdtype(p.dtype, np.number) and np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all(), (
                f"{who} must give probabilities in [0, 1], got {p}")
            assert np.array_equal(samples, original), f"{who} modified the samples it was given"
            if kind == "silence":
                assert (p < 0.5).all(), f"{who} heard speech in digital silence: {p}"
            else:
                assert (p >= 0.5).any(), f"{who} found no speech at all (every hop under 0.5)"


def check_exporter(exporter: Any, tmp_path: str | Path) -> Path:
    """Assert that `exporter` writes `sample_timeline()` to a non-empty file; returns that file.

    `suffix` is a file extension such as ".csv"; the file is `tmp_path / ("timeline" + suffix)`.
    """
    name = _name(exporter)
    suffix = getattr(exporter, "suffix", None)
    assert isinstance(suffix, str) and suffix.startswith(".") and len(suffix) > 1, (
        f"{name}.suffix must be a file extension like '.csv', got {suffix!r}")
    assert callable(getattr(exporter, "write", None)), f"{name} has no write(timeline, path) method"
    path = Path(tmp_path) / f"timeline{suffix}"
    exporter.write(sample_timeline(), path)
    assert path.is_file(), f"{name}.write did not create {path}"
    assert path.stat().st_size > 0, f"{name}.write left {path} empty"
    return path
