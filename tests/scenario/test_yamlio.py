"""Tests for capsim.yamlio: safe YAML loading with positions and analyst-readable problems."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from capsim.errors import Problem, ScenarioError
from capsim.scenario.yamlio import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    PathKey,
    YamlDoc,
    dotted,
    dump_scenario_text,
    load_yaml,
    load_yaml_text,
    parse_scalar,
)

F = "scenario.yaml"


def problems_of(text: str | bytes) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_yaml_text(text, F)
    return info.value.problems


def one_problem(text: str | bytes) -> Problem:
    found = problems_of(text)
    assert len(found) == 1, found
    return found[0]


def billion_laughs() -> str:
    lines = ["lol0: &lol0 [" + ", ".join(['"lol"'] * 9) + "]"]
    for level in range(1, 10):
        aliases = ", ".join([f"*lol{level - 1}"] * 9)
        lines.append(f"lol{level}: &lol{level} [{aliases}]")
    return "\n".join(lines) + "\n"


# --- dotted -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ((), ""),
        (("name",), "name"),
        (("regions", "au_nsw", "upgrades", 0, "mw"), "regions.au_nsw.upgrades[0].mw"),
        (("a", 0, 1), "a[0][1]"),
    ],
)
def test_dotted(path: PathKey, expected: str) -> None:
    assert dotted(path) == expected


# --- reading files ----------------------------------------------------------------------------


def test_load_yaml_reads_file_and_uses_path_as_name(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: base\nyears: [2026, 2027]\n", encoding="utf-8")
    doc = load_yaml(path)
    assert doc.data == {"name": "base", "years": [2026, 2027]}
    assert doc.positions[("years", 1)] == (str(path), 2, 15)


def test_load_yaml_uses_display_name(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: base\n", encoding="utf-8")
    assert load_yaml(path, "shown.yaml").positions[("name",)] == ("shown.yaml", 1, 7)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_yaml(tmp_path / "nope.yaml", "nope.yaml")
    assert info.value.problems == [
        Problem("nope.yaml", None, None, "", "cannot read file: no such file")
    ]


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_yaml(tmp_path, "dir")
    assert info.value.problems == [
        Problem("dir", None, None, "", "cannot read file: it is a directory")
    ]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    path.chmod(0)
    try:
        with pytest.raises(ScenarioError) as info:
            load_yaml(path, "secret.yaml")
    finally:
        path.chmod(0o600)
    assert info.value.problems == [
        Problem("secret.yaml", None, None, "", "cannot read file: permission denied")
    ]


def test_too_large_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(2**33)  # sparse: reading it would take far longer than the bound below
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_yaml(path, "huge.yaml")
    assert time.perf_counter() - start < 2
    message = f"file is {2**33} bytes; scenario files are limited to 1048576 bytes"
    assert info.value.problems == [Problem("huge.yaml", None, None, "", message)]


def test_file_just_over_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ScenarioError) as info:
        load_yaml(path, "big.yaml")
    assert info.value.problems[0].message == (
        "file is 1048577 bytes; scenario files are limited to 1048576 bytes"
    )


def test_too_large_text() -> None:
    problem = one_problem("a: " + "x" * MAX_FILE_BYTES)
    assert problem.message == (
        f"file is {MAX_FILE_BYTES + 3} bytes; scenario files are limited to 1048576 bytes"
    )


# --- encoding ---------------------------------------------------------------------------------


def test_not_utf8_reports_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: x\nb: 2\ncc: \xff\xfe\n")
    with pytest.raises(ScenarioError) as info:
        load_yaml(path, "latin1.yaml")
    message = "file is not valid UTF-8 (byte 0xff at line 3, column 5); save it as UTF-8"
    assert info.value.problems == [Problem("latin1.yaml", 3, 5, "", message)]


def test_not_utf8_counts_characters_not_bytes() -> None:
    problem = one_problem("é: \xe9\n".encode() + b"x: \xc3(\n")
    assert (problem.line, problem.column) == (2, 4)
    assert "byte 0xc3 at line 2, column 4" in problem.message


def test_utf8_bom_is_accepted_and_positions_ignore_it() -> None:
    doc = load_yaml_text(b"\xef\xbb\xbfname: caf\xc3\xa9\n", F)
    assert doc.data == {"name": "café"}
    assert doc.key_positions[("name",)] == (F, 1, 1)
    assert load_yaml_text("\ufeffa: 1\n", F).positions[("a",)] == (F, 1, 4)


def test_control_character_is_refused() -> None:
    message = "file contains the character U+0001, which YAML does not allow; remove it"
    assert one_problem("a: 1\nb: x\x01y\n") == Problem(F, 2, 5, "", message)


# --- empty and malformed ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t\n", "# only\n# comments\n", "---\n", b""])
def test_empty_file(text: str | bytes) -> None:
    message = "file is empty; expected a scenario mapping such as 'name: ...'"
    assert one_problem(text) == Problem(F, None, None, "", message)


@pytest.mark.parametrize(
    ("text", "line", "column", "detail"),
    [
        ("name: a: b\n", 1, 8, "mapping values are not allowed here"),
        (
            "a: [1, 2\n",
            2,
            1,
            "expected ',' or ']', but got '<stream end>' (the bracket '[' opened at line 1, "
            "column 4 is not closed)",
        ),
        ("a: 1\n b: 2\n", 2, 3, "mapping values are not allowed here"),
        ("a: *missing\n", 1, 4, "found undefined alias 'missing'"),
        ("a: &x 1\nb: &x 2\n", 2, 4, "found duplicate anchor 'x'"),
        ("a:\n\t- 1\n", 2, 1, "found character '\\t' that cannot start any token"),
    ],
)
def test_malformed_yaml(text: str, line: int, column: int, detail: str) -> None:
    assert one_problem(text) == Problem(F, line, column, "", f"malformed YAML: {detail}")


def test_more_than_one_document() -> None:
    message = "file holds more than one YAML document; expected exactly one"
    assert one_problem("---\na: 1\n---\nb: 2\n") == Problem(F, 3, 1, "", message)


def test_single_explicit_document_is_fine() -> None:
    assert load_yaml_text("---\na: 1\n...\n", F).data == {"a": 1}


# --- duplicate keys ---------------------------------------------------------------------------


def test_every_duplicate_key_is_reported_at_the_second_key() -> None:
    text = "name: a\nregions:\n  au:\n    mw: 1\n    mw: 2\nname: b\nx: {p: 1, p: 2}\n"
    assert problems_of(text) == [
        Problem(F, 5, 5, "regions.au.mw", "duplicate key 'mw' (first defined at line 4)"),
        Problem(F, 6, 1, "name", "duplicate key 'name' (first defined at line 1)"),
        Problem(F, 7, 11, "x.p", "duplicate key 'p' (first defined at line 7)"),
    ]


def test_duplicate_inside_list_item_has_index_in_path() -> None:
    problem = one_problem("deals:\n  - mw: 1\n    mw: 2\n")
    assert problem == Problem(
        F, 3, 5, "deals[0].mw", "duplicate key 'mw' (first defined at line 2)"
    )


def test_int_and_text_spelling_of_same_key_are_duplicates() -> None:
    assert one_problem("2030: 1\n'2030': 2\n").message == (
        "duplicate key '2030' (first defined at line 1)"
    )


# --- tags -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!python/object:os.system x", "!!python/object:os.system"),
        ("!!python/object/apply:os.system [ls]", "!!python/object/apply:os.system"),
        ("!!python/name:os.system ''", "!!python/name:os.system"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!timestamp 2026-01-15", "!!timestamp"),
        ("!!set {a, b}", "!!set"),
        ("!!omap [a: 1]", "!!omap"),
        ("!!pairs [a: 1]", "!!pairs"),
        ("!local 3", "!local"),
        ("!<tag:example.com,2000:thing> 3", "tag:example.com,2000:thing"),
    ],
)
def test_refused_tags(value: str, shown: str) -> None:
    message = f"YAML tag '{shown}' is not allowed; scenario files hold plain data only"
    assert one_problem(f"name: x\nbad: {value}\n") == Problem(F, 2, 6, "bad", message)


def test_all_refused_tags_are_reported_together() -> None:
    text = "a: !!python/object:os.system x\nb:\n  - !foo 1\n  - !!binary aGk=\n!bar c: 1\n"
    found = problems_of(text)
    assert [(p.line, p.column, p.path) for p in found] == [
        (1, 4, "a"),
        (3, 5, "b[0]"),
        (4, 5, "b[1]"),
        (5, 1, ""),
    ]
    assert "'!bar' is not allowed" in found[3].message


def test_explicit_core_tags_are_accepted() -> None:
    text = (
        "s: !!str 12\ni: !!int '7'\nf: !!float 1\nb: !!bool yes\nn: !!null ''\n"
        "m: !!map {k: 1}\nq: !!seq [1]\nplain: ! 5\n"
    )
    assert load_yaml_text(text, F).data == {
        "s": "12",
        "i": 7,
        "f": 1.0,
        "b": True,
        "n": None,
        "m": {"k": 1},
        "q": [1],
        "plain": 5,
    }


def test_core_tag_on_wrong_kind_of_node() -> None:
    assert one_problem("a: !!str {k: 1}\n") == Problem(
        F, 1, 4, "a", "YAML tag '!!str' cannot be used on a mapping; remove the tag"
    )
    assert one_problem("a: !!map [1]\n").message == (
        "YAML tag '!!map' cannot be used on a list; remove the tag"
    )


def test_explicit_tag_with_impossible_value() -> None:
    assert one_problem("a: !!int lots\n") == Problem(
        F, 1, 4, "a", "'lots' does not fit its tag '!!int'; fix the value"
    )


def test_implicit_scalars_follow_yaml_1_1_but_dates_stay_text() -> None:
    text = (
        "date: 2026-01-15\nstamp: 2026-01-15 10:00:00\nmonth: 2026-01\nint: 12\nfloat: 1.5\n"
        "exp: 1.0e+3\nyes: yes\nnull: ~\nempty:\ninf: .inf\neq: =\nquoted: '3'\n"
    )
    data = load_yaml_text(text, F).data
    assert data == {
        "date": "2026-01-15",
        "stamp": "2026-01-15 10:00:00",
        "month": "2026-01",
        "int": 12,
        "float": 1.5,
        "exp": 1000.0,
        "yes": True,
        "null": None,
        "empty": None,
        "inf": math.inf,
        "eq": "=",
        "quoted": "3",
    }


# --- keys -------------------------------------------------------------------------------------


def test_scalar_keys_become_text() -> None:
    data = load_yaml_text("2030: 5\n0x10: a\nno: NO\n1.5: x\ntrue: t\n", F).data
    assert data == {"2030": 5, "16": "a", "no": False, "1.5": "x", "true": "t"}


def test_non_scalar_keys_are_refused() -> None:
    text = "a:\n  ? [1, 2]\n  : x\n  {k: v}: y\n"
    message = "mapping keys must be plain text, not a list or mapping"
    assert problems_of(text) == [Problem(F, 2, 5, "a", message), Problem(F, 4, 3, "a", message)]


def test_empty_key_is_refused() -> None:
    assert one_problem("? \n: 1\n") == Problem(
        F, 1, 2, "", "mapping keys must be plain text; this key is empty"
    )


# --- top level --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("- a\n- b\n", "a list"),
        ("[1, 2]\n", "a list"),
        ("42\n", "a number"),
        ("4.5\n", "a number"),
        ("just words\n", "text"),
        ("'quoted'\n", "text"),
        ("true\n", "a true/false value"),
        ("~\n", "nothing"),
    ],
)
def test_top_level_must_be_mapping(text: str, found: str) -> None:
    message = f"expected a mapping of scenario fields at the top level, found {found}"
    assert one_problem(text) == Problem(F, 1, 1, "", message)


# --- positions --------------------------------------------------------------------------------


def test_positions_of_nested_values_keys_and_list_items() -> None:
    text = (
        "name: base\n"
        "regions:\n"
        "  au_nsw:\n"
        "    grid:\n"
        "      upgrades:\n"
        "        - mw: 300\n"
        "          year: 2030\n"
        "        - {mw: 150, year: 2032}\n"
    )
    doc = load_yaml_text(text, F)
    assert doc.positions[()] == (F, 1, 1)
    assert doc.positions[("name",)] == (F, 1, 7)
    assert doc.key_positions[("name",)] == (F, 1, 1)
    assert doc.positions[("regions", "au_nsw")] == (F, 4, 5)
    assert doc.key_positions[("regions", "au_nsw")] == (F, 3, 3)
    upgrades = ("regions", "au_nsw", "grid", "upgrades")
    assert doc.positions[(*upgrades, 0)] == (F, 6, 11)
    assert doc.positions[(*upgrades, 0, "mw")] == (F, 6, 15)
    assert doc.key_positions[(*upgrades, 0, "mw")] == (F, 6, 11)
    assert doc.positions[(*upgrades, 0, "year")] == (F, 7, 17)
    assert doc.positions[(*upgrades, 1)] == (F, 8, 11)
    assert doc.positions[(*upgrades, 1, "year")] == (F, 8, 27)
    assert () not in doc.key_positions
    assert (*upgrades, 0) not in doc.key_positions


def test_positions_of_empty_value() -> None:
    doc = load_yaml_text("a:\nb: 1\n", F)
    assert doc.data == {"a": None, "b": 1}
    assert ("a",) in doc.positions


# --- anchors and merge keys -------------------------------------------------------------------


def test_plain_aliases_are_expanded_with_positions_at_the_anchor() -> None:
    doc = load_yaml_text("base: &b {mw: 5}\ncopy: *b\nlist: [*b, *b]\n", F)
    assert doc.data == {"base": {"mw": 5}, "copy": {"mw": 5}, "list": [{"mw": 5}, {"mw": 5}]}
    assert doc.positions[("copy", "mw")] == (F, 1, 15)
    assert doc.data["copy"] is not doc.data["base"]


def test_merge_key_with_mapping_and_override() -> None:
    text = "defaults: &d\n  mw: 100\n  lead: 12\nsite:\n  <<: *d\n  mw: 250\n"
    doc = load_yaml_text(text, F)
    assert doc.data["site"] == {"mw": 250, "lead": 12}
    assert doc.positions[("site", "mw")] == (F, 6, 7)
    assert doc.positions[("site", "lead")] == (F, 3, 9)
    assert doc.key_positions[("site", "lead")] == (F, 3, 3)
    assert "<<" not in doc.data["site"]


def test_merge_key_with_list_earlier_mappings_win() -> None:
    text = "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n"
    assert load_yaml_text(text, F).data["c"] == {"x": 1, "y": 1, "z": 3}


def test_nested_merges() -> None:
    text = "a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b, z: 3}\n"
    assert load_yaml_text(text, F).data["c"] == {"x": 1, "y": 2, "z": 3}


def test_merge_of_non_mapping_is_refused() -> None:
    assert one_problem("a:\n  <<: 3\n") == Problem(
        F, 2, 7, "a", "'<<' merge key needs a mapping or a list of mappings"
    )


# --- limits -----------------------------------------------------------------------------------


TOO_MANY = (
    "document holds or expands to more than 100000 values "
    "(a very large file, or anchors/aliases repeating data); refused"
)
TOO_DEEP = "nesting deeper than 64 levels; refused"


def test_billion_laughs_is_refused_quickly() -> None:
    start = time.perf_counter()
    problem = one_problem(billion_laughs())
    assert time.perf_counter() - start < 2
    assert problem.message == TOO_MANY
    assert problem.path == ""  # where counting stopped is no place to blame


def test_merge_key_bomb_is_refused_quickly() -> None:
    keys = ", ".join(f"k{i}: {i}" for i in range(9))
    lines = [f"m0: &m0 {{{keys}}}"]
    for level in range(1, 10):
        aliases = ", ".join([f"*m{level - 1}"] * 9)
        lines.append(f"m{level}: &m{level} {{<<: [{aliases}]}}")
    start = time.perf_counter()
    assert one_problem("\n".join(lines)).message == TOO_MANY
    assert time.perf_counter() - start < 2


def expanded(aliases: int) -> str:
    """A document of ``1002 + 1000 * aliases`` values once its aliases are expanded."""
    return f"a: &a [{', '.join(['1'] * 999)}]\nb: [{', '.join(['*a'] * aliases)}]\n"


def test_expansion_up_to_the_limit_is_fine_and_one_more_copy_is_refused() -> None:
    assert 1002 + 1000 * 98 <= MAX_NODES < 1002 + 1000 * 99
    assert len(load_yaml_text(expanded(98), F).data["b"]) == 98
    assert one_problem(expanded(99)).message == TOO_MANY


def nested_lists(depth: int) -> str:
    """``a: [[...1...]]``: the top-level mapping plus ``depth`` lists is ``depth + 1`` levels."""
    return "a: " + "[" * depth + "1" + "]" * depth + "\n"


def test_nesting_at_the_limit_is_fine() -> None:
    value: Any = load_yaml_text(nested_lists(MAX_DEPTH - 1), F).data["a"]
    for _ in range(MAX_DEPTH - 1):
        value = value[0]
    assert value == 1


def test_nesting_too_deep_while_parsing() -> None:
    assert one_problem(nested_lists(MAX_DEPTH)) == Problem(F, 1, 67, "", TOO_DEEP)


def test_deep_text_does_not_exhaust_the_stack() -> None:
    assert one_problem(nested_lists(5000)).message == TOO_DEEP


def test_nesting_too_deep_through_aliases() -> None:
    text = f"a: &a {'[' * 40}1{']' * 40}\nb: {'[' * 30}*a{']' * 30}\n"
    problem = one_problem(text)
    assert problem.message == TOO_DEEP
    assert problem.path.startswith("b[0][0]")


def test_recursive_anchor_is_refused() -> None:
    assert one_problem("a: &a [*a]\n").message == TOO_DEEP
    assert one_problem("a: &a {<<: *a}\n").message == TOO_DEEP


# --- parse_scalar -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        ("-2.5", -2.5),
        ("true", True),
        ("off", False),
        ("null", None),
        ("", None),
        ("abc", "abc"),
        ("'007'", "007"),
        ("2026-01-15", "2026-01-15"),
        ("[1, 2]", [1, 2]),
        ("{dist: fixed, value: 3}", {"dist": "fixed", "value": 3}),
        ("{a: &x [1], b: *x}", {"a": [1], "b": [1]}),
    ],
)
def test_parse_scalar(text: str, expected: Any) -> None:
    assert parse_scalar(text) == expected


def test_parse_scalar_date_is_text() -> None:
    assert isinstance(parse_scalar("2026-01-15"), str)


def test_parse_scalar_refuses_python_object() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scalar("!!python/object/apply:os.system [echo hi]")
    assert info.value.problems == [
        Problem(
            "--set",
            1,
            1,
            "",
            "YAML tag '!!python/object/apply:os.system' is not allowed; "
            "scenario files hold plain data only",
        )
    ]


def test_parse_scalar_reports_malformed_and_duplicates() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scalar("[1, 2")
    assert info.value.problems[0].message.startswith("malformed YAML: ")
    with pytest.raises(ScenarioError) as info:
        parse_scalar("{a: 1, a: 2}")
    assert info.value.problems == [
        Problem("--set", 1, 8, "a", "duplicate key 'a' (first defined at line 1)")
    ]


def test_parse_scalar_refuses_billion_laughs() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scalar(billion_laughs())
    assert info.value.problems[0].message == TOO_MANY


# --- round trip property ----------------------------------------------------------------------


# safe_dump(allow_unicode=True) mangles the YAML 1.1 line breaks NEL, LS and PS.
TEXT = st.characters(exclude_characters="\x85\u2028\u2029")
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(TEXT, max_size=20)
)
DATA = st.dictionaries(
    st.text(TEXT, max_size=10),
    st.recursive(
        SCALARS,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(TEXT, max_size=10), children, max_size=4)
        ),
        max_leaves=20,
    ),
    min_size=1,
    max_size=5,
)


def all_paths(value: Any, path: PathKey = ()) -> set[PathKey]:
    paths = {path}
    if isinstance(value, dict):
        for key, item in value.items():
            paths |= all_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths |= all_paths(item, (*path, index))
    return paths


def as_written(doc: YamlDoc) -> dict[str, Any]:
    """The document's data with every version-dependent number put back as its written text."""
    data = doc.data
    for path, text in doc.spellings.items():
        parent: Any = data
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = text
    return data


