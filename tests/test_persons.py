"""Tracks into persons: cluster_tracks (whole file) and OnlineGallery (live)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from emofuse.persons import OnlineGallery, TrackSummary, cluster_tracks, person_id

SAME = 0.6


def at(*values: float) -> np.ndarray:
    """A 2-d embedding (1, 2)."""
    return np.array([values], dtype=np.float64)


def track(key: int, first: float, last: float, embedding: np.ndarray | None, frames: int = 5) -> TrackSummary:
    vectors = np.zeros((0, 2)) if embedding is None else np.atleast_2d(embedding)
    return TrackSummary(key, first, last, frames, vectors)


def test_person_ids_count_from_one():
    assert [person_id(n) for n in (1, 2, 10)] == ["P1", "P2", "P10"]


def test_tracks_overlapping_in_time_are_never_one_person():
    same_face = at(0, 0)
    assert cluster_tracks([track(1, 0, 2, same_face), track(2, 1, 3, same_face)], SAME) == {1: "P1", 2: "P2"}


def test_touching_intervals_overlap_but_a_gap_merges():
    """Both seen on the frame at 2.0 s: two people; the next frame after the first ends: one."""
    face = at(0, 0)
    assert cluster_tracks([track(1, 0, 2, face), track(2, 2.0, 3, face)], SAME) == {1: "P1", 2: "P2"}
    assert cluster_tracks([track(1, 0, 2, face), track(2, 2.25, 3, face)], SAME) == {1: "P1", 2: "P1"}


def test_merge_threshold_is_strict():
    """Tracks merge when their distance is under same_person, not at it."""
    under = [track(1, 0, 1, at(0, 0)), track(2, 2, 3, at(SAME - 1e-6, 0))]
    at_threshold = [track(1, 0, 1, at(0, 0)), track(2, 2, 3, at(SAME, 0))]
    assert cluster_tracks(under, SAME) == {1: "P1", 2: "P1"}
    assert cluster_tracks(at_threshold, SAME) == {1: "P1", 2: "P2"}


def test_min_frames_boundary():
    tracks = [track(1, 0, 1, at(0, 0), frames=1), track(2, 2, 3, at(5, 5), frames=2)]
    assert cluster_tracks(tracks, SAME) == {2: "P1"}  # default min_frames=2: the one-frame track is no person
    assert cluster_tracks(tracks, SAME, min_frames=1) == {1: "P1", 2: "P2"}
    assert cluster_tracks(tracks, SAME, min_frames=3) == {}


def test_ids_follow_first_appearance_not_track_keys_or_order():
    tracks = [track(7, 4, 5, at(10, 0)), track(3, 2, 3, at(0, 10)), track(9, 0, 1, at(0, 0))]
    assert cluster_tracks(tracks, SAME) == {9: "P1", 3: "P2", 7: "P3"}


def test_reentry_joins_the_person_while_someone_else_stays_apart():
    """A is seen, leaves, comes back; B is there throughout (overlaps both of A's tracks)."""
    a, b = at(0, 0), at(3, 0)
    tracks = [track(1, 0, 2, a), track(2, 0, 6, b), track(3, 4, 6, a + 0.1)]
    assert cluster_tracks(tracks, SAME) == {1: "P1", 2: "P2", 3: "P1"}


def test_swapped_places_after_a_cut_keep_ids():
    """Shot 1: A left, B right; shot 2: B left, A right (new tracks, keys in screen order)."""
    a, b = at(0, 0), at(3, 0)
    shot1 = [TrackSummary(1, 0, 4, 16, a, shot=0), TrackSummary(2, 0, 4, 16, b, shot=0)]
    shot2 = [TrackSummary(3, 4.25, 8, 16, b + 0.05, shot=1), TrackSummary(4, 4.25, 8, 16, a - 0.05, shot=1)]
    assert cluster_tracks(shot1 + shot2, SAME) == {1: "P1", 2: "P2", 3: "P2", 4: "P1"}


def test_cannot_link_holds_through_a_merge():
    """A and C overlap; B (between them in time and in looks) may join one of them, never both."""
    tracks = [track(1, 0, 2, at(0, 0)), track(2, 3, 4, at(0.25, 0)), track(3, 1, 2.5, at(0.5, 0))]
    persons = cluster_tracks(tracks, SAME)
    assert persons[1] != persons[3]
    assert len(set(persons.values())) == 2


def test_average_linkage_does_not_chain():
    """A~B and B~C but A and C far apart: B joins one of them, C does not follow through B."""
    tracks = [track(1, 0, 1, at(0, 0)), track(2, 2, 3, at(0.5, 0)), track(3, 4, 5, at(1.0, 0))]
    persons = cluster_tracks(tracks, SAME)
    assert len(set(persons.values())) == 2


def test_tracks_without_usable_embeddings_are_persons_of_their_own():
    nan = np.full((2, 2), np.nan)
    tracks = [track(1, 0, 1, at(0, 0)), track(2, 2, 3, None), TrackSummary(3, 4, 5, 5, nan),
              track(4, 6, 7, at(0, 0.1))]
    assert cluster_tracks(tracks, SAME) == {1: "P1", 2: "P2", 3: "P3", 4: "P1"}


def test_nan_rows_are_ignored_and_shapes_accepted():
    mixed = np.vstack([at(0, 0), [[np.nan, np.nan]]])
    tracks = [TrackSummary(1, 0, 1, 3, mixed), TrackSummary(2, 2, 3, 3, at(0.1, 0)),
              TrackSummary(3, 4, 5, 3, np.zeros((0, 0)))]  # what a runner passes when nothing was embedded
    assert cluster_tracks(tracks, SAME) == {1: "P1", 2: "P1", 3: "P2"}
    assert cluster_tracks([], SAME) == {}


def test_track_summary_rejects_inverted_times():
    with pytest.raises(ValueError, match="before first"):
        TrackSummary(1, 2.0, 1.0, 3, at(0, 0))


def _reference(tracks, same_person):
    """Plain average-linkage clustering with cannot-link, O(n^3): what cluster_tracks must equal."""
    groups = [[t] for t in tracks]

    def overlap(g, h):
        return any(a.first <= b.last and b.first <= a.last for a in g for b in h)

    def distance(g, h):
        x, y = np.vstack([t.embeddings for t in g]), np.vstack([t.embeddings for t in h])
        return float(np.linalg.norm(x[:, None] - y[None], axis=2).mean())

    while True:
        pairs = [(distance(g, h), i, j) for (i, g), (j, h) in itertools.combinations(enumerate(groups), 2)
                 if not overlap(g, h)]
        if not pairs or min(pairs)[0] >= same_person:
            break
        _, i, j = min(pairs)
        groups[i] = groups[i] + groups.pop(j)
    return sorted(sorted(t.key for t in g) for g in groups)


@pytest.mark.parametrize("seed", range(4))
def test_matches_plain_average_linkage_on_random_tracks(seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.0, (6, 3))
    tracks = []
    for key in range(40):
        first = float(rng.uniform(0, 60))
        person = rng.integers(len(centres))
        vectors = centres[person] + rng.normal(0, 0.15, (int(rng.integers(1, 4)), 3))
        tracks.append(TrackSummary(key, first, first + float(rng.uniform(0, 4)), 3, vectors))
    persons = cluster_tracks(tracks, SAME)
    groups = {}
    for key, pid in persons.items():
        groups.setdefault(pid, []).append(key)
    assert sorted(sorted(g) for g in groups.values()) == _reference(tracks, SAME)
    firsts = {pid: min(tracks[k].first for k in keys) for pid, keys in groups.items()}
    assert sorted(firsts, key=firsts.get) == [f"P{i}" for i in range(1, len(groups) + 1)]


# ----------------------------------------------------------------------------- live


def test_gallery_waits_for_min_frames_and_an_embedding():
    gallery = OnlineGallery(SAME, min_frames=2)
    assert gallery.assign(1, at(0, 0), 0.0) == ""
    assert gallery.assign(1, None, 0.25) == "P1"  # second frame; the first frame's embedding counts
    other = OnlineGallery(SAME, min_frames=2)
    assert other.assign(5, None, 0.0) == "" and other.assign(5, None, 0.25) == ""  # nothing says who it is yet
    assert other.assign(5, np.array([np.nan, np.nan]), 0.5) == ""
    assert other.assign(5, at(0, 0), 0.75) == "P1"


def test_gallery_recognises_a_returning_person_and_numbers_newcomers():
    gallery = OnlineGallery(SAME, min_frames=1)
    assert gallery.assign(1, at(0, 0), 0.0) == "P1"
    assert gallery.assign(2, at(3, 0), 0.0, visible={"P1"}) == "P2"
    gallery.forget(1)
    assert gallery.assign(3, at(0.1, 0), 5.0, visible={"P2"}) == "P1"
    assert gallery.assign(4, at(9, 9), 6.0) == "P3"
    assert gallery.persons == ["P1", "P2", "P3"]


def test_gallery_never_gives_a_visible_or_concurrent_person():
    gallery = OnlineGallery(SAME, min_frames=1)
    assert gallery.assign(1, at(0, 0), 0.0) == "P1"
    assert gallery.assign(2, at(0, 0), 0.0, visible={"P1"}) == "P2"  # a twin in the same frame
    assert gallery.assign(2, at(0, 0), 0.5, visible={"P1"}) == "P2"
    assert gallery.assign(1, at(0, 0), 1.0) == "P1"
    # tracks 1 and 2 were seen since track 3 began (not passed as visible, not forgotten): neither
    assert gallery.assign(3, at(0, 0), 0.5) == "P3"
    # track 2 last seen at 0.5 s: a track beginning later may be P2 again
    assert gallery.assign(4, at(0, 0), 0.75) == "P2"


def test_gallery_keeps_a_tracks_person():
    gallery = OnlineGallery(SAME, min_frames=1)
    assert gallery.assign(1, at(0, 0), 0.0) == "P1"
    assert gallery.assign(1, at(5, 5), 0.25) == "P1"  # a bad crop does not move the track to someone else
