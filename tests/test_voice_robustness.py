"""The recording conditions of the voice robustness table and `--augment conditions` training."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emofuse.plugins.ravdess_cnn import conditions
from emofuse.plugins.ravdess_cnn.conditions import (
    CONDITIONS, STRENGTHS, active_power, add_noise, apply_condition, random_condition,
)

from .voice_helpers import voice, write_ravdess

RATE = 16000


def _speech() -> np.ndarray:
    return voice(2.0, RATE, seed=1).astype(np.float64)


def _band_energy(y: np.ndarray, rate: int, lo: float, hi: float) -> float:
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(len(y), 1 / rate)
    return float(spectrum[(f >= lo) & (f < hi)].sum())


@pytest.mark.parametrize("colour", ["white", "pink"])
@pytest.mark.parametrize("snr", [20.0, 10.0, 5.0])
def test_noise_is_mixed_at_the_asked_snr(colour, snr):
    x = _speech()
    y = add_noise(x, RATE, snr, colour, np.random.default_rng(0))
    measured = 10 * np.log10(active_power(x, RATE) / np.mean((y - x) ** 2))
    assert abs(measured - snr) < 0.5


def test_noise_condition_names_give_their_snr():
    x = _speech()
    y5, _ = apply_condition("white5", x, RATE)
    y20, _ = apply_condition("white20", x, RATE)
    n5, n20 = np.mean((y5 - x) ** 2), np.mean((y20 - x) ** 2)
    assert 10 * np.log10(n5 / n20) == pytest.approx(15.0, abs=0.5)


def test_telephone_band_is_8khz_and_removes_energy_under_300_hz():
    t = np.arange(2 * RATE) / RATE
    x = 0.3 * np.sin(2 * np.pi * 150 * t) + 0.3 * np.sin(2 * np.pi * 1000 * t) + 0.3 * np.sin(2 * np.pi * 5000 * t)
    y, rate = apply_condition("telephone", x, RATE)
    assert rate == 8000 and len(y) == len(x) // 2
    kept = _band_energy(y, rate, 900, 1100) / _band_energy(x, RATE, 900, 1100) * 4  # 2x fewer samples: 4x energy
    low = _band_energy(y, rate, 100, 200) / _band_energy(x, RATE, 100, 200) * 4
    assert kept > 0.5          # the voice band passes
    assert low < 0.05          # 150 Hz is more than 13 dB down


def test_reverb_spreads_an_impulse_and_keeps_the_peak():
    x = np.zeros(RATE)
    x[100] = 0.5
    y, rate = apply_condition("reverb", x, RATE, seed=3)
    assert rate == RATE and np.max(np.abs(y)) == pytest.approx(0.5, rel=1e-3)
    assert np.sum(np.abs(y[RATE // 10:]) > 1e-3) > 100     # a tail after 0.1 s


@pytest.mark.parametrize("codec", ["mp3-32k", "aac-32k"])
def test_codec_roundtrip_keeps_length_and_most_of_the_signal(codec):
    x = _speech()
    y, rate = apply_condition(codec, x, RATE)
    assert rate == RATE and abs(len(y) - len(x)) < 0.1 * RATE
    n = min(len(x), len(y))
    # a codec delay may shift the signal: compare the energy, not the samples
    assert np.mean(y[:n] ** 2) == pytest.approx(np.mean(x[:n] ** 2), rel=0.3)
    assert not np.allclose(y[:n], x[:n], atol=1e-3)


def test_speed_changes_duration_and_pitch_does_not():
    x = _speech()
    slow, _ = apply_condition("speed0.9", x, RATE)
    fast, _ = apply_condition("speed1.1", x, RATE)
    up, _ = apply_condition("pitch+2", x, RATE)
    assert len(slow) == pytest.approx(len(x) / 0.9, rel=0.01)
    assert len(fast) == pytest.approx(len(x) / 1.1, rel=0.01)
    assert len(up) == len(x)


def test_every_condition_runs_and_unknown_names_are_refused():
    x = _speech()[: RATE // 2]
    for name in CONDITIONS:
        y, rate = apply_condition(name, x, RATE)
        assert y.dtype == np.float32 and np.max(np.abs(y)) < 1.0 and len(y) > 0
    with pytest.raises(ValueError, match="unknown condition"):
        apply_condition("underwater", x, RATE)


def test_random_condition_is_seeded():
    x = _speech()[: RATE // 2]
    a = random_condition(x, RATE, np.random.default_rng([1, 2]))
    b = random_condition(x, RATE, np.random.default_rng([1, 2]))
    assert a[1] == b[1] and np.array_equal(a[0], b[0])


def _drawn_conditions(strength: str, monkeypatch, draws: int = 600) -> list[str]:
    """The table condition names `random_condition` asks for at `strength` over `draws` files."""
    asked = []
    monkeypatch.setattr(conditions, "apply_condition", lambda name, x, rate, seed: (asked.append(name), (x, rate))[1])
    for k in range(draws):
        random_condition(np.zeros(160), RATE, np.random.default_rng([k, 0]), strength)
    return asked


def _strengths(asked: list[str], prefixes: tuple[str, ...]) -> list[float]:
    return [float(n[len(p):]) for n in asked for p in prefixes if n.startswith(p)]


@pytest.mark.parametrize("strength", sorted(STRENGTHS))
def test_random_strengths_stay_in_their_ranges(strength, monkeypatch):
    asked = _drawn_conditions(strength, monkeypatch)
    s = STRENGTHS[strength]
    snrs, semitones, speeds = (_strengths(asked, ("white", "pink")), _strengths(asked, ("pitch",)),
                               _strengths(asked, ("speed",)))
    assert snrs and semitones and speeds
    assert s.snr_db[0] <= min(snrs) and max(snrs) <= s.snr_db[1]
    assert max(abs(v) for v in semitones) <= s.semitones and s.speed[0] <= min(speeds) and max(speeds) <= s.speed[1]


def test_hard_copies_go_past_the_table_strengths(monkeypatch):
    table, hard = _drawn_conditions("table", monkeypatch), _drawn_conditions("hard", monkeypatch)
    assert min(_strengths(table, ("white", "pink"))) >= 5.0              # the table's 5 dB is the edge...
    assert sum(v < 5.0 for v in _strengths(hard, ("white", "pink"))) >= 10   # ...and inside the hard range
    assert max(abs(v) for v in _strengths(hard, ("pitch",))) > 2.5
    assert min(_strengths(hard, ("speed",))) < 0.85


def test_noisy_copies_are_the_table_copies_with_only_the_noise_harder(monkeypatch):
    table, noisy = _drawn_conditions("table", monkeypatch), _drawn_conditions("noisy", monkeypatch)
    assert len(table) == len(noisy)
    pairs = list(zip(table, noisy))
    noise = [(a, b) for a, b in pairs if a.startswith(("white", "pink"))]
    assert noise and all(a == b for a, b in pairs if (a, b) not in noise)      # every other copy unchanged
    for a, b in noise:                                                      # same colour, 5 dB lower SNR
        colour = "white" if a.startswith("white") else "pink"
        assert b.startswith(colour) and float(a[len(colour):]) - float(b[len(colour):]) == pytest.approx(5.0, abs=0.11)


def test_table_rooms_are_the_robustness_tables_rooms():
    """The shipped recipe's cached `random:K` copies must stay valid: a table-strength room is exactly
    `apply_condition("reverb")` with the seed drawn after the kind."""
    x = _speech()[: RATE // 2]
    k = next(k for k in range(100) if np.random.default_rng([k, 0]).integers(6) == 1)   # kind 1: reverb
    rng = np.random.default_rng([k, 0])
    rng.integers(6)
    expected, _ = apply_condition("reverb", x, RATE, int(rng.integers(2 ** 31)))
    table, _ = random_condition(x, RATE, np.random.default_rng([k, 0]), "table")
    hard, _ = random_condition(x, RATE, np.random.default_rng([k, 0]), "hard")
    assert np.array_equal(table, expected)
    assert not np.allclose(hard, expected)                                # hard rooms are drawn otherwise


def test_hard_copies_are_named_and_computed_apart():
    from emofuse.plugins.ravdess_cnn.condition_cache import condition_waveform, copy_name, is_copy

    assert copy_name(3) == "random:3" and copy_name(3, "hard") == "random-hard:3"
    assert is_copy("random-hard:3") and is_copy("random:0") and not is_copy("reverb")
    with pytest.raises(ValueError, match="unknown condition strength"):
        copy_name(0, "gentle")
    x = _speech()[: RATE // 2]
    for position in range(6):
        for strength in STRENGTHS:
            got = condition_waveform(copy_name(2, strength), x, RATE, position)
            want = random_condition(x, RATE, np.random.default_rng([2, position]), strength)
            assert got[1] == want[1] and np.array_equal(got[0], want[0])


def _tiny_training(tmp_path, *options: str) -> list[str]:
    """`emofuse train voice` arguments for a 1-epoch tiny model on 3 synthetic actors, output last."""
    data = tmp_path / "ravdess"
    write_ravdess(data, actors=(1, 2, 3))
    return ["train", "voice", "--data", str(data), "--val-actors", "3", "--epochs", "1", "--members", "1",
            "--tiny", "--augment", "conditions", *options, "--cache-dir", str(tmp_path / "cache"),
            "--threads", "1", "--output", str(tmp_path / "m.keras")]


@pytest.mark.slow
def test_train_with_condition_augmentation(tmp_path):
    from emofuse.cli import main

    out = tmp_path / "m.keras"
    args = _tiny_training(tmp_path)
    assert main(args) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert any(a.startswith("conditions (6 ") for a in meta["augmentations"])
    assert len(list((tmp_path / "cache").glob("cond-random*.npz"))) == 6
    assert main(args[:-2] + ["--no-augment", "--output", str(tmp_path / "n.keras")]) == 1  # conflicting options


@pytest.mark.slow
def test_condition_copies_sets_how_many_copies_are_made_and_recorded(tmp_path):
    from emofuse.cli import main

    out = tmp_path / "m.keras"
    assert main(_tiny_training(tmp_path, "--condition-copies", "2")) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["condition_copies"] == 2 and "conditions (2 random-condition copies)" in meta["augmentations"]
    assert len(list((tmp_path / "cache").glob("cond-random*.npz"))) == 2


@pytest.mark.slow
def test_condition_strength_hard_trains_on_its_own_copies_and_is_recorded(tmp_path):
    from emofuse.cli import main

    out = tmp_path / "m.keras"
    assert main(_tiny_training(tmp_path, "--condition-copies", "2", "--condition-strength", "hard")) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["condition_strength"] == "hard" and meta["condition_copies"] == 2
    cached = sorted(p.name.rsplit("-", 1)[0] for p in (tmp_path / "cache").glob("cond-random*.npz"))
    assert cached == ["cond-random-hard0", "cond-random-hard1"]          # not the table's random:K entries


@pytest.mark.parametrize("options, message", [
    (["--augment", "default", "--condition-strength", "hard"], "--condition-strength hard needs --augment conditions"),
    (["--augment", "default", "--condition-copies", "3"], "--condition-copies needs --augment conditions"),
    (["--augment", "conditions", "--condition-copies", "0"], "--condition-copies 0: must be at least 1"),
])
def test_condition_copies_is_checked_before_any_work(tmp_path, capsys, options, message):
    from emofuse.cli import main

    pytest.importorskip("tensorflow")
    out = tmp_path / "m.keras"
    assert main(["train", "voice", "--data", str(tmp_path / "absent"), "--output", str(out)] + options) == 1
    assert message in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "emofuse-voice-cache").exists()


def test_parse_conditions_takes_all_a_list_or_refuses_in_one_line():
    from emofuse.errors import EmofuseError
    from emofuse.plugins.ravdess_cnn.robustness import parse_conditions

    assert parse_conditions("all") == CONDITIONS
    assert parse_conditions("white5, clean,white5") == ("white5", "clean")
    for text, message in (("underwater", "unknown condition underwater"), (" , ", "no condition")):
        with pytest.raises(EmofuseError, match=message) as error:
            parse_conditions(text)
        assert str(error.value).startswith(f"--condition {text}: ") and "\n" not in str(error.value)


def _rows(*accuracies):
    names = ("clean", "white5", "reverb", "telephone")
    return [{"condition": n, "accuracy": a, "macro_f1": a / 2, "accuracy_7": a, "n": 240, "seconds": 1.0}
            for n, a in zip(names, accuracies)]


def test_drops_are_points_under_the_clean_row_wherever_it_stands():
    from emofuse.plugins.ravdess_cnn.robustness import add_drops

    rows = _rows(0.60, 0.45, 0.55)
    add_drops(rows[::-1])
    assert [r["drop"] for r in rows] == [0.0, 15.0, 5.0]
    without_clean = _rows(0.60, 0.45, 0.55)[1:]
    add_drops(without_clean)
    assert [r["drop"] for r in without_clean] == [None, None]


def test_table_marks_the_conditions_past_the_bar_and_counts_them():
    from emofuse.plugins.ravdess_cnn.robustness import add_drops, format_robustness

    rows = _rows(0.60, 0.499, 0.501, 0.50)      # 10.1, 9.9 and 10.0 points under clean
    add_drops(rows)
    assert [r["drop"] for r in rows] == [0.0, 10.1, 9.9, 10.0]
    text = format_robustness({"model": "m.keras", "backend": "litert", "trim": "vad", "n": 240,
                              "actors": [17, 18, 19, 20], "rows": rows})
    assert text.splitlines()[0] == "m.keras (litert, vad trim) on 240 files of actors 17-20"
    lines = {line.split(" |")[0].strip("| "): line for line in text.splitlines() if line.startswith("|")}
    assert "**(> 10)**" in lines["white5"]
    assert "**(> 10)**" not in lines["reverb"] and "**(> 10)**" not in lines["telephone"]   # 10.0 is not past 10
    assert "| 49.9 % | 0.249 | +10.1" in lines["white5"]
    assert "worst: white5 (+10.1 points); mean drop 10.0; conditions more than 10 points under clean: 1/3" in text


def test_table_csv_opens_in_pandas_one_row_per_condition(tmp_path):
    import pandas as pd

    from emofuse.plugins.ravdess_cnn.robustness import add_drops, write_robustness_csv

    rows = _rows(0.60, 0.45, 0.55)
    add_drops(rows)
    path = write_robustness_csv({"rows": rows}, tmp_path / "out" / "voice_robustness.csv")
    table = pd.read_csv(path)
    assert list(table["condition"]) == ["clean", "white5", "reverb"]
    assert list(table["drop_points"]) == [0.0, 15.0, 5.0] and list(table["accuracy"]) == [0.60, 0.45, 0.55]
    assert list(table.columns) == ["condition", "accuracy", "macro_f1", "accuracy_7", "drop_points", "n", "seconds"]
    assert [p.name for p in path.parent.iterdir()] == ["voice_robustness.csv"]    # no temp file left