@settings(max_examples=200, deadline=None)
@given(DATA)
@example({"": "0E0"})
@example({"a": ["1e5", "+1E-3", ".5e3", "0o14"], "1e5": {"0o7": "1_0e1"}})
def test_safe_dump_round_trip_keeps_data_and_positions(data: dict[str, Any]) -> None:
    # PyYAML writes the text '1e5' unquoted (YAML 1.1 reads it as text); capsim reads a number
    # there and keeps the written text in doc.spellings, for the loader to use where the schema
    # wants text. With that text put back, nothing is lost.
    doc = load_yaml_text(yaml.safe_dump(data, allow_unicode=True), F)
    assert as_written(doc) == data
    paths = all_paths(data)
    assert set(doc.positions) == paths
    assert set(doc.key_positions) == {p for p in paths if p and isinstance(p[-1], str)}
    assert all(pos[0] == F and pos[1] >= 1 and pos[2] >= 1 for pos in doc.positions.values())


FULL_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
ANY_DATA = st.dictionaries(
    FULL_TEXT,
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | FULL_TEXT,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(FULL_TEXT, children, max_size=4)
        ),
        max_leaves=20,
    ),
    min_size=1,
    max_size=5,
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(ANY_DATA)
@example({"": "0E0", "a": "1e3", "b": "014", "c": "1:30", "d": "0o14", "e": "\x85", "1e5": 1})
def test_dump_scenario_text_reads_back_exactly(data: dict[str, Any]) -> None:
    doc = load_yaml_text(dump_scenario_text(data), F)
    assert doc.data == data
    assert doc.spellings == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e3", "'1e3'"),
        ("0E0", "'0E0'"),
        ("014", "'014'"),
        ("1:30", "'1:30'"),
        ("0o14", "'0o14'"),
        ("0x1F", "'0x1F'"),
        ("2026-01", "2026-01"),
        ("plain", "plain"),
    ],
)
def test_dump_scenario_text_quotes_text_that_reads_as_a_number(text: str, expected: str) -> None:
    assert dump_scenario_text({"a": text}) == f"a: {expected}\n"


