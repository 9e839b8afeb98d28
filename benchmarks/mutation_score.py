"""Mutation testing of the core modules with mutmut (issue 19); `make mutants` runs it.

    python benchmarks/mutation_score.py                 # stage, run mutmut, print the table
    python benchmarks/mutation_score.py --report-only   # the table of the last run
    python benchmarks/mutation_score.py --only 'emofuse/tracks.py' --max-children 1

mutmut derives a mutant's module from its file path and checks it against `__module__` at run
time, so it needs the package where the import name says it is. This repository maps `emofuse`
onto `fusion/` and `emofuse.plugins` onto `plugins/` (pyproject's package-dir), so the script
stages a copy in the standard layout: `build/mutation/emofuse/` = `fusion/` with `plugins/` as
`emofuse/plugins/`, beside `tests/`, README.md, docs/, examples/, benchmarks/ and plugins/ (tests
read the shipped weights' files there), and a
pyproject.toml holding only the mutmut and pytest settings (CORE, SUITE below). mutmut copies
that into `build/mutation/mutants/`, plants each mutant behind a trampoline and runs, per mutant,
only the tests that called the mutated function (fastest first, stopping at the first failure).
PYTHONPATH points at the mutants so the CLI's subprocesses run the mutated code too.
Results stay in `build/mutation/mutants/` between runs: mutmut re-tests only what changed.

The core: `fusion/` without the CLI, the plugin-author helpers (`emofuse.testing`) and the
command-line-only modules, plus the fusion strategies, exporters and the feature maths
(docs/development.md lists them and explains the survivors). Prints, per file, mutants,
killed, survived, no tests, timeouts and the kill rate; exits 1 below `--fail-under`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGE = REPO / "build" / "mutation"

# The core, in groups that run (and can be worked on) independently: modules, as paths in the
# staged package. Each group has its own stage folder, so two groups can run side by side.
GROUPS: dict[str, list[str]] = {
    "fusion": ["emofuse/plugins/fusion_strategies.py", "emofuse/evidence.py", "emofuse/calibration.py",
               "emofuse/smoothing.py"],
    "tables": ["emofuse/types.py", "emofuse/table.py", "emofuse/plugins/exporters.py", "emofuse/atomic.py",
               "emofuse/provenance.py"],
    "faces": ["emofuse/tracks.py", "emofuse/tracking.py", "emofuse/shots.py", "emofuse/persons.py",
              "emofuse/people.py", "emofuse/face_side.py"],
    "voice": ["emofuse/speaking.py", "emofuse/speaker_side.py", "emofuse/voice_side.py", "emofuse/audio.py",
              "emofuse/plugins/spectral.py", "emofuse/plugins/mfcc.py"],
    "engine": ["emofuse/runner.py", "emofuse/walk.py", "emofuse/option_check.py", "emofuse/damage.py",
               "emofuse/fail_fast.py", "emofuse/threads.py"],
}
# Tests the mutants run against: the suite without the end-to-end files that spend seconds per
# test on real clips, subprocesses, browsers, devices or networks (they exercise I/O modules
# outside the core; run in CI as usual), and without the files that need the repository layout
# or ../shared/data. Per mutant, mutmut runs only those of these tests that called the mutated
# function, fastest first, and stops at the first failure.
LEFT_OUT_TESTS = [
    "test_packaging", "test_install_extras", "test_live_devices", "test_batch", "test_litert", "test_live",
    "test_live_voice", "test_live_sources", "test_live_people", "test_face_plugin", "test_face_predict",
    "test_face_cli", "test_avbench", "test_fusionbench", "test_docs_examples", "test_testing_helpers",
    "test_inputs", "test_annotate", "test_report", "test_voice_robustness", "test_voice_model",
    "test_example_plugin", "test_persons_e2e",
]
SUITE_ARGS = ["-m", "not data and not slow", "-p", "no:cacheprovider", "-q"]


def stage(group: str) -> Path:
    """Copy the tree into `build/mutation/GROUP` in the standard package layout (its mutants/ kept)."""
    root = STAGE / group
    root.mkdir(parents=True, exist_ok=True)
    package = root / "emofuse"
    if package.exists():
        shutil.rmtree(package)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "fusion", package, ignore=ignore)
    shutil.copytree(REPO / "plugins", package / "plugins", ignore=ignore)
    for name in COPIED:
        target = root / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(REPO / name, target, ignore=ignore)
    shutil.copy2(REPO / "README.md", root / "README.md")
    (root / "pyproject.toml").write_text(settings(group))
    return root


# besides the package: what tests read by path (docs, the example clip, benchmarks they import,
# the shipped weights and sources under their repository names)
COPIED = ("tests", "docs", "examples", "benchmarks", "plugins", "fusion")


def suite_args() -> list[str]:
    """pytest's arguments for every mutation run: the fast markers and the left-out files ignored.
    The selection itself is `tests/`, a fixed string: mutmut discards all verdicts when the
    selection changes, so a new test file must not change it."""
    return SUITE_ARGS + [f"--ignore=tests/{name}.py" for name in LEFT_OUT_TESTS]


def settings(group: str) -> str:
    """pyproject.toml of a group's stage: mutmut's settings and the suite's pytest settings."""
    import tomllib

    pytest_settings = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    mutmut = {
        "source_paths": ["emofuse"],
        "only_mutate": GROUPS[group],
        "also_copy": ["README.md", *COPIED],
        "pytest_add_cli_args": suite_args(),
        "pytest_add_cli_args_test_selection": ["tests"],
        "timeout_multiplier": 5.0,
        "timeout_constant": 10.0,
    }
    return "[tool.mutmut]\n" + _toml(mutmut) + "\n[tool.pytest.ini_options]\n" + _toml(pytest_settings)


