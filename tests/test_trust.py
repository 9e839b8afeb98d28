"""A timeline you can trust (issue 14): real frame times, damaged files flagged, components that
fail from the start stop the file."""
from __future__ import annotations

import warnings

import pandas as pd
import pytest

from emofuse import FaceBox, hookimpl, plugin_manager
from emofuse.cli import main
from emofuse.damage import EARLY_STOP, StreamStop, record_stops, stopped_early
from emofuse.errors import DamagedMediaWarning, MediaError, PluginError
from emofuse.fail_fast import FAIL_FAST_SEGMENTS
from emofuse.media import AudioStream, iter_frames, probe
from emofuse.runner import AnalysisOptions, Pipeline
from emofuse.testing import write_media
from emofuse.types import SegmentResult

from .conftest import ffmpeg
from .fakes import FAKE_CHOICES, FAKE_FLAGS

# --------------------------------------------------------------------------- variable frame rate

#: The VFR clip keeps every frame outside 1-4 s and one in three inside (frames 25..99 at 25 fps).
DROPPED = range(25, 100)


def _kept(n: int) -> bool:
    return n not in DROPPED or n % 3 == 0


@pytest.fixture(scope="module")
def vfr_clip(tmp_path_factory):
    """6 s, 25 fps, the sample face in odd seconds only (1-2, 3-4, 5-6 s), then frames dropped
    between 1 and 4 s with their timestamps kept (a variable frame rate file)."""
    d = tmp_path_factory.mktemp("vfr")
    cfr = write_media(d / "cfr.mp4", 6.0, fps=25, size=(640, 480), face="alternate", audio=None, face_motion=False)
    vfr = d / "vfr.mp4"
    ffmpeg("-i", str(cfr), "-vf", f"select='not(between(n\\,{DROPPED.start}\\,{DROPPED.stop - 1})*mod(n\\,3))'",
           "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", str(vfr))
    return vfr


def test_vfr_frame_times_are_presentation_times(vfr_clip):
    info = probe(vfr_clip)
    expected = [n / 25 for n in range(150) if _kept(n)]
    assert info.fps != 25  # the container's average rate: index / fps would misplace frames
    times = [t for t, _ in iter_frames(info, None)]
    assert times == pytest.approx(expected, abs=1e-6)
    sampled = [t for t, _ in iter_frames(info, 4.0)]
    assert all(b > a for a, b in zip(sampled, sampled[1:]))
    assert sampled[:2] == pytest.approx([0.0, 0.28])  # first frame at or after 0.25 s


def test_vfr_faces_land_in_the_right_segments(fake_components, vfr_clip):
    choices = {**FAKE_CHOICES, "face_detector": "haar"}
    timeline = Pipeline(AnalysisOptions(audio=False, persons=False, **choices)).analyze(vfr_clip)
    assert [s.faces for s in timeline.segments] == [0, 1, 0, 1, 0, 1]
    assert all(not s.errors for s in timeline.segments)


