"""Queue fitting recovers the figures a simulated queue was made with, and censoring matters.

A competitors-only scenario with known arrivals, sizes, Weibull withdrawal and study and works
months is run; its queue is exported as of a month that leaves many requests active, fitted,
and every figure's 95% interval must hold the true value (one run under a fixed seed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from tiny import TINY, changed

from capsim.analysis.fit.censored import fit_weibull
from capsim.analysis.fit.estimate import fit_queue
from capsim.analysis.fit.readers import read_queue
from capsim.api import run
from capsim.cli.main import main
from capsim.scenario.loader import load_scenario

TRUE = {
    "arrivals_per_year": 60.0,
    "size_median_mw": 80.0,
    "size_p90_mw": 250.0,
    "weibull_shape": 1.5,
    "weibull_scale_months": 36.0,
    "study_median_months": 14.0,
    "study_p90_months": 30.0,
}
AS_OF = "2031-12"


def known_scenario() -> Any:
    """Twenty years of a competitors-only queue whose every figure is known."""
    return changed(
        TINY,
        **{
            "start": "2020-01",
            "end": "2039-12",
            "regions.r1.existing_mw": 1000,
            "regions.r1.grid.headroom_mw": 1e7,
            "regions.r1.grid.queue": {
                "mode": "serial",
                "study_slots": 10000,
                "study_months": {"dist": "lognormal", "median": 14, "p90": 30},
                "works_months": {"dist": "lognormal", "median": 10, "p90": 20},
                "withdrawal_per_year": 0,
            },
            "regions.r1.grid.competitors": {
                "arrivals_per_year": 60,
                "mw": {"dist": "lognormal", "median": 80, "p90": 250},
                "withdrawal": {"model": "weibull", "shape": 1.5, "scale_months": 36},
            },
        },
    )


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The known scenario run, exported as of AS_OF with export-queue, fitted with capsim fit."""
    root = tmp_path_factory.mktemp("roundtrip")
    run(known_scenario(), output=root / "run", workers=1)
    runner = CliRunner()
    exported = runner.invoke(
        main,
        [
            "export-queue",
            str(root / "run"),
            "--format",
            "queued-up",
            "--as-of",
            AS_OF,
            "-o",
            str(root / "queue.csv"),
        ],
    )
    assert exported.exit_code == 0, exported.output
    result = runner.invoke(
        main,
        [
            "fit",
            str(root / "queue.csv"),
            "--format",
            "queued-up",
            "--region",
            "r1",
            "-o",
            str(root / "fit"),
        ],
    )
    assert result.exit_code == 0, result.output
    return root, json.loads((root / "fit" / "fit.json").read_text())


def recovered(fit: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The fitted figures, named as TRUE names them."""
    return {
        "arrivals_per_year": fit["arrivals"]["per_year"],
        "size_median_mw": fit["size_mw"]["median"],
        "size_p90_mw": fit["size_mw"]["p90"],
        "weibull_shape": fit["withdrawal"]["weibull"]["shape"],
        "weibull_scale_months": fit["withdrawal"]["weibull"]["scale_months"],
        "study_median_months": fit["study_months"]["median"],
        "study_p90_months": fit["study_months"]["p90"],
    }


@pytest.mark.slow
def test_the_export_leaves_many_requests_active(fitted: tuple[Path, dict[str, Any]]) -> None:
    """The as-of month censors a real share of requests, so the fit must handle censoring."""
    counts = fitted[1]["counts"]
    assert counts["active"] >= 0.1 * counts["requests"]
    assert counts["bad_rows"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TRUE))
def test_every_figure_is_recovered_within_its_interval(
    fitted: tuple[Path, dict[str, Any]], name: str
) -> None:
    """Each true figure lies in the fitted 95% interval (fixed seed: an exact outcome)."""
    estimate = recovered(fitted[1])[name]
    assert estimate["lower"] <= TRUE[name] <= estimate["upper"], estimate


@pytest.mark.slow
def test_the_weibull_wins_over_a_constant_hazard(fitted: tuple[Path, dict[str, Any]]) -> None:
    """Shape 1.5 is far from constant: AIC picks the Weibull and no trend is claimed."""
    fit = fitted[1]
    assert fit["withdrawal"]["chosen"] == "weibull"
    assert fit["arrivals"]["trend"] is False


@pytest.mark.slow
def test_the_fragment_validates_inside_a_scenario(
    fitted: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """grid.yaml's grid and targets, pasted into a scenario, load through the loader."""
    root, _ = fitted
    fragment = yaml.safe_load((root / "fit" / "grid.yaml").read_text())
    data = known_scenario().model_dump(mode="json", by_alias=True, exclude_none=True)
    data["regions"]["r1"]["grid"] = fragment["grid"]
    data["targets"] = fragment["targets"]
    path = tmp_path / "pasted.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    scenario = load_scenario(path)
    competitors = scenario.regions["r1"].grid.competitors
    assert not isinstance(competitors, list) and competitors.withdrawal is not None
    assert [t.metric for t in scenario.targets] == [
        "request_to_connection_months",
        "request_to_study_end_months",
    ]
    text = (root / "fit" / "grid.yaml").read_text()
    assert "sha256" in text and f"as of: {AS_OF}" in text


@pytest.mark.slow
def test_ignoring_censoring_biases_withdrawal_and_the_censored_fit_does_not(
    fitted: tuple[Path, dict[str, Any]],
) -> None:
    """Fitted on withdrawn requests alone, the Weibull scale is far too short; censored, it is not.

    Requests that progressed or were still waiting had not withdrawn by then; dropping them
    keeps only quick withdrawals.
    """
    root, _ = fitted
    fit = fit_queue(read_queue(root / "queue.csv", "queued-up"))
    times = fit.durations
    withdrawn = times.withdraw_months[times.withdraw_event]
    naive = fit_weibull(withdrawn, np.ones(withdrawn.size, dtype=bool))
    proper = fit.withdrawal_weibull
    assert not naive.scale_months.covers(TRUE["weibull_scale_months"])
    assert naive.scale_months.upper < 0.6 * TRUE["weibull_scale_months"]
    assert proper.scale_months.covers(TRUE["weibull_scale_months"])
    assert proper.shape.covers(TRUE["weibull_shape"])


@pytest.mark.slow
def test_the_run_directory_writes_every_output(fitted: tuple[Path, dict[str, Any]]) -> None:
    """The fit directory holds the fragment, the JSON, the charts and the report, nothing else."""
    root, _ = fitted
    names = sorted(p.name for p in (root / "fit").iterdir())
    assert names == [
        "arrivals.png",
        "durations.png",
        "fit.json",
        "grid.yaml",
        "outcomes.png",
        "report.md",
        "size.png",
        "withdrawal.png",
    ]
    assert not list(root.glob(".*partial*"))
