"""Persons benchmark: are the ids of a multi-person clip right, with each face embedder?

    python benchmarks/persons_bench.py                 # clips: id purity and fragmentation, dlib vs pixels
    python benchmarks/persons_bench.py distances       # same-person vs different-person embedding distances
    python benchmarks/persons_bench.py shots           # shot-cut distances: real cuts vs motion, fades, noise

Clips are built in memory (640x360, 4 analysed frames a second) from real faces of different
people (see persons_faces.py): the CREMA-D actor (video), NASA's astronaut, Grace Hopper, and
FER2013 PublicTest faces upscaled 4x. Each scenario has shot cuts, exits and re-entries or swapped
places. The frames go through what `emofuse analyze` runs: Haar detection, ShotDetector,
TrackLinker, TrackBook (a few crops per track, embedded when the track ends) and cluster_tracks.
A detection's true person is the portrait its centre falls on. Reported per embedder:
- purity: share of the detections given a person whose person's majority is their true person;
- ids/person: distinct ids given to one true person (1 = no fragmentation);
- persons/id: distinct true persons under one id (1 = no mix-up);
- ids/seen/true: person ids handed out, people Haar found at least once, people in the clip;
- cuts: cuts found / cuts made; no id: detections of tracks too short for a person (min_frames);
  ghosts: detections off every face (Haar's false hits) that got an id; ms/face: embedding time.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import itertools
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import persons_faces as F  # noqa: E402

WIDTH, HEIGHT, FPS = 640, 360, 4.0


# ----------------------------------------------------------------------------- scenes


@dataclasses.dataclass(frozen=True)
class Appearance:
    """One person in one shot: who, where (centre x as a share of the width), how wide the portrait, when."""

    who: str
    x: float
    width: int
    start: float
    end: float
    source: int = 0  # which clip of a video person (CREMA-D: another take, another expression)
    light: tuple[float, float, float] = (1.0, 1.0, 1.0)  # RGB gains: another light in another shot
    mirrored: bool = False  # facing the other way


@dataclasses.dataclass(frozen=True)
class Shot:
    start: float
    end: float
    people: tuple[Appearance, ...]
    tint: tuple[int, int, int]


def scenarios(fer: int) -> dict[str, list[Shot]]:
    """Scenario name -> shots. `fer`: how many FER2013 people are available (fer0 ... )."""
    def shot(start, end, tint, *people, light=(1.0, 1.0, 1.0), mirrored=False):
        return Shot(start, end, tuple(Appearance(w, x, wd, start + a, start + b if b else end, s, light, mirrored)
                                      for w, x, wd, a, b, s in people), tint)

    warm, cool = (1.15, 1.0, 0.8), (0.7, 0.8, 0.95)

    out = {
        # two people, a cut, and they swap places (the "done when" clip)
        "swap": [shot(0, 6, (90, 110, 160), ("crema", 0.28, 230, 0, 0, 0), ("astronaut", 0.72, 220, 0, 0, 0)),
                 shot(6, 12, (170, 140, 90), ("astronaut", 0.28, 240, 0, 0, 0), ("crema", 0.72, 250, 0, 0, 3))],
        # a cut between two people standing on the same spot, then the first one again
        "same-spot": [shot(0, 5, (120, 120, 120), ("hopper", 0.5, 240, 0, 0, 0)),
                      shot(5, 10, (100, 150, 110), ("astronaut", 0.5, 220, 0, 0, 0)),
                      shot(10, 15, (150, 100, 120), ("hopper", 0.5, 260, 0, 0, 0))],
        # exits and re-entries within a shot, someone arriving, then a close-up
        "exits": [shot(0, 16, (110, 120, 140), ("crema", 0.2, 210, 0, 0, 1), ("astronaut", 0.5, 200, 0, 5, 0),
                       ("astronaut", 0.5, 200, 10, 0, 0), ("hopper", 0.8, 220, 4, 0, 0)),
                  shot(16, 22, (160, 150, 130), ("astronaut", 0.5, 300, 0, 0, 0))],
    }
    # the same three people under other lights, facing the other way, at other sizes and places
    out["relit"] = [shot(0, 5, (120, 120, 130), ("crema", 0.2, 200, 0, 0, 0), ("astronaut", 0.5, 200, 0, 0, 0),
                         ("hopper", 0.8, 210, 0, 0, 0)),
                    shot(5, 10, (160, 130, 100), ("hopper", 0.2, 240, 0, 0, 0), ("crema", 0.5, 240, 0, 0, 2),
                         ("astronaut", 0.8, 230, 0, 0, 0), light=warm, mirrored=True),
                    shot(10, 15, (90, 100, 130), ("astronaut", 0.25, 170, 0, 0, 0), ("hopper", 0.75, 180, 0, 0, 0),
                         light=cool)]
    if fer >= 5:
        names = [f"fer{i}" for i in range(5)]
        slots = [0.1, 0.3, 0.5, 0.7, 0.9]
        out["five"] = [shot(0, 5, (120, 130, 150), *[(n, x, 120, 0, 0, 0) for n, x in zip(names, slots)]),
                       shot(5, 10, (150, 120, 110), *[(n, x, 120, 0, 0, 0) for n, x in zip(names[::-1], slots)]),
                       shot(10, 15, (110, 150, 120), *[(n, x, 180, 0, 0, 0) for n, x in zip(names[1:4], (0.2, 0.5, 0.8))],
                            light=cool, mirrored=True)]
    if fer >= 13:
        crowd = [f"fer{i}" for i in range(5, 13)]
        slots = [0.07 + 0.124 * i for i in range(8)]
        out["crowd"] = [shot(0, 5, (130, 130, 130), *[(n, x, 76, 0, 0, 0) for n, x in zip(crowd, slots)]),
                        shot(5, 10, (100, 130, 160), *[(n, x, 76, 0, 0, 0) for n, x in zip(crowd[3:] + crowd[:3], slots)],
                             light=warm)]
    return out


class Portraits:
    """Head-and-shoulders pictures of each person (a list of frames for a video person)."""

    def __init__(self, fer: int) -> None:
        self.stills = {"astronaut": F.astronaut(), "hopper": F.hopper()}
        self.stills.update({f"fer{i}": p for i, p in enumerate(F.fer_portraits(fer))})
        self.videos = {}
        clips = F.crema_clips()
        if clips:
            self.videos["crema"] = [self._head(F.crema_frames(c, fps=FPS)) for c in clips]

    @staticmethod
    def _head(frames: list[np.ndarray]) -> list[np.ndarray]:
        x, y, w, h = F.detect(frames[0])[0]
        x0, y0 = max(0, x - int(0.6 * w)), max(0, y - int(0.6 * h))
        x1, y1 = min(frames[0].shape[1], x + int(1.6 * w)), min(frames[0].shape[0], y + int(1.9 * h))
        return [f[y0:y1, x0:x1] for f in frames]

    def picture(self, who: str, source: int, t: float) -> np.ndarray:
        if who in self.videos:
            takes = self.videos[who]
            frames = takes[source % len(takes)]
            return frames[int(t * FPS) % len(frames)]
        return self.stills[who]


def render(shots: list[Shot], portraits: Portraits, seed: int = 0):
    """Yield (time, frame, truth) at FPS; truth: list of (who, x0, y0, x1, y1) pasted rectangles."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.7, 1.1, HEIGHT)[:, None, None]
    for shot in shots:
        background = np.clip(ramp * np.array(shot.tint)[None, None, :] * np.ones((HEIGHT, WIDTH, 3)), 0, 255)
        background = (background + rng.normal(0, 6, (HEIGHT, WIDTH, 3))).clip(0, 255).astype(np.uint8)
        for i in range(int(round((shot.end - shot.start) * FPS))):
            t = shot.start + i / FPS
            frame, truth = background.copy(), []
            for p in shot.people:
                if not p.start <= t < p.end:
                    continue
                picture = portraits.picture(p.who, p.source, t - p.start)
                if p.mirrored:
                    picture = picture[:, ::-1]
                if p.light != (1.0, 1.0, 1.0):
                    picture = (picture * np.array(p.light)).clip(0, 255).astype(np.uint8)
                width = int(p.width * (1 + 0.04 * np.sin(t)))  # breathing in and out
                height = int(picture.shape[0] * width / picture.shape[1])
                scaled = cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)
                x0 = int(p.x * WIDTH - width / 2 + 8 * np.sin(1.3 * t + p.x * 7))  # drifting a little
                y0 = max(0, HEIGHT - height + int(0.05 * height))
                x0c, x1c = max(0, x0), min(WIDTH, x0 + width)
                y1c = min(HEIGHT, y0 + height)
                frame[y0:y1c, x0c:x1c] = scaled[:y1c - y0, x0c - x0:x1c - x0]
                truth.append((p.who, x0c, y0, x1c, y1c))
            noisy = (frame.astype(np.int16) + rng.integers(-3, 4, frame.shape)).clip(0, 255).astype(np.uint8)
            yield t, noisy, truth


