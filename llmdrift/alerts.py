"""The alert rule table, evaluated over a history of spans and scores.

:func:`default_rules` returns DESIGN.md's rule table as an editable
DataFrame (one row per rule; change a window, threshold or baseline by
editing the cell), and :func:`evaluate_alerts` runs every enabled rule over
the whole history and returns one row per alert.

The rules, stated plainly:

``quality_drop``
    Per intent and score dimension (scores of ``kind``, judge by default),
    hourly windows weighted by how many scores each holds, watched by a
    one-sided CUSUM of the log-likelihood ratio for a drop of ``threshold``
    (5%) of the baseline mean (:func:`drop_monitor`; its threshold from
    Siegmund's approximation, :func:`llmdrift.changepoint.cusum_threshold`,
    for ``arl0`` days between false alarms on one monitor). One more
    monitor sums the evidence of all intents, each against its own baseline,
    so a drop spread thinly over all intents is seen, while a shift of the
    intent mix moves no intent's series and so does not fire this rule.
    After an alarm the monitor re-learns its baseline from the days that
    follow, so one drop gives one alert. The alert reports the mean since
    the estimated start of the drop against the baseline, with a 95%
    interval, and the rule's 7-day mean for comparison.
``prompt_hash_change``
    A switch of prompt-template hash per service and intent
    (:func:`llmdrift.prompts.hash_changes`) that no deployment of the
    service explains (:func:`llmdrift.prompts.unannounced_changes`).
``retrieval_drop``
    Spans of ``span_kind == "retrieval"`` (or any span with a
    ``retrieval_score``), tracked apart from the generation scores: the
    3-day pooled mean retrieval score 10% or more below the mean of the
    ``baseline`` days before it, and significantly so (one-sided z test at
    ``alpha``, with the day-to-day spread of the baseline in the variance).
``hallucination_spike``
    The daily share of ``flagged`` model calls above ``threshold`` (2) times
    its baseline rate, with at least ``min_count`` flagged calls and an exact
    binomial test (:func:`scipy.stats.binomtest`) of
    ``rate <= threshold * baseline`` rejected at ``alpha``.
``cost_per_quality``
    Spend per request divided by the mean score, per intent and week
    (:func:`llmdrift.cost.cost_per_quality`), up ``threshold`` (30%) or more
    on the week before, in weeks with at least ``min_count`` scores.

Examples
--------
>>> rules = default_rules()
>>> rules["rule"].tolist()
['quality_drop', 'prompt_hash_change', 'retrieval_drop', 'hallucination_spike', 'cost_per_quality']
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from llmdrift._args import check_finite_values, check_int, check_unique_rows
from llmdrift.schema import LlmdriftWarning, SchemaError, validate

__all__ = [
    "default_rules",
    "evaluate_alerts",
    "quality_drop_alerts",
    "drop_monitor",
    "ALERT_COLUMNS",
    "RULE_COLUMNS",
]

ALERT_COLUMNS = (
    "rule",
    "time",
    "group",
    "dimension",
    "observed",
    "baseline",
    "change",
    "change_pct",
    "started",
    "evidence",
    "first_action",
)
"""Columns of :func:`evaluate_alerts`' result, in order."""

RULE_COLUMNS = (
    "rule",
    "enabled",
    "signal",
    "fires_when",
    "window",
    "baseline",
    "threshold",
    "min_count",
    "alpha",
    "arl0",
    "by",
    "dimension",
    "kind",
    "first_action",
)
"""Columns of :func:`default_rules`' table, in order."""

_RULES = (
    "quality_drop",
    "prompt_hash_change",
    "retrieval_drop",
    "hallucination_spike",
    "cost_per_quality",
)
_UTC = "datetime64[ns, UTC]"


def default_rules() -> pd.DataFrame:
    """The default alert rule table of DESIGN.md, as an editable frame.

    Returns
    -------
    pandas.DataFrame
        One row per rule, columns :data:`RULE_COLUMNS`:

        - ``rule`` (str): ``quality_drop``, ``prompt_hash_change``,
          ``retrieval_drop``, ``hallucination_spike``, ``cost_per_quality``.
        - ``enabled`` (bool): set False to skip the rule.
        - ``signal``, ``fires_when`` (str): the rule in words.
        - ``window`` (str): the window the rule looks at (``"7D"``: the
          7-day pooled mean reported for a quality drop; ``"2h"``: the
          tolerance between a hash change and a deployment; ``"3D"``,
          ``"1D"``, ``"W"``).
        - ``baseline`` (str): days the baseline is learnt from (``"28D"``).
        - ``threshold`` (float): 0.05 (drop of 5% of the baseline mean),
          NaN, 0.10, 2.0 (times the baseline rate), 0.30 (up 30%).
        - ``min_count`` (int): fewest scores/calls/flags needed.
        - ``alpha`` (float): significance level of the rule's test (NaN for
          the CUSUM rule, which uses ``arl0``).
        - ``arl0`` (float): days between false alarms on one quality series.
        - ``by`` (str): comma-separated group columns.
        - ``dimension`` (str or None): score dimension(s), comma-separated;
          None for all. Only ``quality_drop`` and ``cost_per_quality`` read
          it (and ``kind``).
        - ``kind`` (str or None): score kind(s) used, comma-separated
          (``"judge"``; any of ``heuristic``, ``judge``, ``human``).
        - ``first_action`` (str): what the on-call engineer does first.

    Notes
    -----
    For ``quality_drop`` the ``window`` only sets the rolling mean reported
    beside the alert; detection is the CUSUM of :func:`drop_monitor`.
    Known shortcoming: the quality rule watches drops only, and by default
    only judge scores. A heuristic check where higher is better (e.g.
    ``valid_json``) can be watched by setting ``kind="heuristic"`` and
    ``dimension="valid_json"``; a check where higher is worse (e.g.
    ``looks_like_refusal``) cannot, as there is no upward monitor yet.

    Examples
    --------
    >>> rules = default_rules()
    >>> rules.loc[rules["rule"] == "quality_drop", "threshold"] = 0.10
    >>> float(rules.set_index("rule").loc["quality_drop", "threshold"])
    0.1
    """
    rows = [
        dict(
            rule="quality_drop",
            enabled=True,
            signal="quality drop",
            fires_when="a dimension falls 5% or more below its baseline "
            "(weighted CUSUM on hourly windows within intents; window = days "
            "pooled for the observed mean it reports)",
            window="7D",
            baseline="28D",
            threshold=0.05,
            min_count=30,
            alpha=np.nan,
            arl0=5000.0,
            by="intent",
            dimension=None,
            kind="judge",
            first_action="pull traces from the drop; check the prompt-hash timeline",
        ),
        dict(
            rule="prompt_hash_change",
            enabled=True,
            signal="prompt hash change",
            fires_when="a hash changes outside any deployment",
            window="2h",
            baseline=None,
            threshold=np.nan,
            min_count=1,
            alpha=np.nan,
            arl0=np.nan,
            by="service,intent",
            dimension=None,
            kind=None,
            first_action="confirm intent; watch quality 48 h",
        ),
        dict(
            rule="retrieval_drop",
            enabled=True,
            signal="retrieval drop (RAG)",
            fires_when="retrieval score 10% or more below baseline",
            window="3D",
            baseline="28D",
            threshold=0.10,
            min_count=30,
            alpha=0.001,
            arl0=np.nan,
            by="service",
            dimension=None,
            kind=None,
            first_action="check index freshness and retrieval config",
        ),
        dict(
            rule="hallucination_spike",
            enabled=True,
            signal="hallucination spike",
            fires_when="flagged rate above 2x its baseline (exact binomial test)",
            window="1D",
            baseline="28D",
            threshold=2.0,
            min_count=5,
            alpha=0.001,
            arl0=np.nan,
            by="service",
            dimension=None,
            kind=None,
            first_action="escalate; roll back the latest prompt or model change",
        ),
        dict(
            rule="cost_per_quality",
            enabled=True,
            signal="cost per quality",
            fires_when="spend per quality point up 30% or more",
            window="W",
            baseline="1W",
            threshold=0.30,
            min_count=30,
            alpha=np.nan,
            arl0=np.nan,
            by="intent",
            dimension=None,
            kind="judge",
            first_action="review model choice and context size",
        ),
    ]
    out = pd.DataFrame(rows, columns=list(RULE_COLUMNS))
    return out.astype({"threshold": "float64", "alpha": "float64", "arl0": "float64"})


# ---------------------------------------------------------------------------
# helpers


def _split(value) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _empty(value) -> bool:
    """A cell left empty: None, NaN, <NA> or blank text."""
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _duration(value, name: str, rule: str, unit: str = "D") -> pd.Timedelta:
    """A rule's duration cell (``'28D'``, ``'2h'``) as a Timedelta; an empty
    cell, a bare number (pandas reads 28 as 28 nanoseconds) or other text is
    refused, naming the rule and the column."""
    default = default_rules().set_index("rule").loc[rule, name]
    example = f"'{default}'" if isinstance(default, str) else f"'7{unit}'"
    if _empty(value):
        raise ValueError(
            f"rule {rule!r}: {name} is empty; write a duration such as {example} "
            "(the default)."
        )
    number = isinstance(value, (int, float, np.number)) and not isinstance(
        value, (bool, np.bool_)
    )
    if number or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        whole = float(value)
        shown = f"'{whole:g}{unit}'" if whole > 0 else example
        also = "" if shown == example else f" (the default is {example})"
        raise ValueError(
            f"rule {rule!r}: {name} {value!r} is a number without a unit; write "
            f"{shown} for {'days' if unit == 'D' else 'hours'}{also}."
        )
    try:
        return pd.Timedelta(
            str(value).replace("W", "7D") if str(value) == "1W" else value
        )
    except (ValueError, TypeError):
        raise ValueError(
            f"rule {rule!r}: {name} {value!r} is not a duration; use e.g. {example}."
        ) from None


def _days(value, name: str, rule: str) -> int:
    td = _duration(value, name, rule)
    days = td / pd.Timedelta("1D")
    if days < 1 or days != int(days):
        raise ValueError(
            f"rule {rule!r}: {name} {value!r} must be a whole number of days >= 1."
        )
    return int(days)


