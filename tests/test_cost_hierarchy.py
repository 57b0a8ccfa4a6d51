"""The hierarchy rule of the cost rollups on deep, cyclic and odd span trees.

A bad-input trial found that ``cost_by`` raised RecursionError (inside
sqlglot) on a span that is its own parent, on a parent cycle a->b->a and on a
plain chain of 40 spans, and took 23 s on a chain 25 deep: the Ibis walk
nested one join per level. ``usage_spans`` meanwhile dropped every span on a
cycle (each was "below" itself, so a wrapper). The rule now follows parent
links to any depth, reads a span on a cycle as a root (with a
LlmdriftWarning), and the pandas, DuckDB-store, Parquet-store and Spark paths
agree with :func:`reference`, a span-by-span walk written here.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from llmdrift.cost import cost_by, most_expensive_traces, usage_spans
from llmdrift.schema import LlmdriftWarning
from llmdrift.store import open_store

T0 = pd.Timestamp("2026-03-02", tz="UTC")
LAYOUTS = ["duckdb", "parquet", "duckdb-read-only"]


def spans_frame(ids, parents, kinds=None, tokens=None, traces=None, intents=None):
    """Spans with the store's columns; tokens None -> no usage on that span."""
    n = len(ids)
    kinds = kinds if kinds is not None else ["llm"] * n
    tokens = tokens if tokens is not None else [1] * n
    costs = [None if v is None else v / 1000 for v in tokens]
    return pd.DataFrame(
        {
            "trace_id": traces if traces is not None else ["t"] * n,
            "span_id": ids,
            "parent_span_id": pd.array(parents, dtype="string"),
            "span_kind": kinds,
            "start_time": T0 + pd.to_timedelta(np.arange(n), "s"),
            "duration_ms": 100.0,
            "service": "chat",
            "request_model": "m",
            "intent": intents if intents is not None else ["refund"] * n,
            "input_tokens": pd.array(tokens, dtype="Int64"),
            "output_tokens": pd.array(tokens, dtype="Int64"),
            "cost_usd": pd.array(costs, dtype="Float64"),
        }
    )


def chain(n, kinds=None, tokens=None, prefix="s"):
    ids = [f"{prefix}{i}" for i in range(n)]
    return spans_frame(ids, [None, *ids[:-1]], kinds, tokens)


def cyclic(spans: pd.DataFrame) -> set:
    """Spans from which walking up the parent links comes back to them."""
    ids = spans["span_id"].tolist()
    parent = {
        s: (None if pd.isna(p) else p)
        for s, p in zip(ids, spans["parent_span_id"], strict=True)
    }

    def on_cycle(span):
        seen, up = set(), parent[span]
        while up is not None and up in parent and up not in seen:
            if up == span:
                return True
            seen.add(up)
            up = parent[up]
        return False

    return {s for s in ids if on_cycle(s)}


def reference(spans: pd.DataFrame) -> dict:
    """span_id -> (counted, fallback), walking parent links one span at a time.

    A span on a cycle (see :func:`cyclic`) is read as a root; so is a span
    whose parent is not a span.
    """
    ids = spans["span_id"].tolist()
    parent = {
        s: (None if pd.isna(p) else p)
        for s, p in zip(ids, spans["parent_span_id"], strict=True)
    }

    roots = cyclic(spans)
    up_of = {
        s: (None if s in roots or parent[s] not in parent else parent[s]) for s in ids
    }
    kind = dict(zip(ids, spans["span_kind"], strict=True))
    llm = {s: kind[s] in ("llm", "embedding") for s in ids}
    bearing = {
        s: any(pd.notna(row[c]) for c in ("input_tokens", "output_tokens", "cost_usd"))
        for s, (_, row) in zip(ids, spans.iterrows(), strict=True)
    }
    below = {s: set() for s in ids}  # "llm", "bearing", "both"
    for s in ids:
        marks = {
            name
            for name, on in (
                ("llm", llm[s]),
                ("bearing", bearing[s]),
                ("both", llm[s] and bearing[s]),
            )
            if on
        }
        up, steps = up_of[s], 0
        while up is not None:
            below[up] |= marks
            up, steps = up_of[up], steps + 1
            assert steps <= len(ids)  # no cycle is left
    out = {}
    for s in ids:
        fallback = (
            not llm[s]
            and bearing[s]
            and "llm" not in below[s]
            and "bearing" not in below[s]
        )
        counted = (llm[s] and "both" not in below[s]) or fallback
        out[s] = (counted, fallback)
    return out


