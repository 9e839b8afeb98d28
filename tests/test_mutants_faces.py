"""Faces group (issue 19): tracks, tracking, shots, persons, people and the frame side pinned at
their documented boundaries, with numbers worked out by hand in the comments."""
from __future__ import annotations

import numpy as np
import pytest

from emofuse import FaceBox
from emofuse.tracking import iou
from emofuse.tracks import LINK_DISTANCE, LINK_IOU, LINK_SIZE, MAX_GAP, TrackLinker


def keys(pairs):
    return [k for k, _ in pairs]


def relink(first, second, time=0.1, **kw):
    """The keys of `second` when it follows `first` (lists of boxes) in a new linker."""
    linker = TrackLinker(**kw)
    linker.link(0.0, first)
    return keys(linker.link(time, second))


# ----------------------------------------------------------------------------- tracks


def test_the_documented_link_constants():
    assert (LINK_IOU, LINK_DISTANCE, LINK_SIZE, MAX_GAP) == (0.3, 0.6, 1.5, 1.0)
    assert TrackLinker().max_gap == 1.0


def test_max_gap_zero_and_fractions_are_accepted_negatives_and_nan_are_not():
    assert TrackLinker(max_gap=0).max_gap == 0.0
    assert TrackLinker(max_gap=0.5).max_gap == 0.5
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError, match=r"max_gap must be >= 0 seconds, got"):
            TrackLinker(max_gap=bad)


def test_max_gap_zero_links_only_boxes_of_the_same_time():
    a = FaceBox(100, 100, 40, 40)
    assert relink([a], [a], time=0.0, max_gap=0) == [1]
    assert relink([a], [a], time=0.04, max_gap=0) == [2]


def test_a_gap_of_exactly_max_gap_is_bridged_despite_rounding_in_the_frame_times():
    # 3 frames of 0.1 s: 0.30000000000000004 s, a hair over max_gap=0.3 in floating point
    a = FaceBox(100, 100, 40, 40)
    assert 0.1 * 3 > 0.3
    assert relink([a], [a], time=0.1 * 3, max_gap=0.3) == [1]
    assert relink([a], [a], time=0.31, max_gap=0.3) == [2]


def test_an_overlap_of_exactly_link_iou_does_not_link():
    """'More than' LINK_IOU: a 60x50 box inside a 100x100 one overlaps it by 3000 / 10000 = 0.3
    exactly; the widths (100 / 60 = 1.67) are too different for the distance rule."""
    track, inside = FaceBox(100, 100, 100, 100), FaceBox(120, 125, 60, 50)
    assert iou(track, inside) == 0.3
    assert relink([track], [inside]) == [2]
    bigger = FaceBox(120, 125, 60, 51)  # 3060 / 10000
    assert relink([track], [bigger]) == [1]


def test_a_track_continues_with_the_box_it_overlaps_most_whatever_the_order():
    track = FaceBox(100, 100, 100, 100)
    slight = FaceBox(150, 100, 100, 100)  # 50 x 100 shared: 5000 / 15000 = 0.33
    most = FaceBox(110, 100, 100, 100)    # 90 x 100 shared: 9000 / 11000 = 0.82
    assert relink([track], [slight, most]) == [2, 1]
    assert relink([track], [most, slight]) == [1, 2]


def test_a_box_passed_over_by_its_best_track_goes_to_the_next_one():
    """Equal 100 px boxes in a row (IoU of a shift s: (100 - s) / (100 + s)).
    Tracks 1 (x=0) and 2 (x=38); then A (x=5) overlaps 1 by 0.90 and 2 by 0.50, and B (x=88)
    overlaps only 2, by 0.33: A continues 1 and B, not A, continues 2."""
    one, two = FaceBox(0, 0, 100, 100), FaceBox(38, 0, 100, 100)
    a, b = FaceBox(5, 0, 100, 100), FaceBox(88, 0, 100, 100)
    assert iou(two, a) > iou(two, b) > LINK_IOU >= iou(one, b)
    assert relink([one, two], [a, b]) == [1, 2]


@pytest.mark.parametrize("shift, linked", [(24, True), (25, False)])
def test_a_centre_moved_up_to_exactly_link_distance_widths_links(shift, linked):
    """A 40 px face whose centre moved 24 px has moved 0.6 widths exactly; 25 px is 0.625.
    Same along x and along y (the boxes overlap by at most 16 / 64 = 0.25)."""
    track = FaceBox(100, 100, 40, 40)
    for moved in (FaceBox(100 + shift, 100, 40, 40), FaceBox(100, 100 + shift, 40, 40),
                  FaceBox(100 - shift, 100, 40, 40), FaceBox(100, 100 - shift, 40, 40)):
        assert relink([track], [moved]) == ([1] if linked else [2])