# ----------------------------------------------------------------------------- the pipeline


class Timed:
    """An embedder that counts the crops it embeds and the time it takes."""

    def __init__(self, embedder) -> None:
        self.embedder, self.faces, self.seconds, self.cpu = embedder, 0, 0.0, 0.0

    def embed(self, crops):
        start, cpu = time.perf_counter(), time.process_time()
        vectors = self.embedder.embed(crops)
        self.seconds += time.perf_counter() - start
        self.cpu += time.process_time() - cpu
        self.faces += len(crops)
        return vectors


def detections(shots: list[Shot], portraits: Portraits):
    """Run detection, cuts and linking once: [(time, frame, boxes with keys, cut, truth)]."""
    from emofuse.plugins.haar import HaarFaceDetector
    from emofuse.shots import ShotDetector
    from emofuse.tracks import TrackLinker

    detector, cuts, linker = HaarFaceDetector(), ShotDetector(), TrackLinker()
    out = []
    for t, frame, truth in render(shots, portraits):
        cut = cuts.is_cut(frame)
        if cut:
            linker.cut()
        out.append((t, frame, linker.link(t, detector.detect(frame)), cut, truth))
    return out


def persons_of(frames, embedder) -> dict[int, str]:
    """What the runner does with the tracks: TrackBook (crops, embedding) then cluster_tracks."""
    from emofuse.face_side import TrackBook
    from emofuse.persons import TrackSummary, cluster_tracks
    from emofuse.tracks import MAX_GAP

    book = TrackBook(embedder.embed, MAX_GAP)
    for t, frame, linked, cut, _ in frames:
        if cut:
            book.cut()
        book.close_before(t)
        for key, box in linked:
            book.see(t, key, box, frame)
    book.finish()
    summaries = [TrackSummary(k.key, k.first, k.last, k.frames,
                              k.embeddings if k.embeddings is not None else np.zeros((0, 0)), k.shot)
                 for k in book.tracks.values()]
    return cluster_tracks(summaries, embedder.embedder.same_person)