def expected_rollup(spans: pd.DataFrame, by="intent") -> pd.DataFrame:
    """The cost_by figures checked here, from the reference walk."""
    ref = reference(spans)
    keep = spans["span_id"].map(lambda s: ref[s][0]).astype(bool)
    used = spans[keep].assign(
        fallback=spans.loc[keep, "span_id"].map(lambda s: ref[s][1]).astype(int)
    )
    grouped = used.groupby(by)
    return pd.DataFrame(
        {
            "n_requests": grouped["trace_id"].nunique(),
            "n_spans": grouped.size(),
            "total_cost_usd": grouped["cost_usd"].sum(),
            "n_fallback_spans": grouped["fallback"].sum(),
            "input_tokens": grouped["input_tokens"].sum(min_count=1),
        }
    ).sort_index()


def figures(table: pd.DataFrame, by="intent") -> pd.DataFrame:
    columns = [
        "n_requests",
        "n_spans",
        "total_cost_usd",
        "n_fallback_spans",
        "input_tokens",
    ]
    return table.set_index(by)[columns].sort_index()


def assert_figures(got, want):
    pd.testing.assert_frame_equal(
        figures(got).astype(float), want.astype(float), check_names=False
    )


def open_layout(tmp_path, layout, spans):
    path = tmp_path / ("parquet" if layout == "parquet" else "s.duckdb")
    store = open_store(path)
    store.append(spans=spans)
    if layout == "duckdb-read-only":
        store.close()
        store = open_store(path, read_only=True)
    return store