@pytest.mark.parametrize("step, linked", [(16, True), (20, False)])
def test_a_diagonal_move_is_measured_as_a_straight_line(step, linked):
    """(16, 16) is 22.6 px = 0.57 widths of 40 px; (20, 20) is 28.3 px = 0.71 widths."""
    track = FaceBox(100, 100, 40, 40)
    assert relink([track], [FaceBox(100 + step, 100 + step, 40, 40)]) == ([1] if linked else [2])
    assert relink([track], [FaceBox(100 - step, 100 + step, 40, 40)]) == ([1] if linked else [2])


def test_the_centre_of_a_box_is_its_middle_in_both_directions():
    """Boxes of different heights: centres (120, 140) -> (140, 155) are 25 px apart, 0.625 widths
    of the track's 40 px box; (139, 154) are 23.6 px, 0.59 widths (overlaps 0.26 and 0.28)."""
    track = FaceBox(100, 100, 40, 80)
    assert relink([track], [FaceBox(120, 105, 40, 100)]) == [2]
    assert relink([track], [FaceBox(119, 104, 40, 100)]) == [1]  # (139, 154): 23.4 px = 0.59


@pytest.mark.parametrize("width, linked", [(60, True), (61, False)])
def test_a_face_up_to_link_size_times_wider_is_linked_by_distance(width, linked):
    """Track 40 px wide at (100, 100), centre (120, 120); the new box's centre is 22 px to the right
    (0.55 widths) and it overlaps by 28 x 40 = 1120 px (IoU 0.27):
    60 / 40 = 1.5 is within LINK_SIZE, 61 / 40 = 1.525 is not."""
    track = FaceBox(100, 100, 40, 40)
    wide = FaceBox(112, 90, width, width)
    assert iou(track, wide) <= LINK_IOU
    assert relink([track], [wide]) == ([1] if linked else [2])


def test_the_rules_hold_in_pixels_down_to_one_pixel_faces():
    """A 1 px face moved by 1 px moved a whole width (no overlap): another face. A 2 px face
    and a 1 px one inside it (IoU 1 / 4, centres 0.35 widths apart) are twice the size: apart."""
    assert relink([FaceBox(10, 10, 1, 1)], [FaceBox(11, 10, 1, 1)]) == [2]
    assert relink([FaceBox(10, 10, 2, 2)], [FaceBox(11, 11, 1, 1)]) == [2]


# ----------------------------------------------------------------------------- tracking


def test_distinct_keeps_a_box_overlapping_by_exactly_the_limit():
    """A 100 x 50 box inside a 100 x 100 one overlaps it by 5000 / 10000 = 0.5: kept at the
    default overlap=0.5 ('more than' drops), dropped as soon as it overlaps more."""
    from emofuse.tracking import distinct

    big, half, more = FaceBox(0, 0, 100, 100), FaceBox(0, 0, 100, 50), FaceBox(0, 0, 100, 51)
    assert iou(big, half) == 0.5
    assert distinct([big, half]) == [big, half]
    assert distinct([big, more]) == [big]
    assert distinct([big, half], overlap=0.4) == [big]


def test_iou_of_boxes_sharing_one_pixel_row_or_column():
    """10 x 10 boxes one pixel apart share a 1 x 10 strip: 10 / 190; touching ones share nothing."""
    assert iou(FaceBox(0, 0, 10, 10), FaceBox(9, 0, 10, 10)) == 10 / 190
    assert iou(FaceBox(0, 0, 10, 10), FaceBox(0, 9, 10, 10)) == 10 / 190
    assert iou(FaceBox(0, 0, 10, 10), FaceBox(10, 0, 10, 10)) == 0.0


def test_a_tracked_face_overlapping_a_detection_by_exactly_match_iou_is_looked_for():
    """The detection (60 x 50 inside the tracked 100 x 100 face) overlaps it by 0.3, not more: it is
    another face, so tracking looks for the tracked one too, and both are kept."""
    from emofuse.tracking import FaceTracker

    tracked, hit = FaceBox(100, 100, 100, 100), FaceBox(120, 125, 60, 50)
    assert iou(tracked, hit) == 0.3
    looked_for = []
    tracker = FaceTracker(detect_fps=1.0)
    assert tracker.boxes(0.0, lambda: [tracked]) == [tracked]

    def track(boxes):
        looked_for.append(boxes)
        return boxes

    assert tracker.boxes(1.0, lambda: [hit], track) == [hit, tracked]
    assert looked_for == [[tracked]]


# ----------------------------------------------------------------------------- persons (live)


def vec(*values):
    return np.array(values, dtype=np.float64)