def truth_of(box, truth) -> str | None:
    cx, cy = box.x + box.width / 2, box.y + box.height / 2
    hits = [who for who, x0, y0, x1, y1 in truth if x0 <= cx < x1 and y0 <= cy < y1]
    return hits[-1] if hits else None


def score(frames, persons: dict[int, str]) -> dict[str, float]:
    pairs = []  # (true person, id) of every detection on a person that was given an id
    unassigned = ghosts = 0
    for _, _, linked, _, truth in frames:
        for key, box in linked:
            who = truth_of(box, truth)
            pid = persons.get(key)
            if pid is None:
                unassigned += 1
            elif who is None:
                ghosts += 1
            else:
                pairs.append((who, pid))
    by_id, by_person = collections.defaultdict(collections.Counter), collections.defaultdict(set)
    for who, pid in pairs:
        by_id[pid][who] += 1
        by_person[who].add(pid)
    people = {who for _, _, _, _, truth in frames for who, *_ in truth}
    seen = {who for _, _, linked, _, truth in frames for _, box in linked if (who := truth_of(box, truth))}
    return {"purity": sum(c.most_common(1)[0][1] for c in by_id.values()) / max(1, len(pairs)),
            "ids_per_person": float(np.mean([len(v) for v in by_person.values()])) if by_person else 0.0,
            "persons_per_id": float(np.mean([len(c) for c in by_id.values()])) if by_id else 0.0,
            "found": len(set(persons.values())), "true": len(people), "seen": len(seen), "detections": len(pairs),
            "unassigned": unassigned, "ghosts": ghosts}


