"""A scenario file can only describe a scenario: no objects, no code, no paths outside results/.

YAML tags that build objects are refused in files, in ``--set`` values and in ``extends`` bases;
the capsim source holds no call that could run code or unpickle data on the loading path; a
scenario name cannot steer a run directory out of the results folder; and file size, list length,
nesting and node counts are bounded with clear errors.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from capsim.cli.main import main
from capsim.errors import OutputError, ScenarioError
from capsim.runs.store import default_run_dir
from capsim.scenario.loader import load_scenario
from capsim.scenario.yamlio import MAX_FILE_BYTES, load_yaml

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "scenarios" / "minimal.yaml"
SOURCE = ROOT / "capsim"

DANGEROUS_TAGS = [
    "!!python/object/apply:os.system ['touch {sentinel}']",
    "!!python/object/new:subprocess.Popen [['touch', '{sentinel}']]",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:builtins.dict {{}}",
    "!!python/tuple [1, 2]",
    "!!binary aGVsbG8=",
    "!!set {{a, b}}",
    "!!omap [a: 1]",
    "!custom 3",
    "!<tag:example.com,2024:thing> 3",
]


def _minimal_with(line: str) -> str:
    text = MINIMAL.read_text(encoding="utf-8")
    return text.replace("seed: 7", f"seed: {line}")


@pytest.mark.parametrize("tag", DANGEROUS_TAGS)
def test_object_tags_are_refused_in_a_file(tag: str, tmp_path: Path) -> None:
    sentinel = tmp_path / "ran"
    path = tmp_path / "evil.yaml"
    path.write_text(_minimal_with(tag.format(sentinel=sentinel)), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert any("tag" in p.message and p.path == "seed" for p in info.value.problems), (
        info.value.messages()
    )
    assert not sentinel.exists()


@pytest.mark.parametrize("tag", DANGEROUS_TAGS)
def test_object_tags_are_refused_in_set_values(tag: str, tmp_path: Path) -> None:
    sentinel = tmp_path / "ran"
    result = CliRunner().invoke(
        main, ["validate", str(MINIMAL), "--set", f"seed={tag.format(sentinel=sentinel)}"]
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "error: --set seed=" in result.stderr
    assert not sentinel.exists()


def test_object_tags_are_refused_in_an_extends_base(tmp_path: Path) -> None:
    sentinel = tmp_path / "ran"
    base = tmp_path / "base.yaml"
    base.write_text(_minimal_with(DANGEROUS_TAGS[0].format(sentinel=sentinel)), encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nname: child\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    assert info.value.problems[0].file.endswith("base.yaml")
    assert "not allowed" in info.value.problems[0].message
    assert not sentinel.exists()


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/stdin", ".", "/", "/etc/shadow"])
def test_extends_cannot_read_devices_directories_or_other_files(
    target: str, tmp_path: Path
) -> None:
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {target}\nname: child\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.path) == (str(child), 1, "extends")
    assert problem.message == (
        f"base scenario {target!r} is not a .yaml or .yml file; expected a file ending in "
        ".yaml or .yml"
    )


@pytest.mark.parametrize("kind", ["directory", "device"])
def test_extends_of_a_yaml_name_that_is_no_regular_file_is_refused(
    kind: str, tmp_path: Path
) -> None:
    base = tmp_path / "base.yaml"
    if kind == "directory":
        base.mkdir()
    else:
        base.symlink_to("/dev/zero")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nname: child\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.path) == (str(child), 1, "extends")
    expected = "is a directory" if kind == "directory" else "is not a regular file"
    assert problem.message.startswith(f"base scenario 'base.yaml' {expected}")


def test_extends_through_a_yaml_link_to_another_file_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("name: hunter2\n", encoding="utf-8")
    (tmp_path / "base.yaml").symlink_to(secret)
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nname: child\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    [problem] = info.value.problems
    assert (problem.file, problem.path) == (str(child), "extends")
    assert "which does not end in .yaml or .yml" in problem.message
    assert "hunter2" not in problem.message


@pytest.mark.parametrize(
    "content",
    [
        "root:$6$saltsalt$secrethash:19000:0:99999:7:::\n",  # not a mapping
        "api_key: sk-secret-value\ntoken: [1, 2\n",  # not valid YAML
        "api_key: sk-secret-value\npassword: hunter2\n",  # a mapping with no scenario field
        "api_key: sk-secret-value\napi_key: hunter2\n",  # duplicate keys, no scenario field
        b"password: hunter2\xe9\n",  # not UTF-8
    ],
)
def test_extends_of_a_non_scenario_file_shows_none_of_its_content(
    content: str | bytes, tmp_path: Path
) -> None:
    base = tmp_path / "notes.yaml"
    if isinstance(content, bytes):
        base.write_bytes(content)
    else:
        base.write_text(content, encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text("name: child\nextends: notes.yaml\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.column, problem.path) == (
        str(child),
        2,
        10,
        "extends",
    )
    assert problem.message.startswith("base scenario 'notes.yaml' is not a scenario file")
    for secret in ("secret", "hunter2", "root", "api_key", "token", "password"):
        assert secret not in problem.message


@pytest.mark.parametrize("seed", ["[7", "!!python/name:os.system", "7\nseed: 8", "-7"])
def test_extends_of_a_scenario_with_problems_still_shows_them_in_the_base(
    seed: str, tmp_path: Path
) -> None:
    base = tmp_path / "base.yaml"
    base.write_text(
        MINIMAL.read_text(encoding="utf-8").replace("seed: 7", f"seed: {seed}"), encoding="utf-8"
    )
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {base.name}\nname: child\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    assert all(Path(p.file).resolve() == base.resolve() and p.line for p in info.value.problems)


# --- no code execution reachable from loading ----------------------------------------------------

#: Calls that run code or deserialise objects, as ``module.name`` or builtin name.
FORBIDDEN_CALLS = {
    "eval",
    "exec",
    "compile",
    "__import__",
    "pickle.load",
    "pickle.loads",
    "marshal.load",
    "marshal.loads",
    "shelve.open",
    "yaml.load",
    "yaml.load_all",
    "yaml.unsafe_load",
    "yaml.full_load",
    "yaml.unsafe_load_all",
    "os.system",
    "os.popen",
    "os.execv",
    "os.execvp",
    "os.spawnv",
    "subprocess.run",
    "subprocess.Popen",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "importlib.import_module",
}
FORBIDDEN_NAMES = {"UnsafeLoader", "FullLoader", "Loader", "pickle", "subprocess", "marshal"}
#: (file, call) -> why it is safe. Keep this short; every entry needs a reason.
ALLOWED = {
    (
        "sensitivity.py",
        "importlib.import_module",
    ): "imports a fixed SALib sampler module chosen by capsim's own code, never by a scenario",
}


def _calls(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                found.append((func.id, node.lineno))
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                found.append((f"{func.value.id}.{func.attr}", node.lineno))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names]
            module = node.module if isinstance(node, ast.ImportFrom) else None
            for name in [*(names if module is None else [module]), *names]:
                if name.split(".")[0] in FORBIDDEN_NAMES or name in FORBIDDEN_NAMES:
                    found.append((name, node.lineno))
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            found.append((node.attr, node.lineno))
    return found


def test_no_code_running_call_in_the_source_outside_the_allow_list() -> None:
    # Local process pools and Dask pickle the validated Scenario between capsim's own
    # processes; that sends our objects, it never unpickles data read from a scenario file,
    # and it happens inside concurrent.futures and distributed, not in capsim's source.
    offending = []
    used_allowances = set()
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, line in _calls(tree):
            if name in FORBIDDEN_CALLS or name in FORBIDDEN_NAMES:
                key = (path.name, name)
                if key in ALLOWED:
                    used_allowances.add(key)
                else:
                    offending.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert offending == []
    assert used_allowances <= set(ALLOWED)


def test_the_source_scan_would_catch_each_forbidden_call() -> None:
    sample = (
        "import pickle\nimport yaml\nyaml.load(x, Loader=yaml.Loader)\neval('1')\n"
        "pickle.loads(b'')\nimport subprocess\nsubprocess.run(['x'])\n"
    )
    names = {name for name, _ in _calls(ast.parse(sample))}
    assert {
        "pickle",
        "yaml.load",
        "Loader",
        "eval",
        "pickle.loads",
        "subprocess",
        "subprocess.run",
    } <= names


def test_yaml_reader_is_a_safe_loader() -> None:
    from capsim.scenario.yamlio import _Composer

    assert issubclass(_Composer, yaml.SafeLoader)
    assert "tag:yaml.org,2002:python/object" not in str(_Composer.yaml_constructors)


# --- names cannot steer output -------------------------------------------------------------------

BAD_NAMES = [
    "../x",
    "/etc",
    "a/b",
    "..",
    ".",
    "a\\b",
    "ａｂｃ",
    "abc\u0430",
    "abc\n",
    "x\x00y",
    "-rf",
    "",
    "a" * 65,
    "A",
    "name with space",
    "\u2215etc",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_unsafe_scenario_names_are_refused(name: str, tmp_path: Path) -> None:
    path = tmp_path / "named.yaml"
    data = load_yaml(MINIMAL).data
    data["name"] = name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [p.path for p in info.value.problems] == ["name"]
    with pytest.raises(OutputError):
        default_run_dir(tmp_path / "results", name, "20260101T000000Z")


@settings(max_examples=50, deadline=None, derandomize=True)
@given(name=st.from_regex(r"[a-z0-9][a-z0-9_-]{0,63}", fullmatch=True))
def test_default_run_directory_always_lies_inside_results(name: str) -> None:
    root = Path("/srv/capsim/results")
    run_dir = default_run_dir(root, name, "20260101T000000Z")
    assert run_dir.parent == root
    assert run_dir.resolve().is_relative_to(root)


# --- size limits ---------------------------------------------------------------------------------


def test_file_over_one_mebibyte_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    text = MINIMAL.read_text(encoding="utf-8")
    path.write_text(text + "#" * (MAX_FILE_BYTES + 1 - len(text.encode())), encoding="utf-8")
    assert path.stat().st_size == MAX_FILE_BYTES + 1 == 1_048_577
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "limited to 1048576 bytes" in info.value.messages()[0]


def test_file_of_exactly_one_mebibyte_is_read(tmp_path: Path) -> None:
    path = tmp_path / "full.yaml"
    text = MINIMAL.read_text(encoding="utf-8")
    path.write_text(text + "#" * (MAX_FILE_BYTES - len(text.encode())), encoding="utf-8")
    assert load_scenario(path).name == "minimal"


@pytest.mark.parametrize(
    ("path", "item", "limit"),
    [
        (
            ("deals_in_flight",),
            {"id": "d", "kind": "greenfield", "region": "au_nsw", "mw": 1, "stage": "signed"},
            1000,
        ),
        (("demand", "shocks"), {"name": "s", "rate_per_year": 0, "it_mw": 1}, 50),
        (("regions", "au_nsw", "grid", "upgrades"), {"mw": 1, "month": 1}, 100),
        (("targets",), {"name": "t", "metric": "study_months", "min": 1, "source": "x"}, 200),
    ],
    ids=["deals_in_flight", "shocks", "upgrades", "targets"],
)
def test_lists_over_their_maximum_length_are_refused(
    path: tuple[str, ...], item: dict[str, object], limit: int, tmp_path: Path
) -> None:
    data = load_yaml(MINIMAL).data
    node = data
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = [item] * (limit + 1)
    file = tmp_path / "long.yaml"
    file.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    expected = f"expected at most {limit} items, found {limit + 1}"
    assert any(expected in message for message in info.value.messages()), info.value.messages()


@pytest.mark.slow
def test_deep_nesting_and_node_floods_are_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: x\ndescription: " + "[" * 200 + "]" * 200 + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(deep)
    assert "nesting deeper than 64 levels" in info.value.messages()[0]
    flood = tmp_path / "flood.yaml"
    flood.write_text("name: x\ndescription: [" + "0," * 120_000 + "0]\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(flood)
    assert "more than 100000 values" in info.value.messages()[0]


def test_terminal_escapes_in_a_key_are_shown_escaped(tmp_path: Path) -> None:
    path = tmp_path / "escape.yaml"
    path.write_text(MINIMAL.read_text(encoding="utf-8") + '"\\e[2J\\u2028": 1\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\u2028" not in result.stderr
    assert "\\x1b[2J\\u2028" in result.stderr
    assert len(result.stderr.splitlines()) == 1
