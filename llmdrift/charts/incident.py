"""Charts for the incident runbook.

Every function takes an :class:`llmdrift.investigate.Incident` and draws from
its small, already aggregated frames (windows, events, tests), never from raw
spans, so no chart comes near Altair's 5,000-row limit. Time axes are UTC and
say so; markers on the time axis are labelled; tooltips carry ``n`` and the
95% interval; colours come from the colour-blind-safe
:data:`llmdrift.charts.style.PALETTE`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from llmdrift.charts.style import PALETTE, TIME_TITLE, require_altair

__all__ = [
    "alerts_table",
    "causes_table",
    "figures_table",
    "impact_table",
    "infrastructure_chart",
    "prompt_audit_chart",
    "quality_chart",
]

# one colour per kind of marker; detected changes black, the rest Okabe-Ito
_EVENT_COLOURS = {
    "detected change": PALETTE[7],
    "prompt change": PALETTE[5],
    "model change": PALETTE[3],
    "deployment": PALETTE[2],
    "alert": PALETTE[1],
}

_INFRA_TITLES = {
    "latency_p50_ms": ("latency p50", "ms"),
    "latency_p95_ms": ("latency p95", "ms"),
    "error_rate": ("error rate", "share of requests"),
    "cost_per_request_usd": ("cost per request", "USD"),
}

_WIDTH = 620
_ERROR_FLOOR = 0.005  # as llmdrift.investigate.infrastructure_tests


def _time_x(alt, field="window_start", title=TIME_TITLE, ticks=None):
    return alt.X(
        f"{field}:T",
        title=title,
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(
            format="%b %d",
            labelAngle=0,
            labelOverlap="greedy",
            labelSeparation=8,
            **({"tickCount": ticks} if ticks else {}),
        ),
    )


def _window_series(incident, focus: dict, start=None, end=None) -> pd.DataFrame:
    """Windows of one dimension and group, with the 95% interval."""
    part = incident.series[incident.series["dimension"] == focus["dimension"]]
    for key in incident.group_keys:
        if focus.get(key) is not None:
            part = part[part[key] == focus[key]]
    if start is not None:
        part = part[part["window_start"] >= pd.Timestamp(start)]
    if end is not None:
        part = part[part["window_start"] < pd.Timestamp(end)]
    out = part[["window_start", "n", "mean", "sem"]].copy()
    half = 1.959964 * out["sem"].fillna(0.0)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out["group"] = (
        ", ".join(
            str(focus[k]) for k in incident.group_keys if focus.get(k) is not None
        )
        or "all traffic"
    )
    return out.reset_index(drop=True)


def _label_levels(times: pd.Series, span, *, room: float = 0.45) -> np.ndarray:
    """Label row of each marker: the lowest row whose last label is more than
    ``room`` of the time span away (labels are about that wide)."""
    times = pd.to_datetime(pd.Series(times), utc=True).reset_index(drop=True)
    if times.empty:
        return np.array([], dtype=int)
    lo, hi = span if span is not None else (times.min(), times.max())
    width = max((hi - lo) * room, pd.Timedelta(seconds=1))
    levels = np.zeros(len(times), dtype=int)
    last: list[pd.Timestamp] = []
    for i in np.argsort(times.to_numpy(), kind="stable"):
        t = times.iloc[i]
        for level, previous in enumerate(last):
            if t - previous > width:
                levels[i], last[level] = level, t
                break
        else:
            levels[i] = len(last)
            last.append(t)
    return levels


def _marker_layers(alt, events: pd.DataFrame, *, span=None, x_field="time"):
    """Vertical rules with staggered labels at the top of the plot."""
    if events.empty:
        return []
    ev = events.copy()
    ev["colour_kind"] = ev["kind"].astype(str)
    # labels sit in a strip above the plot, one row per label that would
    # otherwise overlap a nearby one; right-half labels run leftwards
    ev["label_y"] = -8 - 13 * _label_levels(ev[x_field], span)
    lo, hi = span if span is not None else (ev[x_field].min(), ev[x_field].max())
    middle = lo + (hi - lo) / 2
    ev["right"] = ev[x_field] > middle
    ev["dash"] = np.where(
        ev["kind"].astype(str) == "alert",
        "alert",
        np.where(
            ev["announced"].fillna(False).astype(bool),
            "announced",
            "unannounced / detected",
        ),
    )
    dashes = [
        d
        for d in ("unannounced / detected", "announced", "alert")
        if d in set(ev["dash"])
    ]
    dash_range = {
        "unannounced / detected": [1, 0],
        "announced": [6, 4],
        "alert": [2, 2],
    }
    ev["time_text"] = ev[x_field].dt.strftime("%Y-%m-%d %H:%M UTC")
    kinds = [k for k in _EVENT_COLOURS if k in set(ev["colour_kind"])]
    colour_scale = alt.Scale(domain=kinds, range=[_EVENT_COLOURS[k] for k in kinds])
    colour = alt.Color(
        "colour_kind:N",
        title="marker",
        scale=colour_scale,
        legend=alt.Legend(orient="bottom"),
    )
    tooltip = [
        alt.Tooltip("label:N", title="what"),
        alt.Tooltip("time_text:N", title="when"),
        alt.Tooltip("kind:N", title="kind"),
    ]
    rules = (
        alt.Chart(ev)
        .mark_rule(strokeWidth=2)
        .encode(
            x=alt.X(f"{x_field}:T", scale=alt.Scale(type="utc")),
            color=colour,
            strokeDash=alt.StrokeDash(
                "dash:N",
                scale=alt.Scale(domain=dashes, range=[dash_range[d] for d in dashes]),
                title="line",
                legend=alt.Legend(orient="bottom"),
            ),
            size=alt.condition("datum.primary", alt.value(3), alt.value(1.5)),
            tooltip=tooltip,
        )
    )
    labels = []
    for right, part in ev.groupby("right"):
        labels.append(
            alt.Chart(part)
            .mark_text(
                align="right" if right else "left",
                dx=-3 if right else 3,
                fontSize=11,
                fontWeight="bold",
            )
            .encode(
                x=alt.X(f"{x_field}:T", scale=alt.Scale(type="utc")),
                y=alt.Y("label_y:Q", scale=None),
                text="label:N",
                color=alt.Color("colour_kind:N", scale=colour_scale, legend=None),
                tooltip=tooltip,
            )
        )
    layers = [rules, *labels]
    fired = ev[ev["kind"].astype(str) == "alert"]
    if len(fired):
        # alerts also get a filled triangle on the top edge, so they read
        # apart from the change they point at even where the lines overlap
        layers.append(
            alt.Chart(fired)
            .mark_point(shape="triangle-down", filled=True, size=110, opacity=1)
            .encode(
                x=alt.X(f"{x_field}:T", scale=alt.Scale(type="utc")),
                y=alt.value(0),
                color=alt.Color("colour_kind:N", scale=colour_scale, legend=None),
                tooltip=tooltip,
            )
        )
    return layers


def _alert_concerns(alerts: pd.DataFrame, focus: dict, known: dict) -> pd.Series:
    """Rows of an alerts frame that concern the focused dimension and group.

    An alert concerns the focus when its ``dimension`` is missing, equal, or
    not a score dimension of the incident (a prompt-hash or cost alert), and
    its group (``service``/``intent`` columns, or the ``group`` text of
    :func:`llmdrift.evaluate_alerts`) either names the focused value or names
    no value of that column at all (a service-wide or all-traffic alert).
    ``known`` maps ``service``/``intent``/``dimension`` to the values the
    incident holds.
    """
    keep = pd.Series(True, index=alerts.index)
    if "dimension" in alerts.columns and focus.get("dimension") is not None:
        dim = alerts["dimension"].astype("string")
        scored = dim.isin([str(v) for v in known.get("dimension", ())])
        keep &= dim.isna() | (dim == str(focus["dimension"])) | ~scored
    for key in ("service", "intent"):
        if key in alerts.columns and focus.get(key) is not None:
            col = alerts[key].astype("string")
            keep &= col.isna() | (col == str(focus[key]))
    if "group" in alerts.columns:
        tokens = (
            alerts["group"]
            .astype("string")
            .fillna("")
            .str.split(r"[\s,=/:;|()\[\]{}'\"]+", regex=True)
            .apply(lambda t: set(t) if isinstance(t, list) else set())
        )
        for key in ("service", "intent"):
            value = focus.get(key)
            values = {str(v) for v in known.get(key, ())}
            if value is None or not values:
                continue
            ok = [(str(value) in t) or not (t & values) for t in tokens]
            keep &= pd.Series(ok, index=alerts.index)
    return keep.fillna(False).astype(bool)


def _alert_events(
    alerts, focus: dict, known: dict | None = None, *, gap: str = "1D"
) -> pd.DataFrame:
    """Alerts as markers: one per episode of each rule.

    A rule that fires on consecutive windows (a 7-day rolling drop fires
    every day of the drop) is one episode: it is marked once, at its first
    alert, labelled with how many alerts it holds.
    """
    cols = ["time", "kind", "label", "announced", "primary"]
    if alerts is None or len(alerts) == 0 or "time" not in alerts.columns:
        return pd.DataFrame(columns=cols)
    part = alerts[_alert_concerns(alerts, focus, known or {})]
    if part.empty:
        return pd.DataFrame(columns=cols)
    part = part.assign(
        _time=pd.to_datetime(part["time"], utc=True),
        _rule=part["rule"].astype(str) if "rule" in part.columns else "alert",
    ).sort_values(["_rule", "_time"], kind="stable")
    rows = []
    for rule, rule_rows in part.groupby("_rule", sort=True):
        times = rule_rows["_time"].reset_index(drop=True)
        episode = (times.diff() > pd.Timedelta(gap)).cumsum()
        for _, ep in times.groupby(episode):
            count = f" (x{len(ep)})" if len(ep) > 1 else ""
            rows.append(
                dict(
                    time=ep.iloc[0],
                    kind="alert",
                    label=f"alert: {rule}{count}",
                    announced=pd.NA,
                    primary=False,
                )
            )
    out = pd.DataFrame(rows, columns=cols)
    out["announced"] = out["announced"].astype("boolean")
    out["primary"] = out["primary"].astype(bool)
    return out


def alerts_table(incident, *, alerts: pd.DataFrame | None = None, top: int = 20):
    """The alerts that fired over the incident's traffic, as a styled table.

    Reads ``incident.alerts`` (or ``alerts``), the frame of
    :func:`llmdrift.evaluate_alerts`: ``rule``, ``time``, ``group``,
    ``dimension``, ``observed``, ``baseline``, ``change``, ``evidence``,
    ``first_action``. The first ``top`` rows by time are shown, with the
    count of the rest in the caption.

    Returns
    -------
    pandas.io.formats.style.Styler

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> alerts = pd.DataFrame({"rule": ["quality drop"],
    ...     "time": [pd.Timestamp("2026-02-24", tz="UTC")], "group": ["intent a"],
    ...     "dimension": ["format"], "observed": [3.5], "baseline": [4.4],
    ...     "change": [-0.2], "evidence": ["..."], "first_action": ["pull traces"]})
    >>> html = alerts_table(SimpleNamespace(alerts=alerts)).to_html()
    >>> "quality drop" in html and "2026-02-24 00:00 UTC" in html
    True
    """
    frame = alerts if alerts is not None else getattr(incident, "alerts", None)
    if frame is None:
        empty = pd.DataFrame({"alerts": []})
        return empty.style.hide(axis="index").set_caption(
            "Alerts were not evaluated (llmdrift.alerts unavailable or failed)"
        )
    shown = frame.sort_values("time", kind="stable") if "time" in frame else frame
    rest = max(len(shown) - top, 0)
    shown = shown.head(top).copy()
    if "time" in shown.columns:
        shown["time"] = pd.to_datetime(shown["time"], utc=True).dt.strftime(
            "%Y-%m-%d %H:%M UTC"
        )
        shown = shown.rename(columns={"time": "time (UTC)"})
    styler = shown.style.hide(axis="index").format(precision=3, na_rep="-")
    caption = f"{len(frame)} alert(s) fired under the default rules"
    if rest:
        caption += f"; the first {top} by time are shown"
    if not len(frame):
        caption = "No alert fired under the default rules"
    status = frame.attrs.get("status")
    status = pd.DataFrame(status) if status is not None else None
    if status is not None and {"rule", "status"} <= set(status):
        skipped = status[status["status"].astype(str) != "ran"]
        if len(skipped):
            caption += "; not evaluated: " + "; ".join(
                f"{r} ({why})"
                for r, why in zip(skipped["rule"], skipped["status"], strict=True)
            )
    return styler.set_caption(caption)


def quality_chart(
    incident,
    *,
    dimension: str | None = None,
    intent: str | None = None,
    service: str | None = None,
    start=None,
    end=None,
    alerts: pd.DataFrame | None = None,
    height: int = 260,
):
    """Quality per window for one dimension and group, with its changes marked.

    Draws the window means with their 95% interval band (one point per
    window, so never more rows than windows), and a labelled vertical rule at
    every detected change, prompt-hash change, response-model change,
    deployment (dashed: announced) and alert on the time axis.

    Parameters
    ----------
    incident : Incident
        From :func:`llmdrift.investigate`.
    dimension, intent, service : str, optional
        What to show; defaults to the drop's dimension and group.
    start, end : timestamp, optional
        Time range to show (tz-aware).
    alerts : pandas.DataFrame, optional
        Alerts from ``llmdrift.evaluate_alerts`` (``time``, ``rule`` and,
        when known, ``dimension`` and ``group``) to mark as well; default:
        ``incident.alerts``. Those of this dimension and group are marked,
        one marker per run of consecutive alerts of a rule.
    height : int, default=260

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> t = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC")
    >>> series = pd.DataFrame({"window_start": t, "intent": "a",
    ...     "dimension": "format", "n": 10, "mean": [4.5, 4.4, 2.5, 2.4],
    ...     "std": 0.5, "sem": 0.16})
    >>> fake = SimpleNamespace(series=series, group_keys=("intent",),
    ...     focus=lambda **k: {"dimension": "format", "intent": "a"},
    ...     events=lambda **k: pd.DataFrame({"time": [t[2]],
    ...         "kind": ["detected change"], "label": ["format -2.00"],
    ...         "announced": pd.array([pd.NA], dtype="boolean"),
    ...         "primary": [True]}))
    >>> spec = quality_chart(fake).to_dict()
    >>> len(spec["layer"]), spec["layer"][0]["encoding"]["x"]["title"]
    (5, 'time (UTC)')
    """
    alt = require_altair()
    focus = incident.focus(dimension=dimension, intent=intent, service=service)
    data = _window_series(incident, focus, start, end)
    events = incident.events(
        service=focus.get("service"),
        intent=focus.get("intent"),
        dimension=focus["dimension"],
    )
    if alerts is None:
        alerts = getattr(incident, "alerts", None)
    known = {
        k: incident.series[k].dropna().unique()
        for k in ("service", "intent", "dimension")
        if k in incident.series.columns
    }
    alert_rows = _alert_events(alerts, focus, known)
    if not alert_rows.empty:
        events = pd.concat([events, alert_rows], ignore_index=True)
    if not data.empty and not events.empty:
        lo, hi = data["window_start"].min(), data["window_start"].max()
        events = events[(events["time"] >= lo) & (events["time"] <= hi)]

    group = data["group"].iloc[0] if len(data) else "no data"
    tooltip = [
        alt.Tooltip(
            "window_start:T",
            title="window start (UTC)",
            format="%Y-%m-%d %H:%M",
            timeUnit="utcyearmonthdatehoursminutes",
        ),
        alt.Tooltip("mean:Q", title="mean", format=".2f"),
        alt.Tooltip("n:Q", title="n scores", format=","),
        alt.Tooltip("ci_low:Q", title="95% CI low", format=".2f"),
        alt.Tooltip("ci_high:Q", title="95% CI high", format=".2f"),
    ]
    base = alt.Chart(data).encode(x=_time_x(alt))
    band = base.mark_area(opacity=0.25, color=PALETTE[0]).encode(
        y=alt.Y(
            "ci_low:Q",
            title=f"{focus['dimension']}: window mean (band: 95% CI)",
            scale=alt.Scale(zero=False),
        ),
        y2="ci_high:Q",
    )
    line = base.mark_line(color=PALETTE[0], strokeWidth=2).encode(y="mean:Q")
    points = base.mark_circle(color=PALETTE[0], size=30).encode(
        y="mean:Q", tooltip=tooltip
    )
    span = None
    if len(data):
        span = (data["window_start"].min(), data["window_start"].max())
    layers = [band, line, points, *_marker_layers(alt, events, span=span)]
    return alt.layer(*layers).properties(
        width=_WIDTH,
        height=height,
        title=alt.Title(
            f"{focus['dimension']} for {group}",
            subtitle=[
                "window means with 95% interval; vertical lines: detected changes,",
                "prompt, model and deployment changes, and alerts (dotted, with a "
                "triangle)",
            ],
            offset=12 + 13 * (int(_label_levels(events["time"], span).max()) + 1)
            if len(events)
            else 12,
        ),
    )


def infrastructure_chart(incident, *, scope: str = "affected group", height=120):
    """Latency p50/p95, error rate and cost per request over time.

    Four small panels for the affected group (or its whole service with
    ``scope="service"``), each with the detected change marked, a dotted line
    at the mean before and after it, and the test result in the panel title,
    so a flat line reads as flat with its figures.

    Parameters
    ----------
    incident : Incident
    scope : {"affected group", "service"}, default="affected group"
    height : int, default=120
        Height of each panel.

    Returns
    -------
    altair.ConcatChart
    """
    alt = require_altair()
    if scope not in ("affected group", "service"):
        raise ValueError(f"scope={scope!r}; expected 'affected group' or 'service'")
    data = incident.infrastructure_series
    if data is None or data.empty or incident.drop is None:
        return (
            alt.Chart(pd.DataFrame({"x": []}))
            .mark_point()
            .properties(title="no infrastructure data (no drop found)")
        )
    keys = (
        list(incident.group_keys)
        if scope == "affected group"
        else (["service"] if "service" in incident.group_keys else [])
    )
    part = data
    service_series = getattr(incident, "service_series", None)
    exact_service = service_series is not None and len(service_series) > 0
    if scope == "service" and exact_service:
        # exact windows over the whole service (quantiles of all its requests)
        part = service_series
    for key in keys:
        if key in part.columns:
            part = part[part[key] == incident.drop[key]]
    if scope == "service" and not exact_service:
        if [k for k in incident.group_keys if k != "service"]:
            # no service windows: request-weighted mean of the group windows
            # (p50/p95 are then only approximate)
            part = _service_windows(part)
    tests = incident.infrastructure[incident.infrastructure["scope"] == scope]
    time = incident.drop["time"]
    (b0, _), (_, a1) = incident.periods()
    threshold = getattr(incident, "threshold", 0.10)
    lo, hi = part["window_start"].min(), part["window_start"].max()
    panels = []
    for metric, (name, unit) in _INFRA_TITLES.items():
        if metric not in part.columns:
            continue
        rows = part[["window_start", "n_requests", metric]].rename(
            columns={metric: "value"}
        )
        test = tests[tests["metric"] == metric]
        verdict, layers = "", []
        fmt = ".1%" if metric == "error_rate" else (".5f" if unit == "USD" else ",.0f")
        if len(test) and np.isfinite(test.iloc[0]["before"]):
            t = test.iloc[0]
            rel = t["relative_change"]
            rel_text = f", {rel:+.1%}" if np.isfinite(rel) else ""
            verdict = f": {t['status']}{rel_text}"
            # the 'flat' band: where the after level may lie and still be flat
            half = threshold * t["before"]
            if metric == "error_rate":
                half = max(half, _ERROR_FLOOR)
            band = pd.DataFrame(
                {
                    "start": [lo],
                    "end": [hi],
                    "low": [max(t["before"] - half, 0.0)],
                    "high": [t["before"] + half],
                }
            )
            layers.append(
                alt.Chart(band)
                .mark_rect(color="#BBBBBB", opacity=0.35)
                .encode(
                    x=alt.X("start:T", scale=alt.Scale(type="utc")),
                    x2="end:T",
                    y="low:Q",
                    y2="high:Q",
                )
            )
            levels = pd.DataFrame(
                {
                    "start": [max(b0, lo), time],
                    "end": [time, min(a1, hi)],
                    "value": [t["before"], t["after"]],
                }
            )
            layers.append(
                alt.Chart(levels)
                .mark_rule(color="#555555", strokeDash=[4, 2], strokeWidth=1.5)
                .encode(
                    x=alt.X("start:T", scale=alt.Scale(type="utc")),
                    x2="end:T",
                    y="value:Q",
                )
            )
        line = (
            alt.Chart(rows)
            .mark_line(color=PALETTE[0], strokeWidth=1.5)
            .encode(
                x=_time_x(alt, title=TIME_TITLE, ticks=5),
                y=alt.Y(
                    "value:Q",
                    title=unit,
                    scale=alt.Scale(zero=True),
                    axis=alt.Axis(format=fmt, tickCount=4),
                ),
                tooltip=[
                    alt.Tooltip(
                        "window_start:T",
                        title="window start (UTC)",
                        timeUnit="utcyearmonthdatehoursminutes",
                        format="%Y-%m-%d %H:%M",
                    ),
                    alt.Tooltip("value:Q", title=name, format=fmt),
                    alt.Tooltip("n_requests:Q", title="n requests", format=","),
                ],
            )
        )
        rule = (
            alt.Chart(pd.DataFrame({"time": [time]}))
            .mark_rule(color=_EVENT_COLOURS["detected change"], strokeWidth=2)
            .encode(x=alt.X("time:T", scale=alt.Scale(type="utc")))
        )
        panels.append(
            alt.layer(*layers, line, rule).properties(
                width=_WIDTH // 2 - 40,
                height=height,
                title=alt.Title(f"{name} ({unit}){verdict}", fontSize=12),
            )
        )
    label = ", ".join(str(incident.drop[k]) for k in keys)
    if scope == "service" and "service" in part.columns:
        names = sorted(part["service"].dropna().astype(str).unique())
        label = "service " + ", ".join(names) if names else label
    label = label or "all traffic"
    return (
        alt.concat(*panels, columns=2)
        .properties(
            title=alt.Title(
                f"Infrastructure for {label}",
                subtitle=[
                    "black line: detected quality change; dashed: level before "
                    "and after (the tested figure); grey band: +/-"
                    f"{threshold:.0%} of the before level",
                    "flat = after level inside the band; moved = outside it and "
                    "significant at 1%; unclear = outside it, not significant",
                ],
            )
        )
        .resolve_scale(y="independent")
    )


def _service_windows(part: pd.DataFrame) -> pd.DataFrame:
    """Request-weighted window means over groups (p50/p95 approximated)."""
    metrics = [m for m in _INFRA_TITLES if m in part.columns]
    w = part["n_requests"].astype(float)
    work = part[["window_start"]].copy()
    work["n_requests"] = w
    for m in metrics:
        work[m] = part[m].astype(float) * w
    agg = work.groupby("window_start", as_index=False).sum(min_count=1)
    for m in metrics:
        agg[m] = agg[m] / agg["n_requests"]
    return agg


def figures_table(incident):
    """The headline figures of the affected group, two decimals, styled.

    Quality dimensions (pooled means before and after the change, the change
    and its 95% interval, counts, drop/rise/no change) and the
    infrastructure metrics (with "flat"/"moved"), from
    :meth:`Incident.figures`.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    table = incident.figures()
    if incident.drop is not None:
        group = ", ".join(str(incident.drop[k]) for k in incident.group_keys)
        when = pd.Timestamp(incident.drop["time"]).strftime("%Y-%m-%d %H:%M UTC")
        caption = f"{group}: before vs after {when}"
    else:
        caption = "no drop found"
    shown = table.copy()
    for col in ("before", "after", "change"):
        shown[col] = [
            _figure(v, name) for v, name in zip(shown[col], shown["name"], strict=True)
        ]
    styler = shown.style.hide(axis="index").format(
        {
            "ci_low": "{:+.2f}",
            "ci_high": "{:+.2f}",
            "n_before": "{:,}",
            "n_after": "{:,}",
        },
        na_rep="-",
    )
    return styler.set_caption(caption)


