"""Who is speaking: attribution accuracy on side-by-side compositions of real talking faces, and cost.

    python benchmarks/speaker_bench.py [--orders 4] [--modes analysed,pairs,every2,every] [--no-cost]

Needs ../shared/data/crema-d (6 CREMA-D clips of one actor, ~2 s each, voice in sync). The clips
are concatenated (in a few orders) into ~13 s talking sequences; each is put side by side
(960x360, H.264 in a temp folder, never kept) with a distractor and the first sequence's
soundtrack:
  * delay0.5 / delay1: the same sequence with its picture 0.5 s / 1 s late (rolled around);
  * reversed: the same sequence played backwards;
  * other: a different clip at each moment (the order rotated by one): the same actor saying
    the same sentence with its own timing, the hardest distractor;
each with the in-sync face on the left and on the right; and
  * offscreen: two distractors (rotated by one and by two), the true speaker not on screen.
Each file is decoded as the runner does (OpenCV grab; frames retrieved only when used), Haar
boxes at 4 frames/s (full-frame detection 1/s, tracked in between: `FaceTracker`), tracks by
side. Mouth patches are sampled per mode: `analysed` (the 4/s analysed frames only), `pairs`
(each analysed frame and the next), `every2` (every 2nd frame), `every` (every frame), `N/s`
(a fixed time grid of N a second, e.g. `12.5/s`). For each
1 s segment with speech, `SpeakerFinder.speaker` must name the in-sync face (nobody for
offscreen). Cost: per frame and per second of a one-person 640x480 25 fps clip. Figures are
printed, never asserted; 6 clips of one actor measure nothing statistically.
"""
from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CREMA = REPO.parent / "shared" / "data" / "crema-d"
RATE = 16000
ANALYSED_FPS = 4.0
MODES = ("analysed", "pairs", "every2", "every")
#: Clip orders for the talking sequences (the first is the files' sorted order).
ORDERS = ((0, 1, 2, 3, 4, 5), (3, 5, 1, 0, 4, 2), (2, 4, 0, 5, 1, 3), (5, 4, 3, 2, 1, 0),
          (1, 3, 5, 2, 0, 4), (4, 0, 2, 1, 5, 3))
#: A 1 s segment has speech when at least SPEECH_SHARE of its 10 ms hops are above SPEECH_DB
#: (the CREMA-D clips' background sits at -50..-58 dBFS, their speech at -20..-40).
SPEECH_DB, SPEECH_SHARE = -42.0, 0.2
#: x-realtime of the whole analysis today (README), the base the cost is added to.
BASE_REALTIME = 22.0


@dataclasses.dataclass
class Clip:
    """RGB frames at `fps` and their soundtrack (mono float32 at RATE), the same length."""

    frames: list[np.ndarray]
    audio: np.ndarray
    fps: float


@dataclasses.dataclass
class Composition:
    case: str
    order: tuple[int, ...]
    left: Clip
    right: Clip
    audio: np.ndarray
    speaker: str | None  # "left", "right" or None (off-screen)

    @property
    def name(self) -> str:
        return f"{self.case}-{self.speaker or 'none'}-{''.join(map(str, self.order))}"


# -- building the compositions ---------------------------------------------------------------

def _ffmpeg_audio(path: Path) -> np.ndarray:
    import imageio_ffmpeg

    out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-vn",
                          "-ac", "1", "-ar", str(RATE), "-f", "f32le", "pipe:1"], capture_output=True, check=True)
    return np.frombuffer(out.stdout, np.float32)


