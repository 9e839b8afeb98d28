"""A condition's segments: one face style's evidence joined with one voice style's, by clip and
segment; clip verdicts (argmax of the mean over the clip's segments) and their accuracy."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from emofuse.labels import LABELS
from emofuse.types import EmotionScores, FaceEvidence, VoiceEvidence

from .record import FACE_FIELDS, VOICE_FIELDS, load

N = len(LABELS)


@dataclasses.dataclass
class Table:
    """Segments of one condition: `row_clip[i]` indexes `clips`; face/voice hold `scores` (NaN rows
    where absent) and the evidence fields, as `EvidenceFusion.fuse_many` takes them."""

    name: str
    clips: np.ndarray
    labels: np.ndarray  # class index per clip
    split: np.ndarray  # "fit" / "test" per clip
    row_clip: np.ndarray
    face: dict
    voice: dict
    row_segment: np.ndarray | None = None  # the segment's index within its clip


    def __len__(self) -> int:
        return len(self.row_clip)

    def subset(self, keep_clip: np.ndarray) -> Table:
        """The clips where `keep_clip` (per clip) is true."""
        keep_clip = np.asarray(keep_clip, bool)
        new_index = np.cumsum(keep_clip) - 1
        rows = keep_clip[self.row_clip]
        pick = lambda d: {k: v[rows] for k, v in d.items()}  # noqa: E731
        return Table(self.name, self.clips[keep_clip], self.labels[keep_clip], self.split[keep_clip],
                     new_index[self.row_clip[rows]], pick(self.face), pick(self.voice), self._segments()[rows])

    def _segments(self) -> np.ndarray:
        return self.row_segment if self.row_segment is not None else np.zeros(len(self.row_clip), int)

    def keep_rows(self, rows: np.ndarray) -> Table:
        """The same clips with only the segments where `rows` is true (clips left without any are dropped)."""
        rows = np.asarray(rows, bool)
        pick = lambda d: {k: v[rows] for k, v in d.items()}  # noqa: E731
        thinned = Table(self.name, self.clips, self.labels, self.split, self.row_clip[rows], pick(self.face),
                        pick(self.voice), self._segments()[rows])
        alive = np.zeros(len(self.clips), bool)
        alive[thinned.row_clip] = True
        return thinned.subset(alive)

    def half(self, split: str) -> Table:
        return self.subset(self.split == split)

    def evidence(self, i: int) -> tuple[FaceEvidence | None, VoiceEvidence | None]:
        """Row `i` as the evidence objects the runner hands to `fuse`."""
        face = voice = None
        f, v = self.face, self.voice
        if not np.isnan(f["scores"][i]).any():
            face = FaceEvidence(EmotionScores.from_array(f["scores"][i], normalize=True), frames=int(f["frames"][i]),
                                sampled=int(f["sampled"][i]), size=float(f["size"][i]),
                                detector_score=float(f["detector_score"][i]), agreement=float(f["agreement"][i]))
        if not np.isnan(v["scores"][i]).any():
            voice = VoiceEvidence(EmotionScores.from_array(v["scores"][i], normalize=True), speech=float(v["speech"][i]),
                                  level_db=float(v["level_db"][i]), window=float(v["window"][i]),
                                  sample_rate=int(v["sample_rate"][i]))
        return face, voice


def _side(arrays: dict, prefix: str, fields) -> dict:
    return {"scores": arrays[f"{prefix}scores"], **{f: arrays[f"{prefix}{f}"] for f in fields}}


def _with_coverage(face: dict) -> dict:
    sampled = face["sampled"]
    with np.errstate(invalid="ignore", divide="ignore"):
        face["coverage"] = np.where(sampled > 0, np.minimum(1.0, face["frames"] / sampled), 0.0)
    return face


def join(name: str, face_npz: Path, voice_npz: Path) -> Table:
    """Condition `name`: the face evidence of one style and the voice evidence of another, joined
    on (clip, segment index); a segment only one side has is absent on the other."""
    _, fa = load(face_npz)
    _, va = load(voice_npz)
    clips = fa["clips"]
    if list(clips) != list(va["clips"]):
        raise ValueError(f"{face_npz} and {voice_npz} hold different clips: record them again")
    order = {c: i for i, c in enumerate(clips)}
    keys = sorted({(c, int(s)) for c, s in zip(fa["clip"], fa["segment"])}
                  | {(c, int(s)) for c, s in zip(va["clip"], va["segment"])}, key=lambda k: (order[k[0]], k[1]))
    face = _scatter(keys, fa, FACE_FIELDS)
    voice = _scatter(keys, va, VOICE_FIELDS)
    labels = np.array([LABELS.index(x) for x in fa["label"]])
    return Table(name, clips, labels, fa["split"], np.array([order[c] for c, _ in keys]), _with_coverage(face), voice,
                 np.array([s for _, s in keys]))


def _scatter(keys, arrays: dict, fields) -> dict:
    where = {(c, int(s)): i for i, (c, s) in enumerate(zip(arrays["clip"], arrays["segment"]))}
    n = len(keys)
    out = {"scores": np.full((n, N), np.nan), **{f: np.full(n, np.nan) for f in fields}}
    for row, (c, s) in enumerate(keys):
        i = where.get((c, int(s)))
        if i is not None:
            out["scores"][row] = arrays["scores"][i]
            for f in fields:
                out[f][row] = arrays[f][i]
    return out


def crema_table(npz: Path) -> Table:
    """The CREMA-D clips: both modalities recorded from the same files."""
    _, a = load(npz)
    clips = a["clips"]
    order = {c: i for i, c in enumerate(clips)}
    face = _with_coverage(_side(a, "face_", FACE_FIELDS))
    voice = _side(a, "voice_", VOICE_FIELDS)
    labels = np.array([LABELS.index(x) for x in a["label"]])
    return Table("crema-d", clips, labels, a["split"], np.array([order[c] for c in a["face_clip"]]), face, voice,
                 a["face_segment"])


# ------------------------------------------------------------------------------------- scoring


def clip_means(table: Table, probs: np.ndarray) -> np.ndarray:
    """(clips, 7): the mean of `probs` over each clip's rows where it is present; NaN rows: never present."""
    present = ~np.isnan(probs).any(axis=1)
    sums = np.zeros((len(table.clips), N))
    counts = np.zeros(len(table.clips))
    np.add.at(sums, table.row_clip[present], probs[present])
    np.add.at(counts, table.row_clip[present], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None]


