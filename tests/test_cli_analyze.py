import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from emofuse.cli import main
from emofuse.table import COLUMNS

from .fakes import FAKE_FLAGS


def run(capsys, *args):
    code = main(["analyze", *args, *FAKE_FLAGS])
    out, err = capsys.readouterr()
    return code, out, err


def test_csv_timeline_with_summary(fake_components, media_dir, tmp_path, capsys):
    target = tmp_path / "timeline.csv"
    code, _, err = run(capsys, str(media_dir / "clip.mp4"), "-o", str(target))
    assert code == 0
    df = pd.read_csv(target)
    assert tuple(df.columns) == COLUMNS and len(df) == 3
    assert "clip.mp4: 3 segments (face in 2, voice in 2)" in err and "dominant:" in err
    assert [p.name for p in tmp_path.iterdir()] == ["timeline.csv"]  # no temp files left


def test_default_output_goes_to_the_current_folder(fake_components, media_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, str(media_dir / "voice.wav"), "-q")[0] == 0
    assert (tmp_path / "voice.csv").exists()


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_formats(fake_components, media_dir, tmp_path, capsys, fmt):
    target = tmp_path / f"t.{fmt}"
    assert run(capsys, str(media_dir / "clip.mp4"), "-o", str(target), "-q")[0] == 0
    text = target.read_text()
    if fmt == "json":
        doc = json.loads(text)
        assert doc["components"]["fusion"] == "evidence" and len(doc["segments"]) == 3
        assert doc["segments"][0]["voice"] is None and doc["segments"][0]["face"]["happy"] > 0.5
    else:
        rows = [json.loads(line) for line in text.splitlines()]
        assert [r["start"] for r in rows] == [0, 1, 2]


def test_format_flag_beats_the_suffix_and_unknown_format_lists_the_choices(fake_components, media_dir, tmp_path, capsys):
    target = tmp_path / "t.txt"
    assert run(capsys, str(media_dir / "clip.mp4"), "-o", str(target), "--format", "json", "-q")[0] == 0
    assert json.loads(target.read_text())["segments"]
    code, _, err = run(capsys, str(media_dir / "clip.mp4"), "--format", "xml")
    assert code == 1 and "unknown exporter 'xml'; available: csv, json, jsonl" in err


