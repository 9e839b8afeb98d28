"""Inputs beyond plain media files: still images, --start/--end, stdin, URLs."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from emofuse.errors import MediaError
from emofuse.media import STILL_DURATION, iter_frames, probe
from emofuse.runner import AnalysisOptions, Pipeline
from emofuse.testing import make_frame

IMAGE_FORMATS = ("png", "jpg", "bmp", "webp", "tiff")


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline(AnalysisOptions())


def _image(tmp_path, fmt, face=True):
    path = tmp_path / f"still.{fmt}"
    Image.fromarray(make_frame(320, 240, face=face, face_width=140)).save(path)
    return path


@pytest.mark.parametrize("fmt", IMAGE_FORMATS)
def test_a_still_image_is_one_frame_at_zero_without_sound(tmp_path, fmt):
    info = probe(_image(tmp_path, fmt))
    assert info.still and info.has_video and not info.has_audio
    assert (info.width, info.height, info.duration) == (320, 240, STILL_DURATION)
    stream = iter_frames(info, 4.0)
    frames = list(stream)
    assert [t for t, _ in frames] == [0.0] and frames[0][1].shape == (240, 320, 3)
    assert np.abs(frames[0][1].astype(int) - make_frame(320, 240, face_width=140)).mean() < 5  # RGB, not BGR
    assert stream.stop() is None  # one frame covers the whole nominal second


@pytest.mark.parametrize("fmt", IMAGE_FORMATS)
def test_a_still_image_gives_a_one_segment_face_analysis(tmp_path, pipeline, fmt):
    timeline = pipeline.analyze(_image(tmp_path, fmt))
    assert len(timeline.segments) == 1
    segment = timeline.segments[0]
    assert (segment.start, segment.end, segment.faces) == (0.0, STILL_DURATION, 1)
    assert segment.face is not None and segment.voice is None and segment.errors == ()
    assert "audio_classifier" not in timeline.components


def test_a_still_image_without_a_face_has_no_face_scores(tmp_path, pipeline):
    segment = pipeline.analyze(_image(tmp_path, "png", face=False)).segments[0]
    assert segment.faces == 0 and segment.face is None


def test_an_unreadable_image_is_a_media_error(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(MediaError, match="broken.png: not an image"):
        probe(bad)


def test_a_still_image_has_no_voice_to_analyse(tmp_path):
    with pytest.raises(MediaError, match="has no audio stream"):
        Pipeline(AnalysisOptions(video=False)).analyze(_image(tmp_path, "jpg"))


def test_analyze_command_writes_one_row_for_an_image(tmp_path, capsys):
    from emofuse.cli import main

    target = tmp_path / "out.csv"
    assert main(["analyze", str(_image(tmp_path, "png")), "-o", str(target), "-q"]) == 0
    rows = target.read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("0.0,1.0,") and rows[0].startswith("start,end,label")