def cmd_clips(args) -> None:
    from emofuse.plugin_manager import collect_components

    portraits = Portraits(args.fer)
    registry = collect_components()["face_embedder"]
    embedders = {name: Timed(registry.get(name).factory()) for name in args.embedders}
    rows, totals = [], collections.defaultdict(list)
    for name, shots in scenarios(sum(k.startswith("fer") for k in portraits.stills)).items():
        if any(p.who not in portraits.stills and p.who not in portraits.videos for s in shots for p in s.people):
            print(f"skipping {name}: a face source is missing", file=sys.stderr)
            continue
        frames = detections(shots, portraits)
        true_cuts = len(shots) - 1
        found_cuts = sum(cut for *_, cut, _ in [(f[0], f[3], f[4]) for f in frames])
        for embedder_name, embedder in embedders.items():
            s = score(frames, persons_of(frames, embedder))
            rows.append((name, embedder_name, s, found_cuts, true_cuts))
            for key in ("purity", "ids_per_person", "persons_per_id"):
                totals[(embedder_name, key)].append(s[key])
    print(f"{'clip':10s} {'embedder':8s} {'purity':>7s} {'ids/person':>10s} {'persons/id':>10s} "
          f"{'ids/seen/true':>13s} {'cuts':>6s} {'detections':>10s} {'no id':>6s} {'ghosts':>6s}")
    for name, embedder_name, s, found_cuts, true_cuts in rows:
        print(f"{name:10s} {embedder_name:8s} {s['purity']:7.3f} {s['ids_per_person']:10.2f} {s['persons_per_id']:10.2f} "
              f"{s['found']:>5d}/{s['seen']}/{s['true']:<5d} {found_cuts:>3d}/{true_cuts:<2d} {s['detections']:10d} "
              f"{s['unassigned']:6d} {s['ghosts']:6d}")
    for embedder_name, embedder in embedders.items():
        means = {k: np.mean(totals[(embedder_name, k)]) for k in ("purity", "ids_per_person", "persons_per_id")}
        wall, cpu = (1000 * v / max(1, embedder.faces) for v in (embedder.seconds, embedder.cpu))
        print(f"{'mean':10s} {embedder_name:8s} {means['purity']:7.3f} {means['ids_per_person']:10.2f} "
              f"{means['persons_per_id']:10.2f}   embedding {wall:.1f} ms/face wall, {cpu:.1f} ms CPU "
              f"({embedder.faces} faces)")


# ----------------------------------------------------------------------------- distances and shots


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a[:, None] - b[None], axis=2)


def cmd_distances(args) -> None:
    from emofuse.plugin_manager import collect_components

    groups = F.identities_for_distances(fer=args.fer)
    registry = collect_components()["face_embedder"]
    print(f"identities: {len(groups)}; crops: {sum(len(g['within']) + len(g['across']) for g in groups.values())}")
    for name in args.embedders:
        embedder = registry.get(name).factory()

        def usable(crops):
            e = embedder.embed(crops)
            return e[np.isfinite(e).all(axis=1)]

        within = {k: usable(g["within"]) for k, g in groups.items()}
        across = {k: usable(g["across"]) for k, g in groups.items()}
        same_within = np.concatenate([_pairwise(w, w)[np.triu_indices(len(w), 1)] for w in within.values()])
        same_across = np.concatenate([_pairwise(within[k], across[k]).ravel() for k in groups])
        every = {k: np.vstack([within[k], across[k]]) for k in groups}
        different = np.concatenate([_pairwise(every[a], every[b]).ravel() for a, b in itertools.combinations(every, 2)])
        print(f"\n{name}: same_person = {embedder.same_person}")
        print(f"  same person, within a shot: median {np.median(same_within):.3f}, 99th pct {np.percentile(same_within, 99):.3f}, "
              f"max {same_within.max():.3f}")
        print(f"  same person, another shot:  median {np.median(same_across):.3f}, 95th pct {np.percentile(same_across, 95):.3f}")
        print(f"  different people:           min {different.min():.3f}, 1st pct {np.percentile(different, 1):.3f}, "
              f"median {np.median(different):.3f}")
        print("  threshold  same-within split  same-across split  different merged")
        for t in np.round(np.arange(0.3, 0.91, 0.05), 2):
            print(f"  {t:9.2f}  {(same_within >= t).mean():17.4f}  {(same_across >= t).mean():17.4f}  "
                  f"{(different < t).mean():16.4f}")