def _figure(value, name: str) -> str:
    """Two decimals for scores; units that read for infrastructure metrics."""
    if value is None or pd.isna(value):
        return "-"
    if name == "cost_per_request_usd":
        return f"{value:.5f}"
    if name == "error_rate":
        return f"{value:.4f}"
    if name.startswith("latency"):
        return f"{value:,.0f}"
    return f"{value:.2f}"


def causes_table(incident, *, top: int = 10):
    """The ranked candidate causes as a styled table.

    Returns
    -------
    pandas.io.formats.style.Styler
        Rank, kind, description, time (UTC), announced, hours from the
        change, time score, locality (with coverage and specificity) and
        score, best first; the score column carries a bar.
    """
    cols = [
        "rank",
        "kind",
        "description",
        "time",
        "announced",
        "gap_hours",
        "time_score",
        "coverage",
        "specificity",
        "locality",
        "score",
    ]
    table = incident.causes.head(top)
    table = table[[c for c in cols if c in table.columns]].copy()
    if "time" in table.columns and len(table):
        table["time"] = pd.to_datetime(table["time"], utc=True).dt.strftime(
            "%Y-%m-%d %H:%M UTC"
        )
    table = table.rename(
        columns={"gap_hours": "hours from change", "time": "time (UTC)"}
    )
    styler = table.style.hide(axis="index").format(
        {
            "hours from change": "{:+.1f}",
            "time_score": "{:.2f}",
            "coverage": "{:.2f}",
            "specificity": "{:.2f}",
            "locality": "{:.2f}",
            "score": "{:.2f}",
        },
        na_rep="-",
    )
    if len(table):
        styler = styler.bar(subset=["score"], vmin=0, vmax=1, color=PALETTE[4])
    return styler.set_caption(
        "Candidate causes: score = time score x locality (see llmdrift.investigate)"
    )


