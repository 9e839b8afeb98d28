"""Inputs beyond plain media files: still images, --start/--end, stdin, URLs."""
from __future__ import annotations

import functools
import io
import sys
import threading
import types
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from emofuse.errors import EmofuseError, MediaError
from emofuse.media import STILL_DURATION, AudioStream, is_url, iter_frames, probe
from emofuse.runner import AnalysisOptions, Pipeline, segment_bounds
from emofuse.stdin_input import image_suffix
from emofuse.testing import make_frame

from .fakes import FAKE_CHOICES, FAKE_FLAGS

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


# --------------------------------------------------------------------------- --start / --end


def test_segment_bounds_from_a_start_keep_file_times():
    assert segment_bounds(2.5, 0.5, 1.0) == [(1.0, 1.5), (1.5, 2.0), (2.0, 2.5)]
    assert segment_bounds(2.1, 0.5, 1.0) == [(1.0, 1.5), (1.5, 2.1)]  # a 0.1 s tail joins the segment before


@pytest.mark.parametrize(("start", "end"), [(-0.01, None), (1.0, 1.0), (1.0, 0.99), (float("nan"), None)])
def test_start_and_end_are_checked(start, end):
    with pytest.raises(EmofuseError, match="start|end"):
        AnalysisOptions(start=start, end=end)


def test_start_just_before_end_is_accepted():
    assert AnalysisOptions(start=1.0, end=1.01).end == 1.01


def test_frames_before_start_are_skipped(media_dir):
    info = probe(media_dir / "clip.mp4")  # 10 fps: frames at 0.0, 0.1, ...
    seen = []
    times = [t for t, _ in iter_frames(info, None, between=lambda t, f: seen.append(t), start=1.0)]
    assert times[0] == pytest.approx(1.0, abs=1e-3) and len(times) == 20
    assert [t for t, _ in iter_frames(info, None, start=0.95)][0] == pytest.approx(1.0, abs=1e-3)
    assert [t for t, _ in iter_frames(info, 4.0, start=1.0)][:2] == pytest.approx([1.0, 1.3], abs=1e-3)
    assert seen == []  # every frame was analysed: none in between, and none before the start


def test_audio_from_a_start_keeps_file_times(media_dir):
    with AudioStream(media_dir / "clip.mp4") as whole, AudioStream(media_dir / "clip.mp4", start=1.5) as part:
        expected = whole.window(1.6, 2.6)
        got = part.window(1.6, 2.6)
    assert np.abs(expected).max() > 0.1
    assert np.abs(got - expected).max() < 0.05


def test_analysis_between_start_and_end(fake_components, media_dir):
    # clip.mp4: a white picture (a face for the fakes) until 1.5 s, then black; a tone after 1.5 s
    pipeline = Pipeline(AnalysisOptions(segment=0.5, start=1.0, end=2.5, **FAKE_CHOICES))
    timeline = pipeline.analyze(media_dir / "clip.mp4")
    assert [(s.start, s.end) for s in timeline.segments] == [(1.0, 1.5), (1.5, 2.0), (2.0, 2.5)]
    assert [s.faces for s in timeline.segments] == [1, 0, 0]
    assert [s.voice is None for s in timeline.segments] == [True, False, False]
    assert all(s.errors == () for s in timeline.segments)
    times = [s.time for s in timeline.sightings]  # 4 fps from 1.0 s while the picture is white
    assert times == pytest.approx([1.0, 1.3], abs=1e-3)


def test_an_end_past_the_file_stops_at_its_end(fake_components, media_dir):
    pipeline = Pipeline(AnalysisOptions(segment=1.0, start=2.0, end=60.0, **FAKE_CHOICES))
    timeline = pipeline.analyze(media_dir / "clip.mp4")
    assert [(s.start, s.end) for s in timeline.segments] == [(2.0, 3.0)]


def test_a_start_at_the_end_is_a_media_error(fake_components, media_dir):
    pipeline = Pipeline(AnalysisOptions(start=3.0, **FAKE_CHOICES))
    with pytest.raises(MediaError, match="start 3 s is at or past its end"):
        pipeline.analyze(media_dir / "clip.mp4")


def test_analyze_command_start_end(fake_components, media_dir, tmp_path, capsys):
    from emofuse.cli import main

    target = tmp_path / "part.csv"
    assert main(["analyze", str(media_dir / "clip.mp4"), "--start", "1", "--end", "2", "--segment", "0.5",
                 "-o", str(target), "-q", *FAKE_FLAGS]) == 0
    rows = [line.split(",")[:2] for line in target.read_text().splitlines()[1:]]
    assert rows == [["1.0", "1.5"], ["1.5", "2.0"]]
    with pytest.raises(SystemExit):
        main(["analyze", str(media_dir / "clip.mp4"), "--start", "-1"])
    assert "expected seconds >= 0, got -1" in capsys.readouterr().err


# --------------------------------------------------------------------------- - (standard input)


def _stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))