def cmd_shots(args) -> None:
    from skimage import data

    from emofuse.shots import THRESHOLD, distance, frame_signature

    pictures = {}
    for name in ("astronaut", "coffee", "chelsea", "rocket", "camera", "hubble_deep_field", "retina",
                 "immunohistochemistry", "colorwheel", "brick", "grass", "gravel"):
        try:
            pictures[name] = getattr(data, name)()
        except Exception:  # noqa: BLE001 - images that scikit-image would have to download
            continue
    pictures["hopper"] = F.hopper()
    clips = [F.crema_frames(c) for c in F.crema_clips()]
    if clips:
        pictures["crema"] = clips[0][0]
    pictures.update({f"fer{i}": p for i, p in enumerate(F.fer_portraits(3))})
    rgb = {k: cv2.resize(np.repeat(v[:, :, None], 3, 2) if v.ndim == 2 else v[:, :, :3], (WIDTH, HEIGHT))
           for k, v in pictures.items()}
    sig = {k: frame_signature(v) for k, v in rgb.items()}
    cuts = np.array([distance(sig[a], sig[b]) for a, b in itertools.combinations(rgb, 2)])
    still = {"CREMA-D consecutive frames": [], "pan 4 %/frame, zoom 8 %/frame": [], "fade to black": [],
             "noise sigma 6": [], "cross-dissolve steps (1 s)": []}
    for frames in clips:
        s = [frame_signature(f) for f in frames]
        still["CREMA-D consecutive frames"] += [distance(a, b) for a, b in zip(s, s[1:])]
    rng = np.random.default_rng(0)
    names = list(rgb)
    for k, v in rgb.items():
        for moves in ([F.transform(v, (0.04 * i, 0)) for i in range(6)], [F.transform(v, scale=1 + 0.08 * i) for i in range(6)]):
            s = [frame_signature(m) for m in moves]
            still["pan 4 %/frame, zoom 8 %/frame"] += [distance(a, b) for a, b in zip(s, s[1:])]
        s = [x for x in (frame_signature((v * g).astype(np.uint8)) for g in (1, 0.75, 0.5, 0.3, 0.15, 0.05)) if x is not None]
        still["fade to black"] += [distance(a, b) for a, b in zip(s, s[1:])]
        still["noise sigma 6"].append(distance(sig[k], frame_signature(np.clip(v + rng.normal(0, 6, v.shape), 0, 255).astype(np.uint8))))
    for a, b in zip(names, names[1:]):
        s = [frame_signature((rgb[a] * (1 - w) + rgb[b] * w).astype(np.uint8)) for w in (0, 0.25, 0.5, 0.75, 1)]
        still["cross-dissolve steps (1 s)"] += [distance(x, y) for x, y in zip(s, s[1:])]
    start = time.perf_counter()
    for _ in range(200):
        frame_signature(rgb["astronaut"])
    per_frame = (time.perf_counter() - start) / 200 * 1000
    print(f"cuts between {len(rgb)} real pictures ({len(cuts)} pairs): min {cuts.min():.3f}, 5th pct "
          f"{np.percentile(cuts, 5):.3f}, median {np.median(cuts):.3f}")
    for name, values in still.items():
        v = np.array(values)
        print(f"{name:32s} max {v.max():.3f}  99th pct {np.percentile(v, 99):.3f}  median {np.median(v):.3f}  (n={len(v)})")
    print("threshold  cuts missed  " + "  ".join(f"{n.split(' ')[0]:>9s}" for n in still))
    for t in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        print(f"{t:9.2f}  {(cuts <= t).mean():11.3f}  " + "  ".join(f"{int((np.array(v) > t).sum()):9d}" for v in still.values())
              + ("   <- default" if t == THRESHOLD else ""))
    print(f"signature: {per_frame:.2f} ms per {WIDTH}x{HEIGHT} frame")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", nargs="?", default="clips", choices=("clips", "distances", "shots"))
    parser.add_argument("--embedders", nargs="+", default=["dlib", "pixels"])
    parser.add_argument("--fer", type=int, default=13, help="FER2013 people to use (clips: 13, distances: 30)")
    args = parser.parse_args()
    {"clips": cmd_clips, "distances": cmd_distances, "shots": cmd_shots}[args.mode](args)


if __name__ == "__main__":
    main()
