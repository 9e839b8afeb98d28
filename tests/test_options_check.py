"""Every option checked before work starts (issue 14): --set values, output paths, contradicting
names and rates, and `emofuse list KIND --options`."""
from __future__ import annotations

from pathlib import Path

import pytest

from emofuse.atomic import check_writable
from emofuse.cli import main
from emofuse.errors import EmofuseError, PluginError
from emofuse.option_check import OptionError, check_options, coerce, options_of
from emofuse.registry import Registry
from emofuse.runner import Pipeline

from .fakes import FAKE_FLAGS

# --------------------------------------------------------------------------- option_check


class Knobs:
    """A component with documented options. `speed`: how fast it goes; `label` (a name shown)."""

    option_help = {"count": "how many"}

    def __init__(self, count: int = 3, speed: float = 1.0, label: str | None = None, on: bool = True) -> None:
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        self.count, self.speed, self.label, self.on = count, speed, label, on


def test_options_of_reads_names_types_defaults_and_help():
    options = options_of(Knobs)
    assert [(o.name, o.type, o.default) for o in options] == [
        ("count", "int", 3), ("speed", "float", 1.0), ("label", "str | None", None), ("on", "bool", True)]
    assert [o.help for o in options] == ["how many", "how fast it goes", "a name shown", ""]


def test_options_of_a_factory_taking_any_options_is_unknown():
    def factory(**options):
        return options

    assert options_of(factory) is None
    assert check_options(factory, {"anything": 1}) == {"anything": 1}


@pytest.mark.parametrize(("value", "annotation", "expected"), [
    (3, "int", 3), (3, "float", 3.0), (2.5, "float", 2.5), (None, "float | None", None), (True, "bool", True),
    ("x.keras", "str | Path | None", "x.keras"), (2024, "str", "2024"), ("abc", "SomeType", "abc"),
])
def test_coerce_accepts(value, annotation, expected):
    result = coerce(value, annotation)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(("value", "annotation", "message"), [
    ("abc", "int", "expected an integer, got 'abc'"),
    (2.5, "int", "expected an integer, got 2.5"),
    ("abc", "float", "expected a number, got 'abc'"),
    (None, "float", "expected a number, got None"),
    (1, "bool", "expected true or false, got 1"),
    (True, "int", "expected an integer, got True"),
])
def test_coerce_refuses(value, annotation, message):
    with pytest.raises(OptionError, match=f"^{message}$".replace("(", r"\(").replace(")", r"\)")):
        coerce(value, annotation)


def test_check_options_names_the_unknown_option_and_lists_the_valid_ones():
    with pytest.raises(OptionError, match=r"^unknown option 'nonsense'; options: count, speed, label, on$"):
        check_options(Knobs, {"nonsense": 3})
    with pytest.raises(OptionError, match=r"^option speed: expected a number, got 'fast'$"):
        check_options(Knobs, {"speed": "fast"})
    assert check_options(Knobs, {"speed": 2}) == {"speed": 2.0}


def _registry() -> Registry:
    registry = Registry("face_detector", "face detector")
    registry.add("knobs", Knobs, "tests")

    def broken():
        raise RuntimeError("no GPU here\nsecond line")

    def user_error():
        raise EmofuseError("model.keras: no such file")

    registry.add("broken", broken, "tests")
    registry.add("user-error", user_error, "tests")
    return registry


def test_create_turns_a_factory_value_error_into_one_line_naming_the_option():
    with pytest.raises(PluginError) as caught:
        _registry().create("knobs", count=-1)
    assert str(caught.value) == ("face detector 'knobs' (plugin tests): bad option count=-1: count must be >= 0, "
                                 "got -1 (options: count, speed, label, on)")
    assert _registry().create("knobs", count=0).count == 0  # the boundary is accepted


def test_create_names_component_and_plugin_when_the_factory_raises():
    with pytest.raises(PluginError, match=r"^face detector 'broken' \(plugin tests\) cannot be created: "
                                          r"RuntimeError: no GPU here$"):
        _registry().create("broken")
    with pytest.raises(EmofuseError, match=r"^face detector 'user-error' \(plugin tests\): model.keras: no such file$"):
        _registry().create("user-error")


def test_pipeline_checks_options_when_it_is_built(fake_components):
    from emofuse.runner import AnalysisOptions

    from .fakes import FAKE_CHOICES

    with pytest.raises(PluginError, match="fusion strategy 'face-first' .*unknown option 'weight'"):
        Pipeline(AnalysisOptions(**{**FAKE_CHOICES, "fusion": "face-first"},
                                 component_options={"fusion": {"weight": 1}}))


# --------------------------------------------------------------------------- --set on the command line