# --- YAML 1.1 and 1.2 spellings of numbers ----------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("1e6", 1e6),
        ("0E0", 0.0),
        ("0o14", 12),
        ("-0o14", -12),
        ("0x1F", 31),
        ("0b101", 5),
        ("1_000", 1000),
        ("1.5e3", 1500.0),
        ("014", "014"),
        ("-014", "-014"),
        ("1:30", "1:30"),
        ("1:30.5", "1:30.5"),
        ("08", "08"),
        ("0", 0),
        ("0.5", 0.5),
    ],
)
def test_numbers_that_mean_the_same_in_yaml_1_1_and_1_2_or_are_text(
    written: str, value: Any
) -> None:
    data = load_yaml_text(f"a: {written}\n", F).data
    assert data == {"a": value}
    assert type(data["a"]) is type(value)


def test_version_dependent_spellings_keep_their_written_text() -> None:
    doc = load_yaml_text("a: 1e5\nb: [0o14, 014, 1:30, 12, '1e5']\nc: {d: 0E0}\n", F)
    assert doc.spellings == {
        ("a",): "1e5",
        ("b", 0): "0o14",
        ("b", 1): "014",
        ("b", 2): "1:30",
        ("c", "d"): "0E0",
    }


def test_version_dependent_keys_stay_as_written() -> None:
    data = load_yaml_text("1e5: a\n014: b\n0o14: c\n1:30: d\n0x10: e\n", F).data
    assert data == {"1e5": "a", "014": "b", "0o14": "c", "1:30": "d", "16": "e"}


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (
            "!!int 014",
            "'014' has a leading zero: YAML 1.1 reads it as octal (12), YAML 1.2 as 14; "
            "write 14, or 0o14 if octal is meant",
        ),
        (
            "!!int 1:30",
            "'1:30' is a base-60 number (90) in YAML 1.1 and text in YAML 1.2; write the number "
            "itself, e.g. 90",
        ),
    ],
)
def test_explicitly_tagged_octal_or_base_60_numbers_are_refused(written: str, message: str) -> None:
    assert one_problem(f"a: {written}\n") == Problem(F, 1, 4, "a", message)


