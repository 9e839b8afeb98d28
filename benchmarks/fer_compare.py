"""emofuse against the `fer` package on the same clip, in the same run, at the same face sampling.

    python benchmarks/fer_compare.py [--clip PATH | --persons N] [--seconds 60] [--fer-python PATH]

`fer` (Haar + a mini-Xception, TensorFlow Lite) runs in its own virtual environment, never in
emofuse's: it pins a non-headless OpenCV and TensorFlow. Create it once with

    python3 -m venv .bench-fer
    .bench-fer/bin/pip install tensorflow-cpu "opencv-contrib-python<5" pandas tqdm requests pillow
    .bench-fer/bin/pip install fer --no-deps      # fer's own deps pull torch (facenet-pytorch) and tensorflow

fer loads its bundled weights (`fer/data/`): nothing is downloaded at run time.
Both analyse faces `--sample-fps` times a second (emofuse's default, 4): emofuse at its
defaults (faces, persons, speakers, voice activity and the voice), fer faces only, two ways:
  * `Video.analyze(frequency=round(fps / sample_fps))`, output kept in memory (no frames or
    video written, no annotation): fer's own video loop, which seeks to every sampled frame;
  * `FER.detect_emotions` on the same frames as emofuse, decoded in order (grab, then retrieve
    only the sampled frames): the fastest way to drive fer's detector over a file.
Reported: the whole command (a fresh process: imports, model loading, analysis) and the
analysis alone (models loaded, after a warm-up run on the same clip), as wall and CPU seconds, x realtime,
frames of the clip per second, and the ratio fer / emofuse (> 1: emofuse faster). The ratio
against the faster of fer's two ways is the one to quote. Ratios measured in the same run are
what to compare: these machines are noisy.
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
DEFAULT_FER_PYTHON = HERE.parent / ".bench-fer" / "bin" / "python"

FER_CHILD = r"""
import json, logging, os, resource, sys, time
t0 = time.perf_counter()

def cpu():  # this process (all threads) and its waited-for children, user + system
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

import cv2
from fer.fer import FER
from fer.classes import Video
logging.getLogger("fer").setLevel(logging.WARNING)
path, mode, sample_fps, repeat = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
detector = FER(use_tflite=sys.argv[5] == "tflite")
loaded = time.perf_counter()

def video_analyze():
    capture = cv2.VideoCapture(path)
    every = max(1, round(capture.get(cv2.CAP_PROP_FPS) / sample_fps))
    capture.release()
    video = Video(path, outdir=os.getcwd())
    table = video.analyze(detector, display=False, frequency=every, save_frames=False, save_video=False,
                          annotate_frames=False, zip_images=False, output="pandas")
    return every, len(table)

def sequential():
    # the frames emofuse analyses: the first frame at or after each point of a 1/sample_fps grid
    capture = cv2.VideoCapture(path)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    step, next_time, index, analysed, with_face = 1.0 / sample_fps, 0.0, 0, 0, 0
    while capture.grab():
        t = index / fps
        index += 1
        if t + 1e-6 < next_time:
            continue
        while next_time <= t + 1e-6:
            next_time += step
        ok, frame = capture.retrieve()
        if not ok:
            break
        analysed += 1
        with_face += bool(detector.detect_emotions(frame))
    capture.release()
    return analysed, with_face

run = video_analyze if mode == "video" else sequential
times, counts = [], None
for _ in range(1 + repeat):
    start, start_cpu = time.perf_counter(), cpu()
    counts = run()
    times.append((time.perf_counter() - start, cpu() - start_cpu))
best = min(times[1:]) if repeat else (None, None)
print(json.dumps({"load": loaded - t0, "first": times[0][0], "warm": best[0], "warm_cpu": best[1],
                  "counts": counts}))
