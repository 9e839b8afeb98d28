"""Speed and memory of `emofuse analyze`, printed as figures (never asserted).

    python benchmarks/speed.py [--seconds 60] [--long 240] [--persons-only]
                               [--fer [--fer-python PATH] [--fer-backend tflite|keras]]

Builds 640x480 25 fps clips with a speech-like soundtrack (benchmarks/clips.py): one person (the
astronaut portrait, swaying), and three different people side by side with a shot cut every 20 s
(they change places); then reports, on this machine:
  * for the one-person and the multi-person clip: x-realtime of the whole `emofuse analyze`
    command at defaults (start-up and model loading included; per-person analysis: tracks,
    persons, speakers, voice activity and the voice) and of the analysis alone (components
    already loaded), and the analysis alone with `--no-persons` (the scene only): the cost of
    persons;
  * the whole command on the long one-person clip, and the fixed start-up cost that follows;
  * the analysis alone with the networks run by Keras instead of their LiteRT exports, and
    with a full-frame face detection on every analysed frame (`--detect-fps all`, no tracking);
  * frames/s when every frame is analysed (`--fps all`): at defaults (full-frame detection once
    a second, faces tracked in between), with a full-frame detection on every frame, and with
    `--detect-fps 5 --no-track` (boxes reused between detections; every frame still classified);
  * peak memory (max RSS) for a short and a long clip: flat in video length means streaming;
  * `emofuse --help` start-up time;
  * with `--fer`: benchmarks/fer_compare.py on both clips (the `fer` package in its own venv,
    same clip, same face sampling, same run).
`--persons-only` keeps the per-person figures (and `--fer`) and skips the rest.
Ratios measured in the same run are what to compare: these machines are noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import json, resource, sys, time
import emofuse

def cpu():  # this process (all threads) and its waited-for children (ffmpeg), user + system
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

from emofuse.runner import AnalysisOptions, Pipeline
opts = json.loads(sys.argv[2])
fps = opts.pop("fps", 4.0)
repeat = opts.pop("repeat", 1)
if opts.get("detect_fps") == "all":
    opts["detect_fps"] = float("inf")
pipeline = Pipeline(AnalysisOptions(fps=None if fps == "all" else fps, **opts))
t0 = time.perf_counter()
pipeline.analyze(sys.argv[1])  # warm-up: loads the models, compiles the graphs
t1 = time.perf_counter()
warm = []
for _ in range(max(1, repeat)):
    start, start_cpu = time.perf_counter(), cpu()
    timeline = pipeline.analyze(sys.argv[1])
    warm.append((time.perf_counter() - start, cpu() - start_cpu))
try:  # this process's own peak: ru_maxrss also counts the parent's peak, inherited at fork
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
segments = timeline.segments
best = min(warm)
print(json.dumps({"first": t1 - t0, "warm": best[0], "warm_cpu": best[1], "segments": len(timeline),
                  "faces": sum(s.faces for s in segments),
                  "segments_with_faces": sum(1 for s in segments if s.faces),
                  "face_crops": sum(p.faces for s in segments for p in getattr(s, "people", ())),
                  "persons": len(getattr(timeline, "persons", ())),
                  "speaker_segments": sum(1 for s in segments if getattr(s, "speaker", None)),
                  "maxrss_mb": peak / 1024}))
"""


