"""Charts for the calibration runbook: can the judge be trusted, and how is it biased?

Each chart takes the small frame a :mod:`llmdrift.calibration` function
returns (:func:`~llmdrift.calibration.agreement`,
:func:`~llmdrift.calibration.confusion_table`,
:func:`~llmdrift.calibration.paired_scores`,
:func:`~llmdrift.calibration.human_ceiling`) and returns an Altair chart;
:func:`agreement_table` returns a frame of formatted text instead.
:func:`calibration_view` runs those functions for one dimension and judge and
draws every chart at once (the runbook's widgets call it).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from llmdrift._args import check_int
from llmdrift.charts.style import PALETTE, require_altair
from llmdrift.schema import LlmdriftWarning

__all__ = [
    "agreement_table",
    "agreement_chart",
    "confusion_heatmap",
    "difference_chart",
    "human_ceiling_chart",
    "note_chart",
    "calibration_view",
    "CalibrationView",
    "DEFAULT_STATISTICS",
    "STATISTICS_BY_LEVEL",
]

_MAX_ROWS = 5000

DEFAULT_STATISTICS = (
    "exact_agreement",
    "kappa",
    "kappa_quadratic",
    "alpha_ordinal",
    "pearson",
    "spearman",
    "kendall_tau_b",
)
"""Statistics shown by :func:`agreement_table` and :func:`agreement_chart` by
default (those that are NaN on every row are left out)."""

STATISTICS_BY_LEVEL = {
    "nominal": ("exact_agreement", "kappa", "alpha_nominal"),
    "ordinal": (
        "exact_agreement",
        "within_one",
        "kappa",
        "kappa_quadratic",
        "alpha_ordinal",
        "spearman",
        "kendall_tau_b",
    ),
    "interval": (
        "pearson",
        "spearman",
        "kendall_tau_b",
        "alpha_interval",
        "mean_bias",
    ),
}
"""The statistics that mean something at each level of measurement: labels
without an order (a pairwise preference) get no correlations, continuous
ratings no kappas."""

_TRUST_STATISTIC = {"nominal": "kappa", "ordinal": "auto", "interval": "pearson"}

_TITLES = {
    "exact_agreement": "exact agreement",
    "within_one": "within one step",
    "kappa": "Cohen's kappa",
    "kappa_linear": "kappa (linear)",
    "kappa_quadratic": "kappa (quadratic)",
    "alpha_nominal": "Krippendorff alpha (nominal)",
    "alpha_ordinal": "Krippendorff alpha (ordinal)",
    "alpha_interval": "Krippendorff alpha (interval)",
    "pearson": "Pearson r",
    "spearman": "Spearman rho",
    "kendall_tau_b": "Kendall tau-b",
    "mean_bias": "mean bias (judge - human)",
}


def _check(table, columns, made_by: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"expected the DataFrame returned by {made_by}, got {type(table).__name__}"
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"table has no column(s) {missing}; build it with {made_by} "
            f"(present: {list(table.columns)[:12]})"
        )
    if len(table) > _MAX_ROWS:
        raise ValueError(
            f"table has {len(table):,} rows; aggregate or filter first (at most "
            f"{_MAX_ROWS:,})"
        )


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """Copy with nullable columns turned into plain ones Vega-Lite can read."""
    out = table.copy()
    for name in out.columns:
        dtype = out[name].dtype
        if pd.api.types.is_bool_dtype(dtype):
            out[name] = out[name].astype(bool)
        elif pd.api.types.is_numeric_dtype(dtype):
            out[name] = out[name].astype("float64")
        else:
            out[name] = out[name].astype(object).where(out[name].notna(), None)
    return out


def _panel(table: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """Judge name, with the ``by`` values in brackets ("GPT-4 (swapped)")."""
    label = table["judge"].astype(str)
    for col in by:
        label = label + " (" + table[col].astype(str) + ")"
    return label


def _fmt(value: float, digits: int) -> str:
    return "-" if not np.isfinite(value) else f"{value:.{digits}f}"


def _statistics(table: pd.DataFrame, statistics) -> list[str]:
    asked = list(DEFAULT_STATISTICS if statistics is None else statistics)
    missing = [s for s in asked if s not in table.columns]
    if missing and statistics is not None:
        raise ValueError(
            f"statistics {missing} are not columns of the agreement table; choose "
            f"from {[c for c in _TITLES if c in table.columns]}"
        )
    present = [s for s in asked if s in table.columns]
    if statistics is None:
        present = [s for s in present if table[s].notna().any()]
    return present


def agreement_table(
    table: pd.DataFrame,
    statistics: Sequence[str] | None = None,
    *,
    digits: int = 2,
    levels: str | dict | None = None,
) -> pd.DataFrame:
    """The agreement table as text: each statistic as "estimate [low, high]".

    Parameters
    ----------
    table : pandas.DataFrame
        Wide output of :func:`llmdrift.agreement`: ``dimension, judge, human,
        n`` and ``<statistic>, <statistic>_ci_low, <statistic>_ci_high``
        (other key columns such as an ``order`` from ``by=`` are kept).
    statistics : list of str, optional
        Statistic columns to show; default :data:`DEFAULT_STATISTICS` that
        are not NaN everywhere.
    digits : int, default=2
    levels : str or dict, optional
        Level of measurement of the dimensions ("nominal", "ordinal",
        "interval"), one for all or ``{dimension: level}`` (as in
        ``AnnotatedSet.level``). A statistic that means nothing at a row's
        level (:data:`STATISTICS_BY_LEVEL`: no correlations for unordered
        labels such as a pairwise preference, no kappas for continuous
        ratings) is shown as "-" and the note says why. Default: every
        statistic computed is shown.

    Returns
    -------
    pandas.DataFrame
        Key columns (``dimension``, any ``by`` columns, ``judge``, ``human``,
        ``n``), one text column per statistic titled in words ("Cohen's
        kappa"), and ``note``. Undefined values are "-" and the reason is in
        ``note``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"dimension": ["q"], "judge": ["j"], "human": ["h"],
    ...                   "n": [40], "kappa": [0.61], "kappa_ci_low": [0.45],
    ...                   "kappa_ci_high": [0.74], "note": [""]})
    >>> agreement_table(t)["Cohen's kappa"].item()
    '0.61 [0.45, 0.74]'
    """
    _check(table, ["dimension", "judge", "human", "n"], "llmdrift.agreement(...)")
    digits = check_int("digits", digits, minimum=0)
    row_levels = _row_levels(table, levels)
    shown = [
        None if level is None else set(STATISTICS_BY_LEVEL[level])
        for level in row_levels
    ]
    computed = _statistics(table, statistics)
    stats = [
        name
        for name in computed
        if any(allowed is None or name in allowed for allowed in shown)
    ]
    first = table.columns.get_loc("n") + 1
    keys = [c for c in table.columns[:first] if c not in ("level", "n_groups")]
    out = table[keys].copy().reset_index(drop=True)
    for name in stats:
        nan = pd.Series(np.nan, index=table.index)
        # nullable Float64 columns hold <NA>: read every column as plain floats
        value = _floats(table[name])
        low = _floats(table.get(f"{name}_ci_low", nan))
        high = _floats(table.get(f"{name}_ci_high", nan))
        cells = []
        for v, lo, hi, allowed in zip(value, low, high, shown, strict=True):
            if allowed is not None and name not in allowed:
                cells.append("-")
                continue
            text = _fmt(float(v), digits)
            if np.isfinite(v) and np.isfinite(lo) and np.isfinite(hi):
                text += f" [{_fmt(float(lo), digits)}, {_fmt(float(hi), digits)}]"
            cells.append(text)
        out[_TITLES.get(name, name)] = cells
    notes = (
        table["note"].fillna("").to_numpy()
        if "note" in table.columns
        else np.full(len(table), "", dtype=object)
    )
    if levels is not None or "note" in table.columns:
        out["note"] = [
            _level_note(note, level, computed)
            for note, level in zip(notes, row_levels, strict=True)
        ]
    return out


def _floats(column) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _row_levels(table: pd.DataFrame, levels) -> list:
    """The level of measurement of each row (None where none was given)."""
    if levels is None:
        return [None] * len(table)
    if isinstance(levels, str):
        levels = dict.fromkeys(table["dimension"].unique(), levels)
    if isinstance(levels, pd.Series):
        levels = levels.to_dict()
    if not isinstance(levels, dict):
        raise TypeError(
            "levels must be a level name or a {dimension: level} dict, got "
            f"{type(levels).__name__}"
        )
    unknown = sorted(set(map(str, levels)) - set(map(str, table["dimension"])))
    if unknown:
        warnings.warn(
            f"agreement_table: levels names dimension(s) {unknown} that the table "
            f"lacks (it has {sorted(map(str, table['dimension'].unique()))}); a "
            "misspelt name leaves its dimension showing every statistic.",
            LlmdriftWarning,
            stacklevel=3,
        )
    unknown = sorted({str(v) for v in levels.values()} - set(STATISTICS_BY_LEVEL))
    if unknown:
        raise ValueError(
            f"levels holds {unknown}; use one of {list(STATISTICS_BY_LEVEL)}"
        )
    return [levels.get(d) for d in table["dimension"]]


def _level_note(note: str, level, stats) -> str:
    """A row's note, saying which statistics its level leaves out."""
    if level is None:
        return note
    hidden = [_TITLES.get(n, n) for n in stats if n not in STATISTICS_BY_LEVEL[level]]
    if not hidden:
        return note
    said = f"{level} ratings: {', '.join(hidden)} not meaningful"
    return f"{note}; {said}" if note else said


