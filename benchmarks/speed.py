"""Speed and memory of `emofuse analyze`, printed as figures (never asserted).

    python benchmarks/speed.py [--seconds 60] [--long 240]

Builds 640x480 25 fps clips with a face and a speech-like soundtrack (emofuse.testing), then
reports, on this machine:
  * x-realtime of the whole `emofuse analyze` command at defaults (start-up and model loading
    included) on the main and the long clip, the fixed start-up cost that follows from the two,
    and x-realtime of the analysis alone (components already loaded), the same with the networks
    run by Keras instead of their LiteRT exports, and with a full-frame face detection on every
    analysed frame (`--detect-fps all`, no tracking);
  * frames/s when every frame is analysed (`--fps all`): at defaults (full-frame detection once
    a second, faces tracked in between), with a full-frame detection on every frame, and with
    `--detect-fps 5 --no-track` (boxes reused between detections; every frame still classified);
  * peak memory (max RSS) for a short and a long clip: flat in video length means streaming;
  * `emofuse --help` start-up time.
Ratios measured in the same run are what to compare: these machines are noisy.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
import emofuse
from emofuse.runner import AnalysisOptions, Pipeline
opts = json.loads(sys.argv[2])
fps = opts.pop("fps", 4.0)
if opts.get("detect_fps") == "all":
    opts["detect_fps"] = float("inf")
pipeline = Pipeline(AnalysisOptions(fps=None if fps == "all" else fps, **opts))
t0 = time.perf_counter()
pipeline.analyze(sys.argv[1])  # warm-up: loads the models, compiles the graphs
t1 = time.perf_counter()
timeline = pipeline.analyze(sys.argv[1])
t2 = time.perf_counter()
try:  # this process's own peak: ru_maxrss also counts the parent's peak, inherited at fork
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"first": t1 - t0, "warm": t2 - t1, "segments": len(timeline),
                  "faces": sum(s.faces for s in timeline.segments), "maxrss_mb": peak / 1024}))
"""


def child(path: Path, **opts) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), json.dumps(opts)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the main clip")
    parser.add_argument("--long", type=float, default=240.0, help="length of the long clip (memory check)")
    args = parser.parse_args()
    from emofuse.testing import write_media

    work = Path(tempfile.mkdtemp(prefix="emofuse-bench-"))
    clip = write_media(work / "clip.mp4", args.seconds, fps=25, size=(640, 480), face=True, audio="speech")
    long_clip = write_media(work / "long.mp4", args.long, fps=25, size=(640, 480), face=True, audio="speech")
    emofuse_cmd = [sys.executable, "-m", "emofuse"]
    print(f"clip: {args.seconds:.0f} s, 640x480, 25 fps, face + speech-like audio")

    helps = sorted(timed([*emofuse_cmd, "--help"]) for _ in range(5))
    print(f"emofuse --help: {helps[2] * 1000:.0f} ms (median of 5)")

    whole = timed([*emofuse_cmd, "analyze", str(clip), "-o", str(work / "out.csv"), "-q"])
    print(f"emofuse analyze, defaults, whole command: {whole:.1f} s = {args.seconds / whole:.1f}x realtime")
    whole_long = timed([*emofuse_cmd, "analyze", str(long_clip), "-o", str(work / "long.csv"), "-q"])
    print(f"emofuse analyze, defaults, whole command, {args.long:.0f} s clip: {whole_long:.1f} s = "
          f"{args.long / whole_long:.1f}x realtime (fixed start-up cost: "
          f"{(whole * args.long - whole_long * args.seconds) / (args.long - args.seconds):.1f} s)")

    default = child(clip)
    print(f"analysis at defaults (models loaded): {default['warm']:.2f} s = "
          f"{args.seconds / default['warm']:.1f}x realtime ({default['segments']} segments)")
    keras = child(clip, component_options={"visual_classifier": {"backend": "keras"},
                                            "audio_classifier": {"backend": "keras"}})
    print(f"analysis at defaults with the Keras backend instead of LiteRT: {args.seconds / keras['warm']:.1f}x "
          f"realtime (LiteRT {keras['warm'] / default['warm']:.2f}x faster; peak memory {keras['maxrss_mb']:.0f} MB "
          f"vs {default['maxrss_mb']:.0f} MB)")
    full = child(clip, detect_fps="all")
    print(f"analysis with --detect-fps all (full-frame detection on every analysed frame): "
          f"{args.seconds / full['warm']:.1f}x realtime (tracking speed-up {full['warm'] / default['warm']:.2f}x; "
          f"segments with a face {default['faces']} vs {full['faces']})")
    n_frames = int(args.seconds * 25)
    every = child(clip, fps="all")
    print(f"every frame, defaults (detection 1/s, tracking between): {n_frames / every['warm']:.0f} frames/s")
    every_full = child(clip, fps="all", detect_fps="all")
    print(f"every frame, full-frame detection on every frame: {n_frames / every_full['warm']:.0f} frames/s")
    carried = child(clip, fps="all", detect_fps=5.0, track=False)
    print(f"every frame, --detect-fps 5 --no-track (boxes reused): {n_frames / carried['warm']:.0f} frames/s")
    faces_only = child(clip, fps="all", audio=False)
    print(f"every frame, faces only, defaults: {n_frames / faces_only['warm']:.0f} frames/s")

    long = child(long_clip)
    print(f"peak memory: {default['maxrss_mb']:.0f} MB for {args.seconds:.0f} s, "
          f"{long['maxrss_mb']:.0f} MB for {args.long:.0f} s "
          f"(ratio {long['maxrss_mb'] / default['maxrss_mb']:.2f}; 1.00 = flat)")


if __name__ == "__main__":
    main()
