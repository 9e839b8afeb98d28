"""The annotated video: the film re-encoded with each face's box, person id, label and
confidence, a marker on who is speaking, and a strip with the segment's fused scores; the
original soundtrack copied back unchanged.

One decode (OpenCV, the same frame times as the analysis) and one encode (ffmpeg's libx264 fed
through a pipe): frames stream through, so memory stays flat however long the film is.
"""
from __future__ import annotations

import bisect
import contextlib
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .errors import EmofuseError, MediaError
from .labels import LABELS
from .plot import COLORS
from .types import SegmentResult, Sighting, Timeline

#: Containers the annotated video can be written in (H.264 inside).
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".mov", ".mkv")

#: Longest time (seconds) boxes stay on screen after the last analysed frame that showed them.
MAX_HOLD = 1.0

#: Called once per segment the encoding has passed: (that segment, number of segments).
Progress = Callable[[SegmentResult, int], None]


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


_LABEL_RGB = {label: _rgb(COLORS[label]) for label in LABELS}
_INK, _PAPER = (20, 20, 20), (250, 250, 250)


def _text_on(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black on light colours, white on dark ones."""
    r, g, b = colour
    return _INK if 0.299 * r + 0.587 * g + 0.114 * b > 140 else _PAPER


def check_target(target: str | Path, sources: Iterable[str | Path] = ()) -> Path:
    """Refuse (EmofuseError, one line) a target that is not .mp4/.mov/.mkv, or is one of `sources`."""
    target = Path(target)
    if target.suffix.lower() not in VIDEO_SUFFIXES:
        raise EmofuseError(f"{target}: the annotated video is H.264; name it {target.stem}.mp4 "
                           f"(or {', '.join(VIDEO_SUFFIXES[1:])})")
    for source in sources:
        if target.resolve() == Path(source).resolve():
            raise EmofuseError(f"{target}: is an input; give the annotated video another name")
    return target


def check_source(source: str | Path) -> None:
    """Refuse (EmofuseError, one line) a source without a picture; files that cannot be read are
    left to the analysis to report."""
    from .media import probe

    try:
        info = probe(source)
    except MediaError:
        return
    if not info.has_video:
        raise EmofuseError(f"{source}: audio only, no picture to annotate; drop --annotate (--html works)")


def sighting_hold(sightings: Sequence[Sighting]) -> float:
    """How long a frame's boxes stay drawn: 1.5 analysis periods (the median step between the
    analysed frames that showed faces), at most MAX_HOLD; so boxes of a face that left vanish
    soon after the first analysed frame without it."""
    times = sorted({round(s.time, 6) for s in sightings})
    steps = np.diff(times)
    if steps.size == 0:
        return 0.5
    return float(min(MAX_HOLD, 1.5 * np.median(steps)))


class _Sightings:
    """The boxes to draw at a time: those of the last analysed frame at or before it (within `hold`)."""

    def __init__(self, sightings: Sequence[Sighting], hold: float) -> None:
        groups: dict[float, list[Sighting]] = {}
        for one in sightings:
            groups.setdefault(one.time, []).append(one)
        self.times = sorted(groups)
        self.groups = [groups[t] for t in self.times]
        self.hold = hold

    def at(self, time: float) -> list[Sighting]:
        i = bisect.bisect_right(self.times, time + 1e-4) - 1
        if i < 0 or time - self.times[i] > self.hold:
            return []
        return self.groups[i]


def _segment_at(segments: Sequence[SegmentResult], starts: list[float], time: float) -> int | None:
    i = bisect.bisect_right(starts, time) - 1
    return i if 0 <= i < len(segments) and time < segments[i].end + 1e-6 else None


class Painter:
    """Draws the annotations of one timeline onto frames (RGB uint8, in place) of a given size."""

    def __init__(self, timeline: Timeline, width: int, height: int, hold: float | None = None) -> None:
        import cv2

        self.cv2 = cv2
        self.timeline = timeline
        self.segments = timeline.segments
        self.starts = [s.start for s in self.segments]
        self.sightings = _Sightings(timeline.sightings, sighting_hold(timeline.sightings) if hold is None else hold)
        self.width, self.height = width, height
        unit = max(0.6, min(width, height) / 480)
        self.font = cv2.FONT_HERSHEY_SIMPLEX
        self.scale = 0.5 * unit
        self.thick = max(1, round(1.4 * unit))
        self.line = max(2, round(2 * unit))
        _, text_h, base = self._text_size("Pp0%")
        self.pad = max(3, round(4 * unit))
        self.bar = text_h + base + 2 * self.pad  # the scores bar: tall enough for a label inside
        self.strip = 4 * self.pad + text_h + base + self.bar

    def _text_size(self, text: str) -> tuple[int, int, int]:
        (w, h), base = self.cv2.getTextSize(text, self.font, self.scale, self.thick)
        return w, h, base

    def _tag(self, frame: np.ndarray, text: str, x: int, y: int, colour: tuple[int, int, int]) -> None:
        """A filled tag of `colour` with `text`, its bottom-left corner at (x, y), kept inside the frame."""
        cv2 = self.cv2
        w, h, base = self._text_size(text)
        pad = max(2, self.thick + 1)
        x = int(min(max(0, x), max(0, self.width - w - 2 * pad)))
        y = int(min(max(h + base + 2 * pad, y), self.height - self.strip))
        cv2.rectangle(frame, (x, y - h - base - 2 * pad), (x + w + 2 * pad, y), colour, cv2.FILLED)
        cv2.putText(frame, text, (x + pad, y - base - pad), self.font, self.scale, _text_on(colour), self.thick,
                    cv2.LINE_AA)

    def _face(self, frame: np.ndarray, one: Sighting, speaking: bool) -> None:
        cv2 = self.cv2
        box = one.box
        colour = _LABEL_RGB[one.scores.label]
        x0, y0, x1, y1 = box.x, box.y, box.x + box.width, box.y + box.height
        cv2.rectangle(frame, (x0, y0), (x1, y1), colour, self.line + (2 if speaking else 0), cv2.LINE_AA)
        name = f"{one.person} " if one.person else ""
        self._tag(frame, f"{name}{one.scores.label} {one.scores.confidence:.0%}", x0 - self.line // 2,
                  y0 - self.line, colour)
        if speaking:  # a speech mark: a filled dot and two sound waves beside the box's top-right corner
            r = max(4, round(self.strip * 0.16))
            cx, cy = min(x1 + 2 * r, self.width - 3 * r), max(y0 + 2 * r, 2 * r)
            cv2.circle(frame, (cx, cy), r + 2, _INK, cv2.FILLED, cv2.LINE_AA)
            cv2.circle(frame, (cx, cy), r, _PAPER, cv2.FILLED, cv2.LINE_AA)
            for k in (1, 2):
                cv2.ellipse(frame, (cx, cy), (r + 4 * k * self.thick, r + 4 * k * self.thick), 0, -45, 45, _PAPER,
                            self.thick + 1, cv2.LINE_AA)

    def _strip(self, frame: np.ndarray, segment: SegmentResult | None, time: float) -> None:
        """A dark band at the bottom: time, the fused label (and who speaks), the fused scores as a bar."""
        cv2 = self.cv2
        top = self.height - self.strip
        band = frame[top:]
        band //= 4  # darken in place: cheaper than blending
        pad = self.pad
        if segment is None or segment.fused is None:
            text = f"{time:6.1f} s   no verdict"
        else:
            text = f"{time:6.1f} s   {segment.fused.label} {segment.fused.confidence:.0%}"
        if segment is not None and segment.speaker:
            text += f"   speaking: {segment.speaker}"
        w, h, base = self._text_size(text)
        cv2.putText(frame, text, (pad, top + pad + h), self.font, self.scale, _PAPER, self.thick, cv2.LINE_AA)
        bar_bottom = self.height - pad
        bar_top = bar_bottom - self.bar
        if segment is None or segment.fused is None:
            return
        left, right = pad, self.width - pad
        x = float(left)
        for label, share in zip(LABELS, segment.fused.values):
            x1 = x + share * (right - left)
            if round(x1) > round(x):
                cv2.rectangle(frame, (round(x), bar_top), (round(x1) - 1, bar_bottom), _LABEL_RGB[label], cv2.FILLED)
                name = f"{label} {share:.0%}"
                tw, th, _ = self._text_size(name)
                if tw + 4 < x1 - x:
                    cv2.putText(frame, name, (round(x) + 2, (bar_top + bar_bottom + th) // 2), self.font, self.scale,
                                _text_on(_LABEL_RGB[label]), self.thick, cv2.LINE_AA)
            x = x1

    def draw(self, frame: np.ndarray, time: float) -> np.ndarray:
        """Annotate `frame` (shown at `time` seconds) in place and return it."""
        index = _segment_at(self.segments, self.starts, time)
        segment = self.segments[index] if index is not None else None
        speaker = segment.speaker if segment is not None else None
        for one in self.sightings.at(time):
            self._face(frame, one, speaking=bool(speaker) and one.person == speaker)
        self._strip(frame, segment, time)
        return frame


def _can_copy_audio(exe: str, source: Path, suffix: str) -> bool:
    """Whether a target of `suffix` can hold the source's soundtrack as it is (a half-second trial)."""
    with tempfile.TemporaryDirectory(prefix="emofuse-annotate-") as tmp:
        trial = Path(tmp) / f"trial{suffix}"
        done = subprocess.run([exe, "-nostdin", "-v", "error", "-i", str(source), "-map", "0:a", "-c:a", "copy",
                               "-t", "0.5", str(trial)], capture_output=True, check=False)
        return done.returncode == 0 and trial.exists() and trial.stat().st_size > 0