def agreement_chart(
    table: pd.DataFrame,
    statistics: Sequence[str] | None = None,
    *,
    by: Sequence[str] = (),
):
    """Each agreement statistic with its interval, one panel per statistic.

    Parameters
    ----------
    table : pandas.DataFrame
        Wide output of :func:`llmdrift.agreement`.
    statistics : list of str, optional
        Default :data:`DEFAULT_STATISTICS` that are not NaN everywhere.
    by : list of str, default=()
        The ``by`` columns given to ``agreement`` (shown with the judge name).

    Returns
    -------
    altair.FacetChart
        Dimensions down the y axis, one colour per judge; a dot at the
        estimate and a line over its bootstrap interval. The dashed rule is 0
        (no agreement beyond chance for kappa and alpha).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"dimension": ["q"], "judge": ["j"], "human": ["h"],
    ...                   "n": [40], "kappa": [0.61], "kappa_ci_low": [0.45],
    ...                   "kappa_ci_high": [0.74]})
    >>> agreement_chart(t).to_dict()["facet"]["field"]
    'statistic'
    """
    alt = require_altair()
    _check(table, ["dimension", "judge", "human", "n", *by], "llmdrift.agreement(...)")
    stats = _statistics(table, statistics)
    if not stats:
        raise ValueError("no statistic to draw: every one is NaN (see 'note')")
    rows = []
    panel = _panel(table, by)
    for name in stats:
        low = table.get(f"{name}_ci_low", pd.Series(np.nan, index=table.index))
        high = table.get(f"{name}_ci_high", pd.Series(np.nan, index=table.index))
        rows.append(
            pd.DataFrame(
                {
                    "dimension": table["dimension"].astype(str).to_numpy(),
                    "judge": panel.to_numpy(),
                    "human": table["human"].astype(str).to_numpy(),
                    "n": table["n"].astype(float).to_numpy(),
                    "statistic": _TITLES.get(name, name),
                    "value": table[name].astype(float).to_numpy(),
                    "ci_low": low.astype(float).to_numpy(),
                    "ci_high": high.astype(float).to_numpy(),
                }
            )
        )
    data = _plain(pd.concat(rows, ignore_index=True))
    lowest = np.nanmin(np.r_[data["ci_low"].to_numpy(), data["value"].to_numpy(), 0.0])
    domain = [min(0.0, float(np.floor(lowest * 10) / 10)), 1.0]
    color = alt.Color("judge:N", title="judge", scale=alt.Scale(range=PALETTE))
    x = alt.X("value:Q", title=None, scale=alt.Scale(domain=domain))
    tooltip = [
        "dimension:N",
        "judge:N",
        "human:N",
        "statistic:N",
        alt.Tooltip("value:Q", format=".3f"),
        alt.Tooltip("ci_low:Q", format=".3f", title="95% low"),
        alt.Tooltip("ci_high:Q", format=".3f", title="95% high"),
        alt.Tooltip("n:Q", format=",", title="items"),
    ]
    # one row per dimension and judge (the judge alone when one dimension)
    if data["dimension"].nunique() > 1:
        data["row"] = data["dimension"] + " · " + data["judge"]
    else:
        data["row"] = data["judge"]
    base = alt.Chart(data).encode(y=alt.Y("row:N", title=None), color=color)
    interval = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("ci_low:Q", title=None, scale=alt.Scale(domain=domain)),
        x2="ci_high:Q",
        tooltip=tooltip,
    )
    dots = base.mark_point(filled=True, size=60).encode(x=x, tooltip=tooltip)
    zero = (
        alt.Chart(data)
        .mark_rule(strokeDash=[4, 3], color="#888888")
        .encode(x=alt.X("zero:Q", scale=alt.Scale(domain=domain)))
        .transform_calculate(zero="0")
    )
    layered = alt.layer(zero, interval, dots).properties(width=220, height=alt.Step(18))
    return layered.facet(
        facet=alt.Facet(
            "statistic:N", title=None, sort=[_TITLES.get(s, s) for s in stats]
        ),
        columns=3,
    ).properties(
        title={
            "text": "Judge agreement with people",
            "subtitle": "dot: estimate; line: bootstrap 95% interval; dashed: 0",
        }
    )


