"""The CLI end to end where it matters (issue 19): `--set` reaches the analysis, and the CSV
columns are the documented ones, spelled out here from README rather than taken from the code."""
from __future__ import annotations

import csv
import re

import pytest

from emofuse.cli import main

from .conftest import REPO, ffmpeg
from .fakes import FAKE_FLAGS

#: README's label order (FER2013's), written out.
README_LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def scores(group: str) -> list[str]:
    return [f"{group}_{label}" for label in README_LABELS]


#: `--by segment` (the default).
SEGMENT_COLUMNS = (["start", "end", "label", "confidence", "faces"] + scores("face") + scores("voice")
                   + scores("fused") + ["speaker", "voice_speech", "errors"])
#: `--by person`.
PERSON_COLUMNS = (["start", "end", "person", "speaking", "x", "y", "width", "height", "label", "confidence", "faces"]
                  + scores("face") + scores("voice") + scores("fused") + ["errors"])


@pytest.fixture(scope="module")
def both_clip(tmp_path_factory):
    """2 s of a bright picture (the fake face: happy) over a loud tone (the fake voice: angry),
    so that face and voice are both present in every segment and disagree."""
    path = tmp_path_factory.mktemp("both") / "both.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=white:size=160x120:rate=10:duration=2",
           "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=16000:duration=2",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path))
    return path


def analyze(capsys, tmp_path, clip, *args) -> list[dict]:
    target = tmp_path / "t.csv"
    code = main(["analyze", str(clip), "-o", str(target), "-q", *FAKE_FLAGS, *args])
    _, err = capsys.readouterr()
    assert code == 0, err
    with open(target, newline="") as f:
        return list(csv.DictReader(f))


def test_the_clip_has_face_and_voice_in_every_segment(fake_components, both_clip, tmp_path, capsys):
    rows = analyze(capsys, tmp_path, both_clip, "--fusion", "weighted")
    assert len(rows) == 2
    assert all(float(r["face_happy"]) > 0.5 and float(r["voice_angry"]) > 0.5 for r in rows)
    assert [r["label"] for r in rows] == ["angry", "angry"]  # weighted's defaults: the voice where both speak


@pytest.mark.parametrize("fusion, settings, label", [
    ("evidence", ["fusion.face_weight=1", "fusion.voice_weight=0"], "happy"),
    ("evidence", ["fusion.face_weight=0", "fusion.voice_weight=1"], "angry"),
    ("weighted", ["fusion.face_weight=1", "fusion.voice_weight=0"], "happy"),
    ("weighted", ["fusion.face_weight=2"], "happy"),
    ("product", ["fusion.face_weight=0.7", "fusion.voice_weight=0.3"], "happy"),
    ("product", ["fusion.face-weight=0.8", "fusion.voice_weight=0.2"], "happy"),  # dashes spell underscores
    ("product", ["fusion.face_weight=0.3", "fusion.voice_weight=0.7"], "angry"),
])
def test_set_options_reach_the_fusion(fake_components, both_clip, tmp_path, capsys, fusion, settings, label):
    args = ["--fusion", fusion]
    for item in settings:
        args += ["--set", item]
    rows = analyze(capsys, tmp_path, both_clip, *args)
    assert [r["label"] for r in rows] == [label, label]


def test_set_weights_change_the_fused_probabilities(fake_components, both_clip, tmp_path, capsys):
    rows = analyze(capsys, tmp_path, both_clip, "--fusion", "weighted", "--set", "fusion.face_weight=1",
                   "--set", "fusion.voice_weight=1")
    for r in rows:  # equal weights: the fused score is the plain mean of face and voice
        for label in README_LABELS:
            mean = (float(r[f"face_{label}"]) + float(r[f"voice_{label}"])) / 2
            assert float(r[f"fused_{label}"]) == pytest.approx(mean, abs=1e-4)


def test_segment_csv_columns_are_the_documented_ones(fake_components, both_clip, tmp_path, capsys):
    target = tmp_path / "t.csv"
    assert main(["analyze", str(both_clip), "-o", str(target), "-q", *FAKE_FLAGS]) == 0
    header = target.read_text().splitlines()[0]
    assert header.split(",") == SEGMENT_COLUMNS


def test_person_csv_columns_are_the_documented_ones(fake_components, both_clip, tmp_path, capsys):
    target = tmp_path / "p.csv"
    assert main(["analyze", str(both_clip), "-o", str(target), "-q", "--by", "person", *FAKE_FLAGS]) == 0
    lines = target.read_text().splitlines()
    assert lines[0].split(",") == PERSON_COLUMNS
    assert len(lines) == 3  # one face (P1) in each of the 2 segments


def test_csv_cells_land_in_their_columns(fake_components, both_clip, tmp_path, capsys):
    rows = analyze(capsys, tmp_path, both_clip)
    r = rows[0]
    assert (r["start"], r["end"], r["faces"]) == ("0.0", "1.0", "1")
    assert float(r["confidence"]) == pytest.approx(max(float(r[c]) for c in scores("fused")), abs=1e-4)
    assert float(r["voice_speech"]) == pytest.approx(1.0) and r["errors"] == ""
    assert sum(float(r[c]) for c in scores("face")) == pytest.approx(1.0, abs=1e-3)


def readme_columns() -> list[str]:
    """The columns README's "### The timeline" table names, in its order, `<label>` expanded."""
    text = (REPO / "README.md").read_text()
    section = text.split("### The timeline", 1)[1].split("\n#", 1)[0]
    names: list[str] = []
    for line in section.splitlines():
        if line.startswith("| `"):
            for name in re.findall(r"`([^`]+)`", line.split("|")[1]):
                names += [name.replace("<label>", label) for label in README_LABELS] if "<label>" in name else [name]
    return names


def readme_person_columns() -> list[str]:
    """The columns of README's "`--by person`: one row per segment and person" paragraph."""
    text = (REPO / "README.md").read_text()
    paragraph = " ".join(text.split("`--by person`: one row per segment and person", 1)[1].split()).split(". ", 1)[0]
    names: list[str] = []
    for quoted in re.findall(r"`([^`]+)`", paragraph):
        for name in (part.strip() for part in quoted.split(",")):
            names += [name.replace("<label>", label) for label in README_LABELS] if "<label>" in name else [name]
    return names


def test_readme_documents_the_csv_columns_in_order():
    assert readme_columns() == SEGMENT_COLUMNS
    assert readme_person_columns() == PERSON_COLUMNS
    labels = re.search(r"Labels, in this order: `([^`]+)`", (REPO / "README.md").read_text()).group(1)
    assert labels.split(", ") == README_LABELS
