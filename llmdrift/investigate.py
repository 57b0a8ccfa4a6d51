"""An incident: when quality dropped, whether infrastructure moved, and why.

:func:`investigate` composes the rest of llmdrift into the answer an on-call
engineer needs: the quality changes per dimension and group (from
:func:`llmdrift.quality_series` and :func:`llmdrift.changepoints`), the drop
that matters, the infrastructure metrics over the same windows with a test of
whether each moved, the candidate causes ranked by how close in time they are
and how well they explain *where* the drop happened, and a few traces from
before and after to read. :class:`Incident` holds all of it and writes the
paragraph for the incident channel (:meth:`Incident.summary`).

How causes are scored
---------------------
Every candidate cause gets ``score = time_score * locality``:

``time_score``
    1 when the cause falls within one window (``freq``) of the detected change
    time, decaying as ``exp(-gap / window)`` for causes earlier than that, and 0
    for causes later than one window after the change (they cannot explain it).
``locality``
    For prompt-hash, response-model and deployment causes: 0 unless the cause
    reaches the group where the drop was detected; otherwise the geometric mean
    of ``coverage`` (the share of all within-group drop in that dimension, score
    weighted, that falls in the groups the cause reaches) and ``specificity``
    (the mean drop over the groups the cause reaches, relative to the drop of
    the affected group, capped at 1). A template change of one intent that
    dropped scores near 1; a service-wide deployment when one of six intents
    dropped scores about ``sqrt(1/6)`` at best. For the intent-mix cause:
    the share of the change in the overall mean that the mix part of the
    decomposition explains (0 when the overall mean did not fall).
"""

from __future__ import annotations

import logging
import math
import re
import sys as _sys
import types as _types
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import stats

from llmdrift import schema
from llmdrift._args import (
    check_finite_values,
    check_int,
    check_probability,
    check_unique_rows,
)

__all__ = [
    "CAUSE_KINDS",
    "Incident",
    "infrastructure_tests",
    "investigate",
    "load_source",
    "mix_decomposition",
    "model_changes",
]

logger = logging.getLogger(__name__)

CAUSE_KINDS = ("prompt_hash", "response_model", "deployment", "intent_mix")
"""Values of ``Incident.causes.kind``."""

_ACTIONS = {
    "prompt_hash": (
        "diff the two template versions ({from_} -> {to}) and roll the template "
        "back if the change was not meant to alter {dimension}"
    ),
    "response_model": (
        "pin the request to the previous snapshot {from_} if the provider still "
        "serves it, then re-test the prompt on {to}"
    ),
    "deployment": "diff deployment {to} of {service} and roll it back",
    "intent_mix": (
        "no rollback: the traffic moved between intents; watch per-intent quality"
    ),
}

_INFRA_METRICS = (
    ("latency_p50_ms", "ms", "Mann-Whitney U on per-request duration_ms"),
    ("latency_p95_ms", "ms", "Fisher exact on the share above the before-p95"),
    ("error_rate", "share", "Fisher exact on error counts"),
    ("cost_per_request_usd", "USD", "Mann-Whitney U on per-request cost_usd"),
)


# --------------------------------------------------------------------------
# small helpers


_TIME_FORMS = (
    "a tz-aware time: an ISO string with an offset such as '2026-01-20T00:00Z' "
    "or '2026-01-20 06:00+01:00', pd.Timestamp('2026-01-20', tz='UTC'), or a "
    "datetime with tzinfo"
)


# a date with a zone and no clock time, e.g. '2026-01-05Z' or '2026-01-05+01:00'
_ZONED_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})\s*([Zz]|[+-]\d{2}(?::?\d{2})?)")


def _midnight(text: str) -> str:
    """ISO text of a date with a zone as that date's midnight in the zone.

    pandas and :meth:`datetime.fromisoformat` refuse ``'2026-01-05Z'``, and
    read ``'2026-01-05+01:00'`` as 01:00 with no zone; other text is returned
    as it is.

    Examples
    --------
    >>> _midnight("2026-01-05Z"), _midnight("2026-01-05-05:00")
    ('2026-01-05T00:00Z', '2026-01-05T00:00-05:00')
    >>> _midnight("2026-01-05T06:00Z")
    '2026-01-05T06:00Z'
    """
    found = _ZONED_DATE.fullmatch(text.strip())
    return f"{found[1]}T00:00{found[2]}" if found else text


def _utc(value, name: str) -> pd.Timestamp | None:
    """A tz-aware UTC timestamp, or None; naive or unreadable input raises.

    Words such as ``"now"`` and ``"yesterday"`` are refused, naming the
    argument and the accepted forms (pandas reads "now" as a naive local
    time and fails on "yesterday" with its own parser error).

    Examples
    --------
    >>> str(_utc("2026-01-20T06:00+01:00", "start"))
    '2026-01-20 05:00:00+00:00'
    >>> str(_utc("2026-01-05Z", "start"))
    '2026-01-05 00:00:00+00:00'
    >>> _utc("yesterday", "start")
    Traceback (most recent call last):
    ...
    ValueError: start='yesterday' is not a time; give a tz-aware time: an ISO string with an offset such as '2026-01-20T00:00Z' or '2026-01-20 06:00+01:00', pd.Timestamp('2026-01-20', tz='UTC'), or a datetime with tzinfo.
    """
    if value is None:
        return None
    relative = ("now", "today", "yesterday", "tomorrow")
    if isinstance(value, str) and value.strip().lower() in relative:
        stamp = None
    elif isinstance(value, (bool, int, float, np.number)):
        stamp = None  # a bare number: epoch seconds? nanoseconds? not guessed
    else:
        try:
            stamp = pd.Timestamp(_midnight(value) if isinstance(value, str) else value)
        except (ValueError, TypeError, OverflowError):
            stamp = None
    if stamp is None or stamp is pd.NaT:
        raise ValueError(f"{name}={value!r} is not a time; give {_TIME_FORMS}.")
    if stamp.tzinfo is None:
        raise ValueError(
            f"{name}={value!r} has no time zone; llmdrift does not guess zones. "
            f"Give it in UTC, e.g. {name}='{stamp.isoformat()}Z' or "
            f"pd.Timestamp({str(value)!r}, tz='UTC')."
        )
    return stamp.tz_convert("UTC")


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _window_delta(freq: str) -> pd.Timedelta:
    """Length of one ``freq`` window (calendar offsets measured from 2000-01-03)."""
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (ValueError, TypeError):
        offset = None
    anchor = pd.Timestamp("2000-01-03", tz="UTC")
    length = None if offset is None else (anchor + offset) - anchor
    if length is None or length <= pd.Timedelta(0):
        raise ValueError(
            f"freq={freq!r} is not a window length; use a pandas frequency "
            "such as 'D' (daily), 'h' (hourly) or 'W' (weekly)."
        )
    return length


def _duration(value, name: str, example: str) -> pd.Timedelta:
    """A positive duration from text or a Timedelta; errors name the argument."""
    try:
        length = pd.Timedelta(value)
    except (ValueError, TypeError):
        length = None
    if length is None or pd.isna(length) or length <= pd.Timedelta(0):
        raise ValueError(
            f"{name}={value!r} is not a positive duration; give one such as "
            f"{name}={example!r} or pd.Timedelta(days=14)."
        )
    return length


def _check_numbers(
    *, threshold, alpha, false_alarm_rate, penalty, min_size, n_traces, seed
) -> None:
    """Refuse numeric arguments of :func:`investigate` out of their range."""
    _check_infra_numbers(threshold=threshold, alpha=alpha)
    check_probability("false_alarm_rate", false_alarm_rate)
    if penalty is not None and not _nonnegative(penalty):
        raise ValueError(
            f"penalty must be None or a finite number >= 0, got {penalty!r}."
        )
    check_int("min_size", min_size, 1)
    check_int("n_traces", n_traces, 1)
    check_int("seed", seed, 0)


def _nonnegative(value) -> bool:
    """A finite real number >= 0 (booleans are not numbers here)."""
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float, np.number))
        and bool(np.isfinite(value))
        and value >= 0
    )


def _check_infra_numbers(*, threshold, alpha, error_floor=0.0) -> None:
    check_probability("alpha", alpha)
    if not _nonnegative(threshold):
        raise ValueError(
            f"threshold must be a finite number >= 0 (the relative change beyond "
            f"which a metric moved, e.g. 0.10 for 10%), got {threshold!r}."
        )
    if not _nonnegative(error_floor):
        raise ValueError(
            f"error_floor must be a finite number >= 0 (e.g. 0.005), got "
            f"{error_floor!r}."
        )


def _check_scores(scores: pd.DataFrame) -> None:
    """Refuse infinite values and scores given twice: both bias every mean."""
    check_finite_values(scores, "value", "scores")
    # a judge score and a human label of one request share span_id and may
    # share a scorer name: kind tells them apart
    check_unique_rows(scores, ["span_id", "dimension", "scorer", "kind"], "scores")


def _present(values: pd.Series) -> list[str]:
    return sorted(str(v) for v in values.dropna().unique())


def _check_names(spans, scores, keys, *, dimension, intent, service, kind) -> None:
    """Names asked for must exist in the data, or the search finds nothing."""
    if kind is not None and kind not in schema.SCORE_KINDS:
        raise ValueError(
            f"kind={kind!r} is not a score kind; use one of {schema.SCORE_KINDS}."
        )
    if kind is not None:
        kinds = _present(scores["kind"])
        if kind not in kinds:
            raise ValueError(
                f"kind={kind!r}: the scores hold no {kind} scores; kinds present: "
                f"{kinds}."
            )
    if dimension is not None:
        dims = _present(scores["dimension"])
        if str(dimension) not in dims:
            raise ValueError(
                f"dimension={dimension!r} has no scores; dimensions present: {dims}."
            )
    for name, value in (("intent", intent), ("service", service)):
        if value is None:
            continue
        frame = spans if name in spans.columns else scores
        if name not in frame.columns:
            raise ValueError(
                f"{name}={value!r}: neither spans nor scores have a {name!r} column."
            )
        present = _present(frame[name])
        if str(value) not in present:
            raise ValueError(
                f"{name}={value!r} is not in the data; {name}s present: "
                f"{present[:20]}{' ...' if len(present) > 20 else ''}."
            )
        if name == "intent" and name not in keys:
            raise ValueError(
                f"intent={value!r} needs 'intent' among the group columns; "
                f"by={list(keys)} does not hold it (e.g. by='intent')."
            )


def _model_calls(spans: pd.DataFrame) -> pd.DataFrame:
    """Only model-call spans (``span_kind`` 'llm' or not given)."""
    if "span_kind" not in spans.columns:
        return spans
    kind = spans["span_kind"]
    return spans[kind.isna() | (kind == "llm")]


def _in_range(frame: pd.DataFrame, column: str, start, end) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    if start is not None:
        mask &= frame[column] >= start
    if end is not None:
        mask &= frame[column] < end
    return frame[mask]