"""


def fer_python(path: str | Path | None = None) -> Path:
    """The fer venv's python (`path`, else .bench-fer next to the repo); exits with how to create it."""
    python = Path(path) if path else DEFAULT_FER_PYTHON
    if not python.exists():
        venv = DEFAULT_FER_PYTHON.parent.parent
        sys.exit(f"no fer environment at {python}. Create one with:\n"
                 f"  python3 -m venv {venv}\n"
                 f"  {venv}/bin/pip install tensorflow-cpu \"opencv-contrib-python<5\" pandas tqdm requests pillow\n"
                 f"  {venv}/bin/pip install fer --no-deps\n"
                 f"or pass --fer-python PATH")
    return python


def run_fer(python: Path, clip: Path, mode: str, sample_fps: float, repeat: int, backend: str = "tflite") -> dict:
    """One fer child process: {"whole", "whole_cpu": wall and CPU seconds of the process, "load",
    "first", "warm", "warm_cpu", "counts"}.

    `mode` is "video" (fer's Video.analyze) or "frames" (detect_emotions on emofuse's frames);
    `backend` "tflite" (fer's default since 25.x: its int8 TensorFlow Lite model) or "keras".
    `whole` covers start-up, imports, model loading and every run; with repeat=0 it is the
    whole command on one analysis.
    """
    from speed import children_cpu  # benchmarks/speed.py

    with tempfile.TemporaryDirectory(prefix="fer-bench-") as cwd:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", QT_QPA_PLATFORM="offscreen")
        start, start_cpu = time.perf_counter(), children_cpu()
        out = subprocess.run([str(python), "-c", FER_CHILD, str(clip), mode, str(sample_fps), str(repeat), backend],
                             capture_output=True, text=True, cwd=cwd, env=env)
        whole, whole_cpu = time.perf_counter() - start, children_cpu() - start_cpu
    if out.returncode != 0:
        raise RuntimeError(f"fer ({mode}) failed:\n{out.stderr[-3000:]}")
    return {"whole": whole, "whole_cpu": whole_cpu, **json.loads(out.stdout.strip().splitlines()[-1])}


def clip_seconds_and_frames(clip: Path) -> tuple[float, int]:
    import cv2

    capture = cv2.VideoCapture(str(clip))
    fps, frames = capture.get(cv2.CAP_PROP_FPS) or 25.0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    return frames / fps, frames


def compare(clip: Path, python: Path, sample_fps: float = 4.0, repeat: int = 1, label: str = "",
            backend: str = "tflite") -> dict:
    """Time emofuse (defaults) and fer (both ways) on `clip`; print the figures and return them."""
    with tempfile.TemporaryDirectory(prefix="fer-compare-") as tmp:
        return _compare(clip, python, sample_fps, repeat, label, backend, Path(tmp))


