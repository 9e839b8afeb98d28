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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--audio", action="store_true", help="classify the voice too (needs ravdess-cnn)")
    parser.add_argument("--cores", type=int, default=None, help="pin the process to this many cores")
    args = parser.parse_args()
    if args.cores:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
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
