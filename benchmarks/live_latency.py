"""Latency and pace of `emofuse live`, printed as figures (never asserted).

    python benchmarks/live_latency.py [--seconds 10] [--audio] [--cores 2]

A 640x480 25 fps clip with a face (emofuse.testing.write_media) stands in for the camera, played
in real time by the `video-file` media source. The live loop runs for `--seconds` with the
default face components (haar + fer-cnn) and reports:
  * the delay from a frame's capture to its label (median, 95th percentile, max);
  * the frames/s analysed, out of the 25 offered, and the frames dropped (never queued);
  * at defaults (full-frame face detection once a second, faces tracked in between) and with
    a full-frame detection on every frame (`--detect-fps all`);
  * the frames/s reached when frames come as fast as they decode (`realtime=false`).
`--audio` adds the voice (the clip's soundtrack through the `audio-file` source, mfcc +
ravdess-cnn) on its own thread, competing for the same cores. When the shipped fer-cnn weights
are missing, an untrained network of the same architecture stands in (same speed).
Target: delay under 100 ms and 25 frames/s on 2 cores.

    python benchmarks/live_latency.py --mic pulse [--sink virt] [--bursts 6]

measures the voice through a real microphone stack instead: espeak-ng speech bursts played
with `paplay` into a PulseAudio sink whose monitor is the default source, recorded by the
`microphone` source (sounddevice/PortAudio's ALSA `pulse` device) in a live run with the
default voice components. It reports the delay from paplay's start to the first sound in the
microphone's callback (the device path), from that first sound to the first voice label the live
loop sees (capture to label), and, for every voice label, from the newest sound it heard to the
label. Set the sink up first (docs/performance.md):
    pulseaudio --daemonize=yes --exit-idle-time=-1; pactl load-module module-null-sink sink_name=virt
    pactl set-default-source virt.monitor
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import tempfile
from pathlib import Path


def face_model_options(tmp: Path) -> dict:
    """{"model": PATH} of an untrained fer-cnn when the shipped weights are missing, else {}."""
    from emofuse.plugins.fer_cnn.artifacts import default_model_path

    if default_model_path().is_file():
        return {}
    from emofuse.plugins.fer_cnn.model import build_face_model

    path = tmp / "untrained_fer_cnn.keras"
    build_face_model().save(path)
    print("note: fer-cnn weights not installed; timing an untrained network of the same architecture")
    return {"model": str(path)}


def run(clip: Path, seconds: float, realtime: bool, audio: bool, options: dict, detect_fps: float | None = None,
        track: bool = True):
    from emofuse.live import LiveSession, SourceChoice, open_source
    from emofuse.runner import AnalysisOptions, Pipeline

    pipeline = Pipeline(AnalysisOptions(fps=None, detect_fps=detect_fps, track=track, audio=audio,
                                        component_options=options))
    source = SourceChoice("video-file", str(clip), {"realtime": realtime, "loop": True})
    video = open_source(pipeline.components, "video", source)
    mic = open_source(pipeline.components, "audio", SourceChoice("audio-file", str(clip))) if audio else None
    session = LiveSession(pipeline, video, mic, duration=seconds)
    session.prepare()  # load the models before the clock starts, as `emofuse live` does
    before = resource.getrusage(resource.RUSAGE_SELF)
    report = session.run()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return report, cpu


def describe(result, offered: str) -> None:
    report, cpu = result
    ms = lambda q: f"{1000 * report.delay(q):.0f} ms"  # noqa: E731
    print(f"  frames: {report.captured} {offered}, {report.processed} analysed ({report.fps:.1f}/s), "
          f"{report.dropped} dropped")
    print(f"  capture-to-label delay: median {ms(50)}, p95 {ms(95)}, max {ms(100)}")
    print(f"  CPU time of this process: {cpu / report.elapsed:.2f} cores busy, "
          f"{1000 * cpu / max(1, report.processed):.0f} ms per analysed frame (capture thread included)")


def mic_latency(device: str, sink: str, bursts: int, gap: float, tmp: Path) -> None:
    """The voice through a real microphone: speech bursts played into `sink`, recorded from `device`."""
    import shutil
    import subprocess
    import threading
    import time

    import numpy as np

    from emofuse.live import LiveSession
    from emofuse.plugins.media_sources import Microphone
    from emofuse.runner import AnalysisOptions, Pipeline

    for exe in ("espeak-ng", "paplay"):
        if shutil.which(exe) is None:
            raise SystemExit(f"{exe} not found: apt-get install espeak-ng pulseaudio-utils")
    wav = tmp / "burst.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), "The train to the city leaves at seven."], check=True)

    class TimedMic(Microphone):
        """Notes when sound (not digital silence) first arrives after `arm()`, and what each `latest()` saw."""

        def __init__(self, *a, **kw) -> None:
            super().__init__(*a, **kw)
            self.armed, self.onsets, self.looks = False, [], []

        def arm(self) -> None:
            self.armed = True

        def _callback(self, indata, frames, time_info, status) -> None:
            super()._callback(indata, frames, time_info, status)
            if self.armed and float(np.abs(indata).max()) > 1e-3:
                self.armed = False
                self.onsets.append(time.monotonic())

        def latest(self, seconds):
            self.looks.append(self._last_data)  # the newest block this look gets
            return super().latest(seconds)

    class Timed(LiveSession):
        """Notes when the live loop takes each voice result (that is when its label shows)."""

        seen: list = []

        def _take_voice(self, voice) -> bool:
            if not hasattr(voice, "untimed_take"):
                voice.untimed_take = voice.take

                def take():
                    results = voice.untimed_take()
                    Timed.seen.extend((time.monotonic(), evidence) for _, evidence, _, _ in results)
                    return results

                voice.take = take
            return super()._take_voice(voice)

    import soundfile

    length = soundfile.info(str(wav)).duration
    pipeline = Pipeline(AnalysisOptions(video=False))
    mic = TimedMic(device)
    seconds = 1.5 + bursts * (length + gap + 0.3) + 1.0
    session = Timed(pipeline, None, mic, duration=seconds)
    session.prepare()
    sent = []
    runner = threading.Thread(target=session.run, daemon=True)
    before = resource.getrusage(resource.RUSAGE_SELF)
    runner.start()
    time.sleep(1.5)
    for _ in range(bursts):
        mic.arm()
        sent.append(time.monotonic())
        subprocess.run(["paplay", f"--device={sink}", str(wav)], check=True)
        time.sleep(gap)
    runner.join()
    after = resource.getrusage(resource.RUSAGE_SELF)
    ms = lambda x: f"{1000 * x:.0f} ms"  # noqa: E731
    labels = [(t, e) for (t, e) in Timed.seen if e is not None]
    firsts, windows = [], []
    for onset in mic.onsets:
        first = next(((t, e) for t, e in labels if t >= onset), None)
        if first is not None and first[0] - onset < gap:
            firsts.append(first[0] - onset)
            windows.append(first[1].window)
    fresh = [t - look for (t, e), look in zip(Timed.seen, mic.looks) if e is not None]
    device_path = [onset - start for start, onset in zip(sent, mic.onsets)]
    print(f"microphone {device} ({mic.sample_rate} Hz) <- paplay into sink {sink}: {bursts} bursts of "
          f"{length:.1f} s speech, {gap:g} s apart; "
          f"{len(os.sched_getaffinity(0))} cores (load average {os.getloadavg()[0]:.1f})")
    print(f"  paplay start -> first sound in the callback: median {ms(np.median(device_path))}, "
          f"max {ms(max(device_path))} (includes starting paplay)")
    if firsts:
        print(f"  first sound -> first voice label (capture to label): median {ms(np.median(firsts))}, "
              f"max {ms(max(firsts))}, {len(firsts)}/{len(mic.onsets)} bursts labelled; first window "
              f"{np.median(windows):.2f} s (of {float(pipeline.audio_classifier.min_window):g})")
    else:
        print("  no burst got a voice label")
    if fresh:
        print(f"  newest sound heard -> its label, {len(fresh)} labels: median {ms(np.median(fresh))}, "
              f"p95 {ms(np.percentile(fresh, 95))}, max {ms(max(fresh))}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(f"  CPU time of this process: {cpu / seconds:.2f} cores busy (voice only)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--audio", action="store_true", help="classify the voice too (needs ravdess-cnn)")
    parser.add_argument("--cores", type=int, default=None, help="pin the process to this many cores")
    parser.add_argument("--mic", metavar="DEVICE", help="measure the voice through this microphone instead "
                                                         "(e.g. pulse), with speech played into --sink")
    parser.add_argument("--sink", default="virt", help="PulseAudio sink the speech is played into (default virt)")
    parser.add_argument("--bursts", type=int, default=6, help="speech bursts played (--mic)")
    parser.add_argument("--gap", type=float, default=2.5, help="seconds of silence after each burst (--mic)")
    args = parser.parse_args()
    if args.cores:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.mic:
        with tempfile.TemporaryDirectory() as tmp:
            mic_latency(args.mic, args.sink, args.bursts, args.gap, Path(tmp))
        return
    from emofuse.testing import write_media

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = write_media(tmp / "camera.mp4", min(args.seconds, 10) + 1, fps=25, size=(640, 480))
        options = {"visual_classifier": face_model_options(tmp)}
        print(f"emofuse live, 640x480 at 25 frames/s, {len(os.sched_getaffinity(0))} cores "
              f"(load average {os.getloadavg()[0]:.1f}), {'face and voice' if args.audio else 'face only'}, "
              f"{args.seconds:g} s per run")
        print("camera paced in real time, defaults (detection 1/s, tracking in between):")
        describe(run(clip, args.seconds, True, args.audio, options), "offered")
        print("camera paced in real time, --detect-fps all (full-frame detection on every frame):")
        describe(run(clip, args.seconds, True, args.audio, options, detect_fps=math.inf, track=False), "offered")
        print("frames as fast as they decode (realtime=false), defaults:")
        describe(run(clip, args.seconds, False, args.audio, options), "decoded")


if __name__ == "__main__":
    main()
