"""Outputs are published whole: all files or none, an earlier directory kept if a swap fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capsim.errors import OutputError
from capsim.runs import publish
from capsim.runs.publish import Writer, publish_directory, publish_file, publish_files


def _text(content: str) -> Writer:
    """A writer of ``content``."""

    def write(path: Path) -> None:
        path.write_text(content, encoding="utf-8")

    return write


def _fail(path: Path) -> None:
    """A writer that fails half-way (after writing something)."""
    path.write_text("half", encoding="utf-8")
    raise OSError(28, "No space left on device")


def test_every_file_is_renamed_into_place_and_no_temporary_is_left(tmp_path: Path) -> None:
    written = publish_files(tmp_path, [("a.txt", _text("A")), ("b.txt", _text("B"))])
    assert written == [tmp_path / "a.txt", tmp_path / "b.txt"]
    assert [p.read_text() for p in written] == ["A", "B"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_a_failed_writer_replaces_nothing_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old", encoding="utf-8")
    with pytest.raises(OSError):
        publish_files(tmp_path, [("a.txt", _text("new")), ("b.txt", _fail)])
    assert (tmp_path / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_replaced_file_keeps_its_mode_and_a_new_one_gets_the_usual_mode(tmp_path: Path) -> None:
    kept = tmp_path / "kept.txt"
    kept.write_text("old", encoding="utf-8")
    kept.chmod(0o640)
    publish_file(kept, _text("new"))
    assert kept.stat().st_mode & 0o777 == 0o640
    fresh = publish_file(tmp_path / "fresh.txt", _text("x"))
    mask = os.umask(0)
    os.umask(mask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~mask


def test_publish_file_names_the_output_when_the_disk_fails(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"cannot write .*out\.txt: No space left on device"):
        publish_file(tmp_path / "out.txt", _fail)
    assert list(tmp_path.iterdir()) == []


def test_a_directory_replaces_the_earlier_one_whole(tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    (output / "old.txt").write_text("old", encoding="utf-8")
    staging = publish.staging_sibling(output)
    staging.mkdir()
    (staging / "new.txt").write_text("new", encoding="utf-8")
    publish_directory(staging, output)
    assert sorted(p.name for p in output.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_swap_puts_the_earlier_directory_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    (output / "old.txt").write_text("old", encoding="utf-8")
    staging = publish.staging_sibling(output)
    staging.mkdir()
    real_replace = os.replace

    def replace(source: Path, target: Path) -> None:
        if Path(source) == staging:
            raise OSError(13, "Permission denied")
        real_replace(source, target)

    monkeypatch.setattr(publish.os, "replace", replace)
    with pytest.raises(OSError):
        publish_directory(staging, output)
    assert (output / "old.txt").read_text() == "old"
