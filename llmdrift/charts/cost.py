"""Charts for the cost runbook: spend over time, outliers, cost per quality, plan.

Each function takes the small table a :mod:`llmdrift.cost` function returns
(already aggregated) and returns an Altair chart.
"""

from __future__ import annotations

import pandas as pd

from llmdrift.charts.style import PALETTE, TIME_TITLE, require_altair

__all__ = [
    "cost_over_time_chart",
    "expensive_traces_chart",
    "cost_per_quality_chart",
    "sample_plan_chart",
]

_MAX_ROWS = 5000


def _check(table: pd.DataFrame, columns, made_by: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"expected the DataFrame returned by {made_by}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"table has no column(s) {missing}; build it with {made_by}")
    if len(table) > _MAX_ROWS:
        raise ValueError(
            f"table has {len(table):,} rows; aggregate first (at most {_MAX_ROWS:,})"
        )


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """Copy with nullable columns turned into plain ones Vega-Lite can read."""
    out = table.copy()
    for name in out.columns:
        dtype = out[name].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            continue
        if pd.api.types.is_bool_dtype(dtype):
            out[name] = out[name].astype("boolean").fillna(False).astype(bool)
        elif pd.api.types.is_numeric_dtype(dtype):
            out[name] = out[name].astype("float64")
        elif pd.api.types.is_string_dtype(dtype):
            out[name] = out[name].astype(object).where(out[name].notna(), None)
    return out


def cost_over_time_chart(
    table: pd.DataFrame,
    *,
    color: str = "intent",
    facet: str | None = None,
    value: str = "total_cost_usd",
):
    """Stacked spend per window, one colour per group (e.g. intent).

    Parameters
    ----------
    table : pandas.DataFrame
        ``cost_by(spans, by=(color[, facet]), freq=...)``: needs
        ``window_start``, ``color``, ``value``, ``n_requests``,
        ``cost_per_request_usd``.
    color : str, default="intent"
    facet : str, optional
        A second group column (e.g. "request_model") drawn as rows of panels.
    value : str, default="total_cost_usd"

    Returns
    -------
    altair.Chart

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({
    ...     "window_start": pd.to_datetime(["2025-01-06", "2025-01-06"], utc=True),
    ...     "intent": ["a", "b"], "total_cost_usd": [1.0, 2.0],
    ...     "n_requests": [10, 20], "cost_per_request_usd": [0.1, 0.1]})
    >>> cost_over_time_chart(table).to_dict()["mark"]["type"]
    'bar'
    """
    alt = require_altair()
    needed = ["window_start", color, value, "n_requests", "cost_per_request_usd"]
    _check(table, needed + ([facet] if facet else []), "llmdrift.cost_by(..., freq=)")
    data = _plain(table)
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "utcyearmonthdate(window_start):O",
                title=f"window start, {TIME_TITLE}",
                axis=alt.Axis(format="%b %d", labelAngle=-45, labelOverlap=True),
            ),
            y=alt.Y(
                f"sum({value}):Q", title="cost (USD)", axis=alt.Axis(format="$,.2f")
            ),
            color=alt.Color(f"{color}:N", title=color, scale=alt.Scale(range=PALETTE)),
            order=alt.Order(f"{color}:N"),
            tooltip=[
                alt.Tooltip("utcyearmonthdate(window_start):T", title="window (UTC)"),
                alt.Tooltip(f"{color}:N"),
                alt.Tooltip(f"{value}:Q", title="cost (USD)", format="$,.2f"),
                alt.Tooltip("n_requests:Q", title="requests", format=","),
                alt.Tooltip(
                    "cost_per_request_usd:Q", title="per request (USD)", format="$.5f"
                ),
            ],
        )
        .properties(
            width=560,
            height=220,
            title={
                "text": "Spend per window",
                "subtitle": "the first and last windows may be partly covered",
            },
        )
    )
    if facet:
        chart = chart.properties(height=140).facet(
            row=alt.Row(f"{facet}:N", title=facet)
        )
    return chart


