"""Make examples/demo.mp4: a 20 s, 640x480, 25 fps H.264 + AAC clip for demos and smoke tests.

Run from the repository root::

    .venv/bin/python examples/make_demo.py [--output examples/demo.mp4]

Needs Debian's `espeak-ng` on PATH (`apt-get install -y espeak-ng`) for the voice; emofuse's
tests never run this script, they use the committed clip or `emofuse.testing.write_media`.

Everything in the clip may be redistributed: the face is NASA's astronaut portrait shipped
with emofuse (public domain, see fusion/data/README.md), swaying slowly and absent for two
stretches (5.6-7.8 s and 13.0-14.6 s) so the face-less gaps show in a timeline; the voice is
five short sentences synthesised by espeak-ng with different voices, pitches and speeds,
with silence between them. The emotions are not acted: the clip shows the pipeline working
(segments, gaps, fusion), it is not ground truth.
"""
from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile

from emofuse.testing import encode_media, make_frame

WIDTH, HEIGHT, FPS, DURATION = 640, 480, 25, 20.0
SAMPLE_RATE = 22050  # espeak-ng's native rate

#: (start second, text, espeak-ng voice, pitch 0-99, words per minute, amplitude 0-200)
SENTENCES: tuple[tuple[float, str, str, int, int, int], ...] = (
    (0.6, "Hello. This is a short demo of emo fuse.", "en-us+m3", 45, 150, 120),
    (4.6, "I am so happy to see you today!", "en-us+f3", 75, 175, 150),
    (8.3, "Oh no. I lost my keys again.", "en-gb+m7", 30, 120, 110),
    (12.4, "Stop that, right now! I mean it!", "en-us+m1", 55, 195, 190),
    (16.3, "Wow, really? That is amazing!", "en-gb+f2", 85, 165, 150),
)

#: Stretches (start, end) in seconds with no face on screen.
FACE_GAPS: tuple[tuple[float, float], ...] = ((5.6, 7.8), (13.0, 14.6))


def speak(text: str, voice: str, pitch: int, speed: int, amplitude: int, workdir: Path) -> np.ndarray:
    """One sentence from espeak-ng as float32 mono at SAMPLE_RATE."""
    wav = workdir / "sentence.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-a", str(amplitude),
                    "-w", str(wav), text], check=True)
    samples, rate = soundfile.read(wav, dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"espeak-ng wrote {rate} Hz audio, expected {SAMPLE_RATE}")
    return samples.mean(axis=1)


def soundtrack() -> np.ndarray:
    """The five sentences placed at their start times on DURATION seconds of silence."""
    track = np.zeros(int(DURATION * SAMPLE_RATE), dtype=np.float32)
    with tempfile.TemporaryDirectory(prefix="emofuse-demo-") as tmp:
        for start, text, voice, pitch, speed, amplitude in SENTENCES:
            voice_samples = speak(text, voice, pitch, speed, amplitude, Path(tmp))
            a = int(start * SAMPLE_RATE)
            b = min(track.size, a + voice_samples.size)
            if a + voice_samples.size > track.size:
                print(f"warning: {text!r} runs past the end of the clip", file=sys.stderr)
            track[a:b] += voice_samples[: b - a]
    peak = float(np.abs(track).max())
    return track * (0.7 / peak) if peak > 0 else track


def frames() -> Iterator[np.ndarray]:
    """The face swaying and breathing slowly (scale), absent during FACE_GAPS."""
    empty = make_frame(WIDTH, HEIGHT, face=False)
    for i in range(int(DURATION * FPS)):
        t = i / FPS
        if any(a <= t < b for a, b in FACE_GAPS):
            yield empty
            continue
        dx = round(28 * math.sin(2 * math.pi * t / 6.0) + 6 * math.sin(2 * math.pi * t / 1.7))
        dy = round(10 * math.sin(2 * math.pi * t / 4.3))
        face_width = round(270 + 25 * math.sin(2 * math.pi * t / 9.0))
        yield make_frame(WIDTH, HEIGHT, face=True, face_width=face_width, offset=(dx, dy))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("demo.mp4"))
    args = parser.parse_args(argv)
    if shutil.which("espeak-ng") is None:
        parser.error("espeak-ng is not on PATH; install it with: apt-get install -y espeak-ng")
    audio = soundtrack()
    encode_media(args.output, frames(), fps=FPS, audio=audio, sample_rate=SAMPLE_RATE, preset="slow", crf=22)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.2f} MB, {DURATION:g} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