def child(path: Path, **opts) -> dict:
    """Analyse `path` in a fresh process with AnalysisOptions(**opts) (plus fps="all", repeat=N):
    a warm-up run, then the best of `repeat` timed runs ("warm"), and what the timeline holds."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), json.dumps(opts)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"emofuse analysis {opts} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def children_cpu() -> float:
    """User + system CPU seconds of this process's waited-for children so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_cpu(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children) of one command; a command
    that fails stops the benchmark with its command line and its stderr."""
    t, c = time.perf_counter(), children_cpu()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    return time.perf_counter() - t, children_cpu() - c


def timed(cmd: list[str]) -> float:
    return timed_cpu(cmd)[0]


def load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def per_person(name: str, clip: Path, seconds: float, work: Path) -> dict:
    """Whole command and analysis alone at defaults, and the analysis with --no-persons, on one clip."""
    whole, whole_cpu = timed_cpu([sys.executable, "-m", "emofuse", "analyze", str(clip),
                                  "-o", str(work / f"{name}.csv"), "-q"])
    default = child(clip)
    scene = child(clip, persons=False)
    print(f"[{name}] whole command at defaults (per-person): {whole:.1f} s = {seconds / whole:.1f}x realtime "
          f"(CPU {whole_cpu:.1f} s)")
    print(f"[{name}] analysis alone at defaults (per-person): {default['warm']:.2f} s = "
          f"{seconds / default['warm']:.1f}x realtime, CPU {default['warm_cpu']:.2f} s ({default['persons']} persons, "
          f"{default['segments_with_faces']}/{default['segments']} segments with a face, "
          f"{default['speaker_segments']} with a speaker, peak memory {default['maxrss_mb']:.0f} MB)")
    print(f"[{name}] analysis alone with --no-persons (the scene only): {scene['warm']:.2f} s = "
          f"{seconds / scene['warm']:.1f}x realtime, CPU {scene['warm_cpu']:.2f} s; persons cost "
          f"{default['warm'] - scene['warm']:+.2f} s ({default['warm'] / scene['warm']:.2f}x the time, "
          f"{default['warm_cpu'] / scene['warm_cpu']:.2f}x the CPU)")
    return {"whole": whole, "whole_cpu": whole_cpu, "default": default, "scene": scene}


def legacy(clip: Path, long_clip: Path, seconds: float, long_seconds: float, whole: float, default: dict,
           work: Path) -> None:
    """The one-person figures kept from earlier versions: long clip, backends, detection, every frame, memory."""
    whole_long = timed([sys.executable, "-m", "emofuse", "analyze", str(long_clip), "-o", str(work / "long.csv"), "-q"])
    print(f"emofuse analyze, defaults, whole command, {long_seconds:.0f} s clip: {whole_long:.1f} s = "
          f"{long_seconds / whole_long:.1f}x realtime (fixed start-up cost: "
          f"{(whole * long_seconds - whole_long * seconds) / (long_seconds - seconds):.1f} s)")
    keras = child(clip, component_options={"visual_classifier": {"backend": "keras"},
                                            "audio_classifier": {"backend": "keras"}})
    print(f"analysis at defaults with the Keras backend instead of LiteRT: {seconds / keras['warm']:.1f}x "
          f"realtime (LiteRT {keras['warm'] / default['warm']:.2f}x faster; peak memory {keras['maxrss_mb']:.0f} MB "
          f"vs {default['maxrss_mb']:.0f} MB)")
    full = child(clip, detect_fps="all")
    print(f"analysis with --detect-fps all (full-frame detection on every analysed frame): "
          f"{seconds / full['warm']:.1f}x realtime (tracking speed-up {full['warm'] / default['warm']:.2f}x; "
          f"segments with a face {default['segments_with_faces']} vs {full['segments_with_faces']})")
    n_frames = int(seconds * 25)
    every = child(clip, fps="all")
    print(f"every frame, defaults (detection 1/s, tracking between): {n_frames / every['warm']:.0f} frames/s")
    every_full = child(clip, fps="all", detect_fps="all")
    print(f"every frame, full-frame detection on every frame: {n_frames / every_full['warm']:.0f} frames/s")
    carried = child(clip, fps="all", detect_fps=5.0, track=False)
    print(f"every frame, --detect-fps 5 --no-track (boxes reused): {n_frames / carried['warm']:.0f} frames/s")
    faces_only = child(clip, fps="all", audio=False)
    print(f"every frame, faces only, defaults: {n_frames / faces_only['warm']:.0f} frames/s")
    long = child(long_clip)
    print(f"peak memory: {default['maxrss_mb']:.0f} MB for {seconds:.0f} s, "
          f"{long['maxrss_mb']:.0f} MB for {long_seconds:.0f} s "
          f"(ratio {long['maxrss_mb'] / default['maxrss_mb']:.2f}; 1.00 = flat)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the main clips")
    parser.add_argument("--long", type=float, default=240.0, help="length of the long clip (memory check)")
    parser.add_argument("--persons-only", action="store_true",
                        help="only the one- and multi-person figures (and --fer), not the rest")
    parser.add_argument("--fer", action="store_true", help="also compare with the fer package (fer_compare.py)")
    parser.add_argument("--fer-python", help="python of the fer venv (default: .bench-fer/bin/python)")
    parser.add_argument("--fer-backend", choices=("tflite", "keras"), default="tflite",
                        help="fer's network: its TensorFlow Lite model (its default) or the Keras one")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import clips

    with tempfile.TemporaryDirectory(prefix="emofuse-bench-") as tmp:
        run(args, Path(tmp), clips)


def run(args: argparse.Namespace, work: Path, clips) -> None:
    """Every figure of `main`, with the clips written under `work`."""
    python = None
    if args.fer:
        from fer_compare import fer_python

        python = fer_python(args.fer_python)  # fails now, not after the other figures
    one = clips.one_person_clip(work / "one.mp4", args.seconds)
    multi = clips.multi_person_clip(work / "multi.mp4", args.seconds, persons=3)
    print(f"clips: {args.seconds:.0f} s, 640x480, 25 fps, speech-like audio: [one person] the astronaut swaying; "
          f"[3 persons] three different people side by side, a cut every 20 s")
    print(f"load average before: {load()} (2 cores)")

    helps = sorted(timed([sys.executable, "-m", "emofuse", "--help"]) for _ in range(5))
    print(f"emofuse --help: {helps[2] * 1000:.0f} ms (median of 5)")
    first = per_person("one person", one, args.seconds, work)
    per_person("3 persons", multi, args.seconds, work)
    if not args.persons_only:
        long_clip = clips.one_person_clip(work / "long.mp4", args.long)
        legacy(one, long_clip, args.seconds, args.long, first["whole"], first["default"], work)
    if python is not None:
        from fer_compare import compare

        compare(one, python, label="one person", backend=args.fer_backend)
        compare(multi, python, label="3 persons", backend=args.fer_backend)
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