def test_gallery_skips_a_taken_person_and_still_finds_the_next():
    from emofuse.persons import OnlineGallery

    gallery = OnlineGallery(0.6, min_frames=1)
    assert gallery.assign(1, vec(3, 0), 0.0) == "P1"
    assert gallery.assign(2, vec(3.2, 0), 0.0, visible={"P1"}) == "P2"
    # a third face like both: P1 is in the frame, P2 (0.1 away, P1 is 0.1 away too) is free
    assert gallery.assign(3, vec(3.1, 0), 5.0, visible={"P1"}) == "P2"


def test_gallery_compares_embeddings_not_their_sum():
    from emofuse.persons import OnlineGallery

    gallery = OnlineGallery(0.6, min_frames=1)
    assert gallery.assign(1, vec(3, 4), 0.0) == "P1"
    assert gallery.assign(2, vec(3.1, 4), 5.0) == "P1"
    assert gallery.assign(3, vec(-3, -4), 10.0) == "P2"


def test_gallery_distance_is_the_mean_over_pairs_of_embeddings():
    """Two crops at (0.4, 0) against two at (0, 0): every pair is 0.4 apart, mean 0.4 < 0.6
    (the root of the summed squares would be 0.8)."""
    from emofuse.persons import OnlineGallery

    gallery = OnlineGallery(0.6, min_frames=2)
    assert gallery.assign(1, vec(0, 0), 0.0) == ""
    assert gallery.assign(1, vec(0, 0), 0.25) == "P1"
    assert gallery.assign(2, vec(0.4, 0), 1.0) == ""
    assert gallery.assign(2, vec(0.4, 0), 1.25) == "P1"


def test_gallery_remembers_a_persons_newest_gallery_size_embeddings():
    """P1's first crop is far off (30, 0), the next GALLERY_SIZE at (5, 0): only those are kept,
    so a face at (5, 0) is P1 (with the first one kept too the mean would be 25 / 25 = 1.0)."""
    from emofuse.persons import GALLERY_SIZE, OnlineGallery

    assert GALLERY_SIZE == 24
    gallery = OnlineGallery(0.6, min_frames=1)
    assert gallery.assign(1, vec(30, 0), 0.0) == "P1"
    for i in range(GALLERY_SIZE):
        assert gallery.assign(1, vec(5, 0), 0.25 * (i + 1)) == "P1"
    assert gallery.assign(2, vec(5, 0), 100.0) == "P1"


def test_gallery_an_empty_embedding_is_unusable_a_one_number_one_is_fine():
    from emofuse.persons import OnlineGallery

    gallery = OnlineGallery(0.6, min_frames=1)
    assert gallery.assign(1, np.zeros(0), 0.0) == ""
    assert gallery.assign(1, vec(0.5), 0.25) == "P1"
    assert gallery.assign(2, vec(0.6), 1.0) == "P1"
    assert gallery.persons == ["P1"]


def test_gallery_forget_frees_the_track_and_is_harmless_twice():
    from emofuse.persons import OnlineGallery

    gallery = OnlineGallery(0.6, min_frames=2)
    assert gallery.assign(1, vec(0, 0), 0.0) == "" and gallery.assign(1, vec(0, 0), 0.25) == "P1"
    gallery.forget(1)
    gallery.forget(1)
    gallery.forget(99)
    # nothing is left of track 1: the key starts afresh (young again), the person stays
    assert gallery.assign(1, vec(9, 9), 5.0) == ""
    assert gallery.persons == ["P1"]


# ----------------------------------------------------------------------------- people


def test_persons_are_listed_by_number_then_other_ids_by_name():
    from emofuse import SegmentResult
    from emofuse.types import PersonResult

    ids = ["guest", "P100", "Q5", "P2", "Px", "P"]
    people = tuple(PersonResult(pid, FaceBox(0, 0, 10, 10), None, None, None, False, 1) for pid in ids)
    persons = summarise_persons_of([SegmentResult(0, 1, people=people)])
    assert [p.id for p in persons] == ["P2", "P100", "P", "Px", "Q5", "guest"]


def summarise_persons_of(segments):
    from emofuse.people import summarise_persons

    return summarise_persons(segments, [1] * len(segments), {})


# ----------------------------------------------------------------------------- frame side


def test_each_shot_cut_starts_the_next_shot():
    from emofuse.face_side import TrackBook

    frame = np.zeros((100, 100, 3), np.uint8)
    book = TrackBook(None, MAX_GAP)
    for key in (1, 2, 3):
        book.see(float(key), key, FaceBox(10, 10, 20, 20), frame)
        book.cut()
    assert [book.tracks[k].shot for k in (1, 2, 3)] == [0, 1, 2] and book.shot == 3
