"""report.html in headless Chromium: no network request, executive summary on the first screen."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from documents_fixture import documented_run

#: The first screenful: a 1280 x 800 window.
SCREEN_W, SCREEN_H = 1280, 800


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        print("chromium not found on PATH: headless browser checks skipped")
        pytest.skip("chromium not found on PATH")
    return found


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    base = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        # the browser's own traffic (updates, clock, safe browsing) is off, so any request
        # left in the log came from the page
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--no-first-run",
        "--no-pings",
    ]
    return subprocess.run(
        [_chromium(), *base, *args], capture_output=True, text=True, timeout=180, check=False
    )


@pytest.mark.slow
def test_report_loads_in_chromium_without_any_network_request(tmp_path: Path) -> None:
    page = documented_run() / "report.html"
    netlog = tmp_path / "net.json"
    shot = tmp_path / "report.png"
    done = _run(
        [
            f"--log-net-log={netlog}",
            f"--window-size={SCREEN_W},{SCREEN_H}",
            f"--screenshot={shot}",
            page.as_uri(),
        ]
    )
    assert shot.is_file() and shot.stat().st_size > 10_000, done.stderr
    assert page_requests(netlog) == []


def page_requests(netlog: Path) -> list[str]:
    """URLs other than file: and data: that a page asked for, from a Chromium net log.

    A request the page made carries the page's origin as its initiator (``null`` for a file);
    the browser's own traffic (its clock, updates) is 'not an origin' and is left out.
    """
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log.get("events", []):
        params = event.get("params", {})
        initiator = params.get("initiator")
        if event.get("type") != start or initiator in (None, "not an origin"):
            continue
        url = str(params.get("url", ""))
        if not url.startswith(("file:", "data:")):
            urls.append(url)
    return urls


@pytest.mark.slow
def test_page_requests_finds_an_external_image(tmp_path: Path) -> None:
    """The network check can fail: a page with an external image is caught."""
    page = tmp_path / "external.html"
    page.write_text('<img src="http://example.invalid/x.png">', encoding="utf-8")
    netlog = tmp_path / "net.json"
    _run([f"--log-net-log={netlog}", f"--screenshot={tmp_path / 'x.png'}", page.as_uri()])
    assert page_requests(netlog) == ["http://example.invalid/x.png"]


@pytest.mark.slow
def test_executive_summary_lies_within_the_first_screenful(tmp_path: Path) -> None:
    page = documented_run() / "report.html"
    probe = tmp_path / "probe.html"
    script = (
        "<script>window.addEventListener('load',()=>{const r=document.getElementById("
        "'executive-summary').getBoundingClientRect();document.title='BOX '+r.top+' '+r.bottom;"
        "});</script>"
    )
    probe.write_text(
        page.read_text(encoding="utf-8").replace("</body>", script + "</body>"), encoding="utf-8"
    )
    done = _run([f"--window-size={SCREEN_W},{SCREEN_H}", "--dump-dom", probe.as_uri()])
    match = re.search(r"<title>BOX ([\d.]+) ([\d.]+)</title>", done.stdout)
    assert match, done.stderr[-2000:]
    top, bottom = float(match.group(1)), float(match.group(2))
    assert 0 < top < bottom <= SCREEN_H


def test_page_comes_in_the_reading_order() -> None:
    page = (documented_run() / "report.html").read_text(encoding="utf-8")
    order = [
        "<h1>Sydney programme outlook</h1>",
        'id="executive-summary"',
        "<h2>Headline KPIs</h2>",
        'id="capacity_vs_demand"',
        "<h2>Assumptions and their sources</h2>",
        "<h2>Method</h2>",
        "<h2>Limitations</h2>",
    ]
    positions = [page.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert "board paper, March 2026" in page