def impact_table(incident, *, window: str = "48h"):
    """The impact of every prompt change (``change_impact``), styled.

    Returns
    -------
    pandas.io.formats.style.Styler
        One row per change and dimension; unannounced changes highlighted.
    """
    table = incident.prompt_impact(window=window)
    shown = table.copy()
    for col in shown.columns:
        if isinstance(shown[col].dtype, pd.DatetimeTZDtype):
            shown[col] = shown[col].dt.strftime("%Y-%m-%d %H:%M UTC")
    styler = shown.style.hide(axis="index").format(precision=3, na_rep="-")
    if "announced" in shown.columns and len(shown):
        flag = shown["announced"].fillna(True).astype(bool)

        def _highlight(row):
            colour = f"background-color: {PALETTE[1]}33" if not flag[row.name] else ""
            return [colour] * len(row)

        styler = styler.apply(_highlight, axis=1)
    return styler.set_caption(
        f"Prompt changes and their impact over {window} (highlighted: unannounced)"
    )


def _audit_dimension(incident, service) -> str | None:
    """The dimension scored on the most intents, preferring the drop's."""
    series = incident.series[incident.series["n"] > 0]
    if "service" in series.columns and service is not None:
        series = series[series["service"] == service]
    if "intent" not in series.columns or series.empty:
        return incident.focus()["dimension"]
    cover = series.groupby("dimension")["intent"].nunique()
    preferred = []
    if incident.drop is not None:
        same = incident.changes
        for key in incident.group_keys:
            same = same[same[key] == incident.drop[key]]
        preferred = [incident.drop["dimension"], *same["dimension"].astype(str)]
    best = cover.max()
    for name in preferred:
        if cover.get(name, 0) == best:
            return name
    return str(cover[cover == best].index[0])


