"""Plant known one-line bugs, one at a time, and check that the fast tests catch each (issue 19).

    python benchmarks/mutants.py [--only NAME ...] [--without-new] [--worktree] [--list]

The last commit (`--worktree`: the working tree's tracked and untracked-not-ignored files) is
copied to a temp folder; the mutants are planted there, never in this tree, so other work in
it goes on undisturbed. The copy is imported as `emofuse` through a folder of symlinks
(`pkgroot/emofuse/*` -> the copy's `fusion/*`, `pkgroot/emofuse/plugins` -> its `plugins/`)
put first on PYTHONPATH: the editable install's finder comes after the path on `sys.meta_path`,
so it never answers. The script checks that before it starts, runs the chosen tests unmutated
(any that fail then are left out, and named), then per mutant: substitute one text, run the mutant's test files
(`-m "not slow and not data"`, stop at the first failure), restore the file. A mutant is
*killed* when pytest fails, *survived* when it passes. `--without-new` leaves out the pinned
tests of issue 19 (tests/test_pinned*.py) to show what the suite caught before them.
Prints one line per mutant and the kill rate; exits 1 when a mutant survived.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PINNED = ["tests/test_pinned.py", "tests/test_pinned_cli.py"]


@dataclasses.dataclass(frozen=True)
class Mutant:
    name: str
    path: str          # file in the repository
    old: str           # text that must occur exactly once
    new: str
    tests: tuple[str, ...]  # fast test files that should catch it (besides the pinned ones)


MUTANTS = [
    Mutant("product-ignores-weights", "plugins/fusion_strategies.py",
           "log_mean = sum(np.log(np.maximum(s.array, self.floor)) * w for s, w in pairs) / total",
           "log_mean = sum(np.log(np.maximum(s.array, self.floor)) for s, w in pairs) / len(pairs)",
           ("tests/test_fusion_strategies.py",)),
    Mutant("product-drops-weights", "plugins/fusion_strategies.py",
           "        super().__init__(face_weight, voice_weight)\n        self.floor",
           "        super().__init__(PRODUCT_FACE_WEIGHT, PRODUCT_VOICE_WEIGHT)\n        self.floor",
           ("tests/test_fusion_strategies.py",)),
    Mutant("cli-set-dropped", "fusion/cli/options.py",
           '"component_options": component_options}', '"component_options": {}}',
           ("tests/test_cli_analyze.py",)),
    Mutant("cli-set-not-passed", "fusion/cli/analyze_cmd.py",
           "**component_choices(args, args.component_options)", "**component_choices(args, None)",
           ("tests/test_cli_analyze.py",)),
    Mutant("csv-fused-first", "fusion/table.py",
           'GROUPS = ("face", "voice", "fused")', 'GROUPS = ("fused", "face", "voice")',
           ("tests/test_types.py", "tests/test_cli_analyze.py")),
    Mutant("csv-errors-moved", "fusion/table.py",
           '("start", "end", "label", "confidence", "faces") + SCORE_COLUMNS + ("speaker", "voice_speech", "errors")',
           '("start", "end", "label", "confidence", "faces", "errors") + SCORE_COLUMNS + ("speaker", "voice_speech")',
           ("tests/test_types.py", "tests/test_cli_analyze.py")),
    Mutant("csv-person-errors-moved", "fusion/table.py",
           '"label", "confidence", "faces")\n    + SCORE_COLUMNS + ("errors",)',
           '"label", "confidence", "faces", "errors")\n    + SCORE_COLUMNS',
           ("tests/test_types.py", "tests/test_cli_analyze.py")),
    Mutant("atomic-publishes-partial", "fusion/atomic.py",
           "        if tmp.exists():\n            tmp.unlink()",
           "        if tmp.exists():\n            os.replace(tmp, target)",
           ("tests/test_types.py", "tests/test_cli_analyze.py")),
    Mutant("atomic-writes-target", "fusion/atomic.py",
           "        yield tmp\n", "        yield target\n",
           ("tests/test_types.py", "tests/test_cli_analyze.py")),
    Mutant("silence-minus-30", "fusion/audio.py", "SILENCE_DB = -45.0", "SILENCE_DB = -30.0",
           ("tests/test_runner.py", "tests/test_voice_features.py")),
    Mutant("silence-minus-70", "fusion/audio.py", "SILENCE_DB = -45.0", "SILENCE_DB = -70.0",
           ("tests/test_runner.py", "tests/test_voice_features.py")),
    Mutant("silence-mean-energy", "fusion/audio.py",
           "loud = np.percentile(energy, 90)", "loud = np.mean(energy)",
           ("tests/test_runner.py", "tests/test_voice_features.py")),
    Mutant("silence-loudest-frame", "fusion/audio.py",
           "loud = np.percentile(energy, 90)", "loud = np.max(energy)",
           ("tests/test_runner.py", "tests/test_voice_features.py")),
    Mutant("scores-accept-1.2", "fusion/types.py",
           "if abs(total - 1.0) > 1e-3:", "if abs(total - 1.0) > 0.25:",
           ("tests/test_types.py",)),
    Mutant("scores-not-renormalised", "fusion/types.py",
           'object.__setattr__(self, "values", tuple(v / total for v in values))',
           'object.__setattr__(self, "values", values)',
           ("tests/test_types.py",)),
    Mutant("tail-half-segment", "fusion/runner.py",
           "< 0.25 * segment:", "< 0.5 * segment:",
           ("tests/test_runner.py",)),
    Mutant("tail-at-or-under-quarter", "fusion/runner.py",
           "< 0.25 * segment:", "<= 0.25 * segment:",
           ("tests/test_runner.py",)),
    Mutant("tracker-iou-0.8", "fusion/tracking.py", "MATCH_IOU = 0.3", "MATCH_IOU = 0.8",
           ("tests/test_tracking.py",)),
    Mutant("tracker-iou-0.05", "fusion/tracking.py", "MATCH_IOU = 0.3", "MATCH_IOU = 0.05",
           ("tests/test_tracking.py",)),
    Mutant("evidence-ignores-weights", "plugins/fusion_strategies.py",
           "w = weight * reliability(q, ", "w = 1.0 * reliability(q, ",
           ("tests/test_fusion_strategies.py",)),
    Mutant("evidence-ignores-level", "plugins/fusion_strategies.py",
           "np.clip(speech, 0.0, 1.0) * _ramp(level_db, self.quiet_db, self.loud_db) * window_factor",
           "np.clip(speech, 0.0, 1.0) * window_factor",
           ("tests/test_fusion_strategies.py",)),
    Mutant("evidence-ignores-face-size", "plugins/fusion_strategies.py",
           "np.minimum(1.0, size / self.face_size), 1.0)", "1.0, 1.0)",
           ("tests/test_fusion_strategies.py",)),
    Mutant("min-speech-half", "fusion/voice_side.py", "MIN_SPEECH = 0.2", "MIN_SPEECH = 0.5",
           ("tests/test_runner.py", "tests/test_vad.py")),
    Mutant("speech-probability-strict", "fusion/voice_side.py",
           "(p >= SPEECH_PROBABILITY).mean()", "(p > SPEECH_PROBABILITY).mean()",
           ("tests/test_runner.py", "tests/test_vad.py")),
    Mutant("voice-window-from-start", "fusion/voice_side.py",
           "a = max(0.0, (start + end) / 2 - length / 2)", "a = max(0.0, start)",
           ("tests/test_runner.py",)),
    Mutant("energy-vad-1db-off", "plugins/vad.py",
           "20 * np.log10(rms + 1e-12) >= self.threshold_db", "20 * np.log10(rms + 1e-12) > self.threshold_db + 1",
           ("tests/test_vad.py",)),
    Mutant("weighted-default-equal", "plugins/fusion_strategies.py",
           "DEFAULT_FACE_WEIGHT = 0.0", "DEFAULT_FACE_WEIGHT = 1.0",
           ("tests/test_fusion_strategies.py", "tests/test_cli_analyze.py")),
]


def copy_tree(dest: Path, worktree: bool) -> Path:
    """Copy the last commit (or the working tree's files, as git lists them) to `dest`/repo."""
    root = dest / "repo"
    if not worktree:
        root.mkdir()
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=REPO, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
        return root
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():  # deleted-but-tracked files are skipped
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    return root


def package_root(dest: Path, root: Path) -> Path:
    """`dest`/pkgroot/emofuse: symlinks to the copy's fusion/* and plugins/, the installed layout."""
    pkg = dest / "pkgroot" / "emofuse"
    pkg.mkdir(parents=True)
    for entry in (root / "fusion").iterdir():
        (pkg / entry.name).symlink_to(entry)
    (pkg / "plugins").symlink_to(root / "plugins")
    return pkg.parent


def environment(pkgroot: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pkgroot), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutant's bytecode must never outlive it
    return env


def check_imports(root: Path, env: dict[str, str]) -> None:
    code = "import emofuse, emofuse.plugins, emofuse.cli; print(emofuse.__file__); print(emofuse.plugins.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True, capture_output=True,
                         text=True).stdout.split()
    outside = [f for f in out if not f.startswith(str(root.parent))]
    if outside:
        sys.exit(f"the copy is not what gets imported: {outside}")