def test_two_merge_keys_in_one_mapping_are_refused() -> None:
    text = "a: &a {x: 1}\nb: &b {x: 2}\nc:\n  <<: *a\n  <<: *b\n"
    assert one_problem(text) == Problem(
        F,
        5,
        3,
        "c",
        "second '<<' merge key in one mapping (the first is at line 4); merge several mappings "
        "with one key and a list, e.g. '<<: [*a, *b]'",
    )


@pytest.mark.parametrize(
    ("text", "line", "column", "opened"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", 3, 2, "bracket '[' opened at line 2, column 4"),
        ("a: [1,\n", 2, 1, "bracket '[' opened at line 1, column 4"),
        ("a: {x: 1\n\n\n", 4, 1, "bracket '{' opened at line 1, column 4"),
        ("a:\n  b: {x: [1,\n", 3, 1, "bracket '[' opened at line 2, column 10"),
        ("a: [1, {b: 2]\n", 1, 13, "bracket '{' opened at line 1, column 8"),
        ('a: "abc\n\n', 3, 1, "quote '\"' opened at line 1, column 4"),
    ],
)
def test_unclosed_bracket_names_where_it_was_opened(
    text: str, line: int, column: int, opened: str
) -> None:
    problem = one_problem(text)
    assert (problem.line, problem.column) == (line, column)
    assert problem.message.endswith(f"(the {opened} is not closed)")


def test_unclosed_bracket_in_a_one_line_value_names_its_column() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scalar("{dist: pert, min: 1")
    message = info.value.problems[0].message
    assert message.endswith("(the bracket '{' opened at column 1 is not closed)")
