"""Tests for capsim.scenario.paths: the one reader of dotted scenario paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsim.analysis.sensitivity import parse_parameter
from capsim.analysis.sweep import parse_axis
from capsim.errors import ScenarioError, UsageError
from capsim.scenario.loader import load_scenario
from capsim.scenario.paths import PathError, format_path, parse_path
from capsim.scenario.yamlio import MAX_DEPTH

MINIMAL = Path(__file__).resolve().parents[2] / "scenarios/minimal.yaml"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("policy.reserve_margin", ("policy", "reserve_margin")),
        ("demand.shocks[0].rate_per_year", ("demand", "shocks", 0, "rate_per_year")),
        (
            "regions.jp_tokyo.grid.queue.study_months.median",
            ("regions", "jp_tokyo", "grid", "queue", "study_months", "median"),
        ),
        ("demand.shocks.0.rate_per_year", ("demand", "shocks", 0, "rate_per_year")),
        ("a[1][2].b", ("a", 1, 2, "b")),
        ("a[ 3 ]", ("a", 3)),
        ("  replications  ", ("replications",)),
    ],
)
def test_keys_and_indexes_are_read_as_text_and_integers(
    text: str, expected: tuple[str | int, ...]
) -> None:
    """Field names stay text, list indexes (bracketed or all digits) become integers."""
    assert parse_path(text) == expected


def test_a_parsed_path_is_written_back_as_its_canonical_text() -> None:
    """``format_path`` renders what ``parse_path`` read, indexes in brackets."""
    path = parse_path("demand.shocks.0.rate_per_year")
    assert format_path(path) == "demand.shocks[0].rate_per_year"
    assert parse_path(format_path(path)) == path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty path"),
        ("   ", "empty path"),
        ("a..b", "empty part in path 'a..b' at character 3"),
        ("a.", "empty part in path 'a.' at character 3"),
        (".a", "empty part in path '.a' at character 1"),
        ("[0].a", "empty part in path '[0].a' at character 1"),
        ("a[0", "unclosed '[' in path 'a[0' at character 2"),
        ("a[x]", "list index must be a whole number >= 0, found 'x' in path 'a[x]' at character 3"),
        ("a[-1]", "found '-1'"),
        ("a[]", "found nothing in path 'a[]'"),
        ("a[0]b", "unexpected 'b'; expected '.' or '[' in path 'a[0]b' at character 5"),
        ("a]", "unexpected ']'; expected '.' or '[' in path 'a]' at character 2"),
        ("a. b", "space in path 'a. b' at character 3"),
    ],
)
def test_bad_syntax_names_what_is_wrong_and_where(text: str, expected: str) -> None:
    """Every unreadable path is a PathError naming the path and the character."""
    with pytest.raises(PathError) as caught:
        parse_path(text)
    assert expected in str(caught.value)


def test_paths_nest_at_most_as_deep_as_files() -> None:
    """64 levels read; 65 are refused before the path is read part by part."""
    deepest = ".".join(["x"] * MAX_DEPTH)
    assert len(parse_path(deepest)) == MAX_DEPTH
    with pytest.raises(PathError) as caught:
        parse_path(deepest + "[0]")
    levels, deep = MAX_DEPTH + 1, MAX_DEPTH
    expected = f"path has {levels} levels; scenario fields nest at most {deep} deep, as in files"
    assert str(caught.value) == expected


def test_a_very_long_path_is_cut_in_the_message() -> None:
    """A huge path is not repeated whole in the message."""
    with pytest.raises(PathError) as caught:
        parse_path("a" * 10_000 + "..b")
    assert len(str(caught.value)) < 300 and "..." in str(caught.value)


def test_set_param_and_grid_all_use_the_same_reader() -> None:
    """``--set``, ``--param`` and ``--grid`` report the same syntax error the same way."""
    message = "empty part in path 'policy..reserve_margin' at character 8"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(MINIMAL, ["policy..reserve_margin=0.1"])
    problem = caught.value.problems[0]
    assert problem.file == "--set policy..reserve_margin=0.1" and problem.message == message
    with pytest.raises(UsageError, match="empty part in path"):
        parse_parameter("policy..reserve_margin=0:1")
    with pytest.raises(UsageError, match="empty part in path"):
        parse_axis("policy..reserve_margin=0,1")
    assert parse_axis("demand.shocks[0].rate_per_year=1,2").short == "rate_per_year"