def _grid(frames: Iterator[tuple[float, np.ndarray]], fps: float) -> Iterator[tuple[float, np.ndarray]]:
    """Frames on the constant-rate grid k/fps: each slot gets the last frame shown at its time,
    so a variable-rate source stays in sync with its soundtrack (frames repeated or dropped)."""
    period, k, previous, last = 1.0 / fps, 0, None, 0.0
    for time, frame in frames:
        while previous is not None and k * period < time - period / 2:
            yield previous
            k += 1
        previous, last = (time, frame), time
    while previous is not None and k * period < last + period / 2:
        yield previous
        k += 1


def _ffmpeg_command(exe: str, size: tuple[int, int], fps: float, source: Path, target: Path, audio: str | None,
                    preset: str, crf: int) -> list[str]:
    width, height = size
    rate = Fraction(fps).limit_denominator(1001)
    cmd = [exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{width}x{height}", "-r", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0"]
    if audio:
        cmd += ["-i", str(source), "-map", "0:v:0", "-map", "1:a?"]
    if width % 2 or height % 2:  # yuv420p needs even sides
        cmd += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]
    cmd += ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p"]
    if audio == "copy":
        cmd += ["-c:a", "copy"]
    elif audio == "aac":
        cmd += ["-c:a", "aac", "-b:a", "192k"]
    if target.suffix.lower() in (".mp4", ".mov"):
        cmd += ["-movflags", "+faststart"]  # plays in a browser before it has all arrived
    return cmd + [str(target)]


