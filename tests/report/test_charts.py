"""The memo chart suite: every chart draws for every example scenario, and matches its baseline.

Regenerate the baseline images (after an intended change of a chart) with
``CAPSIM_UPDATE_BASELINES=1 python -m pytest tests/report/test_charts.py``, then look at them and
commit ``tests/report/baselines/*.png``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest
from memo_runs import SCENARIOS, small_run

from capsim.errors import UsageError
from capsim.report import charts, suite
from capsim.runs.rundir import RunDir

matplotlib.use("Agg")

BASELINES = Path(__file__).parent / "baselines"
BASELINE_DPI = 60
TOLERANCE_RMS = 2.0
FIXED_LABEL_DATE = "2026-01-01"
EXAMPLES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


@pytest.fixture(autouse=True)
def _deterministic_style() -> Iterator[None]:
    """Fixed fonts and SVG ids, so images do not depend on the machine's matplotlib setup."""
    with matplotlib.rc_context(
        {
            "font.family": "DejaVu Sans",
            "svg.hashsalt": "capsim",
            "path.simplify": True,
            "text.hinting": "auto",
        }
    ):
        yield


@pytest.mark.parametrize("scenario", EXAMPLES)
def test_every_chart_draws_for_every_example_scenario(scenario: str) -> None:
    run = RunDir(small_run(scenario))
    for name in suite.CHART_NAMES:
        figure = suite.draw(name, run)
        title = figure.get_suptitle()
        assert title and figure.axes, name
        assert charts.run_label(run).footnote() in figure.get_supxlabel(), name
        for ax in figure.axes:
            assert ax.get_xlabel() and (ax.get_ylabel() or ax is not figure.axes[0]), name


def test_chart_names_are_unique_and_cover_the_suite() -> None:
    assert len(set(suite.CHART_NAMES)) == len(suite.CHART_NAMES) == 12
    assert suite.CHART_NAMES[:3] == ("capacity_vs_demand", "capacity_fan", "shortfall_probability")


def test_unknown_chart_and_non_run_directory_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no chart 'pie'"):
        suite.draw("pie", RunDir(small_run()))
    with pytest.raises(UsageError, match="not a complete capsim run"):
        suite.draw("capacity_fan", RunDir(tmp_path))


def test_draw_all_saves_every_chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved: list[str] = []

    def fake_save(figure: object, directory: Path, name: str) -> list[Path]:
        saved.append(name)
        return [directory / f"{name}.png", directory / f"{name}.svg"]

    monkeypatch.setattr(charts, "save", fake_save)
    run = RunDir(small_run())
    paths = suite.draw_all(run, tmp_path, _fixed_label(run))
    assert saved == list(suite.CHART_NAMES)
    assert len(paths) == 2 * len(suite.CHART_NAMES)


def test_save_writes_a_300_dpi_png_and_an_svg(tmp_path: Path) -> None:
    run = RunDir(small_run())
    png, svg = charts.save(
        suite.draw("shortfall_probability", run, _fixed_label(run)),
        tmp_path,
        "shortfall_probability",
    )
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width_px = int.from_bytes(data[16:20], "big")
    assert width_px == round(charts.WIDTH_IN * 300)
    assert "<svg" in svg.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", suite.CHART_NAMES)
def test_chart_matches_its_baseline_image(name: str, tmp_path: Path) -> None:
    from matplotlib.testing.compare import compare_images

    run = RunDir(small_run("minimal"))
    actual = tmp_path / f"{name}.png"
    suite.draw(name, run, _fixed_label(run)).savefig(actual, dpi=BASELINE_DPI)
    expected = BASELINES / f"{name}.png"
    if os.environ.get("CAPSIM_UPDATE_BASELINES") == "1":
        BASELINES.mkdir(exist_ok=True)
        expected.write_bytes(actual.read_bytes())
        pytest.skip(f"baseline {expected.name} rewritten")
    assert expected.is_file(), f"no baseline {expected}; run with CAPSIM_UPDATE_BASELINES=1"
    failure = compare_images(str(expected), str(actual), tol=TOLERANCE_RMS)
    assert failure is None, failure


def _fixed_label(run: RunDir) -> charts.RunLabel:
    """The run's label with a fixed run date, so the footnote (and the image) never changes."""
    label = charts.run_label(run)
    return charts.RunLabel(
        label.scenario,
        label.sha256,
        label.seed,
        label.replications,
        label.version,
        FIXED_LABEL_DATE,
    )


def test_the_suite_declares_each_chart_once_with_title_drawing_and_takeaway() -> None:
    assert len({spec.name for spec in suite.SUITE}) == len(suite.SUITE) == 12
    for spec in suite.SUITE:
        assert spec.title and callable(spec.draw) and callable(spec.takeaway)
        assert suite.chart_spec(spec.name) is spec
    with pytest.raises(UsageError, match="expected one of: capacity_vs_demand"):
        suite.chart_spec("pie")


def test_every_takeaway_is_one_sentence_about_the_run() -> None:
    run = RunDir(small_run())
    for spec in suite.SUITE:
        text = spec.takeaway(run)
        assert text.endswith(".") and "\n" not in text, (spec.name, text)


def test_a_runs_own_charts_name_regions_as_people_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from capsim.api import run as run_scenario
    from capsim.scenario.loader import load_scenario

    seen: list[object] = []
    draw = charts.capacity_vs_demand

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(args[3] if len(args) > 3 else None)
        return draw(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(charts, "capacity_vs_demand", spy)
    scenario = load_scenario(SCENARIOS / "minimal.yaml")
    run_scenario(scenario, replications=2, output=tmp_path / "run", workers=1)
    names = {rid: region.name for rid, region in scenario.regions.items()}
    assert seen == [names]
    assert (tmp_path / "run" / "charts" / "capacity_vs_demand.png").is_file()
