"""A shareable incident report: one self-contained HTML file.

:func:`incident_report` turns an :class:`llmdrift.investigate.Incident` into a
page for people who will never open a notebook: the summary paragraph, the
incident charts rendered to inline SVG (no script, no network, so it opens
offline and in mail previews), the ranked causes, the alerts and the
before/after traces, whose texts are redacted unless asked for.
"""

from __future__ import annotations

import html
import logging
import warnings
from pathlib import Path

import pandas as pd

from llmdrift.schema import LlmdriftWarning

__all__ = ["incident_report"]

logger = logging.getLogger(__name__)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;
border-bottom:1px solid #ddd;padding-bottom:.2em}
.summary{background:#f4f8fb;border-left:4px solid #0072B2;padding:.8em 1em}
.meta{color:#555;font-size:.9em}
table.llmdrift{border-collapse:collapse;font-size:.85em;margin:.5em 0}
table.llmdrift th,table.llmdrift td{border:1px solid #ddd;padding:3px 6px;
text-align:left;vertical-align:top}
table.llmdrift th{background:#f2f2f2}
figure.chart{margin:1em 0;overflow-x:auto}
figure.chart figcaption{font-size:.85em;color:#555}
.missing{color:#a33}
"""

# charts of llmdrift.charts.incident drawn into the report, in this order
_CHARTS = (
    (
        "quality_chart",
        "Quality over time, with the detected change and the "
        "prompt, model and deployment changes marked",
    ),
    ("infrastructure_chart", "Did latency, errors or cost move?"),
    ("prompt_audit_chart", "Prompt-hash timeline of every intent over its quality"),
)

_CAUSE_COLUMNS = (
    "rank",
    "kind",
    "description",
    "time",
    "announced",
    "gap_hours",
    "locality",
    "score",
    "action",
)


def _table(frame: pd.DataFrame, columns=None) -> str:
    """An escaped HTML table; times as UTC text, floats to 3 significant."""
    if frame is None or len(frame) == 0:
        return "<p><i>none</i></p>"
    shown = frame if columns is None else frame[[c for c in columns if c in frame]]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for values in shown.itertuples(index=False, name=None):
        cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in values)
        rows.append(f"<tr>{cells}</tr>")
    return (
        f"<table class='llmdrift'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is not None:
            value = value.tz_convert("UTC")
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, float):
        if pd.isna(value):
            return "-"
        return f"{value:.3g}"
    try:
        if pd.isna(value):
            return "-"
    except (TypeError, ValueError):
        pass
    return str(value)


def _chart_svg(name: str, incident) -> str:
    """The chart as inline SVG, or a visible note saying why it is missing."""
    from llmdrift.charts import incident as incident_charts
    from llmdrift.charts.style import to_svg

    draw = getattr(incident_charts, name, None)
    if draw is None:
        return f"<p class='missing'>chart {name} is not available</p>"
    options = {}
    if name == "quality_chart" and getattr(incident, "alerts", None) is not None:
        options["alerts"] = incident.alerts
    try:
        svg = to_svg(draw(incident, **options))
    except Exception as err:  # a broken chart must not cost the whole report
        warnings.warn(
            f"incident_report: {name} could not be drawn ({err}); the report "
            "says so in its place",
            LlmdriftWarning,
            stacklevel=3,
        )
        return (
            f"<p class='missing'>chart {html.escape(name)} could not be drawn: "
            f"{html.escape(str(err))}</p>"
        )
    # drop an XML prolog if present so the SVG can sit inside HTML
    if svg.lstrip().startswith("<?xml"):
        svg = svg.split("?>", 1)[1]
    return svg


def _traces(incident, include_contents: bool) -> str:
    traces = getattr(incident, "traces", None)
    if traces is None or len(traces) == 0:
        return "<p><i>No traces to show (no drop found, or no scored requests).</i></p>"
    parts = []
    for side, heading in (
        ("before", "Before the change: typical requests"),
        ("after", "After the change: lowest-scored requests"),
    ):
        rows = traces[traces["side"] == side]
        cards = []
        for _, r in rows.iterrows():
            if include_contents:
                prompt = html.escape(_cell(r.get("input_text")))
                answer = html.escape(_cell(r.get("output_text")))
            else:
                prompt = answer = "[redacted]"
            cards.append(
                "<div class='trace'>"
                f"<b>{html.escape(str(r['dimension']))} = "
                f"{html.escape(_cell(r['value']))}</b> &middot; "
                f"{html.escape(_cell(pd.Timestamp(r['time'])))} &middot; span "
                f"<code>{html.escape(str(r['span_id']))}</code>"
                f"<div>prompt:</div><pre class='text'>{prompt}</pre>"
                f"<div>answer:</div><pre class='text'>{answer}</pre></div>"
            )
        body = "".join(cards) or "<p><i>no scored requests on this side</i></p>"
        parts.append(f"<td><h3>{html.escape(heading)}</h3>{body}</td>")
    note = (
        ""
        if include_contents
        else "<p class='meta'>Prompt and answer texts are redacted; write the "
        "report with <code>include_contents=True</code> "
        "(<code>--include-contents</code>) to show them.</p>"
    )
    return f"{note}<table class='llmdrift traces'><tr>{''.join(parts)}</tr></table>"


def incident_report(incident, path=None, *, include_contents: bool = False) -> str:
    """Write the incident as one self-contained HTML page and return its text.

    The page holds, in order: the summary paragraph
    (:meth:`Incident.summary`), the incident charts of
    :mod:`llmdrift.charts.incident` rendered to inline SVG with vl-convert,
    the ranked candidate causes, the alerts (when the incident carries an
    ``alerts`` frame), and the before/after traces. It loads nothing from
    the network and carries no script. Every text is HTML-escaped.

    Parameters
    ----------
    incident : Incident
        From :func:`llmdrift.investigate`. Reads ``summary()``, ``causes``
        (``rank, kind, description, time, announced, gap_hours, locality,
        score, action``), ``traces`` (``side, span_id, time, dimension,
        value, input_text, output_text``), ``drop`` and, when present,
        ``alerts`` (``rule, time, group, dimension, observed, baseline,
        change, evidence, first_action``).
    path : str or Path, optional
        Where to write the page (UTF-8); None only returns it.
    include_contents : bool, default=False
        Show prompt and answer texts of the traces; by default they read
        "[redacted]" because contents may hold personal data.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    TypeError
        When ``incident`` has no ``summary()`` (pass the result of
        :func:`llmdrift.investigate`).

    Warns
    -----
    LlmdriftWarning
        When a chart cannot be drawn; its place in the page says why.

    Notes
    -----
    Charts are drawn for the drop's dimension and group only (the defaults
    of :func:`llmdrift.charts.quality_chart`); the interactive explorer of
    the runbook has no counterpart in the static page. Each SVG chart adds
    roughly 50 to 300 kB to the file.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> traces = pd.DataFrame({"side": ["before", "after"], "span_id": ["a", "b"],
    ...     "time": pd.to_datetime(["2024-01-01", "2024-01-03"], utc=True),
    ...     "dimension": "format", "value": [5.0, 1.0],
    ...     "input_text": ["secret", "secret"], "output_text": ["<ok>", "<no>"]})
    >>> fake = SimpleNamespace(summary=lambda: "format fell <a lot>",
    ...     causes=pd.DataFrame(), traces=traces, drop=None)
    >>> page = incident_report(fake)
    >>> "format fell &lt;a lot&gt;" in page, "secret" in page
    (True, False)
    >>> "&lt;no&gt;" in incident_report(fake, include_contents=True)
    True
    """
    if not callable(getattr(incident, "summary", None)):
        raise TypeError(
            "incident_report needs an Incident with summary(), got "
            f"{type(incident).__name__}; pass the result of llmdrift.investigate(...)"
        )

    # the parts, each escaped where it is built
    summary = html.escape(incident.summary())
    drop = getattr(incident, "drop", None)
    if drop is not None:
        charts = "".join(
            f"<figure class='chart'>{_chart_svg(name, incident)}"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            for name, caption in _CHARTS
        )
    else:
        charts = "<p><i>No drop found: nothing to chart.</i></p>"
    causes = getattr(incident, "causes", None)
    causes_html = _table(causes, _CAUSE_COLUMNS) if causes is not None else ""
    alerts = getattr(incident, "alerts", None)
    if alerts is None:
        alerts_html = "<p><i>Alerts were not evaluated for this incident.</i></p>"
    elif len(alerts) == 0:
        alerts_html = "<p>No alert fired.</p>"
    else:
        alerts_html = _table(alerts.sort_values("time", kind="stable"))
    created = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")

    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<title>llmdrift incident report</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>Quality incident report</h1>"
        f"<p class='meta'>Written by llmdrift on {created}. All times UTC.</p>"
        f"<h2>Summary</h2><p class='summary'>{summary}</p>"
        f"<h2>Charts</h2>{charts}"
        f"<h2>Candidate causes</h2>"
        "<p class='meta'>score = time score x locality: how close in time the "
        "change is to the drop and how well it explains where the drop "
        f"happened.</p>{causes_html}"
        f"<h2>Alerts</h2>{alerts_html}"
        f"<h2>Before and after: traces to read</h2>"
        f"{_traces(incident, include_contents)}"
        "</body></html>\n"
    )
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
        logger.debug("incident report written to %s", path)
    return page