def _day_after(stamp, tz, days):
    """Local midnight ``days`` calendar days after the local day of ``stamp``."""
    local = pd.Timestamp(stamp).tz_convert(tz).tz_localize(None).normalize()
    return _utc_day(local + pd.Timedelta(days=days), tz)


def _check_by(rule, by, columns, what="spans") -> None:
    """Refuse group columns of a rule that the data lacks (else dropped silently)."""
    missing = [c for c in by if c not in columns]
    if missing:
        raise SchemaError(
            f"rule {rule['rule']!r}: by {rule['by']!r} names column(s) {missing} "
            f"that the {what} lack; {what} columns: "
            f"{sorted(map(str, columns))[:25]}. "
            "Set the rule's 'by' to columns the data has, or disable the rule."
        )


def _label(keys, values) -> str:
    return ", ".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))


def _alert(rule, **fields) -> dict:
    row = dict.fromkeys(ALERT_COLUMNS)
    row.update(rule=rule["rule"], first_action=rule["first_action"], **fields)
    return row


def _check_spans(spans) -> pd.DataFrame:
    """The span columns every rule needs: ``span_id`` and tz-aware ``start_time``.

    Returns ``spans``, or a copy with ``start_time`` converted to UTC when it
    holds tz-aware times in another zone.
    """
    if not isinstance(spans, pd.DataFrame):
        raise TypeError(
            f"spans must be a pandas DataFrame, got {type(spans).__name__}."
        )
    for column in ("span_id", "start_time"):
        if column not in spans.columns:
            raise SchemaError(
                f"spans frame: missing column {column!r}; present: "
                f"{list(spans.columns)[:12]}; build spans with llmdrift.read_otlp"
                "(paths) or llmdrift.from_table(df, columns={...})."
            )
    return _as_utc(spans, "start_time", "spans")


def _as_utc(frame: pd.DataFrame, column: str, what: str) -> pd.DataFrame:
    """``frame`` with ``column`` in UTC: tz-aware times in another zone are
    converted (on a copy); naive times and non-times are refused."""
    if frame is None or column not in frame.columns:
        return frame
    dtype = frame[column].dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        if str(dtype.tz) == "UTC":
            return frame
        # the same instants, only written in UTC
        return frame.assign(**{column: frame[column].dt.tz_convert("UTC")})
    if pd.api.types.is_datetime64_dtype(dtype):
        raise SchemaError(
            f"{what} frame: column {column!r} holds naive times (no time zone); "
            f"llmdrift does not guess zones. If they are UTC, fix with "
            f"{what}[{column!r}] = {what}[{column!r}].dt.tz_localize('UTC'); if "
            f"they are local times, .dt.tz_localize('<zone>') instead."
        )
    raise SchemaError(
        f"{what} frame: column {column!r} must hold tz-aware times, got dtype "
        f"{dtype}; fix with {what}[{column!r}] = pd.to_datetime({what}"
        f"[{column!r}], utc=True) if the values carry an offset or are UTC."
    )


def _check_deployment_times(deployments: pd.DataFrame) -> None:
    """Refuse a deployment without a time: it could explain no change, and
    leaving it out silently would call its prompt change unannounced."""
    empty = deployments["time"].isna().to_numpy()
    if empty.any():
        i = int(empty.argmax())
        raise SchemaError(
            f"deployments frame: column 'time' is empty (NaT) in {int(empty.sum())} "
            f"row(s), first at row {i} (index {deployments.index[i]!r}); every "
            "deployment needs the time it took effect, tz-aware, e.g. "
            "pd.Timestamp('2026-02-20 06:00', tz='UTC')."
        )