@pytest.mark.parametrize(("head", "suffix"), [(b"\x89PNG\r\n\x1a\n....", ".png"), (b"\x89PNG\r\n\x1a", ""),
                                              (b"\xff\xd8\xff\xe0", ".jpg"), (b"RIFF\0\0\0\0WEBPVP8 ", ".webp"),
                                              (b"RIFF\0\0\0\0WAVEfmt ", ""), (b"II*\x00", ".tiff"), (b"BM", ".bmp"),
                                              (b"\x00\x00\x00\x20ftypisom", "")])
def test_images_on_stdin_are_known_by_their_first_bytes(head, suffix):
    assert image_suffix(head) == suffix


def test_analyze_reads_a_video_from_stdin(fake_components, media_dir, tmp_path, monkeypatch, capsys):
    from emofuse.cli import main

    monkeypatch.chdir(tmp_path)
    _stdin(monkeypatch, (media_dir / "clip.mp4").read_bytes())
    assert main(["analyze", "-", "-q", *FAKE_FLAGS]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stdin.csv"]
    rows = (tmp_path / "stdin.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[1].startswith("0.0,1.0,") and rows[3].startswith("2.0,3.0,")


def test_analyze_reads_an_image_from_stdin(tmp_path, monkeypatch):
    from emofuse.cli import main

    image = _image(tmp_path, "png")
    _stdin(monkeypatch, image.read_bytes())
    target = tmp_path / "face.csv"
    assert main(["analyze", "-", "-o", str(target), "-q"]) == 0
    rows = target.read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("0.0,1.0,") and rows[1].split(",")[4] == "1"  # one face


def test_empty_stdin_and_stdin_twice_are_errors(tmp_path, monkeypatch, capsys):
    from emofuse.cli import main

    monkeypatch.chdir(tmp_path)
    _stdin(monkeypatch, b"")
    assert main(["analyze", "-", "-q"]) == 1
    assert "standard input (-) is empty" in capsys.readouterr().err
    _stdin(monkeypatch, b"data")
    assert main(["analyze", "-", "-", "-o", "out/", "-q"]) == 1
    assert "can be read only once" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- URLs (a server on 127.0.0.1)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def serve():
    """serve(folder) -> http://127.0.0.1:PORT serving that folder (stopped after the test)."""
    servers = []

    def start(folder) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def served(media_dir, serve):
    """http://127.0.0.1:PORT serving media_dir (clip.mp4, silent.mp4, voice.wav)."""
    return serve(media_dir)


@pytest.mark.parametrize(("text", "url"), [("http://h/a.mp4", True), ("rtsp://h:554/s", True), ("https://h/x", True),
                                           ("clips/a.mp4", False), ("http:/h/a.mp4", False), ("C:\\a.mp4", False)])
def test_urls_are_told_from_paths(text, url):
    assert is_url(text) is url


def test_a_url_is_probed_and_analysed_like_its_file(fake_components, media_dir, served):
    url = f"{served}/clip.mp4"
    info = probe(url)
    assert info.path == url and (info.has_video, info.has_audio) == (True, True)
    assert info.duration == pytest.approx(probe(media_dir / "clip.mp4").duration)
    pipeline = Pipeline(AnalysisOptions(segment=0.5, **FAKE_CHOICES))
    remote, local = pipeline.analyze(url), pipeline.analyze(media_dir / "clip.mp4")
    assert remote.source == url
    assert [(s.start, s.end, s.faces, s.voice is None) for s in remote.segments] == \
        [(s.start, s.end, s.faces, s.voice is None) for s in local.segments]


def test_a_missing_url_is_a_media_error(served):
    with pytest.raises(MediaError, match="missing.mp4: not a media file ffmpeg can read"):
        probe(f"{served}/missing.mp4")


def test_analyze_command_reads_a_url(fake_components, served, tmp_path):
    from emofuse.cli import main

    assert main(["analyze", f"{served}/voice.wav", "-o", f"{tmp_path}/out/", "-q", *FAKE_FLAGS]) == 0
    rows = (tmp_path / "out" / "voice.csv").read_text().splitlines()  # 2 s of tone: 2 segments
    assert len(rows) == 3 and rows[2].startswith("1.0,2.0,angry,")


def test_an_image_url_is_a_one_segment_face_analysis(tmp_path, serve, pipeline):
    _image(tmp_path, "png")
    url = f"{serve(tmp_path)}/still.png?size=full"
    info = probe(url)
    assert info.still and (info.width, info.height) == (320, 240) and not info.has_audio
    segments = pipeline.analyze(url).segments
    assert [(s.start, s.end, s.faces) for s in segments] == [(0.0, STILL_DURATION, 1)]
    with pytest.raises(MediaError, match="gone.png: not an image OpenCV can read"):
        probe(f"{serve(tmp_path)}/gone.png")


def test_one_url_alone_is_one_file(tmp_path):
    import argparse

    from emofuse.batch.run import wants_batch

    def args(*inputs):
        return argparse.Namespace(inputs=list(inputs), from_list=None, jobs=None, cluster=None,
                                  timeout_per_file=None, force=False)

    assert not wants_batch(args("http://127.0.0.1:1/clip.mp4"))
    assert wants_batch(args("http://127.0.0.1:1/a.mp4", "http://127.0.0.1:1/b.mp4"))