def load_clips(folder: Path = CREMA, fps: float | None = None) -> list[Clip]:
    """Every .flv in `folder`, sorted: frames (RGB) and audio cut or padded to the video's length;
    with `fps`, the frames resampled to that rate (the nearest frame in time)."""
    import cv2

    clips, target = [], fps
    for path in sorted(folder.glob("*.flv")):
        capture = cv2.VideoCapture(str(path))
        native = capture.get(cv2.CAP_PROP_FPS) or 25.0
        frames = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        capture.release()
        audio = _ffmpeg_audio(path)
        if target and target != native:
            count = int(round(len(frames) / native * target))
            frames = [frames[min(len(frames) - 1, int(round(i * native / target)))] for i in range(count)]
        rate = target or native
        n = int(round(len(frames) / rate * RATE))
        clips.append(Clip(frames, np.pad(audio[:n], (0, max(0, n - len(audio)))), rate))
    if not clips:
        raise FileNotFoundError(f"no .flv clips in {folder}")
    return clips


def sequence(clips: Sequence[Clip], order: Sequence[int]) -> Clip:
    """The clips of `order` one after the other."""
    chosen = [clips[i % len(clips)] for i in order]
    return Clip([f for c in chosen for f in c.frames], np.concatenate([c.audio for c in chosen]), chosen[0].fps)


def delayed(clip: Clip, seconds: float) -> Clip:
    """The picture `seconds` late (rolled around: the last frames come first)."""
    k = int(round(seconds * clip.fps)) % len(clip.frames)
    return Clip(clip.frames[-k:] + clip.frames[:-k] if k else list(clip.frames), clip.audio, clip.fps)


def backwards(clip: Clip) -> Clip:
    return Clip(clip.frames[::-1], clip.audio, clip.fps)


def rotated(order: Sequence[int], by: int) -> tuple[int, ...]:
    return tuple(order[by:]) + tuple(order[:by])


def compositions(clips: Sequence[Clip], orders: Sequence[Sequence[int]],
                 cases: Sequence[str] = ("delay0.5", "delay1", "reversed", "other", "offscreen")
                 ) -> Iterator[Composition]:
    """Each case for each order (both sides for the cases with a visible speaker)."""
    for order in orders:
        order = tuple(order)
        talk = sequence(clips, order)
        distractors = {"delay0.5": lambda: delayed(talk, 0.5), "delay1": lambda: delayed(talk, 1.0),
                       "reversed": lambda: backwards(talk), "other": lambda: sequence(clips, rotated(order, 1))}
        for case in cases:
            if case == "offscreen":
                one, two = sequence(clips, rotated(order, 1)), sequence(clips, rotated(order, 2))
                yield Composition(case, order, one, two, talk.audio, None)
                continue
            other = distractors[case]()
            yield Composition(case, order, talk, other, talk.audio, "left")
            yield Composition(case, order, other, talk, talk.audio, "right")


def write(composition: Composition, path: Path) -> Path:
    """The composition as an H.264/AAC file: left and right frames side by side."""
    from emofuse.testing import encode_media

    left, right = composition.left, composition.right
    n = min(len(left.frames), len(right.frames))
    frames = (np.hstack([left.frames[i], right.frames[i]]) for i in range(n))
    return encode_media(path, frames, fps=left.fps, audio=composition.audio, sample_rate=RATE, crf=20)


def speech_segments(audio: np.ndarray, rate: int = RATE, length: float = 1.0) -> list[tuple[float, float]]:
    """The whole `length` s segments of `audio` with speech (SPEECH_DB, SPEECH_SHARE)."""
    from emofuse.speaking import speech_envelope

    hop = 0.01
    env = speech_envelope(audio, rate, hop)
    per = int(round(length / hop))
    count = int(len(audio) / rate // length)
    return [(k * length, (k + 1) * length) for k in range(count)
            if np.mean(env[k * per:(k + 1) * per] > SPEECH_DB) >= SPEECH_SHARE]


# -- mouth sampling as the runner would do it -----------------------------------------------

def analysed_indices(count: int, fps: float, sample_fps: float = ANALYSED_FPS) -> set[int]:
    """The frame indices `emofuse.media.iter_frames` analyses (a fixed time grid)."""
    out, step, next_time = set(), 1.0 / sample_fps, 0.0
    for index in range(count):
        t = index / fps
        if t + 1e-6 < next_time:
            continue
        while next_time <= t + 1e-6:
            next_time += step
        out.add(index)
    return out


def mouth_frames(mode: str, count: int, fps: float, analysed: set[int]) -> set[int]:
    """The frame indices `mode` cuts mouth patches from ("N/s": a fixed time grid of N a second,
    as the runner's between-samples callback spaces them)."""
    if mode == "analysed":
        return set(analysed)
    if mode == "pairs":
        return set(analysed) | {i + 1 for i in analysed}
    if mode == "every2":
        return set(range(0, count, 2))
    if mode == "every":
        return set(range(count))
    if mode.endswith("/s"):
        return analysed_indices(count, fps, float(mode[:-2]))
    raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)} or N/s")


