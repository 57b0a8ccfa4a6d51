"""Cost rollups: per group and window, per trace, movers, cost per quality point.

Every rollup counts usage through :func:`llmdrift.cost.usage_spans`, so token
totals copied onto agent/tool/chain spans are never summed twice. A *request*
is a trace (a span without ``trace_id`` is its own request): per-request
figures sum the counted spans of one trace within one group.

:func:`cost_by` is one Ibis expression (per-request sums, per-group
figures) that runs where the spans are: in-process DuckDB for a pandas frame
(the hierarchy rule applied in numpy first), the store's engine for a
:class:`llmdrift.store.Store` or an Ibis table (the hierarchy rule too, in a
few rounds of materialised joins). The per-trace view
(:func:`most_expensive_traces`) stays in pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from llmdrift._args import (
    check_finite_values,
    check_int,
    check_number,
    check_unique_rows,
    checked,
)
from llmdrift.cost._common import (
    LLM_LEVEL_KINDS,
    TOKEN_COLUMNS,
    as_tuple,
    require_columns,
    require_frame,
    to_int64,
    utc_times,
    warn,
    window_start,
)
from llmdrift.cost.usage import (
    cycle_members,
    cycle_warning,
    hierarchy_flags,
    normalize_usage,
    usage_spans,
)
from llmdrift.schema import SchemaError
from llmdrift.series import FreqError
from llmdrift.store import execute

__all__ = ["cost_by", "most_expensive_traces", "cost_movers", "cost_per_quality"]


def _refuse_repeated_spans(spans: pd.DataFrame) -> None:
    """SchemaError when a span_id occurs on more than one row of a frame.

    The spans contract keys on span_id; a repeated row would be counted twice
    (two requests' worth of cost and tokens) without a word.
    """
    ids = spans["span_id"]
    repeated = ids.duplicated() & ids.notna()
    if repeated.any():
        raise SchemaError(
            f"spans frame: {int(repeated.sum())} row(s) repeat a span_id (first: "
            f"{ids[repeated].iloc[0]!r}); the rollup would count those spans twice. "
            "Keep one row per span: spans.drop_duplicates('span_id')"
        )


def _request_text(used: pd.DataFrame) -> pd.Series:
    """Each span's request as tagged text: 't' + trace_id, or 's' + span_id.

    A span without a trace is its own request; the tag keeps trace ids and
    span ids apart (trace '1' and the lone span '1' are two requests).
    """
    span = "s" + used["span_id"].astype("string")
    if "trace_id" not in used.columns:
        return span
    trace = used["trace_id"].astype("string")
    return ("t" + trace).fillna(span)


def _requests(
    spans: pd.DataFrame, by: tuple[str, ...], freq: str | None
) -> pd.DataFrame:
    """One row per (group, [window], request) with its summed cost and tokens."""
    require_frame(spans)
    require_columns(spans, ["span_id", *by], "spans")
    _refuse_repeated_spans(spans)
    _check_freq(freq)
    used = usage_spans(spans)
    n = len(used)
    request = _request_text(used)
    frame = pd.DataFrame({b: used[b] for b in by}, index=used.index)
    frame["request_id"] = request
    if "start_time" in used.columns:
        start = utc_times(used["start_time"], "start_time")
    else:
        start = pd.Series(pd.NaT, index=used.index, dtype="datetime64[ns, UTC]")
    # a request belongs to the window of its first counted span
    frame["request_start"] = start.groupby(request).transform("min")
    if freq is not None:
        if start.isna().all() and n:
            raise ValueError("freq= needs a 'start_time' column in spans")
        frame["window_start"] = window_start(frame["request_start"], freq)
    cost = (
        used["cost_usd"].astype("Float64")
        if "cost_usd" in used.columns
        else pd.Series(pd.NA, index=used.index, dtype="Float64")
    )
    frame["cost_usd"] = cost.astype(float)
    values = frame["cost_usd"].to_numpy()
    inf = np.isinf(values)
    negative = (values < 0) & ~inf
    if inf.any() or negative.any():
        example = used["span_id"].to_numpy(object)[inf if inf.any() else negative][0]
        _report_costs(int(inf.sum()), int(negative.sum()), example)
    frame["n_spans"] = 1
    frame["n_without_cost"] = cost.isna().astype(int)
    frame["n_fallback_spans"] = used["usage_fallback"].astype(bool).astype(int)
    frame["n_usage_inconsistent"] = (
        used["usage_inconsistent"].fillna(False).astype(bool).astype(int)
    )
    for name in TOKEN_COLUMNS:
        frame[name] = used[name].astype(float)
    keys = [*by, *(["window_start"] if freq is not None else []), "request_id"]
    grouped = frame.groupby(keys, dropna=False, sort=False)
    out = grouped.agg(
        cost_usd=("cost_usd", "sum"),
        request_start=("request_start", "min"),
        n_spans=("n_spans", "sum"),
        n_without_cost=("n_without_cost", "sum"),
        n_fallback_spans=("n_fallback_spans", "sum"),
        n_usage_inconsistent=("n_usage_inconsistent", "sum"),
    )
    tokens = grouped[list(TOKEN_COLUMNS)].sum(min_count=1)
    out = pd.concat([out, tokens], axis=1).reset_index()
    out["cost_complete"] = out["n_without_cost"] == 0
    return out


# The hierarchy rule of usage_spans, in Ibis, for a store or an Ibis table (a
# pandas frame gets it from usage_spans' numpy code, hierarchy_flags). For
# each span with spans below it: whether one of them is LLM-level, carries
# usage, or both. Found by pointer doubling: round k pushes the flags of the
# spans up to 2**k levels below each span one further 2**k levels up, and
# replaces each span's pointer to its ancestor 2**k levels up with the one
# 2**(k+1) levels up. Each round is a few joins of tables materialised in the
# engine, so the expressions do not grow with the depth (nesting one join
# per level made sqlglot hit the recursion limit at ~40 levels) and a chain
# of depth d takes about log2(d) rounds. Spans on a cycle of parent links
# keep a pointer forever: when a round drops no span, those left are on or
# below a cycle; they come back to find the cycles, whose spans are made
# roots (as usage_spans does), and the walk runs again.
_FLAG_COLUMNS = ("_llm", "_bearing", "_llm_bearing")
_FREQ_UNITS = {"h": "h", "H": "h", "D": "D", "W": "W", "W-SUN": "W", "MS": "M"}


class _Materialised:
    """Tables materialised in the engine for one cost_by call, dropped after.

    Each walk round reads the tables of the round before, so they are
    computed once and kept: as Ibis' cached tables (temporary tables) on SQL
    engines, and on Spark as locally checkpointed frames. Spark's own cache
    keeps a frame's lineage in its plan, and the walk joins a round's table
    with itself, so the plans would double in size every round (a chain of
    100 spans ran the driver out of heap); a checkpoint cuts the lineage.
    """

    def __init__(self, backend):
        self.backend = backend
        self.tables = {}  # name -> function that drops the table

    def keep(self, expr):
        if self.backend.name == "pyspark":
            return self._keep_spark(expr)
        table = expr.cache()
        self.tables[table.get_name()] = lambda: self._release(table)
        return table

    def _keep_spark(self, expr):
        import uuid

        # the session behind ibis' PySpark backend (ibis has no public name)
        session = self.backend._session
        name = f"llmdrift_walk_{uuid.uuid4().hex}"
        frame = session.sql(self.backend.compile(expr)).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)

        def drop():
            session.catalog.dropTempView(name)
            frame.unpersist()

        self.tables[name] = drop
        return self.backend.table(name)

    def _release(self, table) -> None:
        try:
            table.release()
        except Exception:
            # ibis 12 with sqlglot 30 writes "DROP TABLE IF EXISTS" without
            # the name on DuckDB; the name is one of ibis' own (ibis_cached_*)
            try:
                self.backend.raw_sql(f"DROP TABLE IF EXISTS {table.get_name()}")
            except Exception:
                pass  # a temporary table: it goes with the session

    def drop(self, table) -> None:
        drop = self.tables.pop(table.get_name(), None)
        if drop is not None:
            drop()

    def close(self) -> None:
        for name in list(self.tables):
            self.tables.pop(name)()


def _count(backend, expr) -> int:
    return int(backend.to_pyarrow(expr).as_py() or 0)


def _below_flags(t, backend, temps):
    """(id, _llm, _bearing, _llm_bearing) of spans with flagged spans below.

    ``t`` has ``span_id``, ``parent_span_id`` and the int8 flag columns.
    Returns (table or None when no span has a parent, ids still linked after
    the last round: spans on or below a cycle, or None).
    """
    edges = t.filter(t.parent_span_id.notnull())
    steps = edges.select(
        x=edges.span_id.cast("string"), j=edges.parent_span_id.cast("string")
    )
    # spans with a pointer; a count, not a distinct count, to spare a large
    # store a hash of every span_id (it can only be larger)
    n = _count(backend, steps.count())
    if n == 0:
        return None, None
    below = temps.keep(
        edges.group_by(id=edges.parent_span_id.cast("string")).aggregate(
            **{name: edges[name].max() for name in _FLAG_COLUMNS}
        )
    )
    kept = False  # steps is still an expression over t
    while True:
        # flags of the spans <= 2**k levels below x, pushed up to j (2**k up)
        pushed = steps.join(below, steps.x == below.id)
        pushed = pushed.group_by(id=pushed.j).aggregate(
            **{name: pushed[name].max() for name in _FLAG_COLUMNS}
        )
        merged = below.union(pushed)
        merged = merged.group_by("id").aggregate(
            **{name: merged[name].max() for name in _FLAG_COLUMNS}
        )
        up = steps.select(y=steps.x, z=steps.j)
        nxt = steps.join(up, steps.j == up.y)
        nxt = nxt.select(x=nxt.x, j=nxt.z).distinct()
        merged, nxt = temps.keep(merged), temps.keep(nxt)
        temps.drop(below)
        if kept:
            temps.drop(steps)
        below, steps, kept = merged, nxt, True
        m = _count(backend, steps.x.nunique())
        if m == 0:
            return below, None
        if m >= n:
            # no span lost its pointer: every span left has an infinite
            # chain above it, so it is on a cycle or below one
            return below, steps.select("x", "j")
        n = m


def _cut_cycles(t, backend, stuck, cut: set) -> set:
    """``cut`` and the ids of the spans on a cycle among the ``stuck`` ones.

    The stuck spans (on or below a cycle) hold every span on a cycle, and
    their parents are stuck too, so their links alone show the cycles.
    """
    span = t.select(x=t.span_id.cast("string"), j=t.parent_span_id.cast("string"))
    links = backend.to_pyarrow(span.semi_join(stuck.select("x").distinct(), "x"))
    links = links.to_pandas().drop_duplicates("x")
    on = cycle_members(pd.Index(links["x"]).get_indexer(links["j"]))
    found = set(links["x"][on]) - cut
    if not found:
        # only with a span_id on two rows with different parents (a store
        # is not checked for that): the stuck spans are made roots
        found = set(links["x"]) - cut
    return cut | found


def _walk(t, backend, temps):
    """The below-flags table of ``t`` (see _below_flags), cycles made roots."""
    ibis = _ibis()
    cut = set()
    walked = t
    for _ in range(3):
        below, stuck = _below_flags(walked, backend, temps)
        if stuck is None:
            break
        cut = _cut_cycles(t, backend, stuck, cut)
        # a list, not a memtable: the ids are few (the spans on cycles) and
        # a list needs no registering on the engine
        walked = t.mutate(
            parent_span_id=ibis.ifelse(
                t.span_id.cast("string").isin(sorted(cut)),
                ibis.null().cast("string"),
                t.parent_span_id.cast("string"),
            )
        )
    if cut:
        warn(cycle_warning(len(cut), min(cut)))
    return below


def _counted_spans(t, backend, temps):
    """The spans counted by the hierarchy rule, with ``usage_fallback`` (Ibis)."""
    ibis = _ibis()
    columns = set(t.columns)
    if "_llmdrift_fallback" in columns:
        # a pandas frame: the counted spans only, found by usage_spans' code
        return t.rename(usage_fallback="_llmdrift_fallback")
    if "span_kind" in columns:
        kind = t.span_kind.cast("string").lower()
        has_model = ibis.literal(False)
        for name in ("request_model", "response_model"):
            if name in columns:
                has_model = has_model | t[name].notnull()
        is_llm = kind.isin(list(LLM_LEVEL_KINDS)).fill_null(False) | (
            kind.isnull() & has_model
        )
    else:
        is_llm = ibis.literal(True)
    bearing = ibis.literal(False)
    for name in (*TOKEN_COLUMNS, "cost_usd", "reported_cost_usd"):
        if name in columns:
            bearing = bearing | t[name].notnull()
    flags = {
        "_llm": is_llm.cast("int8"),
        "_bearing": bearing.cast("int8"),
        "_llm_bearing": (is_llm & bearing).cast("int8"),
    }
    t = t.mutate(**flags)
    below = _walk(t, backend, temps) if "parent_span_id" in columns else None
    if below is None:
        t = t.mutate(
            **{f"{name}_below": ibis.literal(0).cast("int8") for name in _FLAG_COLUMNS}
        )
    else:
        renamed = below.select(
            _below_id=below.id,
            **{f"{name}_below": below[name] for name in _FLAG_COLUMNS},
        )
        t = t.left_join(renamed, t.span_id.cast("string") == renamed._below_id).drop(
            "_below_id"
        )
        t = t.mutate(
            **{
                f"{name}_below": t[f"{name}_below"].fill_null(0)
                for name in _FLAG_COLUMNS
            }
        )
    is_llm = t._llm == 1
    fallback = (
        ~is_llm & (t._bearing == 1) & (t._llm_below == 0) & (t._bearing_below == 0)
    )
    # an LLM span with usage-bearing LLM spans below it is a wrapper repeating
    # their totals
    counted = (is_llm & (t._llm_bearing_below == 0)) | fallback
    t = t.mutate(_counted=counted, usage_fallback=fallback)
    helpers = [*_FLAG_COLUMNS, *(f"{name}_below" for name in _FLAG_COLUMNS)]
    return t.filter(t._counted).drop("_counted", *helpers)


# cost_by's result columns after the group keys (and before the token sums)
_RESULT_COLUMNS = (
    "n_requests",
    "n_spans",
    "total_cost_usd",
    "share",
    "n_requests_priced",
    "cost_per_request_usd",
    "cost_p50_usd",
    "cost_p95_usd",
    "n_without_cost",
    "n_fallback_spans",
    "n_usage_inconsistent",
)

# names cost_by gives columns of its own, in its result or per request: a
# grouping column of the same name would be overwritten or collide
_RESERVED_BY = frozenset(
    {
        "window_start",
        *_RESULT_COLUMNS,
        "cost_usd",
        "usage_fallback",
        *TOKEN_COLUMNS,
    }
)


def _refuse_reserved_by(by: tuple[str, ...]) -> None:
    clash = [name for name in by if name in _RESERVED_BY or str(name).startswith("_")]
    if clash:
        raise ValueError(
            f"by={list(by)!r}: {clash} cannot be a grouping column of cost_by, "
            "which computes columns of that name itself (or, for a leading "
            "underscore, keeps its own working columns so named); group by a "
            "copy under another name, e.g. spans.assign(cost_band=spans['cost_usd'])"
        )


def _ibis():
    import ibis

    return ibis


def _span_input(spans, by):
    """(ibis table, backend, kind) for cost_by from a frame, table or Store."""
    from llmdrift.store import Store, resolve_table

    if isinstance(spans, pd.DataFrame):
        require_columns(spans, ["span_id", *by], "spans")
        _refuse_repeated_spans(spans)
        normalised = {"usage_source_convention", "uncached_input_tokens"} <= set(
            spans.columns
        )
        frame = spans if normalised else normalize_usage(spans)
        if "start_time" in frame.columns:
            utc_times(frame["start_time"], "start_time")
        # the hierarchy rule in numpy (usage_spans' own code): only the
        # counted spans go to the engine
        counted, fallback = hierarchy_flags(frame)
        wanted = [
            "trace_id",
            "span_id",
            "start_time",
            "cost_usd",
            "reported_cost_usd",
            "usage_inconsistent",
            *TOKEN_COLUMNS,
            *by,
        ]
        keep = [c for c in dict.fromkeys(wanted) if c in frame.columns]
        frame = frame.loc[counted, keep].assign(_llmdrift_fallback=fallback[counted])
        if "start_time" in frame.columns:
            frame = frame.astype({"start_time": "datetime64[ns, UTC]"})
        table, backend = resolve_table(frame, "spans")
        return table, backend
    if isinstance(spans, Store) or type(spans).__module__.startswith("ibis"):
        table, backend = resolve_table(spans, "spans")
        missing = [c for c in ["span_id", *by] if c not in table.columns]
        if missing:
            raise SchemaError(
                f"spans table: missing column(s) {missing}; present: "
                f"{list(table.columns)[:15]}."
            )
        return table, backend
    require_frame(spans)


def _otel_buckets(t):
    """Ibis: canonical token buckets of spans in the OTel meaning.

    The rule :func:`normalize_usage` applies to an OTel row: with the input
    known, a missing cache figure is 0 and the uncached input is the rest
    (<NA> when negative or flagged inconsistent); with the output known, a
    missing reasoning figure is 0.
    """
    ibis = _ibis()
    columns = set(t.columns)
    if "input_tokens" not in columns:
        return t
    known = t.input_tokens.notnull()
    zero = ibis.literal(0).cast("int64")
    values = {}
    for name in ("cache_read_tokens", "cache_write_tokens"):
        given = t[name] if name in columns else ibis.null().cast("int64")
        values[name] = ibis.ifelse(known & given.isnull(), zero, given)
    rest = t.input_tokens - values["cache_read_tokens"] - values["cache_write_tokens"]
    bad = rest < 0
    if "usage_inconsistent" in columns:
        bad = bad | t.usage_inconsistent.cast("boolean").fill_null(False)
    values["uncached_input_tokens"] = ibis.ifelse(
        bad.fill_null(False), ibis.null().cast("int64"), rest
    )
    if "output_tokens" in columns:
        given = (
            t.reasoning_tokens
            if "reasoning_tokens" in columns
            else ibis.null().cast("int64")
        )
        values["reasoning_tokens"] = ibis.ifelse(
            t.output_tokens.notnull() & given.isnull(), zero, given
        )
    return t.mutate(**values)


def _prepared_spans(t, backend, temps):
    """Ibis: counted spans with ``_request`` and float cost/token columns."""
    ibis = _ibis()
    columns = set(t.columns)
    if "usage_source_convention" not in columns:
        t = _otel_buckets(t)
        columns = set(t.columns)
    used = _counted_spans(t, backend, temps)
    span = used.span_id.cast("string")
    if "trace_id" in columns:
        # a span without a trace is its own request; the tags keep trace ids
        # and span ids apart ('1' the trace and '1' the lone span are two)
        trace = used.trace_id.cast("string")
        request = ibis.ifelse(
            trace.isnull(),
            ibis.literal("s").concat(span),
            ibis.literal("t").concat(trace),
        )
    else:
        request = span
    null_float = ibis.null().cast("float64")
    cost = used.cost_usd.cast("float64") if "cost_usd" in columns else null_float
    values = {
        "_request": request,
        # NaN (0/0 in a pyarrow-backed column) is an unknown cost, as a null
        "_cost": ibis.ifelse(cost.isnan().fill_null(False), null_float, cost),
        "_inconsistent": (
            used.usage_inconsistent.cast("boolean").fill_null(False)
            if "usage_inconsistent" in columns
            else ibis.literal(False)
        ),
    }
    for name in TOKEN_COLUMNS:
        values[f"_{name}"] = (
            used[name].cast("float64") if name in columns else null_float
        )
    if "start_time" in columns:
        values["_start"] = used.start_time
    return used.mutate(**values), columns


def _check_freq(freq) -> str | None:
    """The Ibis truncation unit of ``freq`` (None for None), or FreqError."""
    if freq is None:
        return None
    unit = _FREQ_UNITS.get(freq) if isinstance(freq, str) else None
    if unit is None:
        raise FreqError(
            f"freq={freq!r} is not supported by the cost rollups; use one of "
            f"{sorted(_FREQ_UNITS)} (hours, UTC days, weeks from Monday, "
            "months)."
        )
    return unit


def _check_freq_units(freq, columns):
    unit = _check_freq(freq)
    if unit is not None and "start_time" not in columns:
        raise ValueError("freq= needs a 'start_time' column in spans")
    return unit


def _plain_window(start, unit):
    """Window start of a UTC time, truncated as a plain time (much cheaper)."""
    import ibis.expr.datatypes as dt

    return start.cast(dt.Timestamp()).truncate(unit)


_COST_FLAGS = ("_n_inf_cost", "_n_negative_cost")


def _cost_flags(used) -> dict:
    """Ibis: counts of infinite and of negative costs, summed with the rollup.

    They ride along in the rollup's own aggregation, so checking them costs
    no extra pass over a store.
    """
    inf = used._cost.isinf().fill_null(False)
    negative = (used._cost < 0).fill_null(False) & ~inf
    return {
        "_n_inf_cost": inf.cast("int64").sum(),
        "_n_negative_cost": negative.cast("int64").sum(),
    }


def _check_cost_flags(out: pd.DataFrame, used, backend) -> pd.DataFrame:
    """Raise on infinite costs and warn on negative ones; drop the counts."""
    counts = {name: int(out[name].fillna(0).sum()) for name in _COST_FLAGS}
    out = out.drop(columns=list(_COST_FLAGS))
    if counts["_n_inf_cost"] or counts["_n_negative_cost"]:
        inf = used._cost.isinf().fill_null(False)
        which = inf if counts["_n_inf_cost"] else (used._cost < 0).fill_null(False)
        example = backend.to_pyarrow(used.filter(which).select("span_id").limit(1))
        first = example.column(0)[0].as_py() if example.num_rows else None
        _report_costs(counts["_n_inf_cost"], counts["_n_negative_cost"], first)
    return out


def _report_costs(n_inf: int, n_negative: int, example) -> None:
    """The one message for bad 'cost_usd' values, from either path."""
    if n_inf:
        raise SchemaError(
            f"spans column 'cost_usd' holds {n_inf} infinite value(s) on counted "
            f"spans (first at span_id {example!r}); a cost must be a finite number "
            "of dollars, or missing when unknown: replace them, e.g. "
            "spans['cost_usd'].replace([np.inf, -np.inf], np.nan), or price the "
            "spans with price_spans"
        )
    if n_negative:
        warn(
            f"spans column 'cost_usd' holds {n_negative} negative value(s) on counted "
            f"spans (first at span_id {example!r}); they are summed as given, which "
            "lowers the totals (refunds or credits?)"
        )


def _lean_rollup(used, columns, by, freq, backend, approx):
    """cost_by when each request has one group and one window, else None.

    Per request only its cost, completeness, group and window are kept (a
    small aggregation state); the additive figures (spans, tokens, flags)
    are summed straight from the spans per group and window, which is exact
    when no request touches two groups or two windows. Both facts are
    checked in the same queries (on DuckDB through the min and max of
    :func:`_span_signature`, elsewhere through min and max of each column);
    if either fails the caller takes the general path.
    """
    ibis = _ibis()
    unit = _check_freq_units(freq, columns)
    keys = list(by) + (["window_start"] if freq is not None else [])
    per = {
        "cost_usd": used._cost.sum().fill_null(0.0),
        "n_without_cost": used._cost.isnull().cast("int64").sum(),
        "_n": used.count(),
    }
    extra = {}
    if backend.name == "duckdb":
        # DuckDB does not spill a hash table keyed by text far enough:
        # grouping 100M distinct trace ids ran out of memory at a 1GB limit,
        # while grouping by a 64-bit hash of the id ran in 400MB. Whether a
        # request is odd (two groups, two windows, or two ids under one hash,
        # which sends the call to the exact general path) is one min and max
        # of a per-span signature: the text min/max pairs it replaces made
        # this step a third slower at 10M spans.
        window = _plain_window(used._start, unit) if freq is not None else None
        signature = _span_signature(used, by, window)
        per["_sig_lo"] = signature.min()
        per["_sig_hi"] = signature.max()
        for name in by:
            per[name] = used[name].arbitrary()
        if window is not None:
            per["window_start"] = window.arbitrary()
        key = _request_hash(used._request)
        requests = used.group_by(_rkey=key).aggregate(**per)
        odd = requests._sig_lo != requests._sig_hi
    else:
        if freq is not None:
            per["_first"] = used._start.min()
            per["_last"] = used._start.max()
        for i, name in enumerate(by):
            per[name] = used[name].min()
            per[f"_hi{i}"] = used[name].max()
            per[f"_k{i}"] = used[name].count()
        requests = used.group_by("_request").aggregate(**per)
        odd = ibis.literal(False)
        for i, name in enumerate(by):
            known = requests[f"_k{i}"]
            odd = odd | (requests[name] != requests[f"_hi{i}"]).fill_null(False)
            odd = odd | ((known > 0) & (known < requests._n))
        if freq is not None:
            first = _plain_window(requests._first, unit)
            odd = odd | (first != _plain_window(requests._last, unit))
            extra["window_start"] = first
    requests = requests.mutate(
        _odd=odd.cast("int64"),
        _complete_cost=ibis.ifelse(
            requests.n_without_cost == 0, requests.cost_usd, ibis.null("float64")
        ),
        **extra,
    )
    cost = requests._complete_cost
    aggs = {
        "n_requests": requests.count(),
        "total_cost_usd": requests.cost_usd.sum(),
        "n_requests_priced": cost.count(),
        "cost_per_request_usd": cost.mean(),
        **_quantile_aggregates(cost, approx),
        "_n_odd": requests._odd.sum(),
    }
    grouped = (
        requests.group_by(keys).aggregate(**aggs)
        if keys
        else requests.aggregate(**aggs)
    )
    if keys:
        grouped = grouped.mutate(_group=_group_signature(grouped, keys))
    head = _split_quantiles(execute(grouped, backend))
    if head["_n_odd"].fillna(0).sum() > 0:
        return None

    # the additive figures, per group and window of each span
    if freq is not None:
        used = used.mutate(window_start=_plain_window(used._start, unit))
    sums = {
        "n_spans": used.count(),
        "n_without_cost": used._cost.isnull().cast("int64").sum(),
        "n_fallback_spans": used.usage_fallback.cast("int64").sum(),
        "n_usage_inconsistent": used._inconsistent.cast("int64").sum(),
        **_cost_flags(used),
    }
    for name in TOKEN_COLUMNS:
        sums[name] = used[f"_{name}"].sum()
    if not keys:
        tail = execute(used.aggregate(**sums), backend)
        return pd.concat([head.drop(columns="_n_odd"), tail], axis=1)
    tail = used.group_by(keys).aggregate(**sums)
    tail = tail.mutate(_group=_group_signature(tail, keys)).drop(*keys)
    tail = execute(tail, backend)
    # the two halves meet on the engine's signature of the group, not on the
    # key values: those can come back equal for groups the engine kept apart
    # (int64 ids beyond 2**53 with a missing one turn float; NaN and null)
    if head["_group"].duplicated().any() or tail["_group"].duplicated().any():
        return None  # two groups share a signature: the general path
    out = head.drop(columns="_n_odd").merge(tail, on="_group", how="left")
    return out.drop(columns="_group")


def _salted_mix(parts):
    """Ibis: the xor of each part's hash, hashed again with its position.

    Hashing each part's hash with its position (1, 2, ...) makes the mix
    depend on where a value stands: swapped values in two columns (intent A,
    service B against intent B, service A) mix differently, which a plain
    xor of hashes would not. A missing value and NaN each hash to a constant
    of their own. None for no parts.
    """
    mixed = None
    for position, part in enumerate(parts, start=1):
        one = (part.hash() ^ position).hash()
        mixed = one if mixed is None else mixed ^ one
    return mixed


def _group_signature(table, keys):
    """Ibis: a 64-bit value per row of ``table`` from its ``keys`` columns.

    Equal keys give equal values on any two tables of the same engine;
    different keys differ but with probability about 2**-64.
    """
    return _salted_mix([table[name] for name in keys])


def _request_hash(request_id):
    """The 64-bit key the per-request step groups by on DuckDB (Ibis)."""
    return request_id.hash()


def _span_signature(used, by, window):
    """Ibis: a 64-bit value equal across a request's spans when they agree.

    A hash of the request id independent of :func:`_request_hash` (two ids
    under one key differ here) mixed by :func:`_salted_mix` with each ``by``
    column and the window, so a request with the group on some spans only,
    or with values swapped between columns, differs too. Spans that disagree
    anywhere share a signature with probability about 2**-64.
    """
    signature = (used._request + "\x1f").hash()
    parts = [used[name] for name in by] + ([window] if window is not None else [])
    mixed = _salted_mix(parts)
    return signature if mixed is None else signature ^ mixed


def _request_table(used, columns, by, freq):
    """Ibis: one row per (group, [window], request): the general path.

    A request in several groups is one request in each, in the window of
    its first counted span across its groups.
    """
    ibis = _ibis()
    null_float = ibis.null().cast("float64")
    keys = list(by)
    unit = _check_freq_units(freq, columns)
    aggs = {
        "cost_usd": used._cost.sum().fill_null(0.0),
        "n_spans": used.count(),
        "n_without_cost": used._cost.isnull().cast("int64").sum(),
        "n_fallback_spans": used.usage_fallback.cast("int64").sum(),
        "n_usage_inconsistent": used._inconsistent.cast("int64").sum(),
        **_cost_flags(used),
    }
    if "start_time" in columns:
        aggs["_group_start"] = used._start.min()
    for name in TOKEN_COLUMNS:
        aggs[name] = used[f"_{name}"].sum()
    # a request in several groups is one request in each; it belongs to
    # the window of its first counted span, across its groups
    requests = used.group_by([*keys, "_request"]).aggregate(**aggs)
    requests = requests.mutate(_mixed=ibis.literal(0).cast("int64"))
    start = None
    if freq is not None:
        firsts = used.group_by(_rid="_request").aggregate(
            _request_start=used._start.min()
        )
        requests = requests.left_join(firsts, requests._request == firsts._rid).drop(
            "_rid"
        )
        start = requests._request_start
    if freq is not None:
        # truncated as a plain UTC time: the same windows, much cheaper than
        # a time-zone-aware truncation
        requests = requests.mutate(window_start=_plain_window(start, unit))
        keys.append("window_start")
    complete = requests.n_without_cost == 0
    requests = requests.mutate(
        _complete_cost=ibis.ifelse(complete, requests.cost_usd, null_float)
    )
    return requests, keys


def _quantile_aggregates(cost, approx: bool) -> dict:
    """The p50 and p95 aggregates of a cost column (Ibis).

    Approximate ones are one aggregate returning both quantiles: on DuckDB,
    two separate T-Digest states per group ran out of a 400MB limit at 30M
    requests where one state for both did not.
    """
    if approx:
        return {"_quantiles": cost.approx_quantile([0.5, 0.95])}
    return {"cost_p50_usd": cost.median(), "cost_p95_usd": cost.quantile(0.95)}


def _split_quantiles(frame: pd.DataFrame) -> pd.DataFrame:
    """``_quantiles`` lists (or missing values) as cost_p50_usd and cost_p95_usd."""
    if "_quantiles" not in frame.columns:
        return frame
    pairs = [
        (float(q[0]), float(q[1])) if q is not None and len(q) == 2 else (np.nan,) * 2
        for q in frame["_quantiles"]
    ]
    at = frame.columns.get_loc("_quantiles")
    frame = frame.drop(columns="_quantiles")
    frame.insert(at, "cost_p95_usd", [p95 for _, p95 in pairs])
    frame.insert(at, "cost_p50_usd", [p50 for p50, _ in pairs])
    return frame


def _group_table(requests, keys, approx):
    """Ibis: the per-request rows grouped into the cost_by table."""
    cost = requests._complete_cost
    aggs = {
        "n_requests": requests.count(),
        "n_spans": requests.n_spans.sum(),
        "total_cost_usd": requests.cost_usd.sum(),
        "n_requests_priced": cost.count(),
        "cost_per_request_usd": cost.mean(),
        **_quantile_aggregates(cost, approx),
        "n_without_cost": requests.n_without_cost.sum(),
        "n_fallback_spans": requests.n_fallback_spans.sum(),
        "n_usage_inconsistent": requests.n_usage_inconsistent.sum(),
        "_n_mixed": requests._mixed.sum(),
        **{name: requests[name].sum() for name in _COST_FLAGS},
    }
    for name in TOKEN_COLUMNS:
        aggs[name] = requests[name].sum()
    if keys:
        return requests.group_by(keys).aggregate(**aggs)
    return requests.aggregate(**aggs)


def cost_by(
    spans,
    *,
    by=("intent",),
    freq: str | None = None,
    quantiles: str = "auto",
) -> pd.DataFrame:
    """Cost and tokens per group (and window), each token counted once.

    Parameters
    ----------
    spans : pandas.DataFrame, ibis Table or Store
        Spans, ideally priced with :func:`llmdrift.cost.price_spans` (else
        ``cost_usd`` is used as given). Needs ``span_id`` and the ``by``
        columns; uses ``trace_id``, ``parent_span_id``, ``span_kind``,
        ``start_time`` (needed with ``freq``) and the token columns. A
        :class:`llmdrift.store.Store` is read through ``store.table("spans")``
        and an Ibis table on its own backend: the aggregation runs there and
        only the result comes back.
    by : str or sequence of str, default=("intent",)
        Group columns (e.g. ``("intent", "request_model")``); () for one row.
        A column named like one cost_by computes (``cost_usd``, ``n_spans``,
        a token count, ...) or starting with ``_`` is refused: copy it under
        another name first. Known shortcoming: a column of mixed Python types
        (``[1, "1", None]`` as object) fails with pyarrow's ``ArrowInvalid``
        when it is handed to the engine; cast it to one type first, e.g.
        ``spans.astype({"tenant": "string"})``.
    freq : {"h", "D", "W", "MS"}, optional
        Calendar window in UTC ("W" = weeks from Monday 00:00, "MS" = months);
        a request falls in the window of its first counted span.
    quantiles : {"auto", "exact", "approx"}, default="auto"
        How ``cost_p50_usd`` and ``cost_p95_usd`` are computed. "auto" is
        exact for a pandas frame (it is in memory already) and the engine's
        approximate quantile for a store or an Ibis table: an exact quantile
        must hold every request cost of a group in memory at once (DuckDB
        cannot spill it to disk), which does not scale to a quarter of
        traces.

    Returns
    -------
    pandas.DataFrame
        One row per group (and ``window_start``, UTC), sorted by them:

        - ``n_requests`` (int): requests (traces) with a counted span.
        - ``n_spans`` (int): counted spans (see ``usage_spans``).
        - ``total_cost_usd`` (float): sum of the known span costs.
        - ``share`` (float): ``total_cost_usd`` / all groups' total in the
          same window (or overall).
        - ``n_requests_priced`` (int): requests whose every counted span has
          a cost; the next three figures are over these.
        - ``cost_per_request_usd``, ``cost_p50_usd``, ``cost_p95_usd``
          (float): mean, median and 95th percentile (linear) of request cost.
        - ``input_tokens``, ``uncached_input_tokens``, ``cache_read_tokens``,
          ``cache_write_tokens``, ``output_tokens``, ``reasoning_tokens``
          (Int64): summed buckets (``<NA>`` when no span reported them).
        - ``n_without_cost`` (int): counted spans with unknown cost.
        - ``n_fallback_spans`` (int): spans counted through an agent/tool
          span because nothing under it was a model call.
        - ``n_usage_inconsistent`` (int): spans with contradictory usage.

    Raises
    ------
    llmdrift.series.FreqError
        ``freq`` not one of the accepted values (a ValueError, also a
        NotImplementedError).
    SchemaError
        A missing column; a counted span with an infinite ``cost_usd`` (the
        count and the first span_id are named); for a pandas frame, a
        span_id on more than one row.

    Warns
    -----
    LlmdriftWarning
        Counted spans with a negative ``cost_usd`` (the count and the first
        span_id); they are summed as given. Spans on a cycle of parent links
        (the count and the smallest span_id); each is read as a root.

    Notes
    -----
    A trace that uses two models falls in two groups with ``by=
    "request_model"``; in each it is one request with that model's part of
    the cost.

    The infinite and negative cost counts ride along in the rollup's own
    aggregation, so a store gets the same checks at no extra pass. Repeated
    span ids are refused for a pandas frame only: on a store or an Ibis
    table that check would cost a full extra scan (a distinct count of every
    span_id), so it is not made there, and a store holding a span twice
    counts it twice.

    The rollup is written with Ibis (per-request sums, per-group figures)
    and runs in-process on DuckDB for a pandas frame and on the store's
    engine otherwise; a few small queries come back (the group table, the
    hierarchy's counts). When every request keeps to one
    group and one window (checked), only a request's cost, completeness and
    first and last start are kept per request and the token and span sums
    come straight from the spans; otherwise every figure is summed per
    request and group first.

    The hierarchy rule (:func:`llmdrift.cost.usage_spans`) follows parent
    links to any depth. For a pandas frame it runs in numpy before the
    rollup (linear in the spans). On a store or an Ibis table it runs in the
    engine by pointer doubling: each round is a few joins over tables
    materialised in the engine (temporary tables, dropped at the end of the
    call), and a chain d levels deep takes about log2(d) + 1 rounds; spans
    without a parent cost one count query. A span on a cycle of parent links
    (its own parent, or a->b->a) is read as a root on every path, with a
    LlmdriftWarning naming how many spans and the smallest such span_id;
    finding the cycles brings back the ids of the spans on or below a cycle
    (only those) and walks again. Approximate quantiles are the
    engine's own: DuckDB's ``approx_quantile`` (a T-Digest, with no stated
    bound; in ``benchmarks/results/scale.md`` its daily per-intent p50 and
    p95 are compared with exact ones) and Spark's ``percentile_approx``
    (rank error at most 1/10000 of the group size with its default
    accuracy; it returns one of the values, never an interpolation). Windows are cut in the engine's session
    time zone, which must be UTC (llmdrift's DuckDB connections set it; set
    ``spark.sql.session.timeZone=UTC`` on Spark).

    Examples
    --------
    >>> import pandas as pd
    >>> spans = pd.DataFrame({
    ...     "trace_id": ["T1", "T1", "T1", "T2"], "span_id": ["R", "K", "L", "A2"],
    ...     "parent_span_id": [None, "R", "K", None],
    ...     "span_kind": ["agent", "tool", "llm", "agent"], "intent": ["refund"] * 4,
    ...     "input_tokens": [800, 800, 800, 300], "output_tokens": [120, 120, 120, 40]})
    >>> row = cost_by(spans, by="intent").iloc[0]
    >>> int(row["input_tokens"]), int(row["output_tokens"]), int(row["n_fallback_spans"])
    (1100, 160, 1)
    """
    by = as_tuple(by)
    _refuse_reserved_by(by)
    _check_freq(freq)
    if quantiles not in ("auto", "exact", "approx"):
        raise ValueError(
            f"quantiles must be 'auto', 'exact' or 'approx', got {quantiles!r}"
        )
    table, backend = _span_input(spans, by)
    approx = quantiles == "approx" or (
        quantiles == "auto" and not isinstance(spans, pd.DataFrame)
    )
    # first as one row per request (a request's spans share their groups,
    # as when the intent is set per trace); if a request turns out to touch
    # several groups, again with one row per request and group
    temps = _Materialised(backend)
    try:
        used, columns = _prepared_spans(table, backend, temps)
        out = _lean_rollup(used, columns, by, freq, backend, approx)
        if out is None:
            requests, keys = _request_table(used, columns, by, freq)
            out = _split_quantiles(
                execute(_group_table(requests, keys, approx), backend)
            )
            out = out.drop(columns="_n_mixed")
        out = _check_cost_flags(out, used, backend)
    finally:
        temps.close()
    keys = [*by, *(["window_start"] if freq is not None else [])]

    # the small result, in pandas: types, order, shares
    if not keys:
        out = out[out["n_requests"] > 0]
    for name in (
        "n_requests",
        "n_spans",
        "n_requests_priced",
        "n_without_cost",
        "n_fallback_spans",
        "n_usage_inconsistent",
    ):
        out[name] = out[name].fillna(0).astype("int64")
    for name in TOKEN_COLUMNS:
        out[name] = _token_sums(out, name, keys)
    if "window_start" in out.columns:
        out["window_start"] = pd.to_datetime(out["window_start"], utc=True).astype(
            "datetime64[ns, UTC]"
        )
    for name in by:
        if isinstance(spans, pd.DataFrame) and name in spans.columns:
            try:
                out[name] = out[name].astype(spans[name].dtype)
            except (TypeError, ValueError):
                pass
    if keys:
        out = out.sort_values(keys, kind="stable", na_position="last")
    out = out.reset_index(drop=True)
    if freq is not None:
        totals = out.groupby("window_start")["total_cost_usd"].transform("sum")
        share = out["total_cost_usd"] / totals.where(totals > 0)
    else:
        total = out["total_cost_usd"].sum()
        share = out["total_cost_usd"] / (total if total > 0 else np.nan)
    out.insert(out.columns.get_loc("total_cost_usd") + 1, "share", share)
    return out[[*keys, *_RESULT_COLUMNS, *TOKEN_COLUMNS]]


def most_expensive_traces(spans: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` traces with the highest cost, with how far they stand out.

    Parameters
    ----------
    spans : pandas.DataFrame
        Priced spans (see :func:`cost_by` for the columns used).
    n : int, default=10
        How many traces (an integer >= 1).

    Returns
    -------
    pandas.DataFrame
        One row per trace, most expensive first: ``trace_id``,
        ``start_time`` (first counted span), ``intent`` (most frequent among
        its counted spans; <NA> without an intent column), ``models``
        (comma-separated), ``n_spans``, ``cost_usd``, ``cost_complete``
        (every counted span priced), ``input_tokens``, ``output_tokens``,
        ``n_fallback_spans``, ``cost_vs_median`` (cost / median trace cost of
        the same intent, over all traces).

    Examples
    --------
    >>> import pandas as pd
    >>> spans = pd.DataFrame({"trace_id": ["a", "b", "c"], "span_id": ["1", "2", "3"],
    ...     "intent": ["x", "x", "x"], "cost_usd": [0.01, 0.02, 0.09]})
    >>> top = most_expensive_traces(spans, n=1)
    >>> top["trace_id"].tolist(), float(top["cost_vs_median"].iloc[0])
    (['c'], 4.5)
    """
    n = checked("most_expensive_traces", check_int, "n", n, 1)
    has_intent = "intent" in spans.columns
    requests = _requests(spans, ("intent",) if has_intent else (), None)
    if has_intent:
        # one intent per trace: the most frequent one among its counted spans
        requests = requests.sort_values(
            ["request_id", "n_spans"], ascending=[True, False]
        )
        intent = requests.groupby("request_id", sort=False)["intent"].first()
    else:
        intent = pd.Series(pd.NA, index=requests["request_id"].unique(), dtype="string")
    grouped = requests.groupby("request_id", sort=False)
    per = grouped.agg(
        start_time=("request_start", "min"),
        n_spans=("n_spans", "sum"),
        cost_usd=("cost_usd", "sum"),
        cost_complete=("cost_complete", "all"),
        n_fallback_spans=("n_fallback_spans", "sum"),
    )
    per = per.join(grouped[["input_tokens", "output_tokens"]].sum(min_count=1))
    per["intent"] = intent.reindex(per.index).astype("string")
    median = per.groupby("intent", dropna=False)["cost_usd"].transform("median")
    per["cost_vs_median"] = per["cost_usd"] / median.where(median > 0)
    top = per.sort_values("cost_usd", ascending=False, kind="stable").head(n)
    top = top.rename_axis("trace_id").reset_index()
    # models only for the rows shown
    used = usage_spans(spans)
    rid = _request_text(used)
    model = pd.Series(pd.NA, index=used.index, dtype="string")
    for name in ("response_model", "request_model"):
        if name in used.columns:
            model = model.fillna(used[name].astype("string"))
    shown = rid.isin(top["trace_id"])
    models = (
        pd.DataFrame({"r": rid[shown], "m": model[shown]})
        .dropna()
        .groupby("r")["m"]
        .agg(lambda s: ", ".join(sorted(set(s))))
    )
    top["models"] = top["trace_id"].map(models).astype("string")
    top["trace_id"] = top["trace_id"].str[1:]  # the tag off: the id as given
    for name in ("input_tokens", "output_tokens"):
        top[name] = top[name].round().astype("Int64")
    columns = [
        "trace_id",
        "start_time",
        "intent",
        "models",
        "n_spans",
        "cost_usd",
        "cost_complete",
        "input_tokens",
        "output_tokens",
        "n_fallback_spans",
        "cost_vs_median",
    ]
    return top[columns].reset_index(drop=True)


def _with_previous(table: pd.DataFrame, keys: list[str], value: str, freq: str):
    """Attach the value of the calendar window just before each row's window."""
    prev_start = window_start(table["window_start"] - pd.Timedelta(1, "ns"), freq)
    left = table.assign(previous_window_start=prev_start)
    right = table[[*keys, "window_start", value, "n_requests"]].rename(
        columns={
            "window_start": "previous_window_start",
            value: f"previous_{value}",
            "n_requests": "previous_n_requests",
        }
    )
    out = left.merge(right, on=[*keys, "previous_window_start"], how="left")
    out["previous_n_requests"] = out["previous_n_requests"].astype("Int64")
    return out


def cost_movers(
    spans: pd.DataFrame,
    *,
    by=("intent",),
    freq: str = "W",
    window="latest",
    min_requests: int = 1,
) -> pd.DataFrame:
    """Groups whose cost per request moved most from one window to the next.

    Parameters
    ----------
    spans : pandas.DataFrame
        Priced spans with ``start_time``.
    by : str or sequence of str, default=("intent",)
    freq : str, default="W"
        Window length; "W" compares each week with the week before.
    window : "latest", None or datetime-like, default="latest"
        Which window to report: the last one in the data, every window
        (None), or the window starting at the given time.
    min_requests : int, default=1
        Ignore a comparison when either window has fewer priced requests
        (an integer >= 0).

    Returns
    -------
    pandas.DataFrame
        *by, ``window_start``, ``previous_window_start``,
        ``cost_per_request_usd``, ``previous_cost_per_request_usd``,
        ``change_usd``, ``change_pct`` (relative change, 0.3 = +30%),
        ``n_requests``, ``previous_n_requests``; sorted by the size of the
        relative change, largest first. Groups without a previous window are
        left out.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.to_datetime(["2025-01-06", "2025-01-13", "2025-01-06", "2025-01-13"],
    ...                    utc=True)
    >>> spans = pd.DataFrame({"span_id": list("abcd"), "start_time": t,
    ...     "intent": ["x", "x", "y", "y"], "cost_usd": [1.0, 1.1, 1.0, 2.0]})
    >>> movers = cost_movers(spans)
    >>> movers["intent"].tolist(), [round(v, 2) for v in movers["change_pct"]]
    (['y', 'x'], [1.0, 0.1])
    """
    by = as_tuple(by)
    min_requests = checked("cost_movers", check_int, "min_requests", min_requests, 0)
    table = cost_by(spans, by=by, freq=freq)
    value = "cost_per_request_usd"
    out = _with_previous(
        table.assign(n_requests=table["n_requests_priced"]), list(by), value, freq
    )
    out = out[out[f"previous_{value}"].notna()]
    enough = (out["n_requests"] >= min_requests) & (
        out["previous_n_requests"] >= min_requests
    )
    out = out[enough]
    if isinstance(window, str) and window == "latest":
        if len(table):
            out = out[out["window_start"] == table["window_start"].max()]
    elif window is not None:
        when = pd.Timestamp(window)
        if when.tzinfo is None:
            raise ValueError("window= must be tz-aware (UTC)")
        out = out[out["window_start"] == when.tz_convert("UTC")]
    out = out.assign(
        change_usd=out[value] - out[f"previous_{value}"],
        change_pct=out[value]
        / out[f"previous_{value}"].where(out[f"previous_{value}"] > 0)
        - 1,
    )
    out = out.sort_values(
        "change_pct", key=lambda s: s.abs(), ascending=False, kind="stable"
    )
    columns = [
        *by,
        "window_start",
        "previous_window_start",
        value,
        f"previous_{value}",
        "change_usd",
        "change_pct",
        "n_requests",
        "previous_n_requests",
    ]
    out = out[columns].reset_index(drop=True)
    out["n_requests"] = out["n_requests"].astype("int64")
    return out


def _token_sums(out: pd.DataFrame, name: str, keys: list[str]) -> pd.Series:
    """A token-sum column as Int64; sums beyond int64 become <NA> with a warning.

    Each count fits int64 (ingest sees to that), but a few absurd counts
    (a producer writing 2**62) can sum past it; the other figures of those
    rows are still right, so only the sum is left out.
    """
    values = pd.to_numeric(out[name]).astype("float64").round()
    too_big = values.abs() >= 2.0**63
    if too_big.any():
        first = out.loc[too_big, keys].iloc[0].to_dict() if keys else {}
        warn(
            f"the sum of {name!r} exceeds the int64 range in {int(too_big.sum())} "
            f"row(s) (first: {first or 'the total'}; sum {values[too_big].iloc[0]:.3g})"
            f"; it is set to <NA> there. Token counts that large are not real: find "
            f"them with spans.nlargest(5, {name!r}) and fix or drop them."
        )
        values = values.mask(too_big)
    return to_int64(values.to_numpy())


def _check_score_rows(scores: pd.DataFrame) -> None:
    """Refuse infinite values and rows repeating (span_id, dimension, kind, scorer).

    NaN is the documented "scorer failed" value and is left to the caller.
    """
    check_finite_values(scores, "value", "scores")
    if "inclusion_prob" in scores.columns:
        prob = pd.to_numeric(scores["inclusion_prob"], errors="coerce")
        bad = prob.notna() & ((prob <= 0) | (prob > 1))
        if bad.any():
            raise SchemaError(
                f"scores column 'inclusion_prob' holds {int(bad.sum())} value(s) "
                f"outside (0, 1] (first: {prob[bad].iloc[0]!r} at span_id "
                f"{scores.loc[bad, 'span_id'].iloc[0]!r}); it is the probability "
                "the span was scored, a weight of 1 / inclusion_prob"
            )
    # kind too: a person and a judge may go by the same scorer name
    check_unique_rows(scores, ["span_id", "dimension", "kind", "scorer"], "scores")


def cost_per_quality(
    spans: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    by=("intent",),
    freq: str = "W",
    dimension: str | None = None,
    quality: str = "mean",
    threshold: float | None = None,
    alert_change: float = 0.30,
) -> pd.DataFrame:
    """Spend per unit of quality delivered, with its week-over-week change.

    Definition: ``cost_per_quality_usd = cost_per_request_usd / quality``,
    per group and window, where

    - ``quality="mean"``: quality is the mean score of the dimension (so the
      figure is dollars per request per quality point);
    - ``quality="pass_rate"``: quality is the share of scores >= ``threshold``
      (so the figure is the cost of one passing request).

    Scores are weighted by ``1 / inclusion_prob`` when that column is given
    (a sampled judge), so the mean estimates the mean over all requests.
    Known shortcoming: a score whose ``inclusion_prob`` is missing (NaN)
    drops out of the weighted mean but still counts in ``n_scores``; only
    values outside (0, 1] are refused. Scores are checked (infinite values,
    repeated rows) within the chosen ``dimension`` only.

    Parameters
    ----------
    spans : pandas.DataFrame
        Priced spans (see :func:`cost_by`), with ``start_time``.
    scores : pandas.DataFrame
        Scores: ``span_id``, ``dimension``, ``value`` and ``time`` (else the
        span's start). Group columns missing from scores are taken from the
        scored span.
    by : str or sequence of str, default=("intent",)
    freq : str, default="W"
    dimension : str, optional
        The dimension to use; by default every dimension (one row each).
    quality : {"mean", "pass_rate"}, default="mean"
    threshold : float, optional
        Needed for ``quality="pass_rate"``.
    alert_change : float, default=0.30
        ``alert`` is True where ``change_pct >= alert_change`` (the rule
        "cost per quality up 30% or more week over week"); a finite number
        > 0.

    Raises
    ------
    ValueError
        A bad ``freq`` (:class:`llmdrift.series.FreqError`), ``quality``, a
        ``threshold`` or ``alert_change`` that is not a finite number
        (``alert_change`` > 0), an unknown ``dimension``, infinite score
        values, scores repeating the same (span_id, dimension, kind,
        scorer).
    SchemaError
        ``inclusion_prob`` outside (0, 1], and the span errors of
        :func:`cost_by`.

    Returns
    -------
    pandas.DataFrame
        *by, ``window_start``, ``dimension``, ``n_requests``,
        ``cost_per_request_usd``, ``n_scores``, ``quality``,
        ``cost_per_quality_usd`` (NaN when quality <= 0 or unknown),
        ``previous_cost_per_quality_usd`` (the window before),
        ``change_pct``, ``alert`` (bool).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.to_datetime(["2025-01-06", "2025-01-13"], utc=True)
    >>> spans = pd.DataFrame({"span_id": ["a", "b"], "start_time": t,
    ...     "intent": ["x", "x"], "cost_usd": [0.02, 0.02]})
    >>> scores = pd.DataFrame({"span_id": ["a", "b"], "time": t,
    ...     "dimension": ["format"] * 2, "value": [4.0, 2.0]})
    >>> out = cost_per_quality(spans, scores)
    >>> out["cost_per_quality_usd"].round(3).tolist(), out["alert"].tolist()
    ([0.005, 0.01], [False, True])
    """
    by = as_tuple(by)
    _check_freq(freq)
    if quality not in ("mean", "pass_rate"):
        raise ValueError(f"quality must be 'mean' or 'pass_rate', got {quality!r}")
    if quality == "pass_rate" and threshold is None:
        raise ValueError("quality='pass_rate' needs threshold= (a score that passes)")
    if threshold is not None:
        threshold = checked(None, check_number, "threshold", threshold)
    alert_change = checked(None, check_number, "alert_change", alert_change, above=0)
    require_frame(scores, "scores")
    require_columns(scores, ["span_id", "dimension", "value"], "scores")
    sc = scores
    if dimension is not None:
        sc = sc[sc["dimension"] == dimension]
        if sc.empty:
            raise ValueError(
                f"no scores with dimension={dimension!r}; present: "
                f"{sorted(scores['dimension'].dropna().unique())}"
            )
    _check_score_rows(sc)
    cost = cost_by(spans, by=by, freq=freq)
    sc = sc[sc["value"].notna()]
    need = [b for b in by if b not in sc.columns]
    lookup = spans.drop_duplicates("span_id").set_index("span_id")
    frame = pd.DataFrame(
        {"dimension": sc["dimension"].astype("string"), "value": sc["value"]},
        index=sc.index,
    )
    for b in by:
        frame[b] = sc[b] if b not in need else sc["span_id"].map(lookup[b])
    if "time" in sc.columns:
        time = utc_times(sc["time"], "time")
    else:
        time = utc_times(sc["span_id"].map(lookup["start_time"]), "start_time")
    frame["window_start"] = window_start(time, freq)
    frame["w"] = (
        1.0 / sc["inclusion_prob"].astype(float)
        if "inclusion_prob" in sc.columns
        else 1.0
    )
    if quality == "pass_rate":
        frame["value"] = (frame["value"] >= threshold).astype(float)
    frame["wv"] = frame["w"] * frame["value"]
    keys = [*by, "window_start"]
    q = (
        frame.groupby([*keys, "dimension"], dropna=False)
        .agg(n_scores=("value", "size"), wv=("wv", "sum"), w=("w", "sum"))
        .reset_index()
    )
    q["quality"] = q["wv"] / q["w"]
    out = cost[
        [*keys, "n_requests", "n_requests_priced", "cost_per_request_usd"]
    ].merge(q[[*keys, "dimension", "n_scores", "quality"]], on=keys, how="inner")
    out["cost_per_quality_usd"] = out["cost_per_request_usd"] / out["quality"].where(
        out["quality"] > 0
    )
    out = _with_previous(out, [*by, "dimension"], "cost_per_quality_usd", freq).drop(
        columns=["previous_window_start", "previous_n_requests"]
    )
    prev = out["previous_cost_per_quality_usd"]
    out["change_pct"] = out["cost_per_quality_usd"] / prev.where(prev > 0) - 1
    out["alert"] = (out["change_pct"] >= alert_change).fillna(False).astype(bool)
    columns = [
        *by,
        "window_start",
        "dimension",
        "n_requests",
        "cost_per_request_usd",
        "n_scores",
        "quality",
        "cost_per_quality_usd",
        "previous_cost_per_quality_usd",
        "change_pct",
        "alert",
    ]
    out = out.sort_values([*by, "dimension", "window_start"], kind="stable")
    return out[columns].reset_index(drop=True)
