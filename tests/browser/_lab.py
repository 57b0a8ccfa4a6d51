"""Steps a person takes in JupyterLab, and the checks on what they see.

Used by the browser tests (fixtures in ``conftest.py``).
"""

from __future__ import annotations

import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "_artifacts" / "browser"
SCREENSHOTS = ROOT / "docs" / "screenshots"

# texts that mean a widget or chart did not render
WIDGET_FAILURES = (
    "Error displaying widget",
    "Loading widget...",
    "Loading widget…",
    "VBox(children=",
    "HBox(children=",
    "Output(outputs=",
    "Dropdown(description=",
    "<VegaLite",
    "renderer has not been properly enabled",
    "alt.LayerChart(",
    "alt.Chart(",
    "Error loading script",
    "Javascript Error",
    "JavaScript output is disabled",
)

# an Altair chart in an output: vega-embed's container, or the div of
# Altair's HTML renderer before vega-embed ran (so a chart that never loads
# still counts as a chart that drew nothing)
CHART = ".vega-embed, [id^='altair-viz'], [id^='llmdrift-vega'], .jp-RenderedVegaCommon"
MARKS = "svg.marks, canvas.marks"


# --------------------------------------------------------------------------
# steps a person takes

_ALL_RAN = """() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  const ran = cells.every(c => /\\[\\d+\\]/.test(
      (c.querySelector('.jp-InputPrompt') || {}).textContent || ''));
  const error = [...document.querySelectorAll('.jp-OutputArea-output')]
      .some(o => (o.innerText || '').includes('Traceback (most recent call last)'));
  const busy = document.querySelector(
      ".jp-Notebook-ExecutionIndicator[data-status='busy']");
  return cells.length > 0 && (ran || error) && !busy;
}"""


def open_notebook(page, lab, name: str) -> None:
    """Open a notebook and wait for its kernel to be idle."""
    page.goto(lab.url(name))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    select = page.get_by_role("button", name="Select", exact=True)
    try:  # JupyterLab may ask which kernel to start
        select.click(timeout=3_000)
    except Exception:
        pass
    page.wait_for_selector(
        ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000
    )


def run_all(page, *, timeout_s: float = 240) -> None:
    """Run > Run All Cells, then wait until every cell ran (or one failed)."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_timeout(1_000)
    page.wait_for_function(_ALL_RAN, timeout=timeout_s * 1000, polling=500)
    settle(page)


def settle(page, *, timeout_s: float = 60) -> bool:
    """Wait until no widget is loading and every chart has drawn.

    Returns False when that did not happen in time; ``check_outputs`` then
    says what is missing.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            """(args) => !document.body.innerText.includes('Loading widget')
                 && [...document.querySelectorAll(args.chart)]
                      .every(e => e.querySelector(args.marks)
                                  || (e.innerText || '').includes('Error'))""",
            arg={"chart": CHART, "marks": MARKS},
            timeout=timeout_s * 1000,
            polling=500,
        )
    except PlaywrightTimeout:
        return False
    page.wait_for_timeout(500)
    return True


def outputs(page) -> list[dict]:
    """Every output area: its text, MIME type and how many charts it drew."""
    return page.evaluate(
        """(args) => [...document.querySelectorAll('.jp-OutputArea-output')]
          .map(o => {
            // outermost chart containers only (vega-embed nests in Altair's div)
            const charts = [...o.querySelectorAll(args.chart)]
                .filter(c => !c.parentElement.closest(args.chart));
            return {
              mime: o.dataset.mimeType || '',
              text: (o.innerText || '').slice(0, 4000),
              embeds: charts.length,
              drawn: charts.filter(c => c.querySelector(args.marks)).length,
              widgets: o.querySelectorAll('.jupyter-widgets, .widget-box').length,
            };
          })""",
        {"chart": CHART, "marks": MARKS},
    )


def check_outputs(page, *, min_charts: int, min_widgets: int = 0) -> dict:
    """Assert what a reader must see; return counts for the report.

    No cell shows a traceback; no widget failed or shows its model text;
    every Altair chart (vega-embed) drew an SVG or canvas, and there are at
    least ``min_charts`` of them and ``min_widgets`` widget areas.
    """
    found = outputs(page)
    tracebacks = [o["text"][:800] for o in found if "Traceback (most" in o["text"]]
    assert not tracebacks, f"a cell failed:\n{tracebacks[0]}"
    for o in found:
        for bad in WIDGET_FAILURES:
            assert bad not in o["text"], f"output shows {bad!r}: {o['text'][:300]}"
    embeds = sum(o["embeds"] for o in found)
    drawn = sum(o["drawn"] for o in found)
    assert embeds == drawn, f"{embeds - drawn} of {embeds} charts drew nothing"
    assert drawn >= min_charts, f"{drawn} charts drawn, expected {min_charts}+"
    widgets = sum(1 for o in found if o["widgets"])
    assert widgets >= min_widgets, f"{widgets} widget outputs, want {min_widgets}+"
    return {"charts": drawn, "widget_outputs": widgets}


def chart_signature(page, scope: str) -> str:
    """The drawn marks of the charts inside ``scope`` (SVG text / canvas)."""
    return page.evaluate(
        """(args) => {
            const root = document.querySelector(args.scope);
            if (!root) return '';
            return [...root.querySelectorAll(args.marks)].map(m =>
                m.tagName.toLowerCase() === 'canvas' ? m.toDataURL()
                : m.innerHTML).join('|');
        }""",
        {"scope": scope, "marks": MARKS},
    )


def wait_for_change(page, scope: str, before: str, *, timeout_s: float) -> str:
    """Wait until the charts in ``scope`` differ from ``before``; return them.

    Raises AssertionError when they are unchanged after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.wait_for_timeout(300)
        now = chart_signature(page, scope)
        if now and now != before:
            settle(page)
            return chart_signature(page, scope)
    raise AssertionError(
        f"the chart in {scope} did not change within {timeout_s:.0f} s of the "
        "widget change"
    )


def screenshot(page, name: str, *, readme: bool = False) -> Path:
    """Whole notebook to tests/_artifacts/browser/<name>.png (and README copy)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        """() => { const n = document.querySelector('.jp-WindowedPanel-outer')
                   || document.querySelector('.jp-Notebook');
                   return n ? n.scrollHeight : 1000; }"""
    )
    full = ARTIFACTS / f"{name}.png"
    if readme:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        first = page.locator(".jp-OutputArea-output .vega-embed").first
        if first.count():
            first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 200, 16000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(full))
    page.set_viewport_size({"width": 1400, "height": 1000})
    return full
