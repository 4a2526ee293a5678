"""The code base stays lint-clean (ruff) and type-clean (mypy, strict)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing() -> None:
    folders = [name for name in ("capsim", "tests", "benchmarks") if (ROOT / name).is_dir()]
    result = _run("ruff", "check", *folders)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_imports_flow_one_way_between_the_stages() -> None:
    # cli/api -> report -> analysis -> runs -> model -> scenario, never upward.
    import shutil

    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports is not None, "import-linter is not installed (pip install -e '.[dev]')"
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_ruff_format_leaves_every_file_as_it_is() -> None:
    folders = [name for name in ("capsim", "tests", "benchmarks") if (ROOT / name).is_dir()]
    result = _run("ruff", "format", "--check", *folders)
    assert result.returncode == 0, result.stdout + result.stderr
