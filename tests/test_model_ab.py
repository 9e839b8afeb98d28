"""benchmarks/model_ab.py: the ratio it reports is candidate over shipped, of the fastest runs."""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import model_ab  # noqa: E402


def test_ratio_is_candidate_over_shipped_of_the_fastest_runs():
    times = {"shipped": [(10.0, 20.0), (8.0, 16.0), (9.0, 30.0)],
             "candidate": [(12.0, 18.0), (8.8, 24.0)]}
    line = model_ab.ratio_line("multi", times)
    assert line.startswith("[multi] fastest: shipped 8.00 s (CPU 16.00 s), candidate 8.80 s (CPU 18.00 s)")
    assert line.endswith("wall 1.100x, CPU 1.125x")


def test_unknown_clip_name_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["model_ab.py", "--set", "x.y=1", "--clips", "one,three"])
    try:
        model_ab.main()
    except SystemExit as exit_:
        assert exit_.code == 2
    else:
        raise AssertionError("--clips three was accepted")
    assert "--clips: choose from one, multi" in capsys.readouterr().err
