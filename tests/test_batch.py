"""Batch analysis: inputs, mirrored outputs, resuming, worker processes, a Dask cluster."""
from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emofuse.batch.inputs import find_inputs
from emofuse.batch.journal import Journal, is_complete, make_record, remove_stale_parts
from emofuse.cli import main
from emofuse.errors import EmofuseError

from .batch_fakes import BATCH_FLAGS
from .conftest import REPO, ffmpeg


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> Path:
    """White clips of 1, 2 and 3 s with a tone (faces, voice), a red one (kills its worker) and a
    green one (hangs its worker)."""
    d = tmp_path_factory.mktemp("batch-clips")
    for name, colour, seconds in [("w1", "white", 1), ("w2", "white", 2), ("w3", "white", 3), ("red", "red", 1),
                                  ("green", "0x00FF00", 1)]:
        ffmpeg("-f", "lavfi", "-i", f"color=c={colour}:size=96x72:rate=8:duration={seconds}",
               "-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=16000:duration={seconds}",
               "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(d / f"{name}.mp4"))
    return d


def tree(root: Path, files: dict[str, str]) -> Path:
    """Copy clips (or write text) into `root`: relative path -> clip name (w1, red...) or 'text'."""
    for rel, what in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if what == "text":
            path.write_text("not media\n")
        else:
            shutil.copyfile(CLIPS[0] / f"{what}.mp4", path)
    return root


CLIPS: list[Path] = []


@pytest.fixture
def batch_components(monkeypatch):
    """Built-ins, the fakes and the probe detector, as what the CLI sees."""
    from emofuse import plugin_manager

    from .batch_fakes import components

    monkeypatch.setattr(plugin_manager, "_cached", components())


@pytest.fixture(autouse=True)
def _clips_dir(clips):
    CLIPS[:] = [clips]


def run(capsys, *args):
    code = main(["analyze", *args, *BATCH_FLAGS])
    out, err = capsys.readouterr()
    return code, err


def outputs(out: Path) -> dict[str, bytes]:
    """Every file under `out` but the journal and the index (their times differ), by relative path."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".emofuse" not in p.parts and p.name != "index.csv"}


def index(out: Path) -> dict[str, dict]:
    with open(out / "index.csv", newline="") as f:
        return {r["path"]: r for r in csv.DictReader(f)}


# --- inputs ---------------------------------------------------------------------------------------


def test_folder_is_searched_recursively_and_non_media_counted(tmp_path):
    root = tree(tmp_path / "in", {"a.mp4": "w1", "s1/ep1.mp4": "w1", "s1/deep/ep2.MKV": "w1", "s2/ep1.wav": "w1",
                                  "notes.txt": "text", "s1/cover.jpg": "text", ".hidden/x.mp4": "w1",
                                  "s1/.x.mp4": "w1"})
    found = find_inputs([str(root)])
    assert sorted(found.names.values()) == ["a", "s1/deep/ep2", "s1/ep1", "s2/ep1"]
    assert found.skipped == 2 and all(os.path.isabs(s) for s in found.sources)


def test_glob_names_relative_to_its_fixed_part_and_list_relative_to_its_folder(tmp_path, monkeypatch):
    root = tree(tmp_path / "in", {"s1/ep1.mp4": "w1", "s2/ep1.mp4": "w1", "s2/ep2.mov": "w1", "s2/x.txt": "text"})
    monkeypatch.chdir(tmp_path)
    found = find_inputs(["in/**/ep1.mp4"])
    assert sorted(found.names.values()) == ["s1/ep1", "s2/ep1"]
    listing = root / "list.txt"
    listing.write_text("# clips\ns1/ep1.mp4\n\n  s2  \nhttps://example.org/media/talk%201.mp4?x=1\n")
    found = find_inputs([], from_list=str(listing))
    assert list(found.names.values()) == ["s1/ep1", "ep1", "ep2", "talk 1"]
    assert found.skipped == 1 and found.sources[-1].startswith("https://")


def test_output_folder_inside_the_input_folder_is_not_an_input(tmp_path):
    root = tree(tmp_path / "in", {"a.mp4": "w1", "out/old.annotated.mp4": "w1"})
    assert list(find_inputs([str(root)], exclude=[str(root / "out")]).names.values()) == ["a"]


@pytest.mark.parametrize("arg, problem", [("empty", "is a directory with no media files"),
                                          ("in/*.avi", "matches no file")])
def test_nothing_to_find_is_an_error(tmp_path, monkeypatch, arg, problem):
    (tmp_path / "empty").mkdir()
    tree(tmp_path / "in", {"a.mp4": "w1"})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(EmofuseError, match=problem):
        find_inputs([arg])


# --- the journal ----------------------------------------------------------------------------------


def test_record_is_complete_only_for_the_same_settings_input_and_outputs(tmp_path):
    out = tmp_path / "a.csv"
    out.write_text("x\n")
    record = make_record("a.mp4", "fp1", [10, 5], [str(out)], {"status": "done"})
    assert is_complete(record, "fp1", [10, 5], [str(out)])
    assert not is_complete(record, "fp2", [10, 5], [str(out)])  # other settings or models
    assert not is_complete(record, "fp1", [10, 6], [str(out)])  # the input changed
    assert not is_complete(record, "fp1", [10, 5], [str(out), str(tmp_path / "a.png")])  # more outputs wanted
    out.write_text("x\ny\n")
    assert not is_complete(record, "fp1", [10, 5], [str(out)])  # the output is not what was written
    out.unlink()
    assert not is_complete(record, "fp1", [10, 5], [str(out)])
    assert make_record("a.mp4", "fp1", None, [str(out)], {}) is None


def test_journal_ignores_a_torn_last_line(tmp_path):
    journal = Journal(tmp_path)
    journal.append({"source": "a", "n": 1})
    journal.append({"source": "b", "n": 1})
    journal.append({"source": "a", "n": 2})
    journal.close()
    with open(journal.path, "a") as f:
        f.write('{"source": "c", "n"')  # killed mid-line
    assert {s: r["n"] for s, r in journal.load().items()} == {"a": 2, "b": 1}


def test_stale_temp_files_of_planned_outputs_are_removed(tmp_path):
    names = [".a.csv.k2j4_x9z.part.csv", ".a.png.abcdefgh.part.png", ".b.csv.abcdefgh.part.csv", "a.csv",
             ".a.csv.short.part.csv"]
    for name in names:
        (tmp_path / name).write_text("")
    assert remove_stale_parts([tmp_path / "a.csv", tmp_path / "a.png"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.csv.short.part.csv", ".b.csv.abcdefgh.part.csv", "a.csv"]


# --- the command ----------------------------------------------------------------------------------


def test_folder_mirrored_under_the_output_folder_with_an_index(batch_components, tmp_path, capsys):
    root = tree(tmp_path / "in", {"s1/ep1.mp4": "w1", "s2/ep1.mp4": "w2", "top.mp4": "w3", "notes.txt": "text"})
    out = tmp_path / "out"
    code, err = run(capsys, str(root), "-o", str(out), "--plot", str(tmp_path / "plots"))
    assert code == 0
    assert sorted(outputs(out)) == ["s1/ep1.csv", "s2/ep1.csv", "top.csv"]
    assert sorted(p.relative_to(tmp_path / "plots").as_posix() for p in (tmp_path / "plots").rglob("*.png")) == [
        "s1/ep1.png", "s2/ep1.png", "top.png"]
    assert "1 files that are not media skipped" in err and "3 analysed, 0 already complete, 0 failed" in err
    rows = index(out)
    assert {Path(p).name for p in rows} == {"ep1.mp4", "top.mp4"} and len(rows) == 3
    row = rows[str(root / "s2" / "ep1.mp4")]
    assert row["status"] == "done" and row["segments"] == "2" and row["dominant"] == "angry"


def test_two_inputs_writing_the_same_output_are_refused_before_any_analysis(batch_components, tmp_path, capsys):
    root = tree(tmp_path / "in", {"a.mp4": "w1", "a.wav": "w1"})
    code, err = run(capsys, str(root), "-o", str(tmp_path / "out"))
    assert code == 1 and "would both write" in err and not (tmp_path / "out").exists()


def test_a_file_name_for_a_folder_of_inputs_is_refused(batch_components, tmp_path, capsys):
    root = tree(tmp_path / "in", {"a.mp4": "w1"})
    code, err = run(capsys, str(root), "-o", str(tmp_path / "out.csv"))
    assert code == 1 and "must be a folder" in err


def test_rerun_skips_complete_inputs_and_redoes_what_changed(batch_components, tmp_path, capsys):
    root = tree(tmp_path / "in", {"a.mp4": "w1", "b.mp4": "w2", "c.mp4": "w3"})
    out = tmp_path / "out"
    assert run(capsys, str(root), "-o", str(out))[0] == 0
    first = outputs(out)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("?.csv")}
    code, err = run(capsys, str(root), "-o", str(out))
    assert code == 0 and "0 analysed, 3 already complete" in err
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("?.csv")} == stamps
    assert {r["status"] for r in index(out).values()} == {"skipped"}
    (out / "b.csv").unlink()  # a missing output
    os.utime(root / "c.mp4", ns=(1, 1))  # a changed input
    code, err = run(capsys, str(root), "-o", str(out))
    assert code == 0 and "2 analysed, 1 already complete" in err and outputs(out) == first
    code, err = run(capsys, str(root), "-o", str(out), "--segment", "0.5")  # other settings: all redone
    assert "3 analysed, 0 already complete" in err
    code, err = run(capsys, str(root), "-o", str(out), "--segment", "0.5")
    assert "0 analysed, 3 already complete" in err  # the new settings are now the recorded ones
    code, err = run(capsys, str(root), "-o", str(out), "--segment", "0.5", "--force")
    assert "3 analysed, 0 already complete" in err


def test_a_failed_file_fails_alone_and_sets_the_exit_code(batch_components, tmp_path, capsys):
    root = tree(tmp_path / "in", {"a.mp4": "w1", "b.mp4": "text"})
    (root / "b.mp4").write_bytes(b"not a video")
    out = tmp_path / "out"
    code, err = run(capsys, str(root), "-o", str(out))
    assert code == 1 and "b.mp4: not a media file" in err and "1 analysed" in err and "1 failed" in err
    assert sorted(outputs(out)) == ["a.csv"] and index(out)[str(root / "b.mp4")]["status"] == "failed"


def test_jobs_2_writes_what_one_process_writes(batch_components, tmp_path, capsys):
    root = tree(tmp_path / "in", {"s1/a.mp4": "w1", "s1/b.mp4": "w2", "c.mp4": "w3", "d.wav": "w2"})
    assert run(capsys, str(root), "-o", str(tmp_path / "one"))[0] == 0
    code, err = run(capsys, str(root), "-o", str(tmp_path / "two"), "--jobs", "2")
    assert code == 0, err
    assert outputs(tmp_path / "two") == outputs(tmp_path / "one") and len(outputs(tmp_path / "one")) == 4


@pytest.mark.slow
def test_poison_file_fails_alone_after_one_retry_and_a_hang_is_given_up(batch_components, tmp_path, capsys):
    root = tree(tmp_path / "in", {"a.mp4": "w1", "poison.mp4": "red", "stuck.mp4": "green", "b.mp4": "w2"})
    out = tmp_path / "out"
    code, err = run(capsys, str(root), "-o", str(out), "--jobs", "2", "--timeout-per-file", "3")
    assert code == 1
    rows = index(out)
    poison, stuck = rows[str(root / "poison.mp4")], rows[str(root / "stuck.mp4")]
    assert poison["status"] == "failed" and poison["attempts"] == "2" and "died 2 times (killed by SIGKILL" in err
    assert stuck["status"] == "timeout" and "given up after 3 s" in err
    assert sorted(outputs(out)) == ["a.csv", "b.csv"]
    assert not [p for p in out.rglob("*") if ".part" in p.name]


def _batch_process(root: Path, out: Path, *flags: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.batch_fakes", str(root), "-o", str(out), "-q", *flags],
                            cwd=REPO, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_run_killed_with_sigkill_resumes_to_the_outputs_of_an_uninterrupted_run(tmp_path):
    root = tree(tmp_path / "in", {f"s{i % 2}/c{i}.mp4": f"w{1 + i % 3}" for i in range(5)})
    slow = ["--set", "face-detector.delay=0.08", "--jobs", "2"]
    whole = _batch_process(root, tmp_path / "whole", *slow)
    assert whole.wait(120) == 0, whole.stderr.read()
    out = tmp_path / "out"
    killed = _batch_process(root, out, *slow)
    journal = out / ".emofuse" / "done.jsonl"
    deadline = time.monotonic() + 60
    while not (journal.exists() and journal.read_text().count("\n") >= 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(10)
    done_before = journal.read_text().count("\n")
    assert 1 <= done_before < 5
    killed_index = index(out)  # whole (rewritten atomically), a row per input from the start
    assert len(killed_index) == 5 and {r["status"] for r in killed_index.values()} <= {"done", "pending"}
    resumed = _batch_process(root, out, *slow)
    assert resumed.wait(120) == 0, resumed.stderr.read()
    assert outputs(out) == outputs(tmp_path / "whole") and len(outputs(out)) == 5
    assert not [p for p in out.rglob("*") if ".part" in p.name]
    statuses = [r["status"] for r in index(out).values()]
    assert statuses.count("skipped") >= done_before and statuses.count("done") + statuses.count("skipped") == 5


# --- a Dask cluster -------------------------------------------------------------------------------


@pytest.mark.slow
def test_dask_cluster_writes_what_one_process_writes_and_a_poison_file_fails_alone(batch_components, tmp_path,
                                                                                   capsys):
    distributed = pytest.importorskip("distributed", reason="Dask distributed is not installed (emofuse[cluster])")
    import dask

    root = tree(tmp_path / "in", {"s1/a.mp4": "w1", "s1/b.mp4": "w2", "c.mp4": "w3"})
    assert run(capsys, str(root), "-o", str(tmp_path / "one"))[0] == 0
    (root / "s2").mkdir()
    shutil.copyfile(CLIPS[0] / "red.mp4", root / "s2" / "poison.mp4")
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                     scheduler_port=0) as cluster:
        code, err = run(capsys, str(root), "-o", str(tmp_path / "dask"), "--cluster", cluster.scheduler_address)
    assert code == 1 and "poison.mp4: the Dask workers analysing it died" in err
    assert outputs(tmp_path / "dask") == outputs(tmp_path / "one")
    assert index(tmp_path / "dask")[str(root / "s2" / "poison.mp4")]["status"] == "failed"


def test_cluster_flag_without_distributed_or_scheduler_is_one_clear_line(batch_components, tmp_path, capsys,
                                                                         monkeypatch):
    root = tree(tmp_path / "in", {"a.mp4": "w1"})
    monkeypatch.setitem(sys.modules, "distributed", None)
    code, err = run(capsys, str(root), "-o", str(tmp_path / "out"), "--cluster", "tcp://127.0.0.1:1")
    assert code == 1 and err.strip().endswith('--cluster needs Dask distributed, which is not installed: '
                                              'pip install "emofuse[cluster]"')
    code, err = run(capsys, str(root), "-o", str(tmp_path / "out"), "--cluster", "tcp://127.0.0.1:1", "--jobs", "2")
    assert code == 1 and "--jobs is for this machine" in err
    monkeypatch.setenv("EMOFUSE_CLUSTER", "tcp://127.0.0.1:1")  # the variable is used in batch mode...
    code, err = run(capsys, str(root), "-o", str(tmp_path / "out"))
    assert code == 1 and "--cluster needs Dask distributed" in err
    code, err = run(capsys, str(root), "-o", str(tmp_path / "out"), "--jobs", "1")  # ...unless --jobs says here
    assert code == 0, err


# --- the index, the progress bar, the summary -----------------------------------------------------


def _mixed_clip(path: Path) -> Path:
    """4 s of white (one face throughout) with a tone that stops at 3 s: three segments of one
    label, a fourth of another."""
    ffmpeg("-f", "lavfi", "-i", "color=c=white:size=96x72:rate=8:duration=4",
           "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=16000:duration=4",
           "-af", "volume=enable='gte(t,3)':volume=0", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
           "-shortest", str(path))
    return path


def test_index_row_values_come_from_each_files_timeline(batch_components, tmp_path, capsys):
    from collections import Counter

    from emofuse.batch.index import INDEX_COLUMNS
    from emofuse.media import probe

    root = tree(tmp_path / "in", {"b.mp4": "w2", "bad.mp4": "text"})
    (root / "bad.mp4").write_bytes(b"not a video")
    _mixed_clip(root / "mix.mp4")
    out = tmp_path / "out"
    assert run(capsys, str(root), "-o", str(out))[0] == 1
    with open(out / "index.csv", newline="") as f:
        assert tuple(csv.reader(f).__next__()) == INDEX_COLUMNS
    rows = index(out)
    assert list(rows) == sorted(str(root / n) for n in ("b.mp4", "bad.mp4", "mix.mp4"))  # the inputs' order
    for name in ("b", "mix"):
        row = rows[str(root / f"{name}.mp4")]
        with open(out / f"{name}.csv", newline="") as f:
            labels = [r["label"] for r in csv.DictReader(f)]
        (label, count), = Counter(labels).most_common(1)
        assert row["status"] == "done" and row["error"] == "" and row["attempts"] == "1"
        assert abs(float(row["duration"]) - probe(root / f"{name}.mp4").duration) < 0.1
        assert int(row["segments"]) == len(labels) and row["dominant"] == label
        assert float(row["share"]) == pytest.approx(count / len(labels), abs=0.001)
        assert row["persons"] == "1"  # one face in the middle of every frame
        assert float(row["seconds"]) > 0 and row["outputs"] == str(out / f"{name}.csv")
    assert float(rows[str(root / "mix.mp4")]["share"]) < 1  # a file of two labels: a share, not a flag
    bad = rows[str(root / "bad.mp4")]
    assert bad["status"] == "failed" and "not a media file" in bad["error"] and "\n" not in bad["error"]
    assert [bad[c] for c in ("duration", "segments", "persons", "dominant", "share", "outputs")] == [""] * 6


def test_index_file_has_every_input_from_the_start_and_is_rewritten_as_they_finish(tmp_path):
    from emofuse.batch.index import IndexFile

    now = [0.0]

    def clock():  # every reading of this clock is 0.5 s after the last: each write "costs" 0.5 s
        now[0] += 0.5
        return now[0]

    index_file = IndexFile(tmp_path / "index.csv", ["a", "b", "c"], overhead=0.5, clock=clock)
    index_file.write()  # 0.5 -> 1.0: at overhead 0.5, the next is due from 2.0 on
    assert [r["status"] for r in index(tmp_path).values()] == ["pending"] * 3
    now[0] += 0.6  # read as 2.1: due
    assert index_file.set({"source": "b", "status": "done", "error": "", "segments": 3, "outputs": ["b.csv"]})
    assert index(tmp_path)["b"]["segments"] == "3" and index(tmp_path)["a"]["status"] == "pending"
    assert not index_file.set({"source": "a", "status": "failed", "error": "a: broken\nsecond line"})  # 3.6 < 4.1
    assert index(tmp_path)["a"]["status"] == "pending"  # not due yet: kept for the next write
    index_file.close()
    assert index(tmp_path)["a"]["status"] == "failed" and index(tmp_path)["a"]["error"] == "a: broken"
    assert list(index(tmp_path)) == ["a", "b", "c"] and not list(tmp_path.glob(".*part*"))


def test_media_progress_estimates_the_total_until_every_file_is_probed():
    from emofuse.batch.report import MediaProgress

    media = MediaProgress(["a", "b", "c", "d"])
    assert media.total is None and media.done == 0
    media.probed_as("a", 2.0)
    assert media.total == pytest.approx(8.0)  # three unknown files count as the mean, 2 s
    media.probed_as("b", 4.0)
    media.probed_as("c", None)  # not media: it adds nothing
    assert media.total == pytest.approx(2 + 4 + 3)
    assert media.finish({"source": "a", "duration": 2.5}) == 2.5  # the analysis' duration wins
    assert media.finish({"source": "c", "duration": None}) == 0
    assert media.finish({"source": "b", "duration": None}) == 4.0  # failed: its probed duration
    assert media.done == pytest.approx(6.5) and media.total == pytest.approx(2.5 + 4 + 3.25)


def test_progress_bar_counts_files_and_media_seconds_and_prints_lines_above_it():
    import io

    from rich.console import Console

    from emofuse.batch.report import BatchProgress

    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    durations = {"a": 2.0, "b": 3.0, "c": None}
    with BatchProgress(list(durations), enabled=True, console=console, probe=durations.get) as bar:
        bar._prober.join(10)
        bar.finished({"source": "a", "status": "done", "duration": 2.0})
        bar.say("[1/3] a: done")
        task = bar._progress.tasks[0]
        assert (task.completed, task.total, task.fields["files"], task.fields["media"]) == (2.0, 5.0, "1/3 files", "5")
        bar.finished({"source": "c", "status": "failed", "duration": None})
        assert bar._progress.tasks[0].fields["files"] == "2/3 files" and bar._progress.tasks[0].completed == 2.0
    assert "[1/3] a: done" in console.file.getvalue()
    quiet = BatchProgress(["a"], enabled=False, probe=durations.get)
    with quiet:
        quiet.finished({"source": "a", "status": "done", "duration": 2.0})
    assert quiet._progress is None and quiet._prober is None and quiet.media.done == 2.0


@pytest.mark.parametrize("terminal, quiet, shown", [(True, False, True), (True, True, False), (False, False, False)])
def test_progress_bar_only_on_a_terminal_and_not_with_quiet(batch_components, tmp_path, capsys, monkeypatch,
                                                            terminal, quiet, shown):
    from emofuse.batch import report

    seen = []

    class Spy(report.BatchProgress):
        def __init__(self, sources, enabled, **kw):
            seen.append((list(sources), enabled))
            super().__init__(sources, False, **kw)

    monkeypatch.setattr(report, "BatchProgress", Spy)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    root = tree(tmp_path / "in", {"a.mp4": "w1", "b.mp4": "w1"})
    assert run(capsys, str(root), "-o", str(tmp_path / "out"), *(["-q"] if quiet else []))[0] == 0
    assert seen == [(sorted(str(root / n) for n in ("a.mp4", "b.mp4")), shown)]


def test_summary_table_counts_media_seconds_and_lists_the_failures(batch_components, tmp_path, capsys):
    import re

    root = tree(tmp_path / "in", {"a.mp4": "w1", "b.mp4": "w2", "c.mp4": "w3", "bad.mp4": "text"})
    (root / "bad.mp4").write_bytes(b"not a video")
    out = tmp_path / "out"
    code, err = run(capsys, str(root), "-o", str(out))
    rows = index(out)
    media = sum(float(r["duration"]) for r in rows.values() if r["status"] == "done")
    assert re.search(rf"analysed\s+3\s+{media:.1f}\n", err) and re.search(r"failed\s+1\s+-\n", err), err
    assert re.search(r"already complete\s+0\s+0\.0\n", err) and re.search(r"total\s+4\s*\n", err)
    wall, rate = map(float, re.search(r"wall time ([\d.]+) s; ([\d.]+) media-seconds analysed per wall-second",
                                      err).groups())
    assert media / (wall + 0.005) - 0.01 <= rate <= media / max(wall - 0.005, 1e-6) + 0.01  # as printed
    assert f"  failed: {root / 'bad.mp4'}: not a media file" in err
    (out / "a.csv").unlink()  # the rerun: one analysed, two complete, the bad one fails again
    code, err = run(capsys, str(root), "-o", str(out))
    done_before = sum(float(rows[str(root / n)]["duration"]) for n in ("b.mp4", "c.mp4"))
    assert re.search(rf"already complete\s+2\s+{done_before:.1f}\n", err) and re.search(r"analysed\s+1\s", err)
    code, err = run(capsys, str(root), "-o", str(out), "-q")  # quiet: the failure and the one line only
    assert code == 1 and "media-seconds" not in err and "already complete" in err
    assert err.count("not a media file") == 1


class _KilledSlot:
    """A pool slot whose worker hangs (alive) or has died, as `LocalPool._check` sees it."""

    def __init__(self, task, alive: bool):
        import types

        self.task, self.began = task, time.monotonic() - 10
        self.conn = types.SimpleNamespace(poll=lambda: False)
        self.process = types.SimpleNamespace(is_alive=lambda: alive, join=lambda: None, exitcode=-9)
        self.kills = 0

    def kill(self):
        self.kills += 1

    def start(self):
        pass


@pytest.mark.parametrize("alive, status", [(True, "timeout"), (False, "failed")])
def test_a_worker_killed_while_writing_leaves_no_temp_file_of_its_outputs(tmp_path, alive, status):
    import collections

    from emofuse.batch.local import LocalPool
    from emofuse.batch.work import FileTask

    task = FileTask(str(tmp_path / "a.mp4"), "a", {"csv": str(tmp_path / "a.csv")})
    half = tmp_path / ".a.csv.k9x2m4q7.part.csv"  # what atomic_output had made when the kill came
    other = tmp_path / ".b.csv.k9x2m4q7.part.csv"  # another file's, still being written
    half.write_text("half a table")
    other.write_text("half of another")
    slot = _KilledSlot(task, alive)
    rows = list(LocalPool(job=None, jobs=1, timeout=1.0, retries=0)._check(slot, collections.deque(), collections.Counter()))
    assert [row["status"] for row in rows] == [status] and slot.kills == 1
    assert not half.exists() and other.exists()