def _labels(values: pd.Series, labels: Mapping | None) -> pd.Series:
    def one(v):
        if labels and v in labels:
            return str(labels[v])
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    return values.map(one)


def confusion_heatmap(
    confusion: pd.DataFrame,
    *,
    labels: Mapping | None = None,
    by: Sequence[str] = (),
):
    """Judge label against human label, coloured by the judge's answer share.

    Parameters
    ----------
    confusion : pandas.DataFrame
        :func:`llmdrift.calibration.confusion_table` for one dimension
        (``dimension, judge, human, judge_value, human_value,
        judge_position, human_position, n, share_of_human``).
    labels : mapping, optional
        Text for each value (e.g. ``{1: "response 1", 0: "tie"}``).
    by : list of str, default=()
        ``by`` columns of the table (one panel per judge and by-value).

    Returns
    -------
    altair.Chart or altair.FacetChart
        Columns: the human label; rows: the judge's label, both in scale
        order (highest at the top). A cell's colour is the share of the items
        with that human label that the judge put there (each column sums to
        1), its text the item count; a perfect judge fills the diagonal.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"dimension": "ok", "judge": "j", "human": "h",
    ...     "judge_value": [0, 0, 1, 1], "human_value": [0, 1, 0, 1],
    ...     "judge_position": [0, 0, 1, 1], "human_position": [0, 1, 0, 1],
    ...     "n": [8, 1, 2, 9], "share_of_human": [0.8, 0.1, 0.2, 0.9]})
    >>> confusion_heatmap(c).to_dict()["layer"][0]["mark"]["type"]
    'rect'
    """
    alt = require_altair()
    needed = [
        "dimension",
        "judge",
        "human",
        "judge_value",
        "human_value",
        "judge_position",
        "human_position",
        "n",
        "share_of_human",
        *by,
    ]
    _check(confusion, needed, "llmdrift.calibration.confusion_table(...)")
    if confusion["dimension"].nunique() > 1:
        raise ValueError(
            "confusion_heatmap draws one dimension; filter the table, e.g. "
            "table[table['dimension'] == 'format']"
        )
    data = confusion.copy()
    data["judge_label"] = _labels(data["judge_value"], labels)
    data["human_label"] = _labels(data["human_value"], labels)
    data["panel"] = _panel(data, by)
    order = (
        data.drop_duplicates("human_position")
        .sort_values("human_position")["human_label"]
        .tolist()
    )
    data = _plain(
        data[
            [
                "panel",
                "human",
                "judge_label",
                "human_label",
                "n",
                "share_of_human",
                "dimension",
            ]
        ]
    )
    share = alt.Color(
        "share_of_human:Q",
        title="share of the human label",
        scale=alt.Scale(scheme="blues", domain=[0, 1]),
    )
    base = alt.Chart(data).encode(
        x=alt.X(
            "human_label:O",
            sort=order,
            title="people's label",
            axis=alt.Axis(labelAngle=0),
        ),
        y=alt.Y("judge_label:O", sort=order[::-1], title="judge's label"),
    )
    tooltip = [
        alt.Tooltip("panel:N", title="judge"),
        alt.Tooltip("human_label:O", title="people"),
        alt.Tooltip("judge_label:O", title="judge"),
        alt.Tooltip("n:Q", format=",", title="items"),
        alt.Tooltip("share_of_human:Q", format=".1%", title="share of column"),
    ]
    cells = base.mark_rect(stroke="white").encode(color=share, tooltip=tooltip)
    text = base.mark_text(fontSize=12).encode(
        text=alt.Text("n:Q", format=","),
        color=alt.condition(
            "datum.share_of_human > 0.5", alt.value("white"), alt.value("black")
        ),
    )
    size = 46 if len(order) <= 6 else 28
    chart = alt.layer(cells, text).properties(
        width=alt.Step(size), height=alt.Step(size)
    )
    title = {
        "text": f"Judge against people: {confusion['dimension'].iloc[0]}",
        "subtitle": "colour: share of each column; number: items",
    }
    if data["panel"].nunique() > 1:
        return chart.facet(column=alt.Column("panel:N", title=None)).properties(
            title=title
        )
    return chart.properties(title=title)


