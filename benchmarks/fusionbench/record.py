"""Plan the clips, render each face and voice style once, and record the evidence the real
pipeline hands to the fusion hook, segment by segment, into one .npz per style.

A clip pairs one FER2013 PublicTest face with one RAVDESS utterance of the same emotion by an
actor the voice model never trained on (the audio-visual benchmark's plan, benchmarks/avbench).
Faces are rendered as video-only files, voices as audio-only files; `emofuse`'s own `Pipeline`
(default components, 1 s segments, persons off) analyses each, and its `fuse` call is
intercepted to keep the FaceEvidence / VoiceEvidence it receives. A condition then pairs one
face style with one voice style segment by segment (benchmarks/fusionbench/table.py), so each
model runs once per style, however many conditions use it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from emofuse.labels import LABELS

from .faces import face_frames
from .voices import render_voice

VIDEO_FPS = 8
FACE_FIELDS = ("frames", "sampled", "size", "detector_score", "agreement")
VOICE_FIELDS = ("speech", "level_db", "window", "sample_rate")
CREMA_LABELS = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}


def plan(data: Path, n_clips: int, seed: int):
    """(clip specs, PublicTest faces): `n_clips` of the audio-visual benchmark's clips, spread evenly
    over the held-out actors and, within each actor, over the emotions."""
    from avbench import clips as C

    from emofuse.plugins.ravdess_cnn.data import find_ravdess

    index = find_ravdess(Path(data) / "ravdess")
    actors, _ = C.held_out_voice_actors(None, index.actors)
    faces, labels = C.load_public_test(Path(data) / "fer2013" / "fer2013.csv.gz")
    specs = C.plan_clips(index.files, labels, actors, seed=seed)
    chosen = []
    per_actor = max(1, n_clips // len(actors))
    for actor in actors:
        mine = sorted((s for s in specs if s.actor == actor), key=lambda s: (LABELS.index(s.label), s.clip))
        take = np.linspace(0, len(mine) - 1, min(per_actor, len(mine))).round().astype(int)
        chosen += [mine[i] for i in take]
    return chosen, faces


def clip_seed(clip: str, style: str) -> int:
    return int.from_bytes(hashlib.sha1(f"{clip}|{style}".encode()).digest()[:4], "little")


def render_face_media(specs, faces, style: str, folder: Path, log=print) -> list[Path]:
    """One video-only .mp4 per clip (H.264), as long as its utterance, the face in `style`."""
    import soundfile as sf

    from emofuse.testing import encode_media

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in specs:
        path = folder / f"{spec.clip}.mp4"
        if not path.is_file():
            seconds = sf.info(spec.audio).duration
            rng = np.random.default_rng(clip_seed(spec.clip, style))
            tmp = path.with_name(path.stem + ".tmp.mp4")
            encode_media(tmp, face_frames(style, faces[spec.face_index], seconds, VIDEO_FPS, rng, spec.scale, spec.phase),
                         fps=VIDEO_FPS)
            tmp.replace(path)
        paths.append(path)
    return paths


def render_voice_media(specs, style: str, folder: Path) -> list[Path]:
    """One audio-only .flac per clip: its utterance rendered in `style`."""
    import soundfile as sf

    from emofuse.plugins.ravdess_cnn.data import load_audio

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in specs:
        path = folder / f"{spec.clip}.flac"
        if not path.is_file():
            samples, rate = load_audio(spec.audio)
            out, out_rate = render_voice(style, samples, rate, np.random.default_rng(clip_seed(spec.clip, style)))
            tmp = path.with_name(path.stem + ".tmp.flac")
            sf.write(tmp, out, out_rate, subtype="PCM_16", format="FLAC")
            tmp.replace(path)
        paths.append(path)
    return paths


def recording_pipeline(options=None, components=None):
    """The default Pipeline (persons off unless `options` say otherwise) whose `fuse` keeps what it receives."""
    from emofuse.runner import AnalysisOptions, Pipeline

    class Recording(Pipeline):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.received: list[tuple] = []

        def fuse(self, face, voice, errors):
            self.received.append((face, voice))
            return super().fuse(face, voice, errors)

    return Recording(options or AnalysisOptions(persons=False), components)


def analyse(pipeline, path: Path) -> list[dict]:
    """One file through the pipeline: per segment, its bounds, the evidence fusion received and the speech share."""
    rows = []

    def on_segment(result, total):
        face, voice = pipeline.received[-1]
        rows.append({"start": result.start, "end": result.end, "face": face, "voice": voice,
                     "voice_speech": result.voice_speech, "errors": list(result.errors)})

    pipeline.received.clear()
    pipeline.analyze(path, on_segment=on_segment)
    return rows


def to_arrays(clips: Sequence[str], per_clip: Sequence[list[dict]], modality: str) -> dict[str, np.ndarray]:
    """The recorded segments of every clip as flat arrays (scores NaN where the modality gave nothing)."""
    fields = FACE_FIELDS if modality == "face" else VOICE_FIELDS
    out: dict[str, list] = {"clip": [], "segment": [], "start": [], "end": [], "scores": [], "voice_speech": [],
                            "errors": [], **{f: [] for f in fields}}
    for clip, rows in zip(clips, per_clip):
        for i, row in enumerate(rows):
            ev = row[modality]
            out["clip"].append(clip)
            out["segment"].append(i)
            out["start"].append(row["start"])
            out["end"].append(row["end"])
            out["scores"].append(ev.scores.array if ev is not None else np.full(len(LABELS), np.nan))
            out["voice_speech"].append(np.nan if row["voice_speech"] is None else row["voice_speech"])
            out["errors"].append(len(row["errors"]))
            for f in fields:
                out[f].append(float(getattr(ev, f)) if ev is not None else np.nan)
    return {k: np.asarray(v) for k, v in out.items()}


def save(path: Path, arrays: dict[str, np.ndarray], header: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, header=np.array(json.dumps(header)), **arrays)
    tmp.replace(path)
    return path


def load(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "header"}
        return json.loads(str(z["header"])), arrays


def record_style(pipeline, specs, paths: Sequence[Path], modality: str, out: Path, tag: str, log=print) -> Path:
    """Analyse `paths` (one per spec) and save the `modality` evidence to `out`."""
    t0 = time.time()
    per_clip = []
    for i, path in enumerate(paths):
        per_clip.append(analyse(pipeline, path))
        if log and (i + 1) % 40 == 0:
            log(f"    {i + 1}/{len(paths)} ({time.time() - t0:.0f} s)")
    arrays = to_arrays([s.clip for s in specs], per_clip, modality)
    arrays.update(split=np.array([s.split for s in specs]), label=np.array([s.label for s in specs]),
                  actor=np.array([s.actor for s in specs]), clips=np.array([s.clip for s in specs]))
    header = {"tag": tag, "modality": modality, "components": pipeline.describe(), "seconds": round(time.time() - t0, 1),
              "clips": len(specs)}
    return save(out, arrays, header)


def record_crema(pipeline, folder: Path, out: Path, tag: str) -> Path | None:
    """Both modalities of the CREMA-D clips in `folder` (label from the name), one npz."""
    paths = sorted(p for p in Path(folder).glob("*.flv") if p.stem.split("_")[2] in CREMA_LABELS)
    if not paths:
        return None
    t0 = time.time()
    per_clip = [analyse(pipeline, p) for p in paths]
    names = [p.stem for p in paths]
    arrays = {}
    for modality in ("face", "voice"):
        arrays.update({f"{modality}_{k}": v for k, v in to_arrays(names, per_clip, modality).items()})
    arrays.update(split=np.array(["test"] * len(paths)), label=np.array([CREMA_LABELS[n.split("_")[2]] for n in names]),
                  actor=np.array([int(n.split("_")[0]) for n in names]), clips=np.array(names))
    header = {"tag": tag, "modality": "both", "components": pipeline.describe(), "seconds": round(time.time() - t0, 1),
              "clips": len(paths)}
    return save(out, arrays, header)


def models_tag(component_options: Mapping[str, Mapping[str, object]] | None = None) -> str:
    """Changes when a shipped model file or the VAD or Haar plugin changes, or the component options the
    evidence is recorded with (`--set`; a value naming a file counts with that file's content,
    and a model's `.tflite` export and `.json` beside it): then the evidence is recorded again."""
    from importlib.resources import files

    parts = []
    for package, name in (("emofuse.plugins.fer_cnn", "fer_cnn.tflite"), ("emofuse.plugins.fer_cnn", "fer_cnn.json"),
                          ("emofuse.plugins.ravdess_cnn", "ravdess_cnn.tflite"), ("emofuse.plugins", "vad.py"),
                          ("emofuse.plugins", "haar.py")):
        path = Path(str(files(package) / name))
        stat = path.stat() if path.is_file() else None
        parts.append(f"{name}:{stat.st_size if stat else 0}:{stat.st_mtime_ns if stat else 0}")
    if component_options:
        parts.append(json.dumps(component_options, sort_keys=True, default=str))
        for kind in sorted(component_options):
            for key, value in sorted(component_options[kind].items()):
                for path in _files_named(value):
                    parts.append(f"{kind}.{key}:{path.name}:{hashlib.sha1(path.read_bytes()).hexdigest()}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:10]


def _files_named(value: object) -> list[Path]:
    """The file an option value names, and the `.tflite` export and `.json` metadata beside it
    (what the runtime loads: the export's weights, the metadata's temperature and features)."""
    if not isinstance(value, str) or not Path(value).is_file():
        return []
    path = Path(value)
    beside = [path.with_suffix(suffix) for suffix in (".tflite", ".json")]
    return [path] + [other for other in beside if other != path and other.is_file()]


def results_folder(folder: Path, component_options: Mapping | None = None) -> Path:
    """Where the evidence and report of a run go: `folder` for the shipped components, else
    `folder/candidates/<models_tag>` (a candidate's evidence never replaces the shipped one's;
    both share the rendered media in `folder/media`)."""
    return Path(folder) / "candidates" / models_tag(component_options) if component_options else Path(folder)


@dataclasses.dataclass
class Recorder:
    """Renders and records every style a set of conditions needs, reusing what is cached."""

    specs: list
    faces: np.ndarray
    cache: Path
    force: bool = False
    log: Callable[[str], None] = print
    #: {kind: {option: value}} for the recording pipeline (`--set`), e.g. a candidate voice model.
    component_options: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self.tag = models_tag(self.component_options)
        self.results = results_folder(self.cache, self.component_options)
        self._pipeline = None

    @property
    def pipeline(self):
        if self._pipeline is None:
            from emofuse.runner import AnalysisOptions

            self._pipeline = recording_pipeline(AnalysisOptions(persons=False, component_options=self.component_options))
        return self._pipeline

    def evidence(self, modality: str, style: str) -> Path:
        out = self.results / "evidence" / f"{modality}-{style}.npz"
        if out.is_file() and not self.force and load(out)[0].get("tag") == self.tag:
            return out
        t0 = time.time()
        if modality == "face":
            paths = render_face_media(self.specs, self.faces, style, self.cache / "media" / f"face-{style}", self.log)
        else:
            paths = render_voice_media(self.specs, style, self.cache / "media" / f"voice-{style}")
        self.log(f"  {modality} {style}: rendered {len(paths)} clips ({time.time() - t0:.0f} s); analysing")
        record_style(self.pipeline, self.specs, paths, modality, out, self.tag, self.log)
        self.log(f"  {modality} {style}: recorded ({time.time() - t0:.0f} s)")
        return out

    def crema(self, folder: Path) -> Path | None:
        out = self.results / "evidence" / "crema-d.npz"
        if out.is_file() and not self.force and load(out)[0].get("tag") == self.tag:
            return out
        return record_crema(self.pipeline, folder, out, self.tag)