def clip_correct(table: Table, probs: np.ndarray) -> np.ndarray:
    """Per clip: is the argmax of the clip mean the clip's label (a clip with no verdict is wrong)."""
    means = clip_means(table, probs)
    missing = np.isnan(means).any(axis=1)
    return (np.argmax(np.nan_to_num(means, nan=-1.0), axis=1) == table.labels) & ~missing


def accuracy(table: Table, probs: np.ndarray) -> float:
    return float(clip_correct(table, probs).mean()) if len(table.clips) else float("nan")


def clip_nll(table: Table, probs: np.ndarray) -> float:
    """Mean -log(clip mean probability of the true label); a clip with no verdict scores as uniform."""
    means = clip_means(table, probs)
    p = np.where(np.isnan(means).any(axis=1), 1.0 / N, means[np.arange(len(means)), table.labels])
    return float(-np.mean(np.log(np.maximum(p, 1e-12))))


def run_strategy(table: Table, strategy) -> np.ndarray:
    """(rows, 7): `strategy.fuse(face, voice)` on every row's evidence objects, as the runner calls it."""
    out = np.full((len(table), N), np.nan)
    for i in range(len(table)):
        fused = strategy.fuse(*table.evidence(i))
        if fused is not None:
            out[i] = getattr(fused, "scores", fused).array
    return out
