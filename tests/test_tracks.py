"""Tracks within a shot (emofuse.tracks) and the frame side that feeds them (emofuse.face_side)."""
import numpy as np
import pytest

from emofuse import FaceBox
from emofuse.face_side import EMBED_CROPS, TrackBook, grown_crop, segment_faces
from emofuse.tracks import LINK_DISTANCE, LINK_IOU, MAX_GAP, TrackLinker

from .face_helpers import FrameQueue


def box(x, y=100, w=100):
    return FaceBox(x, y, w, w)


def test_two_faces_in_one_frame_are_two_tracks_and_keep_their_keys_as_they_move():
    linker = TrackLinker()
    first = linker.link(0.0, [box(100), box(400)])
    assert [k for k, _ in first] == [1, 2]
    # both move a little; listed in the other order: each keeps its own key
    second = linker.link(0.25, [box(410), box(110)])
    assert [k for k, _ in second] == [2, 1]


def test_swapping_order_of_close_faces_never_gives_one_track_two_boxes():
    linker = TrackLinker()
    linker.link(0.0, [box(100)])
    keys = [k for k, _ in linker.link(0.25, [box(100), box(105)])]
    assert len(set(keys)) == 2 and 1 in keys


def test_overlap_link_boundary():
    # a face box inside a much larger one (sizes too different for the distance rule): only the
    # overlap links them; IoU = (100 / side) ** 2 crosses LINK_IOU = 0.3 at side 182.6
    for side, same in ((180, True), (185, False)):
        assert (((100 / side) ** 2) > LINK_IOU) == same
        linker = TrackLinker()
        linker.link(0.0, [FaceBox(40, 40, 100, 100)])
        big = FaceBox(90 - side // 2, 90 - side // 2, side, side)
        assert (linker.link(0.1, [big])[0][0] == 1) == same


def test_distance_link_boundary_for_a_face_that_moved_fast():
    linker = TrackLinker()
    linker.link(0.0, [box(0, w=40)])
    # no overlap at all, but within LINK_DISTANCE widths: same track
    near = int(LINK_DISTANCE * 40) - 1
    assert linker.link(0.1, [box(near, w=40)])[0][0] == 1
    far = int(LINK_DISTANCE * 40) + 2
    linker = TrackLinker()
    linker.link(0.0, [box(0, w=40)])
    assert linker.link(0.1, [box(far, w=40)])[0][0] == 2


def test_gaps_up_to_max_gap_are_bridged_longer_ones_end_the_track():
    linker = TrackLinker()
    linker.link(0.0, [box(100)])
    assert linker.link(MAX_GAP - 0.01, [box(100)])[0][0] == 1
    assert linker.link(2 * MAX_GAP + 0.05, [box(100)])[0][0] == 2


def test_a_cut_ends_every_track():
    linker = TrackLinker()
    linker.link(0.0, [box(100)])
    linker.cut()
    assert linker.link(0.25, [box(100)])[0][0] == 2


def test_max_gap_is_checked():
    with pytest.raises(ValueError, match="max_gap"):
        TrackLinker(max_gap=-1)


def test_grown_crop_is_clipped_to_the_frame():
    frame = np.zeros((100, 200, 3), np.uint8)
    assert grown_crop(frame, FaceBox(0, 0, 40, 40)).shape == (50, 50, 3)
    assert grown_crop(frame, FaceBox(80, 30, 40, 40)).shape == (60, 60, 3)


def test_frame_side_links_faces_cuts_shots_and_embeds_each_track_when_it_ends():
    frame = np.full((240, 320, 3), 128, np.uint8)
    times = [i * 0.25 for i in range(16)]  # 4 s at 4 frames a second
    embedded = []

    def embed(crops):
        embedded.append(len(crops))
        return np.ones((len(crops), 2))

    book = TrackBook(embed, MAX_GAP)
    seen = []
    segments = list(segment_faces(
        FrameQueue((t, frame) for t in times), [(0, 1), (1, 2), (2, 3), (3, 4)],
        lambda t, f, errors: [FaceBox(100, 80, 60, 60)], TrackLinker(), book,
        lambda f: False, on_frame=lambda t, linked, f: seen.append((t, [k for k, _ in linked]))))
    assert [s.sampled for s in segments] == [4, 4, 4, 4] and all(s.most == 1 for s in segments)
    assert {s.faces[0].track for s in segments} == {1}
    assert embedded == [EMBED_CROPS]  # one track, embedded once, at the end, with a few crops
    assert book.tracks[1].embeddings.shape == (EMBED_CROPS, 2) and book.tracks[1].crops == []
    assert len(seen) == 16 and all(keys == [1] for _, keys in seen)



def test_a_shot_cut_starts_new_tracks_in_a_new_shot():
    frames = [(i * 0.25, np.full((120, 160, 3), 0 if i < 4 else 255, np.uint8)) for i in range(8)]
    book = TrackBook(None, MAX_GAP)
    segs = list(segment_faces(FrameQueue(frames), [(0, 2)], lambda t, f, e: [FaceBox(40, 30, 50, 50)],
                              TrackLinker(), book, lambda f: bool(f[0, 0, 0] == 255 and not book.shot)))
    keys = [face.track for face in segs[0].faces]
    assert keys == [1] * 4 + [2] * 4
    assert book.tracks[1].shot == 0 and book.tracks[2].shot == 1
    assert book.tracks[1].frames == 4 and book.tracks[2].first == 1.0


def test_a_failed_detection_counts_the_frame_but_no_face():
    frames = [(0.0, np.zeros((50, 50, 3), np.uint8)), (0.5, np.zeros((50, 50, 3), np.uint8))]
    segs = list(segment_faces(FrameQueue(frames), [(0, 1)], lambda t, f, e: None, TrackLinker(),
                              TrackBook(None, MAX_GAP), None))
    assert segs[0].sampled == 2 and segs[0].faces == [] and segs[0].most == 0


def test_new_tracks_are_numbered_left_to_right_whatever_the_detector_order():
    for order in ([box(400), box(100), box(250, y=300)], [box(250, y=300), box(400), box(100)]):
        keyed = {b.x: k for k, b in TrackLinker().link(0.0, order)}
        assert keyed == {100: 1, 250: 2, 400: 3}


def test_a_track_too_brief_to_be_a_person_is_not_embedded():
    frame = np.full((120, 160, 3), 128, np.uint8)
    calls = []
    book = TrackBook(lambda crops: calls.append(len(crops)) or np.ones((len(crops), 2)), MAX_GAP)
    book.see(0.0, 1, FaceBox(10, 10, 40, 40), frame)      # one frame only
    book.see(0.0, 2, FaceBox(100, 10, 40, 40), frame)
    book.see(0.25, 2, FaceBox(100, 10, 40, 40), frame)    # two frames: a person
    book.finish()
    assert calls == [1] and book.tracks[1].embeddings is None and book.tracks[2].embeddings.shape == (1, 2)


def test_a_track_whose_embedding_failed_is_left_without_embeddings_and_its_crops_dropped():
    frame = np.full((120, 160, 3), 128, np.uint8)
    book = TrackBook(lambda crops: None, MAX_GAP)   # the embedder failed (walk's guard returns None)
    book.see(0.0, 1, FaceBox(10, 10, 40, 40), frame)
    book.see(0.25, 1, FaceBox(10, 10, 40, 40), frame)
    book.finish()
    assert book.tracks[1].embeddings is None and book.tracks[1].crops == []


def test_a_track_keeps_only_a_small_picture_of_its_largest_face():
    from emofuse.face_side import PICTURE_WIDTH

    frame = np.zeros((600, 800, 3), np.uint8)
    book = TrackBook(None, MAX_GAP)
    book.see(0.0, 1, FaceBox(200, 200, 60, 60), frame)
    assert book.tracks[1].best.shape == (90, 90, 3)  # grown by a quarter each side, under the limit
    book.see(0.25, 1, FaceBox(100, 100, 400, 400), frame)
    assert book.tracks[1].best.shape[1] == PICTURE_WIDTH and book.tracks[1].best_width == 400
