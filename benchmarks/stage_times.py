"""Where the time of an analysis goes, stage by stage (figures only; nothing is changed).

    python benchmarks/stage_times.py [--clip PATH | --persons N [--cut-every S]] [--seconds 60] [--no-persons]
                                     [--sequential] [--options JSON] [--cprofile N]

Builds (or takes) a clip, warms a Pipeline up on it at the defaults, then analyses it once more
with a timer wrapped around each stage's entry point: decoding, shot detection, full-frame
detection, tracking (Haar near the last boxes), track linking, track book (identity crops; it
calls the embedder), the face embedder, mouth motion (speaker finder input), face
classification, the audio windows (ffmpeg pipe), voice-activity detection, voice features, the
voice classifier, the speech envelope, fusion, and at the end the persons (clustering, speakers,
people, summary). For each: calls, wall seconds and the CPU seconds of the calling thread, per
thread (the frame side runs on its own thread, `emofuse-faces`, overlapping the main one; wall
times of the two threads add up to more than the analysis). Some stages contain others (the
track book calls the embedder; the end phase calls clustering and the speaker finder): the
table says which. `--sequential` runs the frame side inline (no look-ahead thread): stages then
never overlap, so the CPU of the whole process during a call (its library thread pools included:
OpenCV, LiteRT, ggml) is that stage's own CPU ("process cpu s"; meaningful only then).
`--cprofile N` also prints the N costliest functions of the main thread.
"""
from __future__ import annotations

import argparse
import collections
import functools
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (label, module, attribute path) of each stage's entry point; the label says what it contains.
STAGES = [
    ("decode (grab + retrieve + RGB)", "emofuse.media", "FrameStream.__next__"),
    ("shot detection", "emofuse.shots", "ShotDetector.is_cut"),
    ("face detection, full frame", "emofuse.plugins.haar", "HaarFaceDetector.detect"),
    ("face tracking (Haar near last boxes)", "emofuse.plugins.haar", "HaarFaceDetector.track"),
    ("track linking", "emofuse.tracks", "TrackLinker.link"),
    ("track book: crops (+ embedder at track end)", "emofuse.face_side", "TrackBook.see"),
    ("track book: closing tracks (+ embedder)", "emofuse.face_side", "TrackBook.close_before"),
    ("face embedder", "emofuse.plugins.dlib_embed", "DlibEmbedder.embed"),
    ("face embedder (pixels fallback)", "emofuse.plugins.pixel_embed", "PixelEmbedder.embed"),
    ("mouth motion (speaker finder input)", "emofuse.speaker_side", "MouthRecorder.see"),
    ("face classification (fer-cnn)", "emofuse.runner", "Pipeline._classify_faces"),
    ("audio windows (ffmpeg pipe)", "emofuse.media", "AudioStream.window"),
    ("voice activity (VAD)", "emofuse.plugins.vad", "ChunkedDetector.speech"),
    ("voice: features + classifier", "emofuse.runner", "Pipeline.classify_voice"),
    ("speech envelope", "emofuse.speaker_side", "EnvelopeBook.add"),
    ("fusion", "emofuse.runner", "Pipeline.fuse"),
    ("end: persons (all below)", "emofuse.walk", "FrameWalk.people"),
    ("end: clustering tracks into persons", "emofuse.persons", "cluster_tracks"),
    ("end: speaker finding", "emofuse.speaking", "SpeakerFinder.speaker"),
    ("end: people per segment", "emofuse.walk", "build_people"),
]


