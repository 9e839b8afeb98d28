"""The wheel must hold every module: folder mapping in pyproject.toml can silently miss one."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _modules(folder: Path, package: str) -> set[str]:
    out = set()
    for path in folder.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(folder).with_suffix("")
        out.add(".".join((package, *rel.parts)).replace("/", "."))
    return out


@pytest.mark.slow
def test_wheel_contains_every_module_and_the_weights(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(tmp_path.glob("emofuse-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    in_wheel = {n[:-3].replace("/", ".") for n in names if n.endswith(".py")}
    expected = _modules(REPO / "fusion", "emofuse") | _modules(REPO / "plugins", "emofuse.plugins")
    missing = sorted(m.removesuffix(".__init__") for m in expected - in_wheel)
    assert not missing, f"modules missing from the wheel (add their packages to pyproject.toml): {missing}"
    for asset in [*REPO.glob("plugins/*/*.keras"), *REPO.glob("plugins/*/*.tflite"), *REPO.glob("plugins/*/*.json"),
                  *REPO.glob("fusion/data/*.png")]:
        rel = asset.relative_to(REPO)
        packaged = ("emofuse/" + str(rel.relative_to("fusion"))) if rel.parts[0] == "fusion" else ("emofuse/" + str(rel))
        assert packaged in names, f"{rel} is not in the wheel"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "emofuse = emofuse.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