def _on_scale(scale: Sequence | None) -> bool:
    """True when the scale's labels are numbers in rising order (use them)."""
    if scale is None:
        return True
    numbers = all(isinstance(c, int | float) and not isinstance(c, bool) for c in scale)
    return numbers and all(a < b for a, b in zip(scale, scale[1:], strict=False))


def _positions(values: pd.Series, scale: Sequence | None) -> np.ndarray:
    """Numeric values, or positions on ``scale`` when its labels are not rising
    numbers (text labels, or a preference coded ``[1, 0, 2]``)."""
    if _on_scale(scale):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    lookup = {}
    for i, c in enumerate(scale):
        lookup[c] = float(i)
        if isinstance(c, int | float) and not isinstance(c, bool):
            lookup[float(c)] = float(i)
    return values.map(lambda v: lookup.get(v, np.nan)).to_numpy(dtype=float)


def difference_chart(
    paired: pd.DataFrame,
    *,
    scale: Sequence | None = None,
    by: Sequence[str] = (),
):
    """Judge minus people against their mean, per item (Bland-Altman style).

    Parameters
    ----------
    paired : pandas.DataFrame
        :func:`llmdrift.calibration.paired_scores` for one dimension
        (``dimension, judge, human, span_id, judge_value, human_value``).
    scale : list, optional
        The dimension's categories, lowest first. When they are not rising
        numbers, the values are replaced by their positions on it (so
        ``[1, 0, 2]`` of a pairwise preference reads "response 1 < tie <
        response 2", in scale steps); otherwise the values themselves are
        used and must be numbers.
    by : list of str, default=()
        ``by`` columns of the table (one panel per judge and by-value).

    Returns
    -------
    altair.Chart or altair.FacetChart
        One circle per distinct (mean, difference), its area the number of
        items there; a solid rule at the mean difference (the judge's bias)
        and dashed rules at the limits of agreement, bias +- 1.96 standard
        deviations of the differences. Points above 0: the judge rates
        higher than the people.

    Raises
    ------
    ValueError
        When the values are not numbers and no ``scale`` is given.

    Notes
    -----
    The difference only means something when judge and people rate on the
    same scale. A judge that scores on another scale (UniEval's 0-1 scores
    against Topical-Chat's 1-3 ratings) shows a bias that is the difference
    of scales, not an error of the judge; read the correlations instead.
    Circles are drawn per distinct (mean, difference) and, above 5,000 of
    them, on values rounded to 2 decimals.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"dimension": "q", "judge": "j", "human": "h",
    ...     "span_id": list("abcd"), "judge_value": [5, 4, 3, 4],
    ...     "human_value": [4, 4, 3, 2]})
    >>> spec = difference_chart(p).to_dict()
    >>> [layer["mark"]["type"] for layer in spec["layer"]]
    ['rule', 'rule', 'circle']
    """
    alt = require_altair()
    needed = [
        "dimension",
        "judge",
        "human",
        "span_id",
        "judge_value",
        "human_value",
        *by,
    ]
    if not isinstance(paired, pd.DataFrame):
        raise TypeError("expected the DataFrame of llmdrift.calibration.paired_scores")
    missing = [c for c in needed if c not in paired.columns]
    if missing:
        raise ValueError(
            f"table has no column(s) {missing}; build it with "
            "llmdrift.calibration.paired_scores(...)"
        )
    if paired["dimension"].nunique() > 1:
        raise ValueError("difference_chart draws one dimension; filter the table first")
    j = _positions(paired["judge_value"], scale)
    h = _positions(paired["human_value"], scale)
    if np.isnan(j).all() or np.isnan(h).all():
        raise ValueError(
            "difference_chart: the values are not numbers on a scale; give "
            "scale=[lowest, ..., highest] (e.g. data.scale[dimension])"
        )
    data = pd.DataFrame(
        {
            "panel": _panel(paired, by).to_numpy(),
            "mean": (j + h) / 2,
            "difference": j - h,
        }
    ).dropna()
    if len(data.drop_duplicates()) > _MAX_ROWS:
        data = data.round({"mean": 2, "difference": 2})
    points = data.groupby(["panel", "mean", "difference"], as_index=False).size()
    points = points.rename(columns={"size": "n"})
    limits = data.groupby("panel")["difference"].agg(["mean", "std", "count"])
    limits = limits.rename(columns={"mean": "bias"}).reset_index()
    limits["std"] = limits["std"].fillna(0.0)
    limits["low"] = limits["bias"] - 1.96 * limits["std"]
    limits["high"] = limits["bias"] + 1.96 * limits["std"]
    lines = limits.melt(
        id_vars=["panel", "count"],
        value_vars=["bias", "low", "high"],
        var_name="part",
        value_name="difference",
    )
    # one frame for every layer, so that the layers can be faceted together
    combined = pd.concat(
        [points.assign(part="item"), lines.rename(columns={"count": "n"})],
        ignore_index=True,
    )
    base = alt.Chart(_plain(combined))
    unit = "score" if _on_scale(scale) else "scale steps"
    y = alt.Y("difference:Q", title=f"judge minus people ({unit})")
    bias_rule = (
        base.transform_filter("datum.part == 'bias'")
        .mark_rule(color=PALETTE[5], strokeWidth=2)
        .encode(
            y=y,
            tooltip=[
                alt.Tooltip("panel:N", title="judge"),
                alt.Tooltip("difference:Q", format="+.3f", title="mean difference"),
                alt.Tooltip("n:Q", format=",", title="items"),
            ],
        )
    )
    loa_rule = (
        base.transform_filter("datum.part == 'low' || datum.part == 'high'")
        .mark_rule(color=PALETTE[5], strokeDash=[5, 4])
        .encode(
            y=y,
            tooltip=[
                alt.Tooltip("part:N", title="limit of agreement"),
                alt.Tooltip("difference:Q", format="+.3f"),
            ],
        )
    )
    dots = (
        base.transform_filter("datum.part == 'item'")
        .mark_circle(color=PALETTE[0], opacity=0.6)
        .encode(
            x=alt.X(
                "mean:Q",
                title=f"mean of judge and people ({unit})",
                scale=alt.Scale(zero=False),
            ),
            y=y,
            size=(
                alt.Size("n:Q", title="items", scale=alt.Scale(range=[20, 600]))
                if points["n"].max() > 1
                else alt.value(30)
            ),
            tooltip=[
                alt.Tooltip("panel:N", title="judge"),
                alt.Tooltip("mean:Q", format=".2f"),
                alt.Tooltip("difference:Q", format="+.2f"),
                alt.Tooltip("n:Q", format=",", title="items"),
            ],
        )
    )
    chart = alt.layer(bias_rule, loa_rule, dots).properties(width=360, height=240)
    title = {
        "text": f"Judge minus people: {paired['dimension'].iloc[0]}",
        "subtitle": "solid: mean difference (bias); dashed: bias +- 1.96 SD; "
        "area: items",
    }
    if points["panel"].nunique() > 1:
        return chart.facet(column=alt.Column("panel:N", title=None)).properties(
            title=title
        )
    return chart.properties(title=title)