def _toml(table: dict) -> str:
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in table.items())


def run_mutmut(root: Path, max_children: int, only: list[str]) -> int:
    """Run `mutmut run` in a stage (its output in `mutmut.log` there); returns its exit code.
    The CLI's subprocesses import the mutants."""
    env = dict(os.environ, PYTHONPATH=str(root / "mutants"))
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *only]
    with open(root / "mutmut.log", "w") as log:
        run = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        while True:
            try:
                return run.wait(timeout=5)
            except subprocess.TimeoutExpired:
                kill_hung_mutants(root)


# mutmut limits a mutant's CPU time; one that deadlocks (a blocked thread uses no CPU) would wait
# for ever. Past this many seconds, far beyond mutmut's own limit, it is killed: a crash, caught.
HUNG_AFTER_S = 120


def kill_hung_mutants(root: Path) -> None:
    """SIGKILL mutmut's workers (`mutmut: NAME` processes) of this stage running past HUNG_AFTER_S."""
    import signal

    ticks = os.sysconf("SC_CLK_TCK")
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if not (proc / "cmdline").read_bytes().startswith(b"mutmut: "):
                continue
            if not str(Path(os.readlink(proc / "cwd"))).startswith(str(root)):
                continue
            started = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
            if uptime - started > HUNG_AFTER_S:
                print(f"killed hung mutant {(proc / 'cmdline').read_bytes()[8:].decode(errors='replace')}",
                      file=sys.stderr)
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            continue


def statuses(group: str) -> dict[str, dict[str, str]]:
    """Per source file of a group, each mutant's status ("killed", "survived", "not checked"...),
    read from mutmut's `.meta` files."""
    from mutmut.stats import status_by_exit_code

    found: dict[str, dict[str, str]] = {}
    for source in GROUPS[group]:
        meta = STAGE / group / "mutants" / (source + ".meta")
        codes = json.loads(meta.read_text()).get("exit_code_by_key", {}) if meta.exists() else {}
        found[source] = {name: status_by_exit_code[code] for name, code in codes.items()}
    return found


def results(group: str) -> dict[str, Counter]:
    """Status counts per source file of a group."""
    return {source: Counter(by_name.values()) for source, by_name in statuses(group).items()}


def survivors(group: str, wanted: tuple[str, ...] = ("survived",)) -> list[str]:
    """Names of a group's mutants with these statuses (`mutmut show NAME` in build/mutation/GROUP
    shows one)."""
    return [name for by_name in statuses(group).values() for name, status in by_name.items() if status in wanted]


def _checked(counts: Counter) -> int:
    return sum(n for status, n in counts.items() if status not in ("not checked", "skipped"))


def kill_rate(counts: Counter) -> float:
    """Killed over the mutants checked: a timeout or a crash of the test process (segfault) is a
    caught mutant too; "no tests" is not."""
    checked = _checked(counts)
    caught = counts["killed"] + counts["timeout"] + counts["segfault"]
    return caught / checked if checked else float("nan")


def print_table(table: dict[str, Counter]) -> float:
    """One row per file and a total; returns the total kill rate."""
    total: Counter = Counter()
    print(f"{'file':40} {'mutants':>7} {'killed':>6} {'surv.':>5} {'no test':>7} {'t/o':>4} {'rate':>6}")
    for source, counts in table.items():
        total.update(counts)
        print(f"{source:40} {sum(counts.values()):7} {counts['killed']:6} {counts['survived']:5} "
              f"{counts['no tests']:7} {counts['timeout']:4} {kill_rate(counts):6.1%}")
    rate = kill_rate(total)
    print(f"{'all':40} {sum(total.values()):7} {total['killed']:6} {total['survived']:5} "
          f"{total['no tests']:7} {total['timeout']:4} {rate:6.1%}")
    other = {k: v for k, v in total.items() if k not in ("killed", "survived", "no tests", "timeout")}
    if other:
        print("other:", dict(other))
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--group", action="append", choices=sorted(GROUPS),
                        help="run only this group of modules (repeatable; default: all)")
    parser.add_argument("--report-only", action="store_true", help="print the table of the last runs")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants' names")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", nargs="*", default=[],
                        help="mutant names or globs, e.g. 'emofuse.tracks*' (mutmut run's arguments)")
    parser.add_argument("--recheck", action="store_true",
                        help="re-run only the survivors, untested and unchecked mutants of the last run (mutmut keeps "
                             "other results; run this after adding tests)")
    parser.add_argument("--fail-under", type=float, default=0.90, help="kill rate below which to exit 1")
    args = parser.parse_args(argv)
    groups = args.group or list(GROUPS)
    table: dict[str, Counter] = {}
    for group in groups:
        if not args.report_only:
            only = args.only or (survivors(group, ("survived", "no tests", "not checked")) if args.recheck else [])
            if args.recheck and not only:
                table.update(results(group))
                continue
            root = stage(group)
            code = run_mutmut(root, args.max_children, only)
            if code and not any(_checked(counts) for counts in results(group).values()):
                # the first run in a new stage can fail its stats collection (mutmut.log says why);
                # a second one, with the mutants generated, does not: retry once
                shutil.copy2(root / "mutmut.log", root / "mutmut.first.log")
                code = run_mutmut(root, args.max_children, only)
            if code:
                print(f"mutmut run ({group}) exited {code}", file=sys.stderr)
        table.update(results(group))
        if args.survivors:
            print("\n".join(survivors(group)))
    rate = print_table(table)
    return 0 if rate >= args.fail_under else 1


if __name__ == "__main__":
    sys.exit(main())
