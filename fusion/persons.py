"""Tracks into persons: one id per person (P1, P2, ... by first appearance) across cuts and re-entries.

A track is one face followed within a shot (`emofuse.tracks`). Its identity is a few embeddings
of its crops (a face embedder's `embed`). `cluster_tracks` groups the tracks of a whole file by
average-linkage agglomerative clustering over tracks (never over frames): the two closest groups
merge while the mean distance between their embeddings is under the embedder's `same_person`,
except that two groups whose tracks overlap in time never merge (two faces seen at once are two
people). `OnlineGallery` does the same as the tracks come, for live mode.

Rules at the edges: a track seen in fewer than `min_frames` analysed frames gets no person (a
detector's false hit or a face glimpsed once is not a person); a track none of whose crops could
be embedded (NaN rows: the face was too small) is a person of its own, since nothing says who it
is. See docs/persons.md.
"""
from __future__ import annotations

import collections
import dataclasses
from collections.abc import Collection, Sequence

import numpy as np

#: `OnlineGallery` keeps at most this many embeddings per person (the newest).
GALLERY_SIZE = 24
#: A track seen in fewer analysed frames than this is nobody (a detector's false alarm, a glimpse).
MIN_FRAMES = 2


@dataclasses.dataclass(frozen=True)
class TrackSummary:
    """What the clustering needs to know of one track.

    `first` and `last`: seconds of the first and last analysed frames with this track; `frames`:
    analysed frames in which it was seen; `embeddings`: (k, d) embeddings of a few of its crops
    (k may be 0; rows with NaN, crops that could not be embedded, are ignored); `shot`: its shot.
    """

    key: int
    first: float
    last: float
    frames: int
    embeddings: np.ndarray
    shot: int = 0

    def __post_init__(self) -> None:
        if not self.last >= self.first:
            raise ValueError(f"track {self.key}: last ({self.last}) is before first ({self.first})")
        if self.frames < 0:
            raise ValueError(f"track {self.key}: frames must be >= 0, got {self.frames}")

    def vectors(self) -> np.ndarray:
        """The embeddings that can be used: a 2-D float array without NaN or infinite rows."""
        array = np.asarray(self.embeddings, dtype=np.float64)
        if array.size == 0:
            return np.zeros((0, array.shape[-1] if array.ndim == 2 else 0))
        array = array.reshape(len(array), -1) if array.ndim != 1 else array[None, :]
        return array[np.isfinite(array).all(axis=1)]


def person_id(number: int) -> str:
    """The id of the `number`-th person (1-based): P1, P2, ..."""
    return f"P{number}"


def cluster_tracks(tracks: Sequence[TrackSummary], same_person: float, min_frames: int = MIN_FRAMES) -> dict[int, str]:
    """Track key -> person id ("P1", "P2", ... numbered by first appearance over the whole file).

    Tracks seen in fewer than `min_frames` analysed frames get no person (left out of the dict).
    Two tracks that overlap in time (closed intervals [first, last]) are never the same person.
    Groups merge, closest first, while the mean distance between their embeddings is below
    `same_person`. A track without usable embeddings stays a person of its own.
    """
    kept = sorted((t for t in tracks if t.frames >= min_frames), key=lambda t: (t.first, t.key))
    if not kept:
        return {}
    vectors = [t.vectors() for t in kept]
    groups = _agglomerate(kept, vectors, float(same_person))
    firsts = sorted(groups, key=lambda members: min((kept[i].first, kept[i].key) for i in members))
    return {kept[i].key: person_id(number) for number, members in enumerate(firsts, 1) for i in members}


def _agglomerate(tracks: list[TrackSummary], vectors: list[np.ndarray], same_person: float) -> list[list[int]]:
    """Average-linkage clustering with cannot-link on overlap; groups as lists of track indices."""
    n = len(tracks)
    weights = np.array([len(v) for v in vectors], dtype=np.float64)
    dimension = next((v.shape[1] for v in vectors if len(v)), 0)
    usable = [i for i in range(n) if weights[i] > 0 and vectors[i].shape[1] == dimension]
    members = {i: [i] for i in range(n)}
    if len(usable) < 2:
        return list(members.values())
    m = len(usable)
    mean = _mean_distances([vectors[i] for i in usable])
    first = np.array([tracks[i].first for i in usable])
    last = np.array([tracks[i].last for i in usable])
    conflict = (first[:, None] <= last[None, :]) & (first[None, :] <= last[:, None])
    active = np.ones(m, dtype=bool)
    size = weights[usable].copy()
    candidates = np.where(conflict, np.inf, mean)
    nearest = candidates.argmin(axis=1)
    while True:
        best = candidates[np.arange(m), nearest]
        best[~active] = np.inf
        a = int(best.argmin())
        if not best[a] < same_person:
            break
        b = int(nearest[a])
        a, b = min(a, b), max(a, b)
        # Lance-Williams for average linkage, weighted by the number of embeddings on each side
        mean[a] = (size[a] * mean[a] + size[b] * mean[b]) / (size[a] + size[b])
        mean[:, a] = mean[a]
        size[a] += size[b]
        conflict[a] |= conflict[b]
        conflict[:, a] = conflict[a]
        active[b] = False
        members[usable[a]] += members.pop(usable[b])
        candidates[a] = np.where(conflict[a] | ~active, np.inf, mean[a])
        candidates[a, a] = np.inf
        candidates[:, a] = candidates[a]
        candidates[b, :] = np.inf
        candidates[:, b] = np.inf
        stale = active & ((nearest == a) | (nearest == b))
        stale[a] = True
        for row in np.flatnonzero(stale):
            nearest[row] = int(candidates[row].argmin())
        closer = active & (candidates[:, a] < candidates[np.arange(m), nearest])
        nearest[closer] = a
    return list(members.values())