def prompt_audit_chart(
    incident,
    *,
    dimension: str | None = None,
    service: str | None = None,
    height: int = 80,
):
    """Prompt-hash timeline per intent drawn over its quality series.

    One small panel per intent of the service: the window means of
    ``dimension`` as a line over background bands, one band per prompt-hash
    regime (from :func:`llmdrift.hash_timeline`, labelled with the hash), and
    every hash change as a rule: solid vermillion for unannounced changes
    (named in the panel title too), dashed grey for announced ones.

    Parameters
    ----------
    incident : Incident
    dimension : str, optional
        Quality dimension to draw; default: the one scored on the most
        intents, preferring the drop's dimension and those that changed with
        it.
    service : str, optional
        Default: the drop's service.
    height : int, default=80
        Height of each panel.

    Returns
    -------
    altair.VConcatChart
    """
    alt = require_altair()
    focus = incident.focus(service=service)
    service = focus.get("service")
    dimension = dimension or _audit_dimension(incident, service)
    timeline = incident.prompt_timeline()
    series = incident.series[incident.series["dimension"] == dimension]
    changes = incident.prompt_changes
    if "service" in incident.group_keys and service is not None:
        series = series[series["service"] == service]
    if "service" in timeline.columns and service is not None:
        timeline = timeline[timeline["service"] == service]
        changes = changes[changes["service"] == service]
    if "intent" in timeline.columns:
        intents = sorted(timeline["intent"].dropna().astype(str).unique())
    else:
        intents = []
    lo, hi = series["window_start"].min(), series["window_start"].max()
    if pd.isna(lo):
        lo, hi = timeline["start"].min(), timeline["end"].max()
    x_scale = alt.Scale(type="utc", domain=[lo.isoformat(), hi.isoformat()])
    # one axis for every layer, or the merged axis loses the overlap rule
    x_axis = alt.Axis(
        format="%b %d",
        labelAngle=0,
        labelOverlap="greedy",
        labelSeparation=8,
        tickCount=8,
    )
    # one y range for every panel, so a real drop stands out from the noise
    y_scale = alt.Scale(zero=False)
    if series["mean"].notna().any():
        y_lo, y_hi = series["mean"].min(), series["mean"].max()
        pad = 0.05 * (y_hi - y_lo) if y_hi > y_lo else 0.5
        y_scale = alt.Scale(domain=[float(y_lo - pad), float(y_hi + pad)], nice=False)
    panels = []
    for number, name in enumerate(intents):
        last = number == len(intents) - 1
        own = series[series["intent"] == name] if "intent" in series else series
        segs = timeline[timeline["intent"] == name]
        segs = segs.assign(
            start=segs["start"].clip(lower=lo),
            end=segs["end"].clip(upper=hi),
            short="hash " + segs["hash"].astype(str).str[:6],
        )
        segs = segs[segs["end"] > segs["start"]].reset_index(drop=True)
        segs["shade"] = [PALETTE[4] if i % 2 == 0 else PALETTE[6] for i in segs.index]
        marks = changes[changes["intent"] == name]
        marks = marks.assign(
            kind=np.where(marks["announced"].astype(bool), "announced", "unannounced"),
            label=[
                f"{str(f)[:6]} -> {str(t)[:6]}"
                for f, t in zip(marks["from_hash"], marks["to_hash"], strict=True)
            ],
        )
        bands = (
            alt.Chart(segs)
            .mark_rect(opacity=0.2)
            .encode(
                x=alt.X(
                    "start:T",
                    scale=x_scale,
                    title=TIME_TITLE if last else None,
                    axis=x_axis,
                ),
                x2="end:T",
                color=alt.Color("shade:N", scale=None),
                tooltip=[
                    alt.Tooltip("hash:N", title="prompt hash"),
                    alt.Tooltip("n_requests:Q", title="n requests", format=","),
                    alt.Tooltip("share:Q", title="share of requests", format=".0%"),
                ],
            )
        )
        hash_text = (
            alt.Chart(segs)
            .mark_text(
                align="left",
                baseline="bottom",
                dx=3,
                dy=-2,
                fontSize=9,
                color="#555555",
            )
            .encode(
                x=alt.X("start:T", scale=x_scale, axis=x_axis),
                y=alt.value(height),
                text="short:N",
            )
        )
        layers = [bands, hash_text]
        if len(own):
            layers.append(
                alt.Chart(own)
                .mark_line(color=PALETTE[0], point=True)
                .encode(
                    x=alt.X("window_start:T", scale=x_scale, axis=x_axis),
                    y=alt.Y(
                        "mean:Q",
                        title=dimension,
                        scale=y_scale,
                        axis=alt.Axis(tickCount=3),
                    ),
                    tooltip=[
                        alt.Tooltip(
                            "window_start:T",
                            title="window start (UTC)",
                            timeUnit="utcyearmonthdatehoursminutes",
                            format="%Y-%m-%d %H:%M",
                        ),
                        alt.Tooltip("mean:Q", title="mean", format=".2f"),
                        alt.Tooltip("n:Q", title="n scores", format=","),
                    ],
                )
            )
        title, colour = f"intent {name}", "#000000"
        if len(marks):
            layers.append(
                alt.Chart(marks)
                .mark_rule(strokeWidth=2)
                .encode(
                    x=alt.X("time:T", scale=x_scale, axis=x_axis),
                    color=alt.Color(
                        "kind:N",
                        title="prompt-hash change",
                        scale=alt.Scale(
                            domain=["unannounced", "announced"],
                            range=[PALETTE[5], "#888888"],
                        ),
                        legend=None,
                    ),
                    strokeDash=alt.StrokeDash(
                        "kind:N",
                        scale=alt.Scale(
                            domain=["unannounced", "announced"], range=[[1, 0], [5, 3]]
                        ),
                        legend=None,
                    ),
                    tooltip=[
                        alt.Tooltip("label:N", title="hash change"),
                        alt.Tooltip("kind:N", title="kind"),
                        alt.Tooltip(
                            "time:T",
                            title="time (UTC)",
                            timeUnit="utcyearmonthdatehoursminutes",
                            format="%Y-%m-%d %H:%M",
                        ),
                    ],
                )
            )
            silent = marks[marks["kind"] == "unannounced"]
            if len(silent):
                first = silent.iloc[0]
                title = (
                    f"intent {name}: UNANNOUNCED prompt change {first['label']} at "
                    f"{pd.Timestamp(first['time']).strftime('%Y-%m-%d %H:%M')} UTC"
                )
                colour = PALETTE[5]
        if not len(own):
            title += f" (no {dimension} scores)"
        panels.append(
            alt.layer(*layers).properties(
                width=_WIDTH,
                height=height,
                title=alt.Title(title, fontSize=12, anchor="start", color=colour),
            )
        )
    where = f" ({service})" if service else ""
    return alt.vconcat(*panels, spacing=12).properties(
        title=alt.Title(
            f"Prompt-hash timeline per intent, over {dimension}{where}",
            subtitle="background bands: one per prompt-hash regime (hash at the "
            "bottom left); vermillion line: unannounced hash change"
            + ("" if len(changes) else " (none in this range)"),
        )
    )
