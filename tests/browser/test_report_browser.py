"""``llmdrift report`` output opened in headless Chromium, charts checked.

The command runs as a user would run it (a subprocess of this environment)
for the demo and for chen2023; the page is opened from disk with the network
cut off, and every chart must be an SVG that the browser lays out at a
readable size.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from ._lab import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _shared_path(*parts):
    """tests/conftest.py's shared_path (skip, or fail under CI, if absent)."""
    spec = importlib.util.spec_from_file_location(
        "_llmdrift_tests_conftest", ROOT / "tests" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.shared_path(*parts)


def _report(tmp_path, source: str, data=None) -> Path:
    out = tmp_path / f"incident-{source}.html"
    command = [sys.executable, "-m", "llmdrift.cli", "report", "--source", source]
    command += ["--out", str(out)]
    if data is not None:
        command += ["--data", str(data)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.is_file()
    return out


@pytest.mark.parametrize("source", ["demo", "chen2023"])
def test_report_opens_with_its_charts(tmp_path, page, source):
    data = _shared_path("chen2023-llmdrift") if source == "chen2023" else None
    out = _report(tmp_path, source, data)

    # nothing may come from the network: abort every request that is not the file
    requested = []

    def _route(route):
        requested.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", _route)
    page.goto(out.as_uri())
    page.wait_for_load_state("load")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report_{source}.png"), full_page=True)

    assert [u for u in requested if not u.startswith("file://")] == []
    summary = page.locator("p.summary").inner_text()
    assert summary.startswith("Quality drop detected")
    figures = page.locator("figure.chart")
    assert figures.count() == 3
    for i in range(3):
        figure = figures.nth(i)
        assert figure.locator(".missing").count() == 0, figure.inner_text()
        svg = figure.locator("svg").first
        box = svg.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100, box
        # drawn marks, not an empty frame: paths and texts inside the SVG
        assert svg.locator("path").count() > 5
        assert svg.locator("text").count() > 5
    causes = page.locator("table.llmdrift").first.locator("tbody tr")
    assert causes.count() >= 1
    assert page.get_by_text("[redacted]").count() >= 2