class MouthSampler:
    """One mode's mouth sampling: the last analysed frame's box per track, fed to a MouthRecorder."""

    def __init__(self, mode: str, finder) -> None:
        from emofuse.speaking import MouthRecorder

        self.mode, self.recorder = mode, MouthRecorder(finder)
        self.boxes: dict[int, object] = {}

    def boxes_seen(self, boxes: dict[int, object]) -> None:
        """An analysed frame's boxes per track (tracks not found lose their mouth state)."""
        for track in set(self.boxes) - set(boxes):
            self.recorder.lost(track)
        self.boxes = dict(boxes)

    def sample(self, index: int, time_: float, frame: np.ndarray, analysed: set[int]) -> None:
        for track, box in self.boxes.items():
            if self.mode == "pairs" and index in analysed:
                self.recorder.lost(track)  # the first of a pair: only remembered
            self.recorder.see(time_, track, box, frame)


def attribute(path: Path, modes: Sequence[str], finder_options: dict | None = None
              ) -> tuple[dict[str, object], np.ndarray, np.ndarray, float]:
    """Decode `path` once, feed one SpeakerFinder per mode; returns (finders, envelope times,
    envelope, duration). Tracks: 0 = a face left of the middle, 1 = right of it."""
    import cv2

    from emofuse.media import AudioStream
    from emofuse.plugins.haar import HaarFaceDetector
    from emofuse.speaking import SpeakerFinder, speech_envelope
    from emofuse.tracking import FaceTracker

    finders = {mode: SpeakerFinder(**(finder_options or {})) for mode in modes}
    samplers = [MouthSampler(mode, finders[mode]) for mode in modes]
    detector, tracker = HaarFaceDetector(), FaceTracker()
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    analysed = analysed_indices(count + 2 * int(fps), fps)
    wanted = {mode: mouth_frames(mode, count + 2 * int(fps), fps, analysed) for mode in modes}
    index = 0
    while capture.grab():
        t = index / fps
        want = [s for s in samplers if index in wanted[s.mode]]
        if index in analysed or want:
            ok, bgr = capture.retrieve()
            if not ok:
                break
            if index in analysed:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                found = tracker.boxes(t, lambda: detector.detect(rgb), lambda b: detector.track(rgb, b)) or []
                middle = rgb.shape[1] / 2
                by_side: dict[int, object] = {}
                for box in found:
                    by_side.setdefault(int(box.x + box.width / 2 >= middle), box)
                for s in samplers:
                    s.boxes_seen(by_side)
            for s in want:
                s.sample(index, t, bgr, analysed)
        index += 1
    capture.release()
    duration = index / fps
    with AudioStream(path) as audio:
        samples = audio.window(0.0, duration)
    hop = 0.01
    envelope = speech_envelope(samples, RATE, hop)
    return finders, hop * np.arange(envelope.size), envelope, duration


# -- the benchmark ------------------------------------------------------------------------------

