"""The annotated video: boxes where and when the faces were found, the speaker marked, the fused
strip, the soundtrack copied unchanged, refusals before any analysis."""
from __future__ import annotations

import subprocess

import cv2
import numpy as np
import pytest

import emofuse
from emofuse.annotate import MAX_HOLD, Painter, _grid, annotate_video, check_target, sighting_hold
from emofuse.cli import main
from emofuse.errors import EmofuseError
from emofuse.media import probe
from emofuse.plot import COLORS
from emofuse.testing import write_media
from emofuse.types import FaceBox, PersonResult, SegmentResult, Sighting, Timeline

from .fakes import FAKE_CHOICES, FAKE_FLAGS, one_hot

ANGRY = tuple(int(COLORS["angry"][i:i + 2], 16) for i in (1, 3, 5))
BOX = FaceBox(60, 20, 60, 60)


def _timeline(sightings=(), speaker=None, seconds=2, people=("P1",)) -> Timeline:
    segments = [SegmentResult(float(i), float(i + 1), fused=one_hot("angry", 0.7), faces=len(people),
                              people=tuple(PersonResult(p, BOX) for p in people), speaker=speaker)
                for i in range(seconds)]
    return Timeline("clip.mp4", segments, {"fusion": "weighted"}, float(seconds), sightings=tuple(sightings))


def _sighting(time, box=BOX, person="P1", label="angry") -> Sighting:
    return Sighting(time, box, person, one_hot(label))


def _grey(width=320, height=240) -> np.ndarray:
    return np.full((height, width, 3), 128, np.uint8)