def _mean_distances(vectors: list[np.ndarray], block: int = 256) -> np.ndarray:
    """(K, K) mean Euclidean distance between the embeddings of every two tracks, `block` tracks
    at a time (memory grows with K x embeddings, not with embeddings squared)."""
    starts = np.cumsum([0] + [len(v) for v in vectors])[:-1]
    counts = np.array([len(v) for v in vectors], dtype=np.float64)
    stacked = np.vstack(vectors)
    squared = (stacked ** 2).sum(axis=1)
    mean = np.empty((len(vectors), len(vectors)))
    for first in range(0, len(vectors), block):
        rows = vectors[first:first + block]
        part = np.vstack(rows)
        own = (part ** 2).sum(axis=1)
        pairwise = np.sqrt(np.maximum(own[:, None] + squared[None, :] - 2 * part @ stacked.T, 0.0))
        row_starts = np.cumsum([0] + [len(v) for v in rows])[:-1]
        sums = np.add.reduceat(np.add.reduceat(pairwise, starts, axis=1), row_starts, axis=0)
        mean[first:first + len(rows)] = sums / np.outer(counts[first:first + len(rows)], counts)
    return mean


class OnlineGallery:
    """Persons as tracks come (live mode): same rules as `cluster_tracks`, decided once per track.

    A track gets a person once it has been seen in `min_frames` frames with at least one usable
    embedding: the nearest known person (mean embedding distance under `same_person`) that is
    neither `visible` in the same frame nor held by another track seen since this one began,
    else a new one. It keeps that person from then on.
    """

    def __init__(self, same_person: float, min_frames: int = MIN_FRAMES) -> None:
        self.same_person, self.min_frames = float(same_person), int(min_frames)
        self._tracks: dict[int, _LiveTrack] = {}
        self._gallery: dict[str, collections.deque[np.ndarray]] = {}

    @property
    def persons(self) -> list[str]:
        """The person ids handed out so far, in order."""
        return list(self._gallery)

    def assign(self, key: int, embedding: np.ndarray | None, time: float, visible: Collection[str] = ()) -> str:
        """The person of track `key` seen at `time` ("" while it is too young or has no usable
        embedding). `embedding`: this frame's crop embedded, or None when it was not embedded;
        `visible`: ids of the persons in the same frame (this track cannot be one of them)."""
        track = self._tracks.setdefault(key, _LiveTrack(first=time))
        track.frames, track.last = track.frames + 1, max(track.last, time)
        vector = None if embedding is None else np.asarray(embedding, dtype=np.float64).ravel()
        usable = vector is not None and vector.size > 0 and bool(np.isfinite(vector).all())
        if track.person:
            if usable:
                self._gallery[track.person].append(vector)
            return track.person
        if usable:
            track.vectors.append(vector)
        if track.frames < self.min_frames or not track.vectors:
            return ""
        others = {t.person for k, t in self._tracks.items() if k != key and t.person and t.last >= track.first}
        track.person = self._match(np.vstack(track.vectors), set(visible) | others) or self._new()
        self._gallery[track.person].extend(track.vectors)
        track.vectors = []
        return track.person

    def forget(self, key: int) -> None:
        """Track `key` has ended: free what is kept of it (its person stays in the gallery)."""
        self._tracks.pop(key, None)

    def _match(self, vectors: np.ndarray, taken: set[str]) -> str | None:
        best, best_distance = None, self.same_person
        for person, bank in self._gallery.items():
            if person in taken:
                continue
            known = np.vstack(bank)
            if known.shape[1] != vectors.shape[1]:
                continue
            distance = float(np.linalg.norm(vectors[:, None] - known[None], axis=2).mean())
            if distance < best_distance:
                best, best_distance = person, distance
        return best

    def _new(self) -> str:
        person = person_id(len(self._gallery) + 1)
        self._gallery[person] = collections.deque(maxlen=GALLERY_SIZE)
        return person


@dataclasses.dataclass
class _LiveTrack:
    first: float
    last: float = float("-inf")
    frames: int = 0
    person: str = ""
    vectors: list[np.ndarray] = dataclasses.field(default_factory=list)
