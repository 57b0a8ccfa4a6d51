"""Windowed series of quality scores and infrastructure metrics.

:func:`quality_series` turns score rows into one row per window, group and
dimension (``n, mean, std, sem``); :func:`span_series` does the same for the
latency, error, cost and token figures of model calls. Both aggregate with
Ibis: a pandas frame is aggregated in-process by DuckDB, and an Ibis table
(for example a table of a span store) runs the same expression on its own
backend. Only the small windowed frame comes back as pandas.

Windows are calendar windows in a stated time zone: with
``tz="Europe/Berlin"`` a day is a Berlin calendar day (23 or 25 hours on a
daylight-saving change) and a week starts on Monday 00:00 Berlin time;
``window_start`` is returned in UTC. Windows without traffic stay in the
result with ``n = 0`` so that gaps remain visible.

:func:`rolling_series`, :func:`combine_groups` and :func:`mix_decomposition`
work on the small series frame in pandas: rolling calendar windows pooled
from daily sums, intent series combined with traffic or fixed weights, and
the split of a change in the overall mean into a within-intent part and an
intent-mix part.
"""

from __future__ import annotations

import numbers
import warnings
import zoneinfo

import numpy as np
import pandas as pd

from llmdrift._args import check_finite_values, check_unique_rows
from llmdrift.schema import SCORE_KINDS, LlmdriftWarning, SchemaError, validate

__all__ = [
    "FreqError",
    "quality_series",
    "span_series",
    "calendar_windows",
    "rolling_series",
    "combine_groups",
    "mix_decomposition",
]

_FREQS = {
    "h": "h",
    "1h": "h",
    "H": "h",
    "hour": "h",
    "D": "D",
    "1D": "D",
    "d": "D",
    "day": "D",
    "W": "W",
    "1W": "W",
    "W-MON": "W",
    "week": "W",
}
_UTC_NS = "datetime64[ns, UTC]"
_SCORE_COLS = ("span_id", "time", "dimension", "value", "scorer", "kind")


# ---------------------------------------------------------------------------
# helpers


def _ibis():
    import ibis

    return ibis


def check_tz(tz) -> str:
    """``tz`` as an IANA zone name, or a ValueError naming it (shared by the
    series builders, the alert rules and the CLI's --tz)."""
    name = str(tz)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"tz {tz!r} is not a known IANA time zone; use a name such as "
            "'UTC' or 'Europe/Berlin'."
        ) from None
    return name


class FreqError(ValueError, NotImplementedError):
    """An unsupported ``freq``: a ValueError (and NotImplementedError, as before)."""


def _check_freq(freq) -> str:
    if isinstance(freq, str) and freq in _FREQS:
        return _FREQS[freq]
    raise FreqError(
        f"freq {freq!r} is not supported; use 'h' (hours), 'D' (calendar "
        "days) or 'W' (weeks from Monday) (also accepted: "
        f"{sorted(set(_FREQS) - {'h', 'D', 'W'})}). For rolling windows over "
        "days use rolling_series(series, window='7D')."
    )


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _utc(value, name):
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must be a tz-aware time such as pd.Timestamp('2026-02-01', "
            f"tz='UTC'); got {value!r} ({err})."
        ) from None
    if stamp is pd.NaT:
        raise ValueError(f"{name} is a missing time (NaT); give a tz-aware time.")
    if stamp.tzinfo is None:
        raise ValueError(
            f"{name} must be a tz-aware time, got naive {value!r}; e.g. "
            f"pd.Timestamp({str(stamp)!r}, tz='UTC')."
        )
    return stamp.tz_convert("UTC")


def _time_range(start, end):
    """``start`` and ``end`` as UTC timestamps (None stays None); start < end.

    Examples
    --------
    >>> _time_range(pd.Timestamp("2026-03-05", tz="UTC"), "2026-03-01T00:00Z")
    Traceback (most recent call last):
    ...
    ValueError: start (2026-03-05 00:00:00+00:00) is after end (2026-03-01 00:00:00+00:00); ...
    """
    lo, hi = _utc(start, "start"), _utc(end, "end")
    if lo is not None and hi is not None and lo >= hi:
        order = "the same time as" if lo == hi else "after"
        raise ValueError(
            f"start ({lo}) is {order} end ({hi}); the range is start <= time < "
            "end, so start must come first: swap them, or leave one out (None) "
            "for an open range."
        )
    return lo, hi


def _is_ibis_table(obj) -> bool:
    module = type(obj).__module__
    return module.startswith("ibis") and hasattr(obj, "schema")


def _is_store(obj) -> bool:
    """True for a store object: it has a callable ``table(name)`` method.

    An Ibis table or a pandas frame is never a store, whatever its
    attributes.
    """
    if obj is None or isinstance(obj, pd.DataFrame) or _is_ibis_table(obj):
        return False
    return callable(getattr(obj, "table", None))


def _from_store(store, name):
    """``store.table(name)``, with an error naming the store and table."""
    try:
        table = store.table(name)
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001 - any store failure, re-raised
        if type(error).__name__ == "OutOfMemoryException":
            raise  # the engine's own message says what to change
        raise SchemaError(
            f"store {type(store).__name__}: table({name!r}) failed ({error}); a "
            "store must provide the tables 'spans', 'contents' and 'scores'."
        ) from error
    if not (_is_ibis_table(table) or isinstance(table, pd.DataFrame)):
        raise SchemaError(
            f"store {type(store).__name__}: table({name!r}) returned "
            f"{type(table).__name__}, expected an ibis Table."
        )
    return table


def _check_ibis_time(table, column, kind):
    """An Ibis table's time column must be a tz-aware timestamp."""
    dtype = table.schema()[column]
    if not dtype.is_timestamp() or dtype.timezone is None:
        raise SchemaError(
            f"{kind} table: column {column!r} must be a tz-aware timestamp "
            f"(UTC), got {dtype}; naive times are not guessed. Store times as "
            "TIMESTAMPTZ / timestamp with time zone 'UTC'."
        )