def run_accuracy(orders: Sequence[Sequence[int]], modes: Sequence[str], workdir: Path,
                 clips: Sequence[Clip] | None = None, cases: Sequence[str] | None = None,
                 windows: Sequence[float] | None = None) -> list[dict]:
    """One record per (composition, speech segment, mode[, window]): the expected side, the scores.
    With several `windows`, each mode is scored with each (the mode is named "mode@Ws")."""
    clips = clips or load_clips()
    records = []
    for comp in compositions(clips, orders, *([cases] if cases else [])):
        path = write(comp, workdir / f"{comp.name}.mp4")
        finders, times, envelope, _ = attribute(path, modes)
        path.unlink()
        for start, end in speech_segments(comp.audio):
            for mode, finder in finders.items():
                for window in windows or [finder.window]:
                    finder.window = window
                    scores = finder.scores(times, envelope, start, end, (0, 1))
                    name = f"{mode}@{window:g}s" if windows and len(windows) > 1 else mode
                    records.append({"case": comp.case, "order": comp.order, "speaker": comp.speaker, "mode": name,
                                    "start": start, "left": scores.get(0), "right": scores.get(1)})
    return records


def decide(record: dict, min_score: float) -> str | None:
    """The side SpeakerFinder names from a record's scores at threshold `min_score`."""
    scored = {side: record[side] for side in ("left", "right") if record[side] is not None}
    if not scored:
        return None
    best = max(scored, key=scored.get)
    return best if scored[best] >= min_score else None


def _spread(values: list[float]) -> str:
    """median [10th, 90th percentile]"""
    if not values:
        return "-"
    return f"{np.median(values):.2f} [{np.quantile(values, 0.1):.2f}, {np.quantile(values, 0.9):.2f}]"


def report_accuracy(records: list[dict], min_score: float, thresholds: Sequence[float]) -> None:
    cases = list(dict.fromkeys(r["case"] for r in records))
    modes = list(dict.fromkeys(r["mode"] for r in records))
    print(f"\nAttribution accuracy per 1 s speech segment at min_score={min_score} "
          "(correct side, or nobody for offscreen); [ranked: in-sync face scored higher, any threshold]")
    print(f"{'mode':9s}" + "".join(f"{c:>17s}" for c in cases) + f"{'all':>9s}")
    for mode in modes:
        line, hits = f"{mode:9s}", []
        for case in cases:
            rs = [r for r in records if r["mode"] == mode and r["case"] == case]
            ok = [decide(r, min_score) == r["speaker"] for r in rs]
            hits += ok
            ranked = [r["speaker"] is not None and (r[r["speaker"]] or -1) > (r["right" if r["speaker"] == "left"
                                                                               else "left"] or -1) for r in rs]
            extra = f"[{np.mean(ranked):.2f}]" if case != "offscreen" else "     "
            line += f"  {np.mean(ok):.2f} {extra} n={len(rs):<3d}"[-17:].rjust(17)
        print(line + f"{np.mean(hits):9.2f}")
    print("\nThreshold sweep: share of in-sync segments attributed to the in-sync face / share of "
          "offscreen segments attributed to nobody")
    print(f"{'mode':9s}" + "".join(f"{t:>13.2f}" for t in thresholds))
    for mode in modes:
        rs = [r for r in records if r["mode"] == mode]
        sync = [r for r in rs if r["speaker"]]
        off = [r for r in rs if not r["speaker"]]
        cells = []
        for t in thresholds:
            a = np.mean([decide(r, t) == r["speaker"] for r in sync]) if sync else float("nan")
            b = np.mean([decide(r, t) is None for r in off]) if off else float("nan")
            cells.append(f"{a:.2f} / {b:.2f}")
        print(f"{mode:9s}" + "".join(f"{c:>13s}" for c in cells))
    print("\nScores (median [10th, 90th percentile]): the in-sync face; the best face of offscreen")
    for mode in modes:
        rs = [r for r in records if r["mode"] == mode]
        sync = [r[r["speaker"]] for r in rs if r["speaker"] and r[r["speaker"]] is not None]
        off = [max(v for v in (r["left"], r["right"]) if v is not None) for r in rs
               if not r["speaker"] and (r["left"] is not None or r["right"] is not None)]
        print(f"{mode:9s} in-sync {_spread(sync)}   offscreen {_spread(off)}")