def annotate_video(timeline: Timeline, source: str | Path, target: str | Path, *, progress: Progress | None = None,
                   preset: str = "veryfast", crf: int = 20, hold: float | None = None) -> Path:
    """Write `target` (.mp4, .mov or .mkv): `source`'s picture with `timeline` drawn on it, and its
    soundtrack copied unchanged (re-encoded as AAC only where the container cannot hold it, with a
    warning). Boxes come from `timeline.sightings`, drawn from the analysed frame that found them
    until the next analysed frame (at most `hold` seconds; default from the sampling rate).
    `progress(segment, total)` is called as the encoding passes each segment. Atomic: the file
    appears whole or not at all. Raises EmofuseError for an audio-only source or a bad target."""
    import imageio_ffmpeg

    from .media import iter_frames, probe

    source, target = Path(source), check_target(target, [source])
    info = probe(source)
    if not info.has_video:
        raise EmofuseError(f"{source}: audio only, no picture to annotate; drop --annotate (--html works)")
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    audio = None
    if info.has_audio:
        audio = "copy" if _can_copy_audio(exe, source, target.suffix.lower()) else "aac"
        if audio == "aac":
            warnings.warn(f"{target.name}: a {target.suffix} file cannot hold the soundtrack of {source.name} as it "
                          f"is; it is re-encoded as AAC", stacklevel=2)
    segments, reported = timeline.segments, 0
    with iter_frames(info, None) as stream, atomic_output(target) as tmp, \
            tempfile.TemporaryFile(prefix="emofuse-ffmpeg-") as log:
        frames = _grid(stream, stream.fps)
        first = next(frames, None)
        if first is None:
            raise MediaError(f"{source}: no video frame could be decoded")
        height, width = first[1].shape[:2]
        painter = Painter(timeline, width, height, hold)
        cmd = _ffmpeg_command(exe, (width, height), stream.fps, source, tmp, audio, preset, crf)
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
        assert proc.stdin is not None
        shown: np.ndarray | None = None
        canvas = np.empty_like(first[1])
        try:
            for time, frame in _prepend(first, frames):
                if frame is not shown:  # a repeated slot (variable frame rate) reuses the drawn canvas
                    shown = frame
                    np.copyto(canvas, frame if frame.shape == canvas.shape else _fit(frame, canvas.shape))
                    painter.draw(canvas, time)
                proc.stdin.write(canvas.data)
                while progress and reported < len(segments) and segments[reported].end <= time + 1e-6:
                    progress(segments[reported], len(segments))
                    reported += 1
            proc.stdin.close()
        except BrokenPipeError:  # ffmpeg gave up: its message is read below
            with contextlib.suppress(OSError):
                proc.stdin.close()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        proc.wait()
        if proc.returncode != 0:
            log.seek(0)
            message = log.read().decode(errors="replace").strip().splitlines()
            raise MediaError(f"{target}: ffmpeg could not write the annotated video: "
                             f"{message[-1] if message else 'exit ' + str(proc.returncode)}")
    while progress and reported < len(segments):
        progress(segments[reported], len(segments))
        reported += 1
    return target


def _prepend(first, rest):
    yield first
    yield from rest


def _fit(frame: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    import cv2

    return cv2.resize(frame, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