def _to_table(frame, columns, kind):
    """An Ibis table of ``columns`` of ``frame`` (pandas or already Ibis)."""
    if _is_ibis_table(frame):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise SchemaError(
                f"{kind} table: missing column(s) {missing}; present: "
                f"{list(frame.columns)[:12]}."
            )
        return frame.select(*columns)
    import pyarrow as pa

    # pyarrow keeps nanosecond UTC times exact; ibis' own pandas conversion
    # would cast them to microseconds
    return _ibis().memtable(
        pa.Table.from_pandas(frame[list(columns)], preserve_index=False)
    )


def _execute(expr, frames):
    """Run ``expr`` on its own backend, or in-process DuckDB for pandas input."""
    # through Arrow, not ibis' pandas conversion: exact ns times, pandas dtypes
    if any(_is_ibis_table(f) for f in frames if f is not None):
        return expr.to_pyarrow().to_pandas()
    return _ibis().duckdb.connect().to_pyarrow(expr).to_pandas()


def _memtable(frame):
    import pyarrow as pa

    return _ibis().memtable(pa.Table.from_pandas(frame, preserve_index=False))


def calendar_windows(lo, hi, *, freq="D", tz="UTC") -> pd.DataFrame:
    """Calendar windows in a time zone covering ``[lo, hi]``.

    Parameters
    ----------
    lo, hi : tz-aware timestamps
        First and last instant to cover.
    freq : {"h", "D", "W"}, default="D"
        Hours, calendar days, or weeks starting Monday, in ``tz``.
    tz : str, default="UTC"
        IANA time zone of the calendar.

    Returns
    -------
    pandas.DataFrame
        ``window_start``, ``window_end`` (datetime64[ns, UTC]), one row per
        window in order; ``window_end`` is the next window's start.

    Notes
    -----
    A local midnight that does not exist (a zone switching at 00:00) is moved
    forward to the first existing instant. Hours are consecutive UTC hours
    starting at a local full hour, so zones with a 30-minute daylight-saving
    shift get hours aligned to the winter offset.

    Examples
    --------
    >>> import pandas as pd
    >>> w = calendar_windows(pd.Timestamp("2026-03-28 12:00", tz="UTC"),
    ...                      pd.Timestamp("2026-03-30 12:00", tz="UTC"),
    ...                      tz="Europe/Berlin")
    >>> ((w["window_end"] - w["window_start"]) / pd.Timedelta("1h")).tolist()
    [24.0, 23.0, 24.0]
    """
    freq = _check_freq(freq)
    tz = check_tz(tz)
    lo = _utc(lo, "lo").tz_convert(tz)
    hi = _utc(hi, "hi").tz_convert(tz)
    if hi < lo:
        raise ValueError(f"hi ({hi}) is before lo ({lo}).")
    if freq == "h":
        first = lo.tz_convert("UTC").floor("h")
        # align to the local full hour (matters for zones with :30 offsets)
        offset = lo.utcoffset() % pd.Timedelta("1h")
        first = (
            first + offset
            if first + offset <= lo
            else first + offset - pd.Timedelta("1h")
        )
        count = int((hi.tz_convert("UTC") - first) // pd.Timedelta("1h")) + 2
        edges = pd.date_range(first, periods=count, freq="h")
    else:
        d0 = pd.Timestamp(lo.date())
        d1 = pd.Timestamp(hi.date())
        if freq == "W":
            d0 = d0 - pd.Timedelta(days=d0.weekday())
            days = pd.date_range(d0, d1 + pd.Timedelta(days=7), freq="7D")
        else:
            days = pd.date_range(d0, d1 + pd.Timedelta(days=1), freq="D")
        edges = days.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
        edges = edges.tz_convert("UTC")
    edges = pd.DatetimeIndex(edges).tz_convert("UTC").as_unit("ns")
    out = pd.DataFrame({"window_start": edges[:-1], "window_end": edges[1:]})
    # drop a trailing window that starts after hi (can happen for hours)
    out = out[out["window_start"] <= hi.tz_convert("UTC")]
    return out.astype({"window_start": _UTC_NS, "window_end": _UTC_NS}).reset_index(
        drop=True
    )


def _complete_grid(agg, windows, keys, fill):
    """Every window x every key combination seen, missing ones filled."""
    combos = agg[keys].drop_duplicates() if keys else pd.DataFrame(index=[0])
    grid = windows[["window_start"]].merge(combos, how="cross")
    out = grid.merge(agg, on=["window_start"] + keys, how="left")
    for column, value in fill.items():
        out[column] = out[column].fillna(value)
    return out


# ---------------------------------------------------------------------------
# quality series


def _check_present(scores, column, wanted) -> None:
    """Raise naming the ``wanted`` values of ``column`` that no score has."""
    if _is_ibis_table(scores):
        table = _to_table(scores, [column], "scores")
        present = _execute(table.select(column).distinct(), [scores])[column]
    else:
        present = pd.Series(scores[column].unique())
    present = sorted(str(v) for v in present.dropna().tolist())
    absent = [v for v in wanted if v not in set(present)]
    if absent:
        raise ValueError(
            f"{column}(s) {absent} have no scores; present: {present[:30]}."
        )


def _dimension_warnings(t, frames) -> None:
    """Warn about dimensions that mix score kinds or whose every score failed.

    One pass over the selected scores (before failed ones are dropped). A
    dimension whose every score has no value (NaN) drops out of the series;
    without a word a user would read its absence as "not scored". Single
    failures are the documented way a scorer reports trouble and are left
    out quietly.
    """
    valued = t.value.notnull() & ~t.value.isnan()
    per = t.group_by("dimension").aggregate(
        rows=t.count(),
        valued=valued.cast("int64").sum(),
        kinds=t.kind.nunique(where=valued),
    )
    per = _execute(per.filter((per.valued.fill_null(0) == 0) | (per.kinds > 1)), frames)
    failed = per[per["valued"].fillna(0).eq(0)]
    if len(failed):
        dims = sorted(str(d) for d in failed["dimension"].tolist())
        warnings.warn(
            f"dimension(s) {dims}: all {int(failed['rows'].sum())} selected scores "
            "have no value (the scorer failed) and are left out, so the series "
            "has no rows for them; check the scorer's errors.",
            LlmdriftWarning,
            stacklevel=3,
        )
    mixed = per[per["kinds"].fillna(0).gt(1)]
    if len(mixed):
        warnings.warn(
            f"dimension(s) {sorted(mixed['dimension'].tolist())} mix scores of "
            "several kinds (judge/human/heuristic) in one mean; pass kind=... "
            "to keep one.",
            LlmdriftWarning,
            stacklevel=3,
        )


def quality_series(
    spans,
    scores,
    *,
    freq="D",
    by=(),
    dimension=None,
    kind=None,
    scorer=None,
    tz="UTC",
    start=None,
    end=None,
) -> pd.DataFrame:
    """Window means of scores per group and dimension, with counts and spread.

    Parameters
    ----------
    spans : pandas.DataFrame, ibis Table, store or None
        Spans frame; only ``span_id`` and the ``by`` columns that scores lack
        are read (joined on ``span_id``). May be None when every ``by``
        column is in ``scores``. A store (any object with a callable
        ``table(name)`` returning an Ibis table, e.g. ``llmdrift.store``)
        stands for its ``table("spans")``, read only when needed.
    scores : pandas.DataFrame, ibis Table, store or None
        Scores frame: ``span_id, time, dimension, value, scorer, kind``.
        Values that are NaN (a failed scorer) are not counted. A store stands
        for its ``table("scores")``; None takes ``spans.table("scores")``
        when ``spans`` is a store.
    freq : {"h", "D", "W"}, default="D"
        Window length: hours, calendar days, or weeks starting Monday, in the
        time zone ``tz``.
    by : sequence of str, default=()
        Group columns, from ``scores`` if present there, else from ``spans``.
    dimension, kind, scorer : str or list of str, optional
        Keep only these score dimensions, kinds, scorers.
    tz : str, default="UTC"
        IANA time zone whose calendar defines the windows.
    start, end : tz-aware timestamps, optional
        Range to cover (``end`` exclusive); scores outside are ignored. By
        default from the first to the last score.

    Returns
    -------
    pandas.DataFrame
        One row per window x group x dimension, sorted by groups, dimension,
        window_start:

        - ``window_start`` (datetime64[ns, UTC]): start of the window
        - the ``by`` columns, ``dimension`` (str)
        - ``n`` (int64): scores in the window; 0 for a window with none
          (those rows stay, gaps remain visible)
        - ``mean`` (float64): mean score, NaN when ``n == 0``
        - ``std`` (float64): sample standard deviation (ddof=1), NaN when
          ``n < 2``
        - ``sem`` (float64): ``std / sqrt(n)``

        ``.attrs`` records ``freq``, ``tz`` and ``by``.

    Raises
    ------
    SchemaError
        If a needed column is missing or times are naive.
    ValueError
        For an unsupported ``freq`` (a :class:`FreqError`, also a
        NotImplementedError), an unknown ``kind``, a ``dimension`` without
        scores, infinite score values, a score given twice (the same
        ``span_id, dimension, scorer, kind``; pandas input only), or a
        ``start`` that is not before ``end`` (both named).

    Warns
    -----
    LlmdriftWarning
        When scores have no matching span (their group is then <NA>), a
        dimension mixes several score kinds (pass ``kind=`` to pick one), or
        every selected score of a dimension has no value (all failed: the
        dimension is then absent from the result).

    Notes
    -----
    The aggregation is one Ibis expression: filter the scores, join the
    group columns from spans, join each score to its calendar window with a
    range join (``window_start <= time < window_end``) and take count, mean
    and sample standard deviation per window, group and dimension. The
    windows themselves are computed in pandas from the time range (a small
    table), so daylight-saving days come out 23 or 25 hours long.

    Known shortcoming: infinite values and repeated scores are refused only
    for pandas input; an Ibis table or a store is not scanned for them (that
    would be another full pass over the scores), and a misspelt name among
    several good ``dimension``/``scorer`` values is caught there only when
    nothing at all matches.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({
    ...     "span_id": ["a", "b", "c"],
    ...     "time": pd.to_datetime(["2026-03-01 10:00", "2026-03-01 12:00",
    ...                             "2026-03-03 09:00"], utc=True),
    ...     "dimension": "format", "value": [4.0, 2.0, 5.0],
    ...     "scorer": "judge-v1", "kind": "judge"})
    >>> s = quality_series(None, scores)
    >>> s["n"].tolist(), s["mean"].tolist()
    ([2, 0, 1], [3.0, nan, 5.0])
    """
    freq = _check_freq(freq)
    tz = check_tz(tz)
    by = _as_list(by)
    start, end = _time_range(start, end)
    store = spans if _is_store(spans) else None
    if _is_store(scores):
        scores = _from_store(scores, "scores")
    elif scores is None:
        if store is None:
            raise SchemaError(
                "scores is None and spans is not a store; pass a scores frame, "
                "or a store object with a table('scores') method."
            )
        scores = _from_store(store, "scores")
    if _is_ibis_table(scores):
        missing = [c for c in _SCORE_COLS if c not in scores.columns]
        if missing:
            raise SchemaError(
                f"scores table: missing column(s) {missing}; present: "
                f"{list(scores.columns)[:12]}."
            )
        _check_ibis_time(scores, "time", "scores")
    else:
        validate(scores, "scores")
    score_cols = list(_SCORE_COLS)
    from_scores = [c for c in by if c in scores.columns]
    from_spans = [c for c in by if c not in scores.columns]
    if store is not None:
        # read lazily: a store's spans table is only touched when grouping
        spans = _from_store(store, "spans") if from_spans else None
    if from_spans:
        if spans is None:
            raise SchemaError(
                f"group column(s) {from_spans} are not in scores, and spans is "
                "None; pass the spans frame that holds them."
            )
        missing = [c for c in ["span_id"] + from_spans if c not in spans.columns]
        if missing:
            raise SchemaError(
                f"group column(s) {missing} are in neither scores nor spans; "
                f"spans columns: {list(spans.columns)[:12]}."
            )
        if not _is_ibis_table(spans) and spans["span_id"].duplicated().any():
            dup = spans.loc[spans["span_id"].duplicated(), "span_id"].iloc[0]
            raise SchemaError(
                f"spans frame: span_id {dup!r} appears more than once; drop "
                "duplicates with spans.drop_duplicates('span_id')."
            )

    if kind is not None:
        unknown = [k for k in _as_list(kind) if k not in SCORE_KINDS]
        if unknown:
            raise ValueError(
                f"kind {unknown} is not a score kind; use one of {SCORE_KINDS}."
            )
    if not _is_ibis_table(scores):
        check_finite_values(scores, "value", "scores")
        check_unique_rows(scores, ["span_id", "dimension", "scorer", "kind"], "scores")
        no_time = scores["time"].isna().to_numpy()
        if no_time.any():
            warnings.warn(
                f"quality_series: {int(no_time.sum())} of {len(scores)} scores have "
                f"no time (first: span_id {scores['span_id'].to_numpy()[no_time.argmax()]!r})"
                " and fall in no window; they are left out. Give each score its "
                "span's start_time.",
                LlmdriftWarning,
                stacklevel=2,
            )

    # filter scores
    t = _to_table(scores, score_cols + from_scores, "scores")
    # an integer value column (Int64 0/1 checks) has no NaN; means are floats
    t = t.mutate(value=t.value.cast("float64"))
    for column, wanted in (
        ("dimension", dimension),
        ("kind", kind),
        ("scorer", scorer),
    ):
        if wanted is not None:
            t = t.filter(t[column].isin(_as_list(wanted)))
    if start is not None:
        t = t.filter(t.time >= start.to_pydatetime())
    if end is not None:
        t = t.filter(t.time < end.to_pydatetime())
    _dimension_warnings(t, [scores])
    t = t.filter(t.value.notnull() & ~t.value.isnan())

    # group columns from spans
    if from_spans:
        s = _to_table(spans, ["span_id"] + from_spans, "spans")
        s = s.rename(_span_id_="span_id")
        t = t.left_join(s, t.span_id == s._span_id_).drop("_span_id_")

    # range of the data, kinds mixed per dimension, unmatched spans
    info = t.aggregate(
        lo=t.time.min(),
        hi=t.time.max(),
        rows=t.count(),
        **({"unmatched": t[from_spans[0]].isnull().sum()} if from_spans else {}),
    )
    info = _execute(info, [scores, spans]).iloc[0]
    # a sum over no rows is NULL (NaN here), which means none unmatched
    unmatched = info.get("unmatched", 0)
    unmatched = 0 if pd.isna(unmatched) else int(unmatched)
    if int(info["rows"]) == 0 or not _is_ibis_table(scores):
        # a misspelt name would give an empty (or partial) series without a word
        for column, wanted in (("dimension", dimension), ("scorer", scorer)):
            if wanted is not None:
                _check_present(scores, column, _as_list(wanted))
    if int(info["rows"]) == 0 and kind is not None:
        try:
            _check_present(scores, "kind", _as_list(kind))
        except ValueError as absent:
            # a valid kind no score has (no human labels yet) is not a typo
            warnings.warn(
                f"quality_series: {absent} The series is empty.",
                LlmdriftWarning,
                stacklevel=2,
            )
    if from_spans and unmatched:
        warnings.warn(
            f"{unmatched} scores have no span (or a missing "
            f"{from_spans[0]!r}) in spans; their group is <NA>.",
            LlmdriftWarning,
            stacklevel=2,
        )

    columns = ["window_start"] + by + ["dimension", "n", "mean", "std", "sem"]
    if int(info["rows"]) == 0 and (start is None or end is None):
        out = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
        out["window_start"] = out["window_start"].astype(_UTC_NS)
        out["n"] = out["n"].astype("int64")
        out["dimension"] = out["dimension"].astype("string")
        out.attrs.update(freq=freq, tz=tz, by=tuple(by))
        return out
    lo = start if start is not None else pd.Timestamp(info["lo"]).tz_convert("UTC")
    hi = (
        (end - pd.Timedelta(1, "ns"))
        if end is not None
        else pd.Timestamp(info["hi"]).tz_convert("UTC")
    )
    windows = calendar_windows(lo, hi, freq=freq, tz=tz)

    # the aggregation: scores joined to their window by a range join
    w = _memtable(windows)
    j = t.join(w, [t.time >= w.window_start, t.time < w.window_end])
    agg = j.group_by(["window_start"] + by + ["dimension"]).aggregate(
        n=j.value.count(), mean=j.value.mean(), std=j.value.std(how="sample")
    )
    agg = _execute(agg, [scores, spans])
    agg["window_start"] = pd.to_datetime(agg["window_start"], utc=True).astype(_UTC_NS)

    out = _complete_grid(agg, windows, by + ["dimension"], {"n": 0})
    out["n"] = out["n"].astype("int64")
    out["mean"] = out["mean"].astype("float64")
    out["std"] = out["std"].astype("float64")
    out["sem"] = out["std"] / np.sqrt(out["n"].where(out["n"] > 0))
    out = out.sort_values(by + ["dimension", "window_start"], kind="stable")
    out = out[columns].reset_index(drop=True)
    out.attrs.update(freq=freq, tz=tz, by=tuple(by))
    return out


# ---------------------------------------------------------------------------
# infrastructure series


def span_series(spans, *, freq="D", by=(), tz="UTC", start=None, end=None):
    """Latency, errors, cost and tokens per window over model-call spans.

    Parameters
    ----------
    spans : pandas.DataFrame, ibis Table or store
        Spans frame (a store stands for its ``table("spans")``). Reads ``start_time`` and, where present,
        ``duration_ms``, ``status``, ``cost_usd``, ``input_tokens``,
        ``output_tokens`` and ``span_kind``; rows whose ``span_kind`` is set
        and not ``"llm"`` are left out (missing kind counts as a model call).
    freq : {"h", "D", "W"}, default="D"
    by : sequence of str, default=()
        Group columns of spans.
    tz : str, default="UTC"
        Time zone of the calendar windows.
    start, end : tz-aware timestamps, optional
        Range covered (``end`` exclusive); ``start`` must come before ``end``
        (a ValueError names both otherwise).

    Returns
    -------
    pandas.DataFrame
        One row per window x group, sorted by groups and window_start:
        ``window_start`` (UTC), the ``by`` columns, ``n_requests`` (int64, 0
        for an empty window), ``latency_p50_ms``, ``latency_p95_ms``,
        ``error_rate`` (share of spans with status "error" among spans with
        a known status), ``cost_per_request_usd`` (mean of known costs),
        ``tokens_per_request`` (mean of input + output tokens where both are
        known), all float64 and NaN where unknown.

    Notes
    -----
    Quantiles are exact on DuckDB (``quantile_cont``, linear interpolation
    as numpy's default), which is what pandas input uses. On other Ibis
    backends the same expression may compile to an approximate quantile
    (BigQuery, for instance, has only approximate ones).

    Examples
    --------
    >>> import pandas as pd
    >>> spans = pd.DataFrame({"span_id": ["a", "b", "c"],
    ...     "start_time": pd.to_datetime(["2026-03-01 10:00", "2026-03-01 11:00",
    ...                                   "2026-03-01 12:00"], utc=True),
    ...     "duration_ms": [100.0, 200.0, 300.0], "status": ["ok", "error", "ok"]})
    >>> row = span_series(spans).iloc[0]
    >>> int(row["n_requests"]), float(row["latency_p50_ms"]), round(float(row["error_rate"]), 3)
    (3, 200.0, 0.333)
    """
    freq = _check_freq(freq)
    tz = check_tz(tz)
    by = _as_list(by)
    start, end = _time_range(start, end)
    if _is_store(spans):
        spans = _from_store(spans, "spans")
    for column in ["start_time"] + by:
        if column not in spans.columns:
            raise SchemaError(
                f"spans frame: missing column {column!r}; present: "
                f"{list(spans.columns)[:12]}."
            )
    if _is_ibis_table(spans):
        _check_ibis_time(spans, "start_time", "spans")
    elif not isinstance(spans["start_time"].dtype, pd.DatetimeTZDtype):
        raise SchemaError(
            "spans frame: column 'start_time' must be tz-aware UTC times, got "
            f"dtype {spans['start_time'].dtype}; if the values are UTC, fix with "
            "spans['start_time'] = spans['start_time'].dt.tz_localize('UTC')."
        )
    optional = [
        "duration_ms",
        "status",
        "cost_usd",
        "input_tokens",
        "output_tokens",
        "span_kind",
    ]
    present = [c for c in optional if c in spans.columns]
    t = _to_table(spans, ["start_time"] + by + present, "spans")
    if "span_kind" in present:
        t = t.filter(t.span_kind.isnull() | (t.span_kind == "llm"))
    if start is not None:
        t = t.filter(t.start_time >= start.to_pydatetime())
    if end is not None:
        t = t.filter(t.start_time < end.to_pydatetime())

    info = _execute(
        t.aggregate(lo=t.start_time.min(), hi=t.start_time.max(), rows=t.count()),
        [spans],
    ).iloc[0]
    metrics = [
        "latency_p50_ms",
        "latency_p95_ms",
        "error_rate",
        "cost_per_request_usd",
        "tokens_per_request",
    ]
    columns = ["window_start"] + by + ["n_requests"] + metrics
    if int(info["rows"]) == 0 and (start is None or end is None):
        out = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
        out["window_start"] = out["window_start"].astype(_UTC_NS)
        out["n_requests"] = out["n_requests"].astype("int64")
        return out
    lo = start if start is not None else pd.Timestamp(info["lo"]).tz_convert("UTC")
    hi = (
        (end - pd.Timedelta(1, "ns"))
        if end is not None
        else pd.Timestamp(info["hi"]).tz_convert("UTC")
    )
    windows = calendar_windows(lo, hi, freq=freq, tz=tz)

    w = _memtable(windows)
    j = t.join(w, [t.start_time >= w.window_start, t.start_time < w.window_end])
    aggs = {"n_requests": j.count()}
    if "duration_ms" in present:
        aggs["latency_p50_ms"] = j.duration_ms.quantile(0.5)
        aggs["latency_p95_ms"] = j.duration_ms.quantile(0.95)
    if "status" in present:
        errors = (j.status == "error").cast("int64").sum()
        aggs["error_rate"] = errors.cast("float64") / j.status.count().nullif(0)
    if "cost_usd" in present:
        aggs["cost_per_request_usd"] = j.cost_usd.cast("float64").mean()
    if "input_tokens" in present and "output_tokens" in present:
        aggs["tokens_per_request"] = (
            j.input_tokens.cast("float64") + j.output_tokens.cast("float64")
        ).mean()
    agg = j.group_by(["window_start"] + by).aggregate(**aggs)
    agg = _execute(agg, [spans])
    agg["window_start"] = pd.to_datetime(agg["window_start"], utc=True).astype(_UTC_NS)

    out = _complete_grid(agg, windows, by, {"n_requests": 0})
    out["n_requests"] = out["n_requests"].astype("int64")
    for column in metrics:
        out[column] = out[column].astype("float64") if column in out else np.nan
    out = out.sort_values(by + ["window_start"], kind="stable")
    out = out[columns].reset_index(drop=True)
    out.attrs.update(freq=freq, tz=tz, by=tuple(by))
    return out


# ---------------------------------------------------------------------------
# rolling windows, combination and decomposition (small pandas frames)


def _keys(series, exclude=()):
    known = {
        "window_start",
        "window_end",
        "dimension",
        "n",
        "mean",
        "std",
        "sem",
        "p50",
        "p95",
        "n_windows",
        *exclude,
    }
    return [c for c in series.columns if c not in known]


def _pooled_sums(frame, centre):
    """Per-row score sums: n, sum(x - c), sum((x - c)**2), from n, mean, std."""
    n = frame["n"].to_numpy(np.float64)
    has = n > 0
    dev = np.where(has, frame["mean"].to_numpy(np.float64) - centre, 0.0)
    var = np.where(n > 1, frame["std"].to_numpy(np.float64) ** 2, 0.0)
    var = np.where(np.isfinite(var), var, 0.0)
    return n, n * dev, (n - 1).clip(min=0) * var + n * dev * dev


def rolling_series(series, *, window="7D", tz=None) -> pd.DataFrame:
    """Rolling calendar-day windows pooled from a daily series.

    Parameters
    ----------
    series : pandas.DataFrame
        A daily series frame (from :func:`quality_series` with ``freq="D"``).
        Not modified.
    window : str or int, default="7D"
        Number of calendar days per window, e.g. ``"7D"`` or ``7``.
    tz : str, optional
        Time zone of the calendar; ``series.attrs["tz"]`` when omitted, else
        UTC.

    Returns
    -------
    pandas.DataFrame
        One row per group x dimension x last day of a complete window:
        ``window_start``, ``window_end`` (UTC; local midnight of the first
        day and of the day after the last), groups, ``dimension``, ``n``,
        ``mean``, ``std``, ``sem`` of all scores in the window, and
        ``n_windows`` (days in the window that have scores).

    Notes
    -----
    A window holds exactly ``window`` local calendar days, so a 7-day window
    across a daylight-saving change spans 167 or 169 hours. Days missing
    from the input, or present with ``n = 0``, count as days without
    scores; they never stretch a window. Scores are pooled exactly from the
    daily ``n, mean, std``: the window mean is ``sum(n mean) / sum(n)`` and
    the variance ``(sum((n - 1) std**2) + sum(n (mean - M)**2)) / (N - 1)``.
    Windows at the start of the series with fewer than ``window`` days
    before them are not returned.

    Examples
    --------
    >>> import pandas as pd
    >>> days = pd.date_range("2026-03-01", periods=3, freq="D", tz="UTC")
    >>> s = pd.DataFrame({"window_start": days, "dimension": "format",
    ...     "n": [2, 0, 2], "mean": [1.0, float("nan"), 3.0],
    ...     "std": [0.0, float("nan"), 0.0], "sem": 0.0})
    >>> r = rolling_series(s, window=3)
    >>> int(r["n"].iloc[0]), float(r["mean"].iloc[0]), round(float(r["std"].iloc[0]), 4)
    (4, 2.0, 1.1547)
    """
    validate(series, "series")
    days = _window_days(window)
    tz = check_tz(tz or series.attrs.get("tz", "UTC"))
    keys = _keys(series)
    out = []
    frame = series.copy()
    frame["_date"] = frame["window_start"].dt.tz_convert(tz).dt.tz_localize(None)
    frame["_date"] = frame["_date"].dt.normalize()
    groups = (
        frame.groupby(keys + ["dimension"], sort=True, dropna=False)
        if len(frame)
        else []
    )
    for name, part in groups:
        part = part.sort_values("_date")
        dates = pd.date_range(part["_date"].min(), part["_date"].max(), freq="D")
        daily = part.groupby("_date")[["n", "mean", "std"]].first().reindex(dates)
        daily["n"] = daily["n"].fillna(0)
        has = daily["n"].to_numpy() > 0
        centre = float(daily["mean"][has].mean()) if has.any() else 0.0
        n, s1, s2 = _pooled_sums(daily, centre)
        cum = [np.concatenate(([0.0], np.cumsum(a))) for a in (n, s1, s2, has * 1.0)]
        ends = np.arange(days, len(dates) + 1)
        if len(ends) == 0:
            continue
        tot = [c[ends] - c[ends - days] for c in cum]
        count, sum1, sum2, n_windows = tot
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, centre + sum1 / count, np.nan)
            var = np.where(
                count > 1, (sum2 - sum1 * sum1 / count) / (count - 1), np.nan
            )
        std = np.sqrt(np.maximum(var, 0.0))
        first = dates[ends - days]
        after = dates[ends - 1] + pd.Timedelta(days=1)
        local = {"ambiguous": True, "nonexistent": "shift_forward"}
        piece = pd.DataFrame(
            {
                "window_start": first.tz_localize(tz, **local).tz_convert("UTC"),
                "window_end": after.tz_localize(tz, **local).tz_convert("UTC"),
            }
        )
        name = name if isinstance(name, tuple) else (name,)
        for column, value in zip(keys + ["dimension"], name, strict=True):
            piece[column] = value
        piece["n"] = count.astype("int64")
        piece["mean"], piece["std"] = mean, std
        with np.errstate(invalid="ignore", divide="ignore"):
            piece["sem"] = std / np.sqrt(np.where(count > 0, count, np.nan))
        piece["n_windows"] = n_windows.astype("int64")
        out.append(piece)
    columns = (
        ["window_start", "window_end"]
        + keys
        + ["dimension", "n", "mean", "std", "sem", "n_windows"]
    )
    if not out:
        return pd.DataFrame(columns=columns)
    result = pd.concat(out, ignore_index=True)[columns]
    for column in ("window_start", "window_end"):
        result[column] = result[column].astype(_UTC_NS)
    result.attrs.update(series.attrs)
    result.attrs["window"] = f"{days}D"
    return result