def store_cost(store, **kwargs):
    """cost_by on a store, with the LlmdriftWarnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = cost_by(store, quantiles="exact", **kwargs)
    return out, [w for w in caught if issubclass(w.category, LlmdriftWarning)]


def temporary_tables(store) -> list:
    rows = store.backend.raw_sql(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_name LIKE 'ibis_cached%'"
    ).fetchall()
    return [row[0] for row in rows]


# -- the trial's cases ------------------------------------------------------------


def test_a_span_that_is_its_own_parent_is_counted_as_a_root():
    spans = spans_frame(["s0"], ["s0"], tokens=[7])
    with pytest.warns(LlmdriftWarning, match=r"1 span\(s\) lie on a cycle.*'s0'"):
        out = cost_by(spans, by=())
    row = out.iloc[0]
    assert (row["n_spans"], row["input_tokens"]) == (1, 7)
    assert row["total_cost_usd"] == pytest.approx(0.007)
    with pytest.warns(LlmdriftWarning, match="'s0'"):
        assert usage_spans(spans)["span_id"].tolist() == ["s0"]


def test_spans_on_a_cycle_are_roots_and_spans_below_keep_their_links():
    # a->b->c->a is a cycle; d hangs below a and e below d. With a, b and c
    # read as roots: a has d below (an LLM call with usage), so a is a
    # wrapper; so is d over e. Counted: b, c and e.
    spans = spans_frame(
        ["a", "b", "c", "d", "e"], ["b", "c", "a", "a", "d"], tokens=[5, 6, 7, 8, 9]
    )
    assert reference(spans) == {
        "a": (False, False),
        "b": (True, False),
        "c": (True, False),
        "d": (False, False),
        "e": (True, False),
    }
    with pytest.warns(LlmdriftWarning, match=r"3 span\(s\) lie on a cycle.*'a'"):
        out = cost_by(spans, by=())
    assert int(out["input_tokens"].iloc[0]) == 6 + 7 + 9
    with pytest.warns(LlmdriftWarning):
        assert usage_spans(spans)["span_id"].tolist() == ["b", "c", "e"]


def test_two_spans_parent_of_each_other_are_both_counted():
    spans = spans_frame(["a", "b"], ["b", "a"], tokens=[3, 4])
    with pytest.warns(LlmdriftWarning, match=r"2 span\(s\).*'a'"):
        out = cost_by(spans, by=())
    assert (int(out["n_spans"].iloc[0]), int(out["input_tokens"].iloc[0])) == (2, 7)


@pytest.mark.parametrize("depth", [40, 65, 300])
def test_a_deep_chain_is_followed_to_the_bottom(depth):
    # an agent with usage on top, plain chain spans, one LLM call at the
    # bottom: only the call counts, and the agent is no fallback however
    # deep the call lies (the old walk stopped at 64 levels)
    kinds = ["agent", *["chain"] * (depth - 2), "llm"]
    tokens = [50, *[None] * (depth - 2), 50]
    spans = chain(depth, kinds, tokens)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LlmdriftWarning)
        out = cost_by(spans, by=())
        used = usage_spans(spans)
    assert used["span_id"].tolist() == [f"s{depth - 1}"]
    row = out.iloc[0]
    assert (row["n_spans"], row["n_fallback_spans"], row["input_tokens"]) == (1, 0, 50)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_store_walk_agrees_on_cycles_and_deep_chains(tmp_path, layout):
    self_parent = spans_frame(["x0"], ["x0"], traces=["tx"], intents=["a"])
    cycle = spans_frame(
        ["c1", "c2", "c3", "c4", "c5"],
        ["c2", "c3", "c1", "c1", "c4"],
        tokens=[5, 6, 7, 8, 9],
        traces=["tc"] * 5,
        intents=["b"] * 5,
    )
    deep = chain(
        200, ["agent", *["chain"] * 198, "llm"], [50, *[None] * 198, 60]
    ).assign(trace_id="td", intent="c")
    plain = chain(40, prefix="p").assign(trace_id="tp", intent="d")
    spans = pd.concat([self_parent, cycle, deep, plain], ignore_index=True)
    store = open_layout(tmp_path, layout, spans)
    got, caught = store_cost(store, by="intent")
    want = expected_rollup(spans)
    # independently: a: x0; b: c2, c3, c5; c: the call at the bottom; d: p39
    assert want["input_tokens"].tolist() == [1, 6 + 7 + 9, 60, 1]
    assert want["n_fallback_spans"].tolist() == [0, 0, 0, 0]
    assert_figures(got, want)
    with pytest.warns(LlmdriftWarning, match=r"4 span\(s\) lie on a cycle.*'c1'"):
        pandas = cost_by(spans, by="intent")
    assert_figures(pandas, want)
    assert [str(w.message) for w in caught] == [
        "4 span(s) lie on a cycle of parent links (a span that is its own "
        "parent or ancestor; first span_id: 'c1'); each is read as a root "
        "span (its parent_span_id is ignored) so that it and the spans below "
        "it are counted. Fix parent_span_id at the source."
    ]
    assert temporary_tables(store) == []
    store.close()


def test_store_walk_takes_a_logarithmic_number_of_rounds(tmp_path, monkeypatch):
    from llmdrift.cost import rollups

    calls = []
    count = rollups._count
    monkeypatch.setattr(rollups, "_count", lambda *a: calls.append(1) or count(*a))
    depth = 300
    spans = chain(depth, tokens=list(range(1, depth + 1)))
    store = open_layout(tmp_path, "duckdb", spans)
    got, caught = store_cost(store, by=())
    assert not caught
    # only the deepest call counts: the others wrap the call below them
    assert (int(got["n_spans"].iloc[0]), int(got["input_tokens"].iloc[0])) == (
        1,
        depth,
    )
    # one count of the links, then one per doubling round
    assert len(calls) <= 1 + math.ceil(math.log2(depth)) + 1
    store.close()


def random_spans(seed, n=240):
    """Traces of 3-12 spans whose parents are drawn at random in the trace:
    roots, chains, self-parents, cycles, parents that are not spans."""
    rng = np.random.default_rng(seed)
    ids, parents, traces = [], [], []
    while len(ids) < n:
        size = int(rng.integers(3, 13))
        trace = f"t{len(ids)}"
        members = [f"{trace}s{i}" for i in range(size)]
        for i, span in enumerate(members):
            draw = rng.random()
            if draw < 0.2:
                parent = None
            elif draw < 0.25:
                parent = "missing"
            elif draw < 0.75 and i > 0:
                parent = members[i - 1]  # mostly chains
            else:
                parent = members[int(rng.integers(0, size))]
            ids.append(span)
            parents.append(parent)
            traces.append(trace)
    kinds = rng.choice(["llm", "llm", "agent", "tool", "chain", "embedding"], len(ids))
    tokens = [
        None if rng.random() < 0.35 else int(v) for v in rng.integers(1, 1000, len(ids))
    ]
    intents = np.array(["refund", "summary"])[pd.factorize(pd.Series(traces))[0] % 2]
    return spans_frame(ids, parents, list(kinds), tokens, traces, list(intents))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_trees_agree_with_the_reference_walk(tmp_path, seed):
    spans = random_spans(seed)
    ref = reference(spans)
    assert sum(not c for c, _ in ref.values()) > 20  # wrappers left out
    assert sum(f for _, f in ref.values()) > 5  # fallback spans counted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LlmdriftWarning)
        used = usage_spans(spans)
        pandas = cost_by(spans, by="intent")
    assert used["span_id"].tolist() == [s for s in spans["span_id"] if ref[s][0]]
    assert used["usage_fallback"].tolist() == [
        ref[s][1] for s in spans["span_id"] if ref[s][0]
    ]
    want = expected_rollup(spans)
    assert_figures(pandas, want)
    store = open_layout(tmp_path, "duckdb", spans)
    got, caught = store_cost(store, by="intent")
    assert_figures(got, want)
    roots = cyclic(spans)
    assert len(roots) > 3
    assert len(caught) == 1
    assert str(caught[0].message).startswith(
        f"{len(roots)} span(s) lie on a cycle of parent links"
    )
    assert f"first span_id: {min(roots)!r}" in str(caught[0].message)
    store.close()


def test_most_expensive_traces_counts_a_cyclic_trace():
    spans = spans_frame(["a", "b"], ["b", "a"], tokens=[3, 4])
    with pytest.warns(LlmdriftWarning, match="lie on a cycle"):
        top = most_expensive_traces(spans, n=1)
    assert top["cost_usd"].iloc[0] == pytest.approx(0.007)
    assert int(top["n_spans"].iloc[0]) == 2


def test_no_cycle_no_warning_and_wrappers_still_left_out(tmp_path):
    # R (agent) -> K (tool) -> L (llm), all repeating 800 tokens; A2 alone
    spans = spans_frame(
        ["R", "K", "L", "A2"],
        [None, "R", "K", None],
        kinds=["agent", "tool", "llm", "agent"],
        tokens=[800, 800, 800, 300],
        traces=["T1", "T1", "T1", "T2"],
    )
    store = open_layout(tmp_path, "duckdb", spans)
    got, caught = store_cost(store, by=())
    assert not caught
    with warnings.catch_warnings():
        warnings.simplefilter("error", LlmdriftWarning)
        pandas = cost_by(spans, by=())
    for out in (got, pandas):
        row = out.iloc[0]
        assert (row["n_spans"], row["input_tokens"], row["n_fallback_spans"]) == (
            2,
            1100,
            1,
        )
    store.close()


@pytest.mark.spark
def test_spark_store_walk_agrees_with_the_reference(tmp_path_factory):
    pyspark = pytest.importorskip("pyspark")
    import ibis

    warehouse = tmp_path_factory.mktemp("spark-warehouse-hierarchy")
    session = (
        pyspark.sql.SparkSession.builder.master("local[1]")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
        .appName("llmdrift-hierarchy")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    try:
        cycle = spans_frame(
            ["c1", "c2", "c3", "c4"],
            ["c2", "c3", "c1", "c4"],
            tokens=[5, 6, 7, 8],
            traces=["tc"] * 4,
            intents=["cycle"] * 4,
        )
        deep = chain(
            100, ["agent", *["chain"] * 98, "llm"], [50, *[None] * 98, 60], "d"
        ).assign(trace_id="td", intent="deep")
        spans = pd.concat([random_spans(1, n=80), cycle, deep], ignore_index=True)
        store = open_store(
            ibis.pyspark.connect(session), tables={"spans": "hierarchy_spans"}
        )
        store.append(spans=spans)
        got, caught = store_cost(store, by="intent")
        want = expected_rollup(spans)
        assert want.loc[["cycle", "deep"], "input_tokens"].tolist() == [
            5 + 6 + 7 + 8,
            60,
        ]
        assert_figures(got, want)
        roots = cyclic(spans)
        assert len(caught) == 1
        assert str(caught[0].message).startswith(
            f"{len(roots)} span(s) lie on a cycle of parent links"
        )
        # the walk's checkpointed tables are dropped (the append's memtable
        # is ibis' own)
        names = [t.name for t in session.catalog.listTables() if t.isTemporary]
        assert not [n for n in names if n.startswith(("llmdrift", "ibis_cached"))]
    finally:
        session.stop()


@pytest.mark.parametrize("path", ["frame", "store"])
def test_without_span_kind_every_span_is_a_call_and_wrappers_are_left_out(
    tmp_path, path
):
    # usage_spans reads every span as a model call when span_kind is absent,
    # so W (repeating its child's 100 tokens) is a wrapper; cost_by left the
    # rule out without span_kind and counted 200
    spans = spans_frame(["W", "L", "X"], [None, "W", None], tokens=[100, 100, 30])
    spans = spans.drop(columns="span_kind")
    assert usage_spans(spans)["span_id"].tolist() == ["L", "X"]
    data = spans if path == "frame" else open_layout(tmp_path, "duckdb", spans)
    row = cost_by(data, by=()).iloc[0]
    assert (row["n_spans"], row["input_tokens"]) == (2, 130)