def _compare(clip: Path, python: Path, sample_fps: float, repeat: int, label: str, backend: str, work: Path) -> dict:
    from speed import child, timed_cpu  # benchmarks/speed.py: emofuse in child processes

    seconds, frames = clip_seconds_and_frames(clip)
    head = f"[{label}] " if label else ""

    def line(what: str, secs: float, cpu: float, ref: tuple[float, float] | None = None) -> str:
        ratio = f"   fer / emofuse {secs / ref[0]:.2f}x (CPU {cpu / ref[1]:.2f}x)" if ref else ""
        return (f"{head}{what:<58} {secs:6.2f} s  {seconds / secs:6.1f}x realtime  "
                f"{frames / secs:6.0f} frames/s  CPU {cpu:6.2f} s{ratio}")

    # whole commands first (fresh processes), then the warm analyses, alternating emofuse and fer
    emo_whole, emo_whole_cpu = timed_cpu([sys.executable, "-m", "emofuse", "analyze", str(clip),
                                          "-o", str(work / "emofuse.csv"), "-q"])
    fer_video_whole = run_fer(python, clip, "video", sample_fps, 0, backend)
    fer_frames_whole = run_fer(python, clip, "frames", sample_fps, 0, backend)
    emo = child(clip, fps=sample_fps, repeat=repeat)
    fer_video = run_fer(python, clip, "video", sample_fps, repeat, backend)
    fer_frames = run_fer(python, clip, "frames", sample_fps, repeat, backend)

    every, video_faces = fer_video["counts"]
    analysed, frame_faces = fer_frames["counts"]
    print(f"{head}clip {clip.name}: {seconds:.1f} s, {frames} frames; faces sampled {sample_fps:g}/s "
          f"(fer Video.analyze: every {every}th frame; fer network: {backend})")
    print(f"{head}faces classified: emofuse {emo['face_crops']} face crops in {emo['segments_with_faces']} of "
          f"{emo['segments']} segments; fer: frames with a face, detect_emotions {frame_faces} of {analysed} "
          f"analysed, Video.analyze {video_faces}")
    print(f"{head}emofuse persons: {emo['persons']}, segments with a speaker: {emo['speaker_segments']}")
    ref_whole, ref = (emo_whole, emo_whole_cpu), (emo["warm"], emo["warm_cpu"])
    print(line("whole command: emofuse analyze (defaults: persons + voice)", *ref_whole))
    for what, run in (("fer Video.analyze (faces only)", fer_video_whole),
                      ("fer detect_emotions on the same frames", fer_frames_whole)):
        print(line(f"whole command: {what}", run["whole"], run["whole_cpu"], ref_whole))
    print(line("analysis alone: emofuse (defaults: persons + voice)", *ref))
    for what, run in (("fer Video.analyze", fer_video), ("fer detect_emotions on the same frames", fer_frames)):
        print(line(f"analysis alone: {what}", run["warm"], run["warm_cpu"], ref))
    best_whole = min(fer_video_whole["whole"], fer_frames_whole["whole"])
    best = min(fer_video["warm"], fer_frames["warm"])
    result = {"clip": str(clip), "seconds": seconds, "frames": frames, "emofuse_whole": emo_whole,
              "emofuse_analysis": emo["warm"], "fer_video_whole": fer_video_whole["whole"],
              "fer_frames_whole": fer_frames_whole["whole"], "fer_video_analysis": fer_video["warm"],
              "fer_frames_analysis": fer_frames["warm"], "ratio_whole": best_whole / emo_whole,
              "ratio_analysis": best / emo["warm"],
              "ratio_analysis_cpu": min(fer_video["warm_cpu"], fer_frames["warm_cpu"]) / emo["warm_cpu"]}
    print(f"{head}emofuse vs the faster fer: {result['ratio_analysis']:.2f}x faster (analysis alone; "
          f"{result['ratio_analysis_cpu']:.2f}x less CPU), {result['ratio_whole']:.2f}x (whole command)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, help="a video to compare on (default: build one)")
    parser.add_argument("--persons", type=int, default=1, help="people in the built clip (1-3; default 1)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the built clip")
    parser.add_argument("--sample-fps", type=float, default=4.0, help="faces analysed per second (emofuse default 4)")
    parser.add_argument("--repeat", type=int, default=1, help="timed warm runs after the warm-up (best is kept)")
    parser.add_argument("--fer-python", help=f"python of the fer venv (default {DEFAULT_FER_PYTHON})")
    parser.add_argument("--fer-backend", choices=("tflite", "keras"), default="tflite",
                        help="fer's network: its TensorFlow Lite model (its default) or the Keras one")
    args = parser.parse_args()
    python = fer_python(args.fer_python)
    sys.path.insert(0, str(HERE))
    with tempfile.TemporaryDirectory(prefix="fer-compare-clip-") as tmp:
        clip = args.clip
        if clip is None:
            import clips

            clip = clips.clip_for(Path(tmp), args.seconds, args.persons)
        report(args, clip, python)


def report(args: argparse.Namespace, clip: Path, python: Path) -> None:
    print(f"load average before: {' '.join(f'{v:.1f}' for v in os.getloadavg())} (2 cores: compare ratios)")
    compare(clip, python, args.sample_fps, args.repeat, label=f"{args.persons} person(s)" if args.clip is None else "",
            backend=args.fer_backend)
    print(f"load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
