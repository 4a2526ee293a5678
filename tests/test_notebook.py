"""The walkthrough notebook runs top to bottom, and is committed without outputs."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient

pytestmark = pytest.mark.slow  # real processes and clusters

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
WALKTHROUGH = ROOT / "notebooks/apac_walkthrough.ipynb"


def _python3_kernel(home: Path) -> str:
    """The name of a kernel running this interpreter: 'python3' if it does, else one installed.

    A fresh virtualenv may have ipykernel but no kernelspec visible to Jupyter, or a 'python3'
    spec pointing at another interpreter; then a spec for this interpreter is written under
    ``home`` (a temporary folder), never into the user's Jupyter directories.
    """
    manager = KernelSpecManager()
    try:
        command = manager.get_kernel_spec("python3").argv[0]
        # jupyter_client runs a bare 'python' / 'python3' command with this interpreter
        if command in ("python", "python3") or os.path.abspath(command) == sys.executable:
            return "python3"
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(user=False, prefix=str(home), kernel_name="capsim-test")
    return "capsim-test"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_walkthrough_runs_top_to_bottom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel inherits the environment: run directories land under tmp_path, and a kernel
    # spec installed for this interpreter (if needed) is found there.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share/jupyter"))
    notebook = nbformat.read(WALKTHROUGH, as_version=4)
    kernel = _python3_kernel(tmp_path)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name=kernel,
        resources={"metadata": {"path": str(WALKTHROUGH.parent)}},
    )
    client.execute()
    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    assert not [o for o in outputs if o.output_type == "error"]
    # capacity vs demand, P-dates, KPI spreads, delay causes, time to power, strategy vs demand
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 6
    text = "".join(o.get("text", "") for o in outputs)
    # 1. the base case: headline KPIs and the years in doubt, from the computed numbers
    assert re.search(r"The base case serves \d+\.\d% of demand on average", text)
    assert re.search(r"It pays a median USD [\d,.]+ bn in cash", text)
    assert re.search(
        r"The base case is in doubt in 2028-2032: .* in \d+% to \d+% of replications", text
    )
    # 2. what holds the megawatts: the grid path, and time to power over every launched deal
    grid = "study wait|study|headroom wait|connection works"
    assert re.search(rf"What holds the megawatts in the base case: ({grid}) \(\d+%\)", text)
    assert re.search(r"Of [\d,]+ deals launched across the replications", text)
    # 3. two levers, paired differences with their 95% intervals
    number = r"[+-][\d,.]+"
    for lever in ("Flexible connections", "Fastest allocation"):
        assert re.search(
            rf"{lever} against the base case: served share {number} \[{number}, {number}\] "
            rf"points \(serves more demand\); cash cost {number} \[{number}, {number}\] USD m",
            text,
        ), lever
    # 4. the recommended strategy against the base case, and the recommendation
    assert re.search(r"P80 date of [\d,]+ MW: \d{4}-\d\d with the strategy", text)
    assert "Probability of a shortfall beyond tolerance in 2028-2032: 2028 " in text
    assert "Recommendation: adopt the combined strategy." in text
    runs = {path.parent.name for path in tmp_path.glob("capsim-walkthrough-*/*/manifest.json")}
    assert runs == {"base", "flexible", "fastest", "strategy"}