def test_several_inputs_into_a_folder_and_plots(fake_components, media_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, _ = run(capsys, str(media_dir / "clip.mp4"), str(media_dir / "voice.wav"), "-o", f"{out}/",
                     "--plot", str(tmp_path / "plots"), "-q")
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["clip.csv", "voice.csv"]
    png = tmp_path / "plots" / "clip.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_set_reaches_the_component(fake_components, media_dir, tmp_path, capsys):
    target = tmp_path / "t.csv"
    code, _, _ = run(capsys, str(media_dir / "clip.mp4"), "-o", str(target), "-q", "--segment", "0.5",
                     "--set", "fusion.face_weight=0", "--set", "fusion.voice_weight=1")
    assert code == 0
    df = pd.read_csv(target)
    assert df["label"].tolist() == ["happy"] * 3 + ["angry"] * 3
    code, _, err = run(capsys, str(media_dir / "clip.mp4"), "--set", "fusion=1")
    assert code == 1 and "KIND.OPTION=VALUE" in err


BAD_INPUTS = {
    "missing.mp4": (None, "no such file"),
    "folder": ("dir", "is a directory"),
    "notes.mp4": (b"this is not a video\n", "not a media file ffmpeg can read"),
    "empty.mp4": (b"", "the file is empty"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_one_clear_line_and_no_output(fake_components, tmp_path, capsys, name):
    content, problem = BAD_INPUTS[name]
    source = tmp_path / name
    if content == "dir":
        source.mkdir()
    elif content is not None:
        source.write_bytes(content)
    target = tmp_path / "out.csv"
    code, out, err = run(capsys, str(source), "-o", str(target))
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"emofuse: error: {source}: ") and problem in lines[0]
    assert "Traceback" not in err and not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({name} - {"missing.mp4"})


def test_truncated_video_is_reported(fake_components, media_dir, tmp_path, capsys):
    source = tmp_path / "cut.mp4"
    data = (media_dir / "clip.mp4").read_bytes()
    source.write_bytes(data[: len(data) // 3])
    code, _, err = run(capsys, str(source), "-o", str(tmp_path / "o.csv"))
    assert code == 1 and f"{source}:" in err and not (tmp_path / "o.csv").exists()


def test_file_with_neither_video_nor_audio(fake_components, tmp_path, capsys):
    from .conftest import ffmpeg

    subs = tmp_path / "subs.srt"
    subs.write_text("1\n00:00:00,000 --> 00:00:02,000\nhello\n")
    source = tmp_path / "subtitles-only.mkv"
    ffmpeg("-i", str(subs), str(source))
    code, _, err = run(capsys, str(source), "-o", str(tmp_path / "o.csv"))
    assert code == 1 and err.strip() == f"emofuse: error: {source}: has neither a video nor an audio stream"
    assert not (tmp_path / "o.csv").exists()


def test_one_bad_file_among_several(fake_components, media_dir, tmp_path, capsys):
    code, _, err = run(capsys, str(tmp_path / "nope.mp4"), str(media_dir / "voice.wav"), "-o", str(tmp_path / "o"), "-q")
    assert code == 1
    assert "nope.mp4: no such file" in err and "1 of 2 files failed" in err
    assert (tmp_path / "o" / "voice.csv").exists() and not (tmp_path / "o" / "nope.csv").exists()


def test_debug_shows_the_traceback(fake_components, tmp_path):
    with pytest.raises(Exception, match="no such file"):
        main(["analyze", str(tmp_path / "nope.mp4"), "--debug", *FAKE_FLAGS])


def test_help_teaches_and_starts_fast():
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-m", "emofuse.cli", "analyze", "--help"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 0
    assert "examples:" in result.stdout and "--fps" in result.stdout and "--set" in result.stdout
    probe = subprocess.run([sys.executable, "-c", "import sys, emofuse.cli; emofuse.cli.build_parser(); "
                            "emofuse.plugin_manager.collect_components(); "
                            "print(sorted(m for m in ('tensorflow', 'keras', 'librosa', 'moviepy', 'cv2', 'pandas', "
                            "'matplotlib') if m in sys.modules))"],
                           capture_output=True, text=True, timeout=60)
    # covers every built-in plugin module and the train/evaluate commands of both models
    assert probe.stdout.strip() == "[]", "--help and plugin loading must not import heavy libraries"


def test_third_party_fusion_and_exporter_chosen_by_name(fake_components, media_dir, tmp_path, capsys):
    target = tmp_path / "clip.labels"
    code, _, _ = run(capsys, str(media_dir / "clip.mp4"), "-o", str(target), "--fusion", "face-first",
                     "--segment", "0.5", "-q")
    assert code == 0
    assert target.read_text().split("\n")[:4] == ["0 happy", "0.5 happy", "1 happy", "1.5 angry"]


def test_smooth_option(fake_components, media_dir, tmp_path, capsys):
    target = tmp_path / "t.json"
    code, _, _ = run(capsys, str(media_dir / "clip.mp4"), "-o", str(target), "-q", "--segment", "0.5",
                     "--smooth", "median:3")
    assert code == 0
    doc = json.loads(target.read_text())
    assert doc["components"]["smoothing"] == "median(window=3)"
    code, _, err = run(capsys, str(media_dir / "clip.mp4"), "--smooth", "mean:2")
    assert code == 1 and err.startswith("emofuse: error: --smooth: unknown smoothing 'mean:2'")


@pytest.mark.parametrize("command", ["analyze", "live"])
def test_detect_fps_and_no_track_flags(command, capsys):
    import math

    from emofuse.cli import build_parser

    extra = ["clip.mp4"] if command == "analyze" else []
    parse = build_parser().parse_args
    defaults = parse([command, *extra])
    assert defaults.detect_fps is None and defaults.track is True  # auto: 1/s when the detector tracks
    args = parse([command, *extra, "--detect-fps", "all", "--no-track"])
    assert args.detect_fps == math.inf and args.track is False
    assert parse([command, *extra, "--detect-fps", "2.5"]).detect_fps == 2.5
    with pytest.raises(SystemExit) as exc:
        parse([command, *extra, "--detect-fps", "-1"])
    assert exc.value.code == 2
    assert "argument --detect-fps: expected frames per second > 0 or 'all', got -1" in capsys.readouterr().err
