"""Faces group (issue 19): emofuse.shots' signature worked out by hand on 2 x 2 frames (one pixel per
cell, GRID = 2), its resizing, and the cut threshold at its boundary."""
from __future__ import annotations

import numpy as np
import pytest

from emofuse.shots import ShotDetector, distance, frame_signature

COLOURS, VALUES = 12 * 3 + 1, 8  # hue x saturation bins + the grey bin; relative value bins
GREY_BIN = 36


def frame2x2(p0, p1, p2, p3):
    """Pixels row by row: p0 p1 / p2 p3, i.e. cells 0, 1, 2, 3."""
    return np.array([[p0, p1], [p2, p3]], dtype=np.uint8)


def by_hand(lit):
    """The signature of lit pixels given as (cell, colour bin, relative value bin)."""
    out = np.zeros(4 * COLOURS + 4 * VALUES)
    for cell, colour, value in lit:
        out[cell * COLOURS + colour] += 1
        out[4 * COLOURS + cell * VALUES + value] += 1
    return out / out.sum()


def test_colour_bins_of_hue_and_saturation():
    """All at value 255 (relative value 1: bin 1 x 8 / 3 = 2). OpenCV hue is 0..179, bin = H x 12 // 180;
    saturation bin = (S - 64) x 3 // 192; colour bin = hue bin x 3 + saturation bin.
    yellow (255, 255, 0): H 30, S 255 -> 2 x 3 + 2 = 8; (255, 0, 64): H 172 -> 11 x 3 + 2 = 35;
    (255, 191, 191): H 0, S 64 (just not grey) -> 0; (255, 127, 127): H 0, S 128 -> 1."""
    frame = frame2x2((255, 255, 0), (255, 0, 64), (255, 191, 191), (255, 127, 127))
    assert frame_signature(frame) == pytest.approx(by_hand([(0, 8, 2), (1, 35, 2), (2, 0, 2), (3, 1, 2)]))


def test_grey_and_relative_value_bins_and_dark_pixels():
    """Greys of value 254, 1, 0, 17: mean 68, so pixels under 68 / 4 = 17 are left out (1 and 0),
    17 itself is kept. Relative value x 8 / 3: 254 -> 9.96, capped to the last bin 7; 17 -> 0.67 -> 0."""
    frame = frame2x2((254,) * 3, (1,) * 3, (0,) * 3, (17,) * 3)
    assert frame_signature(frame) == pytest.approx(by_hand([(0, GREY_BIN, 7), (3, GREY_BIN, 0)]))


def test_a_frame_of_mean_value_20_is_lit_19_is_dark():
    assert frame_signature(np.full((4, 4, 3), 20, np.uint8)) is not None
    assert frame_signature(np.full((4, 4, 3), 19, np.uint8)) is None


def test_frames_need_two_pixels_each_way():
    assert frame_signature(np.full((1, 5, 3), 128, np.uint8)) is None
    assert frame_signature(np.full((5, 1, 3), 128, np.uint8)) is None
    assert frame_signature(np.full((2, 2, 3), 128, np.uint8)) == pytest.approx(
        by_hand([(c, GREY_BIN, 2) for c in range(4)]))


def test_grey_and_rgba_frames_read_as_their_rgb():
    grey = np.array([[254, 1], [0, 17]], np.uint8)
    assert frame_signature(grey) == pytest.approx(by_hand([(0, GREY_BIN, 7), (3, GREY_BIN, 0)]))
    rgba = np.concatenate([frame2x2((255, 255, 0), (255, 0, 64), (255, 191, 191), (255, 127, 127)),
                           np.full((2, 2, 1), 7, np.uint8)], axis=2)
    assert frame_signature(rgba) == pytest.approx(by_hand([(0, 8, 2), (1, 35, 2), (2, 0, 2), (3, 1, 2)]))


def test_a_wide_frame_is_shrunk_to_64_pixels_by_averaging_keeping_its_aspect():
    """192 x 192: columns red, blue, blue, ... under a green top quarter. Shrunk 3:1 by area it is
    64 x 64: a green top 16 rows over (85, 0, 170), the columns' average colour."""
    big = np.zeros((192, 192, 3), np.uint8)
    big[:, :] = (0, 0, 255)
    big[:, ::3] = (255, 0, 0)
    big[:48] = (0, 255, 0)
    small = np.zeros((64, 64, 3), np.uint8)
    small[:, :] = (85, 0, 170)
    small[:16] = (0, 255, 0)
    assert frame_signature(big) == pytest.approx(frame_signature(small))


def test_a_cut_is_a_distance_above_the_threshold_not_at_it():
    """Four grey pixels, then one of them red at the same value: one cell's colour moved, 1 of the 8
    counts: distance (1/8 + 1/8) / 2 = 0.125."""
    grey = frame2x2(*[(128, 128, 128)] * 4)
    red = frame2x2((128, 0, 0), *[(128, 128, 128)] * 3)
    assert distance(frame_signature(grey), frame_signature(red)) == 0.125
    for threshold, cut in ((0.125, False), (0.124, True)):
        shots = ShotDetector(threshold)
        assert shots.is_cut(grey) is False
        assert shots.is_cut(red) is cut


def test_distance_is_total_variation():
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.5, 0.5])
    assert distance(a, b) == 1.0
    assert distance(a, np.array([0.5, 0.5, 0.0])) == 0.5
    assert distance(a, a) == 0.0


def test_a_frame_narrower_than_64_pixels_is_used_as_it_is():
    """3 x 2: columns 0 and 1 are cell column 0 (column index x 2 // 3), column 2 is cell column 1.
    Yellow (colour 8) on the left, blue (0, 0, 255): H 120 -> 8 x 3 + 2 = 26 on the right; enlarging
    the frame would blend them at the border."""
    yellow, blue = (255, 255, 0), (0, 0, 255)
    frame = np.array([[yellow, yellow, blue], [yellow, yellow, blue]], np.uint8)
    assert frame_signature(frame) == pytest.approx(
        by_hand([(0, 8, 2), (0, 8, 2), (1, 26, 2), (2, 8, 2), (2, 8, 2), (3, 26, 2)]))