def expensive_traces_chart(top: pd.DataFrame, summary: pd.DataFrame):
    """The most expensive traces against the usual cost of their intent.

    Parameters
    ----------
    top : pandas.DataFrame
        ``most_expensive_traces(spans, n=...)``.
    summary : pandas.DataFrame
        ``cost_by(spans, by="intent")``: the median-to-p95 range of request
        cost is drawn per intent as a bar with a tick at the median; the
        outliers are dots.

    Returns
    -------
    altair.LayerChart

    Examples
    --------
    >>> import pandas as pd
    >>> top = pd.DataFrame({"trace_id": ["t"], "intent": ["a"], "cost_usd": [0.3],
    ...     "models": ["m"], "cost_vs_median": [3.0], "n_spans": [2]})
    >>> summary = pd.DataFrame({"intent": ["a"], "cost_p50_usd": [0.1],
    ...     "cost_p95_usd": [0.2], "n_requests": [50]})
    >>> len(expensive_traces_chart(top, summary).to_dict()["layer"])
    3
    """
    alt = require_altair()
    _check(
        top,
        ["trace_id", "intent", "cost_usd", "cost_vs_median"],
        "llmdrift.cost.most_expensive_traces",
    )
    _check(
        summary,
        ["intent", "cost_p50_usd", "cost_p95_usd", "n_requests"],
        "llmdrift.cost_by(spans, by='intent')",
    )
    top_d, sum_d = _plain(top), _plain(summary)
    y = alt.Y("intent:N", title=None, sort=alt.SortField("cost_p50_usd", "descending"))
    x_title = "cost per request (USD)"
    band = (
        alt.Chart(sum_d)
        .mark_bar(color="#BBBBBB", height=10)
        .encode(
            x=alt.X("cost_p50_usd:Q", title=x_title, axis=alt.Axis(format="$.4f")),
            x2="cost_p95_usd:Q",
            y=y,
            tooltip=[
                "intent:N",
                alt.Tooltip("cost_p50_usd:Q", title="median", format="$.5f"),
                alt.Tooltip("cost_p95_usd:Q", title="p95", format="$.5f"),
                alt.Tooltip("n_requests:Q", title="requests", format=","),
            ],
        )
    )
    median = (
        alt.Chart(sum_d)
        .mark_tick(color="black", thickness=2, size=16)
        .encode(x="cost_p50_usd:Q", y=y)
    )
    tooltip = [
        "trace_id:N",
        "intent:N",
        alt.Tooltip("cost_usd:Q", title="cost (USD)", format="$.5f"),
        alt.Tooltip("cost_vs_median:Q", title="x median", format=".1f"),
    ]
    tooltip += [c for c in ("models:N", "n_spans:Q") if c.split(":")[0] in top_d]
    dots = (
        alt.Chart(top_d)
        .mark_circle(size=70, color=PALETTE[5], opacity=0.8)
        .encode(x="cost_usd:Q", y=y, tooltip=tooltip)
    )
    return alt.layer(band, median, dots).properties(
        width=520,
        title={
            "text": "Most expensive traces (dots) vs each intent's median-p95 (bar)",
            "fontSize": 13,
        },
    )


def cost_per_quality_chart(table: pd.DataFrame, *, color: str = "intent"):
    """Cost per quality point per window; windows that fire the alert ringed.

    Parameters
    ----------
    table : pandas.DataFrame
        ``cost_per_quality(spans, scores, by=color, freq=...)``.
    color : str, default="intent"

    Returns
    -------
    altair.Chart or altair.FacetChart (one row per dimension when several)

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({
    ...     "window_start": pd.to_datetime(["2025-01-06", "2025-01-13"], utc=True),
    ...     "intent": ["a", "a"], "dimension": ["format"] * 2,
    ...     "cost_per_quality_usd": [0.01, 0.02], "quality": [4.0, 2.0],
    ...     "change_pct": [None, 1.0], "alert": [False, True], "n_scores": [5, 5]})
    >>> "layer" in cost_per_quality_chart(table).to_dict()
    True
    """
    alt = require_altair()
    _check(
        table,
        ["window_start", color, "dimension", "cost_per_quality_usd", "alert"],
        "llmdrift.cost_per_quality",
    )
    data = _plain(table)
    base = alt.Chart(data).encode(
        x=alt.X("window_start:T", title=f"window start, {TIME_TITLE}"),
        y=alt.Y(
            "cost_per_quality_usd:Q",
            title="USD per request per quality point",
            axis=alt.Axis(format="$.5f"),
        ),
        color=alt.Color(f"{color}:N", title=color, scale=alt.Scale(range=PALETTE)),
    )
    tooltip = [
        alt.Tooltip("window_start:T", title="window (UTC)"),
        f"{color}:N",
        "dimension:N",
        alt.Tooltip(
            "cost_per_quality_usd:Q", title="USD / quality point", format="$.6f"
        ),
        alt.Tooltip("quality:Q", format=".2f"),
        alt.Tooltip("change_pct:Q", title="change vs previous", format="+.0%"),
        alt.Tooltip("n_scores:Q", title="scores", format=","),
    ]
    lines = base.mark_line(point=True).encode(tooltip=tooltip)
    alerts = (
        alt.Chart(data)
        .transform_filter("datum.alert")
        .mark_point(
            shape="circle", size=260, filled=False, strokeWidth=2.5, color=PALETTE[5]
        )
        .encode(x="window_start:T", y="cost_per_quality_usd:Q", tooltip=tooltip)
    )
    chart = alt.layer(lines, alerts).properties(
        width=560,
        height=220,
        title={
            "text": "Cost per quality point",
            "subtitle": "ringed: up 30% or more on the window before",
        },
    )
    if data["dimension"].nunique() > 1:
        return (
            chart.properties(height=150, title="")
            .facet(row=alt.Row("dimension:N", title=None))
            .resolve_scale(y="independent")
        )
    return chart