def run_cost(clips: Sequence[Clip], workdir: Path, modes: Sequence[str], repeats: int = 5) -> None:
    """Cost per frame and per second of video on a one-person 640x480 25 fps clip."""
    import cv2

    from emofuse.plugins.haar import HaarFaceDetector
    from emofuse.speaking import MouthRecorder, SpeakerFinder, speech_envelope, steady_box
    from emofuse.testing import encode_media
    from emofuse.tracking import FaceTracker

    talk = sequence(clips, ORDERS[0])
    pad = lambda f: cv2.copyMakeBorder(f, 60, 60, 80, 80, cv2.BORDER_REPLICATE)  # noqa: E731 480x360 -> 640x480
    path = encode_media(workdir / "one-person.mp4", (pad(f) for f in talk.frames), fps=25, audio=talk.audio,
                        sample_rate=RATE, crf=20)
    fps = 25.0
    count = len(talk.frames)
    seconds = count / fps
    analysed = analysed_indices(count, fps)
    # boxes at the analysed frames, as the runner finds them
    detector, tracker = HaarFaceDetector(), FaceTracker()
    capture = cv2.VideoCapture(str(path))
    boxes: dict[int, object] = {}
    index, box = 0, None
    while capture.grab():
        if index in analysed:
            rgb = cv2.cvtColor(capture.retrieve()[1], cv2.COLOR_BGR2RGB)
            found = tracker.boxes(index / fps, lambda: detector.detect(rgb), lambda b: detector.track(rgb, b))
            box = steady_box(box, found[0]) if found else None
        boxes[index] = box
        index += 1
    capture.release()

    # each operation timed on its own, the median kept: other processes on a shared machine
    # inflate a whole loop's time, far less the median of many short timings
    retrieve_ns, patch_ns, grab_ns = [], [], []
    for _ in range(repeats):
        recorder = MouthRecorder(SpeakerFinder())
        cap = cv2.VideoCapture(str(path))
        i = 0
        while True:
            t0 = time.perf_counter_ns()
            if not cap.grab():
                break
            t1 = time.perf_counter_ns()
            frame = cap.retrieve()[1]
            t2 = time.perf_counter_ns()
            grab_ns.append(t1 - t0)
            if i not in analysed:
                retrieve_ns.append(t2 - t1)
            if boxes[i] is not None:
                t3 = time.perf_counter_ns()
                recorder.see(i / fps, 0, boxes[i], frame)
                patch_ns.append(time.perf_counter_ns() - t3)
            i += 1
        cap.release()
    grab_ms, retrieve_ms, patch_ms = (float(np.median(v)) / 1e6 for v in (grab_ns, retrieve_ns, patch_ns))
    print(f"\nCost on a one-person 640x480 25 fps clip ({seconds:.1f} s, {count} frames; medians of "
          f"{repeats} passes): grab {grab_ms:.3f} ms per frame, retrieve (decoded -> BGR) {retrieve_ms:.3f} ms "
          f"per frame, MouthRecorder.see (steady box, mouth_patch, mouth_motion, SpeakerFinder.add) "
          f"{patch_ms:.3f} ms per patch")
    print(f"{'mode':9s}{'patches/s':>10s}{'extra retrieves/s':>19s}{'added ms per s of video':>25s}"
          f"{'x-realtime if base is ' + str(BASE_REALTIME):>30s}")
    for mode in modes:
        sampled = mouth_frames(mode, count, fps, analysed) & set(range(count))
        extra = len(sampled - analysed) / seconds
        added = extra * retrieve_ms + len(sampled) / seconds * patch_ms
        factor = 1 / (1 / BASE_REALTIME + added / 1000)
        print(f"{mode:9s}{len(sampled) / seconds:10.1f}{extra:19.1f}{added:25.2f}{factor:30.1f}")
    # the same as whole loops (grab all, retrieve what is used, cut the mouths), fastest of
    # `repeats` interleaved passes: with threaded decoding the split between grab and retrieve
    # moves (grab 0.03-0.35 ms, retrieve 0.13-0.38 ms over runs), the loop's total does not
    def loop(mode: str | None) -> float:
        sampled = (mouth_frames(mode, count, fps, analysed) if mode else set()) | analysed
        recorder = MouthRecorder(SpeakerFinder())
        cap = cv2.VideoCapture(str(path))
        t0, i = time.perf_counter(), 0
        while cap.grab():
            if i in sampled:
                frame = cap.retrieve()[1]
                if mode and boxes[i] is not None and (mode != "pairs" or i in analysed or i - 1 in analysed):
                    if mode == "pairs" and i in analysed:
                        recorder.lost(0)
                    recorder.see(i / fps, 0, boxes[i], frame)
            i += 1
        cap.release()
        return time.perf_counter() - t0

    best = {mode: float("inf") for mode in (None, *modes)}
    for _ in range(repeats + 2):
        for mode in best:
            best[mode] = min(best[mode], loop(mode))
    print(f"whole loops (fastest of {repeats + 2}): base (grab all, retrieve the analysed) "
          f"{1000 * best[None] / seconds:.1f} ms per s of video; added: " + ", ".join(
              f"{mode} {1000 * (best[mode] - best[None]) / seconds:.2f} ms "
              f"({1 / (1 / BASE_REALTIME + (best[mode] - best[None]) / seconds):.1f}x)" for mode in modes))
    # one speaker() call per segment (4 s window, two faces)
    finder = SpeakerFinder()
    for i in range(count):
        finder.add(0, i / fps, float(np.random.default_rng(i).random()))
        finder.add(1, i / fps, float(np.random.default_rng(i + 1).random()))
    env = speech_envelope(talk.audio, RATE, 0.01)
    times = 0.01 * np.arange(env.size)
    took = []
    for _ in range(repeats):
        for k in range(int(seconds)):
            t0 = time.perf_counter_ns()
            finder.speaker(times, env, k, k + 1, (0, 1))
            took.append(time.perf_counter_ns() - t0)
    print(f"SpeakerFinder.speaker: {np.median(took) / 1e6:.2f} ms per segment (median; two faces, every frame "
          "sampled)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=4, help="clip orders to build sequences from (1-6)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--fps", type=float, default=None, help="resample the clips to this frame rate first")
    parser.add_argument("--windows", default="", help="SpeakerFinder windows to compare, e.g. 3,4,6 (seconds)")
    parser.add_argument("--no-cost", action="store_true")
    parser.add_argument("--no-accuracy", action="store_true")
    args = parser.parse_args(argv)
    if not CREMA.is_dir():
        sys.exit(f"{CREMA}: not found (the CREMA-D clips of ../shared/data)")
    from emofuse.speaking import SpeakerFinder

    modes = [m for m in args.modes.split(",") if m]
    clips = load_clips(fps=args.fps)
    default = SpeakerFinder()
    print(f"{len(clips)} CREMA-D clips, {clips[0].fps:.2f} fps; SpeakerFinder(window={default.window}, "
          f"min_score={default.min_score}, max_lag={default.max_lag}, smooth={default.smooth}, "
          f"min_samples={default.min_samples}); Haar boxes at {ANALYSED_FPS:g} frames/s")
    with tempfile.TemporaryDirectory(prefix="emofuse-speaker-") as tmp:
        if not args.no_accuracy:
            t0 = time.perf_counter()
            windows = [float(w) for w in args.windows.split(",") if w] or None
            records = run_accuracy(ORDERS[: args.orders], modes, Path(tmp), clips, windows=windows)
            report_accuracy(records, default.min_score, (2.0, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0))
            print(f"({time.perf_counter() - t0:.0f} s)")
        if not args.no_cost:
            run_cost(clips, Path(tmp), modes)


if __name__ == "__main__":
    main()
