"""What face tracking, the network's backend and the test-time views cost in accuracy, and what they save in time.

    python benchmarks/detection_tradeoff.py [--cache /tmp/emofuse-avbench] [--limit N]

Runs the face half of `emofuse analyze` (no audio) over the audio-visual benchmark clips (a
FER2013 PublicTest face, upscaled and drifting in a 640x480 frame; built by
`python benchmarks/av_benchmark.py build`) under several detection/classification settings,
and prints for each: the share of analysed frames where a face was found, the clip accuracy of
the face scores (argmax of the mean over the clip vs the clip's emotion), the segment accuracy,
and the analysis time (models loaded). Settings are run one after the other in one process:
compare the ratios of one run, not figures across runs.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from avbench import clips as C  # noqa: E402

FLIP_ZOOM = {"flip_average": True, "zoom_average": True}
SETTINGS = {
    "full-frame detection on every frame (--detect-fps all)":
        dict(detect_fps=math.inf, track=False, classifier=FLIP_ZOOM),
    "defaults: detection 1/s, tracking in between":
        dict(detect_fps=None, track=True, classifier=FLIP_ZOOM),
    "reuse boxes, detection 1/s (--no-track --detect-fps 1)":
        dict(detect_fps=1.0, track=False, classifier=FLIP_ZOOM),
    "defaults, Keras bfloat16 instead of LiteRT int8 weights":
        dict(detect_fps=None, track=True, classifier={**FLIP_ZOOM, "backend": "keras", "precision": "bfloat16"}),
    "defaults, Keras float32 instead of LiteRT int8 weights":
        dict(detect_fps=None, track=True, classifier={**FLIP_ZOOM, "backend": "keras", "precision": "float32"}),
    "defaults, face + mirror views only (zoom_average=false)":
        dict(detect_fps=None, track=True, classifier={"flip_average": True, "zoom_average": False}),
    "defaults, one view (flip_average=false zoom_average=false)":
        dict(detect_fps=None, track=True, classifier={"flip_average": False, "zoom_average": False}),
}


def measure(manifest, detect_fps, track, classifier) -> dict:
    import numpy as np

    from emofuse.labels import LABELS
    from emofuse.runner import AnalysisOptions, Pipeline

    options = AnalysisOptions(
        detect_fps=detect_fps, track=track, audio=False,
        component_options={"visual_classifier": classifier})
    pipeline = Pipeline(options)
    frames = {"analysed": 0, "with_face": 0}
    find_faces = pipeline.find_faces

    def counting(tracker, t, frame, errors):
        boxes = find_faces(tracker, t, frame, errors)
        frames["analysed"] += 1
        frames["with_face"] += bool(boxes)
        return boxes

    pipeline.find_faces = counting
    pipeline.analyze(manifest.path.iloc[0])  # warm-up: models loaded, graphs compiled
    frames.update(analysed=0, with_face=0)
    clip_hits = segment_hits = segments = 0
    seconds = video = 0.0
    for row in manifest.itertuples(index=False):
        started = time.perf_counter()
        timeline = pipeline.analyze(row.path)
        seconds += time.perf_counter() - started
        video += timeline.duration
        truth = LABELS.index(row.label)
        scored = [s.face.values for s in timeline.segments if s.face is not None]
        segments += len(timeline.segments)
        segment_hits += sum(int(np.argmax(v)) == truth for v in scored)
        clip_hits += bool(scored) and int(np.argmax(np.mean(scored, axis=0))) == truth
    return {"found": frames["with_face"] / max(1, frames["analysed"]), "clip_accuracy": clip_hits / len(manifest),
            "segment_accuracy": segment_hits / max(1, segments), "xrealtime": video / seconds, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default="/tmp/emofuse-avbench", help="the av_benchmark cache (clips)")
    parser.add_argument("--seed", type=int, default=5, help="the av_benchmark seed whose clips to use")
    parser.add_argument("--limit", type=int, help="only the first N clips")
    parser.add_argument("--only", metavar="TEXT", help="only the settings whose name contains TEXT")
    args = parser.parse_args(argv)
    folder = Path(args.cache) / f"seed{args.seed}"
    if not (folder / C.MANIFEST).is_file():
        sys.exit(f"{folder}: no clips; build them first: python benchmarks/av_benchmark.py build")
    manifest = C.read_manifest(folder)
    if args.limit:
        manifest = manifest.head(args.limit)
    print(f"{len(manifest)} clips, faces only, --fps 4, 1 s segments")
    print(f"{'setting':<56} {'frames with a face':>18} {'clip acc':>9} {'segment acc':>12} {'x realtime':>11}")
    for name, setting in SETTINGS.items():
        if args.only and args.only not in name:
            continue
        r = measure(manifest, **setting)
        print(f"{name:<56} {r['found']:>18.1%} {r['clip_accuracy']:>9.1%} {r['segment_accuracy']:>12.1%} "
              f"{r['xrealtime']:>10.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