SET_CASES = {
    "negative fusion weight": (["--fusion", "weighted"], "fusion.face_weight=-5",
                               "fusion strategy 'weighted' (plugin fusion_strategies): bad option face_weight=-5.0: "),
    "fusion weight not a number": (["--fusion", "weighted"], "fusion.face_weight=abc",
                                   "fusion strategy 'weighted' (plugin fusion_strategies): option face_weight: "
                                   "expected a number, got 'abc'"),
    "unknown fusion option": (["--fusion", "weighted"], "fusion.nonsense=3",
                              "fusion strategy 'weighted' (plugin fusion_strategies): unknown option 'nonsense'; "
                              "options: face_weight"),
    "haar min_neighbors not a number": (["--face-detector", "haar"], "face-detector.min_neighbors=abc",
                                        "face detector 'haar' (plugin haar): option min_neighbors: expected an "
                                        "integer, got 'abc'"),
    "haar scale_factor below 1": (["--face-detector", "haar"], "face-detector.scale_factor=0.5",
                                  "face detector 'haar' (plugin haar): bad option scale_factor=0.5: scale_factor "
                                  "must be > 1, got 0.5"),
    "unknown classifier backend": (["--visual-classifier", "fer-cnn"], "visual-classifier.backend=foo",
                                   "visual classifier 'fer-cnn' (plugin fer_cnn): bad option backend='foo': "),
    "mfcc n_mfcc not a number": (["--audio-features", "mfcc", "--audio-classifier", "ravdess-cnn"],
                                 "audio-features.n_mfcc=abc",
                                 "audio feature extractor 'mfcc' (plugin mfcc): option n_mfcc: expected an integer, "
                                 "got 'abc'"),
}


@pytest.mark.parametrize("case", sorted(SET_CASES))
def test_bad_set_is_one_line_naming_the_option(fake_components, media_dir, tmp_path, capsys, case):
    flags, item, expected = SET_CASES[case]
    target = tmp_path / "o.csv"
    code = main(["analyze", str(media_dir / "clip.mp4"), "-o", str(target), "-q", *FAKE_FLAGS, *flags, "--set", item])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith(f"emofuse: error: {expected}"), lines[0]
    assert "Traceback" not in err and not target.exists()


# --------------------------------------------------------------------------- output paths, before analysis


@pytest.fixture
def no_analysis(monkeypatch):
    """Analysing anything fails the test: the checks must come first."""
    def analyze(self, *args, **kwargs):
        raise AssertionError("the analysis started before the outputs were checked")

    monkeypatch.setattr(Pipeline, "analyze", analyze)


def _path_cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    cases = {
        "parent is a file": (["-o", str(a_file / "x.csv")], f"{a_file / 'x.csv'}: {a_file} is a file, not a folder"),
        "plot parent is a file": (["--plot", str(a_file / "x.png")], f"{a_file} is a file, not a folder"),
        "persons parent is a file": (["--persons", str(a_file / "sub" / "x.png")], f"{a_file} is a file, not a folder"),
    }
    if Path("/proc/self").is_dir():
        cases["-o in /proc"] = (["-o", "/proc/nope/x.csv"], "/proc/nope/x.csv: cannot write in /proc")
        cases["--plot in /proc"] = (["--plot", "/proc/x.png"], "/proc/x.png: cannot write in /proc")
    return cases


