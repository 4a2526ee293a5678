"""The files of a finished study: tables, ``best.yaml``, lever importance, the manifest.

Everything is written into a hidden staging folder inside the study directory and then moved
into place file by file, so a failure leaves the previous outputs (or none) and never half a file.
``best.yaml`` extends the original scenario file with the chosen lever values, the seed and the
full replications, so ``capsim run best.yaml`` reproduces the winning trial's figures.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from capsim.analysis.optimize.levers import Lever
from capsim.errors import OutputError
from capsim.scenario.loader import scenario_to_data
from capsim.scenario.schema import Scenario
from capsim.scenario.yamlio import PathKey, dump_scenario_text

STAGING = ".outputs.partial"


def _prefix(key: PathKey) -> PathKey:
    """The path down to its first list index.

    A list is written whole, since ``extends`` replaces lists rather than merging them.
    """
    for i, part in enumerate(key):
        if isinstance(part, int):
            return key[:i]
    return key


def best_scenario_text(
    scenario_file: Path,
    directory: Path,
    levers: Sequence[Lever],
    chosen: Scenario,
    header: Sequence[str],
) -> str:
    """``best.yaml``: ``extends`` the original file, then the chosen lever values, seed and -n."""
    data = scenario_to_data(chosen)
    out: dict[str, Any] = {
        "extends": os.path.relpath(scenario_file.resolve(), directory.resolve()),
    }
    for lever in levers:
        prefix = _prefix(lever.key)
        node = out
        value: Any = data
        for part in prefix:
            value = value[part]
        for part in prefix[:-1]:
            node = node.setdefault(str(part), {})
        node[str(prefix[-1])] = value
    out["seed"] = chosen.seed
    out["replications"] = chosen.replications
    comments = "".join(f"# {line}\n" for line in header)
    return comments + dump_scenario_text(out)


def importance_table(study: Any, names: Sequence[str]) -> pd.DataFrame:
    """How much each lever matters to each objective (PED-ANOVA over finished trials).

    PED-ANOVA is deterministic and needs no extra package; empty when too few trials differ.
    """
    import warnings

    import optuna

    rows: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # its note that lower is better
                found = optuna.importance.get_param_importances(
                    study,
                    evaluator=optuna.importance.PedAnovaImportanceEvaluator(),
                    target=_objective(i),
                )
        except (ValueError, RuntimeError, ZeroDivisionError):
            continue
        rows.extend(
            {"objective": name, "lever": lever, "importance": float(share)}
            for lever, share in found.items()
        )
    return pd.DataFrame(rows, columns=["objective", "lever", "importance"])


def _objective(index: int) -> Any:
    """The importance target that reads objective ``index`` of a trial."""

    def target(trial: Any) -> float:
        return float(trial.values[index])

    return target


class Outputs:
    """Stage a study's output files, then move them into the study directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.staging = directory / STAGING
        shutil.rmtree(self.staging, ignore_errors=True)
        try:
            (self.staging / "charts").mkdir(parents=True)
        except OSError as exc:
            raise OutputError(f"cannot write {directory}: {exc.strerror or exc}") from exc

    @property
    def charts_dir(self) -> Path:
        """Where charts are drawn before they move into place."""
        return self.staging / "charts"

    def table(self, name: str, frame: pd.DataFrame) -> None:
        """A table as Parquet and CSV."""
        frame.to_parquet(self.staging / f"{name}.parquet", index=False)
        (self.staging / f"{name}.csv").write_text(frame.to_csv(index=False), encoding="utf-8")

    def text(self, name: str, text: str) -> None:
        """A text file."""
        (self.staging / name).write_text(text, encoding="utf-8")

    def manifest(self, manifest: Mapping[str, Any]) -> None:
        """``manifest.json`` (moved last, so its presence says the outputs are whole)."""
        self.text("manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")

    def publish(self) -> None:
        """Move every staged file into place (the charts folder whole), the manifest last."""
        try:
            charts = self.directory / "charts"
            if charts.exists():
                shutil.rmtree(charts)
            os.replace(self.charts_dir, charts)
            staged = sorted(p for p in self.staging.iterdir() if p.name != "manifest.json")
            for path in [*staged, self.staging / "manifest.json"]:
                os.replace(path, self.directory / path.name)
            self.staging.rmdir()
        except OSError as exc:
            raise OutputError(f"cannot write {self.directory}: {exc.strerror or exc}") from exc

    def discard(self) -> None:
        """Remove the staging folder after a failure."""
        shutil.rmtree(self.staging, ignore_errors=True)
