"""Prompt-template hashes over time: timelines, changes, announcements, impact.

Every model call stamped by :mod:`llmdrift.tracing` carries the hash of its
prompt template (``spans.prompt_hash``). This module turns those stamps into

- :func:`hash_timeline`: one row per *regime*, the stretch of time in which one
  hash served the majority of a group's requests;
- :func:`hash_changes`: one row per change from one regime to the next;
- :func:`unannounced_changes`: the changes no deployment of that service
  explains (:func:`match_deployments` marks every change instead);
- :func:`change_impact`: what each change did to every quality dimension;
- :func:`missing_hash_share`: how many model calls carry no hash at all, so
  that missing instrumentation is not read as "no change";
- :func:`hash_share_series`: the share of each hash per window, for charts.

How a change is found
---------------------
Real rollouts are not instantaneous: a canary serves the new template to a few
percent of traffic, replicas restart one by one, and old and new hashes are
served side by side for hours. Counting every flip between consecutive
requests would report a flapping series of changes. llmdrift separates
*whether* a change happened from *when* it happened.

1. **Whether** (windowed majority with hysteresis). Requests of one group are
   counted per window (``freq``, one hour by default). The group starts in the
   regime of the hash that led its first ``min_duration`` of traffic. A
   different hash takes over only after it has led with at least
   ``switch_share`` of the requests in every non-empty window of a run that
   lasts at least ``min_duration``, and only when its share pooled over the
   run is clearly above one half (one-sided binomial test, p below
   ``switch_p``; at least 10 requests). A single window won by a canary,
   replicas that alternate around 50%, a random 50/50 split of a quiet
   service, or an hour-long blip never switch the regime. A run
   that is still going at the end of the data but is shorter than
   ``min_duration`` is reported with ``confirmed=False``.
2. **When** (best step). Given a switch from hash A to hash B, the change time
   is the split of the A and B requests (between the previous change and the
   end of the run that confirmed B) that leaves the fewest requests on the
   wrong side: B before it plus A after it. That count falls while B serves
   more than half of the traffic and rises while it serves less, so the best
   split is where B's share crosses 50%; among equally good splits the latest
   is taken, which is when B became the majority *for good*. The change time
   is always the time of a request with hash B.
3. **Since when** (presence). ``first_seen`` is the first B request after the
   last non-empty window before the change that had no B request: the start
   of B's continuous presence, i.e. of the rollout. ``rollout_hours`` is the
   time from ``first_seen`` to the change.

Known shortcomings
------------------
- A hash that never leads (a canary rolled back below ``switch_share``, or a
  permanent 20% experiment arm) makes no change event; it is visible in
  :func:`hash_share_series` only.
- On a group with a handful of requests per window, two replicas serving
  different hashes can still, rarely, produce a run that passes the
  hysteresis by chance (about once per 1/``switch_p`` runs); lower
  ``switch_p`` or widen ``freq`` for such traffic.
- :func:`change_impact` compares plain means of the scored requests; it does
  not reweight a sample that was not uniform within the group (for example a
  judge sample that always includes errored requests).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from llmdrift.schema import LlmdriftWarning, SchemaError

__all__ = [
    "change_impact",
    "hash_changes",
    "hash_share_series",
    "hash_timeline",
    "match_deployments",
    "missing_hash_share",
    "unannounced_changes",
]

_UTC = "datetime64[ns, UTC]"
_NS_PER_HOUR = 3_600_000_000_000
_CHANGE_COLUMNS = (
    "from_hash",
    "to_hash",
    "from_version",
    "to_version",
    "time",
    "first_seen",
    "rollout_hours",
    "switch_complete",
    "n_before",
    "n_after",
    "confirmed",
)


# --- input checks --------------------------------------------------------------


def _as_by(by) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    by = tuple(by)
    for name in by:
        if not isinstance(name, str):
            raise TypeError(f"by must name columns (str), got {name!r}")
    return by


def _as_timedelta(value, name: str) -> pd.Timedelta:
    try:
        delta = pd.Timedelta(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a duration such as '2h' or pd.Timedelta(hours=2), "
            f"got {value!r}"
        ) from None
    if pd.isna(delta) or delta <= pd.Timedelta(0):
        raise ValueError(f"{name} must be a positive duration, got {value!r}")
    return delta


def _require(df, columns: Sequence[str], kind: str, hint: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"expected a pandas DataFrame of {kind}, got {type(df).__name__}"
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{kind} frame: missing column {missing[0]!r}; present: "
            f"{list(df.columns)[:12]}. {hint}"
        )


def _utc_ns(series: pd.Series, kind: str) -> np.ndarray:
    """Int64 nanoseconds since the epoch of a tz-aware UTC column."""
    name = series.name
    dtype = series.dtype
    if not isinstance(dtype, pd.DatetimeTZDtype):
        if pd.api.types.is_datetime64_dtype(dtype):
            raise SchemaError(
                f"{kind} frame: column {name!r} holds naive times (no time zone); "
                "llmdrift does not guess zones. If they are UTC, fix with "
                f"df[{name!r}] = df[{name!r}].dt.tz_localize('UTC')."
            )
        raise SchemaError(
            f"{kind} frame: column {name!r} must be tz-aware UTC datetimes, got "
            f"dtype {dtype}; fix with pd.to_datetime(df[{name!r}], utc=True)."
        )
    if series.isna().any():
        raise SchemaError(
            f"{kind} frame: column {name!r} has {int(series.isna().sum())} missing "
            "times; drop or fill those rows first."
        )
    return series.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()


def _to_time(ns) -> pd.Timestamp:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC")


def _model_calls(spans: pd.DataFrame) -> pd.Series:
    """Boolean mask of model-call rows (span_kind 'llm', or unknown kind)."""
    if "span_kind" not in spans.columns:
        return pd.Series(True, index=spans.index)
    kind = spans["span_kind"].astype("string")
    return (kind.isna() | (kind == "llm")).fillna(True).astype(bool)


def _prepare(spans: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """Hashed model calls: by columns, time (ns), hash, version; sorted."""
    _require(
        spans,
        ("start_time", "prompt_hash", *by),
        "spans",
        "Read spans with llmdrift.read_otlp (prompt hashes come from the "
        "llmdrift.prompt.template_hash attribute) or map a hash column with "
        "llmdrift.from_table(df, columns={'prompt_hash': ...}).",
    )
    if "span_id" in spans.columns:
        repeated = spans["span_id"].duplicated()
        if repeated.any():
            raise SchemaError(
                f"spans frame: column 'span_id' must be unique, but "
                f"{spans.loc[repeated, 'span_id'].iloc[0]!r} appears more than "
                f"once ({int(repeated.sum())} repeats); every request would count "
                "twice in the hash shares. Drop them first, e.g. "
                "spans.drop_duplicates('span_id')."
            )
    calls = spans.loc[_model_calls(spans)]
    hashes = calls["prompt_hash"].astype("string")
    calls = calls.loc[hashes.notna().to_numpy()]
    out = pd.DataFrame(
        {name: calls[name].astype("string") for name in by}, index=calls.index
    )
    out["_t"] = _utc_ns(calls["start_time"], "spans")
    out["_hash"] = calls["prompt_hash"].astype("string")
    if "prompt_version" in calls.columns:
        out["_version"] = calls["prompt_version"].astype("string")
    else:
        out["_version"] = pd.Series(pd.NA, index=out.index, dtype="string")
    return out.sort_values([*by, "_t"], kind="stable").reset_index(drop=True)


def _groups(frame: pd.DataFrame, by: tuple[str, ...]):
    if not by:
        yield (), frame
        return
    for key, group in frame.groupby(list(by), dropna=False, sort=True):
        yield tuple(key), group


# --- segmentation ----------------------------------------------------------------


def _mode(values: pd.Series):
    values = values.dropna()
    if values.empty:
        return pd.NA
    counts = values.value_counts()
    return counts.index[0]


def _segment(
    t: np.ndarray,
    h: np.ndarray,
    *,
    freq: int,
    min_duration: int,
    switch_share: float,
    switch_p: float,
) -> list[dict]:
    """Regimes of one group: hash, time (ns), first_seen (ns), confirmed.

    ``t`` is sorted int64 ns, ``h`` integer hash codes of the same length.
    """
    w = np.floor_divide(t, freq)
    keys, counts = np.unique(np.stack([w, h], axis=1), axis=0, return_counts=True)
    pair_w, pair_h = keys[:, 0], keys[:, 1]
    windows, starts = np.unique(pair_w, return_index=True)
    ends = np.append(starts[1:], len(pair_w))
    totals = np.add.reduceat(counts, starts)

    # leader of every non-empty window
    leaders = np.empty(len(windows), dtype=np.int64)
    shares = np.empty(len(windows))
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        j = a + int(np.argmax(counts[a:b]))
        leaders[i] = pair_h[j]
        shares[i] = counts[j] / totals[i]

    # initial regime: the hash with most requests in the first min_duration
    head = t < t[0] + min_duration
    state = int(np.bincount(h[head]).argmax())
    regimes = [{"hash": state, "time": int(t[0]), "run_end": None, "confirmed": True}]

    # hysteresis: a challenger must lead every window of a long enough run
    run_hash, run_first, run_n, run_total = -1, -1, 0, 0
    for i in range(len(windows)):
        leader = int(leaders[i])
        if leader == state or shares[i] < switch_share:
            run_hash, run_n, run_total = -1, 0, 0
            continue
        if leader != run_hash:
            run_hash, run_first, run_n, run_total = leader, i, 0, 0
        run_n += int(round(shares[i] * totals[i]))
        run_total += int(totals[i])
        span = (windows[i] + 1 - windows[run_first]) * freq
        # P(at least run_n of run_total) if the hash served only half
        evidence = stats.binom.sf(run_n - 1, run_total, 0.5)
        if span >= min_duration and evidence < switch_p:
            regimes.append(
                {
                    "hash": leader,
                    "run_start": int(windows[run_first] * freq),
                    "run_end": int((windows[i] + 1) * freq),
                    "confirmed": True,
                }
            )
            state, run_hash, run_n, run_total = leader, -1, 0, 0
    if run_hash >= 0:
        # still leading at the end of the data, but not for long enough yet
        regimes.append(
            {
                "hash": run_hash,
                "run_start": int(windows[run_first] * freq),
                "run_end": int(t[-1]) + 1,
                "confirmed": False,
            }
        )

    # presence of each hash per window, for first_seen / last_seen
    present = {int(code): set(pair_w[pair_h == code].tolist()) for code in set(h)}

    # locate every change by the best step between the two hashes
    for k in range(1, len(regimes)):
        old, new = regimes[k - 1]["hash"], regimes[k]["hash"]
        lo, hi = regimes[k - 1]["time"], regimes[k]["run_end"]
        idx = np.flatnonzero((t >= lo) & (t < hi) & ((h == old) | (h == new)))
        is_new = (h[idx] == new).astype(np.int64)
        m = len(idx)
        cum = np.concatenate([[0], np.cumsum(is_new)])
        split = np.arange(m + 1)
        wrong = 2 * cum + (m - split) - cum[-1]  # new before + old after
        best = np.flatnonzero(wrong == wrong.min())
        best = best[best < m]
        j = int(best[-1]) if len(best) else int(np.flatnonzero(is_new)[0])
        change = int(t[idx[j]])
        regimes[k]["time"] = change

        # start of the new hash's continuous presence before the change
        before = windows[(windows < change // freq) & (windows >= lo // freq)]
        absent = [x for x in before.tolist() if x not in present[new]]
        start = (absent[-1] + 1) * freq if absent else lo
        first = np.flatnonzero((h == new) & (t >= max(start, lo)))
        regimes[k]["first_seen"] = int(t[first[0]]) if len(first) else change

    regimes[0]["first_seen"] = int(t[h == regimes[0]["hash"]][0])
    for k, regime in enumerate(regimes):
        end = regimes[k + 1]["time"] if k + 1 < len(regimes) else int(t[-1]) + 1
        regime["end"] = end
        # end of continuous presence after the regime ends
        after = windows[windows >= end // freq] if k + 1 < len(regimes) else []
        gone = [x for x in list(after) if x not in present[regime["hash"]]]
        stop = gone[0] * freq if gone else int(t[-1]) + 1
        if k + 2 < len(regimes):
            stop = min(stop, regimes[k + 2]["time"])
        mine = np.flatnonzero(
            (h == regime["hash"]) & (t < stop) & (t >= regime["time"])
        )
        regime["last_seen"] = int(t[mine[-1]]) if len(mine) else regime["time"]
    return regimes


def _segment_all(
    spans, by, *, freq, min_duration, switch_share, switch_p
) -> tuple[pd.DataFrame, list[tuple[tuple, pd.DataFrame, list[dict], list[str]]]]:
    by = _as_by(by)
    freq_ns = _as_timedelta(freq, "freq").value
    min_ns = _as_timedelta(min_duration, "min_duration").value
    if not 0.5 <= float(switch_share) <= 1.0:
        raise ValueError(
            f"switch_share must be between 0.5 and 1 (a share of a window's "
            f"requests), got {switch_share!r}"
        )
    if not 0 < float(switch_p) < 1:
        raise ValueError(f"switch_p must be between 0 and 1, got {switch_p!r}")
    frame = _prepare(spans, by)
    results = []
    for key, group in _groups(frame, by):
        codes, uniques = pd.factorize(group["_hash"], sort=True)
        regimes = _segment(
            group["_t"].to_numpy(),
            codes.astype(np.int64),
            freq=freq_ns,
            min_duration=min_ns,
            switch_share=float(switch_share),
            switch_p=float(switch_p),
        )
        results.append((key, group, regimes, [str(u) for u in uniques]))
    return frame, results


# --- public: timeline and changes ------------------------------------------------


def hash_timeline(
    spans: pd.DataFrame,
    *,
    by: Sequence[str] | str = ("service", "intent"),
    freq: str | pd.Timedelta = "1h",
    min_duration: str | pd.Timedelta = "2h",
    switch_share: float = 0.75,
    switch_p: float = 0.001,
) -> pd.DataFrame:
    """One row per prompt-hash regime per group.

    A regime is the stretch of time in which one template hash served the
    majority of a group's model calls; see the module docstring for how
    regimes are found, and why a rollout where old and new hashes run side by
    side for hours is one change.

    Parameters
    ----------
    spans : pandas.DataFrame
        Needs ``start_time`` (UTC), ``prompt_hash`` and the ``by`` columns;
        ``prompt_version`` and ``span_kind`` are used when present. Only model
        calls (``span_kind`` "llm", or missing) with a hash are counted; see
        :func:`missing_hash_share` for the calls without one.
    by : sequence of str or str, default=("service", "intent")
        Columns that define a group; each group has its own timeline. A
        missing value forms its own group.
    freq : str or pandas.Timedelta, default="1h"
        Window in which the leading hash is counted.
    min_duration : str or pandas.Timedelta, default="2h"
        How long a new hash must lead, window after window, to switch regime.
    switch_share : float, default=0.75
        Share of a window's requests the new hash needs for the window to count
        towards a switch.
    switch_p : float, default=0.001
        The run must show the new hash above half of the traffic at this
        significance (one-sided binomial test on the run's pooled counts).

    Returns
    -------
    pandas.DataFrame
        Sorted by group and ``start``, with columns

        - *by* : the group (string).
        - ``segment`` (int64): 0, 1, ... within the group.
        - ``hash`` (string), ``version`` (string): the regime's hash and its
          most common ``prompt_version`` (``<NA>`` if none recorded).
        - ``start``, ``end`` (datetime64[ns, UTC]): the regime is
          ``[start, end)``; ``start`` is the change time (the group's first
          request for segment 0); ``end`` is the next change time, or just
          after the group's last request.
        - ``first_seen``, ``last_seen`` (datetime64[ns, UTC]): first and last
          request with this hash in its continuous presence around the
          regime, rollout and drain included.
        - ``n_requests`` (int64): requests with this hash in ``[start, end)``.
        - ``n_total`` (int64): the group's hashed requests in ``[start, end)``.
        - ``share`` (float64): ``n_requests / n_total``.
        - ``confirmed`` (bool): False for a last regime that has led for
          less than ``min_duration`` so far.

    Examples
    --------
    >>> import pandas as pd
    >>> times = pd.date_range("2024-06-01", periods=96, freq="h", tz="UTC")
    >>> spans = pd.DataFrame({"start_time": times, "service": "api",
    ...                       "prompt_hash": ["aaa"] * 48 + ["bbb"] * 48})
    >>> tl = hash_timeline(spans, by="service")
    >>> tl[["hash", "n_requests"]].values.tolist()
    [['aaa', 48], ['bbb', 48]]
    >>> str(tl["start"].iloc[1])
    '2024-06-03 00:00:00+00:00'
    """
    by = _as_by(by)
    _, results = _segment_all(
        spans,
        by,
        freq=freq,
        min_duration=min_duration,
        switch_share=switch_share,
        switch_p=switch_p,
    )
    rows = []
    for key, group, regimes, names in results:
        t = group["_t"].to_numpy()
        hashes = group["_hash"].to_numpy()
        for k, regime in enumerate(regimes):
            inside = (t >= regime["time"]) & (t < regime["end"])
            name = names[regime["hash"]]
            mine = inside & (hashes == name)
            n_total = int(inside.sum())
            rows.append(
                {
                    **dict(zip(by, key, strict=True)),
                    "segment": k,
                    "hash": name,
                    "version": _mode(group.loc[mine, "_version"]),
                    "start": _to_time(regime["time"]),
                    "end": _to_time(regime["end"]),
                    "first_seen": _to_time(regime["first_seen"]),
                    "last_seen": _to_time(regime["last_seen"]),
                    "n_requests": int(mine.sum()),
                    "n_total": n_total,
                    "share": mine.sum() / n_total if n_total else math.nan,
                    "confirmed": bool(regime["confirmed"]),
                }
            )
    columns = {
        **{name: "string" for name in by},
        "segment": "int64",
        "hash": "string",
        "version": "string",
        "start": _UTC,
        "end": _UTC,
        "first_seen": _UTC,
        "last_seen": _UTC,
        "n_requests": "int64",
        "n_total": "int64",
        "share": "float64",
        "confirmed": "bool",
    }
    return _typed(rows, columns)


def _typed(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(columns))
    for name, dtype in columns.items():
        if dtype == _UTC:
            out[name] = pd.to_datetime(out[name], utc=True).dt.as_unit("ns")
        else:
            out[name] = out[name].astype(dtype)
    return out.reset_index(drop=True)


def hash_changes(
    spans: pd.DataFrame,
    *,
    by: Sequence[str] | str = ("service", "intent"),
    freq: str | pd.Timedelta = "1h",
    min_duration: str | pd.Timedelta = "2h",
    switch_share: float = 0.75,
    switch_p: float = 0.001,
    complete_within: str | pd.Timedelta = "24h",
) -> pd.DataFrame:
    """Prompt-template changes: one row per switch from one hash to another.

    Parameters
    ----------
    spans : pandas.DataFrame
        As in :func:`hash_timeline`.
    by, freq, min_duration, switch_share, switch_p
        As in :func:`hash_timeline`.
    complete_within : str or pandas.Timedelta, default="24h"
        Horizon after the change over which ``switch_complete`` is measured.

    Returns
    -------
    pandas.DataFrame
        Sorted by group and ``time``; ``attrs["by"]`` holds the group
        columns. Columns:

        - *by* : the group (string).
        - ``from_hash``, ``to_hash`` (string) and ``from_version``,
          ``to_version`` (string, most common ``prompt_version`` of each hash
          in its regime; ``<NA>`` if not recorded).
        - ``time`` (datetime64[ns, UTC]): when the new hash became the
          majority for good (the best step; module docstring).
        - ``first_seen`` (datetime64[ns, UTC]): first request with the new
          hash in its continuous presence before ``time``.
        - ``rollout_hours`` (float64): ``time - first_seen`` in hours.
        - ``switch_complete`` (float64): share of the group's hashed requests
          served by the new hash in ``[time, time + complete_within)``; 1.0
          is a complete switch, a low value a partial rollout or a rollback.
        - ``n_before``, ``n_after`` (int64): the group's hashed requests in
          the regime before and the regime after the change.
        - ``confirmed`` (bool): False when the new hash has led for less than
          ``min_duration`` at the end of the data.

    Examples
    --------
    >>> import pandas as pd
    >>> times = pd.date_range("2024-06-01", periods=96, freq="h", tz="UTC")
    >>> spans = pd.DataFrame({"start_time": times, "service": "api",
    ...                       "intent": "triage",
    ...                       "prompt_hash": ["aaa"] * 48 + ["bbb"] * 48})
    >>> ch = hash_changes(spans)
    >>> ch[["from_hash", "to_hash", "n_before", "n_after"]].values.tolist()
    [['aaa', 'bbb', 48, 48]]
    >>> str(ch["time"].iloc[0]), float(ch["switch_complete"].iloc[0])
    ('2024-06-03 00:00:00+00:00', 1.0)
    """
    by = _as_by(by)
    horizon = _as_timedelta(complete_within, "complete_within").value
    _, results = _segment_all(
        spans,
        by,
        freq=freq,
        min_duration=min_duration,
        switch_share=switch_share,
        switch_p=switch_p,
    )
    rows = []
    for key, group, regimes, names in results:
        t = group["_t"].to_numpy()
        hashes = group["_hash"].to_numpy()
        versions = group["_version"]
        for k in range(1, len(regimes)):
            old, new = regimes[k - 1], regimes[k]
            old_name, new_name = names[old["hash"]], names[new["hash"]]
            in_old = (t >= old["time"]) & (t < old["end"])
            in_new = (t >= new["time"]) & (t < new["end"])
            soon = (t >= new["time"]) & (t < new["time"] + horizon)
            rows.append(
                {
                    **dict(zip(by, key, strict=True)),
                    "from_hash": old_name,
                    "to_hash": new_name,
                    "from_version": _mode(versions[in_old & (hashes == old_name)]),
                    "to_version": _mode(versions[in_new & (hashes == new_name)]),
                    "time": _to_time(new["time"]),
                    "first_seen": _to_time(new["first_seen"]),
                    "rollout_hours": (new["time"] - new["first_seen"]) / _NS_PER_HOUR,
                    "switch_complete": float((hashes[soon] == new_name).mean()),
                    "n_before": int(in_old.sum()),
                    "n_after": int(in_new.sum()),
                    "confirmed": bool(new["confirmed"]),
                }
            )
    columns = {
        **{name: "string" for name in by},
        "from_hash": "string",
        "to_hash": "string",
        "from_version": "string",
        "to_version": "string",
        "time": _UTC,
        "first_seen": _UTC,
        "rollout_hours": "float64",
        "switch_complete": "float64",
        "n_before": "int64",
        "n_after": "int64",
        "confirmed": "bool",
    }
    out = _typed(rows, columns)
    out.attrs["by"] = list(by)
    return out


# --- public: announcements and missing hashes ------------------------------------


def _match_deployments(
    changes: pd.DataFrame, deployments: pd.DataFrame, tolerance
) -> pd.DataFrame:
    """Copy of ``changes`` with announced / nearest deployment columns."""
    tol = _as_timedelta(tolerance, "tolerance")
    _require(
        changes,
        ("service", "time", "first_seen"),
        "changes",
        "Compute changes with llmdrift.hash_changes(spans, by=(..., 'service', ...))"
        " so that each change names its service.",
    )
    _require(
        deployments,
        ("time", "service"),
        "deployments",
        "Give one row per deployment with time (UTC) and service.",
    )
    change_end = _utc_ns(changes["time"], "changes")
    change_start = _utc_ns(changes["first_seen"], "changes")
    if len(deployments):
        deploy_t = _utc_ns(deployments["time"], "deployments")
    else:  # an empty frame may come without a typed time column
        deploy_t = np.empty(0, dtype=np.int64)
    deploy_service = deployments["service"].astype("string").to_numpy()

    nearest, signed = [], []
    for service, lo, hi in zip(
        changes["service"].astype("string"), change_start, change_end, strict=True
    ):
        mask = deploy_service == service if not pd.isna(service) else None
        times = deploy_t[mask] if mask is not None else deploy_t[:0]
        if len(times) == 0:
            nearest.append(pd.NaT)
            signed.append(pd.NaT)
            continue
        # signed distance from each deployment to the rollout interval [lo, hi]
        gap = np.where(times < lo, times - lo, np.where(times > hi, times - hi, 0))
        best = int(np.argmin(np.abs(gap)))
        nearest.append(_to_time(times[best]))
        signed.append(pd.Timedelta(int(gap[best]), unit="ns"))
    out = changes.copy()
    out["nearest_deployment"] = pd.to_datetime(
        pd.Series(nearest, index=out.index, dtype="object"), utc=True
    ).dt.as_unit("ns")
    out["nearest_deployment_gap"] = pd.to_timedelta(
        pd.Series(signed, index=out.index, dtype="object")
    ).astype("timedelta64[ns]")
    out["gap"] = out["nearest_deployment_gap"].abs()
    out["announced"] = (out["gap"] <= tol).fillna(False).astype(bool)
    return out


def match_deployments(
    changes: pd.DataFrame,
    deployments: pd.DataFrame,
    *,
    tolerance: str | pd.Timedelta = "2h",
) -> pd.DataFrame:
    """Every change, marked announced or not, with its nearest deployment.

    The same rule as :func:`unannounced_changes`, which keeps only the rows
    with ``announced`` False.

    Parameters
    ----------
    changes, deployments, tolerance
        As in :func:`unannounced_changes`.

    Returns
    -------
    pandas.DataFrame
        A copy of ``changes`` plus ``nearest_deployment``,
        ``nearest_deployment_gap``, ``gap`` (as in :func:`unannounced_changes`)
        and ``announced`` (bool: ``gap <= tolerance``).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.Timestamp("2024-06-04 14:00", tz="UTC")
    >>> changes = pd.DataFrame({"service": ["api"], "first_seen": [t],
    ...                         "time": [t + pd.Timedelta("1h")]})
    >>> deployments = pd.DataFrame({"service": ["api"],
    ...                             "time": [t + pd.Timedelta("2h")]})
    >>> match_deployments(changes, deployments)["announced"].tolist()
    [True]
    """
    return _match_deployments(changes, deployments, tolerance).reset_index(drop=True)


def unannounced_changes(
    changes: pd.DataFrame,
    deployments: pd.DataFrame,
    *,
    tolerance: str | pd.Timedelta = "2h",
) -> pd.DataFrame:
    """The prompt changes that no deployment of their service explains.

    A change is *announced* when a deployment of the same service took effect
    within ``tolerance`` of its rollout interval ``[first_seen, time]``: the
    whole rollout counts, so a deployment at the start of a six-hour canary
    announces a change that became the majority at its end.

    Parameters
    ----------
    changes : pandas.DataFrame
        Output of :func:`hash_changes` grouped by a ``service`` column: needs
        ``service``, ``time`` and ``first_seen``.
    deployments : pandas.DataFrame
        Deployments frame: ``time`` (UTC) and ``service``. Services are
        matched exactly; a deployment with a missing service announces
        nothing.
    tolerance : str or pandas.Timedelta, default="2h"

    Returns
    -------
    pandas.DataFrame
        The unannounced rows of ``changes`` (all its columns, original row
        order, new RangeIndex) plus

        - ``nearest_deployment`` (datetime64[ns, UTC]): the service's
          deployment closest to the rollout interval; NaT if it has none.
        - ``nearest_deployment_gap`` (timedelta64[ns]): signed distance from
          the rollout interval to that deployment, negative when the
          deployment came before ``first_seen``, positive after ``time``;
          NaT if none.
        - ``gap`` (timedelta64[ns]): its absolute value.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.Timestamp("2024-06-04 14:00", tz="UTC")
    >>> changes = pd.DataFrame({"service": ["api", "api"],
    ...     "first_seen": [t, t + pd.Timedelta("3D")],
    ...     "time": [t + pd.Timedelta("1h"), t + pd.Timedelta("3D1h")]})
    >>> deployments = pd.DataFrame({"service": ["api"],
    ...     "time": [t - pd.Timedelta("30min")]})
    >>> out = unannounced_changes(changes, deployments)
    >>> len(out), out["nearest_deployment_gap"].iloc[0] / pd.Timedelta("1h")
    (1, -72.5)
    """
    matched = _match_deployments(changes, deployments, tolerance)
    out = matched.loc[~matched["announced"]].drop(columns="announced")
    return out.reset_index(drop=True)


def missing_hash_share(
    spans: pd.DataFrame, *, by: Sequence[str] | str = "service"
) -> pd.DataFrame:
    """Share of model calls that carry no prompt hash, per group.

    A service that never stamps its spans shows no prompt change at all;
    this table makes that absence visible instead of reading it as "stable".

    Parameters
    ----------
    spans : pandas.DataFrame
        Needs the ``by`` columns; ``prompt_hash`` and ``span_kind`` are used
        when present (no ``prompt_hash`` column means every call is missing
        it). Only model calls (``span_kind`` "llm" or missing) count.
    by : sequence of str or str, default="service"

    Returns
    -------
    pandas.DataFrame
        One row per group: *by* (string), ``n_model_calls`` (int64),
        ``n_missing_hash`` (int64), ``missing_share`` (float64, NaN for no
        calls), sorted by group.

    Examples
    --------
    >>> import pandas as pd
    >>> spans = pd.DataFrame({"service": ["a", "a", "a", "b"],
    ...                       "span_kind": ["llm", "llm", "tool", "llm"],
    ...                       "prompt_hash": ["x", None, None, "y"]})
    >>> missing_hash_share(spans).values.tolist()
    [['a', 2, 1, 0.5], ['b', 1, 0, 0.0]]
    """
    by = _as_by(by)
    _require(spans, by, "spans", "Pass by= columns that exist in spans.")
    calls = spans.loc[_model_calls(spans)]
    frame = pd.DataFrame({name: calls[name].astype("string") for name in by})
    if "prompt_hash" in calls.columns:
        frame["_missing"] = calls["prompt_hash"].isna().to_numpy()
    else:
        frame["_missing"] = True
    if by:
        grouped = frame.groupby(list(by), dropna=False, sort=True)["_missing"]
        out = grouped.agg(n_model_calls="size", n_missing_hash="sum").reset_index()
    else:
        out = pd.DataFrame(
            {
                "n_model_calls": [len(frame)],
                "n_missing_hash": [int(frame["_missing"].sum())],
            }
        )
    out["n_model_calls"] = out["n_model_calls"].astype("int64")
    out["n_missing_hash"] = out["n_missing_hash"].astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["missing_share"] = (out["n_missing_hash"] / out["n_model_calls"]).astype(
            "float64"
        )
    return out.reset_index(drop=True)


def hash_share_series(
    spans: pd.DataFrame,
    *,
    by: Sequence[str] | str = ("service", "intent"),
    freq: str | pd.Timedelta = "1h",
) -> pd.DataFrame:
    """Requests and share per prompt hash per window: the data of a hash chart.

    Parameters
    ----------
    spans : pandas.DataFrame
        As in :func:`hash_timeline`.
    by : sequence of str or str, default=("service", "intent")
    freq : str or pandas.Timedelta, default="1h"

    Returns
    -------
    pandas.DataFrame
        Columns ``window_start`` (datetime64[ns, UTC]), *by* (string),
        ``prompt_hash`` (string), ``n`` (int64), ``share`` (float64, of the
        group's hashed requests in that window); only non-empty windows.

    Examples
    --------
    >>> import pandas as pd
    >>> spans = pd.DataFrame({
    ...     "start_time": pd.to_datetime(["2024-06-01 10:05", "2024-06-01 10:40",
    ...                                   "2024-06-01 11:10"], utc=True),
    ...     "service": "api", "prompt_hash": ["a", "b", "b"]})
    >>> hash_share_series(spans, by="service")["share"].tolist()
    [0.5, 0.5, 1.0]
    """
    by = _as_by(by)
    freq_ns = _as_timedelta(freq, "freq").value
    frame = _prepare(spans, by)
    frame["window_start"] = frame["_t"] // freq_ns * freq_ns
    keys = ["window_start", *by]
    counts = (
        frame.groupby([*keys, "_hash"], dropna=False, sort=True)
        .size()
        .rename("n")
        .reset_index()
        .rename(columns={"_hash": "prompt_hash"})
    )
    totals = counts.groupby(keys, dropna=False)["n"].transform("sum")
    counts["share"] = (counts["n"] / totals).astype("float64")
    counts["n"] = counts["n"].astype("int64")
    counts["window_start"] = pd.to_datetime(
        counts["window_start"], unit="ns", utc=True
    ).dt.as_unit("ns")
    counts["prompt_hash"] = counts["prompt_hash"].astype("string")
    order = [*by, "window_start", "prompt_hash"]
    counts = counts.sort_values(order, kind="stable")
    return counts[["window_start", *by, "prompt_hash", "n", "share"]].reset_index(
        drop=True
    )


# --- public: impact of a change on quality ---------------------------------------


def _welch_interval(before, after, confidence) -> tuple[float, float]:
    """Welch interval of mean(after) - mean(before)."""
    n0, n1 = len(before), len(after)
    diff = float(after.mean() - before.mean())
    v0, v1 = before.var(ddof=1) / n0, after.var(ddof=1) / n1
    se = math.sqrt(v0 + v1)
    if se == 0.0:
        return diff, diff
    df = (v0 + v1) ** 2 / (v0**2 / (n0 - 1) + v1**2 / (n1 - 1))
    q = float(stats.t.ppf((1 + confidence) / 2, df))
    return diff - q * se, diff + q * se


def _compare(before: np.ndarray, after: np.ndarray, confidence: float) -> dict:
    """Test one dimension before vs after; see change_impact Notes."""
    from statsmodels.stats.proportion import (
        confint_proportions_2indep,
        proportions_ztest,
    )

    n0, n1 = len(before), len(after)
    diff = float(after.mean() - before.mean())
    binary = bool(np.isin(np.concatenate([before, after]), (0.0, 1.0)).all())
    if binary:
        x0, x1 = int(before.sum()), int(after.sum())
        pooled = (x0 + x1) / (n0 + n1)
        smallest = min(n0, n1) * min(pooled, 1 - pooled)
        if smallest >= 5:
            statistic, p_value = proportions_ztest([x1, x0], [n1, n0])
            test = "two-proportion z"
        else:
            # an expected cell below 5: the normal approximation is poor
            result = stats.fisher_exact([[x1, n1 - x1], [x0, n0 - x0]])
            statistic, p_value = result.statistic, result.pvalue
            test = "fisher exact"
        low, high = confint_proportions_2indep(
            x1, n1, x0, n0, method="newcomb", compare="diff", alpha=1 - confidence
        )
        effect, effect_name = diff, "risk_difference"
    else:
        if np.ptp(np.concatenate([before, after])) == 0:
            # every value ties: U = n0 n1 / 2 and no evidence of a shift
            statistic, p_value = n0 * n1 / 2, 1.0
        else:
            result = stats.mannwhitneyu(after, before, alternative="two-sided")
            statistic, p_value = result.statistic, result.pvalue
        test = "mann-whitney"
        low, high = _welch_interval(before, after, confidence)
        effect, effect_name = 2 * statistic / (n0 * n1) - 1, "cliffs_delta"
    return {
        "test": test,
        "difference": diff,
        "ci_low": float(low),
        "ci_high": float(high),
        "statistic": float(statistic),
        "p_value": float(p_value),
        "effect_size": float(effect),
        "effect_size_name": effect_name,
        "binary": binary,
    }


def _hajek_mean(y: np.ndarray, prob: np.ndarray) -> tuple[float, float]:
    """Hajek mean and its linearisation variance under Poisson sampling."""
    weights = 1.0 / prob
    total = weights.sum()
    mean = float((weights * y).sum() / total)
    # residuals of the ratio sum(y/pi) / sum(1/pi); census rows (pi=1) add 0
    variance = float(((1.0 - prob) * (y - mean) ** 2 / prob**2).sum() / total**2)
    return mean, variance


def _weighted_cliffs_delta(before, after, w_before, w_after) -> float:
    """Sum of w_i w_j sign(after_i - before_j) over the weight of all pairs."""
    order = np.argsort(before, kind="stable")
    values, cum = before[order], np.concatenate([[0.0], np.cumsum(w_before[order])])
    below = cum[np.searchsorted(values, after, side="left")]
    above = cum[-1] - cum[np.searchsorted(values, after, side="right")]
    return float((w_after * (below - above)).sum() / (w_after.sum() * cum[-1]))


def _compare_weighted(
    before, after, p_before, p_after, confidence: float, binary: bool
) -> dict:
    """Hajek means compared with a z-test; see change_impact Notes."""
    m0, v0 = _hajek_mean(before, p_before)
    m1, v1 = _hajek_mean(after, p_after)
    diff = m1 - m0
    se = math.sqrt(v0 + v1)
    if se == 0.0:
        # both sides are censuses: the difference has no sampling error
        statistic, low, high = 0.0, diff, diff
        p_value = 1.0 if diff == 0.0 else 0.0
    else:
        statistic = diff / se
        p_value = float(2 * stats.norm.sf(abs(statistic)))
        half = float(stats.norm.ppf((1 + confidence) / 2)) * se
        low, high = diff - half, diff + half
    if binary:
        effect, effect_name = diff, "risk_difference"
    else:
        effect = _weighted_cliffs_delta(before, after, 1 / p_before, 1 / p_after)
        effect_name = "cliffs_delta"
    return {
        "test": "weighted z (hajek)",
        "mean_before": m0,
        "mean_after": m1,
        "difference": diff,
        "ci_low": float(low),
        "ci_high": float(high),
        "statistic": float(statistic),
        "p_value": float(p_value),
        "effect_size": float(effect),
        "effect_size_name": effect_name,
        "binary": binary,
    }


def _inclusion(scores: pd.DataFrame, spans: pd.DataFrame) -> pd.Series:
    """inclusion_prob per score row: from scores, else from spans, else 1."""
    if "inclusion_prob" in scores.columns:
        source, name = scores["inclusion_prob"], "scores"
    elif "inclusion_prob" in spans.columns:
        unique = spans.drop_duplicates("span_id")
        lookup = pd.Series(
            unique["inclusion_prob"].to_numpy(),
            index=unique["span_id"].astype("string").to_numpy(),
        )
        source = pd.Series(
            lookup.reindex(scores["span_id"].astype("string").to_numpy()).to_numpy(),
            index=scores.index,
        )
        if "kind" in scores.columns:
            # a check scores all traffic: the span's judging probability is
            # not the chance its heuristic score exists
            heuristic = scores["kind"].astype("string").eq("heuristic").fillna(False)
            source = source.where(~heuristic.to_numpy(), 1.0)
        name = "spans"
    else:
        return pd.Series(1.0, index=scores.index)
    try:
        prob = pd.to_numeric(source).astype(float)
    except (TypeError, ValueError):
        raise SchemaError(
            f"{name} column 'inclusion_prob' must hold numbers in (0, 1]; convert "
            f"it with pd.to_numeric(...), got e.g. {source.dropna().iloc[0]!r}"
        ) from None
    bad = prob.notna() & ~((prob > 0) & (prob <= 1))
    if bad.any():
        raise ValueError(
            f"{name} column 'inclusion_prob' must lie in (0, 1], got "
            f"{prob[bad].iloc[0]!r}; it is the chance the request was scored "
            "(1.0 for all traffic)"
        )
    # a missing probability means the score covers all traffic (checks)
    return prob.fillna(1.0)


def _short(value) -> str:
    return f"{str(value)[:6]}..." if not pd.isna(value) else "<no hash>"


def _verdict(row: dict, *, min_n: int, confidence: float) -> str:
    time = row["time"]
    what = (
        f"after hash {_short(row['to_hash'])} replaced {_short(row['from_hash'])} "
        f"on {time:%Y-%m-%d} at {time:%H:%M} UTC"
    )
    announced = row.get("announced")
    if announced is True:
        deployed = row["nearest_deployment"]
        what += f", announced (deployment at {deployed:%Y-%m-%d %H:%M} UTC)"
    elif announced is False:
        what += ", unannounced"
    dim = row["dimension"]
    if row["test"] is None:
        return (
            f"not enough data for {dim}, n={row['n_before']} before and "
            f"n={row['n_after']} after (need {min_n} each) {what}"
        )
    scale, unit = (100.0, "percentage points") if row["binary"] else (1.0, "points")
    diff = row["difference"] * scale
    low, high = row["ci_low"] * scale, row["ci_high"] * scale
    level = f"{confidence:.0%}"
    if row["significant"] and diff != 0:
        verb = "fell" if diff < 0 else "rose"
        if diff < 0:
            low, high = -high, -low
        return (
            f"{dim} {verb} {abs(diff):.2f} {unit} ({level} CI {low:.2f} to "
            f"{high:.2f}) {what}"
        )
    return (
        f"no significant change in {dim} ({diff:+.2f} {unit}, {level} CI "
        f"{low:.2f} to {high:.2f}, adjusted p={row['p_adjusted']:.2g}) {what}"
    )


def _infer_by(changes: pd.DataFrame, spans: pd.DataFrame) -> tuple[str, ...]:
    if "by" in changes.attrs:
        return _as_by(changes.attrs["by"])
    skip = set(_CHANGE_COLUMNS) | {
        "nearest_deployment",
        "nearest_deployment_gap",
        "gap",
        "announced",
    }
    return tuple(c for c in changes.columns if c not in skip and c in spans.columns)


def change_impact(
    changes: pd.DataFrame,
    spans: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    window: str | pd.Timedelta = "48h",
    min_n: int = 30,
    alpha: float = 0.05,
    confidence: float = 0.95,
    deployments: pd.DataFrame | None = None,
    tolerance: str | pd.Timedelta = "2h",
    by: Sequence[str] | str | None = None,
) -> pd.DataFrame:
    """What each prompt change did to every quality dimension of its group.

    For every change and every score dimension scored in the change's group,
    the scores of the ``window`` before the rollout are compared with those of
    the ``window`` after the new hash became the majority.

    Parameters
    ----------
    changes : pandas.DataFrame
        Output of :func:`hash_changes` (needs the group columns, ``from_hash``,
        ``to_hash``, ``time`` and ``first_seen``).
    spans : pandas.DataFrame
        Needs ``span_id`` and the group columns, to place each score in its
        group.
    scores : pandas.DataFrame
        Scores frame: ``span_id``, ``time`` (UTC), ``dimension``, ``value``;
        ``kind`` and ``inclusion_prob`` when present (else ``inclusion_prob``
        is taken from ``spans`` when it has one, as
        :func:`llmdrift.sample_for_judging` returns it, for every score whose
        ``kind`` is not "heuristic"). NaN values (failed scorers) are left out;
        a missing ``inclusion_prob`` counts as 1.0 (the score covers all
        traffic, as for checks).
    window : str or pandas.Timedelta, default="48h"
        Length of the before and after windows. Before is
        ``[first_seen - window, first_seen)``, so the rollout itself is
        excluded; after is ``[time, time + window)``. Both are cut at the
        neighbouring changes of the same group.
    min_n : int, default=30
        Scores needed on each side; with fewer the verdict is
        "not enough data, n=...", and no test is run.
    alpha : float, default=0.05
        False discovery rate for the Benjamini-Hochberg correction across all
        tests of the call (all dimensions of all changes).
    confidence : float, default=0.95
        Level of the interval of the difference.
    deployments : pandas.DataFrame, optional
        With deployments, every verdict says whether the change was announced
        (see :func:`unannounced_changes`) and the columns ``announced`` and
        ``nearest_deployment`` are added.
    tolerance : str or pandas.Timedelta, default="2h"
        As in :func:`unannounced_changes`.
    by : sequence of str or str, optional
        Group columns; by default ``changes.attrs["by"]`` as set by
        :func:`hash_changes`, else the columns shared by changes and spans.

    Returns
    -------
    pandas.DataFrame
        One row per change and ``(dimension, kind)``, ordered like
        ``changes`` then by dimension. Columns: *by*, ``from_hash``,
        ``to_hash``, ``time``, ``dimension``, ``kind``, ``test``
        ("mann-whitney", "two-proportion z", "fisher exact",
        "weighted z (hajek)"; ``<NA>`` when not enough data), ``n_before``,
        ``n_after`` (int64, scores used), ``mean_before``, ``mean_after``
        (Hajek means when inclusion probabilities differ, see Notes),
        ``difference`` (after - before; higher is better),
        ``ci_low``, ``ci_high`` (interval of the difference),
        ``statistic`` (U of the after sample, z, or Fisher's odds ratio),
        ``p_value``, ``p_adjusted`` (Benjamini-Hochberg), ``effect_size``
        (Cliff's delta for ordinal scores, risk difference for 0/1 checks),
        ``effect_size_name``, ``significant`` (bool, ``p_adjusted < alpha``),
        [``announced``, ``nearest_deployment``], ``verdict`` (str).

    Notes
    -----
    A dimension whose values are all 0 or 1 is a binary check: a pooled
    two-proportion z-test when every expected cell count is at least 5,
    Fisher's exact test otherwise, and Newcombe's interval of the difference
    of proportions. Any other dimension is treated as ordinal (e.g. 1-5 judge
    scores): a two-sided Mann-Whitney U test (p = 1 when every value ties),
    Cliff's delta as effect size, and Welch's interval for the difference of
    means.

    When the scores of a dimension were sampled with unequal inclusion
    probabilities (``inclusion_prob`` not constant, e.g. errored requests
    always judged and the rest at 5%), the plain mean over-represents the
    always-judged requests. Each side is then estimated by the Hajek mean
    ``sum(y/pi) / sum(1/pi)`` with its Taylor-linearised variance under
    Poisson sampling, ``sum((1 - pi)(y - mean)^2 / pi^2) / (sum 1/pi)^2``
    (the estimator of :func:`llmdrift.population_mean`), and the difference is
    tested with a two-sided z-test, ``z = difference / sqrt(v_before +
    v_after)``, whose normal interval is reported; the effect size is the
    risk difference for 0/1 checks and Cliff's delta with the same weights
    for ordinal scores. This is a normal approximation to the design: with
    few randomly sampled scores (under about 30 per side) its interval is too
    narrow. ``min_n`` counts scores, not their weights.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> times = pd.date_range("2024-06-01", periods=200, freq="30min", tz="UTC")
    >>> spans = pd.DataFrame({"span_id": [f"s{i}" for i in range(200)],
    ...     "start_time": times, "service": "api", "intent": "triage",
    ...     "prompt_hash": ["aaa111"] * 100 + ["bbb222"] * 100})
    >>> scores = pd.DataFrame({"span_id": spans["span_id"], "time": times,
    ...     "dimension": "format", "kind": "judge",
    ...     "value": np.r_[rng.integers(4, 6, 100), rng.integers(2, 5, 100)]})
    >>> impact = change_impact(hash_changes(spans), spans, scores)
    >>> bool(impact["significant"].iloc[0]), impact["verdict"].iloc[0][:17]
    (True, 'format fell 1.39 ')
    """
    for name, value in (("alpha", alpha), ("confidence", confidence)):
        if not 0 < float(value) < 1:
            raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    if int(min_n) < 2:
        raise ValueError(
            f"min_n must be at least 2 (a variance needs two), got {min_n}"
        )
    width = _as_timedelta(window, "window").value
    by = _as_by(by) if by is not None else _infer_by(changes, spans)
    _require(
        changes,
        (*by, "from_hash", "to_hash", "time", "first_seen"),
        "changes",
        "Compute changes with llmdrift.hash_changes(spans, by=...).",
    )
    _require(spans, ("span_id", *by), "spans", "Spans need span_id and the by columns.")
    _require(
        scores,
        ("span_id", "time", "dimension", "value"),
        "scores",
        "Give long rows span_id, time, dimension, value, kind.",
    )
    if deployments is not None:
        changes = _match_deployments(changes, deployments, tolerance)

    # place every score in its group through its span
    placed = pd.DataFrame(
        {
            "span_id": scores["span_id"].astype("string"),
            "_t": _utc_ns(scores["time"], "scores"),
            "dimension": scores["dimension"].astype("string"),
            "kind": (
                scores["kind"].astype("string")
                if "kind" in scores.columns
                else pd.Series(pd.NA, index=scores.index, dtype="string")
            ),
            "value": pd.to_numeric(scores["value"], errors="coerce").astype(float),
            "_p": _inclusion(scores, spans).to_numpy(),
        }
    )
    infinite = np.isinf(placed["value"].to_numpy())
    if infinite.any():
        raise ValueError(
            f"scores column 'value' holds {int(infinite.sum())} infinite value(s) "
            f"(e.g. span {placed.loc[infinite, 'span_id'].iloc[0]!r}); a score is "
            "a finite number, NaN when the scorer failed. Fix or drop those rows."
        )
    who = [c for c in ("scorer", "kind") if c in scores.columns][:1]
    ids = pd.DataFrame({"span_id": placed["span_id"], "dimension": placed["dimension"]})
    for name in who:
        ids[name] = scores[name].astype("string").to_numpy()
    # scores of spans not in spans are left out below (with a warning)
    known = ids["span_id"].isin(spans["span_id"].astype("string")).to_numpy()
    repeated = ids.duplicated().to_numpy() & known
    if repeated.any():
        names = ["span_id", "dimension", *who]
        raise ValueError(
            f"scores: {int(repeated.sum())} row(s) repeat a ({', '.join(names)}) "
            f"already scored, e.g. {ids.loc[repeated].iloc[0].tolist()}; a repeated "
            "score would count as another request. Keep one, e.g. "
            f"scores.drop_duplicates({names})."
        )
    failed = int(placed["value"].isna().sum())
    if failed:
        warnings.warn(
            f"change_impact: {failed} of {len(placed)} scores have no value (the "
            "scorer failed) and are left out; this assumes failures are unrelated "
            "to quality.",
            LlmdriftWarning,
            stacklevel=2,
        )
    keys = pd.DataFrame({name: spans[name].astype("string") for name in by})
    keys["span_id"] = spans["span_id"].astype("string")
    keys = keys.drop_duplicates("span_id")
    placed = placed.merge(keys, on="span_id", how="left", indicator=True)
    unplaced = int((placed["_merge"] == "left_only").sum())
    if unplaced:
        example = placed.loc[placed["_merge"] == "left_only", "span_id"].iloc[0]
        warnings.warn(
            f"{unplaced} of {len(placed)} scores have a span_id that is not in "
            f"spans (first: {example!r}); they are left out of change_impact.",
            LlmdriftWarning,
            stacklevel=2,
        )
    placed = placed.loc[(placed["_merge"] == "both") & placed["value"].notna()]
    by_group = dict(_groups(placed.drop(columns="_merge"), by))

    # neighbouring changes bound the windows
    change_t = _utc_ns(changes["time"], "changes")
    change_first = _utc_ns(changes["first_seen"], "changes")
    group_keys = (
        [
            tuple(pd.NA if pd.isna(v) else str(v) for v in row)
            for row in changes[list(by)].itertuples(index=False, name=None)
        ]
        if by
        else [()] * len(changes)
    )

    rows = []
    for i in range(len(changes)):
        key = group_keys[i]
        same = [j for j in range(len(changes)) if group_keys[j] == key and j != i]
        lo = change_first[i] - width
        hi = change_t[i] + width
        for j in same:
            if change_t[j] < change_first[i]:
                lo = max(lo, change_t[j])
            elif change_first[j] > change_t[i]:
                hi = min(hi, change_first[j])
        group = by_group.get(key)
        record = changes.iloc[i]
        base = {
            **dict(zip(by, key, strict=True)),
            "from_hash": record["from_hash"],
            "to_hash": record["to_hash"],
            "time": _to_time(change_t[i]),
        }
        if "announced" in changes.columns:
            base["announced"] = bool(record["announced"])
            base["nearest_deployment"] = record["nearest_deployment"]
        if group is None:
            continue
        t = group["_t"].to_numpy()
        before_mask = (t >= lo) & (t < change_first[i])
        after_mask = (t >= change_t[i]) & (t < hi)
        dims = group[["dimension", "kind"]].drop_duplicates()
        dims = dims.sort_values(["dimension", "kind"], na_position="last")
        for dim, kind in dims.itertuples(index=False, name=None):
            same_dim = (group["dimension"] == dim).fillna(False).to_numpy()
            if pd.isna(kind):
                same_dim &= group["kind"].isna().to_numpy()
            else:
                same_dim &= (group["kind"] == kind).fillna(False).to_numpy()
            before = group["value"].to_numpy()[same_dim & before_mask]
            after = group["value"].to_numpy()[same_dim & after_mask]
            p_before = group["_p"].to_numpy()[same_dim & before_mask]
            p_after = group["_p"].to_numpy()[same_dim & after_mask]
            probs = np.concatenate([p_before, p_after])
            weighted = len(probs) > 0 and bool(np.ptp(probs) > 0)
            row = {
                **base,
                "dimension": dim,
                "kind": kind,
                "n_before": len(before),
                "n_after": len(after),
                "mean_before": before.mean() if len(before) else math.nan,
                "mean_after": after.mean() if len(after) else math.nan,
                "test": None,
                "binary": False,
            }
            if weighted:
                for side, y, prob in (
                    ("mean_before", before, p_before),
                    ("mean_after", after, p_after),
                ):
                    if len(y):
                        row[side] = _hajek_mean(y, prob)[0]
            if len(before) >= min_n and len(after) >= min_n:
                if weighted:
                    values = np.concatenate([before, after])
                    binary = bool(np.isin(values, (0.0, 1.0)).all())
                    row.update(
                        _compare_weighted(
                            before, after, p_before, p_after, float(confidence), binary
                        )
                    )
                else:
                    row.update(_compare(before, after, float(confidence)))
            else:
                row["difference"] = row["mean_after"] - row["mean_before"]
            rows.append(row)

    # Benjamini-Hochberg over every test of the call
    tested = [k for k, row in enumerate(rows) if row["test"] is not None]
    if tested:
        from statsmodels.stats.multitest import multipletests

        _, adjusted, _, _ = multipletests(
            [rows[k]["p_value"] for k in tested], alpha=alpha, method="fdr_bh"
        )
        for k, value in zip(tested, adjusted, strict=True):
            rows[k]["p_adjusted"] = float(value)
    for row in rows:
        row["significant"] = bool(row["test"] is not None and row["p_adjusted"] < alpha)
        row["verdict"] = _verdict(row, min_n=int(min_n), confidence=float(confidence))

    columns = {
        **{name: "string" for name in by},
        "from_hash": "string",
        "to_hash": "string",
        "time": _UTC,
        "dimension": "string",
        "kind": "string",
        "test": "string",
        "n_before": "int64",
        "n_after": "int64",
        "mean_before": "float64",
        "mean_after": "float64",
        "difference": "float64",
        "ci_low": "float64",
        "ci_high": "float64",
        "statistic": "float64",
        "p_value": "float64",
        "p_adjusted": "float64",
        "effect_size": "float64",
        "effect_size_name": "string",
        "significant": "bool",
    }
    if "announced" in changes.columns:
        columns["announced"] = "bool"
        columns["nearest_deployment"] = _UTC
    columns["verdict"] = "string"
    return _typed(rows, columns)