def human_ceiling_chart(
    ceiling: pd.DataFrame,
    *,
    statistic: str = "cohen_kappa",
    max_pairs: int = 15,
):
    """The judge's agreement with each person next to people's with each other.

    Parameters
    ----------
    ceiling : pandas.DataFrame
        :func:`llmdrift.calibration.human_ceiling` for one dimension
        (``dimension, comparison, rater_a, rater_b, statistic, value, ci_low,
        ci_high, n_items``).
    statistic : str, default="cohen_kappa"
        Which pairwise statistic to draw ("cohen_kappa" or
        "exact_agreement").
    max_pairs : int, default=15
        With more annotator pairs than this, the single pairs are left out
        and only their mean and the band are drawn.

    Returns
    -------
    altair.Chart
        One row per comparison ("annotator1 vs annotator2", "judge vs
        annotator1", the means, and the all-rater Fleiss kappa and
        Krippendorff alpha of the people alone and with each judge added), a
        dot at the estimate and a line over its interval; the grey band spans the lowest to highest annotator-pair
        value (10th to 90th percentile with more than ``max_pairs`` pairs):
        a judge inside the band agrees with people as well as they agree
        with each other.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"dimension": "q", "comparison": ["annotator pair",
    ...     "judge vs annotator"], "rater_a": ["a1", "gpt"], "rater_b": ["a2", "a1"],
    ...     "statistic": "cohen_kappa", "value": [0.8, 0.6], "ci_low": [0.7, 0.5],
    ...     "ci_high": [0.9, 0.7], "n_items": [100, 100]})
    >>> len(human_ceiling_chart(c).to_dict()["layer"])
    3
    """
    alt = require_altair()
    needed = [
        "dimension",
        "comparison",
        "rater_a",
        "rater_b",
        "statistic",
        "value",
        "ci_low",
        "ci_high",
        "n_items",
    ]
    if not isinstance(ceiling, pd.DataFrame):
        raise TypeError("expected the DataFrame of llmdrift.calibration.human_ceiling")
    missing = [c for c in needed if c not in ceiling.columns]
    if missing:
        raise ValueError(
            f"table has no column(s) {missing}; build it with "
            "llmdrift.calibration.human_ceiling(...)"
        )
    if ceiling["dimension"].nunique() > 1:
        raise ValueError("human_ceiling_chart draws one dimension; filter the table")
    rows = ceiling[ceiling["statistic"] == statistic].copy()
    if rows.empty:
        raise ValueError(
            f"no {statistic!r} rows; statistics present: "
            f"{sorted(ceiling['statistic'].unique())}"
        )
    pairs = rows[rows["comparison"] == "annotator pair"]
    vals = pairs["value"].dropna().to_numpy(float)
    if len(pairs) > max_pairs:
        band = np.percentile(vals, [10, 90]) if len(vals) else [np.nan, np.nan]
        band_text = f"band: 10th-90th percentile of {len(pairs):,} annotator pairs"
        rows = rows[rows["comparison"] != "annotator pair"]
    else:
        band = [vals.min(), vals.max()] if len(vals) else [np.nan, np.nan]
        band_text = "band: lowest to highest annotator pair"
    group = {
        "annotator pair": "people",
        "annotator pairs (mean)": "people",
        "judge vs annotator": "judge",
        "judge vs annotators (mean)": "judge",
    }
    rows = rows[rows["comparison"].isin(group)].copy()
    rows["who"] = rows["comparison"].map(group)
    label = rows["rater_a"].astype(str) + " vs " + rows["rater_b"].astype(str)
    mean = rows["comparison"].str.endswith("(mean)")
    label = label.where(
        ~mean,
        np.where(
            rows["who"] == "people",
            "people (mean of pairs)",
            rows["rater_a"].astype(str) + " vs people (mean)",
        ),
    )
    rows["label"] = label
    rows["mean"] = mean
    # all-rater statistics (Fleiss, Krippendorff) of the people, and of the
    # people with each judge added as one more rater
    whole = ceiling[ceiling["comparison"].isin(["annotators", "annotators + judge"])]
    whole = whole.copy()
    names = {"fleiss_kappa": "Fleiss kappa"} | {
        k: v for k, v in _TITLES.items() if k.startswith("alpha_")
    }
    stat_name = whole["statistic"].map(lambda x: names.get(x, x))
    people = whole["comparison"] == "annotators"
    whole["label"] = np.where(
        people,
        "people: " + stat_name,
        "people + " + whole["rater_a"].astype(str) + ": " + stat_name,
    )
    whole["who"] = np.where(people, "people", "judge")
    whole["mean"] = True
    rows = pd.concat([rows, whole], ignore_index=True)
    order = rows.sort_values(
        ["who", "mean", "comparison"], ascending=[False, True, True], kind="stable"
    )["label"].tolist()
    data = _plain(
        rows[
            [
                "label",
                "who",
                "mean",
                "value",
                "ci_low",
                "ci_high",
                "n_items",
                "comparison",
            ]
        ]
    )
    title = _TITLES.get("kappa" if statistic == "cohen_kappa" else statistic, statistic)
    axis_title = "agreement (pairs: " + title + ")"
    color = alt.Color(
        "who:N",
        title=None,
        scale=alt.Scale(domain=["people", "judge"], range=[PALETTE[2], PALETTE[0]]),
    )
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=360))
    tooltip = [
        "label:N",
        alt.Tooltip("value:Q", format=".3f"),
        alt.Tooltip("ci_low:Q", format=".3f", title="95% low"),
        alt.Tooltip("ci_high:Q", format=".3f", title="95% high"),
        alt.Tooltip("n_items:Q", format=",", title="items"),
    ]
    band_frame = pd.DataFrame({"low": [float(band[0])], "high": [float(band[1])]})
    shade = (
        alt.Chart(band_frame)
        .mark_rect(color="#BBBBBB", opacity=0.35)
        .encode(x="low:Q", x2="high:Q")
    )
    lines = (
        alt.Chart(data)
        .mark_rule(strokeWidth=2)
        .encode(
            x=alt.X("ci_low:Q", title=axis_title),
            x2="ci_high:Q",
            y=y,
            color=color,
            tooltip=tooltip,
        )
    )
    dots = (
        alt.Chart(data)
        .mark_point(filled=True)
        .encode(
            x="value:Q",
            y=y,
            color=color,
            tooltip=tooltip,
            shape=alt.Shape(
                "mean:N",
                title="mean",
                scale=alt.Scale(domain=[False, True], range=["circle", "diamond"]),
                legend=None,
            ),
            size=alt.condition("datum.mean", alt.value(140), alt.value(60)),
        )
    )
    return alt.layer(shade, lines, dots).properties(
        width=380,
        height=alt.Step(18),
        title={
            "text": f"Human ceiling: {ceiling['dimension'].iloc[0]}",
            "subtitle": f"pairs: {title}; all raters: Fleiss and Krippendorff; "
            f"95% intervals; {band_text}",
        },
    )