def sample_plan_chart(plan: pd.DataFrame, *, by: str = "intent"):
    """Per-intent judging rate, daily cost and detectable drop, side by side.

    Parameters
    ----------
    plan : pandas.DataFrame
        ``sample_plan(...)``.
    by : str, default="intent"

    Returns
    -------
    altair.HConcatChart

    Examples
    --------
    >>> import pandas as pd
    >>> plan = pd.DataFrame({"intent": ["a"], "rate": [0.2], "daily_cost_usd": [1.5],
    ...     "detectable_drop": [0.1], "detectable_effect_size": [0.12],
    ...     "n_judged_per_day": [40.0], "n_per_day": [200.0]})
    >>> len(sample_plan_chart(plan).to_dict()["hconcat"])
    3
    """
    alt = require_altair()
    _check(
        plan,
        [by, "rate", "daily_cost_usd", "detectable_drop", "detectable_effect_size"],
        "llmdrift.sample_plan",
    )
    data = _plain(plan)
    if data["detectable_drop"].notna().any():
        drop, drop_title, drop_fmt = "detectable_drop", "detectable drop (score)", ".3f"
    else:
        drop, drop_title, drop_fmt = (
            "detectable_effect_size",
            "detectable drop (SD units)",
            ".2f",
        )
    order = (
        alt.SortField("n_per_day", "descending") if "n_per_day" in data else "ascending"
    )
    tooltip = [f"{by}:N", alt.Tooltip("rate:Q", format=".1%")]
    tooltip += [
        alt.Tooltip(f"{c}:Q", format=",.1f")
        for c in ("n_per_day", "n_judged_per_day")
        if c in data
    ]
    tooltip += [
        alt.Tooltip("daily_cost_usd:Q", title="USD/day", format="$.2f"),
        alt.Tooltip(f"{drop}:Q", title=drop_title, format=drop_fmt),
    ]

    def panel(field, title, fmt, colour, labels=True):
        y = alt.Y(
            f"{by}:N", title=None, sort=order, axis=alt.Axis() if labels else None
        )
        bars = (
            alt.Chart(data)
            .mark_bar(color=colour)
            .encode(
                x=alt.X(f"{field}:Q", title=title, axis=alt.Axis(format=fmt)),
                y=y,
                tooltip=tooltip,
            )
        )
        text = bars.mark_text(align="left", dx=3, fontSize=11, color="black").encode(
            text=alt.Text(f"{field}:Q", format=fmt)
        )
        return (bars + text).properties(width=170, height=alt.Step(22))

    return alt.hconcat(
        panel("rate", "sample rate", ".0%", PALETTE[0]),
        panel("daily_cost_usd", "judging cost (USD/day)", "$.2f", PALETTE[1], False),
        panel(drop, f"{drop_title}, 7-day window", drop_fmt, PALETTE[2], False),
    ).properties(
        title={
            "text": "Judging plan",
            "subtitle": "rate of ordinary requests (errored/flagged always judged)",
        }
    )