def _check_rules(rules: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(rules, pd.DataFrame):
        raise TypeError(
            f"rules must be a DataFrame like default_rules(), got {type(rules).__name__}."
        )
    missing = [c for c in ("rule", "enabled", "first_action") if c not in rules]
    if missing:
        raise ValueError(
            f"rules frame: missing column(s) {missing}; start from default_rules() "
            "and edit its cells."
        )
    if len(rules) == 0:
        # no rule, no check: an empty result would read as "all is well"
        raise ValueError(
            "rules frame holds no rules (no rows); pass default_rules() or some of "
            "its rows, and set 'enabled' to False to skip a rule."
        )
    unknown = sorted(set(rules["rule"]) - set(_RULES))
    if unknown:
        raise ValueError(
            f"rules frame: unknown rule(s) {unknown}; known rules: {list(_RULES)}."
        )
    # a misspelt column would otherwise leave the default in force, silently
    extra = [c for c in rules.columns if c not in RULE_COLUMNS]
    if extra:
        raise ValueError(
            f"rules frame: unknown column(s) {extra}; a rule table has the "
            f"columns {list(RULE_COLUMNS)}."
        )
    _check_unique_rules(rules)
    defaults = default_rules().set_index("rule")
    out = []
    for _, row in rules.iterrows():
        full = defaults.loc[row["rule"]].to_dict()
        full.update({k: v for k, v in row.items() if k in RULE_COLUMNS})
        full["rule"] = row["rule"]
        if _empty(full["first_action"]):
            # printed under each alert: an empty cell is no action, not <NA>
            full["first_action"] = ""
        _check_rule_values(full)
        out.append(full)
    return pd.DataFrame(out, columns=list(RULE_COLUMNS))


def _check_unique_rules(rules: pd.DataFrame) -> None:
    """One row per rule: a repeated row would fire each of its alerts twice."""
    names = rules["rule"].astype(str)
    repeated = names[names.duplicated(keep=False)]
    if repeated.empty:
        return
    name = repeated.iloc[0]
    rows = [int(i) for i in np.flatnonzero((names == name).to_numpy())]
    same = len(rules[names == name].astype(str).drop_duplicates()) == 1
    how = "identical rows" if same else "rows with different settings"
    raise ValueError(
        f"rules frame: rule {name!r} is given {len(rows)} times ({how}, at rows "
        f"{rows}); each rule fires its alerts once per row, so every alert would "
        "repeat. Keep one row per rule (e.g. rules.drop_duplicates('rule')); to "
        "watch several score dimensions or kinds with one rule, list them "
        "comma-separated in its 'dimension' or 'kind' cell (e.g. "
        "'judge,heuristic')."
    )


# the rules that read the scores frame, and so the 'kind' and 'dimension' cells
_SCORE_RULES = ("quality_drop", "cost_per_quality")
_WATCHES = {
    "prompt_hash_change": "the prompt_hash of the spans",
    "retrieval_drop": "the retrieval_score of the spans",
    "hallucination_spike": "the flagged column of the spans",
}


def _check_rule_scores(rule: dict) -> None:
    """The ``kind`` and ``dimension`` cells: known kinds, and only where read."""
    from llmdrift.schema import SCORE_KINDS

    name = rule["rule"]
    kinds = _split(rule.get("kind"))
    if name not in _SCORE_RULES:
        for column in ("kind", "dimension"):
            if _split(rule.get(column)):
                raise ValueError(
                    f"rule {name!r}: {column} {rule[column]!r} is not used by this "
                    f"rule (it watches {_WATCHES[name]}); leave the cell empty. "
                    f"Only {list(_SCORE_RULES)} read {column}."
                )
        return
    unknown = [k for k in kinds if k not in SCORE_KINDS]
    if unknown:
        raise ValueError(
            f"rule {name!r}: kind {rule['kind']!r} names unknown score kind(s) "
            f"{unknown}; use one or more of {list(SCORE_KINDS)}, comma-separated, "
            "or leave it empty for all kinds."
        )


# the numbers each rule reads, each above 0 and below the given bound
_RULE_NUMBERS = {
    "quality_drop": (("threshold", 1.0), ("arl0", math.inf)),
    "prompt_hash_change": (),
    "retrieval_drop": (("threshold", 1.0), ("alpha", 1.0)),
    "hallucination_spike": (("threshold", math.inf), ("alpha", 1.0)),
    "cost_per_quality": (("threshold", math.inf),),
}
# the cells that hold names (comma-separated), with an example each
_TEXT_CELLS = {
    "kind": "judge,heuristic",
    "dimension": "format,relevance",
    "by": "service,intent",
}
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_RULE_DURATIONS = {
    "quality_drop": ("window", "baseline"),
    "retrieval_drop": ("window", "baseline"),
    "hallucination_spike": ("baseline",),
}


def _check_rule_values(rule: dict) -> None:
    """Refuse values a rule cannot run with, naming the rule and the column."""
    name = rule["rule"]
    enabled = rule["enabled"]
    if not isinstance(enabled, (bool, np.bool_)):
        raise ValueError(
            f"rule {name!r}: enabled must be True or False, got {enabled!r}."
        )
    for column, example in _TEXT_CELLS.items():
        value = rule.get(column)
        names = isinstance(value, (list, tuple)) and all(
            isinstance(v, str) for v in value
        )
        if not (_empty(value) or isinstance(value, str) or names):
            raise ValueError(
                f"rule {name!r}: {column} {value!r} must be text: one name or "
                f"several, comma-separated (e.g. {example!r}), or left empty."
            )
    _check_rule_scores(rule)
    defaults = default_rules().set_index("rule").loc[name]
    for column, high in _RULE_NUMBERS[name]:
        value = rule[column]
        where = "a finite number > 0" if math.isinf(high) else f"in (0, {high:g})"
        if _empty(value):
            raise ValueError(
                f"rule {name!r}: {column} is empty; write a number {where}, e.g. "
                f"the default {defaults[column]:g}."
            )
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(value, (bool, np.bool_)) or not 0 < number < high:
            raise ValueError(f"rule {name!r}: {column} must be {where}, got {value!r}.")
    if name != "prompt_hash_change":
        count = rule["min_count"]
        if _empty(count):
            raise ValueError(
                f"rule {name!r}: min_count is empty; write a whole number >= 0, "
                f"e.g. the default {int(defaults['min_count'])}."
            )
        try:
            whole = float(count) == int(float(count)) and float(count) >= 0
        except (TypeError, ValueError, OverflowError):
            whole = False
        if isinstance(count, (bool, np.bool_)) or not whole:
            raise ValueError(
                f"rule {name!r}: min_count must be a whole number >= 0, got {count!r}."
            )
    else:
        # the tolerance between a hash change and a deployment
        _duration(rule["window"], "window", name, unit="h")
    for column in _RULE_DURATIONS.get(name, ()):
        _days(rule[column], column, name)


# ---------------------------------------------------------------------------
# quality drop

# fewest baseline windows with scores from whose means the spread per score is
# estimated when no window gives a standard deviation (one score per window,
# or a series whose std is NaN); fewer leave the group unwatched ("spread
# unknown") rather than treated as having no spread
_SPREAD_WINDOWS = 10


def _finite(value) -> bool:
    return isinstance(value, (int, float, np.number)) and bool(np.isfinite(value))


def _check_monitor_numbers(*, shift, arl0, min_count, shift_name="shift") -> None:
    """The drop share, false-alarm spacing and minimum count of a monitor."""
    if isinstance(shift, bool) or not (_finite(shift) and 0 < shift < 1):
        raise ValueError(
            f"{shift_name} must lie in (0, 1) (the drop to detect as a share of "
            f"the baseline level, e.g. 0.05), got {shift!r}."
        )
    if isinstance(arl0, bool) or not (_finite(arl0) and arl0 > 0):
        raise ValueError(
            f"arl0 must be a finite number of days > 0 (e.g. 5000), got {arl0!r}."
        )
    check_int("min_count", min_count, 0)


def _pooled_sd(n, std) -> float:
    ok = (n > 1) & np.isfinite(std)
    dof = float(np.sum(n[ok] - 1))
    if dof <= 0:
        return float("nan")
    return math.sqrt(float(np.sum((n[ok] - 1) * std[ok] ** 2)) / dof)


def _baseline_fit(n, mean, std, day, shift, min_count):
    """Level, variance per score and CUSUM allowance of one group's baseline.

    ``n, mean, std, day`` hold the baseline windows. Returns ``(fit, None)``,
    or ``(None, why)`` when the group cannot be watched: ``why`` is a dict
    with ``status`` ("too few scores", "zero level" or "spread unknown") and
    the figures.

    The variance per score is the largest of (a) the within-window variance
    pooled over windows with a known standard deviation, or, when no window
    has one (one score an hour, say, or a series whose ``std`` is NaN), the
    spread of the window means around the level, each weighted by its count,
    from at least ``_SPREAD_WINDOWS`` (10) windows with scores; with fewer the
    spread is unknown, and the group is not watched ("spread unknown") rather
    than taken to have no spread; and (b) the spread of the daily means
    around the level (day-to-day variation beyond sampling noise, as a
    dispersion factor >= 1). A baseline with no spread at all (every score
    equal, e.g. a pass rate of exactly 1.0) would make any dip infinitely
    significant, or, as before, leave the group unwatched; its variance is
    floored at ``shift * (1 - shift) * level**2``: the variance of a score
    taking the values 0 and ``|level|`` at the dropped mean ``|level| * (1 -
    shift)``, the largest any score in ``[0, |level|]`` with that mean can
    have (Bhatia-Davis). For a 0/1 pass rate at 1.0 it is the binomial
    variance ``p (1 - p)`` of the pass rate ``p = 1 - shift`` the rule is to
    detect, so one failing score is weak evidence and a run of them an alarm.
    """
    has = n > 0
    total = float(n.sum())
    need = max(min_count, 2)
    if total < need or not has.any():
        return None, dict(status="too few scores", scores=int(total), needs=need)
    level = float(np.sum(n[has] * mean[has]) / total)
    if level == 0:
        return None, dict(status="zero level")
    s = _pooled_sd(n, std)
    # where the spread comes from: the scores (pooled standard deviations, or
    # window means of one score each) or the means of windows of several
    # scores (their standard deviation unknown)
    from_means = False
    if not np.isfinite(s):
        # no window with a known standard deviation: the spread of the window
        # means, from enough windows; an unknown spread is not a zero spread
        windows = int(has.sum())
        if windows < _SPREAD_WINDOWS:
            return None, dict(
                status="spread unknown",
                windows=windows,
                needs_windows=_SPREAD_WINDOWS,
                several=bool(np.any(n[has] > 1)),
            )
        spread = float(np.sum(n[has] * (mean[has] - level) ** 2))
        s = math.sqrt(spread / (windows - 1))
        from_means = bool(np.any(n[has] > 1))
    # day-to-day spread beyond sampling noise (dispersion factor >= 1)
    frame = pd.DataFrame({"day": day[has], "n": n[has], "nx": n[has] * mean[has]})
    daily = frame.groupby("day").sum()
    days = len(daily)
    var = s * s if np.isfinite(s) else 0.0
    if days > 2:
        dm = daily["nx"] / daily["n"]
        var = max(var, float(np.sum(daily["n"] * (dm - level) ** 2)) / (days - 1))
    phi = var / (s * s) if np.isfinite(s) and s > 0 else math.nan
    floored = not var > 0
    if floored:
        var = shift * (1 - shift) * level * level
    delta = shift * abs(level)
    # allowance of the equivalent standardised CUSUM on these windows, for
    # a window of average count (empty windows included)
    k = delta * math.sqrt(float(np.mean(n))) / (2 * math.sqrt(var))
    se = math.sqrt(var / total)
    fit = dict(
        level=level,
        var=var,
        delta=delta,
        k=k,
        sd=s,
        phi=phi,
        n=total,
        se=se,
        floored=floored,
        from_means=from_means,
        # mean count per baseline window: the traffic level of the threshold
        m=float(np.mean(n)),
    )
    return fit, None


def _thresholds(counts, days, b1, baseline, d, var, base_m, arl0_windows, threshold_of):
    """CUSUM threshold (log-likelihood units) of each window from ``b1`` on.

    For each day, the allowance ``k`` of the equivalent standardised CUSUM is
    computed from each group's mean count per window over the ``baseline``
    days before it, so the threshold follows the traffic volume (a group
    whose share grows gets more information per window, which at a fixed
    threshold would shorten the run between false alarms). That count is
    never taken below ``base_m``, the group's mean count per window in the
    baseline the monitor learnt: after a pause in traffic the days before
    hold no scores, and a threshold from them would be 0, so that one low
    score after the pause would be an alarm. The threshold is therefore
    above 0 whenever the baseline holds scores.
    """
    cum = np.concatenate([np.zeros((len(counts), 1)), np.cumsum(counts, axis=1)], 1)
    out = np.empty(len(days) - b1)
    cache = {}
    for day in np.unique(days[b1:]):
        lo = int(np.searchsorted(days, day - baseline, side="left"))
        hi = int(np.searchsorted(days, day, side="left"))
        m = np.maximum((cum[:, hi] - cum[:, lo]) / max(hi - lo, 1), base_m)
        k = float(np.sqrt(np.sum(d * d * m / (4 * var))))
        # four significant digits: a small k must not round to 0
        key = float(f"{k:.4g}")
        if key not in cache:
            cache[key] = 2 * key * threshold_of(arl0_windows, k=key) if key else 0.0
        sel = slice(
            int(np.searchsorted(days, day, side="left")) - b1,
            int(np.searchsorted(days, day, side="right")) - b1,
        )
        out[sel] = cache[key]
    return out


def drop_monitor(
    n,
    mean,
    std,
    day,
    *,
    shift=0.05,
    baseline=28,
    arl0=5000.0,
    min_count=30,
    margin=1.0,
):
    """Alarms of a re-baselining weighted CUSUM for a relative drop of the level.

    Watches one or several groups (e.g. intents) at once: each group is
    compared with its own baseline, and the evidence for a drop of
    ``shift`` times each group's level is summed over the groups, so the
    result does not move when only the mix of groups changes.

    Parameters
    ----------
    n : array-like of int, shape (groups, windows) or (windows,)
        Scores per window (0 for an empty window).
    mean, std : array-like of float, same shape
        Window mean and sample standard deviation (NaN where undefined).
    day : array-like of int, shape (windows,)
        Calendar day number of each window (e.g. days since the first
        window); windows may be hours or days.
    shift : float, default=0.05
        Drop to detect, as a share of each group's baseline level.
    baseline : int, default=28
        Days the levels and spreads are learnt from, at the start and again
        after each alarm. The first baseline is the first ``baseline`` days
        (from the first window with scores) in which some group holds
        ``min_count`` scores and after which there is a window to watch.
    arl0 : float, default=5000
        Target mean number of days between false alarms for a daily-window
        series (Siegmund's approximation); see Notes.
    min_count : int, default=30
        Fewest baseline scores for a group to be watched.
    margin : float, default=1.0
        The CUSUM compares each group with its baseline level lowered by
        ``margin`` standard errors of that level's estimate, so that a
        baseline that happens to come out high does not make a small group
        (few scores) alarm too often.

    Returns
    -------
    list of dict
        One per alarm: ``index`` (window of the alarm), ``start`` (first
        window of the run that led to it, the CUSUM estimate of when the
        drop began), ``baseline_start`` and ``baseline_end`` (windows),
        ``groups`` (indices of the groups watched), ``level`` (baseline
        level per watched group), ``var`` (their variance per score),
        ``floored`` (per watched group: its baseline had no spread, see
        Notes), ``from_means`` (per watched group: the spread came from the
        means of windows of several scores whose standard deviation was not
        given), ``statistic`` and ``threshold``. No alarm can also mean
        that no group could be watched (too short a history, too few
        scores); :func:`quality_drop_alerts` says which in its status.

    Raises
    ------
    ValueError
        If the shapes disagree, ``shift`` is outside (0, 1), ``arl0`` is not
        a positive finite number, ``baseline`` is not an integer >= 1,
        ``min_count`` not an integer >= 0 or ``margin`` negative.

    Notes
    -----
    For group ``g`` with baseline level ``mu_g``, variance per score
    ``sigma_g**2`` and drop ``d_g = shift * |mu_g|``, window ``i`` adds the
    log-likelihood ratio of "dropped by ``d_g``" against "at baseline"::

        l_i = sum_g d_g n_gi / sigma_g**2 * (mu_g - x_gi - d_g / 2)

    and the CUSUM ``S_i = max(0, S_{i-1} + l_i)`` alarms when ``S_i > H``
    (``mu_g`` less ``margin`` standard errors, see above). Each window
    counts in proportion to its scores, so a day of 12 scores says less than
    a day of 1,200. ``sigma_g**2`` is the pooled within-window variance
    (with windows of one score each, the spread of the window means) times
    a dispersion factor (>= 1) measured from the spread of the baseline's
    daily means, so day-to-day variation beyond sampling noise does not
    cause alarms. A window of several scores whose ``std`` is NaN has an
    unknown spread, not a zero one: without any known standard deviation the
    spread comes from the means of 10 or more baseline windows, and with
    fewer windows that baseline is not used (the group is reported as
    "spread unknown" unless a later baseline serves). A baseline with no spread at all (every score equal, such
    as a pass rate of exactly 1.0) gets ``sigma_g**2 = shift (1 - shift)
    mu_g**2``, the binomial variance of a 0/1 score at the dropped rate
    (scaled to the level; the largest variance a score in ``[0, |mu_g|]``
    with the dropped mean can have), so a drop from a constant level fires
    (a drop of a 1.0 pass rate to 0 with one score an hour within 8 hours)
    while one odd score does not. The threshold: with ``k_g = d_g sqrt(m_g) / (2 sigma_g)``
    (``m_g`` the group's mean count per window over the ``baseline`` days
    before the current day, empty windows included, so the threshold
    follows the traffic volume, but never below its mean count per window
    in the baseline the monitor learnt: after a pause in traffic of
    ``baseline`` days or more the days before hold no scores, and a
    threshold taken from them would be 0, making one low score an alarm),
    ``k = sqrt(sum k_g**2)`` is the allowance
    of the equivalent standardised CUSUM, and ``H = 2 k h`` with ``h =
    cusum_threshold(arl0 * w, k=k)``, ``w`` the windows per day (24 for
    hourly windows), so ``arl0`` stays in days whatever the window length.

    Known shortcomings: Siegmund's approximation assumes equal windows and
    known parameters; with hourly windows of unequal, often small counts and
    a 28-day baseline the realised false-alarm rate differs from ``arl0``
    (the detection benchmark measures it: about 0.3 false alarms a year
    over 7 monitors at 5% judging, 0.8 at 1%, most of them in the first
    weeks after a baseline). The baseline is learnt once
    (and after each alarm), so slow benign drift over months is eventually
    reported as a drop. Windows are weighted by their counts only: a
    day-level quality wobble larger than sampling noise is absorbed by the
    dispersion factor measured at the baseline's volume, not modelled as a
    separate variance term. After traffic falls (or pauses) the threshold
    stays at the baseline's traffic level, so false alarms get rarer and a
    drop takes longer to detect until the next baseline; the baseline is not
    re-learnt after a pause, so a drop across the pause is still compared
    with the level before it. The log-likelihood ratio is Gaussian: for a
    baseline with almost no spread (one failing 0/1 score in a month of
    passes) it overstates what a rare low score says, so one more failure
    can fire; only a baseline with no spread at all gets the binomial floor
    above (a binomial CUSUM for 0/1 scores would model this exactly).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> n = np.full(50, 100)
    >>> level = np.r_[np.full(40, 4.0), np.full(10, 3.6)]
    >>> mean = rng.normal(level, 1 / np.sqrt(n))
    >>> [a["index"] for a in drop_monitor(n, mean, np.ones(50), np.arange(50))]
    [40]
    """
    return _drop_monitor(
        n,
        mean,
        std,
        day,
        shift=shift,
        baseline=baseline,
        arl0=arl0,
        min_count=min_count,
        margin=margin,
    )[0]


def _first_baseline(cum, days, first_day, baseline, need):
    """First day >= ``first_day`` whose ``baseline`` days hold ``need`` scores
    in some group and are followed by a window to watch; None if none."""
    starts = np.unique(days[days >= first_day])
    lo = np.searchsorted(days, starts, side="left")
    hi = np.searchsorted(days, starts + baseline, side="left")
    inside = hi < len(days)
    enough = ((cum[:, hi] - cum[:, lo]) >= need).any(axis=0) & inside
    found = np.flatnonzero(enough)
    return starts[found[0]] if len(found) else None


def _unwatched(counts, cum, days, baseline, need, last_reason):
    """Why a group the monitor never watched could not be watched."""
    has = counts > 0
    if not has.any():
        return dict(status="too few scores", scores=0, needs=need, most=0)
    first, last = int(np.flatnonzero(has)[0]), int(np.flatnonzero(has)[-1])
    span = int(days[last] - days[first]) + 1
    base = dict(first=first, last=last, days=span, needs_days=baseline + 1)
    if span <= baseline:
        return dict(base, status="not enough history")
    starts = np.unique(days[first : last + 1])
    lo = np.searchsorted(days, starts, side="left")
    hi = np.searchsorted(days, starts + baseline, side="left")
    held = cum[hi] - cum[lo]
    # a baseline is usable when a window to watch follows it
    followed = hi < len(days)
    if followed.any() and held[followed].max() >= need:
        # the monitor tried this group's baselines: why each failed, or (with
        # several groups) it learnt its baseline before this group had one
        return dict(base, **(last_reason or dict(status="not watched")))
    enough = np.flatnonzero(held >= need)
    if len(enough):
        # the first baseline days that hold enough scores end the series
        i = enough[0]
        return dict(
            base,
            status="not enough history",
            needs=need,
            baseline_first=int(lo[i]),
            baseline_last=int(hi[i]) - 1,
        )
    most = int(held.max())
    return dict(base, status="too few scores", scores=most, needs=need, most=most)


def _drop_monitor(n, mean, std, day, *, shift, baseline, arl0, min_count, margin):
    """:func:`drop_monitor`'s alarms, and per group None (watched) or why not."""
    from llmdrift.changepoint import cusum_threshold

    counts = np.atleast_2d(np.asarray(n, dtype=np.float64))
    x = np.atleast_2d(np.asarray(mean, dtype=np.float64))
    sd = np.atleast_2d(np.asarray(std, dtype=np.float64))
    days = np.asarray(day)
    if not (counts.shape == x.shape == sd.shape) or counts.shape[1] != len(days):
        raise ValueError(
            f"n, mean and std must have one shape and day one entry per window; "
            f"got {counts.shape}, {x.shape}, {sd.shape} and {days.shape}."
        )
    _check_monitor_numbers(shift=shift, arl0=arl0, min_count=min_count)
    check_int("baseline", baseline, 1)
    if isinstance(margin, bool) or not (_finite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}.")
    counts = np.where(np.isfinite(counts), counts, 0.0)
    x = np.where(counts > 0, x, 0.0)
    need = max(int(min_count), 2)
    cum = np.concatenate([np.zeros((len(counts), 1)), np.cumsum(counts, axis=1)], 1)
    watched = np.zeros(len(counts), dtype=bool)
    reasons = [None] * len(counts)
    alarms = []
    with_scores = counts.sum(axis=0) > 0
    first_day = days[with_scores].min() if with_scores.any() else None
    while first_day is not None:
        # the first baseline that can be learnt: a group that starts late or
        # sparse is watched from the first baseline days holding its scores
        first_day = _first_baseline(cum, days, first_day, baseline, need)
        if first_day is None:
            break
        b0 = int(np.searchsorted(days, first_day, side="left"))
        b1 = int(np.searchsorted(days, first_day + baseline, side="left"))
        fits = {}
        for g in range(len(counts)):
            fit, why = _baseline_fit(
                counts[g, b0:b1],
                x[g, b0:b1],
                sd[g, b0:b1],
                days[b0:b1],
                shift,
                min_count,
            )
            if fit is not None:
                fits[g] = fit
                watched[g] = True
            elif why["status"] != "too few scores":
                reasons[g] = why
        if not fits:
            first_day = first_day + 1
            continue
        gs = list(fits)
        level = np.array([fits[g]["level"] for g in gs])
        var = np.array([fits[g]["var"] for g in gs])
        d = np.array([fits[g]["delta"] for g in gs])
        # compare with the level less `margin` standard errors of its estimate
        ref = level - margin * np.array([fits[g]["se"] for g in gs])
        per_day = (b1 - b0) / max(len(np.unique(days[b0:b1])), 1)
        base_m = np.array([fits[g]["m"] for g in gs])
        big_h = _thresholds(
            counts[gs],
            days,
            b1,
            baseline,
            d,
            var,
            base_m,
            arl0 * per_day,
            cusum_threshold,
        )
        llr = np.sum(
            (d / var)[:, None]
            * counts[gs, b1:]
            * (ref[:, None] - x[gs, b1:] - d[:, None] / 2),
            axis=0,
        )
        s, run_start, hit = 0.0, b1, None
        for j, step in enumerate(llr):
            s = s + step
            if s <= 0:
                s, run_start = 0.0, b1 + j + 1
            elif s > big_h[j]:
                hit = b1 + j
                break
        if hit is None:
            break
        alarms.append(
            dict(
                index=hit,
                start=min(run_start, hit),
                baseline_start=b0,
                baseline_end=b1,
                groups=gs,
                level=level,
                var=var,
                floored=[bool(fits[g]["floored"]) for g in gs],
                from_means=[bool(fits[g]["from_means"]) for g in gs],
                statistic=float(s),
                threshold=float(big_h[hit - b1]),
            )
        )
        if hit + 1 >= len(days):
            break
        first_day = days[hit + 1]
    why_not = [
        None
        if watched[g]
        else _unwatched(counts[g], cum[g], days, baseline, need, reasons[g])
        for g in range(len(counts))
    ]
    return alarms, why_not


def quality_drop_alerts(
    series,
    *,
    group="intent",
    threshold=0.05,
    baseline="28D",
    window="7D",
    arl0=5000.0,
    min_count=30,
    combined=True,
    tz=None,
) -> pd.DataFrame:
    """Quality-drop alarms on a quality series, within groups and combined.

    Parameters
    ----------
    series : pandas.DataFrame
        Series frame (``window_start``, group columns, ``dimension, n, mean,
        std``) from :func:`llmdrift.quality_series`, with windows of a day or
        shorter (hourly windows let an alarm fire within the day). Not
        modified.
    group : str or None, default="intent"
        The column whose groups are watched one by one and together; None
        watches each series as it is. Other non-value columns split the
        series further.
    threshold : float, default=0.05
        Drop to detect, as a share of the baseline level.
    baseline : str, default="28D"
        Days the baseline is learnt from.
    window : str, default="7D"
        Days pooled for the ``observed`` mean that an alert reports.
    arl0, min_count
        As in :func:`drop_monitor`.
    combined : bool, default=True
        Also watch all groups together (their evidence summed; reported as
        group ``"<group>=all"``, observed and baseline at the baseline mix).
    tz : str, optional
        Time zone of the calendar days; ``series.attrs["tz"]`` or UTC.

    Returns
    -------
    pandas.DataFrame
        One row per alarm: ``rule`` ("quality_drop"), ``time`` (end of the
        window that tripped it), ``group``, ``dimension``, ``observed`` (the
        ``window``-day mean), ``baseline``, ``change``, ``change_pct``,
        ``started`` (estimated start of the drop), ``evidence``; sorted by
        time. ``.attrs["status"]`` holds one record per watched series
        (group columns, ``group``, ``dimension``, ``status``, ``detail``,
        ``days``): ``status`` is "watched", "not enough history" (the
        series spans ``baseline`` days or fewer, or the first ``baseline``
        days holding ``min_count`` scores end the series), "too few scores"
        (no ``baseline`` days hold ``min_count`` scores), "zero level",
        "spread unknown" (no window gives a standard deviation and fewer
        than 10 hold scores), or "no group" (windows whose group value is
        missing, e.g. scores whose span was not found: they are left out,
        forming no group of their own); ``detail`` says it in words with the
        figures.

    Raises
    ------
    ValueError
        If ``threshold`` is outside (0, 1), ``arl0`` is not a positive finite
        number, ``min_count`` is not an integer >= 0, ``baseline``/``window``
        are not whole days, or ``group`` is not a column of the series.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> days = pd.date_range("2026-01-01", periods=40, freq="D", tz="UTC")
    >>> level = np.where(np.arange(40) < 35, 4.0, 3.6)
    >>> s = pd.DataFrame({"window_start": days, "intent": "a", "dimension": "format",
    ...     "n": 80, "mean": rng.normal(level, 0.1), "std": 0.9, "sem": 0.1})
    >>> a = quality_drop_alerts(s)
    >>> a["group"].tolist(), str(a["time"].iloc[0].date())
    (['intent=a'], '2026-02-07')
    """
    validate(series, "series")
    _check_monitor_numbers(
        shift=threshold, arl0=arl0, min_count=min_count, shift_name="threshold"
    )
    tz = tz or series.attrs.get("tz", "UTC")
    base = _days(baseline, "baseline", "quality_drop")
    span = _days(window, "window", "quality_drop")
    if group is not None and group not in series.columns:
        raise ValueError(
            f"group column {group!r} is not in the series; present: "
            f"{list(series.columns)}; pass group=None to watch each series."
        )
    known = {"window_start", "window_end", "dimension", "n", "mean", "std", "sem"}
    known |= {"p50", "p95", "n_windows"}
    others = [c for c in series.columns if c not in known and c != group]
    frame = series[series["window_start"].notna()]
    rows, watch = [], []
    # a window with no group value (scores whose span was not found, say)
    # forms no group of its own: it is left out and named in the status
    keys = ([group] if group is not None else []) + others
    if keys:
        no_group = frame[keys].isna().any(axis=1).to_numpy()
        for dim, part in frame[no_group].groupby("dimension", dropna=False):
            lost = int(part["n"].fillna(0).sum())
            if lost == 0:
                continue
            record = dict.fromkeys(others)
            what = " or ".join(keys)
            watch.append(
                dict(
                    record,
                    group=f"{group}=<missing>" if group is not None else "all",
                    dimension=str(dim),
                    status="no group",
                    detail=(
                        f"{lost} scores have no {what} (a missing value); they "
                        "are left out and form no group of their own; give every "
                        f"score its {what} (scores whose span was not found "
                        "have none)"
                    ),
                    days=None,
                )
            )
        frame = frame[~no_group]
    for name, part in frame.groupby(others + ["dimension"], sort=True, dropna=False):
        name = name if isinstance(name, tuple) else (name,)
        label = dict(zip(others + ["dimension"], name, strict=True))
        if group is not None:
            wide = {
                c: part.pivot_table(
                    index=group,
                    columns="window_start",
                    values=c,
                    dropna=False,
                    aggfunc="first",
                    observed=True,
                )
                for c in ("n", "mean", "std")
            }
            wide["n"] = wide["n"].fillna(0)
            names = list(wide["n"].index)
            times = pd.DatetimeIndex(wide["n"].columns).tz_convert("UTC")
        else:
            part = part.sort_values("window_start")
            wide = {c: part[[c]].T for c in ("n", "mean", "std")}
            names = [None]
            times = pd.DatetimeIndex(part["window_start"]).tz_convert("UTC")
        n = wide["n"].to_numpy(np.float64)
        mean = wide["mean"].reindex(columns=wide["n"].columns).to_numpy(np.float64)
        std = wide["std"].reindex(columns=wide["n"].columns).to_numpy(np.float64)
        local = times.tz_convert(tz).tz_localize(None).normalize()
        day = np.asarray((local - local.min()) // pd.Timedelta("1D"), dtype=np.int64)
        monitors = [([g], names[g]) for g in range(len(names))]
        if combined and group is not None and len(names) > 1:
            monitors.append((list(range(len(names))), "all"))
        for members, who in monitors:
            found, why_not = _drop_monitor(
                n[members],
                mean[members],
                std[members],
                day,
                shift=threshold,
                baseline=base,
                arl0=arl0,
                min_count=min_count,
                margin=1.0,
            )
            if len(members) == 1:
                where = f"{group}={who}" if group is not None else "all"
                watch.append(
                    _watch_record(
                        why_not[0], label, where, times, base, min_count, others
                    )
                )
            for alarm in found:
                rows.append(
                    _quality_row(
                        alarm,
                        members,
                        who,
                        n,
                        mean,
                        times,
                        day,
                        tz,
                        label,
                        group,
                        threshold,
                        arl0,
                        base,
                        span,
                    )
                )
    out = pd.DataFrame(rows, columns=["rule"] + others + list(ALERT_COLUMNS[1:-1]))
    for column in ("time", "started"):
        out[column] = pd.to_datetime(out[column], utc=True).astype(_UTC)
    out = out.sort_values("time", kind="stable").reset_index(drop=True)
    # records, not a frame: pandas compares .attrs with == on concat/merge
    out.attrs["status"] = watch
    return out


def _watch_record(why, label, where, times, base, min_count, others) -> dict:
    """One status record of :func:`quality_drop_alerts`: a series watched or
    why not, in words."""
    record = {c: label[c] for c in others}
    record.update(group=where, dimension=str(label["dimension"]))
    if why is None:
        return dict(record, status="watched", detail="", days=None)
    status = why["status"]
    if status == "not enough history" and "baseline_first" in why:
        first, last = times[why["first"]], times[why["last"]]
        b0, b1 = times[why["baseline_first"]], times[why["baseline_last"]]
        detail = (
            f"{why['days']} day(s) of scores ({first:%Y-%m-%d} to {last:%Y-%m-%d}), "
            f"but the first {base} days holding {why['needs']} scores (the rule's "
            f"min_count {min_count}) run from {b0:%Y-%m-%d} to {b1:%Y-%m-%d}, the "
            "end of the series: not enough history after the first usable "
            f"baseline; the rule watches the days after it, so it needs scores "
            f"after {b1:%Y-%m-%d}"
        )
    elif status == "not enough history":
        first, last = times[why["first"]], times[why["last"]]
        detail = (
            f"{why['days']} day(s) of scores ({first:%Y-%m-%d} to {last:%Y-%m-%d}); "
            f"the rule needs at least {why['needs_days']} days ({base} to learn the "
            "baseline, then the days it watches)"
        )
    elif status == "spread unknown":
        detail = (
            "the spread of the scores is unknown: the baseline's windows "
            + (
                "of several scores have no standard deviation (std is NaN)"
                if why["several"]
                else "give no standard deviation"
            )
            + f", and only {why['windows']} window(s) hold scores, too few to "
            f"estimate it from the window means (that needs {why['needs_windows']}); "
            "give the series' std column (quality_series computes it) or more "
            "windows"
        )
    elif status == "not watched":
        detail = (
            "the monitor learnt its baseline before this series held "
            f"{max(min_count, 2)} scores in {base} days, and no alarm made it "
            "learn a new one; watch the series on its own"
        )
    elif status == "too few scores":
        detail = (
            f"at most {why['most']} scores in any {base} days, and learning the "
            f"baseline needs {why['needs']} (the rule's min_count {min_count})"
        )
    else:
        detail = (
            "the baseline mean is 0, and the rule watches drops of a share of "
            "it; watch a dimension whose good value is above 0"
        )
    return dict(record, status=status, detail=detail, days=why.get("days"))


def _quality_row(
    alarm,
    members,
    who,
    n,
    mean,
    times,
    day,
    tz,
    label,
    group,
    threshold,
    arl0,
    base,
    span,
):
    j = alarm["index"]
    # groups the monitor watched (those with enough baseline)
    gs = [members[i] for i in alarm["groups"]]
    b0, b1 = alarm["baseline_start"], alarm["baseline_end"]
    base_n = n[gs, b0:b1].sum(axis=1)
    shares = base_n / base_n.sum()
    step = times[1:] - times[:-1] if len(times) > 1 else pd.TimedeltaIndex(["1D"])
    if step.min() < pd.Timedelta("23h"):
        end = times[j] + step.min()
    else:
        end = _day_after(times[j], tz, 1)
    level, var = alarm["level"], alarm["var"]

    def pooled(mask):
        cn = n[gs][:, mask]
        csum = np.sum(np.where(cn > 0, cn * mean[gs][:, mask], 0.0), axis=1)
        count = cn.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return csum / count, count

    # the level since the estimated start (the new level), at the baseline mix
    since = np.zeros(len(day), dtype=bool)
    since[alarm["start"] : j + 1] = True
    group_new, count_new = pooled(since)
    ok = np.isfinite(group_new)
    p = shares[ok] / shares[ok].sum()
    observed = float(np.sum(p * group_new[ok]))
    target = float(np.sum(p * level[ok]))
    change = observed - target
    se = math.sqrt(
        float(np.sum(p**2 * var[ok] / count_new[ok]))
        + float(np.sum(p**2 * var[ok] / base_n[ok]))
    )
    # the rule's rolling window, for comparison with the simple rule
    recent = (day > day[j] - span) & (day <= day[j])
    recent[j + 1 :] = False
    group_recent, count_recent = pooled(recent)
    okr = np.isfinite(group_recent)
    rolling = float(np.sum(shares[okr] * group_recent[okr]) / np.sum(shares[okr]))
    started = times[alarm["start"]]
    where = f"{group}={who}" if group is not None else "all"
    if group is not None and who == "all":
        mix = f", at the baseline mix of {len(gs)} {group}s"
    else:
        mix = ""
    evidence = (
        f"mean {observed:.3f} over {int(count_new.sum())} scores since "
        f"{started:%Y-%m-%d %H:%M} vs baseline {target:.3f} over "
        f"{int(base_n.sum())} scores in {base} days from {times[b0]:%Y-%m-%d}{mix}; "
        f"change {change:+.3f} (95% CI {change - 1.96 * se:+.3f} to "
        f"{change + 1.96 * se:+.3f}); CUSUM {alarm['statistic']:.1f} > "
        f"{alarm['threshold']:.1f} (log-likelihood ratio for a {threshold:.0%} drop,"
        f" ARL0 {arl0:g} days); {span}-day mean {rolling:.3f}"
    )
    floored = alarm.get("floored", ())
    if any(floored):
        from_means = alarm.get("from_means", [False] * len(floored))
        what = (
            "every window mean equal; the windows gave no standard deviation"
            if any(m for f, m in zip(floored, from_means, strict=True) if f)
            else "every score equal"
        )
        evidence += (
            f"; the baseline held no spread ({what}), so its noise is "
            f"taken as the binomial variance of a {threshold:.0%} drop, "
            f"{threshold:g} x {1 - threshold:g} x level^2"
        )
    return dict(
        rule="quality_drop",
        time=end,
        group=where,
        dimension=str(label["dimension"]),
        observed=observed,
        baseline=target,
        change=change,
        change_pct=change / abs(target) if target else np.nan,
        started=started,
        evidence=evidence,
        **{k: v for k, v in label.items() if k != "dimension"},
    )


def _rule_scores(scores, rule):
    """The scores a rule watches (its kind and dimension cells), or None and why.

    A dimension the scores of that kind do not hold is refused, naming the
    dimensions they do hold.
    """
    kinds = _split(rule["kind"])
    dims = _split(rule["dimension"])
    sc = scores[scores["kind"].isin(kinds)] if kinds else scores
    which = " or ".join(kinds) if kinds else "any"
    if sc.empty:
        held = sorted(map(str, scores["kind"].dropna().unique()))
        return None, f"no {which} scores; the scores hold kinds {held}"
    if sc["value"].isna().all():
        return None, f"every {which} score is missing (NaN)"
    if dims:
        present = sorted(map(str, sc["dimension"].dropna().unique()))
        unknown = [d for d in dims if d not in present]
        if unknown:
            raise ValueError(
                f"rule {rule['rule']!r}: dimension {rule['dimension']!r} names "
                f"{unknown}, which the {which} scores lack; they hold "
                f"{present}. Fix the rule's 'dimension' (comma-separated), or "
                "its 'kind'."
            )
        sc = sc[sc["dimension"].isin(dims)]
    return sc, "ran"


def _group_scores(spans, sc, rule, by):
    """The rule's scores that belong to a group, with their group columns.

    A score whose ``span_id`` matches no span (when a group column comes from
    the spans), or whose group value is missing, would otherwise form a group
    of its own (``intent=nan``) and could fire alerts there. Such scores are
    left out and counted. Returns ``(kept, note, failed)``: ``kept`` the
    scores in a group (with the group columns), ``note`` "" or the count of
    scores left out in words (also warned as a LlmdriftWarning), ``failed``
    the status records of groups x dimensions whose every score is NaN.
    """
    from_spans = [c for c in by if c not in sc.columns]
    frame = sc
    no_span = pd.Series(False, index=sc.index)
    if from_spans:
        lookup = spans.drop_duplicates("span_id").set_index("span_id")[from_spans]
        no_span = ~sc["span_id"].isin(lookup.index) | sc["span_id"].isna()
        joined = lookup.reindex(sc["span_id"].to_numpy())
        frame = sc.assign(**{c: joined[c].to_numpy() for c in from_spans})
    parts, left = [], no_span.copy()
    if no_span.any():
        example = sc.loc[no_span, "span_id"].iloc[0]
        parts.append(
            f"{int(no_span.sum())} match no span (their span_id is not in the "
            f"spans, e.g. {example!r})"
        )
    for column in by:
        empty = frame[column].isna() & ~no_span
        if empty.any():
            parts.append(f"{int(empty.sum())} have no {column} (a missing value)")
            left |= empty
    kept = frame[~left.to_numpy()]
    which = " or ".join(_split(rule["kind"])) or "any"
    note = ""
    if parts:
        note = (
            f"{int(left.sum())} of {len(sc)} {which} scores left out: "
            f"{'; '.join(parts)}; a score joins the group of its span's "
            f"{', '.join(by)}, and these form no group of their own (check that "
            "spans and scores come from the same source)"
        )
        warnings.warn(f"rule {rule['rule']!r}: {note}.", LlmdriftWarning, stacklevel=4)
    failed = []
    if len(kept):
        keys = by + ["dimension"]
        counts = kept.groupby(keys, dropna=False)["value"].agg(["size", "count"])
        for name, row in counts[counts["count"] == 0].iterrows():
            name = name if isinstance(name, tuple) else (name,)
            failed.append(
                dict(
                    where=_label(by, name[:-1]) + (", " if by else "") + str(name[-1]),
                    status="every score failed",
                    detail=(
                        f"all {int(row['size'])} scores are missing (NaN: the "
                        "scorer failed); see the scores' error column"
                    ),
                    days=None,
                )
            )
    return kept, note, failed


def _with_note(state, detail, note):
    """A rule's status and detail, with the scores left out of the groups."""
    if not note:
        return state, detail
    return state, f"{detail}; {note}" if detail else note


def _quality_drop(spans, scores, rule, tz):
    from llmdrift.series import quality_series

    by = _split(rule["by"])
    sc, state = _rule_scores(scores, rule)
    if sc is None:
        return [], state, ""
    _check_by(rule, by, set(spans.columns) | set(scores.columns), "spans and scores")
    sc, note, failed = _group_scores(spans, sc, rule, by)
    if sc["value"].isna().all():
        return [], _no_group_state(rule, sc, note, failed), ""
    sc = sc[sc.columns.intersection(scores.columns)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LlmdriftWarning)
        series = quality_series(spans, sc, freq="h", by=by, tz=tz)
    found = quality_drop_alerts(
        series,
        group=by[-1] if by else None,
        threshold=float(rule["threshold"]),
        baseline=rule["baseline"],
        window=rule["window"],
        arl0=float(rule["arl0"]),
        min_count=int(rule["min_count"]),
        tz=tz,
    )
    watched = []
    for record in found.attrs.get("status", []):
        where = [f"{c}={record[c]}" for c in by[:-1]] + [record["group"]]
        where.append(record["dimension"])
        watched.append(dict(record, where=", ".join(where)))
    named = {r["where"] for r in failed}
    watched = [r for r in watched if r["where"] not in named] + failed
    rows = []
    for _, row in found.iterrows():
        prefix = _label(by[:-1], [row[c] for c in by[:-1]]) if len(by) > 1 else ""
        group = f"{prefix}, {row['group']}" if prefix else row["group"]
        rows.append(
            _alert(
                rule,
                **{c: row[c] for c in ALERT_COLUMNS[1:-1] if c != "group"},
                group=group,
            )
        )
    return (
        rows,
        *_with_note(*_coverage(watched, "series (group x dimension)"), note),
    )


def _no_group_state(rule, kept, note, failed) -> str:
    """The status of a score rule none of whose scores can be watched."""
    which = " or ".join(_split(rule["kind"])) or "any"
    if len(kept) == 0:
        return f"no {which} score belongs to a group: {note}"
    listed = "; ".join(f"{r['where']} ({r['detail']})" for r in failed[:5])
    more = f"; {note}" if note else ""
    return f"every {which} score in a group is missing (NaN): {listed}{more}"


# ---------------------------------------------------------------------------
# prompt hash change


def _prompt_hash_change(spans, deployments, rule):
    from llmdrift.prompts import hash_changes, unannounced_changes

    if "prompt_hash" not in spans.columns or spans["prompt_hash"].isna().all():
        return [], "no prompt_hash in spans", ""
    by = _split(rule["by"]) or ["service"]
    missing = [c for c in by if c not in spans.columns]
    if missing:
        raise SchemaError(
            f"rule 'prompt_hash_change': spans lack group column(s) {missing}; "
            "set the rule's 'by' to columns spans have (e.g. 'service')."
        )
    changes = hash_changes(spans, by=by)
    if changes.empty:
        return [], "ran", ""
    if deployments is None or len(deployments) == 0:
        loose = changes.assign(
            nearest_deployment=pd.NaT, nearest_deployment_gap=pd.NaT, gap=pd.NaT
        )
    elif "service" not in by:
        raise SchemaError(
            "rule 'prompt_hash_change': matching deployments needs 'service' in "
            "the rule's 'by'."
        )
    else:
        loose = unannounced_changes(changes, deployments, tolerance=rule["window"])
    alerts = []
    for _, ch in loose.iterrows():
        nearest = ch["nearest_deployment"]
        where = (
            f"nearest deployment {pd.Timestamp(nearest):%Y-%m-%d %H:%M} UTC"
            if pd.notna(nearest)
            else "no deployment recorded for this service"
        )
        evidence = (
            f"hash {ch['from_hash']} -> {ch['to_hash']} (version "
            f"{ch['from_version']} -> {ch['to_version']}), first seen "
            f"{ch['first_seen']:%Y-%m-%d %H:%M}, majority from "
            f"{ch['time']:%Y-%m-%d %H:%M} UTC, {ch['switch_complete']:.0%} "
            f"switched within 24 h; {where}"
        )
        alerts.append(
            _alert(
                rule,
                time=ch["time"],
                group=_label(by, [ch[c] for c in by]),
                dimension="prompt_hash",
                observed=float(ch["switch_complete"]),
                baseline=np.nan,
                change=np.nan,
                change_pct=np.nan,
                started=ch["first_seen"],
                evidence=evidence,
            )
        )
    return alerts, "ran", ""


# ---------------------------------------------------------------------------
# which groups a rule could watch


def _history_record(where, periods, needs, why, what, unit="day") -> dict:
    """A group is watched when its history holds ``needs`` periods (days or
    weeks, ``periods`` from its first to its last); else why not, in words."""
    given = len(periods)
    if given >= needs:
        return dict(where=where, status="watched", detail="", days=given)
    span = (
        f"{periods[0]:%Y-%m-%d}"
        if given == 1
        else (f"{periods[0]:%Y-%m-%d} to {periods[-1]:%Y-%m-%d}")
    )
    start = "week of " if unit == "week" and given == 1 else ""
    detail = (
        f"{given} {unit}(s) of {what} ({start}{span}); the rule needs at least "
        f"{needs} {unit}s ({why})"
    )
    return dict(where=where, status="not enough history", detail=detail, days=given)


def _coverage(records, what) -> tuple[str, str]:
    """A rule's ``status`` and ``detail`` from the records of its groups.

    Every group watched: "ran". Some not: "ran", with the others named in
    ``detail``. None: the reason as the status ("not enough history: ..."),
    so the rule is reported as not evaluated rather than as quiet.
    """
    missing = [r for r in records if r["status"] != "watched"]
    if not missing:
        return "ran", ""
    listed = "; ".join(
        f"{r['where']} ({r['status']}: {r['detail']})" for r in missing[:5]
    )
    if len(missing) > 5:
        listed += f"; and {len(missing) - 5} more"
    if len(missing) < len(records):
        return "ran", (
            f"not evaluated for {len(missing)} of {len(records)} {what}: {listed}"
        )
    if all(r["status"] == "not enough history" for r in missing):
        longest = max(missing, key=lambda r: r["days"] or 0)
        which = (
            f"{longest['where']} has"
            if len(missing) == 1
            else f"the longest of {len(missing)} {what}, {longest['where']}, has"
        )
        return f"not enough history: {which} {longest['detail']}", ""
    return f"no {what} could be evaluated: {listed}", ""


# ---------------------------------------------------------------------------
# daily counts from spans


def _daily(spans, value, by, tz):
    """Per group x local day: n, sum and sum of squares of ``value``."""
    frame = pd.DataFrame({c: spans[c] for c in by})
    frame["_v"] = value
    local = spans["start_time"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    frame["_day"] = local
    frame = frame[frame["_v"].notna()]
    frame["_v2"] = frame["_v"] ** 2
    agg = frame.groupby(by + ["_day"], dropna=False).agg(
        n=("_v", "size"), s1=("_v", "sum"), s2=("_v2", "sum")
    )
    return agg.reset_index()


def _complete_days(part):
    days = pd.date_range(part["_day"].min(), part["_day"].max(), freq="D")
    full = part.set_index("_day")[["n", "s1", "s2"]].reindex(days, fill_value=0)
    return full


def _utc_day(day, tz):
    return (
        pd.Timestamp(day)
        .tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
        .tz_convert("UTC")
    )


# ---------------------------------------------------------------------------
# retrieval drop


def _retrieval_drop(spans, rule, tz):
    if "retrieval_score" not in spans.columns:
        return [], "no retrieval_score column", ""
    score = pd.to_numeric(spans["retrieval_score"], errors="coerce").astype("float64")
    mask = score.notna()
    if "span_kind" in spans.columns:
        kind = spans["span_kind"].astype("string")
        mask &= kind.isna() | (kind == "retrieval") | score.notna()
    if not mask.any():
        return [], "no retrieval scores", ""
    by = _split(rule["by"])
    _check_by(rule, by, spans.columns)
    window = _days(rule["window"], "window", rule["rule"])
    base = _days(rule["baseline"], "baseline", rule["rule"])
    drop, alpha = float(rule["threshold"]), float(rule["alpha"])
    min_count = int(rule["min_count"])
    daily = _daily(spans[mask], score[mask], by, tz)
    alerts, watched = [], []
    for name, part in daily.groupby(by, dropna=False) if by else [((), daily)]:
        name = name if isinstance(name, tuple) else (name,)
        full = _complete_days(part)
        watched.append(
            _history_record(
                _label(by, name) if by else "all",
                full.index,
                base + window,
                f"a {base}-day baseline, then its {window}-day window",
                "retrieval scores",
            )
        )
        n, s1, s2 = (full[c].to_numpy(np.float64) for c in ("n", "s1", "s2"))
        day_mean = np.where(n > 0, s1 / np.where(n > 0, n, 1), np.nan)
        firing = False
        for end in range(base + window, len(full) + 1):
            w = slice(end - window, end)
            b = slice(end - window - base, end - window)
            nw, nb = n[w].sum(), n[b].sum()
            if nw < min_count or nb < min_count:
                continue
            mw, mb = s1[w].sum() / nw, s1[b].sum() / nb
            var_b = max((s2[b].sum() - nb * mb * mb) / max(nb - 1, 1), 0.0)
            # day-to-day spread of the baseline beyond sampling noise
            ok = n[b] > 0
            dm = day_mean[b][ok]
            extra = 0.0
            if ok.sum() > 2:
                extra = max(
                    float(np.var(dm, ddof=1)) - var_b * float(np.mean(1 / n[b][ok])),
                    0.0,
                )
            se = math.sqrt(var_b / nw + var_b / nb + extra / window + extra / ok.sum())
            rel = (mw - mb) / abs(mb) if mb else np.nan
            p = float(stats.norm.cdf((mw - mb) / se)) if se > 0 else float(mw < mb)
            now = bool(rel <= -drop and p < alpha)
            if now and not firing:
                t_end = _utc_day(full.index[end - 1], tz) + pd.Timedelta("1D")
                alerts.append(
                    _alert(
                        rule,
                        time=t_end,
                        group=_label(by, name) if by else "all",
                        dimension="retrieval_score",
                        observed=mw,
                        baseline=mb,
                        change=mw - mb,
                        change_pct=rel,
                        started=_utc_day(full.index[end - window], tz),
                        evidence=(
                            f"{window}-day mean retrieval score {mw:.3f} over "
                            f"{int(nw)} retrievals vs {mb:.3f} over {int(nb)} in the "
                            f"{base} days before ({rel:+.1%}); one-sided z test "
                            f"p={p:.2g} < {alpha:g}"
                        ),
                    )
                )
            firing = now
    return (alerts, *_coverage(watched, "groups"))


# ---------------------------------------------------------------------------
# hallucination spike


def _hallucination_spike(spans, rule, tz):
    if "flagged" not in spans.columns or spans["flagged"].isna().all():
        return [], "no flagged column", ""
    calls = spans
    if "span_kind" in spans.columns:
        kind = spans["span_kind"].astype("string")
        calls = spans[(kind.isna() | (kind == "llm")).to_numpy(bool)]
    flagged = calls["flagged"].astype("boolean").astype("Float64").astype("float64")
    by = _split(rule["by"])
    _check_by(rule, by, calls.columns)
    base = _days(rule["baseline"], "baseline", rule["rule"])
    ratio, alpha = float(rule["threshold"]), float(rule["alpha"])
    min_count = int(rule["min_count"])
    daily = _daily(calls, flagged, by, tz)
    alerts, watched = [], []
    for name, part in daily.groupby(by, dropna=False) if by else [((), daily)]:
        name = name if isinstance(name, tuple) else (name,)
        full = _complete_days(part)
        watched.append(
            _history_record(
                _label(by, name) if by else "all",
                full.index,
                base + 1,
                f"a {base}-day baseline, then the day it tests",
                "model calls",
            )
        )
        n = full["n"].to_numpy(np.int64)
        k = full["s1"].to_numpy(np.float64).round().astype(np.int64)
        for d in range(base, len(full)):
            nb, kb = int(n[d - base : d].sum()), int(k[d - base : d].sum())
            if n[d] == 0 or nb == 0 or k[d] < min_count:
                continue
            # no flag in the baseline: half a flag, so the rate is not 0
            rate_b = max(kb, 0.5) / nb
            rate = k[d] / n[d]
            null = min(ratio * rate_b, 1.0)
            if rate <= null:
                continue
            p = float(stats.binomtest(int(k[d]), int(n[d]), null, "greater").pvalue)
            if p >= alpha:
                continue
            day = _utc_day(full.index[d], tz)
            alerts.append(
                _alert(
                    rule,
                    time=day + pd.Timedelta("1D"),
                    group=_label(by, name) if by else "all",
                    dimension="flagged",
                    observed=rate,
                    baseline=rate_b,
                    change=rate - rate_b,
                    change_pct=(rate - rate_b) / rate_b,
                    started=day,
                    evidence=(
                        f"{k[d]} of {n[d]} calls flagged ({rate:.2%}) vs {kb} of "
                        f"{nb} ({rate_b:.2%}) in the {base} days before; exact "
                        f"binomial test of rate <= {ratio:g}x baseline: p={p:.2g}"
                    ),
                )
            )
    return (alerts, *_coverage(watched, "groups"))


# ---------------------------------------------------------------------------
# cost per quality


def _cost_per_quality(spans, scores, rule):
    from llmdrift.cost import cost_per_quality

    if "cost_usd" not in spans.columns or spans["cost_usd"].isna().all():
        return [], "no cost_usd in spans", ""
    sc, state = _rule_scores(scores, rule)
    if sc is None:
        return [], state, ""
    dims = _split(rule["dimension"]) or sorted(sc["dimension"].dropna().unique())
    by = _split(rule["by"])
    _check_by(rule, by, spans.columns)
    sc, note, failed = _group_scores(spans, sc, rule, by)
    if sc["value"].isna().all():
        return [], _no_group_state(rule, sc, note, failed), ""
    sc = sc[sc.columns.intersection(scores.columns)]
    threshold, min_count = float(rule["threshold"]), int(rule["min_count"])
    # a week the data ends in is judged on the days it has, at the data's end
    # (an alert dated after the last span could not have been raised)
    data_end = spans["start_time"].max() if "start_time" in spans.columns else None
    alerts, watched = [], []
    for dim in dims:
        part = sc[(sc["dimension"] == dim) & sc["value"].notna()]
        if part.empty:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LlmdriftWarning)
            table = cost_per_quality(
                spans, part, by=by, freq="W", dimension=dim, alert_change=threshold
            )
        table = table.sort_values(by + ["window_start"])
        for name, weeks in table.groupby(by, dropna=False) if by else [((), table)]:
            name = name if isinstance(name, tuple) else (name,)
            where = (_label(by, name) + ", " if by else "") + str(dim)
            watched.append(
                _history_record(
                    where,
                    pd.DatetimeIndex(weeks["window_start"]),
                    2,
                    "a week and the week before",
                    "scores",
                    unit="week",
                )
            )
        prev_n = (
            table.groupby(by, dropna=False)["n_scores"].shift(1)
            if by
            else (table["n_scores"].shift(1))
        )
        hit = table["alert"] & (table["n_scores"] >= min_count) & (prev_n >= min_count)
        for i, row in table[hit].iterrows():
            start = row["window_start"]
            cur, prev = (
                row["cost_per_quality_usd"],
                row["previous_cost_per_quality_usd"],
            )
            end = start + pd.Timedelta("7D")
            partial = pd.notna(data_end) and data_end < end
            alerts.append(
                _alert(
                    rule,
                    time=data_end if partial else end,
                    group=_label(by, [row[c] for c in by]) if by else "all",
                    dimension=dim,
                    observed=cur,
                    baseline=prev,
                    change=cur - prev,
                    change_pct=row["change_pct"],
                    started=start,
                    evidence=(
                        f"week of {start:%Y-%m-%d}: ${row['cost_per_request_usd']:.5f} "
                        f"per request / mean {dim} {row['quality']:.3f} "
                        f"({int(row['n_scores'])} scores) = ${cur:.6f} per point vs "
                        f"${prev:.6f} the week before ({row['change_pct']:+.0%}; "
                        f"{int(prev_n[i])} scores)"
                        + (
                            f"; a partial week, the data end {data_end:%Y-%m-%d %H:%M}"
                            if partial
                            else ""
                        )
                    ),
                )
            )
    watched += failed
    return (
        alerts,
        *_with_note(*_coverage(watched, "series (group x dimension)"), note),
    )


# ---------------------------------------------------------------------------
# public


def evaluate_alerts(
    spans, scores, deployments=None, rules=None, *, tz="UTC"
) -> pd.DataFrame:
    """Evaluate the alert rules over a history; one row per alert.

    Parameters
    ----------
    spans : pandas.DataFrame
        Spans frame: ``span_id``, ``start_time`` and the columns the rules
        read (``intent``, ``service``, ``prompt_hash``, ``prompt_version``,
        ``flagged``, ``retrieval_score``, ``span_kind``, ``cost_usd``); a
        rule whose columns are absent is skipped and says so in
        ``.attrs["status"]``. Not modified.
    scores : pandas.DataFrame
        Scores frame (``span_id, time, dimension, value, scorer, kind``).
        Not modified.
    deployments : pandas.DataFrame, optional
        Deployments (``time, service``); without it every prompt-hash change
        is unannounced.
    rules : pandas.DataFrame, optional
        A rule table like :func:`default_rules` (edited or a subset of its
        rows); :func:`default_rules` when omitted.
    tz : str, default="UTC"
        Time zone whose calendar days make the daily windows.

    Returns
    -------
    pandas.DataFrame
        One row per alert, sorted by ``time``, columns :data:`ALERT_COLUMNS`:

        - ``rule`` (str), ``time`` (datetime64[ns, UTC]: when the alert
          could have fired, the end of the window that tripped it)
        - ``group`` (str, e.g. ``"intent=classify_ticket"``), ``dimension``
        - ``observed``, ``baseline``, ``change`` (observed - baseline),
          ``change_pct`` (change / baseline): float, NaN where not
          applicable (a hash change has no level)
        - ``started`` (datetime64[ns, UTC]): estimated start of the change
        - ``evidence`` (str): the test and figures the alert rests on
        - ``first_action`` (str): from the rule table

        ``.attrs["status"]`` holds records ``rule, status, n_alerts,
        detail`` (``pd.DataFrame(alerts.attrs["status"])`` makes them a
        frame). ``status`` is "ran", "disabled", or why the rule could not
        be evaluated: the data lack its columns (``"no flagged column"``),
        or the history is shorter than the rule needs (``"not enough
        history: intent=a, format has 10 day(s) of scores (...); the rule
        needs at least 29 days (...)"``: ``quality_drop`` needs its baseline
        days and one more, ``retrieval_drop`` baseline plus window,
        ``hallucination_spike`` baseline plus one day, ``cost_per_quality``
        two weeks), or no group holds enough scores. When the rule ran but
        some groups could not be watched, ``detail`` names them and why
        (a group whose every score is NaN: "every score failed"). Scores
        of ``quality_drop`` and ``cost_per_quality`` whose ``span_id``
        matches no span, or whose group value is missing, form no group of
        their own: they are left out, and ``detail`` (or the status, when
        no score is left) says how many and why. It is "" otherwise.

    Raises
    ------
    SchemaError
        If spans or scores miss a needed column or have naive times (tz-aware
        times in another zone are converted to UTC), a deployment has no
        time, or a rule's ``by`` names a column the data lacks.
    ValueError
        For a malformed rule table (no rows, an unknown rule or column, a value out of
        range or empty, a duration without its unit (``28`` for ``"28D"``), a
        ``kind``/``dimension``/``by`` that is not text, a rule given twice, an unknown score ``kind``, ``kind`` or
        ``dimension`` set on a rule that does not read scores, a
        ``dimension`` the scores of that kind lack: the message names the
        rule and the column), an unknown ``tz``, or infinite
        values in scores ``value`` (a failed scorer is NaN, not inf), or
        scores that repeat a (span_id, dimension, scorer, kind) row.

    Warns
    -----
    LlmdriftWarning
        When scores of a score rule are left out because their ``span_id``
        matches no span or their group value is missing (with the counts).

    Notes
    -----
    Known shortcomings: a quality drop's size is the mean from the
    estimated start of the drop up to the alarm, so it is measured on few
    hours of data, diluted when the start estimate falls before the change
    or during a rollout, and its 95% interval is conditional on the alarm
    (too narrow for drops near the detection limit). Alerts are evaluated
    on the whole history in one pass; the times are when each alert would
    have fired, not when this function ran.

    Examples
    --------
    >>> from llmdrift.datasets.demo import load_demo
    >>> demo = load_demo(days=30, requests_per_day=200)
    >>> alerts = evaluate_alerts(demo.spans, demo.scores, demo.deployments)
    >>> list(alerts.columns)[:4], len(alerts)
    (['rule', 'time', 'group', 'dimension'], 0)
    """
    from llmdrift.series import check_tz

    table = _check_rules(default_rules() if rules is None else rules)
    tz = check_tz(tz)
    spans = _check_spans(spans)
    validate(scores, "scores")
    scores = _as_utc(scores, "time", "scores")
    # an infinite score would reach the CUSUM and the cost ratio unnoticed
    check_finite_values(scores, "value", "scores")
    # a score given twice would count twice in every mean and count
    check_unique_rows(scores, ["span_id", "dimension", "scorer", "kind"], "scores")
    if deployments is not None:
        validate(deployments, "deployments")
        deployments = _as_utc(deployments, "time", "deployments")
        _check_deployment_times(deployments)
    rows, status = [], []
    for _, rule in table.iterrows():
        if not bool(rule["enabled"]):
            status.append(
                dict(rule=rule["rule"], status="disabled", n_alerts=0, detail="")
            )
            continue
        name = rule["rule"]
        if name == "quality_drop":
            found, state, detail = _quality_drop(spans, scores, rule, tz)
        elif name == "prompt_hash_change":
            found, state, detail = _prompt_hash_change(spans, deployments, rule)
        elif name == "retrieval_drop":
            found, state, detail = _retrieval_drop(spans, rule, tz)
        elif name == "hallucination_spike":
            found, state, detail = _hallucination_spike(spans, rule, tz)
        else:
            found, state, detail = _cost_per_quality(spans, scores, rule)
        rows.extend(found)
        status.append(dict(rule=name, status=state, n_alerts=len(found), detail=detail))
    out = pd.DataFrame(rows, columns=list(ALERT_COLUMNS))
    for column in ("time", "started"):
        out[column] = pd.to_datetime(out[column], utc=True).astype(_UTC)
    for column in ("observed", "baseline", "change", "change_pct"):
        out[column] = out[column].astype("float64")
    for column in ("rule", "group", "dimension", "evidence", "first_action"):
        out[column] = out[column].astype("string")
    out = out.sort_values(["time", "rule", "group"], kind="stable").reset_index(
        drop=True
    )
    # records, not a frame: pandas compares .attrs with == on concat/merge
    out.attrs["status"] = pd.DataFrame(
        status, columns=["rule", "status", "n_alerts", "detail"]
    ).to_dict("records")
    return out