def _window_days(window) -> int:
    """``window`` of :func:`rolling_series` as a whole number of days >= 1."""
    text = window.strip() if isinstance(window, str) else None
    if text is not None and text[-1:] in ("d", "D"):
        text = text[:-1]
    days = None
    if isinstance(window, numbers.Integral) and not isinstance(window, bool):
        days = int(window)
    elif text is not None and text.isdigit():
        days = int(text)
    if days is None or days < 1:
        raise ValueError(
            f"window must be a whole number of days >= 1, as an int (7) or text "
            f"('7D'); got {window!r}. For hourly or weekly windows build the "
            "series with quality_series(..., freq='h' or 'W') instead."
        )
    return days


def _weights_frame(series, group, weights, keys):
    """Weight of each row's group in its window, as a float array."""
    if isinstance(weights, str):
        if weights != "n":
            raise ValueError(
                f"weights must be 'n', a mapping group -> weight, or a frame of "
                f"traffic per window; got {weights!r}."
            )
        return series["n"].to_numpy(np.float64), False
    if isinstance(weights, pd.DataFrame):
        value = "weight" if "weight" in weights.columns else "n_requests"
        on = [c for c in ["window_start", group] + keys if c in weights.columns]
        needed = {"window_start", group, value}
        if not needed <= set(weights.columns):
            raise ValueError(
                f"a weights frame needs columns window_start, {group!r} and "
                f"'weight' or 'n_requests'; got {list(weights.columns)}."
            )
        _check_weights(weights[value], f"weights frame column {value!r}")
        merged = series[on].merge(
            weights[on + [value]], on=on, how="left", validate="many_to_one"
        )
        return merged[value].to_numpy(np.float64), True
    try:
        mapping = pd.Series(weights, dtype="float64")
    except (TypeError, ValueError):
        raise ValueError(
            f"weights must be 'n', a mapping group -> weight (numbers), or a frame "
            f"of traffic per window; got {weights!r}."
        ) from None
    _check_weights(mapping, "weights")
    return series[group].map(mapping).to_numpy(np.float64), True