def _fmt(value: float, unit: str = "") -> str:
    """Human figure: 2 decimals for scores, units for ms, USD and shares."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit == "ms":
        return f"{value:,.0f} ms"
    if unit == "USD":
        return f"${value:.5f}"
    if unit == "share":
        return f"{100 * value:.1f}%"
    return f"{value:.2f}"


def _signed(value: float, spec: str = "+.2f") -> str:
    """``value`` in format ``spec`` with its sign, but a value that rounds to
    zero prints as plain zero ("0%", "0.00"), never "-0%" or "+0.00"."""
    text = format(value, spec)
    zero = format(0.0, spec.replace("+", ""))
    return zero if text.lstrip("+-") == zero else text


def _fmt_time(stamp: pd.Timestamp) -> str:
    if stamp.hour == 0 and stamp.minute == 0:
        return stamp.strftime("%Y-%m-%d") + " UTC"
    return stamp.strftime("%Y-%m-%d %H:%M") + " UTC"


def _group_label(row, keys: tuple[str, ...]) -> str:
    parts = [f"{k} {row[k]}" for k in keys if k in row and not pd.isna(row[k])]
    return ", ".join(parts) if parts else "all traffic"


# --------------------------------------------------------------------------
# pooled statistics over windows of a series


def _pool(series: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Pool window rows into one mean, std and count per ``keys`` group.

    The pooled variance is exact for the scores behind the windows:
    ``sum((n_i - 1) s_i^2 + n_i (m_i - M)^2) / (N - 1)``.
    """
    cols = [*keys, "n", "mean", "std", "sem"]
    rows = series[series["n"] > 0]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    n = rows["n"].astype(float)
    std = rows["std"].astype(float).fillna(0.0)
    work = pd.DataFrame(
        {
            **{k: rows[k] for k in keys},
            "_n": n,
            "_sum": n * rows["mean"].astype(float),
            "_ss": (n - 1) * std**2 + n * rows["mean"].astype(float) ** 2,
        }
    )
    if keys:
        agg = work.groupby(keys, dropna=False, observed=True)[["_n", "_sum", "_ss"]]
        agg = agg.sum().reset_index()
    else:
        agg = work[["_n", "_sum", "_ss"]].sum().to_frame().T
    mean = agg["_sum"] / agg["_n"]
    var = (agg["_ss"] - agg["_n"] * mean**2) / (agg["_n"] - 1)
    var = var.where(agg["_n"] > 1).clip(lower=0.0)
    out = agg[list(keys)].copy()
    out["n"] = agg["_n"].astype("int64")
    out["mean"] = mean.astype(float)
    out["std"] = np.sqrt(var.astype(float))
    out["sem"] = out["std"] / np.sqrt(out["n"])
    return out.reset_index(drop=True)


def _before_after(
    series: pd.DataFrame, keys: list[str], before: tuple, after: tuple
) -> pd.DataFrame:
    """Per group: pooled mean before and after, the change and its 95% interval."""
    start = series["window_start"]
    b = _pool(series[(start >= before[0]) & (start < before[1])], keys)
    a = _pool(series[(start >= after[0]) & (start < after[1])], keys)
    b = b.rename(columns={c: f"{c}_before" for c in ("n", "mean", "std", "sem")})
    a = a.rename(columns={c: f"{c}_after" for c in ("n", "mean", "std", "sem")})
    if keys:
        out = b.merge(a, on=keys, how="outer")
    else:
        out = pd.concat([b, a], axis=1)
    for col in ("n_before", "n_after"):
        out[col] = out[col].fillna(0).astype("int64")
    out["change"] = out["mean_after"] - out["mean_before"]
    se = np.sqrt(out["sem_before"] ** 2 + out["sem_after"] ** 2)
    out["ci_low"] = out["change"] - 1.959964 * se
    out["ci_high"] = out["change"] + 1.959964 * se
    return out


def mix_decomposition(deltas: pd.DataFrame) -> dict:
    """Split a change in an overall mean into within-group and mix parts.

    Parameters
    ----------
    deltas : pandas.DataFrame
        One row per group with ``n_before``, ``n_after`` (counts, the weights),
        ``mean_before`` and ``mean_after``.

    Returns
    -------
    dict
        ``overall_before``, ``overall_after``, ``total`` (after - before),
        ``within`` (the part due to quality changing inside groups) and ``mix``
        (the part due to the groups' shares changing); ``within + mix == total``.

    Notes
    -----
    The symmetric (Shapley) split: ``within = sum((m_a - m_b) * (w_a + w_b) / 2)``
    and ``mix = sum((w_a - w_b) * (m_a + m_b) / 2)`` over groups, with ``w`` the
    share of counts. A group seen on one side only contributes to the mix part
    with its one known mean.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"n_before": [50, 50], "n_after": [20, 80],
    ...                   "mean_before": [4.0, 2.0], "mean_after": [4.0, 2.0]})
    >>> parts = mix_decomposition(d)
    >>> round(parts["total"], 2), round(parts["within"], 2), round(parts["mix"], 2)
    (-0.6, 0.0, -0.6)
    """
    n_b = deltas["n_before"].astype(float).fillna(0.0)
    n_a = deltas["n_after"].astype(float).fillna(0.0)
    if n_b.sum() == 0 or n_a.sum() == 0:
        nan = float("nan")
        return dict(
            overall_before=nan, overall_after=nan, total=nan, within=nan, mix=nan
        )
    w_b, w_a = n_b / n_b.sum(), n_a / n_a.sum()
    m_b = deltas["mean_before"].astype(float)
    m_a = deltas["mean_after"].astype(float)
    m_b, m_a = m_b.fillna(m_a), m_a.fillna(m_b)
    within = float(((m_a - m_b) * (w_a + w_b) / 2).sum())
    mix = float(((w_a - w_b) * (m_a + m_b) / 2).sum())
    before = float((w_b * m_b).sum())
    after = float((w_a * m_a).sum())
    return dict(
        overall_before=before,
        overall_after=after,
        total=after - before,
        within=within,
        mix=mix,
    )


# --------------------------------------------------------------------------
# response-model changes


