"""Widgets for the incident runbook: the quality explorer and the trace reader."""

from __future__ import annotations

import html

import pandas as pd

from llmdrift.widgets._output import replace_output as _replace_output

__all__ = ["IncidentExplorer", "traces_html", "traces_view"]


def _require_ipywidgets():
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - ipywidgets is a dependency
        raise ImportError(
            "llmdrift widgets need ipywidgets: pip install ipywidgets"
        ) from err
    return ipywidgets


def _clip(text, limit: int) -> str:
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return "(not recorded)"
    text = str(text)
    if len(text) > limit:
        text = text[:limit] + f" ... [{len(text) - limit:,} more characters]"
    return html.escape(text)


def traces_html(incident, *, redact: bool = False, max_chars: int = 1500) -> str:
    """Before/after traces side by side, as one self-contained HTML block.

    Parameters
    ----------
    incident : Incident
        Its ``traces`` frame (``side, span_id, trace_id, time, dimension,
        value, input_text, output_text``) is shown.
    redact : bool, default=False
        Replace prompt and answer texts with "[redacted]" (for sharing).
    max_chars : int, default=1500
        Longer texts are cut, saying how much was left out.

    Returns
    -------
    str
        A two-column HTML table: typical requests before the change on the
        left, the lowest-scored after it on the right; texts are escaped.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> traces = pd.DataFrame({"side": ["before", "after"], "span_id": ["a", "b"],
    ...     "trace_id": ["t1", "t2"],
    ...     "time": pd.to_datetime(["2024-01-01", "2024-01-03"], utc=True),
    ...     "dimension": "format", "value": [5.0, 1.0],
    ...     "input_text": ["q", "q"], "output_text": ['{"ok": 1}', "<b>prose</b>"]})
    >>> out = traces_html(SimpleNamespace(traces=traces, drop={"time": None}))
    >>> "&lt;b&gt;prose&lt;/b&gt;" in out, "<b>prose</b>" in out
    (True, False)
    """
    traces = incident.traces
    if traces is None or traces.empty:
        return "<p>No traces to show (no drop found, or no scored requests).</p>"
    cell = (
        "vertical-align:top;padding:6px;border:1px solid #ddd;width:50%;"
        "font-family:sans-serif;font-size:12px"
    )
    pre = (
        "white-space:pre-wrap;word-break:break-word;max-height:16em;overflow:auto;"
        "background:#f7f7f7;padding:4px;margin:2px 0"
    )
    columns = []
    for side, heading in (
        ("before", "Before the change: typical requests"),
        ("after", "After the change: lowest-scored requests"),
    ):
        rows = traces[traces["side"] == side]
        cards = []
        for _, r in rows.iterrows():
            when = pd.Timestamp(r["time"]).strftime("%Y-%m-%d %H:%M UTC")
            prompt = "[redacted]" if redact else _clip(r["input_text"], max_chars)
            answer = "[redacted]" if redact else _clip(r["output_text"], max_chars)
            cards.append(
                f"<div style='margin-bottom:10px'><b>{html.escape(str(r['dimension']))}"
                f" = {r['value']:g}</b> &middot; {when} &middot; span "
                f"<code>{html.escape(str(r['span_id']))}</code><br>"
                f"<details><summary>prompt</summary><div style='{pre}'>{prompt}"
                f"</div></details>answer:<div style='{pre}'>{answer}</div></div>"
            )
        body = "".join(cards) or "<i>no scored requests on this side</i>"
        columns.append(f"<td style='{cell}'><h4>{heading}</h4>{body}</td>")
    return (
        "<table class='llmdrift-traces' style='border-collapse:collapse;"
        f"width:100%'><tr>{''.join(columns)}</tr></table>"
    )


def traces_view(incident, *, redact: bool = False, max_chars: int = 1500):
    """:func:`traces_html` in an ``ipywidgets.HTML`` widget."""
    widgets = _require_ipywidgets()
    return widgets.HTML(traces_html(incident, redact=redact, max_chars=max_chars))