def note_chart(text: str, *, title: str = "", width: int = 90):
    """A small chart that only says ``text`` (where a chart cannot be drawn).

    The text is wrapped at ``width`` characters.

    Examples
    --------
    >>> note_chart("needs two annotators").to_dict()["mark"]["type"]
    'text'
    """
    import textwrap

    alt = require_altair()
    lines = textwrap.wrap(str(text), width) or [""]
    frame = pd.DataFrame({"text": lines, "line": np.arange(len(lines))})
    return (
        alt.Chart(frame)
        .mark_text(align="left", baseline="middle", fontSize=13, color="#444444")
        .encode(
            text="text:N",
            x=alt.value(5),
            y=alt.Y("line:O", axis=None),
        )
        .properties(
            width=7 * width,
            height=alt.Step(22),
            title=title,
            view=alt.ViewBackground(stroke=None),
        )
    )


# ---------------------------------------------------------------------------
# everything for one dimension and judge


@dataclass
class CalibrationView:
    """Tables and charts of one dimension (and judge) from :func:`calibration_view`.

    Attributes
    ----------
    dimension, judge : str or None
    level : str
        Level of measurement used ("nominal", "ordinal", "interval").
    agreement : pandas.DataFrame
        :func:`llmdrift.agreement` (wide).
    table : pandas.DataFrame
        :func:`agreement_table` of it.
    confusion, paired, ceiling : pandas.DataFrame or None
        :func:`~llmdrift.calibration.confusion_table`,
        :func:`~llmdrift.calibration.paired_scores`,
        :func:`~llmdrift.calibration.human_ceiling` (None when not defined;
        the reason is in ``notes``).
    trust : pandas.DataFrame or None
        :func:`llmdrift.trust_report` (verdict, reason, labels still needed).
    labels_needed : pandas.DataFrame or None
        :func:`llmdrift.labels_needed` for the target interval width.
    charts : dict of str to altair chart
        "agreement", "heatmap", "difference", "ceiling" (a :func:`note_chart`
        saying why, where a chart cannot be drawn).
    notes : dict of str to str
        Why a part is missing.
    """

    dimension: str | None
    judge: str | None
    agreement: pd.DataFrame
    table: pd.DataFrame
    confusion: pd.DataFrame | None = None
    paired: pd.DataFrame | None = None
    ceiling: pd.DataFrame | None = None
    trust: pd.DataFrame | None = None
    labels_needed: pd.DataFrame | None = None
    level: str = "ordinal"
    charts: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)


