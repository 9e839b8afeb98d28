"""Faces group (issue 19): persons (whole file), people and the frame side pinned at their edges."""
from __future__ import annotations

import numpy as np
import pytest

from emofuse import FaceBox, SegmentResult
from emofuse.face_side import EMBED_SPACING, TrackBook, segment_faces, thumbnail
from emofuse.people import SegmentFaces, TrackFaces, build_people, median_box, summarise_persons
from emofuse.persons import OnlineGallery, TrackSummary, cluster_tracks
from emofuse.testing import sample_scores
from emofuse.types import PersonResult

from .face_helpers import FrameQueue

HAPPY, SAD = sample_scores("happy", 0.9), sample_scores("sad", 0.95)


# ----------------------------------------------------------------------------- persons


def test_track_summary_edges():
    """A one-frame track (first == last) and a track with no frames are fine; negative frames are not."""
    assert TrackSummary(1, 2.0, 2.0, 1, np.zeros((0, 2))).last == 2.0
    assert TrackSummary(2, 0.0, 1.0, 0, np.zeros((0, 2))).frames == 0
    with pytest.raises(ValueError, match=r"track 3: frames must be >= 0, got -1"):
        TrackSummary(3, 0.0, 1.0, -1, np.zeros((0, 2)))


def test_track_vectors_are_2d_float_rows():
    one = TrackSummary(1, 0, 1, 2, np.array([1, 2], np.uint8)).vectors()
    assert one.dtype == np.float64 and one.tolist() == [[1.0, 2.0]]
    assert TrackSummary(1, 0, 1, 2, np.zeros((0, 5))).vectors().shape == (0, 5)
    assert TrackSummary(1, 0, 1, 2, np.zeros(0)).vectors().shape == (0, 0)


def test_tracks_none_of_which_has_an_embedding_are_each_a_person():
    tracks = [TrackSummary(k, 2.0 * k, 2.0 * k + 1, 3, np.zeros((0, 2))) for k in (1, 2, 3)]
    assert cluster_tracks(tracks, 0.6) == {1: "P1", 2: "P2", 3: "P3"}


def test_uint8_embeddings_are_compared_as_numbers_not_wrapped():
    """0 and 255 are 255 apart (as uint8, 0 - 255 would wrap around to 1)."""
    tracks = [TrackSummary(1, 0, 1, 3, np.array([[255]], np.uint8)),
              TrackSummary(2, 2, 3, 3, np.array([[0]], np.uint8))]
    assert cluster_tracks(tracks, 2.0) == {1: "P1", 2: "P2"}


def test_gallery_uint8_embeddings_do_not_wrap():
    gallery = OnlineGallery(2.0, min_frames=1)
    assert gallery.assign(1, np.array([255], np.uint8), 0.0) == "P1"
    assert gallery.assign(2, np.array([0], np.uint8), 5.0) == "P2"


def test_gallery_passes_over_a_person_with_embeddings_of_another_length():
    gallery = OnlineGallery(0.6, min_frames=1)
    assert gallery.assign(1, np.array([0.0, 0.0, 0.0]), 0.0) == "P1"
    assert gallery.assign(2, np.array([0.0, 0.0]), 5.0) == "P2"
    assert gallery.assign(3, np.array([0.1, 0.0]), 10.0) == "P2"


# ----------------------------------------------------------------------------- people


def test_median_box_takes_the_median_score_and_keeps_one_pixel_boxes():
    boxes = [FaceBox(0, 0, 1, 1, score=s) for s in (0.2, 0.9, 0.5)]
    b = median_box(boxes)
    assert (b.width, b.height, b.score) == (1, 1, 0.5)


def _faces(tracks, sampled=2):
    out = {}
    for key, (scores, x) in tracks.items():
        t = TrackFaces()
        for i in range(2):
            t.add(scores, FaceBox(x, 50, 80 + 10 * i, 80, score=0.5 + i), i * 0.25)
        out[key] = t
    return SegmentFaces(sampled, out, None)


def test_people_carry_their_face_evidence_and_the_errors_of_fusing():
    seen = []

    def fuse(face, voice, errors):
        seen.append(face)
        errors.append("fuse: no voice")
        return face.scores

    seg = SegmentResult(0, 1, errors=("decoder: late",))
    # track 1 is nobody (left out): it must not hide the others
    (out,) = build_people([seg], [_faces({1: (SAD, 0), 2: (HAPPY, 100), 3: (SAD, 300)})], {2: "P1", 3: "P2"},
                          [None], fuse)
    assert [(p.person, p.face, p.faces) for p in out.people] == [("P1", HAPPY, 2), ("P2", SAD, 2)]
    assert seen[0].size == 85.0 and seen[0].detector_score == 1.0
    assert out.errors == ("decoder: late", "fuse: no voice")


def _person(pid, faces=1, speaking=False):
    return PersonResult(pid, FaceBox(0, 0, 10, 10), None, None, None, speaking, faces)


def test_summarise_persons_rounds_to_milliseconds_caps_visibility_and_keeps_pictures():
    picture = np.zeros((4, 4, 3), np.uint8)
    segs = [SegmentResult(0.12345, 1.23456, people=(_person("P1", faces=3),)),
            SegmentResult(1.23456, 2.34567, people=(_person("P1", speaking=True),))]
    (p1,) = summarise_persons(segs, [2, 0], {"P1": picture})
    # seen in 3 faces of 2 frames: the whole first segment (1.11111 s), none of the second (0 frames)
    assert (p1.first_seen, p1.last_seen, p1.seconds_visible, p1.seconds_speaking) == (0.123, 2.346, 1.111, 1.111)
    assert p1.face is picture


