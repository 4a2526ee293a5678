"""The tutorial works as written: its files are the committed scenarios, its commands all run.

``docs/tutorial.md`` is read block by block, in order, in an empty directory: a fenced block
whose info string names a file (```` ```yaml tutorial_japan.yaml ````) is appended to that file
(blocks of one file are separated by a blank line), and each line of a ```` ```shell ```` block
is run there with the venv's ``capsim`` first on ``PATH``. A block marked ``exit=N`` must exit
with N; every other command must succeed. Replication counts (``-n``) are cut to ``SMALL_N``
to stay fast; the scenarios themselves are checked by the golden-table test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
SMALL_N = 4
_FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    """Every fenced block of the tutorial as (info string, text), in order."""
    text = TUTORIAL.read_text(encoding="utf-8")
    return [(match.group(1).strip(), match.group(2)) for match in _FENCE.finditer(text)]


def built_files() -> dict[str, str]:
    """The files the tutorial's YAML blocks build, as the reader pastes them."""
    files: dict[str, list[str]] = {}
    for info, text in blocks():
        parts = info.split()
        if len(parts) == 2 and parts[0] == "yaml":
            files.setdefault(parts[1], []).append(text)
    return {name: "\n".join(parts) for name, parts in files.items()}


def test_the_tutorial_builds_exactly_the_committed_scenarios() -> None:
    files = built_files()
    assert sorted(files) == ["tutorial_japan.yaml", "tutorial_japan_file_early.yaml"]
    for name, text in files.items():
        assert text == (ROOT / "scenarios" / name).read_text(encoding="utf-8"), name


def test_the_tutorial_has_commands_for_each_step() -> None:
    commands = [
        line for info, text in blocks() if info.startswith("shell") for line in text.splitlines()
    ]
    assert [c.split()[1] for c in commands] == [
        "validate",
        "validate",
        "show",
        "run",
        "report",
        "strategies",
    ]


@pytest.mark.slow
def test_every_command_of_the_tutorial_runs(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    pending: dict[str, list[str]] = {}
    for info, text in blocks():
        parts = info.split()
        if len(parts) == 2 and parts[0] == "yaml":
            pending.setdefault(parts[1], []).append(text)
            (tmp_path / parts[1]).write_text("\n".join(pending[parts[1]]), encoding="utf-8")
            continue
        if not parts or parts[0] != "shell":
            continue
        expected = int(parts[1].removeprefix("exit=")) if len(parts) > 1 else 0
        for line in text.splitlines():
            command = re.sub(r"-n \d+", f"-n {SMALL_N}", line)
            done = subprocess.run(
                command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True
            )
            assert done.returncode == expected, f"{command}\n{done.stdout}\n{done.stderr}"
            assert "Traceback" not in done.stderr
    assert (tmp_path / "runs" / "base" / "report.html").is_file()
    assert "tutorial_japan_file_early" in (tmp_path / "file_early.md").read_text(encoding="utf-8")