def _split_by(func, scores, dimension, by, **options):
    """Call ``func`` (trust_report, labels_needed: they take no ``by``) once per
    value of the ``by`` columns of the judge rows, with all human rows."""
    if not by:
        return func(scores, dimension, **options)
    judged = scores[scores["kind"] == "judge"]
    humans = scores[scores["kind"] == "human"]
    frames = []
    for key, part in judged.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        out = func(pd.concat([part, humans]), dimension, **options)
        for offset, (col, value) in enumerate(zip(by, key, strict=True)):
            out.insert(1 + offset, col, value)
        frames.append(out)
    return pd.concat(frames, ignore_index=True)


def _people_only(scores, dimension, scale_arg, level, n_boot, seed):
    """The view of a dimension without judge scores: the human ceiling only."""
    from llmdrift import calibration as cal

    reason = f"{dimension!r} has no judge scores (kind='judge' rows)"
    view = CalibrationView(dimension, None, pd.DataFrame(), pd.DataFrame())
    view.level = level
    for name in ("agreement", "heatmap", "difference", "trust"):
        view.notes[name] = f"no {name}: {reason}"
    try:
        view.ceiling = cal.human_ceiling(
            scores, dimension, scale=scale_arg, level=level, n_boot=n_boot, seed=seed
        )
        view.charts["ceiling"] = human_ceiling_chart(view.ceiling)
    except ValueError as err:
        view.notes["ceiling"] = f"no human ceiling: {err}"
    for name in ("agreement", "heatmap", "difference", "ceiling"):
        if name not in view.charts:
            view.charts[name] = note_chart(view.notes[name])
    view.charts = {k: view.charts[k] for k in sorted(view.charts)}
    return view