def pytest(root: Path, env: dict[str, str], files: list[str], skip: list[str] = (),
           first_failure: bool = True) -> tuple[bool, float, list[str]]:
    """Run the fast tests of `files` but `skip` (node ids): (passed, seconds, the output's lines)."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", "-m", "not slow and not data",
               *(["-x"] if first_failure else []), *files, *(f"--deselect={node}" for node in skip)]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    return done.returncode == 0, time.perf_counter() - start, done.stdout.strip().splitlines() or [""]


def failed_nodes(lines: list[str]) -> list[str]:
    return [line.split()[1] for line in lines if line.startswith("FAILED ")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    parser.add_argument("--without-new", action="store_true", help="leave out tests/test_pinned*.py")
    parser.add_argument("--worktree", action="store_true",
                        help="mutate a copy of the working tree (uncommitted changes too) instead of the last commit")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args()
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.list or not mutants:
        for m in MUTANTS:
            print(f"{m.name:26} {m.path}: {m.old.strip()!r} -> {m.new.strip()!r}")
        return 0
    extra = [] if args.without_new else PINNED
    with tempfile.TemporaryDirectory(prefix="emofuse-mutants-") as tmp:
        root = copy_tree(Path(tmp), args.worktree)
        env = environment(package_root(Path(tmp), root))
        check_imports(root, env)
        files = sorted({f for m in mutants for f in m.tests} | set(extra))
        ok, seconds, lines = pytest(root, env, files, first_failure=False)
        skip = failed_nodes(lines)
        if not ok and not skip:
            print("\n".join(lines[-20:]), file=sys.stderr)
            return 2
        print(f"unmutated: {lines[-1]} ({seconds:.0f} s)")
        for node in skip:
            print(f"  left out (fails unmutated): {node}")
        killed = []
        for m in mutants:
            target = root / m.path
            original = target.read_text()
            if original.count(m.old) != 1:
                print(f"{m.name:26} SKIPPED: the text to replace occurs {original.count(m.old)} times in {m.path}")
                continue
            try:
                target.write_text(original.replace(m.old, m.new))
                passed, seconds, lines = pytest(root, env, [*m.tests, *extra], skip)
            finally:
                target.write_text(original)
            killed.append(not passed)
            by = failed_nodes(lines)
            print(f"{m.name:26} {'killed' if not passed else 'SURVIVED':8} {seconds:5.1f} s  "
                  f"{by[0] if by else lines[-1]}")
    n = len(killed)
    print(f"killed {sum(killed)} of {n} ({100 * sum(killed) / max(1, n):.0f} %)"
          f"{' without tests/test_pinned*.py' if args.without_new else ''}")
    return 0 if all(killed) else 1


if __name__ == "__main__":
    sys.exit(main())