def _redness(frame: np.ndarray, box: FaceBox = BOX) -> float:
    """R - B along the middle of the box's left edge (angry boxes are orange-red; grey is 0)."""
    edge = frame[box.y + box.height // 3: box.y + 2 * box.height // 3, box.x - 1: box.x + 2].astype(int)
    return float((edge[..., 0] - edge[..., 2]).mean())


# --------------------------------------------------------------------------- drawing on frames


def test_box_in_its_label_colour_from_its_frame_until_the_hold_runs_out():
    painter = Painter(_timeline([_sighting(1.0)]), 320, 240, hold=0.25)
    drawn = {t: _redness(painter.draw(_grey(), t)) for t in (0.95, 1.0, 1.2, 1.3)}
    assert drawn[1.0] > 100 and drawn[1.2] > 100  # on its frame, and on frames before the next analysed one
    assert drawn[0.95] < 5 and drawn[1.3] < 5  # not before it was found, gone after the hold
    frame = painter.draw(_grey(), 1.0)
    assert np.abs(frame[BOX.y + BOX.height // 2, BOX.x].astype(int) - ANGRY).max() < 40


def test_next_analysed_frame_replaces_the_boxes():
    moved = FaceBox(200, 20, 60, 60)
    painter = Painter(_timeline([_sighting(1.0), _sighting(1.25, moved)]), 320, 240, hold=0.5)
    before, after = painter.draw(_grey(), 1.2), painter.draw(_grey(), 1.3)
    assert _redness(before) > 100 and _redness(before, moved) < 5
    assert _redness(after) < 5 and _redness(after, moved) > 100


def _tag_width(frame: np.ndarray) -> int:
    """How far the label-coloured tag above the box reaches (pixels in its colour along a row)."""
    row = frame[BOX.y - 6].astype(int)
    return int((np.abs(row - ANGRY).max(axis=1) < 40).sum())


def test_label_tag_names_person_label_and_confidence():
    """The tag above the box is filled with the label colour and says `P1 angry 90%`; a face that
    is nobody (too brief, or --no-persons) has its label and confidence, no id."""
    frame = Painter(_timeline([_sighting(0.0)]), 320, 240, hold=0.3).draw(_grey(), 0.1)
    nobody = Painter(_timeline([_sighting(0.0, person=None)]), 320, 240, hold=0.3).draw(_grey(), 0.1)
    assert _redness(nobody) > 100  # still in its label's colour
    named, anonymous = _tag_width(frame), _tag_width(nobody)
    assert anonymous > 40 and named > anonymous + 10  # "P1 " makes the tag wider


def test_speaker_is_marked_and_nobody_else():
    other = FaceBox(200, 20, 60, 60)
    sightings = [_sighting(0.0), _sighting(0.0, other, "P2")]
    quiet = Painter(_timeline(sightings, people=("P1", "P2")), 320, 240, hold=0.5).draw(_grey(), 0.1)
    talking = Painter(_timeline(sightings, speaker="P1", people=("P1", "P2")), 320, 240, hold=0.5).draw(_grey(), 0.1)
    right_of_p1 = (slice(BOX.y, BOX.y + 30), slice(BOX.x + BOX.width + 6, BOX.x + BOX.width + 40))
    assert np.abs(talking[right_of_p1].astype(int) - quiet[right_of_p1]).max() > 100  # the speech mark
    around_p2 = (slice(other.y - 20, other.y + other.height), slice(other.x - 4, 320))
    assert np.array_equal(talking[around_p2], quiet[around_p2])


def test_strip_shows_the_segment_fused_scores():
    painter = Painter(_timeline(), 320, 240)
    frame = painter.draw(_grey(), 0.5)
    bar = frame[240 - painter.pad - 2, painter.pad + 1: 320 - painter.pad - 1].astype(int)
    assert (np.abs(bar - ANGRY).max(axis=1) < 10).mean() == pytest.approx(0.7, abs=0.03)  # angry 70 %
    assert frame[:240 - painter.strip].max() == 128  # nothing drawn above the strip without faces
    after = painter.draw(_grey(), 2.5)  # past the last segment: a dark strip, no bar
    assert (np.abs(after[240 - painter.pad - 2].astype(int) - ANGRY).max(axis=1) < 10).sum() == 0


def test_hold_follows_the_sampling_and_is_capped():
    at_4fps = [_sighting(t) for t in (0.0, 0.24, 0.52, 0.76, 1.0)]
    assert sighting_hold(at_4fps) == pytest.approx(1.5 * 0.24)
    sparse = [_sighting(t) for t in (0.0, 2.0, 4.0)]
    assert sighting_hold(sparse) == MAX_HOLD
    assert sighting_hold([_sighting(0.0)]) == 0.5


def test_constant_rate_grid_repeats_and_drops_frames_of_a_variable_rate_source():
    frames = [(t, f"f{t}") for t in (0.0, 0.1, 0.12, 0.37)]  # 0.1 superseded, a gap before 0.37
    slots = [frame for _, frame in _grid(iter(frames), 10.0)]
    assert slots == ["f0.0", "f0.12", "f0.12", "f0.12", "f0.37"]
    steady = [(i / 10, i) for i in range(7)]
    assert [frame for _, frame in _grid(iter(steady), 10.0)] == list(range(7))


# --------------------------------------------------------------------------- the file


def _frames(path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        out.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    return out


def _audio_md5(path) -> str:
    import imageio_ffmpeg

    done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a",
                           "-c", "copy", "-f", "md5", "-"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def grey_clip(tmp_path_factory):
    return write_media(tmp_path_factory.mktemp("annotate") / "grey.mp4", 2.0, fps=10, size=(320, 240), face=False)


def test_annotated_file_same_frames_soundtrack_copied_boxes_on_their_frames(grey_clip, tmp_path):
    target = tmp_path / "out.mp4"
    seen = []
    timeline = _timeline([_sighting(1.0)])
    annotate_video(timeline, grey_clip, target, hold=0.25, progress=lambda seg, n: seen.append((seg.start, n)))
    assert seen == [(0.0, 2), (1.0, 2)]
    source, out = probe(grey_clip), probe(target)
    assert (out.width, out.height, out.fps) == (source.width, source.height, source.fps)
    assert out.duration == pytest.approx(source.duration, abs=0.1)
    assert _audio_md5(target) == _audio_md5(grey_clip)  # the soundtrack's packets, bit for bit
    frames = _frames(target)
    assert len(frames) == len(_frames(grey_clip)) == 20
    redness = [_redness(f) for f in frames]
    assert min(redness[10:13]) > 60  # 1.0, 1.1, 1.2 s
    assert max(redness[:10] + redness[13:]) < 20  # before 1.0 s and after the 0.25 s hold
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]  # no temp file left


def test_real_analysis_draws_on_the_clip(fake_components, tmp_path):
    clip = write_media(tmp_path / "clip.mkv", 2.0, fps=10, size=(160, 120), audio=None)
    timeline = emofuse.analyze(clip, **FAKE_CHOICES)
    assert timeline.sightings
    target = annotate_video(timeline, clip, tmp_path / "clip.annotated.mkv")
    frames = _frames(target)
    assert len(frames) == 20 and not probe(target).has_audio
    original = _frames(clip)
    changed = [np.abs(a.astype(int) - b).max() > 80 for a, b in zip(frames, original)]
    assert all(changed)


def test_refusals(tmp_path, grey_clip):
    timeline = _timeline()
    with pytest.raises(EmofuseError, match="name it out.mp4"):
        check_target(tmp_path / "out.avi")
    with pytest.raises(EmofuseError, match="is an input"):
        annotate_video(timeline, grey_clip, grey_clip)
    voice = write_media(tmp_path / "voice.wav", 1.0)
    with pytest.raises(EmofuseError, match="audio only"):
        annotate_video(timeline, voice, tmp_path / "voice.mp4")
    assert not (tmp_path / "voice.mp4").exists()


# --------------------------------------------------------------------------- the command


def _run(capsys, *args):
    code = main(["analyze", *args, *FAKE_FLAGS])
    return code, capsys.readouterr().err


def test_cli_annotates_and_reports(fake_components, media_dir, tmp_path, capsys):
    code, err = _run(capsys, str(media_dir / "clip.mp4"), "-o", str(tmp_path / "clip.csv"),
                     "--annotate", str(tmp_path / "clip.annotated.mp4"), "--html", str(tmp_path / "clip.html"))
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.annotated.mp4", "clip.csv", "clip.html"]
    assert len(_frames(tmp_path / "clip.annotated.mp4")) == len(_frames(media_dir / "clip.mp4"))
    assert '"src":"clip.annotated.mp4"' in (tmp_path / "clip.html").read_text()  # the report plays the drawn film


@pytest.mark.parametrize("case", ["input", "audio-only", "suffix", "unwritable", "embed-alone"])
def test_cli_refuses_before_the_analysis(fake_components, media_dir, tmp_path, capsys, case):
    clip, source = media_dir / "clip.mp4", media_dir / ("voice.wav" if case == "audio-only" else "clip.mp4")
    extra = {"input": ["--annotate", str(clip)], "audio-only": ["--annotate", str(tmp_path / "v.mp4")],
             "suffix": ["--annotate", str(tmp_path / "v.avi")], "unwritable": ["--annotate", "/proc/v.mp4"],
             "embed-alone": ["--embed"]}[case]
    code, err = _run(capsys, str(source), "-o", str(tmp_path / "t.csv"), *extra)
    assert code == 1 and err.count("\n") == 1 and err.startswith("emofuse: error:")
    assert list(tmp_path.iterdir()) == []  # refused before the analysis wrote anything
