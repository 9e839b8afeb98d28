"""`emofuse live`, headless, with the fast fake components and fake or file-backed sources."""
from __future__ import annotations

import csv
import io
import subprocess
import sys
import threading
import time

import pytest

from emofuse import hookimpl, plugin_manager
from emofuse.cli import main
from emofuse.labels import LABELS
from emofuse.live import LiveSession
from emofuse.runner import AnalysisOptions, Pipeline
from emofuse.table import COLUMNS

from .conftest import REPO
from .fakes import FAKE_FLAGS, FakeCamera, FakeMic, Plugin

FLAGS = [*FAKE_FLAGS, "--fusion", "face-first", "--no-window", "-q"]
FAKE_SOURCES = ["--camera-source", "fake-camera", "--mic-source", "fake-mic"]


def read_rows(path):
    """The CSV's rows as dicts, after checking every line is complete (ends with a newline, all fields)."""
    text = path.read_text()
    assert text.endswith("\n"), "the last line is cut"
    lines = list(csv.reader(io.StringIO(text)))
    assert tuple(lines[0]) == COLUMNS
    for line in lines[1:]:
        assert len(line) == len(COLUMNS), f"incomplete line: {line}"
    return [dict(zip(COLUMNS, line)) for line in lines[1:]]


def run_in_thread(argv, timeout=15.0):
    """main(argv) on a thread, so that a run that never stops fails the test instead of hanging it."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(rc=main(argv)), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"emofuse live did not stop within {timeout} s"
    return result["rc"], time.monotonic() - started


def test_rows_have_the_analyze_schema(fake_components, media_dir, tmp_path):
    out, ref = tmp_path / "live.csv", tmp_path / "analyze.csv"
    clip, voice = str(media_dir / "clip.mp4"), str(media_dir / "voice.wav")
    argv = ["live", "--camera", clip, "--mic", voice, "--duration", "1.2", "--segment", "0.4", "-o", str(out)]
    assert main(argv + FLAGS) == 0
    assert main(["analyze", clip, "-o", str(ref), "-q", *FAKE_FLAGS]) == 0
    assert out.read_text().splitlines()[0] == ref.read_text().splitlines()[0]
    rows = read_rows(out)
    assert [(r["start"], r["end"]) for r in rows] == [("0.0", "0.4"), ("0.4", "0.8"), ("0.8", "1.2")]
    for row in rows:  # the clip is white for 1.5 s (happy face), the wav a loud tone (angry voice)
        assert row["faces"] == "1" and row["label"] == "happy" and float(row["face_happy"]) == pytest.approx(0.9)
        assert row["voice_angry"] and row["voice_neutral"]  # heard (the window is zero-padded at first)
        assert sum(float(row[f"fused_{label}"]) for label in LABELS) == pytest.approx(1.0, abs=1e-3)
        assert row["errors"] == ""
    assert float(rows[-1]["voice_angry"]) > 0.5  # by then the 2 s window holds more than 1 s of tone


def test_the_run_stops_at_duration(fake_components, tmp_path):
    out = tmp_path / "live.csv"
    rc, took = run_in_thread(["live", *FAKE_SOURCES, "--duration", "0.8", "--segment", "0.2", "-o", str(out), *FLAGS])
    assert rc == 0
    assert took >= 0.8  # stopping at all is checked by run_in_thread's timeout
    rows = read_rows(out)
    assert [r["end"] for r in rows] == ["0.2", "0.4", "0.6", "0.8"]
    assert all(r["voice_angry"] and r["face_happy"] for r in rows[1:])


@pytest.mark.parametrize("args, expected", [
    (["--camera", "{tmp}/nope.mp4", "--no-audio"], "nope.mp4: no such file"),
    (["--camera", "97", "--no-audio"], "camera 97: cannot open it"),
    (["--no-video", "--mic", "{tmp}/nope.wav"], "nope.wav: no such file"),
    (["--no-video", "--mic", "1"], 'pip install "emofuse[live]"'),
    (["--camera-source", "fake-mic", "--no-audio"], "media source 'fake-mic' gives audio, not video"),
    (["--no-video", "--no-audio"], "both the video and the audio are switched off"),
])
def test_a_missing_device_is_one_clear_line(fake_components, tmp_path, capsys, monkeypatch, args, expected):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # as if emofuse[live] were not installed
    out = tmp_path / "live.csv"
    argv = ["live", *[a.format(tmp=tmp_path) for a in args], "-o", str(out), *FLAGS]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("emofuse: error: ") and err.count("\n") == 1, err
    assert expected in err
    assert not out.exists()


@pytest.mark.parametrize("option, message, lost, kept", [
    ("camera.fail_after=10", "fake camera 0: lost after 10 frames; going on with the microphone", "face", "voice"),
    ("mic.fail_after=2", "fake mic default: unplugged; going on with the camera", "voice", "face"),
])
def test_a_device_lost_mid_run_leaves_the_other_going_and_a_complete_csv(fake_components, tmp_path, capsys,
                                                                         option, message, lost, kept):
    out = tmp_path / "live.csv"
    argv = ["live", *FAKE_SOURCES, "--set", option, "--duration", "1", "--segment", "0.25", "-o", str(out), *FLAGS]
    rc, _ = run_in_thread(argv)
    assert rc == 1
    assert capsys.readouterr().err == f"emofuse: error: {message}\n"
    rows = read_rows(out)
    assert len(rows) == 4
    assert any(r[f"{lost}_happy"] for r in rows[:2]) and not rows[-1][f"{lost}_happy"]
    assert all(r[f"{kept}_happy"] for r in rows), f"the {kept} must go on"
    assert sum(f"source failed: {message.split(';')[0]}" in r["errors"] for r in rows) == 1
    assert rows[-1]["faces"] == ("1" if kept == "face" else "0")


def test_when_every_source_is_lost_the_run_ends_by_itself(fake_components, tmp_path, capsys):
    out = tmp_path / "live.csv"
    rc, _ = run_in_thread(["live", "--camera-source", "fake-camera", "--set", "camera.fail_after=5", "--no-audio",
                           "--segment", "0.05", "-o", str(out), *FLAGS])
    assert rc == 1
    assert capsys.readouterr().err == "emofuse: error: fake camera 0: lost after 5 frames\n"
    rows = read_rows(out)
    assert any(r["face_happy"] for r in rows)  # the 5 frames before the loss are in


CHILD = """
import sys
from emofuse import plugin_manager
from tests.fakes import Plugin
plugin_manager._cached = plugin_manager.collect_components(extra_plugins={"fakes": Plugin()})
from emofuse.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_killed_run_loses_at_most_the_last_line(tmp_path):
    out = tmp_path / "live.csv"
    argv = ["live", *FAKE_SOURCES, "--segment", "0.05", "-o", str(out), *FLAGS]
    child = subprocess.Popen([sys.executable, "-c", CHILD, *argv], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and child.poll() is None:
            if out.exists() and out.read_text().count("\n") >= 6:
                break
            time.sleep(0.05)
        assert child.poll() is None, child.stderr.read().decode()
        child.kill()  # SIGKILL: no clean-up code runs
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    assert len(read_rows(out)) >= 5


def test_each_row_is_on_disk_as_soon_as_it_is_written(tmp_path):
    from emofuse.live import LiveCsv
    from emofuse.testing import sample_timeline

    path = tmp_path / "live.csv"
    writer = LiveCsv(path)
    try:
        for i, segment in enumerate(sample_timeline().segments[:3]):
            writer.write(segment)
            assert len(read_rows(path)) == i + 1  # read back through another file handle
    finally:
        writer.close()


class _SlowDetector:
    def detect(self, frame):
        time.sleep(0.04)
        return [__import__("emofuse").FaceBox(10, 10, 40, 40)]


class _Slow:
    @hookimpl
    def register_face_detectors(self, register):
        register("slow", _SlowDetector)


def test_frames_are_dropped_not_queued_when_analysis_is_slow():
    components = plugin_manager.collect_components(extra_plugins={"fakes": Plugin(), "slow": _Slow()})
    options = AnalysisOptions(face_detector="slow", visual_classifier="brightness", fusion="face-first", audio=False)
    camera = FakeCamera(fps=100)
    report = LiveSession(Pipeline(options, components), camera, duration=1.0).run()
    assert report.processed <= 26 < report.captured  # 40 ms a frame, 100 frames/s offered
    assert report.dropped >= report.captured - report.processed - 1
    assert max(report.delays) < 0.15, "a queue would make the delay grow towards the run's length"
    assert camera.closed


def test_the_voice_alone_gives_rows_and_q_stops_the_run(fake_components, tmp_path):
    class QuitAfter:
        calls = 0

        def update(self, state):
            self.calls += 1
            return self.calls > 30

    rows = []
    options = AnalysisOptions(audio_features="energy", audio_classifier="loud-angry", voice_activity="loud",
                              video=False, segment=0.1)  # the fake mic's tone is speech to the "loud" detector
    session = LiveSession(Pipeline(options), None, FakeMic(), on_segment=rows.append, view=QuitAfter())
    report = session.run()
    assert report.stopped_by == "user" and report.elapsed > 0
    assert rows and rows[-1].end == pytest.approx(report.elapsed)
    voiced = [r for r in rows if r.voice is not None]  # the voice runs on its own thread: not every row has it
    assert all(r.face is None for r in rows)
    assert voiced and all(r.voice.label == "angry" and r.label == "angry" for r in voiced)


def test_ctrl_c_ends_cleanly_with_the_rows_so_far(fake_components):
    class Interrupt:
        calls = 0

        def update(self, state):
            self.calls += 1
            if state.elapsed > 0.35:
                raise KeyboardInterrupt
            return False

    rows = []
    options = AnalysisOptions(face_detector="center", visual_classifier="brightness", fusion="face-first",
                              audio=False, segment=0.1)
    camera = FakeCamera()
    report = LiveSession(Pipeline(options), camera, on_segment=rows.append, view=Interrupt()).run()
    assert report.stopped_by == "interrupted" and camera.closed
    assert len(rows) >= 3 and rows[0].label == "happy"