def _check_weights(values, what) -> None:
    """Weights are shares of traffic: finite numbers >= 0."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    bad = ~(np.isfinite(numbers) & (numbers >= 0))
    if bad.any():
        example = values.index[bad.argmax()] if what == "weights" else None
        where = f" (e.g. group {example!r})" if example is not None else ""
        raise ValueError(
            f"{what} must be finite numbers >= 0; {int(bad.sum())} are not"
            f"{where}: {values.to_numpy()[bad][:5].tolist()}."
        )


def combine_groups(series, *, group="intent", weights="n") -> pd.DataFrame:
    """Combine per-group series (e.g. per intent) into one series per window.

    Parameters
    ----------
    series : pandas.DataFrame
        Series frame with a ``group`` column. Not modified.
    group : str, default="intent"
        Column whose groups are combined.
    weights : "n", mapping, or pandas.DataFrame, default="n"
        ``"n"``: each group weighted by its scores in the window (the pooled
        mean of all scores). A mapping ``{group: weight}``: a fixed
        reference mix (standardisation). A frame with ``window_start``,
        ``group`` and ``weight`` or ``n_requests`` (e.g. from
        :func:`span_series` with ``by=[group]``): each window's traffic mix.

    Returns
    -------
    pandas.DataFrame
        Series frame without the ``group`` column: ``window_start``, other
        groups, ``dimension``, ``n`` (sum), ``mean`` (weighted mean of the
        group means), ``std`` (standard deviation of the weighted mixture of
        the groups' scores), ``sem`` (``sqrt(sum p_g**2 sem_g**2)`` with
        normalised weights ``p_g``, i.e. conditional on the mix).

    Notes
    -----
    With a fixed mix or traffic weights, a window where a group of positive
    weight has no scores has no defined combined mean: ``mean`` is NaN there
    (reweighting over the groups present would mix the mix back in). A group
    whose window ``std`` is undefined (one score) takes the pooled
    within-group standard deviation of that window for its ``sem``.

    Examples
    --------
    >>> import pandas as pd
    >>> day = pd.Timestamp("2026-03-01", tz="UTC")
    >>> s = pd.DataFrame({"window_start": day, "intent": ["a", "b"],
    ...     "dimension": "format", "n": [30, 10], "mean": [4.0, 2.0],
    ...     "std": 1.0, "sem": [1 / 30**0.5, 1 / 10**0.5]})
    >>> float(combine_groups(s)["mean"].iloc[0])
    3.5
    >>> float(combine_groups(s, weights={"a": 0.5, "b": 0.5})["mean"].iloc[0])
    3.0
    """
    validate(series, "series")
    if group not in series.columns:
        raise ValueError(
            f"group column {group!r} is not in the series; present: "
            f"{list(series.columns)}."
        )
    keys = _keys(series, exclude=(group,))
    frame = series.reset_index(drop=True).copy()
    w, strict = _weights_frame(frame, group, weights, keys)
    frame["_w"] = np.where(np.isfinite(w), w, 0.0)
    frame["_has"] = frame["n"] > 0
    # within-window pooled std for groups with one score
    n = frame["n"].to_numpy(np.float64)
    var = frame["std"].to_numpy(np.float64) ** 2
    frame["_ss"] = np.where((n > 1) & np.isfinite(var), (n - 1) * var, 0.0)
    frame["_dof"] = np.where((n > 1) & np.isfinite(var), n - 1, 0.0)
    rows = []
    for name, part in frame.groupby(
        ["window_start"] + keys + ["dimension"], sort=True, dropna=False
    ):
        wt = part["_w"].to_numpy()
        has = part["_has"].to_numpy()
        total_n = int(part["n"].sum())
        mean = std = sem = np.nan
        missing = strict and bool(np.any((wt > 0) & ~has))
        if has.any() and wt[has].sum() > 0 and not missing:
            p = np.where(has, wt, 0.0) / wt[has].sum()
            m = part["mean"].to_numpy(np.float64)
            mean = float(np.sum(p[has] * m[has]))
            pooled = (
                part["_ss"].sum() / part["_dof"].sum() if part["_dof"].sum() else np.nan
            )
            sd = part["std"].to_numpy(np.float64)
            sd = np.where(np.isfinite(sd), sd, np.sqrt(pooled))
            std = float(np.sqrt(np.sum(p[has] * (sd[has] ** 2 + (m[has] - mean) ** 2))))
            counts = part["n"].to_numpy(np.float64)
            sem = float(np.sqrt(np.sum(p[has] ** 2 * sd[has] ** 2 / counts[has])))
        name = name if isinstance(name, tuple) else (name,)
        row = dict(zip(["window_start"] + keys + ["dimension"], name, strict=True))
        row.update(n=total_n, mean=mean, std=std, sem=sem)
        rows.append(row)
    columns = ["window_start"] + keys + ["dimension", "n", "mean", "std", "sem"]
    out = pd.DataFrame(rows, columns=columns)
    out["window_start"] = out["window_start"].astype(_UTC_NS)
    out["n"] = out["n"].astype("int64")
    out = out.sort_values(keys + ["dimension", "window_start"], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs.update(series.attrs)
    return out


def _period_mask(times, period, name):
    if not isinstance(period, (tuple, list)) or len(period) != 2:
        raise ValueError(
            f"{name} must be a (start, end) pair of tz-aware times, end exclusive;"
            f" got {period!r}."
        )
    if period[0] is None or period[1] is None:
        raise ValueError(f"{name} has a missing time (None): {period!r}.")
    lo, hi = _utc(period[0], f"{name}[0]"), _utc(period[1], f"{name}[1]")
    if hi <= lo:
        raise ValueError(f"{name}: end {hi} is not after start {lo}.")
    return (times >= lo) & (times < hi)


def mix_decomposition(
    series, *, group="intent", before, after, weights="n", detail=False
) -> pd.DataFrame:
    """Split a change in the overall mean into within-group and mix parts.

    Parameters
    ----------
    series : pandas.DataFrame
        Series frame with a ``group`` column (e.g. per-intent daily series).
    group : str, default="intent"
    before, after : (start, end) pairs of tz-aware times
        The two periods compared (end exclusive), by ``window_start``.
    weights : "n" or pandas.DataFrame, default="n"
        How groups are weighted in the overall mean: by their scores, or by
        traffic from a frame with ``window_start``, ``group`` and
        ``weight`` or ``n_requests``.
    detail : bool, default=False
        Return one row per group (its contributions) instead of one row per
        dimension.

    Returns
    -------
    pandas.DataFrame
        Per dimension (and other groups): ``mean_before``, ``mean_after``,
        ``change`` (after - before), ``within`` (part due to quality within
        groups), ``mix`` (part due to the shift in group shares); ``within +
        mix == change`` up to rounding. With ``detail=True`` also the group
        column and ``share_before``, ``share_after``.

    Notes
    -----
    With group shares ``s_g`` and group means ``m_g`` in each period, the
    overall mean is ``M = sum s_g m_g`` and, exactly,
    ``M_a - M_b = sum s̄_g (m_ag - m_bg) + sum m̄_g (s_ag - s_bg)`` with
    ``s̄`` and ``m̄`` the averages of the two periods: the symmetric
    two-factor (Kitagawa 1955; Das Gupta) split, which gives the same answer
    whichever period is taken as the reference. A group present in only one
    period has no within-group change (its mean is taken as equal in both
    periods) and contributes to the mix part only. Group means are pooled
    over the period's windows (``sum(n mean) / sum(n)``).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True)
    >>> s = pd.DataFrame({"window_start": t.repeat(2), "intent": ["a", "b"] * 2,
    ...     "dimension": "format", "n": [50, 50, 20, 80],
    ...     "mean": [4.0, 2.0, 4.0, 2.0], "std": 1.0, "sem": 0.1})
    >>> d = mix_decomposition(s, before=(t[0], t[1]), after=(t[1], t[1] + pd.Timedelta("1D")))
    >>> round(float(d["change"].iloc[0]), 3), round(float(d["mix"].iloc[0]), 3)
    (-0.6, -0.6)
    """
    validate(series, "series")
    if group not in series.columns:
        raise ValueError(
            f"group column {group!r} is not in the series; present: "
            f"{list(series.columns)}."
        )
    keys = _keys(series, exclude=(group,))
    frame = series.reset_index(drop=True).copy()
    w, _ = _weights_frame(frame, group, weights, keys)
    frame["_w"] = np.where(np.isfinite(w), w, 0.0)
    frame["_nx"] = frame["n"] * frame["mean"].fillna(0.0)
    times = frame["window_start"]
    periods = {
        "before": _period_mask(times, before, "before"),
        "after": _period_mask(times, after, "after"),
    }
    for period, mask in periods.items():
        if not (mask & (frame["n"] > 0)).any():
            bounds = before if period == "before" else after
            warnings.warn(
                f"mix_decomposition: {period} {tuple(str(t) for t in bounds)} "
                "holds no window with scores (the series runs from "
                f"{times.min()} to {times.max()}); its means are NaN.",
                LlmdriftWarning,
                stacklevel=2,
            )
    summary, details = [], []
    for name, part in frame.groupby(keys + ["dimension"], sort=True, dropna=False):
        name = name if isinstance(name, tuple) else (name,)
        label = dict(zip(keys + ["dimension"], name, strict=True))
        stats_ = {}
        for period, mask in periods.items():
            sub = part[mask[part.index]]
            by_group = sub.groupby(group, dropna=False)
            n = by_group["n"].sum()
            mean = by_group["_nx"].sum() / n.where(n > 0)
            weight = by_group["_w"].sum().where(n > 0, 0.0)
            stats_[period] = (mean, weight / weight.sum() if weight.sum() else weight)
        groups = stats_["before"][0].index.union(stats_["after"][0].index)
        mb = stats_["before"][0].reindex(groups)
        ma = stats_["after"][0].reindex(groups)
        sb = stats_["before"][1].reindex(groups).fillna(0.0)
        sa = stats_["after"][1].reindex(groups).fillna(0.0)
        # a group seen in one period only: equal means, so it is all mix
        mb, ma = mb.fillna(ma), ma.fillna(mb)
        mb, ma = mb.fillna(0.0), ma.fillna(0.0)
        within = (sa + sb) / 2 * (ma - mb)
        mix = (ma + mb) / 2 * (sa - sb)
        total_b = float((sb * mb).sum()) if sb.sum() else np.nan
        total_a = float((sa * ma).sum()) if sa.sum() else np.nan
        summary.append(
            dict(
                label,
                mean_before=total_b,
                mean_after=total_a,
                change=total_a - total_b,
                within=float(within.sum()),
                mix=float(mix.sum()),
            )
        )
        for g in groups:
            details.append(
                dict(
                    label,
                    **{group: g},
                    share_before=float(sb[g]),
                    share_after=float(sa[g]),
                    mean_before=float(mb[g]),
                    mean_after=float(ma[g]),
                    change=float(sa[g] * ma[g] - sb[g] * mb[g]),
                    within=float(within[g]),
                    mix=float(mix[g]),
                )
            )
    if detail:
        columns = keys + [
            "dimension",
            group,
            "share_before",
            "share_after",
            "mean_before",
            "mean_after",
            "change",
            "within",
            "mix",
        ]
        return pd.DataFrame(details, columns=columns)
    columns = keys + [
        "dimension",
        "mean_before",
        "mean_after",
        "change",
        "within",
        "mix",
    ]
    return pd.DataFrame(summary, columns=columns)