# --------------------------------------------------------------------------- damaged files


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """A whole 6 s mp4 (index at the front, as streaming files are) and the same cut at half its
    size: the container still says 6 s, the data ends near 3 s."""
    d = tmp_path_factory.mktemp("damaged")
    plain = write_media(d / "plain.mp4", 6.0, fps=10, size=(160, 120), audio="tone")
    whole = d / "whole.mp4"
    ffmpeg("-i", str(plain), "-c", "copy", "-movflags", "+faststart", str(whole))
    cut = d / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    flac = write_media(d / "voice.flac", 4.0, audio="tone")  # its header says 4 s (a wav's does not)
    cut_flac = d / "cut.flac"
    data = flac.read_bytes()
    cut_flac.write_bytes(data[: len(data) // 2])
    return whole, cut, cut_flac


def _analyze(path, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        timeline = Pipeline(AnalysisOptions(persons=False, **{**FAKE_CHOICES, **options})).analyze(path)
    return timeline, [str(w.message) for w in caught if issubclass(w.category, DamagedMediaWarning)]


def test_whole_file_has_no_damage_warning(fake_components, damaged):
    timeline, warned = _analyze(damaged[0])
    assert warned == [] and not any(s.errors for s in timeline.segments)


def test_truncated_video_is_warned_and_recorded_in_the_empty_segments(fake_components, damaged):
    _, cut, _ = damaged
    assert probe(cut).duration == pytest.approx(6.0, abs=0.1)
    timeline, warned = _analyze(cut)
    video = [w for w in warned if "video decoding stopped" in w]
    assert len(video) == 1 and video[0].startswith(f"{cut}: video decoding stopped at ")
    stop = float(video[0].split(" at ")[1].split(" s ")[0])
    assert 1.0 < stop < 5.0 and video[0].endswith("of 6.0 s")
    for segment in timeline.segments:
        marked = any(e.startswith("video decoding stopped") for e in segment.errors)
        assert marked == (segment.end > stop + 0.05), segment
    assert timeline.segments[0].face is not None and timeline.segments[-1].face is None


def test_truncated_audio_only_file(fake_components, damaged):
    timeline, warned = _analyze(damaged[2])
    assert len(warned) == 1 and warned[0].startswith(f"{damaged[2]}: audio decoding stopped at ")
    stop = float(warned[0].split(" at ")[1].split(" s ")[0])
    assert 0.5 < stop < 3.0 and warned[0].endswith("of 4.0 s")
    assert [bool(s.errors) for s in timeline.segments] == [s.end > stop + 0.05 for s in timeline.segments]
    assert timeline.segments[0].voice is not None and timeline.segments[-1].voice is None


def test_strict_makes_damage_an_error(fake_components, damaged, tmp_path, capsys):
    _, cut, _ = damaged
    target = tmp_path / "o.csv"
    assert main(["analyze", str(cut), "-o", str(target), "-q", *FAKE_FLAGS]) == 0
    errors = pd.read_csv(target)["errors"].fillna("")
    assert errors.str.contains("video decoding stopped").any() and errors.iloc[0] == ""
    target.unlink()
    code = main(["analyze", str(cut), "-o", str(target), "-q", "--strict", *FAKE_FLAGS])
    err = capsys.readouterr().err
    assert code == 1 and f"emofuse: error: {cut}: video decoding stopped at" in err and not target.exists()
    assert main(["analyze", str(damaged[0]), "-o", str(target), "-q", "--strict", *FAKE_FLAGS]) == 0


def test_damage_warning_is_a_media_error():
    assert issubclass(DamagedMediaWarning, MediaError) and issubclass(DamagedMediaWarning, UserWarning)


@pytest.mark.parametrize(("covered", "stopped"), [(9.5, False), (9.49, True), (0.0, True), (10.0, False)])
def test_early_stop_threshold(covered, stopped):
    assert EARLY_STOP == 0.5
    assert (stopped_early("video", covered, 10.0) is not None) is stopped


def test_early_stop_allows_two_frames_of_a_slow_stream():
    assert stopped_early("video", 8.1, 10.0, period=1.0) is None  # a 1 fps timelapse
    assert stopped_early("video", 7.9, 10.0, period=1.0) == StreamStop("video", 7.9, 10.0)


def test_record_stops_marks_segments_ending_after_the_stop():
    segments = [SegmentResult(float(i), float(i + 1)) for i in range(4)]
    with pytest.warns(DamagedMediaWarning, match="clip.mp4: audio decoding stopped at 2.0 s of 4.0 s"):
        out = record_stops("clip.mp4", segments, [None, StreamStop("audio", 2.0, 4.0)])
    message = "audio decoding stopped at 2.0 s of 4.0 s"
    assert [s.errors for s in out] == [(), (), (message,), (message,)]
    assert [s.errors for s in segments] == [()] * 4  # the input is left as it was


def test_audio_stream_stop_only_after_its_end(damaged):
    with AudioStream(damaged[2]) as audio:
        audio.window(0.0, 1.0)
        assert audio.stop(4.0) is None  # not read to its end yet
        audio.window(1.0, 4.0)
        stop = audio.stop(4.0)
        assert stop.stream == "audio" and 0.5 < stop.at < 3.0 and stop.duration == 4.0


# --------------------------------------------------------------------------- fail fast


class FlakyFace:
    """Raises on its first `fail` calls, then finds one face in the middle."""

    def __init__(self, fail: int = 1_000_000) -> None:
        self.fail, self.calls = fail, 0

    def detect(self, frame):
        self.calls += 1
        if self.calls <= self.fail:
            raise RuntimeError("broken")
        h, w = frame.shape[:2]
        return [FaceBox(w // 2 - 20, h // 2 - 20, 40, 40)]


class TrustPlugin:
    @hookimpl
    def register_face_detectors(self, register):
        register("flaky", FlakyFace, description="test: fails first")


@pytest.fixture
def flaky_components(monkeypatch):
    from .fakes import Plugin

    components = plugin_manager.collect_components(extra_plugins={"fakes": Plugin(), "trust": TrustPlugin()})
    monkeypatch.setattr(plugin_manager, "_cached", components)
    return components


def _flaky(fail: int) -> Pipeline:
    choices = {**FAKE_CHOICES, "face_detector": "flaky"}
    return Pipeline(AnalysisOptions(fps=1.0, audio=False, persons=False, component_options={"face_detector": {"fail": fail}},
                                    **choices))


def test_component_failing_every_segment_stops_the_file(flaky_components, media_dir):
    assert FAIL_FAST_SEGMENTS == 3
    pipeline = _flaky(1_000_000)
    with pytest.warns(RuntimeWarning), pytest.raises(PluginError) as caught:
        pipeline.analyze(media_dir / "clip.mp4")  # 3 segments, one frame analysed in each
    assert str(caught.value) == ("face detector 'flaky' (plugin trust) failed: RuntimeError: broken "
                                 "(in each of its first 3 segments; stopped)")
    assert pipeline.face_detector.calls == 3


def test_component_failing_fewer_segments_only_leaves_gaps(flaky_components, media_dir):
    with pytest.warns(RuntimeWarning, match="broken"):
        timeline = _flaky(FAIL_FAST_SEGMENTS - 1).analyze(media_dir / "clip.mp4")
    assert [bool(s.errors) for s in timeline.segments] == [True, True, False]
    assert timeline.segments[2].faces == 1


def test_fail_fast_counts_again_for_each_file(flaky_components, media_dir):
    pipeline = _flaky(FAIL_FAST_SEGMENTS - 1)
    with pytest.warns(RuntimeWarning):
        pipeline.analyze(media_dir / "clip.mp4")  # it worked on the third segment of the first file
    pipeline.face_detector.calls, pipeline.face_detector.fail = 0, 1_000_000  # broken from now on
    with pytest.raises(PluginError, match="in each of its first 3 segments"):
        pipeline.analyze(media_dir / "clip.mp4")


def test_cli_exits_1_when_a_component_fails_every_segment(flaky_components, media_dir, tmp_path, capsys):
    target = tmp_path / "o.csv"
    flags = list(FAKE_FLAGS)
    flags[flags.index("center")] = "flaky"
    code = main(["analyze", str(media_dir / "clip.mp4"), "-o", str(target), "-q", "--fps", "1", "--no-audio", *flags])
    err = capsys.readouterr().err
    assert code == 1 and "(in each of its first 3 segments; stopped)" in err and not target.exists()
