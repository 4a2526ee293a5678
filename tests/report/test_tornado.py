"""The tornado: bars over [min, max] of low/base/high, readable labels, paired standard errors.

A small one-at-a-time study on the minimal scenario (fixed seed, four replications per point)
is run once; its table, its run directories and its chart are checked against figures worked
out by hand from the points' KPI tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capsim.analysis.decide import SensitivityRequest, run_sensitivity
from capsim.analysis.experiment import ExperimentSetup, Measure
from capsim.analysis.sensitivity import Parameter, one_at_a_time, paired_standard_error
from capsim.report import charts_decision, studies
from capsim.report.charts import RunLabel
from capsim.scenario.loader import load_stored_scenario
from capsim.scenario.schema import Scenario

MINIMAL = Path(__file__).resolve().parents[2] / "scenarios/minimal.yaml"
PARAMS = (
    "policy.reserve_margin=0:0.6",
    "deal_team.size=1:6",
    "regions.au_nsw.grid.queue.study_months.median=6:14",
)
LABEL = RunLabel("test", "0" * 64, 7, 4, "0", "2026-01-01")


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A published one-at-a-time study of three parameters (7 points of 4 replications)."""
    setup = ExperimentSetup(MINIMAL, ("replications=4",), workers=1)
    out = tmp_path_factory.mktemp("tornado") / "study"
    run_sensitivity(setup, SensitivityRequest(params=PARAMS), out, charts=studies)
    return out


def _drawn(figure: object) -> None:
    """Lay the figure out on an Agg canvas, so extents are those of the saved image."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure).draw()  # type: ignore[arg-type]


def _spans(figure: object) -> list[tuple[float, float]]:
    """(left, right) of every tornado bar, in data units, panel by panel, top row first."""
    out = []
    for ax in figure.axes:  # type: ignore[attr-defined]
        bars = [p for p in ax.patches if p.get_gid() == "span"]
        for bar in sorted(bars, key=lambda p: -p.get_y()):
            out.append((bar.get_x(), bar.get_x() + bar.get_width()))
    return out


def test_same_direction_bars_span_min_to_max_of_low_base_and_high() -> None:
    """Both bounds raise the KPI (a parabola around base): one bar from base to the farther."""
    params = [Parameter("a", -1.0, 2.0, base=0.0), Parameter("b", 1.0, 3.0, base=2.0)]

    def bowl(points: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        values: np.ndarray = points[:, 0] ** 2 + 10 * (points[:, 1] - 2.0) ** 2
        return values

    table = one_at_a_time(params, bowl).table
    assert list(table["swing"]) == [10.0, 4.0]  # max - min of (low, base, high)
    figure = charts_decision.tornado(table, "value", "MW", LABEL)
    assert _spans(figure) == [(0.0, 10.0), (0.0, 4.0)]
    assert list(table["change_at_low"]) == [10.0, 1.0]
    assert list(table["change_at_high"]) == [10.0, 4.0]


def test_every_bar_of_a_study_spans_min_to_max_of_its_changes(study: Path) -> None:
    table = pd.read_parquet(study / "sensitivity.parquet")
    figure = studies.sensitivity_figure("oat", table, _measure(), _base(study))
    order = list(dict.fromkeys(table.sort_values("rank", kind="stable")["parameter"]))
    expected = []
    for output in dict.fromkeys(table["output"]):
        rows = table[table["output"] == output].set_index("parameter").loc[order]
        for low, high in zip(rows["change_at_low"], rows["change_at_high"], strict=True):
            expected += [min(0.0, low, high), max(0.0, low, high)]
    assert [end for span in _spans(figure) for end in span] == pytest.approx(expected)
    swings = table["swing"].to_numpy()
    at = table[["at_base", "at_low", "at_high"]].to_numpy()
    assert np.array_equal(swings, at.max(axis=1) - at.min(axis=1))


def _measure() -> Measure:
    """The statistic the study's chart stands on."""
    return Measure("shortfall_mw_months", "p50")


def _base(study: Path) -> Scenario:
    """The study's stored base scenario."""
    return load_stored_scenario(study / "scenario.yaml")


def test_labels_are_field_descriptions_not_dotted_paths(study: Path) -> None:
    table = pd.read_parquet(study / "sensitivity.parquet")
    figure = studies.sensitivity_figure("oat", table, _measure(), _base(study))
    shown = [t.get_text() for t in figure.axes[1].get_yticklabels()]
    assert {s.split("\n")[0] for s in shown} == {
        "Capacity target above forecast",
        "Deal-team members",
        "Duration of one study (median) – Australia NSW",
    }
    for text in shown:
        assert not any(p.split("=")[0] in text for p in PARAMS)
    assert "0 to 0.6 fraction" in "\n".join(shown) and "6 to 14 months" in "\n".join(shown)