def model_changes(
    spans: pd.DataFrame,
    *,
    by=("service", "request_model"),
    freq: str = "h",
    min_windows: int = 3,
) -> pd.DataFrame:
    """Changes of the answering model under an unchanged request model.

    A provider can move an alias (``gpt-4``) to a new snapshot with no change on
    the caller's side; the spans show it as a new ``response_model`` under the
    same ``request_model``. Per group, each ``freq`` window gets its majority
    response model; a change is a new majority that holds for at least
    ``min_windows`` windows with traffic (so canaries and stray replies do not
    count as flapping changes).

    Parameters
    ----------
    spans : pandas.DataFrame
        Spans frame; needs ``start_time``, ``response_model`` and the ``by``
        columns. Only model-call spans with a response model are read.
    by : sequence of str, default=("service", "request_model")
        Columns whose value stays fixed while the answering model moves.
    freq : str, default="h"
        Window length for the majority vote.
    min_windows : int, default=3
        Shortest run of windows a new majority must hold to count.

    Returns
    -------
    pandas.DataFrame
        One row per change: *by, ``from_model``, ``to_model``, ``time`` (start
        of the first window where the new model is the majority, UTC),
        ``first_seen`` (first reply of the new model since the previous
        model's run began: canaries show here), ``switch_complete``
        (share of the group's replies from the new model after ``time``, up to
        the next change), ``n_after`` (replies in that stretch).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.date_range("2024-01-01", periods=10, freq="h", tz="UTC")
    >>> spans = pd.DataFrame({"start_time": t, "service": "api",
    ...     "request_model": "gpt-4", "response_model": ["m-0314"] * 5 + ["m-0613"] * 5})
    >>> out = model_changes(spans)
    >>> out[["from_model", "to_model"]].iloc[0].tolist(), str(out["time"].iloc[0])
    (['m-0314', 'm-0613'], '2024-01-01 05:00:00+00:00')
    """
    by = list(_as_tuple(by))
    needed = ["start_time", "response_model", *by]
    missing = [c for c in needed if c not in spans.columns]
    if missing:
        raise schema.SchemaError(
            f"model_changes: spans frame lacks column(s) {missing}; "
            "read spans with llmdrift.read_otlp or llmdrift.from_table."
        )
    cols = [
        *by,
        "from_model",
        "to_model",
        "time",
        "first_seen",
        "switch_complete",
        "n_after",
    ]
    calls = _model_calls(spans)
    calls = calls.loc[calls["response_model"].notna(), needed]
    if calls.empty:
        return pd.DataFrame(columns=cols)
    calls = calls.assign(_window=calls["start_time"].dt.floor(freq))

    rows = []
    groups = calls.groupby(by, dropna=False, observed=True) if by else [((), calls)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        counts = part.groupby(["_window", "response_model"], observed=True).size()
        counts = counts.reset_index(name="count").sort_values(
            ["_window", "count", "response_model"], ascending=[True, False, True]
        )
        majority = counts.drop_duplicates("_window")[["_window", "response_model"]]
        majority = majority.reset_index(drop=True)
        # run-length encode the majority, then drop runs too short to count
        models = majority["response_model"].astype(object).to_numpy()
        new_run = np.ones(len(models), dtype=bool)
        new_run[1:] = models[1:] != models[:-1]
        majority["run"] = np.cumsum(new_run)
        runs = majority.groupby("run").agg(
            model=("response_model", "first"),
            start=("_window", "first"),
            length=("_window", "size"),
        )
        runs = runs[runs["length"] >= min_windows]
        kept = runs["model"].astype(object).to_numpy()
        fresh = np.ones(len(kept), dtype=bool)
        fresh[1:] = kept[1:] != kept[:-1]
        runs = runs[fresh].reset_index(drop=True)
        for i in range(1, len(runs)):
            new, old, time = (
                runs.at[i, "model"],
                runs.at[i - 1, "model"],
                runs.at[i, "start"],
            )
            stop = runs.at[i + 1, "start"] if i + 1 < len(runs) else None
            seg = part[part["start_time"] >= time]
            if stop is not None:
                seg = seg[seg["start_time"] < stop]
            first = part.loc[
                (part["response_model"] == new)
                & (part["start_time"] >= runs.at[i - 1, "start"]),
                "start_time",
            ].min()
            rows.append(
                {
                    **dict(zip(by, key, strict=True)),
                    "from_model": old,
                    "to_model": new,
                    "time": time,
                    "first_seen": first,
                    "switch_complete": float((seg["response_model"] == new).mean()),
                    "n_after": len(seg),
                }
            )
    out = pd.DataFrame(rows, columns=cols)
    for col in ("from_model", "to_model", *by):
        out[col] = out[col].astype("string")
    return out.sort_values("time", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------
# infrastructure


def infrastructure_tests(
    spans: pd.DataFrame,
    time,
    *,
    window="14D",
    threshold: float = 0.10,
    alpha: float = 0.01,
    error_floor: float = 0.005,
) -> pd.DataFrame:
    """Did latency, errors or cost move across ``time``?

    Compares the model-call spans in ``[time - window, time)`` with those in
    ``[time, time + window)``, metric by metric, with a size rule and a test:
    a metric ``moved`` when its relative change exceeds ``threshold`` (error
    rate: its absolute change exceeds ``max(threshold * before, error_floor)``)
    *and* the test's p-value is below ``alpha``; it is ``flat`` when the change
    is within the threshold, and ``unclear`` when the change is large but the
    test is not significant (too few requests).

    Parameters
    ----------
    spans : pandas.DataFrame
        Spans frame (already restricted to the scope of interest); reads
        ``start_time``, ``duration_ms``, ``status`` and ``cost_usd``.
    time : timestamp
        The change time (tz-aware).
    window : str or Timedelta or None, default="14D"
        Length of each side; None uses all spans on each side.
    threshold : float, default=0.10
        Relative change that counts as a move (10%).
    alpha : float, default=0.01
        Significance level of each test.
    error_floor : float, default=0.005
        Smallest absolute change of the error rate that counts (0.5 points).

    Returns
    -------
    pandas.DataFrame
        One row per metric (``latency_p50_ms``, ``latency_p95_ms``,
        ``error_rate``, ``cost_per_request_usd``): ``metric``, ``unit``,
        ``before``, ``after``, ``change``, ``relative_change``, ``threshold``
        (the size rule, in words), ``test``, ``p_value``, ``n_before``,
        ``n_after``, ``status`` ("moved", "flat", "unclear" or "no data").

    Raises
    ------
    ValueError
        If ``time`` is naive or None, ``window`` is not a positive duration,
        ``alpha`` lies outside (0, 1), or ``threshold``/``error_floor`` are
        negative or not finite.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> t = pd.date_range("2024-01-01", periods=400, freq="h", tz="UTC")
    >>> spans = pd.DataFrame({"start_time": t,
    ...     "duration_ms": rng.normal(800, 50, 400), "status": "ok",
    ...     "cost_usd": 0.002})
    >>> out = infrastructure_tests(spans, t[200], window="7D")
    >>> out.set_index("metric")["status"].tolist()
    ['flat', 'flat', 'flat', 'flat']
    """
    time = _utc(time, "time")
    if time is None:
        raise ValueError("time must be the change time (tz-aware), not None.")
    span = None if window is None else _duration(window, "window", "14D")
    _check_infra_numbers(threshold=threshold, alpha=alpha, error_floor=error_floor)
    calls = _model_calls(spans)
    lo = calls["start_time"] >= (time - span) if span is not None else True
    hi = calls["start_time"] < (time + span) if span is not None else True
    before = calls[lo & (calls["start_time"] < time)]
    after = calls[hi & (calls["start_time"] >= time)]

    rows = []
    for metric, unit, test in _INFRA_METRICS:
        row = dict(
            metric=metric,
            unit=unit,
            test=test,
            before=np.nan,
            after=np.nan,
            p_value=np.nan,
            n_before=0,
            n_after=0,
        )
        if metric.startswith("latency"):
            xb = before["duration_ms"].dropna().to_numpy(float)
            xa = after["duration_ms"].dropna().to_numpy(float)
        elif metric == "error_rate":
            if "status" in calls.columns:
                xb = (before["status"].astype("string") == "error").to_numpy(float)
                xa = (after["status"].astype("string") == "error").to_numpy(float)
            else:
                xb = xa = np.array([])
        else:
            if "cost_usd" in calls.columns:
                xb = before["cost_usd"].dropna().to_numpy(float)
                xa = after["cost_usd"].dropna().to_numpy(float)
            else:
                xb = xa = np.array([])
        row["n_before"], row["n_after"] = len(xb), len(xa)
        if len(xb) < 2 or len(xa) < 2:
            row.update(
                status="no data",
                change=np.nan,
                relative_change=np.nan,
                threshold=f"|relative change| <= {threshold:.0%}",
            )
            rows.append(row)
            continue
        if metric == "latency_p50_ms":
            b, a = float(np.median(xb)), float(np.median(xa))
            p = stats.mannwhitneyu(xb, xa, method="asymptotic").pvalue
        elif metric == "latency_p95_ms":
            b, a = float(np.quantile(xb, 0.95)), float(np.quantile(xa, 0.95))
            table = [
                [int((xb > b).sum()), int((xb <= b).sum())],
                [int((xa > b).sum()), int((xa <= b).sum())],
            ]
            p = stats.fisher_exact(table).pvalue
        elif metric == "error_rate":
            b, a = float(xb.mean()), float(xa.mean())
            table = [
                [int(xb.sum()), int(len(xb) - xb.sum())],
                [int(xa.sum()), int(len(xa) - xa.sum())],
            ]
            p = stats.fisher_exact(table).pvalue
        else:
            b, a = float(xb.mean()), float(xa.mean())
            p = stats.mannwhitneyu(xb, xa, method="asymptotic").pvalue
        change = a - b
        relative = change / b if b != 0 else (0.0 if change == 0 else np.inf)
        if metric == "error_rate":
            limit = max(threshold * b, error_floor)
            big = abs(change) > limit
            rule = f"|change| <= max({threshold:.0%} of before, {error_floor:.1%})"
        else:
            big = abs(relative) > threshold
            rule = f"|relative change| <= {threshold:.0%}"
        p = float(p) if not np.isnan(p) else 1.0
        status = "flat" if not big else ("moved" if p < alpha else "unclear")
        row.update(
            before=b,
            after=a,
            change=change,
            relative_change=relative,
            threshold=rule,
            p_value=p,
            status=status,
        )
        rows.append(row)
    cols = [
        "metric",
        "unit",
        "before",
        "after",
        "change",
        "relative_change",
        "threshold",
        "test",
        "p_value",
        "n_before",
        "n_after",
        "status",
    ]
    return pd.DataFrame(rows)[cols]


# --------------------------------------------------------------------------
# the incident


@dataclass
class Incident:
    """Everything :func:`investigate` found, with the paragraph to paste.

    Attributes
    ----------
    drop : dict or None
        The drop that matters (the most significant negative change, largest
        effect size first): group columns, ``dimension``, ``time``,
        ``mean_before``, ``mean_after``, ``change``, ``ci_low``, ``ci_high``,
        ``n_before``, ``n_after``. None when no quality drop was found, or
        when the data are too few to tell (see ``verdict``).
    verdict : str
        ``"drop"``; ``"no drop"`` (the series searched hold enough windows
        and none dropped); or ``"too little data"``: no series searched for
        the drop holds the ``2 * min_size`` windows with scores that a
        change needs, so "no drop" could not be told from "cannot tell".
    searched : pandas.DataFrame
        Every group x dimension series searched for a change: group columns,
        ``dimension``, ``status`` ("change", "no_change" or
        "insufficient_data"), ``n_windows`` (windows with scores),
        ``n_scores``, ``windows_needed`` (``2 * min_size``) and ``for_drop``
        (whether the drop was looked for there: the ``dimension``,
        ``intent`` and ``service`` asked for, and no measure dimension).
    changes : pandas.DataFrame
        Every detected within-group change (rises too), from
        :func:`llmdrift.changepoints`, plus ``se``, ``z`` and ``effect_size``
        (change over the pooled standard deviation of the scores), and for
        a change merged from several steps ``n_steps``, ``first_step`` and
        ``onset`` (the first window already off the old level).
    overall : pandas.DataFrame
        Changes of the overall (all-intent) mean per dimension with the
        ``within`` and ``mix`` parts of :func:`mix_decomposition` and a
        ``classification``: "quality" when a within-group change of the same
        dimension sits within one window, "mix shift" when the mix part
        dominates, else "unexplained".
    series : pandas.DataFrame
        The quality series (:func:`llmdrift.quality_series`) by group.
    groups : pandas.DataFrame
        Per group, the drop dimension before and after the change (pooled
        means, counts, change and interval): the evidence for ``locality``.
    infrastructure : pandas.DataFrame
        :func:`infrastructure_tests` for the affected group (``scope`` =
        "affected group") and its whole service (``scope`` = "service").
    infrastructure_series : pandas.DataFrame
        :func:`llmdrift.series.span_series` per window for the same groups.
    service_series : pandas.DataFrame or None
        :func:`llmdrift.series.span_series` per window and service (exact
        quantiles over the whole service, not a mix of group quantiles).
    score_kinds : dict
        Dimension -> the score kind ("heuristic", "judge" or "human") its
        series and changes use.
    alerts : pandas.DataFrame or None
        The alerts of :func:`llmdrift.evaluate_alerts` over the same spans
        and scores with its default rules (one row per alert: ``rule``,
        ``time``, ``group``, ``dimension``, ``observed``, ``baseline``,
        ``change``, ``evidence``, ``first_action``); None when they were not
        asked for or could not be computed (the reason is logged as a
        warning).
    causes : pandas.DataFrame
        Candidate causes, best first: ``rank``, ``kind`` (one of
        :data:`CAUSE_KINDS`), ``description``, ``time``, ``service``,
        ``intent``, ``announced``, ``gap_hours`` (cause time minus change
        time), ``time_score``, ``reaches_affected``, ``coverage``,
        ``specificity``, ``locality``, ``score``, ``from_value``, ``to_value``,
        ``action``.
    traces : pandas.DataFrame
        Requests to read: ``side`` ("before"/"after"), ``span_id``,
        ``trace_id``, ``time``, ``dimension``, ``value``, ``input_text``,
        ``output_text``.
    prompt_changes, response_model_changes, deployments : pandas.DataFrame
        The change events considered.
    """

    drop: dict | None
    changes: pd.DataFrame
    overall: pd.DataFrame
    series: pd.DataFrame
    groups: pd.DataFrame
    infrastructure: pd.DataFrame
    infrastructure_series: pd.DataFrame
    causes: pd.DataFrame
    traces: pd.DataFrame
    prompt_changes: pd.DataFrame
    response_model_changes: pd.DataFrame
    deployments: pd.DataFrame
    group_keys: tuple[str, ...]
    freq: str
    window: pd.Timedelta | None
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    mix: dict = field(default_factory=dict)
    threshold: float = 0.10
    service_series: pd.DataFrame | None = None
    alerts: pd.DataFrame | None = None
    score_kinds: dict = field(default_factory=dict)
    verdict: str = ""
    searched: pd.DataFrame = field(default_factory=pd.DataFrame)
    spans: pd.DataFrame | None = field(default=None, repr=False)
    scores: pd.DataFrame | None = field(default=None, repr=False)
    contents: pd.DataFrame | None = field(default=None, repr=False)

    # -- derived tables ------------------------------------------------------

    def to_html(self, path, *, include_contents: bool = False):
        """Write the shareable incident report (one self-contained HTML file).

        Delegates to :func:`llmdrift.report.incident_report`; trace contents
        are redacted unless ``include_contents`` is true.
        """
        from llmdrift.report import incident_report

        return incident_report(self, path, include_contents=include_contents)

    @property
    def top_cause(self) -> dict | None:
        """The best-ranked cause as a dict, or None."""
        if self.causes.empty:
            return None
        return self.causes.iloc[0].to_dict()

    def periods(self) -> tuple[tuple, tuple] | None:
        """``((before_start, change_time), (change_time, after_end))``."""
        if self.drop is None:
            return None
        return _periods(self.drop["time"], self.window, self.series)

    def focus(self, dimension=None, intent=None, service=None) -> dict:
        """The group and dimension a chart should show by default.

        Missing arguments are taken from the drop (or, with no drop, from the
        first group and dimension of the series).

        Returns
        -------
        dict
            ``dimension`` plus one entry per group column.
        """
        base = dict(self.drop) if self.drop is not None else {}
        if not base and not self.series.empty:
            base = self.series.iloc[0].to_dict()
        out = {"dimension": dimension or base.get("dimension")}
        for key in self.group_keys:
            given = {"intent": intent, "service": service}.get(key)
            out[key] = given if given is not None else base.get(key)
        return out

    def events(self, *, service=None, intent=None, dimension=None) -> pd.DataFrame:
        """The changes to mark on a time axis for one group.

        Parameters
        ----------
        service, intent : str, optional
            The group; prompt changes are kept for this intent only and
            deployments and model changes for this service only. None keeps
            all.
        dimension : str, optional
            Detected quality changes are kept for this dimension only.

        Returns
        -------
        pandas.DataFrame
            ``time`` (UTC), ``kind`` ("detected change", "prompt change",
            "model change", "deployment"), ``label`` (short text for the
            axis), ``announced`` (boolean, <NA> for detected changes),
            ``primary`` (bool: the drop itself or the top cause), sorted by
            time.
        """
        rows = []
        top = self.top_cause
        changes = self.changes
        if dimension is not None and not changes.empty:
            changes = changes[changes["dimension"] == dimension]
        for key, value in (("service", service), ("intent", intent)):
            if value is not None and key in changes.columns:
                changes = changes[changes[key] == value]
        for _, c in changes.iterrows():
            primary = (
                self.drop is not None
                and all(
                    c.get(k) == self.drop.get(k)
                    for k in (*self.group_keys, "dimension")
                )
                and c["time"] == self.drop["time"]
            )
            rows.append(
                dict(
                    time=c["time"],
                    kind="detected change",
                    label=f"{c['dimension']} {_signed(c['change'])}",
                    announced=pd.NA,
                    primary=bool(primary),
                )
            )
        prompt = self.prompt_changes
        for key, value in (("service", service), ("intent", intent)):
            if value is not None and key in prompt.columns:
                prompt = prompt[prompt[key] == value]
        for _, c in prompt.iterrows():
            flag = "" if c["announced"] else " (unannounced)"
            rows.append(
                dict(
                    time=c["time"],
                    kind="prompt change",
                    label=f"prompt {str(c['from_hash'])[:6]}->"
                    f"{str(c['to_hash'])[:6]}{flag}",
                    announced=bool(c["announced"]),
                    primary=_is_top(top, "prompt_hash", c["time"]),
                )
            )
        models = self.response_model_changes
        if service is not None and "service" in models.columns:
            models = models[models["service"] == service]
        for _, c in models.iterrows():
            rows.append(
                dict(
                    time=c["time"],
                    kind="model change",
                    label=f"model {c['from_model']}->{c['to_model']}",
                    announced=bool(c["announced"]),
                    primary=_is_top(top, "response_model", c["time"]),
                )
            )
        deps = self.deployments
        if service is not None:
            deps = deps[deps["service"] == service]
        for _, c in deps.iterrows():
            rows.append(
                dict(
                    time=c["time"],
                    kind="deployment",
                    label=f"deploy {c.get('version')}",
                    announced=True,
                    primary=_is_top(top, "deployment", c["time"]),
                )
            )
        out = pd.DataFrame(
            rows, columns=["time", "kind", "label", "announced", "primary"]
        )
        out["announced"] = out["announced"].astype("boolean")
        out["primary"] = out["primary"].astype(bool)
        for col in ("kind", "label"):
            out[col] = out[col].astype("string")
        if not out.empty:
            out["time"] = pd.to_datetime(out["time"], utc=True)
        return out.sort_values("time", kind="stable").reset_index(drop=True)

    def prompt_timeline(self, **options) -> pd.DataFrame:
        """:func:`llmdrift.hash_timeline` of the incident's spans, by group."""
        from llmdrift.prompts import hash_timeline

        by = [c for c in ("service", "intent") if c in self.spans.columns]
        return hash_timeline(self._window_spans(), by=by, **options)

    def prompt_impact(self, *, window="48h", **options) -> pd.DataFrame:
        """:func:`llmdrift.change_impact` of every prompt change found.

        One row per change and dimension with the before/after means, the
        difference and its interval, the test, and whether the change was
        announced (by the incident's deployments).
        """
        from llmdrift.prompts import change_impact

        changes = self.prompt_changes.drop(columns="announced", errors="ignore")
        by = [c for c in ("service", "intent") if c in changes.columns]
        return change_impact(
            changes,
            self._window_spans(),
            self.scores,
            window=window,
            deployments=self.deployments,
            by=by,
            **options,
        )

    def _window_spans(self) -> pd.DataFrame:
        return _in_range(self.spans, "start_time", self.start, self.end)

    def figures(self) -> pd.DataFrame:
        """Headline figures of the affected group, as a person reads them.

        Returns
        -------
        pandas.DataFrame
            One row per quality dimension of the affected group and per
            infrastructure metric: ``section`` ("quality" or
            "infrastructure"), ``name``, ``before``, ``after``, ``change``,
            ``ci_low``, ``ci_high`` (quality only), ``n_before``, ``n_after``,
            ``status`` (quality: "drop", "rise" or "no change" by whether the
            interval excludes 0; infrastructure: the test's status). Quality
            means pool every score of the group on each side of the change
            within ``window``.
        """
        cols = [
            "section",
            "name",
            "before",
            "after",
            "change",
            "ci_low",
            "ci_high",
            "n_before",
            "n_after",
            "status",
        ]
        if self.drop is None:
            return pd.DataFrame(columns=cols)
        before, after = self.periods()
        own = self.series
        for key in self.group_keys:
            own = own[own[key] == self.drop[key]]
        quality = _before_after(own, ["dimension"], before, after)
        quality = quality[(quality["n_before"] > 0) & (quality["n_after"] > 0)]
        status = np.where(
            quality["ci_high"] < 0,
            "drop",
            np.where(quality["ci_low"] > 0, "rise", "no change"),
        )
        quality = pd.DataFrame(
            {
                "section": "quality",
                "name": quality["dimension"].astype(str),
                "before": quality["mean_before"],
                "after": quality["mean_after"],
                "change": quality["change"],
                "ci_low": quality["ci_low"],
                "ci_high": quality["ci_high"],
                "n_before": quality["n_before"],
                "n_after": quality["n_after"],
                "status": status,
            }
        )
        infra = self.infrastructure[self.infrastructure["scope"] == "affected group"]
        infra = pd.DataFrame(
            {
                "section": "infrastructure",
                "name": infra["metric"],
                "before": infra["before"],
                "after": infra["after"],
                "change": infra["change"],
                "ci_low": np.nan,
                "ci_high": np.nan,
                "n_before": infra["n_before"],
                "n_after": infra["n_after"],
                "status": infra["status"],
            }
        )
        out = pd.concat([quality, infra], ignore_index=True)
        return out[cols]

    # -- the paragraph -------------------------------------------------------

    def summary(self) -> str:
        """A plain-text paragraph for the incident channel.

        It says when quality dropped, in which dimension and group and by how
        much (with the 95% interval), whether latency, errors and cost moved
        (with their figures), the top cause with its evidence, whether a
        shift in the intent mix moved the overall mean, and what to do first.
        """
        span = ""
        if self.start is not None or self.end is not None:
            span = (
                f" between {_fmt_time(self.start) if self.start else 'the start'}"
                f" and {_fmt_time(self.end) if self.end else 'the end'}"
            )
        if self.drop is None:
            if self.verdict == "too little data":
                return self._too_little_sentence(span)
            text = f"No quality drop found{span}." + self._partly_sentence()
            mixes = self._mix_sentence()
            return text + (" " + mixes if mixes else "")
        d = self.drop
        where = _group_label(d, self.group_keys)
        steps = ""
        onset = d.get("onset")
        if onset is not None and not pd.isna(onset) and onset < d["time"]:
            steps = (
                f" (the first window already off the old level starts "
                f"{_fmt_time(onset)})"
            )
        parts = [
            (
                f"Quality drop detected in the {_freq_word(self.freq)} window "
                f"starting {_fmt_time(d['time'])}{steps}: {d['dimension']} for "
                f"{where} fell from {_fmt(d['mean_before'])} to "
                f"{_fmt(d['mean_after'])} (change {_signed(d['change'])}, 95% CI "
                f"{_signed(d['ci_low'])} to {_signed(d['ci_high'])}; "
                f"n={int(d['n_before']):,} scores before, {int(d['n_after']):,} "
                "after)."
            )
        ]
        parts.append(self._companions_sentence())
        parts.append(self._infra_sentence())
        cause = self.top_cause
        if cause is not None and cause["score"] > 0:
            parts.append(self._cause_sentence(cause))
            blamed = self.causes[self.causes["kind"] == "deployment"]
            if not blamed.empty and cause["kind"] != "deployment":
                dep = blamed.iloc[0]
                parts.append(
                    f"Deployments are not implicated (best: {dep['description']}, "
                    f"score {dep['score']:.2f})."
                )
        else:
            parts.append("No recorded prompt, model or deployment change explains it.")
        mixes = self._mix_sentence()
        if mixes:
            parts.append(mixes)
        parts.append("First: " + self._first_action(cause) + ".")
        return " ".join(p for p in parts if p)

    def _too_little_sentence(self, span: str) -> str:
        """Why no drop could be told: how much data there is and is needed."""
        looked = self.searched[self.searched["for_drop"]]
        most = looked.sort_values(["n_windows", "n_scores"]).iloc[-1]
        needed = int(most["windows_needed"])
        word = _freq_word(self.freq)
        where = _group_label(most, self.group_keys)
        which = (
            f"the only series searched ({most['dimension']} for {where}) holds"
            if len(looked) == 1
            else f"the fullest of the {len(looked)} series searched "
            f"({most['dimension']} for {where}) holds"
        )
        return (
            f"Too little data to tell whether quality dropped{span}: {which} "
            f"{int(most['n_windows'])} {word} window(s) with scores "
            f"({int(most['n_scores']):,} scores; {int(looked['n_scores'].sum()):,} "
            f"in all the series searched), and finding a change needs at least "
            f"{needed} windows in a series ({needed // 2} on each side of it). "
            "Give a longer range of scored traffic, or shorter windows (freq) "
            "or a smaller min_size if the windows are well filled."
        )

    def _partly_sentence(self) -> str:
        """With no drop found: the series too short to tell, if any."""
        if self.searched.empty:
            return ""
        looked = self.searched[self.searched["for_drop"]]
        short = looked[looked["status"] == "insufficient_data"]
        if short.empty:
            return ""
        names = [
            f"{r['dimension']} for {_group_label(r, self.group_keys)} "
            f"({int(r['n_windows'])} window(s))"
            for _, r in short.head(3).iterrows()
        ]
        more = f" and {len(short) - 3} more" if len(short) > 3 else ""
        return (
            f" Too little data to tell for {len(short)} of {len(looked)} series: "
            f"{', '.join(names)}{more}; a change needs at least "
            f"{int(short['windows_needed'].iloc[0])} {_freq_word(self.freq)} "
            "windows with scores."
        )

    def _infra_sentence(self) -> str:
        infra = self.infrastructure[self.infrastructure["scope"] == "affected group"]
        if infra.empty:
            return "No infrastructure data for the affected group."
        names = {
            "latency_p50_ms": "p50 latency",
            "latency_p95_ms": "p95 latency",
            "error_rate": "error rate",
            "cost_per_request_usd": "cost per request",
        }
        bits, moved = [], []
        for _, r in infra.iterrows():
            if r["status"] == "no data":
                bits.append(f"{names[r['metric']]} not recorded")
                continue
            rel = (
                f", {_signed(r['relative_change'], '+.0%')}"
                if np.isfinite(r["relative_change"]) and r["unit"] != "share"
                else ""
            )
            bits.append(
                f"{names[r['metric']]} {_fmt(r['before'], r['unit'])} -> "
                f"{_fmt(r['after'], r['unit'])}{rel} ({r['status']})"
            )
            if r["status"] == "moved":
                moved.append(names[r["metric"]])
        lead = (
            "Latency, errors and cost did not move"
            if not moved
            else f"{_join(moved)} moved as well"
        )
        rule = f"moved = beyond +/-{self.threshold:.0%} and significant"
        return f"{lead} ({rule}): " + "; ".join(bits) + "."

    def _cause_sentence(self, cause: dict) -> str:
        flag = ""
        if cause["kind"] in ("prompt_hash", "response_model"):
            flag = " unannounced" if cause["announced"] is False else " announced"
        gap = cause["gap_hours"]
        when = (
            f"{abs(gap):.1f} h {'after' if gap >= 0 else 'before'} the detected "
            "change time"
        )
        if cause["kind"] == "intent_mix":
            return (
                f"Top candidate cause: {cause['description']} (score "
                f"{cause['score']:.2f})."
            )
        return (
            f"Top candidate cause (score {cause['score']:.2f}):{flag} "
            f"{cause['description']} at {_fmt_time(cause['time'])}, {when}; it "
            f"reaches the affected group and covers {cause['coverage']:.0%} of "
            f"the within-group drop in {self.drop['dimension']} (specificity "
            f"{cause['specificity']:.2f})."
        )

    def _companions_sentence(self) -> str:
        """Other dimensions of the same group that dropped at the same time,
        and whether other groups dropped in the drop's dimension."""
        d, step = self.drop, _window_delta(self.freq)
        same = self.changes
        for key in self.group_keys:
            same = same[same[key] == d[key]]
        same = same[
            (same["dimension"] != d["dimension"])
            & ((same["time"] - d["time"]).abs() <= step)
            & ((same["ci_high"] < 0) | (same["ci_low"] > 0))
        ].sort_values("change")
        bits = [
            f"{r['dimension']} {_fmt(r['mean_before'])} -> {_fmt(r['mean_after'])} "
            f"({_signed(r['change'])}, 95% CI {_signed(r['ci_low'])} to "
            f"{_signed(r['ci_high'])})"
            for _, r in same.iterrows()
        ]
        text = ""
        if bits:
            text = (
                "Other dimensions of that group that changed at the same time: "
                + "; ".join(bits)
                + "."
            )
        others = self.groups
        mine = pd.Series(True, index=others.index)
        for key in self.group_keys:
            mine &= others[key] == d[key]
        others = others[~mine.fillna(False).astype(bool)]
        others = others[(others["n_before"] > 0) & (others["n_after"] > 0)]
        # a group whose scores never varied (valid_json of an intent that never
        # asks for JSON: always 0) could not show a drop; it is no evidence
        flat = (
            (others["ci_low"] == 0)
            & (others["ci_high"] == 0)
            & (others["mean_before"] == others["mean_after"])
        )
        n_flat = int(flat.sum())
        others = others[~flat]
        if n_flat and not len(others):
            text = (
                f"{text} The {n_flat} other group(s) compared never varied in "
                f"{d['dimension']} (the same score throughout), so they show "
                "nothing either way."
            ).strip()
        if len(others):
            fell = others[others["ci_high"] < 0]
            if len(others) == 1:
                # one comparison: name it rather than count it
                only = _group_label(others.iloc[0], self.group_keys)
                verb = "shows no drop" if fell.empty else "also fell"
                sentence = (
                    f"The only other group compared, {only}, {verb} in "
                    f"{d['dimension']} across that time."
                )
            elif fell.empty:
                sentence = (
                    f"No other group ({len(others)} compared) shows a drop in "
                    f"{d['dimension']} across that time."
                )
            else:
                names = "; ".join(
                    " / ".join(str(r[k]) for k in self.group_keys)
                    for _, r in fell.head(4).iterrows()
                )
                sentence = (
                    f"{len(fell)} of {len(others)} other groups also fell in "
                    f"{d['dimension']} across that time ({names})."
                )
            if n_flat:
                sentence += (
                    f" {n_flat} more {'group' if n_flat == 1 else 'groups'} "
                    f"never varied in {d['dimension']} (the same score "
                    "throughout) and could show no drop; left out."
                )
            text = f"{text} {sentence}".strip()
        return text

    def _mix_sentence(self) -> str:
        mixed = self.overall[
            (self.overall["classification"] == "mix shift")
            & ((self.overall["within"] + self.overall["mix"]) < 0)
        ]
        if mixed.empty:
            return ""
        r = mixed.assign(_t=mixed["within"] + mixed["mix"]).sort_values("_t").iloc[0]
        side = "all days" if self.window is None else f"{self.window.days} days"
        return (
            f"The overall {r['dimension']} mean (all intents) moved by "
            f"{_signed(r['within'] + r['mix'])} around {_fmt_time(r['time'])} "
            f"({side} either side): {_signed(r['mix'])} from a shift in the "
            f"intent mix, {_signed(r['within'])} from within-intent quality. That "
            "is a mix "
            "shift, not a quality drop."
        )

    def _first_action(self, cause: dict | None) -> str:
        if cause is None or cause["score"] <= 0:
            return (
                "pull the traces from the drop (Incident.traces) and check the "
                "prompt-hash timeline"
            )
        return str(cause["action"]) + "; read the before/after traces"


def _join(names: list[str]) -> str:
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return text[:1].upper() + text[1:]


def _freq_word(freq: str) -> str:
    words = {
        "D": "daily",
        "1D": "daily",
        "h": "hourly",
        "1h": "hourly",
        "W": "weekly",
        "7D": "7-day",
    }
    return words.get(freq, f"{freq}")


def _is_top(top: dict | None, kind: str, time) -> bool:
    return top is not None and top["kind"] == kind and top["time"] == time


def _periods(time, window, series) -> tuple[tuple, tuple]:
    lo = series["window_start"].min()
    hi = series["window_start"].max() + pd.Timedelta(days=3650)
    if window is None:
        return (lo, time), (time, hi)
    return (max(lo, time - window), time), (time, time + window)


# --------------------------------------------------------------------------
# investigate


def investigate(
    spans: pd.DataFrame,
    scores: pd.DataFrame,
    deployments: pd.DataFrame | None = None,
    start=None,
    end=None,
    *,
    dimension: str | None = None,
    by="intent",
    freq: str = "D",
    intent: str | None = None,
    service: str | None = None,
    contents: pd.DataFrame | None = None,
    kind: str | None = None,
    window="14D",
    penalty: float | None = None,
    false_alarm_rate: float = 0.01,
    min_size: int = 3,
    threshold: float = 0.10,
    alpha: float = 0.01,
    tolerance="2h",
    n_traces: int = 3,
    seed: int = 0,
    alerts: bool = True,
) -> Incident:
    """Investigate a quality incident: when, where, how much, and why.

    Parameters
    ----------
    spans : pandas.DataFrame
        Spans frame (``llmdrift.schema.SPANS``); reads ``start_time``,
        ``service``, the ``by`` columns, ``duration_ms``, ``status``,
        ``cost_usd``, ``prompt_hash``, ``request_model`` and
        ``response_model``.
    scores : pandas.DataFrame
        Scores frame (``llmdrift.schema.SCORES``), joined to spans on
        ``span_id``.
    deployments : pandas.DataFrame, optional
        Deployments frame (``time, service, version, note``); without it every
        prompt-hash change counts as unannounced.
    start, end : timestamp, optional
        Analyse ``[start, end)`` only (tz-aware; naive times raise).
    dimension : str, optional
        Look for the drop in this score dimension only (all are still
        charted and summarised).
    by : str or sequence of str, default="intent"
        Group columns. When the spans hold more than one service, ``service``
        is prepended, so groups never mix services.
    freq : str, default="D"
        Window length of the quality and infrastructure series.
    intent, service : str, optional
        Look for the drop in this intent / service only.
    contents : pandas.DataFrame, optional
        Contents frame; when given, the sampled traces carry their texts.
    kind : {"heuristic", "judge", "human"}, optional
        Use only scores of this kind. By default each dimension uses the kind
        that holds most of its scores (a judge score and a human label of the
        same request are two rows; averaging them together would count that
        request twice and blend two scales); ``Incident.score_kinds`` says
        which.
    window : str or Timedelta or None, default="14D"
        How far on each side of the change the before/after comparisons
        (infrastructure tests, locality, figures, traces) reach; None uses
        everything on each side.
    penalty, false_alarm_rate, min_size
        Passed to :func:`llmdrift.changepoints`.
    threshold, alpha : float, default=0.10, 0.01
        Infrastructure rule (see :func:`infrastructure_tests`).
    tolerance : str, default="2h"
        How near a deployment must be for a prompt or model change to count as
        announced.
    n_traces : int, default=3
        Traces to sample on each side.
    seed : int, default=0
        Seed for breaking ties when sampling typical traces.
    alerts : bool, default=True
        Also evaluate the default alert rules (:func:`llmdrift.evaluate_alerts`)
        over the same range, for ``Incident.alerts`` and the quality chart.
        An error there is logged and leaves ``alerts`` None; the
        investigation itself does not depend on it.

    Returns
    -------
    Incident
        See :class:`Incident` for every attribute; ``summary()`` gives the
        paragraph.

    Raises
    ------
    SchemaError
        When a frame misses a column it needs, or a deployment has no time.
    ValueError
        When ``start``/``end`` are naive or not times (``"yesterday"``:
        the message lists the accepted forms) or ``start`` is not before
        ``end``;
        ``by`` names a missing column; ``dimension``, ``intent``, ``service``
        or ``kind`` name nothing in the data (the message lists what is
        there); ``window``, ``tolerance`` or ``freq`` are not durations;
        ``alpha`` or ``false_alarm_rate`` lie outside (0, 1), ``threshold``
        or ``penalty`` are negative or not finite, ``min_size`` or
        ``n_traces`` are not integers >= 1; the scores hold infinite values
        or repeat a (span_id, dimension, scorer, kind) row; or no score with a
        value falls in ``[start, end)``.

    Notes
    -----
    The drop that matters is the detected negative change whose 95% interval
    excludes 0 with the largest effect size (change over the pooled standard
    deviation of the scores around it), so 1-5 judge scores and 0/1 checks
    compete on one scale. Groups and dimensions where nothing changed do not
    appear in ``changes``. A gradual drift shows up as one or more steps.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from llmdrift import investigate
    >>> rng = np.random.default_rng(0)
    >>> t = pd.date_range("2024-01-01", periods=30 * 48, freq="30min", tz="UTC")
    >>> spans = pd.DataFrame({"trace_id": [f"{i:032x}" for i in range(len(t))],
    ...     "span_id": [f"{i:016x}" for i in range(len(t))], "start_time": t,
    ...     "duration_ms": rng.normal(900, 80, len(t)), "service": "api",
    ...     "request_model": "m", "intent": np.tile(["a", "b"], len(t) // 2),
    ...     "prompt_hash": "h1", "status": "ok", "cost_usd": 0.001})
    >>> late = (spans["start_time"] >= "2024-01-20") & (spans["intent"] == "a")
    >>> spans.loc[late, "prompt_hash"] = "h2"
    >>> value = np.clip(rng.normal(4.5, 0.5, len(t)) - 2 * late, 1, 5).round()
    >>> scores = pd.DataFrame({"span_id": spans["span_id"], "time": t,
    ...     "dimension": "format", "value": value, "scorer": "j", "kind": "judge"})
    >>> inc = investigate(spans, scores)
    >>> inc.drop["intent"], str(inc.drop["time"].date())
    ('a', '2024-01-20')
    >>> inc.causes["kind"].iloc[0], bool(inc.causes["announced"].iloc[0])
    ('prompt_hash', False)
    """
    from llmdrift.changepoint import changepoints
    from llmdrift.series import quality_series, span_series

    # validate ---------------------------------------------------------------
    schema.validate(spans, "spans")
    schema.validate(scores, "scores")
    if deployments is None:
        deployments = schema.empty("deployments")
    schema.validate(deployments, "deployments")
    from llmdrift.alerts import _check_deployment_times

    _check_deployment_times(deployments)
    if contents is not None:
        schema.validate(contents, "contents")
    start, end = _utc(start, "start"), _utc(end, "end")
    if start is not None and end is not None and start >= end:
        raise ValueError(
            f"start ({start}) must be before end ({end}); the range is [start, end)."
        )
    window = None if window is None else _duration(window, "window", "14D")
    _duration(tolerance, "tolerance", "2h")
    step = _window_delta(freq)
    _check_numbers(
        threshold=threshold,
        alpha=alpha,
        false_alarm_rate=false_alarm_rate,
        penalty=penalty,
        min_size=min_size,
        n_traces=n_traces,
        seed=seed,
    )
    by = _as_tuple(by)
    for col in by:
        if col not in spans.columns and col not in scores.columns:
            raise ValueError(
                f"by={col!r}: no such column in spans or scores; spans have "
                f"{list(spans.columns)[:12]}."
            )
    multi_service = spans["service"].nunique(dropna=True) > 1
    keys = tuple(by) if (not multi_service or "service" in by) else ("service", *by)
    _check_scores(scores)
    _check_names(
        spans,
        scores,
        keys,
        dimension=dimension,
        intent=intent,
        service=service,
        kind=kind,
    )

    spans_w = _in_range(spans, "start_time", start, end)
    scores_w = _in_range(scores, "time", start, end)
    _check_scores_in_range(scores, scores_w, start, end)
    if kind is None:
        scores_w, score_kinds = _one_kind_per_dimension(scores_w)
    else:
        score_kinds = {str(d): kind for d in scores_w["dimension"].dropna().unique()}

    # quality series and within-group changes ---------------------------------
    series = quality_series(spans_w, scores_w, freq=freq, by=list(keys), kind=kind)
    changes = changepoints(
        series,
        by=list(keys),
        penalty=penalty,
        false_alarm_rate=false_alarm_rate,
        min_size=min_size,
    )
    searched = _searched(changes, series, keys, min_size)
    changes = _merge_steps(changes, keys, gap=min_size * step)
    changes = _annotate_changes(changes, series, keys, window)
    changes = _onsets(changes, series, keys)
    measures = _measure_dimensions(scores_w)
    drop = _pick_drop(
        changes,
        dimension=dimension,
        intent=intent,
        service=service,
        exclude=measures if dimension is None else (),
    )
    searched["for_drop"] = _for_drop(
        searched,
        dimension=dimension,
        intent=intent,
        service=service,
        exclude=measures if dimension is None else (),
    )
    looked = searched[searched["for_drop"]]
    if drop is not None:
        verdict = "drop"
    elif not looked.empty and (looked["status"] == "insufficient_data").all():
        verdict = "too little data"
    else:
        verdict = "no drop"

    # change events -------------------------------------------------------------
    prompt_changes = _prompt_changes(spans_w, deployments, tolerance)
    if "response_model" in spans.columns:
        resp_changes = model_changes(
            spans_w,
            by=[c for c in ("service", "request_model") if c in spans.columns],
        )
    else:
        resp_changes = pd.DataFrame(
            columns=["service", "request_model", "from_model", "to_model", "time"]
        )
    resp_changes = _flag_announced(resp_changes, deployments, tolerance)
    deps = _in_range(deployments, "time", start, end).reset_index(drop=True)

    overall = _overall_changes(
        spans_w,
        scores_w,
        series,
        changes,
        keys,
        freq=freq,
        kind=kind,
        window=window,
        step=step,
        penalty=penalty,
        false_alarm_rate=false_alarm_rate,
        min_size=min_size,
    )

    alert_rows = _evaluate_alerts(spans_w, scores_w, deployments) if alerts else None
    service_series = None
    if "service" in spans.columns:
        service_series = span_series(spans_w, freq=freq, by=["service"])

    empty_incident = dict(
        verdict=verdict,
        searched=searched,
        score_kinds=score_kinds,
        alerts=alert_rows,
        service_series=service_series,
        overall=overall,
        series=series,
        prompt_changes=prompt_changes,
        response_model_changes=resp_changes,
        deployments=deps,
        group_keys=keys,
        freq=freq,
        window=window,
        start=start,
        end=end,
        spans=spans,
        scores=scores,
        contents=contents,
    )
    if drop is None:
        return Incident(
            drop=None,
            changes=changes,
            groups=pd.DataFrame(),
            infrastructure=pd.DataFrame(),
            infrastructure_series=pd.DataFrame(),
            causes=_empty_causes(),
            traces=_empty_traces(),
            **empty_incident,
        )

    time = drop["time"]
    before, after = _periods(time, window, series)

    # per-group before/after of the drop dimension: the locality evidence ---------
    dim_series = series[series["dimension"] == drop["dimension"]]
    groups = _before_after(dim_series, list(keys), before, after)
    if "service" in keys:
        scope_series = groups[groups["service"] == drop["service"]]
    else:
        scope_series = groups
    mix = mix_decomposition(scope_series)

    # infrastructure ------------------------------------------------------------
    own = spans_w
    for key in keys:
        if key in own.columns:
            own = own[own[key] == drop[key]]
    service_spans = spans_w
    if "service" in keys:
        service_spans = spans_w[spans_w["service"] == drop["service"]]
    infra = pd.concat(
        [
            infrastructure_tests(
                own, time, window=window, threshold=threshold, alpha=alpha
            ).assign(scope="affected group"),
            infrastructure_tests(
                service_spans, time, window=window, threshold=threshold, alpha=alpha
            ).assign(scope="service"),
        ],
        ignore_index=True,
    )
    infra = infra[["scope", *[c for c in infra.columns if c != "scope"]]]
    infra_by = [k for k in keys if k in spans.columns]
    infra_series = span_series(spans_w, freq=freq, by=infra_by)

    # causes --------------------------------------------------------------------
    causes = _score_causes(
        drop=drop,
        keys=keys,
        groups=groups,
        mix=mix,
        step=step,
        prompt_changes=prompt_changes,
        resp_changes=resp_changes,
        deployments=deps,
        spans=spans_w,
        before=before,
        after=after,
    )

    traces = _sample_traces(
        drop,
        keys,
        spans_w,
        scores_w,
        contents,
        before,
        after,
        n_traces,
        seed,
        kind,
    )
    return Incident(
        drop=drop,
        changes=changes,
        groups=groups,
        infrastructure=infra,
        infrastructure_series=infra_series,
        causes=causes,
        traces=traces,
        mix=mix,
        threshold=threshold,
        **empty_incident,
    )


# --------------------------------------------------------------------------
# pieces of investigate


def _check_scores_in_range(scores, scores_w, start, end) -> None:
    """An analysis needs scores with a value in the range; say what is there."""
    if scores_w["value"].notna().any():
        return
    where = (
        f"in [{start if start is not None else 'the start'}, "
        f"{end if end is not None else 'the end'})"
    )
    if scores.empty:
        raise ValueError("scores frame is empty: there is no quality to investigate.")
    if scores_w.empty:
        raise ValueError(
            f"no scores {where}; the scores run from {scores['time'].min()} to "
            f"{scores['time'].max()}: widen start/end."
        )
    raise ValueError(
        f"all {len(scores_w):,} scores {where} have no value (every scorer "
        "failed); rerun the scorer or choose another range."
    )


def _evaluate_alerts(spans, scores, deployments) -> pd.DataFrame | None:
    """The default alert rules over the range, or None (with a warning)."""
    try:
        from llmdrift.alerts import evaluate_alerts
    except ImportError:
        logger.warning("llmdrift.alerts is not available; Incident.alerts is None")
        return None
    try:
        out = evaluate_alerts(spans, scores, deployments)
    except Exception as err:  # noqa: BLE001 - alerts must not stop an incident
        logger.warning(
            "evaluate_alerts failed (%s: %s); Incident.alerts is None",
            type(err).__name__,
            err,
        )
        return None
    return out  # keeps .attrs["status"]: which rules ran


def _one_kind_per_dimension(scores: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Keep, per dimension, only the score kind with the most rows.

    Ties go to human, then judge, then heuristic (the better-grounded kind).
    Returns the kept rows and the ``dimension -> kind`` map.
    """
    if scores.empty or "kind" not in scores.columns:
        return scores, {}
    rank = {"human": 0, "judge": 1, "heuristic": 2}
    counts = (
        scores.groupby(["dimension", "kind"], observed=True)
        .size()
        .reset_index(name="n")
    )
    counts = counts[counts["n"] > 0]
    counts["_pref"] = counts["kind"].map(rank).fillna(3)
    counts = counts.sort_values(
        ["dimension", "n", "_pref"], ascending=[True, False, True], kind="stable"
    ).drop_duplicates("dimension")
    chosen = dict(
        zip(counts["dimension"].astype(str), counts["kind"].astype(str), strict=True)
    )
    keep = scores["kind"].astype("string") == scores["dimension"].astype("string").map(
        chosen
    )
    return scores[keep.fillna(False).astype(bool)], chosen


def _merge_steps(changes, keys, *, gap: pd.Timedelta) -> pd.DataFrame:
    """Merge consecutive same-direction steps of one group into one change.

    A change that lands inside a window (a rollout at 14:02) leaves one
    window half-way between the old and new level; with a minimum segment
    length the segmentation can only place it in a short transition segment,
    and reports two steps in the same direction, ``min_size`` windows apart.
    Those are one change: it keeps the time of the larger step, the level
    before the first and after the last, ``n_steps`` and ``first_step``
    (time of the first step). The merged standard error is
    ``sqrt(se_1**2 + se_2**2)``, an upper bound since the transition
    segment's own error is counted twice.
    """
    out = changes.copy()
    out["n_steps"] = 1
    out["first_step"] = out["time"]
    if len(out) < 2:
        return out
    if "se" not in out.columns:
        out["se"] = (out["ci_high"] - out["ci_low"]) / (2 * 1.959964)
    group_cols = [*[k for k in keys if k in out.columns], "dimension"]
    out = out.sort_values([*group_cols, "time"], kind="stable").reset_index(drop=True)
    merged = []
    for _, part in out.groupby(group_cols, dropna=False, sort=False):
        rows = [r.to_dict() for _, r in part.iterrows()]
        current = rows[0]
        for row in rows[1:]:
            same_sign = np.sign(row["change"]) == np.sign(current["change"])
            if same_sign and row["time"] - current["time"] <= gap:
                big = row if abs(row["change"]) > abs(current["change"]) else current
                first_step = current["first_step"]
                se = math.hypot(current["se"], row["se"])
                change = row["mean_after"] - current["mean_before"]
                current = {
                    **big,
                    "mean_before": current["mean_before"],
                    "mean_after": row["mean_after"],
                    "change": change,
                    "se": se,
                    "ci_low": change - 1.959964 * se,
                    "ci_high": change + 1.959964 * se,
                    "n_before": current["n_before"],
                    "n_after": row["n_after"],
                    "n_steps": current["n_steps"] + 1,
                    "first_step": first_step,
                }
            else:
                merged.append(current)
                current = row
        merged.append(current)
    result = pd.DataFrame(merged, columns=out.columns)
    for col in ("time", "first_step"):
        result[col] = pd.to_datetime(result[col], utc=True)
    result["n_steps"] = result["n_steps"].astype("int64")
    return result.reset_index(drop=True)


def _onsets(changes, series, keys) -> pd.DataFrame:
    """Add ``onset``: the first window already off the old level.

    For a merged change (``n_steps`` > 1) the steps before the largest may
    be only where a minimum segment length forced the segmentation to start
    a transition segment, not where the level moved. ``onset`` is the first
    window from ``first_step`` on whose mean differs from ``mean_before``
    beyond its 95% interval (window sem and the before level's se combined),
    in the direction of the change; ``time`` when none does. One-step
    changes get ``onset == time``.
    """
    out = changes.copy()
    out["onset"] = out["time"] if "time" in out.columns else pd.Series(dtype=object)
    if out.empty or "n_steps" not in out.columns:
        return out
    onsets = []
    for _, row in out.iterrows():
        onset = row["time"]
        if int(row["n_steps"]) > 1:
            part = series[series["dimension"] == row["dimension"]]
            for key in keys:
                part = part[part[key] == row[key]]
            part = part[
                (part["window_start"] >= row["first_step"])
                & (part["window_start"] < row["time"])
                & (part["n"] > 0)
            ].sort_values("window_start")
            n_before = max(float(row.get("n_before", 0) or 0), 1.0)
            sd = part["std"].astype(float).median()
            se_before = sd / math.sqrt(n_before) if np.isfinite(sd) else 0.0
            half = 1.959964 * np.sqrt(
                part["sem"].astype(float).fillna(np.inf) ** 2 + se_before**2
            )
            gap = (part["mean"].astype(float) - row["mean_before"]) * np.sign(
                row["change"]
            )
            off = part[gap > half]
            if len(off):
                onset = off["window_start"].iloc[0]
        onsets.append(onset)
    out["onset"] = pd.to_datetime(pd.Series(onsets, index=out.index), utc=True)
    return out


def _annotate_changes(changes, series, keys, window) -> pd.DataFrame:
    """Add se, z and effect size (change / pooled sd around the change)."""
    out = changes.copy()
    if out.empty:
        for col in ("se", "z", "effect_size"):
            out[col] = pd.Series(dtype=float)
        return out
    if "se" not in out.columns:
        out["se"] = (out["ci_high"] - out["ci_low"]) / (2 * 1.959964)
    se = out["se"]
    out["z"] = out["change"] / se.where(se > 0)
    sds = []
    for _, row in out.iterrows():
        part = series[series["dimension"] == row["dimension"]]
        for key in keys:
            part = part[part[key] == row[key]]
        if window is not None:
            near = (part["window_start"] >= row["time"] - window) & (
                part["window_start"] < row["time"] + window
            )
            part = part[near]
        pooled = _pool(part, [])
        sds.append(float(pooled["std"].iloc[0]) if len(pooled) else np.nan)
    out["effect_size"] = out["change"] / pd.Series(sds, index=out.index).where(
        lambda s: s > 0
    )
    return out


def _measure_dimensions(scores: pd.DataFrame) -> tuple[str, ...]:
    """Dimensions whose values leave the score scales (0/1 checks, 1-10
    rubrics): measures such as an answer length, for which lower is not
    worse. They are analysed and charted but not picked as the drop."""
    values = scores[["dimension", "value"]].dropna()
    if values.empty:
        return ()
    ranges = values.groupby("dimension")["value"].agg(["min", "max"])
    outside = ranges[(ranges["min"] < 0) | (ranges["max"] > 10)]
    return tuple(str(d) for d in outside.index)


def _searched(changes, series, keys, min_size) -> pd.DataFrame:
    """Per group x dimension series: the outcome of the change search, the
    windows and scores it had and the windows a change needs."""
    keys = list(keys)
    status = pd.DataFrame(changes.attrs.get("status", []))
    columns = keys + ["dimension", "status", "n_windows"]
    if status.empty:
        status = pd.DataFrame(columns=columns)
    status = status[columns].copy()
    counts = (
        series.groupby(keys + ["dimension"], dropna=False, observed=True)["n"]
        .sum()
        .rename("n_scores")
        .reset_index()
    )
    out = status.merge(counts, on=keys + ["dimension"], how="left")
    out["n_scores"] = out["n_scores"].fillna(0).astype("int64")
    out["n_windows"] = out["n_windows"].astype("int64")
    out["windows_needed"] = 2 * int(min_size)
    return out


def _for_drop(searched, *, dimension, intent, service, exclude=()) -> pd.Series:
    """Which searched series :func:`_pick_drop` could take the drop from."""
    mask = pd.Series(True, index=searched.index)
    if exclude:
        mask &= ~searched["dimension"].isin(list(exclude))
    if dimension is not None:
        mask &= searched["dimension"] == dimension
    if intent is not None and "intent" in searched.columns:
        mask &= searched["intent"] == intent
    if service is not None and "service" in searched.columns:
        mask &= searched["service"] == service
    return mask.astype(bool)


def _pick_drop(changes, *, dimension, intent, service, exclude=()) -> dict | None:
    if changes.empty:
        return None
    cand = changes[(changes["change"] < 0) & (changes["ci_high"] < 0)]
    if exclude:
        cand = cand[~cand["dimension"].isin(list(exclude))]
    if dimension is not None:
        cand = cand[cand["dimension"] == dimension]
    if intent is not None and "intent" in cand.columns:
        cand = cand[cand["intent"] == intent]
    if service is not None and "service" in cand.columns:
        cand = cand[cand["service"] == service]
    if cand.empty:
        return None
    order = cand.assign(
        _e=cand["effect_size"].fillna(0.0), _z=cand["z"].fillna(0.0)
    ).sort_values(["_e", "_z"], kind="stable")
    row = order.iloc[0].drop(labels=["_e", "_z"])
    return row.to_dict()


def _prompt_changes(spans, deployments, tolerance) -> pd.DataFrame:
    cols = ["service", "intent", "from_hash", "to_hash", "time", "announced"]
    if "prompt_hash" not in spans.columns or spans["prompt_hash"].isna().all():
        return pd.DataFrame(columns=cols)
    from llmdrift.prompts import hash_changes, unannounced_changes

    by = [c for c in ("service", "intent") if c in spans.columns]
    changes = hash_changes(spans, by=by)
    if changes.empty:
        return changes.assign(announced=pd.Series(dtype="boolean"))
    silent = unannounced_changes(changes, deployments, tolerance=tolerance)
    key = [*by, "from_hash", "to_hash", "time"]
    marked = changes.merge(silent[key].assign(_silent=True), on=key, how="left")
    marked["announced"] = ~marked["_silent"].fillna(False).astype(bool)
    return marked.drop(columns="_silent")


def _flag_announced(changes, deployments, tolerance) -> pd.DataFrame:
    """Mark each change announced when a deployment of its service is near."""
    out = changes.copy()
    tol = pd.Timedelta(tolerance)
    flags = []
    for _, row in out.iterrows():
        deps = deployments
        if "service" in out.columns:
            deps = deps[deps["service"] == row["service"]]
        gap = (deps["time"] - row["time"]).abs()
        flags.append(bool((gap <= tol).any()))
    out["announced"] = pd.Series(flags, index=out.index, dtype=bool)
    return out


def _overall_changes(
    spans,
    scores,
    series,
    changes,
    keys,
    *,
    freq,
    kind,
    window,
    step,
    penalty,
    false_alarm_rate,
    min_size,
) -> pd.DataFrame:
    """Changes of the all-intent mean, each split into within and mix parts."""
    from llmdrift.changepoint import changepoints
    from llmdrift.series import quality_series

    top = ["service"] if "service" in keys else []
    cols = [
        *top,
        "dimension",
        "time",
        "mean_before",
        "mean_after",
        "change",
        "ci_low",
        "ci_high",
        "within",
        "mix",
        "classification",
    ]
    inner = [k for k in keys if k not in top]
    if not inner:
        return pd.DataFrame(columns=cols)
    overall_series = quality_series(spans, scores, freq=freq, by=top, kind=kind)
    found = changepoints(
        overall_series,
        by=top or None,
        penalty=penalty,
        false_alarm_rate=false_alarm_rate,
        min_size=min_size,
    )
    rows = []
    for _, row in found.iterrows():
        part = series[series["dimension"] == row["dimension"]]
        near = changes[changes["dimension"] == row["dimension"]]
        if top:
            part = part[part["service"] == row["service"]]
            near = near[near["service"] == row["service"]]
        before, after = _periods(row["time"], window, series)
        parts = mix_decomposition(_before_after(part, inner, before, after))
        close = near[
            ((near["time"] - row["time"]).abs() <= step)
            & ((near["ci_high"] < 0) | (near["ci_low"] > 0))
        ]
        if not close.empty:
            label = "quality"
        elif abs(parts["mix"]) > abs(parts["within"]):
            label = "mix shift"
        else:
            label = "unexplained"
        rows.append(
            {
                **{k: row[k] for k in top},
                **{
                    c: row[c]
                    for c in (
                        "dimension",
                        "time",
                        "mean_before",
                        "mean_after",
                        "change",
                        "ci_low",
                        "ci_high",
                    )
                },
                "within": parts["within"],
                "mix": parts["mix"],
                "classification": label,
            }
        )
    return pd.DataFrame(rows, columns=cols)


def _reach_mask(groups, keys, attrs: dict, services: set) -> pd.Series:
    """Rows of ``groups`` a cause with these attributes reaches."""
    mask = pd.Series(True, index=groups.index)
    for name, value in attrs.items():
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            continue
        if name in keys:
            mask &= groups[name] == value
        elif name == "service" and value not in services:
            mask &= False
    return mask.fillna(False).astype(bool)


def _locality(groups, mask, affected) -> dict:
    drop = (-groups["change"]).clip(lower=0).fillna(0.0)
    weight = (groups["n_before"] + groups["n_after"]).astype(float)
    mass = drop * weight
    total = float(mass.sum())
    reaches = bool((mask & affected).any())
    own_drop = float(drop[affected].max()) if affected.any() else 0.0
    if not reaches or total <= 0 or own_drop <= 0 or weight[mask].sum() == 0:
        return dict(
            reaches_affected=reaches,
            coverage=0.0
            if not reaches
            else float(mass[mask].sum() / total)
            if total > 0
            else 0.0,
            specificity=0.0,
            locality=0.0,
        )
    coverage = float(mass[mask].sum() / total)
    mean_drop = float(mass[mask].sum() / weight[mask].sum())
    specificity = min(1.0, mean_drop / own_drop)
    return dict(
        reaches_affected=True,
        coverage=coverage,
        specificity=specificity,
        locality=math.sqrt(coverage * specificity),
    )


def _time_score(cause_time, time, step) -> tuple[float, float]:
    gap = (cause_time - time) / pd.Timedelta(hours=1)
    if cause_time >= time + step:
        return gap, 0.0
    if cause_time >= time - step:
        return gap, 1.0
    return gap, float(math.exp(-((time - step) - cause_time) / step))


def _score_causes(
    *,
    drop,
    keys,
    groups,
    mix,
    step,
    prompt_changes,
    resp_changes,
    deployments,
    spans,
    before,
    after,
) -> pd.DataFrame:
    time, dim = drop["time"], drop["dimension"]
    affected = pd.Series(True, index=groups.index)
    for key in keys:
        affected &= groups[key] == drop[key]
    affected = affected.fillna(False).astype(bool)
    services = set(spans["service"].dropna().unique())
    rows = []

    def add(kind, cause_time, attrs, mask, description, announced, from_, to):
        gap, tscore = _time_score(cause_time, time, step)
        loc = _locality(groups, mask, affected)
        action = _ACTIONS[kind].format(
            from_=from_, to=to, dimension=dim, service=attrs.get("service")
        )
        rows.append(
            dict(
                kind=kind,
                description=description,
                time=cause_time,
                service=attrs.get("service"),
                intent=attrs.get("intent"),
                announced=announced,
                gap_hours=gap,
                time_score=tscore,
                **loc,
                score=tscore * loc["locality"],
                from_value=from_,
                to_value=to,
                action=action,
            )
        )

    for _, c in prompt_changes.iterrows():
        attrs = {k: c[k] for k in ("service", "intent") if k in c.index}
        where = " / ".join(str(v) for v in attrs.values())
        add(
            "prompt_hash",
            c["time"],
            attrs,
            _reach_mask(groups, keys, attrs, services),
            f"prompt template of {where} changed {str(c['from_hash'])[:8]} -> "
            f"{str(c['to_hash'])[:8]}"
            + ("" if c["announced"] else " (no deployment near it)"),
            bool(c["announced"]),
            str(c["from_hash"]),
            str(c["to_hash"]),
        )

    for _, c in resp_changes.iterrows():
        sel = spans
        for col in ("service", "request_model"):
            if col in c.index:
                sel = sel[sel[col] == c[col]]
        reached = sel[[k for k in keys if k in sel.columns]].drop_duplicates()
        if len(reached.columns) == len(keys) and len(keys):
            mask = (
                groups[list(keys)]
                .merge(reached.assign(_hit=True), on=list(keys), how="left")["_hit"]
                .notna()
            )
            mask.index = groups.index
        else:
            mask = _reach_mask(groups, keys, {"service": c.get("service")}, services)
        add(
            "response_model",
            c["time"],
            {"service": c.get("service")},
            mask,
            f"response model of {c.get('service')} (request model "
            f"{c.get('request_model')}) changed {c['from_model']} -> "
            f"{c['to_model']} with no change of the request model",
            bool(c["announced"]),
            str(c["from_model"]),
            str(c["to_model"]),
        )

    for _, c in deployments.iterrows():
        attrs = {"service": c["service"]}
        note = "" if pd.isna(c.get("note")) else f": {c['note']}"
        add(
            "deployment",
            c["time"],
            attrs,
            _reach_mask(groups, keys, attrs, services),
            f"deployment {c.get('version')} of {c['service']}{note}",
            True,
            None,
            str(c.get("version")),
        )

    # intent mix: how much of the overall change the mix part carries
    if np.isfinite(mix.get("total", np.nan)):
        fall_mix = max(-mix["mix"], 0.0)
        fall_within = max(-mix["within"], 0.0)
        share = fall_mix / (fall_mix + fall_within) if fall_mix > 0 else 0.0
        rows.append(
            dict(
                kind="intent_mix",
                description=(
                    f"shift in the intent mix: it moved the overall {dim} mean by "
                    f"{_signed(mix['mix'])} across the change, within-intent "
                    f"quality by {_signed(mix['within'])}"
                ),
                time=time,
                service=drop.get("service"),
                intent=None,
                announced=None,
                gap_hours=0.0,
                time_score=1.0,
                reaches_affected=False,
                coverage=share,
                specificity=np.nan,
                locality=share,
                score=share,
                from_value=None,
                to_value=None,
                action=_ACTIONS["intent_mix"],
            )
        )

    if not rows:
        return _empty_causes()
    out = pd.DataFrame(rows)
    out = out.sort_values(["score", "time_score"], ascending=False, kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["announced"] = out["announced"].astype("boolean")
    for col in (
        "kind",
        "description",
        "service",
        "intent",
        "from_value",
        "to_value",
        "action",
    ):
        out[col] = out[col].astype("string")
    return out.reset_index(drop=True)


def _empty_causes() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "rank",
            "kind",
            "description",
            "time",
            "service",
            "intent",
            "announced",
            "gap_hours",
            "time_score",
            "reaches_affected",
            "coverage",
            "specificity",
            "locality",
            "score",
            "from_value",
            "to_value",
            "action",
        ]
    )


def _empty_traces() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "side",
            "span_id",
            "trace_id",
            "time",
            "dimension",
            "value",
            "input_text",
            "output_text",
        ]
    )


def _sample_traces(
    drop, keys, spans, scores, contents, before, after, n, seed, kind
) -> pd.DataFrame:
    """Lowest-scored requests after the change and typical ones before it."""
    own = spans
    for key in keys:
        if key in own.columns:
            own = own[own[key] == drop[key]]
    sc = scores[scores["dimension"] == drop["dimension"]]
    if kind is not None:
        sc = sc[sc["kind"] == kind]
    sc = sc[sc["span_id"].isin(own["span_id"]) & sc["value"].notna()]
    for key in keys:
        if key not in spans.columns and key in sc.columns:
            sc = sc[sc[key] == drop[key]]
    sc = sc[["span_id", "time", "value"]]
    rng = np.random.default_rng(seed)
    b = sc[(sc["time"] >= before[0]) & (sc["time"] < before[1])]
    a = sc[(sc["time"] >= after[0]) & (sc["time"] < after[1])]
    if b.empty and a.empty:
        return _empty_traces()
    # typical before: closest to the median, random among ties
    b = b.assign(_d=(b["value"] - b["value"].median()).abs(), _r=rng.random(len(b)))
    b = b.sort_values(["_d", "_r"]).head(n).sort_values("time")
    a = a.assign(_r=rng.random(len(a))).sort_values(["value", "_r"]).head(n)
    out = pd.concat(
        [b.assign(side="before"), a.sort_values("time").assign(side="after")],
        ignore_index=True,
    )
    out = out.merge(spans[["span_id", "trace_id"]], on="span_id", how="left")
    if contents is not None:
        out = out.merge(
            contents[["span_id", "input_text", "output_text"]],
            on="span_id",
            how="left",
        )
    else:
        out["input_text"] = pd.NA
        out["output_text"] = pd.NA
    out["dimension"] = drop["dimension"]
    out = out[
        [
            "side",
            "span_id",
            "trace_id",
            "time",
            "dimension",
            "value",
            "input_text",
            "output_text",
        ]
    ]
    for col in (
        "side",
        "span_id",
        "trace_id",
        "dimension",
        "input_text",
        "output_text",
    ):
        out[col] = out[col].astype("string")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------
# runbook sources


def load_source(source="demo", *, path=None, scores=None, deployments=None):
    """Load the frames a runbook works on, from a named source or OTLP files.

    Parameters
    ----------
    source : {"demo", "chen2023"} or str or list of str
        ``"demo"`` reads the demo written by ``make lab`` (``data/demo/``
        Parquet, looked up from the working directory and its parent) and
        otherwise generates it with :func:`llmdrift.datasets.load_demo`.
        ``"chen2023"`` calls :func:`llmdrift.datasets.load_chen2023` with
        ``path``. Anything else is OTLP/JSON paths or a glob for
        :func:`llmdrift.read_otlp`; their contents are scored with the
        built-in checks of :func:`llmdrift.run_checks` unless ``scores`` is
        given.
    path : str or Path, optional
        Folder of the chen2023 files, or of the demo Parquet files.
    scores, deployments : str, Path or DataFrame, optional
        For OTLP sources: scores and deployments (Parquet path or frame).

    Returns
    -------
    types.SimpleNamespace
        ``spans``, ``contents``, ``scores``, ``deployments`` and ``truth``
        (None when the source has no ground truth).
    """
    from pathlib import Path

    if isinstance(source, str) and source == "demo":
        from llmdrift.datasets import load_demo

        return _namespace(load_demo(path=_find_demo(path)))
    if isinstance(source, str) and source == "chen2023":
        from llmdrift.datasets import load_chen2023

        return _namespace(load_chen2023(path=path))

    from llmdrift.checks import run_checks
    from llmdrift.ingest import read_otlp, read_otlp_contents

    spans = read_otlp(source)
    contents = read_otlp_contents(source)

    def _frame(value, kind):
        if value is None:
            return None
        if isinstance(value, pd.DataFrame):
            return value
        return schema.conform(pd.read_parquet(Path(value)), kind)

    given = _frame(scores, "scores")
    if given is None:
        given = run_checks(contents, spans=spans)
    deps = _frame(deployments, "deployments")
    return SimpleNamespace(
        spans=spans,
        contents=contents,
        scores=given,
        deployments=schema.empty("deployments") if deps is None else deps,
        truth=None,
    )


def _find_demo(path):
    from pathlib import Path

    candidates = (
        [Path(path)] if path is not None else [Path("data/demo"), Path("../data/demo")]
    )
    for folder in candidates:
        if (folder / "spans.parquet").is_file():
            return folder
    return None


def _namespace(data):
    return SimpleNamespace(
        spans=data.spans,
        contents=getattr(data, "contents", None),
        scores=data.scores,
        deployments=getattr(data, "deployments", None),
        truth=getattr(data, "truth", None),
    )


# --------------------------------------------------------------------------
# ``llmdrift.investigate`` names both this module and the function. Python
# binds the package attribute to the module whenever the module is imported
# first (``from llmdrift.investigate import load_source``), which would hide
# the lazily exported function; a callable module keeps
# ``llmdrift.investigate(spans, scores)`` working in either import order.


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs):
        return investigate(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