class IncidentExplorer:
    """Dropdowns for dimension and intent (and service) and a window range.

    Every change calls :func:`llmdrift.charts.quality_chart` once with the
    chosen dimension, group and time range, and redraws the chart. Choosing
    another intent or service limits the dimension list to those scored
    there (keeping the current one when it is).

    Parameters
    ----------
    incident : Incident
        From :func:`llmdrift.investigate`.
    alerts : pandas.DataFrame, optional
        Alerts to mark on the chart (``llmdrift.evaluate_alerts``); default:
        the incident's own ``alerts``.

    Attributes
    ----------
    dimension, intent, service : ipywidgets.Dropdown or None
    window : ipywidgets.SelectionRangeSlider
        The window starts to show (UTC dates).
    figure : altair.LayerChart
        The chart currently shown.
    chart : ipywidgets.Output
    widget : ipywidgets.VBox
        The whole explorer.
    """

    def __init__(self, incident, *, alerts: pd.DataFrame | None = None):
        widgets = _require_ipywidgets()
        self.incident, self.alerts = incident, alerts
        series = incident.series
        focus = incident.focus()
        dims = sorted(series["dimension"].dropna().astype(str).unique())
        self.dimension = widgets.Dropdown(
            options=dims, value=focus["dimension"], description="dimension"
        )
        self.intent = None
        self.service = None
        controls = [self.dimension]
        if "intent" in series.columns:
            intents = sorted(series["intent"].dropna().astype(str).unique())
            self.intent = widgets.Dropdown(
                options=intents,
                value=focus.get("intent") if focus.get("intent") in intents else None,
                description="intent",
            )
            controls.append(self.intent)
        if "service" in incident.group_keys:
            services = sorted(series["service"].dropna().astype(str).unique())
            self.service = widgets.Dropdown(
                options=services, value=focus.get("service"), description="service"
            )
            controls.append(self.service)
        starts = sorted(series["window_start"].dropna().unique())
        labels = [
            (pd.Timestamp(t).strftime("%Y-%m-%d"), pd.Timestamp(t)) for t in starts
        ]
        self.window = widgets.SelectionRangeSlider(
            options=labels,
            index=(0, max(len(labels) - 1, 0)),
            description="windows",
            continuous_update=False,
            layout=widgets.Layout(width="620px"),
        )
        self._busy = False
        here = self._dimensions()
        if here:
            self.dimension.options = here
            self.dimension.value = (
                focus["dimension"] if focus["dimension"] in here else here[0]
            )
        self.chart = widgets.Output()
        self.widget = widgets.VBox([widgets.HBox(controls), self.window, self.chart])
        for control in [*controls, self.window]:
            control.observe(self._on_change, names="value")
        self.update()

    def _dimensions(self) -> list[str]:
        """Dimensions scored in the chosen group (all, if none is chosen)."""
        series = self.incident.series
        series = series[series["n"] > 0]
        for key, control in (("intent", self.intent), ("service", self.service)):
            if control is not None and control.value is not None:
                series = series[series[key] == control.value]
        return sorted(series["dimension"].dropna().astype(str).unique())

    def _on_change(self, change) -> None:
        if self._busy:
            return
        if change.get("owner") in (self.intent, self.service):
            # offer only the dimensions the new group has scores for
            dims = self._dimensions()
            current = self.dimension.value
            self._busy = True
            try:
                self.dimension.options = dims
                self.dimension.value = (
                    current if current in dims else (dims[0] if dims else None)
                )
            finally:
                self._busy = False
        self.update()

    def update(self):
        """Redraw the quality chart for the current choices; returns it."""
        from llmdrift.charts.incident import quality_chart

        start, end = self.window.value
        self.figure = quality_chart(
            self.incident,
            dimension=self.dimension.value,
            intent=self.intent.value if self.intent is not None else None,
            service=self.service.value if self.service is not None else None,
            start=start,
            end=end + pd.Timedelta(seconds=1),
            alerts=self.alerts,
        )
        self._draw()
        return self.figure

    def _draw(self) -> None:
        from IPython import get_ipython

        if get_ipython() is None:  # a script or doctest: nothing to draw into
            return
        _replace_output(self.chart, self.figure)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