# ----------------------------------------------------------------------------- frame side


def test_thumbnail_keeps_the_aspect_and_averages():
    crop = np.zeros((200, 384, 3), np.uint8)
    crop[:, :] = (0, 0, 255)
    crop[:, ::3] = (255, 0, 0)
    small = thumbnail(crop)
    assert small.shape == (67, 128, 3)  # 200 x 128 / 384 = 66.7
    assert (small == np.array([85, 0, 170], np.uint8)).all()
    assert thumbnail(np.zeros((1, 300, 3), np.uint8)).shape == (1, 128, 3)
    same = np.ones((10, 128, 3), np.uint8)
    assert thumbnail(same).shape == (10, 128, 3) and thumbnail(same) is not same


def test_identity_crops_are_embed_spacing_apart_and_the_picture_is_the_first_largest_face():
    frame = np.zeros((200, 200, 3), np.uint8)
    frame[:, 100:] = 200
    crops = []

    def embed(batch):
        crops.append([c.shape for c in batch])
        return np.ones((len(batch), 2), np.float32)

    book = TrackBook(embed, 1.0)
    assert EMBED_SPACING == 0.5
    for i in range(8):  # 1.0, 1.25, ... 2.75 s
        x = 10 if i == 0 else 110
        book.see(1.0 + 0.25 * i, 7, FaceBox(x, 50, 40, 40), frame)
    track = book.tracks[7]
    assert track.key == 7 and track.first == 1.0 and track.frames == 8
    assert track.crop_times == [1.0, 1.5, 2.0]
    assert (track.best == 0).all()  # the first 40 px face, not a later one as wide
    book.finish()
    assert crops == [[(60, 60, 3)] * 3]
    assert track.embeddings.dtype == np.float64 and track.embeddings.shape == (3, 2)


def test_a_box_outside_the_frame_gives_no_crop():
    book = TrackBook(lambda batch: np.ones((len(batch), 2)), 1.0)
    book.see(0.0, 1, FaceBox(500, 500, 40, 40), np.zeros((100, 100, 3), np.uint8))
    assert book.tracks[1].crops == [] and book.tracks[1].best is None


def test_a_track_closes_only_after_more_than_max_gap():
    embedded = []
    book = TrackBook(lambda batch: embedded.append(len(batch)) or np.ones((len(batch), 2)), 1.0)
    frame = np.zeros((100, 100, 3), np.uint8)
    book.see(0.0, 1, FaceBox(10, 10, 20, 20), frame)
    book.see(0.5, 1, FaceBox(10, 10, 20, 20), frame)
    book.close_before(1.5)  # exactly max_gap after it was last seen: still open
    assert embedded == []
    book.close_before(1.51)
    assert embedded == [2]


def test_segment_faces_hands_each_face_its_time_box_and_crop():
    frames = [(t, np.full((100, 100, 3), int(t * 100), np.uint8)) for t in (0.0, 0.5)]
    calls, seen = [], []

    def find_faces(time, frame, errors):
        calls.append((time, int(frame[0, 0, 0])))
        errors.append(f"at {time}")
        # the first box is off the frame (no crop): skipped, the next ones are kept
        return [FaceBox(300, 300, 10, 10), FaceBox(10, 10, 20, 20), FaceBox(60, 10, 20, 20)]

    (segment,) = segment_faces(FrameQueue(frames), [(0, 1)], find_faces, _linker(), TrackBook(None, 1.0), None,
                               on_frame=lambda t, linked, f: seen.append((t, len(linked), int(f[0, 0, 0]))))
    assert calls == [(0.0, 0), (0.5, 50)] and seen == [(0.0, 2, 0), (0.5, 2, 50)]
    assert segment.errors == ["at 0.0", "at 0.5"] and segment.most == 2
    assert [(f.time, f.box.x, f.crop.shape) for f in segment.faces] == [
        (0.0, 10, (20, 20, 3)), (0.0, 60, (20, 20, 3)), (0.5, 10, (20, 20, 3)), (0.5, 60, (20, 20, 3))]


def _linker():
    from emofuse.tracks import TrackLinker

    return TrackLinker()


def test_clustering_matches_plain_average_linkage_on_many_small_crowded_files():
    """60 files of 5 tracks in 8 s, 3-d embeddings (no ties), many overlapping in time: the fast
    clustering (cached nearest neighbours) gives the groups of the plain O(n^3) one."""
    from .test_persons import _reference

    for seed in range(60):
        rng = np.random.default_rng(seed)
        tracks = []
        for key in range(5):
            first = float(rng.integers(0, 8))
            tracks.append(TrackSummary(key, first, first + float(rng.integers(0, 3)), 3,
                                       rng.uniform(0, 0.5, (int(rng.integers(1, 3)), 3))))
        groups = {}
        for key, person in cluster_tracks(tracks, 0.6).items():
            groups.setdefault(person, []).append(key)
        assert sorted(sorted(g) for g in groups.values()) == _reference(tracks, 0.6), seed