def calibration_view(
    scores: pd.DataFrame,
    dimension: str,
    *,
    judge: str | None = None,
    scale: Mapping | None = None,
    labels: Mapping | None = None,
    level: str | None = None,
    by: Sequence[str] = (),
    n_boot: int = 1000,
    seed: int = 0,
    threshold: float = 0.6,
    target_width: float = 0.2,
    trust: bool = True,
) -> CalibrationView:
    """Agreement, confusion, differences, human ceiling and verdict of one dimension.

    Calls :func:`llmdrift.agreement`, ``confusion_table``, ``paired_scores``,
    ``human_ceiling``, :func:`llmdrift.trust_report` and
    :func:`llmdrift.labels_needed` for ``dimension`` (and ``judge``, default
    all judges) and draws the four charts. Parts that are undefined for the
    data (a confusion table of continuous ratings, a human ceiling with one
    annotator, everything but the ceiling when the dimension has no judge
    scores) are None or empty with the reason in ``notes``, and their chart
    is a :func:`note_chart` saying so. The statistics that ``trust_report``
    and ``labels_needed`` use follow ``level``: Cohen's kappa for nominal
    labels, their "auto" choice for ordinal ones, Pearson for interval
    ratings.

    Known shortcoming: with ``by`` columns (a judge that saw each item twice),
    the human ceiling uses only the judge rows of the first ``by`` value
    (e.g. LLMBar's "original" order), because ``human_ceiling`` compares one
    verdict per item and judge.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long scores rows ``span_id, dimension, value, scorer, kind`` with
        ``kind="judge"`` and ``kind="human"`` rows.
    dimension : str
    judge : str, optional
    scale : dict, optional
        ``{dimension: [lowest, ..., highest]}`` (``AnnotatedSet.scale``).
    labels : dict, optional
        ``{dimension: {value: text}}`` for the heatmap axes.
    level : str, optional
        Level of measurement ("nominal", "ordinal", "interval";
        ``AnnotatedSet.level``): picks the statistics shown
        (:data:`STATISTICS_BY_LEVEL`), the Krippendorff alpha of the human
        ceiling and the statistic of the trust verdict (kappa, the default
        of ``trust_report``, Pearson). Default: interval without a scale,
        ordinal for scales of 3+ numbers, else nominal.
    by : list of str, default=()
        Columns splitting the judge rows (LLMBar's ``order``).
    n_boot, seed : int
        Bootstrap resamples and seed of every interval.
    threshold : float, default=0.6
        Least acceptable agreement for the trust verdict.
    target_width : float, default=0.2
        Wanted width of the agreement interval for
        :func:`llmdrift.labels_needed`.
    trust : bool, default=True
        Compute :func:`llmdrift.trust_report` and
        :func:`llmdrift.labels_needed` (simulations; False skips them).

    Returns
    -------
    CalibrationView

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> h = rng.integers(1, 4, 60)
    >>> scores = pd.DataFrame({"span_id": np.tile(np.arange(60), 3),
    ...     "dimension": "q", "value": np.r_[h, h, np.clip(h + 1, 1, 3)],
    ...     "scorer": ["a1"] * 60 + ["a2"] * 60 + ["gpt"] * 60,
    ...     "kind": ["human"] * 120 + ["judge"] * 60})
    >>> view = calibration_view(scores, "q", n_boot=50, trust=False)
    >>> sorted(view.charts), view.notes
    (['agreement', 'ceiling', 'difference', 'heatmap'], {})
    """
    from llmdrift import calibration as cal

    if not isinstance(scores, pd.DataFrame):
        raise TypeError(
            f"calibration_view: scores must be a DataFrame, got {type(scores).__name__}"
        )
    absent = [
        c
        for c in ("span_id", "dimension", "value", "scorer", "kind")
        if c not in scores
    ]
    if absent:
        raise ValueError(
            f"calibration_view: scores lack column(s) {absent}; give long rows "
            "span_id, dimension, value, scorer, kind"
        )
    present = sorted(scores["dimension"].dropna().astype(str).unique())
    if dimension not in present:
        raise ValueError(
            f"calibration_view: dimension {dimension!r} has no scores; dimensions "
            f"present: {present[:20]}"
        )
    if scores.loc[scores["dimension"] == dimension, "value"].isna().all():
        raise ValueError(
            f"calibration_view: every value of dimension {dimension!r} is missing "
            "(all scorers failed?); nothing to compare"
        )
    by = list(by)
    dim_scale = None if scale is None else scale.get(dimension)
    scale_arg = None if dim_scale is None else {dimension: dim_scale}
    if level is None:
        numeric = dim_scale is not None and all(
            isinstance(c, int | float) for c in dim_scale
        )
        level = "ordinal" if numeric and len(dim_scale) >= 3 else "nominal"
        if dim_scale is None:
            level = "interval"
    if level not in STATISTICS_BY_LEVEL:
        raise ValueError(
            f"calibration_view: level must be one of {list(STATISTICS_BY_LEVEL)}, "
            f"got {level!r}"
        )
    stats = STATISTICS_BY_LEVEL[level]
    common = {"judge": judge, "scale": scale_arg, "by": by}
    here = scores[scores["dimension"] == dimension]
    if not (here["kind"] == "judge").any():
        return _people_only(scores, dimension, scale_arg, level, n_boot, seed)
    table = cal.agreement(scores, dimension, n_boot=n_boot, seed=seed, **common)
    shown = [s for s in stats if table[s].notna().any()] or ["exact_agreement"]
    view = CalibrationView(dimension, judge, table, agreement_table(table, shown))
    view.level = level
    view.charts["agreement"] = agreement_chart(table, shown, by=by)

    try:
        view.confusion = cal.confusion_table(scores, dimension, **common)
        view.charts["heatmap"] = confusion_heatmap(
            view.confusion, labels=(labels or {}).get(dimension), by=by
        )
    except ValueError as err:
        view.notes["heatmap"] = f"no confusion table: {err}"

    view.paired = cal.paired_scores(scores, dimension, **common)
    try:
        view.charts["difference"] = difference_chart(
            view.paired, scale=dim_scale, by=by
        )
    except ValueError as err:
        view.notes["difference"] = str(err)

    n_people = scores.loc[
        (scores["kind"] == "human") & (scores["dimension"] == dimension), "scorer"
    ].nunique()
    if n_people < 2:
        view.notes["ceiling"] = (
            f"no human ceiling: {dimension!r} has {n_people} annotator; it needs "
            "two or more people labelling the same items"
        )
    else:
        judged = scores
        if by:  # the ceiling compares one verdict per item: keep the first by-value
            first = scores.loc[scores["kind"] == "judge", by].dropna().drop_duplicates()
            keep = (scores[by] == first.iloc[0]).all(axis=1) | (
                scores["kind"] != "judge"
            )
            judged = scores[keep]
        try:
            view.ceiling = cal.human_ceiling(
                judged,
                dimension,
                judge=judge,
                scale=scale_arg,
                level=level,
                n_boot=n_boot,
                seed=seed,
            )
            view.charts["ceiling"] = human_ceiling_chart(view.ceiling)
        except ValueError as err:
            view.notes["ceiling"] = f"no human ceiling: {err}"

    if trust:
        options = {
            "judge": judge,
            "scale": scale_arg,
            "seed": seed,
            "statistic": _TRUST_STATISTIC[level],
        }
        try:
            view.trust = _split_by(
                cal.trust_report,
                scores,
                dimension,
                by,
                n_boot=n_boot,
                threshold=threshold,
                **options,
            )
            view.labels_needed = _split_by(
                cal.labels_needed,
                scores,
                dimension,
                by,
                target_width=target_width,
                **options,
            )
        except ValueError as err:
            view.notes["trust"] = f"no trust verdict: {err}"

    for name in ("heatmap", "difference", "ceiling"):
        if name not in view.charts:
            view.charts[name] = note_chart(view.notes[name])
    view.charts = {k: view.charts[k] for k in sorted(view.charts)}
    return view