def test_output_paths_are_checked_before_any_analysis(fake_components, media_dir, tmp_path, capsys, no_analysis):
    for case, (flags, message) in _path_cases(tmp_path).items():
        code = main(["analyze", str(media_dir / "clip.mp4"), *flags, "-q", *FAKE_FLAGS])
        err = capsys.readouterr().err
        assert code == 1 and err.startswith("emofuse: error: ") and message in err, (case, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, case


def test_check_writable(tmp_path):
    check_writable(tmp_path / "new" / "deeper" / "x.csv")
    assert list(tmp_path.iterdir()) == []  # nothing created, nothing left behind
    with pytest.raises(EmofuseError, match="is a folder; give a file name"):
        check_writable(tmp_path)
    (tmp_path / "f").write_text("")
    with pytest.raises(EmofuseError, match=r"f is a file, not a folder$"):
        check_writable(tmp_path / "f" / "a" / "x.csv")


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs a Linux /sys")
def test_check_writable_refuses_a_read_only_place():
    with pytest.raises(EmofuseError, match=r"^/sys/x.csv: cannot write in /sys \("):
        check_writable("/sys/x.csv")


# --------------------------------------------------------------------------- contradictions refused

REFUSED = {
    "several inputs, -o a file name": (["--", "B", "-o", "{tmp}/single.csv"],
                                       "{tmp}/single.csv: with several inputs -o must be a folder"),
    "one input in batch mode, -o a file name": (["--force", "-o", "{tmp}/single.csv"],
                                                "{tmp}/single.csv: in batch mode (--from, --jobs, --cluster, "
                                                "--timeout-per-file, --force) -o must be a folder"),
    "several inputs, --plot a file name": (["--", "B", "-o", "{tmp}/out/", "--plot", "{tmp}/p.png"],
                                           "{tmp}/p.png: with several inputs --plot must be a folder"),
    "json name, csv format": (["-o", "{tmp}/a.json", "-f", "csv"],
                              "{tmp}/a.json: the name says json but the format is csv; name it a.csv"),
    "plot not png": (["--plot", "{tmp}/x.srt"], "{tmp}/x.srt: --plot draws a PNG image"),
    "persons sheet not png": (["--persons", "{tmp}/x.jpg"], "{tmp}/x.jpg: --persons draws a PNG image"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_contradicting_outputs_are_refused(fake_components, media_dir, tmp_path, capsys, no_analysis, case):
    flags, message = REFUSED[case]
    flags = [f.replace("{tmp}", str(tmp_path)) for f in flags]
    inputs = [str(media_dir / "clip.mp4")]
    if flags[:2] == ["--", "B"]:
        inputs.append(str(media_dir / "voice.wav"))
        flags = flags[2:]
    code = main(["analyze", *inputs, *flags, "-q", *FAKE_FLAGS])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith(f"emofuse: error: {message.replace('{tmp}', str(tmp_path))}"), err
    assert list(tmp_path.iterdir()) == []  # no folder single.csv/, no file


def test_matching_names_are_accepted(fake_components, media_dir, tmp_path, capsys):
    code = main(["analyze", str(media_dir / "clip.mp4"), "-o", str(tmp_path / "a.csv"), "-f", "csv",
                 "--plot", str(tmp_path / "a.PNG"), "-q", *FAKE_FLAGS])
    assert code == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["a.PNG", "a.csv"]
    code = main(["analyze", str(media_dir / "clip.mp4"), str(media_dir / "voice.wav"), "-o",
                 str(tmp_path / "results.v2") + "/", "-q", *FAKE_FLAGS])
    assert code == 0 and sorted(p.name for p in (tmp_path / "results.v2").iterdir()) == ["clip.csv", "voice.csv"]


@pytest.mark.parametrize("flag", ["--fps", "--detect-fps"])
@pytest.mark.parametrize(("value", "ok"), [("0", False), ("-1", False), ("nan", False), ("0.01", True), ("all", True)])
def test_rates_must_be_positive(capsys, flag, value, ok):
    from emofuse.cli import build_parser

    parse = build_parser().parse_args
    if ok:
        parse(["analyze", "clip.mp4", flag, value])
        return
    with pytest.raises(SystemExit) as caught:
        parse(["analyze", "clip.mp4", flag, value])
    assert caught.value.code == 2
    assert f"argument {flag}: expected frames per second > 0 or 'all', got {value}" in capsys.readouterr().err


# --------------------------------------------------------------------------- emofuse list KIND --options


def test_list_options_shows_type_default_and_help(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["list", "face-detector", "--options"]) == 0
    out = capsys.readouterr().out
    assert "face-detector haar (--set face-detector.OPTION=VALUE):" in out
    row = next(line for line in out.splitlines() if line.split("│")[0].strip() == "scale_factor")
    assert [cell.strip() for cell in row.split("│")][:3] == ["scale_factor", "float", "1.1"]
    assert "image pyramid step" in row


def test_list_options_documents_the_model_of_the_classifiers(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["list", "visual-classifier", "--options"]) == 0
    assert main(["list", "audio-classifier", "--options"]) == 0
    out = capsys.readouterr().out
    models = [line for line in out.splitlines() if line.split("│")[0].strip() == "model"]
    assert len(models) == 2
    assert "emofuse train face" in models[0] and "emofuse train voice" in models[1]


def test_list_without_options_shows_no_option_tables(capsys):
    assert main(["list", "face-detector"]) == 0
    assert "scale_factor" not in capsys.readouterr().out


def test_a_write_failing_after_the_analysis_is_one_line(fake_components, media_dir, tmp_path, capsys, monkeypatch):
    import errno

    from emofuse.plugins import exporters

    def full(self, timeline, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(exporters.CsvExporter, "write", full)
    target = tmp_path / "o.csv"
    code = main(["analyze", str(media_dir / "clip.mp4"), "-o", str(target), "-q", *FAKE_FLAGS])
    err = capsys.readouterr().err
    assert code == 1 and err.strip() == f"emofuse: error: {target}: cannot write it (No space left on device)"
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_names_the_target_only_for_its_own_failures(tmp_path):
    import errno

    from emofuse.atomic import atomic_output
    from emofuse.errors import OutputError

    with pytest.raises(OutputError, match=r"o.csv: cannot write it \(No space left on device\)$") as caught:
        with atomic_output(tmp_path / "o.csv"):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert isinstance(caught.value, OSError)  # callers catching OSError still do
    with pytest.raises(FileNotFoundError) as caught:
        with atomic_output(tmp_path / "o.csv"):
            open(tmp_path / "missing-input.mp4")  # noqa: SIM115 - an input failing, not the output
    assert not isinstance(caught.value, OutputError)
    assert list(tmp_path.iterdir()) == []