def test_error_bars_are_the_paired_standard_errors_worked_out_by_hand(study: Path) -> None:
    table = pd.read_parquet(study / "sensitivity.parquet")
    points = pd.read_parquet(study / "points.parquet").set_index("point")
    base = pd.read_parquet(study / points.loc["base", "run_dir"] / "kpis.parquet")
    base_kpi = base.set_index("replication")["shortfall_mw_months"].sort_index()
    expected: dict[str, tuple[float, float]] = {}
    for j, spec in enumerate(PARAMS):
        path = spec.split("=")[0]
        errors = []
        for bound in ("low", "high"):
            label = next(p for p in points.index if p.startswith(f"{j:02d}-") and p.endswith(bound))
            kpis = pd.read_parquet(study / points.loc[label, "run_dir"] / "kpis.parquet")
            other = kpis.set_index("replication")["shortfall_mw_months"].sort_index()
            differences = (other - base_kpi).to_numpy()
            assert len(differences) == 4
            errors.append(float(np.std(differences, ddof=1) / math.sqrt(4)))
        expected[path] = (errors[0], errors[1])
        rows = table[table["parameter"] == path]
        assert rows["se_change_at_low"].to_numpy() == pytest.approx([errors[0]] * 2)
        assert rows["se_change_at_high"].to_numpy() == pytest.approx([errors[1]] * 2)
    assert any(e > 0 for pair in expected.values() for e in pair)
    figure = studies.sensitivity_figure("oat", table, _measure(), _base(study))
    order = list(dict.fromkeys(table.sort_values("rank", kind="stable")["parameter"]))
    from matplotlib.container import ErrorbarContainer

    panel = figure.axes[1]
    containers = [c for c in panel.containers if isinstance(c, ErrorbarContainer)]
    assert [c.get_label() for c in containers] == [
        charts_decision.LOW_NAME,
        charts_decision.HIGH_NAME,
    ]
    for k, container in enumerate(containers):
        segments = container.lines[2][0].get_segments()
        top_down = sorted(segments, key=lambda seg: -seg[0][1])
        half_widths = [(seg[1][0] - seg[0][0]) / 2 for seg in top_down]
        assert half_widths == pytest.approx([expected[p][k] for p in order])  # rank 1 on top


def test_paired_standard_error_is_the_sd_of_differences_over_root_n() -> None:
    base = pd.Series([1.0, 2.0, 3.0, 4.0], index=[0, 1, 2, 3])
    other = pd.Series([2.0, 2.0, 5.0, 4.0], index=[0, 1, 2, 3])
    assert paired_standard_error(base, other) == pytest.approx(np.std([1, 0, 2, 0], ddof=1) / 2)
    assert paired_standard_error(base, base + 3.0) == 0.0  # common random numbers: no noise
    assert math.isnan(paired_standard_error(base.iloc[:1], other.iloc[:1]))


def test_legend_covers_no_bar_and_no_text_is_clipped(study: Path) -> None:
    table = pd.read_parquet(study / "sensitivity.parquet")
    figure = studies.sensitivity_figure("oat", table, _measure(), _base(study))
    _drawn(figure)
    renderer = figure.canvas.get_renderer()
    legends = [leg for ax in figure.axes if (leg := ax.get_legend()) is not None]
    legends += list(figure.legends)
    assert len(legends) == 1
    box = legends[0].get_window_extent(renderer)
    bars = [p for ax in figure.axes for p in ax.patches if p.get_gid() == "span"]
    assert bars
    for bar in bars:
        assert not box.overlaps(bar.get_window_extent(renderer))
    for ax in figure.axes:
        if ax.axison:
            assert not box.overlaps(ax.get_window_extent(renderer))
    _assert_no_text_clipped(figure, renderer)


def _drawn_texts(figure: object) -> list[object]:
    """Every visible, non-empty text the figure draws (tick labels outside the view are not)."""
    from matplotlib.text import Text

    ticks: set[int] = set()
    shown: list[object] = []
    for ax in figure.axes:  # type: ignore[attr-defined]
        for axis, limits, index in ((ax.xaxis, ax.get_xlim(), 0), (ax.yaxis, ax.get_ylim(), 1)):
            low, high = sorted(limits)
            for label in axis.get_ticklabels():
                ticks.add(id(label))
                if low - 1e-9 <= label.get_position()[index] <= high + 1e-9 and ax.axison:
                    shown.append(label)
    for text in figure.findobj(Text):  # type: ignore[attr-defined]
        if id(text) not in ticks:
            shown.append(text)
    return [t for t in shown if t.get_visible() and t.get_text().strip()]  # type: ignore[attr-defined]


def _assert_no_text_clipped(figure: object, renderer: object) -> None:
    """Every drawn text lies inside the figure (half a pixel of rounding allowed)."""
    frame = figure.bbox  # type: ignore[attr-defined]
    texts = _drawn_texts(figure)
    assert texts
    for text in texts:
        extent = text.get_window_extent(renderer)  # type: ignore[attr-defined]
        where = text.get_text()  # type: ignore[attr-defined]
        assert frame.x0 - 0.5 <= extent.x0 and extent.x1 <= frame.x1 + 0.5, where
        assert frame.y0 - 0.5 <= extent.y0 and extent.y1 <= frame.y1 + 0.5, where


def test_frontier_key_and_labels_stay_inside_the_figure(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "label": ["reserve_margin=0, bridge=on", "reserve_margin=0, bridge=off", "x=1", "y=2"],
            "cost": [1e9, 1e9, 2e9, 3e9],
            "risk": [10.0, 10.0, 5.0, 6.0],
            "on_frontier": [True, True, True, False],
        }
    )
    figure = charts_decision.frontier(table, ("cost", "USD"), ("risk", "MW-months"), LABEL)
    _drawn(figure)
    renderer = figure.canvas.get_renderer()
    numbers = [t.get_text() for ax in figure.axes for t in ax.texts if t.get_gid() is None]
    assert numbers == ["1", "2"]  # the tied strategies share one number
    _assert_no_text_clipped(figure, renderer)


def test_a_long_frontier_key_grows_the_figure_instead_of_running_off_it() -> None:
    count = 16
    table = pd.DataFrame(
        {
            "label": [
                f"reserve_margin=0.{i:02d}, equipment_order_at=launch, bridge=on"
                for i in range(count)
            ],
            "cost": [1e9 * (i + 1) for i in range(count)],
            "risk": [100.0 - i for i in range(count)],
            "on_frontier": [True] * count,
        }
    )
    figure = charts_decision.frontier(table, ("cost", "USD"), ("risk", "MW-months"), LABEL)
    _drawn(figure)
    _assert_no_text_clipped(figure, figure.canvas.get_renderer())
