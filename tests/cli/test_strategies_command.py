"""``capsim strategies``: writes and prints the document, exits 2 on bad input without a trace."""

from __future__ import annotations

import shlex
from pathlib import Path

from click.testing import CliRunner

from capsim.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "scenarios/minimal.yaml"


def variant(folder: Path, name: str, body: str = "") -> Path:
    """A variant file that extends the minimal example with ``body`` (YAML) changed."""
    path = folder / f"{name}.yaml"
    path.write_text(f"extends: {MINIMAL}\nname: {name}\n{body}", encoding="utf-8")
    return path


def document_without_date(text: str) -> str:
    """The document with its date line left out (the only line that depends on the day)."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("- Date: "))


def test_strategies_writes_out_md_prints_it_and_exits_0(tmp_path: Path) -> None:
    lever = variant(tmp_path, "reserve-30", "policy:\n  reserve_margin: 0.3\n")
    out = tmp_path / "out.md"
    out.write_text("an older memo\n", encoding="utf-8")
    keep = tmp_path / "runs"
    args = [str(MINIMAL), str(lever), "-n", "3", "--workers", "1", "-o", str(out)]
    result = CliRunner().invoke(main, ["strategies", *args, "--keep", str(keep)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert result.stdout == text
    assert text.startswith("# Procurement strategies compared against minimal\n")
    assert "## Reading" in text
    assert f"wrote {out}" in result.stderr
    assert sorted(p.name for p in keep.iterdir()) == ["00-minimal", "01-reserve-30"]
    assert [p.name for p in tmp_path.glob(".out.md.*")] == []  # no temporary file left
    command = next(line for line in text.splitlines() if line.startswith("- Command: "))
    words = shlex.split(command.removeprefix("- Command: ").strip("`"))
    assert words[:2] == ["capsim", "strategies"]
    assert words[2:] == [*args[:4], "--seed", "7", "-o", str(out)]


def test_the_command_in_the_header_makes_the_same_document(tmp_path: Path) -> None:
    same = variant(tmp_path, "same")
    first = CliRunner().invoke(main, ["strategies", str(MINIMAL), str(same), "-n", "2"])
    assert first.exit_code == 0, first.output
    command = next(line for line in first.stdout.splitlines() if line.startswith("- Command: "))
    words = shlex.split(command.removeprefix("- Command: ").strip("`"))
    again = CliRunner().invoke(main, [*words[1:], "--workers", "1"])
    assert again.exit_code == 0, again.output
    assert document_without_date(again.stdout) == document_without_date(first.stdout)


def test_a_bad_variant_exits_2_with_file_and_line_and_leaves_out_md_unchanged(
    tmp_path: Path,
) -> None:
    bad = variant(tmp_path, "bad", "policy:\n  reserve_margin: -1\n")
    out = tmp_path / "out.md"
    out.write_text("an older memo\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["strategies", str(MINIMAL), str(bad), "-n", "2", "-o", str(out)]
    )
    assert result.exit_code == 2
    assert f"error: {bad}:4:19: policy.reserve_margin: must be >= 0.0; found -1" in result.stderr
    assert "Traceback" not in result.output
    assert out.read_text(encoding="utf-8") == "an older memo\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "out.md"]


def test_a_missing_variant_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = CliRunner().invoke(main, ["strategies", str(MINIMAL), str(missing), "-n", "2"])
    assert result.exit_code == 2
    assert f"error: {missing}: cannot read file" in result.stderr
    assert "Traceback" not in result.output


def test_bad_percentiles_and_an_unwritable_output_fail_before_anything_runs(
    tmp_path: Path,
) -> None:
    same = str(variant(tmp_path, "same"))
    result = CliRunner().invoke(
        main,
        ["strategies", str(MINIMAL), same, "--percentiles", "10,90", "--keep", str(tmp_path / "r")],
    )
    assert result.exit_code == 2
    assert "error: --percentiles:" in result.stderr
    nowhere = tmp_path / "no-such-folder" / "out.md"
    result = CliRunner().invoke(
        main, ["strategies", str(MINIMAL), same, "-o", str(nowhere), "--keep", str(tmp_path / "r")]
    )
    assert result.exit_code == 3
    assert f"error: cannot write {nowhere}" in result.stderr
    assert not (tmp_path / "r").exists()