class Meter:
    """Per (stage, thread): calls, wall seconds, thread CPU seconds, process CPU seconds."""

    def __init__(self) -> None:
        self.on = False
        self.table: dict[tuple[str, str], list[float]] = collections.defaultdict(lambda: [0, 0.0, 0.0, 0.0])
        self._lock = threading.Lock()

    def wrap(self, label: str, fn):
        meter = self

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if not meter.on:
                return fn(*args, **kwargs)
            wall, cpu, proc = time.perf_counter(), time.thread_time(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
                proc = time.process_time() - proc
                with meter._lock:
                    row = meter.table[(label, threading.current_thread().name)]
                    row[0] += 1
                    row[1] += wall
                    row[2] += cpu
                    row[3] += proc
        return timed


class Inline:
    """Stands in for emofuse.threads.RunAhead: the source iterated on the calling thread."""

    def __init__(self, source, depth: int = 2, name: str = "") -> None:
        self.source = source

    def __enter__(self):
        return self.source

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:  # like RunAhead's thread, run the source to its end (the tracks' last embeddings)
            for _ in self.source:
                pass
        close = getattr(self.source, "close", None)
        if close is not None:
            close()


def install(meter: Meter) -> list[str]:
    """Wrap every stage that exists in this checkout; returns the labels of those missing."""
    import importlib

    missing = []
    for label, module_name, path in STAGES:
        try:
            module = importlib.import_module(module_name)
            owner, name = module, path
            if "." in path:
                cls, name = path.split(".")
                owner = getattr(module, cls)
            setattr(owner, name, meter.wrap(label, getattr(owner, name)))
        except (ImportError, AttributeError):
            missing.append(label)
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path)
    parser.add_argument("--persons", type=int, default=1, help="people in the built clip (1-3)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--cut-every", type=float, default=20.0, help="seconds between cuts in the built multi-person clip")
    parser.add_argument("--no-persons", action="store_true", help="analyse with persons=False")
    parser.add_argument("--options", default="{}", metavar="JSON",
                        help='component options, e.g. \'{"face_detector": {"scale_factor": 1.2}}\'')
    parser.add_argument("--sequential", action="store_true", help="no look-ahead thread: one stage at a time")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="also cProfile the main thread")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    with tempfile.TemporaryDirectory(prefix="emofuse-stages-") as tmp:
        clip = args.clip
        if clip is None:
            import clips

            clip = clips.clip_for(Path(tmp), args.seconds, args.persons, cut_every=args.cut_every)
        measure(args, clip)


def measure(args: argparse.Namespace, clip: Path) -> None:
    """Warm a pipeline up on `clip`, then time its stages over one more analysis and print the table."""
    meter = Meter()
    missing = install(meter)  # before the pipeline imports the runner's names
    from emofuse.runner import AnalysisOptions, Pipeline

    if args.sequential:
        import emofuse.runner

        emofuse.runner.RunAhead = Inline

    import json

    pipeline = Pipeline(AnalysisOptions(persons=not args.no_persons, component_options=json.loads(args.options)))
    pipeline.analyze(clip)  # warm-up
    meter.on = True
    profile = None
    if args.cprofile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    cpu0, start = time.process_time(), time.perf_counter()
    timeline = pipeline.analyze(clip)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    if profile is not None:
        profile.disable()
    meter.on = False
    duration = timeline.duration
    print(f"{clip.name}: {duration:.1f} s; analysis {wall:.2f} s = {duration / wall:.1f}x realtime, "
          f"process CPU {cpu:.2f} s ({cpu / wall:.2f} cores); persons {len(timeline.persons)}; "
          f"components {dict(timeline.components)}")
    print(f"{'stage':<46} {'thread':<14} {'calls':>6} {'wall s':>7} {'cpu s':>7} {'process cpu s':>13} "
          f"{'ms/call':>8}")
    order = {label: i for i, (label, _, _) in enumerate(STAGES)}
    for (label, thread), (calls, w, c, pc) in sorted(meter.table.items(),
                                                     key=lambda kv: (order[kv[0][0]], kv[0][1])):
        print(f"{label:<46} {thread[:14]:<14} {calls:>6} {w:>7.3f} {c:>7.3f} {pc:>13.3f} {1000 * w / calls:>8.2f}")
    if missing:
        print(f"(not in this checkout: {', '.join(missing)})")
    if profile is not None:
        import pstats

        pstats.Stats(profile).sort_stats("tottime").print_stats(args.cprofile)


if __name__ == "__main__":
    main()
